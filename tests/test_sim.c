/*
 * test_sim.c: the simulator engine itself: accounting adds up, workloads
 * consume what they say, latency and response times are measured from the
 * right moments, entitlement is water-filled.  Run under rr, the policy
 * with the fewest opinions, where the outcome is known in closed form.
 */
#include <math.h>

#include "simtest.h"

/* Every ns of every pCPU is charged to at most one domain, and the
 * per-window records add up to the totals. */
START_TEST(test_sim_windows_add_up)
{
    struct st_scenario t;
    unsigned int d, w;

    st_init(&t, 2, 1250);   /* ends inside a window */
    st_cpu(&t, "a", 256, 0);
    st_io(&t, "b", 300, 700);
    st_cpu(&t, "c", 256, 0);
    st_run(&t, "rr");
    ck_assert_uint_eq(t.r.nr_windows, 13);
    for ( d = 0; d < 3; d++ )
    {
        sch_time_t sum = 0;

        for ( w = 0; w < t.r.nr_windows; w++ )
        {
            sch_time_t v = t.r.window_cpu_ns[d * t.r.nr_windows + w];

            ck_assert_int_le(v, 2 * SIM_WINDOW_NS);
            sum += v;
        }
        ck_assert_int_eq(sum, t.r.domains[d].cpu_ns);
    }
    ck_assert_int_le(t.r.domains[0].cpu_ns + t.r.domains[1].cpu_ns +
                     t.r.domains[2].cpu_ns, 2 * t.sc.duration_ns);
    st_done(&t);
}
END_TEST

/* An io vCPU alone uses exactly its duty cycle (run / (run + block)). */
START_TEST(test_sim_io_duty_cycle)
{
    struct st_scenario t;

    st_init(&t, 1, 2000);
    st_io(&t, "io", 250, 750);
    st_run(&t, "rr");
    ck_assert_msg(fabs(st_share(&t, 0) - 0.25) < 0.001, "share %.5f",
                  st_share(&t, 0));
    /* nothing else wants the pCPU: it runs the moment it wakes */
    ck_assert_int_eq(t.r.domains[0].wake_latency.max, 0);
    ck_assert_uint_ge(t.r.domains[0].wake_latency.count, 1999);
    st_done(&t);
}
END_TEST

/* A switch costs context_switch_ns of pCPU time before work progresses:
 * the io vCPU then needs run + cost per cycle. */
START_TEST(test_sim_context_switch_cost)
{
    struct st_scenario t;

    st_init(&t, 1, 2000);
    t.sc.context_switch_ns = SCH_USEC(50);
    st_io(&t, "io", 250, 750);
    st_run(&t, "rr");
    /* each cycle: 50 us switching + 250 us work + 750 us blocked */
    ck_assert_msg(fabs(st_share(&t, 0) - 300.0 / 1050) < 0.002,
                  "share %.5f", st_share(&t, 0));
    ck_assert_uint_ge(t.r.domains[0].context_switches, 1900);
    st_done(&t);
}
END_TEST

/* Bursty: runnable for on_ms of wall time out of every on + off. */
START_TEST(test_sim_bursty_phases)
{
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 1, 4000);
    d = st_dom(&t, "burst", 1, SIM_WL_BURSTY);
    d->workload.on_ns = SCH_MSEC(30);
    d->workload.off_ns = SCH_MSEC(70);
    st_run(&t, "rr");
    ck_assert_msg(fabs(st_share(&t, 0) - 0.3) < 0.01, "share %.4f",
                  st_share(&t, 0));
    st_done(&t);
}
END_TEST

/* Requests: Poisson arrivals served FIFO; alone on a pCPU, the load is
 * rate x service and the median response is near the service time. */
START_TEST(test_sim_request_load)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    const struct sim_percentiles *p;

    st_init(&t, 1, 10000);
    d = st_dom(&t, "web", 1, SIM_WL_REQUEST);
    d->workload.rate_hz = 200;
    d->workload.service_ns = SCH_USEC(1000);
    st_run(&t, "rr");
    ck_assert_msg(fabs(st_share(&t, 0) - 0.2) < 0.02, "share %.4f",
                  st_share(&t, 0));
    p = &t.r.domains[0].response;
    ck_assert_uint_gt(p->count, 1800);
    ck_assert_uint_lt(p->count, 2200);
    ck_assert_int_ge(p->p50, SCH_USEC(1000));
    ck_assert_int_lt(p->p50, SCH_USEC(1300));
    ck_assert_int_ge(p->p99, p->p50);
    ck_assert_int_ge(p->max, p->p999);
    st_done(&t);
}
END_TEST

/* Trace replay follows the file's (run, block) pairs, looping. */
START_TEST(test_sim_trace_replay)
{
    static sch_time_t trace[] = {
        SCH_USEC(100), SCH_USEC(900), SCH_USEC(500), SCH_USEC(500),
    };
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 1, 2000);
    d = st_dom(&t, "tr", 1, SIM_WL_TRACE);
    d->workload.trace = trace;
    d->workload.trace_len = 4;
    st_run(&t, "rr");
    ck_assert_msg(fabs(st_share(&t, 0) - 0.3) < 0.001, "share %.5f",
                  st_share(&t, 0));
    st_done(&t);
}
END_TEST

