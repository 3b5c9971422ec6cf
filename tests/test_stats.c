/*
 * test_stats.c: the contention counters of sched/stats.c, which the
 * simulator and Xen share: against values worked out by hand, driven
 * transition by transition, and against the simulator's own record of
 * what each domain ran in each 100 ms window.
 */
#include "simtest.h"

#include <xenos/acct.h>

/* ------------------------------------------------------------------ */
/* By hand: one domain of one or two units on a host of two pCPUs.     */

/* A policy that counts, as far as the framework asks. */
static const struct sch_ops sx_ops = { .name = "sx", .counts_parked = true };

struct sx {
    struct sch_sched s;
    struct sch_resource res[2];
    struct sch_lock locks[2];
    struct sch_unit idle[2];
    struct sch_domain d;
    struct sch_unit u[2];
    struct sch_unit *units[2];
};

static void sx_init(struct sx *x)
{
    unsigned int i;

    memset(x, 0, sizeof(*x));
    x->s.ops = &sx_ops;
    x->s.nr_cpus = 2;
    x->s.res = x->res;
    for ( i = 0; i < 2; i++ )
    {
        sch_spin_lock_init(&x->locks[i]);
        x->idle[i].is_idle = true;
        x->idle[i].res = i;
        x->res[i] = (struct sch_resource){ .cpu = i, .lock = &x->locks[i],
                                           .curr = &x->idle[i],
                                           .idle = &x->idle[i] };
        x->u[i].id = i;
        x->u[i].res = i;
        x->u[i].domain = &x->d;
        x->units[i] = &x->u[i];
    }
    x->d.nr_units = 2;
    x->d.units = x->units;
    sch_stats_dom_init(&x->d, 0);
}

/* Unit @i is, from @at_ms: off (runnable false), running, waiting, or
 * parked. */
static void sx_set(struct sx *x, unsigned int i, enum sch_ustate st,
                   unsigned int at_ms)
{
    struct sch_unit *u = &x->u[i];

    u->runnable = st != SCH_US_OFF;
    x->res[i].curr = st == SCH_US_RUN ? u : &x->idle[i];
    sch_spin_lock(&x->locks[i]);
    if ( st == SCH_US_PARKED || u->parked )
        sch_unit_park(&x->s, u, st == SCH_US_PARKED, SCH_MSEC(at_ms));
    else
        sch_stats_sync(&x->s, u, SCH_MSEC(at_ms));
    sch_spin_unlock(&x->locks[i]);
    ck_assert_uint_eq(u->stat_state, st);
}

static struct sch_stats_snap sx_read(struct sx *x, unsigned int at_ms)
{
    struct sch_stats_snap snap;

    sch_stats_read(&x->d, SCH_MSEC(at_ms), &snap);
    return snap;
}

/* A capped domain alone and always busy: whatever it does not run, it is
 * parked.  Runs 30 ms of every 100 at cap 30: throttled = wall - used,
 * and every window lands in the bucket that holds exactly the cap. */
START_TEST(test_stats_capped_alone_throttled_is_wall_minus_used)
{
    struct sx x;
    struct sch_stats_snap s;
    unsigned int w, cap_bucket;

    sx_init(&x);
    sch_stats_set_cap(&x.d, 30, 0);
    for ( w = 0; w < 10; w++ )
    {
        sx_set(&x, 0, SCH_US_RUN, w * 100);
        sx_set(&x, 0, SCH_US_PARKED, w * 100 + 30);
    }
    s = sx_read(&x, 1000);
    ck_assert_uint_eq(s.run_ns, SCH_MSEC(300));
    ck_assert_uint_eq(s.throttled_ns, SCH_MSEC(1000) - s.run_ns);
    ck_assert_uint_eq(s.wait_ns, 0);
    ck_assert_uint_eq(s.cap_pct, 30);
    for ( cap_bucket = 0; sch_stats_bucket_pct[cap_bucket] != 100;
          cap_bucket++ )
        ;
    ck_assert_uint_eq(s.windows[cap_bucket], 10);
}
END_TEST

/* Two busy units of one domain take turns on one pCPU every 10 ms: each
 * waits half the time, neither is ever throttled, and the domain's use is
 * one pCPU in every window (the 100% bucket, uncapped). */
