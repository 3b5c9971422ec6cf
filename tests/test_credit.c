/*
 * test_credit.c: the credit policy (Xen credit1) delivers what credit1
 * promises: CPU shared by weight, caps held alone and under contention,
 * work conserved across pCPUs, a wake-up boost that cuts I/O latency,
 * live weight changes, and tunables that validate.  Scenarios are built in
 * C and run in the simulator; tolerances allow for credit1's 30 ms
 * accounting granularity, not for wrong answers.
 */
#include "simtest.h"

#define CRED_TEST_POLICY "credit"

/* Build the sim without running it, so a test can set tunables first. */
static struct sim *cred_start(struct st_scenario *t)
{
    char err[256] = "";

    t->sim = sim_alloc(&t->sc, sch_policy_find(CRED_TEST_POLICY), err,
                       sizeof(err));
    ck_assert_msg(t->sim != NULL, "sim_alloc: %s", err);
    return t->sim;
}

static void cred_finish(struct st_scenario *t)
{
    sim_run_until(t->sim, t->sc.duration_ns);
    ck_assert_int_eq(sim_result(t->sim, &t->r), 0);
}

/* PUT tunables; UNCHANGED for what the test does not care about. */
static int cred_tune(struct st_scenario *t, uint32_t tslice_us,
                     uint32_t ratelimit_us, uint32_t boost)
{
    struct sch_sched *s = sim_sched(t->sim);
    struct sch_global_params p = SCH_GLOBAL_PARAMS_KEEP;

    p.tslice_us = tslice_us;
    p.ratelimit_us = ratelimit_us;
    p.boost = boost;
    return s->ops->adjust_global(s, &p);
}

static void cred_assert_share(const struct st_scenario *t, unsigned int d,
                              double want, double tol)
{
    double got = st_share(t, d);

    ck_assert_msg(got > want - tol && got < want + tol,
                  "domain %u (%s): share %.4f, want %.4f +- %.3f", d,
                  t->doms[d].name, got, want, tol);
}

/* 1 pCPU, weights 256:512:1024 -> 1/7, 2/7, 4/7 of it, within 2 points. */
START_TEST(test_credit_weights_share)
{
    struct st_scenario t;

    st_init(&t, 1, 10000);
    st_cpu(&t, "w256", 256, 0);
    st_cpu(&t, "w512", 512, 0);
    st_cpu(&t, "w1024", 1024, 0);
    st_run(&t, CRED_TEST_POLICY);
    cred_assert_share(&t, 0, 1.0 / 7, 0.02);
    cred_assert_share(&t, 1, 2.0 / 7, 0.02);
    cred_assert_share(&t, 2, 4.0 / 7, 0.02);
    st_done(&t);
}
END_TEST

/* A capped hog alone on 1 pCPU gets its cap, not the idle rest. */
static const unsigned int cred_caps_pct[] = { 25, 50, 75 };

START_TEST(test_credit_cap_alone)
{
    struct st_scenario t;
    unsigned int cap = cred_caps_pct[_i];

    st_init(&t, 1, 10000);
    st_cpu(&t, "capped", 256, cap);
    st_run(&t, CRED_TEST_POLICY);
    cred_assert_share(&t, 0, cap / 100.0, 0.05);
    st_done(&t);
}
END_TEST

/* Cap 25 next to an uncapped hog: the cap holds, the hog gets the rest. */
START_TEST(test_credit_cap_with_competitor)
{
    struct st_scenario t;

    st_init(&t, 1, 10000);
    st_cpu(&t, "cap25", 256, 25);
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, CRED_TEST_POLICY);
    cred_assert_share(&t, 0, 0.25, 0.03);
    cred_assert_share(&t, 1, 0.75, 0.03);
    st_done(&t);
}
END_TEST

/* A cap above 100 spans pCPUs: 150 on 2 vCPUs is 3/4 of a 2-pCPU host. */
START_TEST(test_credit_cap_multi_vcpu)
{
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 10000);
    d = st_dom(&t, "cap150", 2, SIM_WL_CPU);
    d->cap_pct = 150;
    st_run(&t, CRED_TEST_POLICY);
    cred_assert_share(&t, 0, 0.75, 0.03);
    st_done(&t);
}
END_TEST

