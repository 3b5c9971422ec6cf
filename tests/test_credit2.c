/*
 * test_credit2.c: the credit2 policy (Xen credit2) delivers what credit2
 * promises: CPU shared by weight on one pCPU and on several, caps held to
 * the 10 ms replenishment period with overruns paid back, a ratelimit
 * that bounds preemption, runqueues grouped as Xen groups the pCPUs of
 * one socket, and load balancing between runqueues.  Scenarios are built
 * in C and run in the simulator.
 */
#include "simtest.h"

#define C2_TEST_POLICY "credit2"

/* Build the sim without running it, so a test can look or tune first. */
static struct sch_sched *c2_start(struct st_scenario *t)
{
    st_start_ops(t, sch_policy_find(C2_TEST_POLICY));
    return sim_sched(t->sim);
}

static void c2_finish(struct st_scenario *t)
{
    sim_run_until(t->sim, t->sc.duration_ns);
    ck_assert_int_eq(sim_result(t->sim, &t->r), 0);
}

static void c2_assert_share(const struct st_scenario *t, unsigned int d,
                            double want, double tol)
{
    double got = st_share(t, d);

    ck_assert_msg(got > want - tol && got < want + tol,
                  "domain %u (%s): share %.4f, want %.4f +- %.3f", d,
                  t->doms[d].name, got, want, tol);
}

/* PUT one tunable; the others unchanged. */
static int c2_tune_ratelimit(struct sch_sched *s, uint32_t us)
{
    struct sch_global_params p = SCH_GLOBAL_PARAMS_KEEP;

    p.ratelimit_us = us;
    return s->ops->adjust_global(s, &p);
}

/* 1 pCPU, weights 256:512:1024 -> 1/7, 2/7, 4/7 of it. */
START_TEST(test_credit2_weights_share_1pcpu)
{
    struct st_scenario t;

    st_init(&t, 1, 10000);
    st_cpu(&t, "w256", 256, 0);
    st_cpu(&t, "w512", 512, 0);
    st_cpu(&t, "w1024", 1024, 0);
    st_run(&t, C2_TEST_POLICY);
    c2_assert_share(&t, 0, 1.0 / 7, 0.005);
    c2_assert_share(&t, 1, 2.0 / 7, 0.005);
    c2_assert_share(&t, 2, 4.0 / 7, 0.005);
    st_done(&t);
}
END_TEST

/*
 * Three equal 1-vCPU hogs on 2 pCPUs: one runqueue for both, so each gets
 * a third of the host, as stock credit2 gave them in a real Xen
 * (docs/xen.md: 33.1 / 33.4 / 33.5), and every second too.
 */
START_TEST(test_credit2_three_equal_on_two)
{
    struct st_scenario t;
    unsigned int d, w;

    st_init(&t, 2, 10000);
    for ( d = 0; d < 3; d++ )
        st_cpu(&t, "hog", 256, 0);
    st_run(&t, C2_TEST_POLICY);
    for ( d = 0; d < 3; d++ )
    {
        c2_assert_share(&t, d, 1.0 / 3, 0.005);
        for ( w = 0; w + 10 <= t.r.nr_windows; w += 10 )
        {
            double got = st_window_share(&t, d, w, w + 10);

            ck_assert_msg(got > 0.30 && got < 0.37,
                          "domain %u: %.3f in second %u", d, got, w / 10);
        }
    }
    st_done(&t);
}
END_TEST

/* 4 pCPUs, weights 128..1024: what max-min fairness entitles each to,
 * the heavy ones held to one pCPU by their single vCPU. */
START_TEST(test_credit2_weights_share_4pcpus)
{
    static const unsigned int weight[] = { 128, 128, 256, 256, 512, 1024 };
    struct st_scenario t;
    unsigned int d;

    st_init(&t, 4, 10000);
    for ( d = 0; d < SCH_ARRAY_SIZE(weight); d++ )
        st_cpu(&t, "hog", weight[d], 0);
    st_run(&t, C2_TEST_POLICY);
    for ( d = 0; d < SCH_ARRAY_SIZE(weight); d++ )
        c2_assert_share(&t, d, t.r.domains[d].entitled_share, 0.01);
    st_done(&t);
}
END_TEST

