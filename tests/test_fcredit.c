/*
 * test_fcredit.c: fcredit reaches what issue 3 asks of it, each row of the
 * comparison table (bench_compare) as a test on the very same scenario
 * files, with tolerances a little looser than the targets.  The contract
 * every policy meets is in test_sched_contract.c.
 */
#include <math.h>

#include "simtest.h"

/* 1:2:4 on one pCPU: every 1 s window within 1% (relative) of 1/7, 2/7,
 * 4/7.  Tolerance 1.5%. */
START_TEST(test_fcredit_weights_every_second)
{
    struct st_scenario t;
    double err;

    st_load(&t, "weights.yaml");
    st_run(&t, "fcredit");
    err = sim_worst_span_error(&t.r, 10);
    ck_assert_msg(err < 0.015, "worst 1 s window off by %.2f%%", err * 100);
    st_done(&t);
}
END_TEST

/* Caps 25/50/75 alone: whole run within 1 point (tolerance 1.5), no
 * 100 ms window above cap + 2 (tolerance 2.5). */
START_TEST(test_fcredit_cap_holds_every_window)
{
    static const char *const files[] = {
        "compare/cap25.yaml", "compare/cap50.yaml", "compare/cap75.yaml",
    };
    static const double caps[] = { 25, 50, 75 };
    struct st_scenario t;

    st_load(&t, files[_i]);
    st_run(&t, "fcredit");
    ck_assert_msg(fabs(st_share(&t, 0) * 100 - caps[_i]) < 1.5,
                  "cap %.0f: share %.2f%%", caps[_i], st_share(&t, 0) * 100);
    ck_assert_msg(t.r.domains[0].cap_window_max_pct < caps[_i] + 2.5,
                  "cap %.0f: a window used %.2f%%", caps[_i],
                  t.r.domains[0].cap_window_max_pct);
    st_done(&t);
}
END_TEST

/* A capped domain next to a hog: the cap holds and the hog gets the rest,
 * so capping is not idling. */
START_TEST(test_fcredit_cap_is_work_conserving)
{
    struct st_scenario t;

    st_init(&t, 1, 3000);
    st_cpu(&t, "capped", 256, 30);
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, "fcredit");
    ck_assert(fabs(st_share(&t, 0) - 0.30) < 0.015);
    ck_assert(fabs(st_share(&t, 1) - 0.70) < 0.015);
    st_done(&t);
}
END_TEST

/* The set-up make xen-test boots: three capped domains of unequal weight
 * on one pCPU.  Waiting behind heavier domains costs none of them budget:
 * each gets its whole cap, in every 100 ms window, and the pCPU idles the
 * rest. */
START_TEST(test_fcredit_caps_contend_on_one_pcpu)
{
    static const unsigned int weights[] = { 128, 128, 512 };
    struct st_scenario t;
    unsigned int i;

    st_init(&t, 1, 5000);
    for ( i = 0; i < 3; i++ )
        st_cpu(&t, "capped", weights[i], 25);
    st_run(&t, "fcredit");
    for ( i = 0; i < 3; i++ )
    {
        ck_assert_msg(fabs(st_share(&t, i) - 0.25) < 0.002, "%u: %.4f", i,
                      st_share(&t, i));
        ck_assert_msg(t.r.domains[i].cap_window_max_pct < 25 + 0.5,
                      "%u: a window used %.2f%%", i,
                      t.r.domains[i].cap_window_max_pct);
    }
    st_done(&t);
}
END_TEST

/* xenosd resplits a tenant's cap among its domains every interval.  A cap
 * that moves keeps the budget banked under the old one, so moving it often
 * gives nothing away: a cap flipping 20 / 30 every 7 ms averages 25. */
START_TEST(test_fcredit_cap_change_keeps_budget)
{
    struct st_scenario t;
    sch_time_t at;
    bool high = false;

    st_init(&t, 1, 3000);
    st_cpu(&t, "capped", 256, 25);
    st_cpu(&t, "hog", 256, 0);
    st_start_ops(&t, sch_policy_find("fcredit"));
    for ( at = SCH_MSEC(7); at < t.sc.duration_ns; at += SCH_MSEC(7) )
    {
        sim_run_until(t.sim, at);
        ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 256,
                                           high ? 30 : 20), 0);
        high = !high;
    }
    sim_run_until(t.sim, t.sc.duration_ns);
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    ck_assert_msg(fabs(st_share(&t, 0) - 0.25) < 0.005, "%.4f",
                  st_share(&t, 0));
    st_done(&t);
}
END_TEST