/* Round robin on one pCPU with 10 ms slices: a waking io vCPU behind two
 * hogs waits for at most two slices. */
START_TEST(test_sim_wake_latency_bounds)
{
    struct st_scenario t;

    st_init(&t, 1, 3000);
    st_cpu(&t, "hog1", 256, 0);
    st_cpu(&t, "hog2", 256, 0);
    st_io(&t, "io", 100, 900);
    st_run(&t, "rr");
    ck_assert_int_le(t.r.domains[2].wake_latency.max, SCH_MSEC(20));
    ck_assert_int_gt(t.r.domains[2].wake_latency.p50, SCH_MSEC(1));
    st_done(&t);
}
END_TEST

/* Water-filling: caps and demand limit a domain, the rest goes by weight
 * (test_entitle.c has the rest of the model). */
START_TEST(test_sim_entitlement)
{
    struct st_scenario t;
    double e[4];

    st_init(&t, 2, 10);
    st_cpu(&t, "capped", 1024, 30);     /* would get 1.0, capped at 0.3 */
    st_io(&t, "io", 100, 900);          /* wants 0.1 pCPU */
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 512, 0);
    ck_assert_int_eq(sim_entitlement(&t.sc, e), 0);
    ck_assert(fabs(e[0] - 0.15) < 1e-9);
    ck_assert(fabs(e[1] - 0.05) < 1e-9);
    /* 1.6 pCPUs left for weights 256:512, each at most one pCPU */
    ck_assert(fabs(e[2] - 0.3) < 1e-9);
    ck_assert(fabs(e[3] - 0.5) < 1e-9);
    st_done(&t);
}
END_TEST

/* The windows cover the run, even its end where nothing ran: a hog
 * destroyed half-way through a 1 s run leaves 10 windows, the last 5
 * empty, with its 500 ms entitlement in the first 5 (before, only the
 * windows up to the last one charged were reported: 5). */
START_TEST(test_sim_windows_cover_run)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    unsigned int w;

    st_init(&t, 1, 1000);
    d = st_cpu(&t, "short", 256, 0);
    d->end = SIM_END_DESTROY;
    d->end_ns = SCH_MSEC(500);
    st_run(&t, "rr");
    ck_assert_uint_eq(t.r.nr_windows, 10);
    for ( w = 0; w < 10; w++ )
    {
        ck_assert_int_eq(t.r.window_cpu_ns[w], w < 5 ? SCH_MSEC(100) : 0);
        ck_assert_int_eq(t.r.window_entitled_ns[w],
                         w < 5 ? SCH_MSEC(100) : 0);
    }
    ck_assert_int_eq(t.r.domains[0].entitled_ns, SCH_MSEC(500));
    st_done(&t);
}
END_TEST

/* Running in steps gives the very same result as running at once. */
START_TEST(test_sim_stepwise_equals_whole)
{
    struct st_scenario a, b;
    sch_time_t t;

    st_init(&a, 2, 1000);
    st_io(&a, "io", 120, 380);
    st_cpu(&a, "cpu", 256, 0);
    st_cpu(&a, "cpu2", 256, 0);
    b = a;
    b.sc.domains = b.doms;
    st_run(&a, "rr");
    b.sim = sim_alloc(&b.sc, sch_policy_find("rr"), NULL, 0);
    ck_assert_ptr_nonnull(b.sim);
    for ( t = 0; t <= b.sc.duration_ns; t += SCH_USEC(777) )
        sim_run_until(b.sim, t);
    sim_run_until(b.sim, b.sc.duration_ns);
    ck_assert_int_eq(sim_result(b.sim, &b.r), 0);
    ck_assert_uint_eq(a.r.events, b.r.events);
    ck_assert_int_eq(a.r.domains[0].cpu_ns, b.r.domains[0].cpu_ns);
    ck_assert_int_eq(a.r.domains[1].cpu_ns, b.r.domains[1].cpu_ns);
    ck_assert_int_eq(a.r.domains[0].entitled_ns, b.r.domains[0].entitled_ns);
    st_done(&a);
    st_done(&b);
}
END_TEST

static Suite *sim_suite(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("engine");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sim_windows_add_up);
    tcase_add_test(tc, test_sim_io_duty_cycle);
    tcase_add_test(tc, test_sim_context_switch_cost);
    tcase_add_test(tc, test_sim_bursty_phases);
    tcase_add_test(tc, test_sim_request_load);
    tcase_add_test(tc, test_sim_trace_replay);
    tcase_add_test(tc, test_sim_wake_latency_bounds);
    tcase_add_test(tc, test_sim_entitlement);
    tcase_add_test(tc, test_sim_windows_cover_run);
    tcase_add_test(tc, test_sim_stepwise_equals_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(sim_suite());
}