/* A capped domain alone on a pCPU gets its cap, and within every 100 ms
 * window too: budget comes every 10 ms. */
START_TEST(test_credit2_cap_alone)
{
    struct st_scenario t;
    unsigned int w;

    st_init(&t, 1, 5000);
    st_cpu(&t, "cap25", 256, 25);
    st_run(&t, C2_TEST_POLICY);
    c2_assert_share(&t, 0, 0.25, 0.003);
    for ( w = 1; w < t.r.nr_windows; w++ )
    {
        double got = st_window_share(&t, 0, w, w + 1);

        ck_assert_msg(got > 0.23 && got < 0.27, "window %u: %.3f", w, got);
    }
    st_done(&t);
}
END_TEST

/* Capped beside a hog: the cap, and the rest to the hog. */
START_TEST(test_credit2_cap_with_competitor)
{
    struct st_scenario t;

    st_init(&t, 1, 5000);
    st_cpu(&t, "cap30", 256, 30);
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, C2_TEST_POLICY);
    c2_assert_share(&t, 0, 0.30, 0.005);
    c2_assert_share(&t, 1, 0.70, 0.005);
    st_done(&t);
}
END_TEST

/*
 * A cap of 3% is 300 us per 10 ms, less than the 500 us a unit runs at
 * least: each run overruns the budget, and the overrun is borrowed from
 * the next periods.  Without paying it back the domain would get 5%.
 */
START_TEST(test_credit2_cap_overrun_borrowed)
{
    struct st_scenario t;

    st_init(&t, 1, 5000);
    st_cpu(&t, "cap3", 256, 3);
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, C2_TEST_POLICY);
    c2_assert_share(&t, 0, 0.03, 0.002);
    st_done(&t);
}
END_TEST

/*
 * A domain's budget is one pool: 4 busy vCPUs under a cap of 50 on 2
 * pCPUs take 50% of one pCPU between them.  They have the most credit,
 * so each period they take both pCPUs until the pool is spent (2.5 of
 * 10 ms) and the hog runs on one pCPU the other 7.5 ms: 37.5% of the
 * host, as credit2 gives it (the max-min entitlement would be 50).
 */
START_TEST(test_credit2_cap_pool_shared_by_vcpus)
{
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 5000);
    d = st_dom(&t, "capped", 4, SIM_WL_CPU);
    d->cap_pct = 50;
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, C2_TEST_POLICY);
    c2_assert_share(&t, 0, 0.25, 0.005);
    c2_assert_share(&t, 1, 0.375, 0.01);
    st_done(&t);
}
END_TEST

/* Lifting a cap at run time unparks the domain at once. */
START_TEST(test_credit2_cap_lifted_live)
{
    struct st_scenario t;
    struct sch_sched *s;
    struct sch_dom_params p = { SCH_PARAM_PUT, SCH_PARAM_UNCHANGED, 0 };

    st_init(&t, 1, 2000);
    st_cpu(&t, "capped", 256, 10);
    s = c2_start(&t);
    sim_run_until(t.sim, SCH_MSEC(1000));
    ck_assert_int_eq(s->ops->adjust(s, sim_domain(t.sim, 0), &p,
                                    sim_now(t.sim)), 0);
    c2_finish(&t);
    ck_assert_double_lt(st_window_share(&t, 0, 0, 10), 0.11);
    ck_assert_double_gt(st_window_share(&t, 0, 11, 20), 0.99);
    st_done(&t);
}
END_TEST

/*
 * io (200 us run, 800 us block) among 4 hogs on 1 pCPU.  A waker with more
 * credit preempts a hog only once the hog has run its ratelimit: with
 * none it runs at once; with 1 ms it waits for the rest of the ratelimit
 * of the hog switched in when it blocked, 1000 - 800 us.
 */
static sch_time_t c2_io_p99(uint32_t ratelimit_us, double *share)
{
    struct st_scenario t;
    sch_time_t p99;
    unsigned int d;

    st_init(&t, 1, 5000);
    st_io(&t, "io", 200, 800);
    for ( d = 0; d < 4; d++ )
        st_cpu(&t, "hog", 256, 0);
    ck_assert_int_eq(c2_tune_ratelimit(c2_start(&t), ratelimit_us), 0);
    c2_finish(&t);
    ck_assert_uint_gt(t.r.domains[0].wake_latency.count, 1000);
    p99 = t.r.domains[0].wake_latency.p99;
    *share = st_share(&t, 0);
    st_done(&t);
    return p99;
}