/* A cap above one pCPU on a domain with several vCPUs: the budget is the
 * domain's, shared by its vCPUs. */
START_TEST(test_fcredit_cap_spans_vcpus)
{
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 4, 3000);
    d = st_dom(&t, "wide", 4, SIM_WL_CPU);
    d->cap_pct = 150;
    st_run(&t, "fcredit");
    ck_assert_msg(fabs(st_share(&t, 0) * 4 - 1.5) < 0.06, "%.3f pCPUs",
                  st_share(&t, 0) * 4);
    ck_assert(t.r.domains[0].cap_window_max_pct < 150 + 2.5);
    st_done(&t);
}
END_TEST

/* I/O domain (100 us run, 900 us block) among 4 hogs: wake p99 within
 * 100 us (tolerance 120 us), and it gets all it asks for. */
START_TEST(test_fcredit_io_wake_latency)
{
    struct st_scenario t;

    st_load(&t, "io-latency.yaml");
    st_run(&t, "fcredit");
    ck_assert_msg(t.r.domains[0].wake_latency.p99 <= SCH_USEC(120),
                  "p99 %lld ns", (long long)t.r.domains[0].wake_latency.p99);
    ck_assert(st_share(&t, 0) > 0.095);
    st_done(&t);
}
END_TEST

/* Boost off: the waker is no longer placed ahead, so its latency grows
 * (the tunable really does something). */
START_TEST(test_fcredit_boost_tunable)
{
    struct st_scenario on, off;

    st_load(&on, "io-latency.yaml");
    st_load(&off, "io-latency.yaml");
    off.sc.sched.boost = 0;
    off.sc.sched.latency_us = 0;
    st_run(&on, "fcredit");
    st_run(&off, "fcredit");
    ck_assert_msg(off.r.domains[0].wake_latency.p50 >
                  on.r.domains[0].wake_latency.p50,
                  "p50 with boost %lld, without %lld",
                  (long long)on.r.domains[0].wake_latency.p50,
                  (long long)off.r.domains[0].wake_latency.p50);
    st_done(&on);
    st_done(&off);
}
END_TEST

/* 8 pCPUs, 32 mixed domains: no pCPU idles while a unit waits longer
 * than the ratelimit (50 us).  Tolerance: 0.01% of the run. */
START_TEST(test_fcredit_work_conserving_mixed)
{
    struct st_scenario t;
    double total = 0;
    unsigned int d;

    st_load(&t, "compare/mixed-8.yaml");
    t.sc.idle_audit_ns = SCH_USEC(50);
    st_run(&t, "fcredit");
    ck_assert_msg(t.r.idle_while_waiting_ns <= t.sc.duration_ns / 10000,
                  "idle while a unit waited > 50 us: %lld ns",
                  (long long)t.r.idle_while_waiting_ns);
    for ( d = 0; d < t.r.nr_domains; d++ )
        total += st_share(&t, d);
    ck_assert(total > 0.6 && total < 0.95);     /* busy, not saturated */
    st_done(&t);
}
END_TEST

/* Sleeping across every accounting point gains nothing: at most the
 * weight's share (+1 point) beside a hog. */
START_TEST(test_fcredit_tick_dodger_gets_no_more)
{
    struct st_scenario t;

    st_load(&t, "compare/tick-dodger.yaml");
    st_run(&t, "fcredit");
    ck_assert_msg(st_share(&t, 0) <= t.r.domains[0].entitled_share + 0.01,
                  "dodger %.4f, entitled %.4f", st_share(&t, 0),
                  t.r.domains[0].entitled_share);
    st_done(&t);
}
END_TEST

START_TEST(test_fcredit_frequent_waker_gets_no_more)
{
    struct st_scenario t;

    st_load(&t, "compare/frequent-waker.yaml");
    st_run(&t, "fcredit");
    ck_assert_msg(st_share(&t, 0) <= t.r.domains[0].entitled_share + 0.01,
                  "waker %.4f, entitled %.4f", st_share(&t, 0),
                  t.r.domains[0].entitled_share);
    /* ...and it still gets its share: boosting is bounded, not removed */
    ck_assert(st_share(&t, 0) > t.r.domains[0].entitled_share - 0.02);
    st_done(&t);
}
END_TEST