START_TEST(test_stats_two_busy_on_one_pcpu_each_wait_half)
{
    struct sx x;
    struct sch_stats_snap s;
    unsigned int t, b;

    sx_init(&x);
    /* both on pCPU 0's runqueue in turn: model the one pCPU as unit 0's
     * slot, with unit 1 current on "its" pCPU when unit 0 is not */
    for ( t = 0; t < 1000; t += 20 )
    {
        sx_set(&x, 1, SCH_US_WAIT, t);
        sx_set(&x, 0, SCH_US_RUN, t);
        sx_set(&x, 0, SCH_US_WAIT, t + 10);
        sx_set(&x, 1, SCH_US_RUN, t + 10);
    }
    s = sx_read(&x, 1000);
    ck_assert_uint_eq(s.run_ns, SCH_MSEC(1000));
    ck_assert_uint_eq(s.wait_ns, SCH_MSEC(1000));       /* 500 ms each */
    ck_assert_uint_eq(s.throttled_ns, 0);
    for ( b = 0; sch_stats_bucket_pct[b] != 100; b++ )
        ;
    ck_assert_uint_eq(s.windows[b], 10);
}
END_TEST

/* Windows: an idle stretch of many windows is closed in one go into the
 * lowest bucket, a window split by a read is one window, and a window in
 * which both units ran lands above an uncapped domain's one pCPU. */
START_TEST(test_stats_windows_span_reads_and_idle)
{
    struct sx x;
    struct sch_stats_snap s;
    unsigned int b;

    sx_init(&x);
    sx_set(&x, 0, SCH_US_RUN, 0);
    sx_set(&x, 1, SCH_US_RUN, 0);
    s = sx_read(&x, 50);                /* mid-window: nothing closed */
    for ( b = 0; b < SCH_STATS_NR_BUCKETS; b++ )
        ck_assert_uint_eq(s.windows[b], 0);
    sx_set(&x, 0, SCH_US_OFF, 100);
    sx_set(&x, 1, SCH_US_OFF, 100);
    s = sx_read(&x, 10 * 1000);         /* 1 busy window, then 99 idle */
    ck_assert_uint_eq(s.windows[0], 99);
    ck_assert_uint_eq(s.windows[SCH_STATS_NR_BUCKETS - 1], 1);  /* 200% */
    ck_assert_uint_eq(s.run_ns, SCH_MSEC(200));
    /* a read never moves time back: an earlier stamp counts as @since */
    s = sx_read(&x, 5000);
    ck_assert_int_eq(s.at, SCH_MSEC(10000));
}
END_TEST

/* ------------------------------------------------------------------ */
/* In the simulator, against its own run logs.                         */

/* The bucket of a window in which a domain capped at @cap used @ns. */
static unsigned int expected_bucket(sch_time_t ns, unsigned int cap)
{
    unsigned int b;
    uint64_t ref = cap ? cap : 100;

    for ( b = 0; b < SCH_STATS_NR_BUCKETS - 1; b++ )
        if ( (uint64_t)ns * 10000 <=
             sch_stats_bucket_pct[b] * ref * (uint64_t)SCH_STATS_WINDOW_NS )
            break;
    return b;
}

/*
 * fcredit on one pCPU: a domain capped at 30 and a hog.  Over 3 s the
 * counters account for every ns of each single-vCPU domain (run + wait +
 * throttled = wall), run equals the CPU time the simulator charged, and
 * the window histogram is exactly what the simulator's per-window record
 * of each domain's use gives.
 */