/* 2 hogs of 1 vCPU on 2 pCPUs: neither pCPU idles, each gets half. */
START_TEST(test_credit_work_conserving_2pcpu)
{
    struct st_scenario t;

    st_init(&t, 2, 10000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    st_run(&t, CRED_TEST_POLICY);
    cred_assert_share(&t, 0, 0.5, 0.01);
    cred_assert_share(&t, 1, 0.5, 0.01);
    ck_assert(st_share(&t, 0) + st_share(&t, 1) > 0.999);
    st_done(&t);
}
END_TEST

/* 3 hogs on 2 pCPUs need stealing to share: each gets a third. */
START_TEST(test_credit_steal_balances_3_on_2)
{
    struct st_scenario t;
    unsigned int d;

    st_init(&t, 2, 10000);
    for ( d = 0; d < 3; d++ )
        st_cpu(&t, "hog", 256, 0);
    st_run(&t, CRED_TEST_POLICY);
    for ( d = 0; d < 3; d++ )
        cred_assert_share(&t, d, 1.0 / 3, 0.03);
    st_done(&t);
}
END_TEST

/* io (200 us run, 800 us block) among 4 hogs on 1 pCPU: p99 wake-up
 * latency of the io domain, with the boost on or off. */
static sch_time_t cred_io_p99(bool boost)
{
    struct st_scenario t;
    sch_time_t p99;
    unsigned int d;

    st_init(&t, 1, 10000);
    st_io(&t, "io", 200, 800);
    for ( d = 0; d < 4; d++ )
        st_cpu(&t, "hog", 256, 0);
    cred_start(&t);
    ck_assert_int_eq(cred_tune(&t, SCH_PARAM_UNCHANGED, SCH_PARAM_UNCHANGED,
                               boost), 0);
    cred_finish(&t);
    ck_assert_uint_gt(t.r.domains[0].wake_latency.count, 100);
    p99 = t.r.domains[0].wake_latency.p99;
    st_done(&t);
    return p99;
}

START_TEST(test_credit_boost_cuts_wake_latency)
{
    sch_time_t on = cred_io_p99(true), off = cred_io_p99(false);

    /* Boosted: at worst the hog's 1 ms ratelimit.  Not boosted: behind
     * the hogs' 30 ms slices. */
    ck_assert_msg(on < off, "p99 with boost %lld ns, without %lld ns",
                  (long long)on, (long long)off);
    ck_assert_msg(on <= SCH_MSEC(1), "p99 with boost %lld ns", (long long)on);
    ck_assert_msg(off >= SCH_MSEC(10), "p99 without boost %lld ns",
                  (long long)off);
}
END_TEST

/*
 * Ratelimit is what a boosted waker waits for.  With the default 1 ms the
 * io domain (among 4 hogs) waits for the rest of a hog's ratelimit; with
 * none it runs at once and gets all it asks for.
 */
static void cred_io_among_hogs(struct st_scenario *t, uint32_t ratelimit_us)
{
    unsigned int d;

    st_init(t, 1, 5000);
    st_io(t, "io", 200, 800);
    for ( d = 0; d < 4; d++ )
        st_cpu(t, "hog", 256, 0);
    cred_start(t);
    ck_assert_int_eq(cred_tune(t, SCH_PARAM_UNCHANGED, ratelimit_us, 1), 0);
    cred_finish(t);
}

START_TEST(test_credit_ratelimit_bounds_preemption)
{
    struct st_scenario t;
    sch_time_t p99;

    cred_io_among_hogs(&t, 1000);
    p99 = t.r.domains[0].wake_latency.p99;
    ck_assert_msg(p99 >= SCH_USEC(100) && p99 <= SCH_MSEC(1),
                  "p99 with 1 ms ratelimit %lld ns", (long long)p99);
    st_done(&t);

    cred_io_among_hogs(&t, 0);
    p99 = t.r.domains[0].wake_latency.p99;
    ck_assert_msg(p99 < SCH_USEC(50), "p99 without ratelimit %lld ns",
                  (long long)p99);
    cred_assert_share(&t, 0, 0.2, 0.01);
    st_done(&t);
}
END_TEST

/*
 * Runs of 150 us are 1.5 credits each: the half credits must add up.
 * io (150 us run, 50 us block, wanting 3/4) against a hog of equal
 * weight gets half, not more.  Ratelimit off, so each wake preempts.
 */
START_TEST(test_credit_short_runs_pay_in_full)
{
    struct st_scenario t;

    st_init(&t, 1, 10000);
    st_io(&t, "io", 150, 50);
    st_cpu(&t, "hog", 256, 0);
    cred_start(&t);
    ck_assert_int_eq(cred_tune(&t, SCH_PARAM_UNCHANGED, 0,
                               SCH_PARAM_UNCHANGED), 0);
    cred_finish(&t);
    cred_assert_share(&t, 0, 0.5, 0.03);
    cred_assert_share(&t, 1, 0.5, 0.03);
    st_done(&t);
}
END_TEST

/* A weight changed mid-run moves the shares (and the weight sum follows). */
START_TEST(test_credit_weight_change_live)
{
    struct st_scenario t;
    struct sch_sched *s;
    struct sch_dom_params p = { SCH_PARAM_PUT, 768, SCH_PARAM_UNCHANGED };
    double a, b;

    st_init(&t, 1, 9000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    s = sim_sched(cred_start(&t));
    sim_run_until(t.sim, SCH_MSEC(3000));
    ck_assert_int_eq(s->ops->adjust(s, sim_domain(t.sim, 0), &p,
                                    sim_now(t.sim)), 0);
    cred_finish(&t);
    /* Windows 4 s..9 s: settled under 768:256. */
    a = st_window_share(&t, 0, 40, 90);
    b = st_window_share(&t, 1, 40, 90);
    ck_assert_msg(a > 0.72 && a < 0.78 && b > 0.22 && b < 0.28,
                  "after the change a %.4f b %.4f, want 0.75 0.25", a, b);
    st_done(&t);
}
END_TEST

/*
 * A domain that hardly runs is not active and takes no credit, whatever
 * its weight.  Were it counted, the capped hog beside it would be left
 * with almost no credit per period and be parked most of the time.
 */
START_TEST(test_credit_inactive_domain_takes_nothing)
{
    struct st_scenario t;
    struct sim_domain_spec *sleepy;

    st_init(&t, 1, 5000);
    st_cpu(&t, "cap50", 256, 50);
    sleepy = st_io(&t, "sleepy", 10, 100000);
    sleepy->weight = SCH_WEIGHT_MAX;
    st_run(&t, CRED_TEST_POLICY);
    cred_assert_share(&t, 0, 0.5, 0.05);
    st_done(&t);
}
END_TEST

/*
 * Yield is more than a reschedule: with a (w1024) running ahead of b
 * (w256), a plain kick keeps a, but a yield lets b run.  Both runs are
 * the same scenario, so they are at the same state when poked.
 */
static struct sch_unit *cred_poke(struct st_scenario *t, bool yield)
{
    struct sch_sched *s;
    struct sch_unit *before;

    st_init(t, 1, 1000);
    st_cpu(t, "a", 1024, 0);
    st_cpu(t, "b", 256, 0);
    s = sim_sched(cred_start(t));
    sim_run_until(t->sim, SCH_MSEC(120));
    before = sch_curr_on_cpu(s, 0);
    ck_assert_ptr_eq(before, sim_domain(t->sim, 0)->units[0]);
    if ( yield )
    {
        sch_spin_lock(sch_res(s, 0)->lock);
        s->ops->yield(s, before, sim_now(t->sim));
        sch_spin_unlock(sch_res(s, 0)->lock);
    }
    else
        sch_kick(s, 0);
    sim_run_until(t->sim, sim_now(t->sim));
    return sch_curr_on_cpu(s, 0);
}

START_TEST(test_credit_yield_lets_other_run)
{
    struct st_scenario kicked, yielded;

    ck_assert_ptr_eq(cred_poke(&kicked, false),
                     sim_domain(kicked.sim, 0)->units[0]);
    ck_assert_ptr_eq(cred_poke(&yielded, true),
                     sim_domain(yielded.sim, 1)->units[0]);
    st_done(&kicked);
    st_done(&yielded);
}
END_TEST

/* Defaults read back; bad values are refused and change nothing. */
START_TEST(test_credit_tunables_validate)
{
    struct st_scenario t;
    struct sch_sched *s;
    struct sch_global_params p = { .cmd = SCH_PARAM_GET };

    st_init(&t, 1, 10);
    st_cpu(&t, "a", 256, 0);
    s = sim_sched(cred_start(&t));
    ck_assert_int_eq(s->ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.tslice_us, 30000);
    ck_assert_uint_eq(p.ratelimit_us, 1000);
    ck_assert_uint_eq(p.boost, 1);
    ck_assert_uint_eq(p.period_us, 0);
    ck_assert_uint_eq(p.latency_us, 0);

    /* ratelimit above the slice, slice out of range, boost not 0/1 */
    ck_assert_int_eq(cred_tune(&t, SCH_PARAM_UNCHANGED, 40000,
                               SCH_PARAM_UNCHANGED), -SCH_EINVAL);
    ck_assert_int_eq(cred_tune(&t, 999, SCH_PARAM_UNCHANGED,
                               SCH_PARAM_UNCHANGED), -SCH_EINVAL);
    ck_assert_int_eq(cred_tune(&t, 1000001, SCH_PARAM_UNCHANGED,
                               SCH_PARAM_UNCHANGED), -SCH_EINVAL);
    ck_assert_int_eq(cred_tune(&t, 500, 0, 0), -SCH_EINVAL);
    ck_assert_int_eq(cred_tune(&t, SCH_PARAM_UNCHANGED, SCH_PARAM_UNCHANGED,
                               2), -SCH_EINVAL);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(s->ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.tslice_us, 30000);
    ck_assert_uint_eq(p.ratelimit_us, 1000);
    ck_assert_uint_eq(p.boost, 1);

    ck_assert_int_eq(cred_tune(&t, 10000, 10000, 0), 0);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(s->ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.tslice_us, 10000);
    ck_assert_uint_eq(p.ratelimit_us, 10000);
    ck_assert_uint_eq(p.boost, 0);
    st_done(&t);
}
END_TEST

/* A retuned (10 ms) slice still shares by weight: credit per period,
 * tick and accounting all scale with it. */
START_TEST(test_credit_tslice_change_keeps_shares)
{
    struct st_scenario t;

    st_init(&t, 1, 5000);
    st_cpu(&t, "w256", 256, 0);
    st_cpu(&t, "w768", 768, 0);
    cred_start(&t);
    ck_assert_int_eq(cred_tune(&t, 10000, SCH_PARAM_UNCHANGED,
                               SCH_PARAM_UNCHANGED), 0);
    cred_finish(&t);
    cred_assert_share(&t, 0, 0.25, 0.02);
    cred_assert_share(&t, 1, 0.75, 0.02);
    st_done(&t);
}
END_TEST

static Suite *credit_suite(void)
{
    Suite *s = suite_create("credit");
    TCase *tc = tcase_create("credit");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_credit_weights_share);
    tcase_add_loop_test(tc, test_credit_cap_alone, 0,
                        SCH_ARRAY_SIZE(cred_caps_pct));
    tcase_add_test(tc, test_credit_cap_with_competitor);
    tcase_add_test(tc, test_credit_cap_multi_vcpu);
    tcase_add_test(tc, test_credit_work_conserving_2pcpu);
    tcase_add_test(tc, test_credit_steal_balances_3_on_2);
    tcase_add_test(tc, test_credit_boost_cuts_wake_latency);
    tcase_add_test(tc, test_credit_ratelimit_bounds_preemption);
    tcase_add_test(tc, test_credit_short_runs_pay_in_full);
    tcase_add_test(tc, test_credit_weight_change_live);
    tcase_add_test(tc, test_credit_inactive_domain_takes_nothing);
    tcase_add_test(tc, test_credit_yield_lets_other_run);
    tcase_add_test(tc, test_credit_tunables_validate);
    tcase_add_test(tc, test_credit_tslice_change_keeps_shares);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(credit_suite());
}