/* Weight counts once per vCPU, as in Xen's credit and credit2: a 4-vCPU
 * domain of weight 256 beside a 1-vCPU one of weight 256, all busy on 2
 * pCPUs, is five equal vCPUs: 0.8 and 0.2 of the host. */
START_TEST(test_fcredit_weight_per_vcpu)
{
    struct st_scenario t;

    st_init(&t, 2, 3000);
    st_dom(&t, "wide", 4, SIM_WL_CPU);
    st_cpu(&t, "narrow", 256, 0);
    st_run(&t, "fcredit");
    ck_assert_msg(fabs(st_share(&t, 0) - 0.8) < 0.004 &&
                  fabs(st_share(&t, 1) - 0.2) < 0.004,
                  "wide %.4f narrow %.4f", st_share(&t, 0), st_share(&t, 1));
    st_done(&t);
}
END_TEST

/* Hard affinity: units pinned to one pCPU share it by weight there. */
START_TEST(test_fcredit_affinity_weights)
{
    struct st_scenario t;
    struct sim_domain_spec *a, *b;

    st_init(&t, 2, 3000);
    a = st_cpu(&t, "a", 256, 0);
    b = st_cpu(&t, "b", 768, 0);
    sch_cpumask_clear(&a->affinity, 0);
    sch_cpumask_clear(&b->affinity, 0);
    st_run(&t, "fcredit");
    /* pCPU 1 split 1:3, pCPU 0 idle */
    ck_assert(fabs(st_share(&t, 0) - 0.125) < 0.01);
    ck_assert(fabs(st_share(&t, 1) - 0.375) < 0.01);
    st_done(&t);
}
END_TEST

/* A live weight change takes effect at once, without a reset. */
START_TEST(test_fcredit_live_adjust)
{
    struct st_scenario t;
    struct sch_dom_params p = { SCH_PARAM_PUT, 768, SCH_PARAM_UNCHANGED };
    double first;

    st_init(&t, 1, 4000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    t.sim = sim_alloc(&t.sc, sch_policy_find("fcredit"), NULL, 0);
    ck_assert_ptr_nonnull(t.sim);
    sim_run_until(t.sim, SCH_MSEC(2000));
    ck_assert_int_eq(sim_sched(t.sim)->ops->adjust(sim_sched(t.sim),
                     sim_domain(t.sim, 0), &p, sim_now(t.sim)), 0);
    sim_run_until(t.sim, t.sc.duration_ns);
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    first = st_window_share(&t, 0, 0, 20);
    ck_assert(fabs(first - 0.5) < 0.01);
    ck_assert_msg(fabs(st_window_share(&t, 0, 20, 40) - 0.75) < 0.01,
                  "after: %.4f", st_window_share(&t, 0, 20, 40));
    st_done(&t);
}
END_TEST

static Suite *fcredit_suite(void)
{
    Suite *s = suite_create("fcredit");
    TCase *tc = tcase_create("targets");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fcredit_weights_every_second);
    tcase_add_loop_test(tc, test_fcredit_cap_holds_every_window, 0, 3);
    tcase_add_test(tc, test_fcredit_cap_is_work_conserving);
    tcase_add_test(tc, test_fcredit_cap_spans_vcpus);
    tcase_add_test(tc, test_fcredit_caps_contend_on_one_pcpu);
    tcase_add_test(tc, test_fcredit_cap_change_keeps_budget);
    tcase_add_test(tc, test_fcredit_io_wake_latency);
    tcase_add_test(tc, test_fcredit_boost_tunable);
    tcase_add_test(tc, test_fcredit_work_conserving_mixed);
    tcase_add_test(tc, test_fcredit_tick_dodger_gets_no_more);
    tcase_add_test(tc, test_fcredit_frequent_waker_gets_no_more);
    tcase_add_test(tc, test_fcredit_weight_per_vcpu);
    tcase_add_test(tc, test_fcredit_affinity_weights);
    tcase_add_test(tc, test_fcredit_live_adjust);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(fcredit_suite());
}
