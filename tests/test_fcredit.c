/*
 * test_fcredit.c: fcredit's own behaviours (caps, the boost tunable,
 * weight per vCPU, affinity, live changes).  The comparison table's rows
 * are held in test_fairness.c; the contract
 * every policy meets is in test_sched_contract.c.
 */
#include <math.h>

#include "simtest.h"

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

/* Domain @d's counts of runnable and running units as fcredit's dump of
 * its first unit prints them, beside the truth: every vCPU busy, and its
 * units current on a pCPU. */
static void st_check_counts(struct st_scenario *t, unsigned int d)
{
    const struct sch_sched *s = sim_sched(t->sim);
    struct sch_domain *dom = sim_domain(t->sim, d);
    unsigned int runnable = ~0u, running = ~0u, on = 0, cpu;
    char *buf = NULL, *at;
    size_t len;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    sim_set_log(t->sim, f);
    s->ops->dump_unit(s, dom->units[0]);
    sim_set_log(t->sim, NULL);
    fclose(f);
    at = strstr(buf, "domain runnable ");
    ck_assert_msg(at && sscanf(at, "domain runnable %u running %u",
                               &runnable, &running) == 2, "%s", buf);
    for ( cpu = 0; cpu < s->nr_cpus; cpu++ )
        on += sch_curr_on_cpu(s, cpu)->domain == dom;
    ck_assert_msg(runnable == dom->nr_units && running == on,
                  "at %lld ns: runnable %u running %u counted, %u and %u "
                  "true", (long long)sim_now(t->sim), runnable, running,
                  dom->nr_units, on);
    free(buf);
}

/*
 * A domain counts its running units only while capped (fc_count): a cap
 * set on a busy 4-vCPU domain spread over two runqueues, lifted, and set
 * again, finds the counts exact at once (a unit counts itself at its next
 * switch, but the budget drains by the count meanwhile), and the cap
 * holds in each phase while the neighbour, as busy, takes the rest.
 */
START_TEST(test_fcredit_cap_set_on_busy_domain)
{
    static const struct { unsigned int at_ms, cap; double pcpus; } ph[] = {
        { 0, 0, 2.0 }, { 1500, 150, 1.5 }, { 3000, 0, 2.0 },
        { 4000, 100, 1.0 }, { 5000, 250, 2.0 },
    };
    struct st_scenario t;
    struct sim_domain_spec *d;
    unsigned int i, w0, w1;
    double got;

    st_init(&t, 4, 6000);
    t.sc.sched.runq_cpus = 2;
    st_dom(&t, "wide", 4, SIM_WL_CPU);
    d = st_dom(&t, "hog", 4, SIM_WL_CPU);
    d->weight = 256;
    st_start_ops(&t, sch_policy_find("fcredit"));
    for ( i = 1; i < SCH_ARRAY_SIZE(ph); i++ )
    {
        sim_run_until(t.sim, SCH_MSEC(ph[i].at_ms));
        ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 256, ph[i].cap), 0);
        if ( ph[i].cap )
            st_check_counts(&t, 0);
    }
    sim_run_until(t.sim, t.sc.duration_ns);
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    for ( i = 0; i < SCH_ARRAY_SIZE(ph); i++ )
    {
        /* Each phase's windows but its first (the change settles). */
        w0 = ph[i].at_ms / 100 + 1;
        w1 = i + 1 < SCH_ARRAY_SIZE(ph) ? ph[i + 1].at_ms / 100 : 60;
        got = st_window_share(&t, 0, w0, w1) * 4;
        ck_assert_msg(fabs(got - ph[i].pcpus) < 0.02 * ph[i].pcpus,
                      "cap %u from %u ms: %.3f pCPUs, %.2f due", ph[i].cap,
                      ph[i].at_ms, got, ph[i].pcpus);
        got = st_window_share(&t, 1, w0, w1) * 4;
        ck_assert_msg(fabs(got - (4 - ph[i].pcpus)) < 0.02 * 2,
                      "neighbour, cap %u: %.3f pCPUs", ph[i].cap, got);
    }
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

/*
 * A runqueue per pCPU: dom0 on pCPU 0, three hogs on pCPU 1 re-pinned to
 * pCPUs 1-2 at 1 s.  pCPU 2 has been idle all along and was kicked once
 * at the start; it must take a unit from pCPU 1's runqueue: both pCPUs
 * busy from then on (windows of 100 ms; 200 ms allowed for the move).
 * Before the fix a kick left pCPU 2 out of the idle mask for good and
 * the three shared pCPU 1 to the end.
 */
START_TEST(test_fcredit_repin_reaches_other_runqueue)
{
    static const unsigned int one[] = { 1 }, two[] = { 1, 2 };
    struct st_scenario t;
    unsigned int d, w;

    st_init(&t, 3, 4000);
    t.sc.sched.runq_cpus = 1;
    /* dom0 on pCPU 0, waking now and then */
    sch_cpumask_clear_all(&st_io(&t, "dom0", 200, 5000)->affinity);
    sch_cpumask_set(&t.doms[0].affinity, 0);
    for ( d = 0; d < 3; d++ )
    {
        static const char *name[] = { "a", "b", "c" };
        struct sim_domain_spec *x = st_cpu(&t, name[d], 256, 0);

        sch_cpumask_clear_all(&x->affinity);
        sch_cpumask_set(&x->affinity, one[0]);
        st_repin(&t, x, 1000, two, 2);
    }
    st_run(&t, "fcredit");
    for ( w = 12; w < t.r.nr_windows; w++ )
    {
        double used = 0;

        for ( d = 1; d <= 3; d++ )
            used += st_window_share(&t, d, w, w + 1);
        /* two of three pCPUs */
        ck_assert_msg(used > 2.0 / 3 - 0.01, "window %u: %.3f of the host",
                      w, used);
    }
    /* and a third of them each, from the first 1 s after the re-pin: a
     * unit moved to an idle runqueue must not run alone there until its
     * vtime catches up with a stale frame (it did, for about 2 s) */
    for ( w = 11; w + 10 <= t.r.nr_windows; w += 10 )
        for ( d = 1; d <= 3; d++ )
            ck_assert_msg(fabs(st_window_share(&t, d, w, w + 10) - 2.0 / 9) <
                          0.05 * 2.0 / 9, "%s, windows %u-%u: %.4f",
                          t.sc.domains[d].name, w, w + 10,
                          st_window_share(&t, d, w, w + 10));
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
    tcase_add_test(tc, test_fcredit_cap_is_work_conserving);
    tcase_add_test(tc, test_fcredit_cap_spans_vcpus);
    tcase_add_test(tc, test_fcredit_caps_contend_on_one_pcpu);
    tcase_add_test(tc, test_fcredit_cap_change_keeps_budget);
    tcase_add_test(tc, test_fcredit_cap_set_on_busy_domain);
    tcase_add_test(tc, test_fcredit_boost_tunable);
    tcase_add_test(tc, test_fcredit_weight_per_vcpu);
    tcase_add_test(tc, test_fcredit_affinity_weights);
    tcase_add_test(tc, test_fcredit_repin_reaches_other_runqueue);
    tcase_add_test(tc, test_fcredit_live_adjust);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(fcredit_suite());
}