START_TEST(test_stats_sim_matches_run_log)
{
    struct st_scenario t;
    unsigned int i, w, b;

    st_init(&t, 1, 3000);
    st_cpu(&t, "capped", 256, 30);
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, "fcredit");
    ck_assert_uint_eq(t.r.window_ns, SCH_STATS_WINDOW_NS);
    for ( i = 0; i < 2; i++ )
    {
        struct sim_dom_info di;
        uint64_t want[SCH_STATS_NR_BUCKETS] = { 0 };
        const unsigned int cap = i == 0 ? 30 : 0;

        ck_assert_int_eq(sim_dom_info(t.sim, i, &di), 0);
        ck_assert(di.sched_stats);
        ck_assert_uint_eq(di.stats.run_ns, (uint64_t)t.r.domains[i].cpu_ns);
        ck_assert_uint_eq(di.stats.run_ns + di.stats.wait_ns +
                          di.stats.throttled_ns, (uint64_t)t.r.sim_ns);
        ck_assert_uint_eq(di.stats.cap_pct, cap);
        for ( w = 0; (sch_time_t)(w + 1) * t.r.window_ns <= t.r.sim_ns; w++ )
            want[expected_bucket(
                t.r.window_cpu_ns[(size_t)i * t.r.nr_windows + w], cap)]++;
        for ( b = 0; b < SCH_STATS_NR_BUCKETS; b++ )
            ck_assert_msg(di.stats.windows[b] == want[b],
                          "domain %u bucket %u: %llu windows, log says %llu",
                          i, b, (unsigned long long)di.stats.windows[b],
                          (unsigned long long)want[b]);
    }
    /* The capped one is parked while the hog runs, and waits little: the
     * hog's time is all waiting, none parked. */
    {
        struct sim_dom_info c, h;

        ck_assert_int_eq(sim_dom_info(t.sim, 0, &c), 0);
        ck_assert_int_eq(sim_dom_info(t.sim, 1, &h), 0);
        ck_assert_uint_gt(c.stats.throttled_ns, c.stats.wait_ns * 5);
        ck_assert_uint_eq(h.stats.throttled_ns, 0);
        ck_assert_uint_gt(h.stats.wait_ns, SCH_MSEC(500));
    }
    st_done(&t);
}
END_TEST

/* Two equal busy domains on one pCPU each wait about half the time. */
START_TEST(test_stats_sim_two_busy_wait_half)
{
    struct st_scenario t;
    unsigned int i;

    st_init(&t, 1, 2000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    st_run(&t, "fcredit");
    for ( i = 0; i < 2; i++ )
    {
        struct sim_dom_info di;

        ck_assert_int_eq(sim_dom_info(t.sim, i, &di), 0);
        ck_assert_uint_eq(di.stats.throttled_ns, 0);
        ck_assert_uint_eq(di.stats.run_ns + di.stats.wait_ns,
                          (uint64_t)t.r.sim_ns);
        ck_assert_msg(di.stats.wait_ns > SCH_MSEC(980) &&
                      di.stats.wait_ns < SCH_MSEC(1020), "%u waited %llu",
                      i, (unsigned long long)di.stats.wait_ns);
    }
    st_done(&t);
}
END_TEST

/* xenosd reads the histogram by the same buckets the hosts count in. */
START_TEST(test_stats_buckets_as_the_collector_reads_them)
{
    unsigned int b;

    ck_assert_uint_eq(ACCT_NR_WINDOWS, SCH_STATS_NR_BUCKETS);
    for ( b = 0; b < SCH_STATS_NR_BUCKETS - 1; b++ )
        ck_assert_uint_eq(acct_window_le_pct[b], sch_stats_bucket_pct[b]);
}
END_TEST

/* A policy that does not report parking (rr) has no counters. */
START_TEST(test_stats_sim_rr_unavailable)
{
    struct st_scenario t;
    struct sim_dom_info di;

    st_init(&t, 1, 200);
    st_cpu(&t, "a", 256, 0);
    st_run(&t, "rr");
    ck_assert_int_eq(sim_dom_info(t.sim, 0, &di), 0);
    ck_assert(!di.sched_stats);
    st_done(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stats_capped_alone_throttled_is_wall_minus_used);
    tcase_add_test(tc, test_stats_two_busy_on_one_pcpu_each_wait_half);
    tcase_add_test(tc, test_stats_windows_span_reads_and_idle);
    tcase_add_test(tc, test_stats_sim_matches_run_log);
    tcase_add_test(tc, test_stats_sim_two_busy_wait_half);
    tcase_add_test(tc, test_stats_sim_rr_unavailable);
    tcase_add_test(tc, test_stats_buckets_as_the_collector_reads_them);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