START_TEST(test_credit2_ratelimit_bounds_preemption)
{
    double share_rl, share_none;
    sch_time_t rl = c2_io_p99(1000, &share_rl);
    sch_time_t none = c2_io_p99(0, &share_none);

    ck_assert_msg(none < SCH_USEC(50), "p99 without ratelimit %lld ns",
                  (long long)none);
    ck_assert_msg(rl >= SCH_USEC(190) && rl <= SCH_USEC(250),
                  "p99 with 1 ms ratelimit %lld ns", (long long)rl);
    /* Unhindered it gets all it asks for (a fifth of the pCPU). */
    ck_assert_msg(share_none > 0.195, "share without ratelimit %.3f",
                  share_none);
}
END_TEST

/* Two hogs of equal weight switch at their ratelimit, not before. */
START_TEST(test_credit2_ratelimit_holds_the_pcpu)
{
    struct st_scenario t;
    uint64_t switches;

    st_init(&t, 1, 2000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    ck_assert_int_eq(c2_tune_ratelimit(c2_start(&t), 5000), 0);
    c2_finish(&t);
    switches = t.r.domains[0].context_switches +
               t.r.domains[1].context_switches;
    /* At most one switch per 5 ms, and they still share evenly. */
    ck_assert_uint_le(switches, 2000 / 5 + 2);
    ck_assert_uint_ge(switches, 2000 / 11);
    c2_assert_share(&t, 0, 0.5, 0.01);
    st_done(&t);
}
END_TEST

/*
 * Runqueues as Xen forms them on one socket: at most runq_cpus pCPUs
 * (16 by default) each, spread evenly; the pCPUs of one runqueue share
 * its lock.  Case: pCPUs, runq_cpus (0: default), pCPUs per runqueue.
 */
static const struct {
    unsigned int pcpus, runq_cpus, per_runq;
} c2_groups[] = {
    { 4, 0, 4 },
    { 16, 0, 16 },
    { 20, 0, 10 },
    { 32, 0, 16 },
    { 40, 0, 13 },
    { 8, 1, 1 },
    { 8, 2, 2 },
    { 6, 4, 3 },
};

START_TEST(test_credit2_runqueue_grouping)
{
    struct st_scenario t;
    struct sch_sched *s;
    unsigned int cpu;

    st_init(&t, c2_groups[_i].pcpus, 10);
    if ( c2_groups[_i].runq_cpus )
        t.sc.sched.runq_cpus = c2_groups[_i].runq_cpus;
    st_cpu(&t, "a", 256, 0);
    s = c2_start(&t);
    for ( cpu = 0; cpu < c2_groups[_i].pcpus; cpu++ )
    {
        unsigned int first = cpu - cpu % c2_groups[_i].per_runq;

        /* 40 pCPUs: 3 runqueues of 13 (40 / 3), and one for the last. */
        ck_assert_msg(s->res[cpu].lock == s->res[first].lock,
                      "%u pCPUs: %u and %u in different runqueues",
                      c2_groups[_i].pcpus, cpu, first);
        if ( first )
            ck_assert_msg(s->res[cpu].lock != s->res[first - 1].lock,
                          "%u pCPUs: %u and %u in one runqueue",
                          c2_groups[_i].pcpus, cpu, first - 1);
    }
    c2_finish(&t);
    st_done(&t);
}
END_TEST

/*
 * Runqueues of one pCPU each, two hogs placed on pCPU 0 (pinned there,
 * then let go at 100 ms): only balancing by load moves one to pCPU 1.
 * Without it they would share pCPU 0 for good, a quarter of the host
 * each.
 */
START_TEST(test_credit2_balance_moves_load)
{
    static const unsigned int all[] = { 0, 1, 2, 3 };
    struct st_scenario t;
    unsigned int d, n = 2 + _i * 2;

    st_init(&t, n, 4000);
    t.sc.sched.runq_cpus = 1;
    for ( d = 0; d < n; d++ )
    {
        struct sim_domain_spec *dom = st_cpu(&t, "hog", 256, 0);

        sch_cpumask_clear_all(&dom->affinity);
        sch_cpumask_set(&dom->affinity, 0);
        st_repin(&t, dom, 100, all, n);
    }
    c2_start(&t);
    c2_finish(&t);
    /* The last 3 s: each hog on a pCPU of its own. */
    for ( d = 0; d < n; d++ )
    {
        double got = st_window_share(&t, d, 10, 40) * n;

        ck_assert_msg(got > 0.95, "%u pCPUs: hog %u got %.3f of a pCPU", n,
                      d, got);
    }
    st_done(&t);
}
END_TEST

START_TEST(test_credit2_tunables_validate)
{
    struct st_scenario t;
    struct sch_sched *s;
    struct sch_global_params p;

    st_init(&t, 2, 10);
    st_cpu(&t, "a", 256, 0);
    s = c2_start(&t);
    ck_assert_int_eq(c2_tune_ratelimit(s, 50), -SCH_EINVAL);
    ck_assert_int_eq(c2_tune_ratelimit(s, 500001), -SCH_EINVAL);
    ck_assert_int_eq(c2_tune_ratelimit(s, 0), 0);
    ck_assert_int_eq(c2_tune_ratelimit(s, 100), 0);
    p = SCH_GLOBAL_PARAMS_KEEP;
    p.period_us = 100;
    ck_assert_int_eq(s->ops->adjust_global(s, &p), -SCH_EINVAL);
    p.period_us = 20000;
    ck_assert_int_eq(s->ops->adjust_global(s, &p), 0);
    /* The runqueues are formed: their size is fixed now. */
    p = SCH_GLOBAL_PARAMS_KEEP;
    p.runq_cpus = 1;
    ck_assert_int_eq(s->ops->adjust_global(s, &p), -SCH_EBUSY);
    p.runq_cpus = 0;
    ck_assert_int_eq(s->ops->adjust_global(s, &p), -SCH_EINVAL);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(s->ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.ratelimit_us, 100);
    ck_assert_uint_eq(p.period_us, 20000);
    ck_assert_uint_eq(p.runq_cpus, 16);
    c2_finish(&t);
    st_done(&t);
}
END_TEST

/* Xen's limit: a cap of at most 100% per vCPU of the domain. */
START_TEST(test_credit2_cap_limit_per_vcpu)
{
    struct st_scenario t;
    struct sch_sched *s;
    struct sch_dom_params p = { SCH_PARAM_PUT, SCH_PARAM_UNCHANGED, 201 };

    st_init(&t, 4, 10);
    st_dom(&t, "two", 2, SIM_WL_CPU);
    s = c2_start(&t);
    ck_assert_int_eq(s->ops->adjust(s, sim_domain(t.sim, 0), &p, 0),
                     -SCH_EINVAL);
    p.cap_pct = 200;
    ck_assert_int_eq(s->ops->adjust(s, sim_domain(t.sim, 0), &p, 0), 0);
    c2_finish(&t);
    st_done(&t);
}
END_TEST

static Suite *credit2_suite(void)
{
    Suite *s = suite_create("credit2");
    TCase *tc = tcase_create("credit2");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_credit2_weights_share_1pcpu);
    tcase_add_test(tc, test_credit2_three_equal_on_two);
    tcase_add_test(tc, test_credit2_weights_share_4pcpus);
    tcase_add_test(tc, test_credit2_cap_alone);
    tcase_add_test(tc, test_credit2_cap_with_competitor);
    tcase_add_test(tc, test_credit2_cap_overrun_borrowed);
    tcase_add_test(tc, test_credit2_cap_pool_shared_by_vcpus);
    tcase_add_test(tc, test_credit2_cap_lifted_live);
    tcase_add_test(tc, test_credit2_ratelimit_bounds_preemption);
    tcase_add_test(tc, test_credit2_ratelimit_holds_the_pcpu);
    tcase_add_loop_test(tc, test_credit2_runqueue_grouping, 0,
                        (int)SCH_ARRAY_SIZE(c2_groups));
    tcase_add_loop_test(tc, test_credit2_balance_moves_load, 0, 2);
    tcase_add_test(tc, test_credit2_tunables_validate);
    tcase_add_test(tc, test_credit2_cap_limit_per_vcpu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(credit2_suite());
}
