/*
 * test_entitle.c: what a domain is entitled to (sched/sim/entitle.c):
 * weighted max-min fair shares of per-vCPU flows, under demand, caps and
 * hard affinity, followed over a run.  Every expected value is worked out
 * by hand in the comment above it; "old" is what the water-filling before
 * this model said, which each test would have caught.
 */
#include <errno.h>
#include <math.h>

#include "simtest.h"

#define EPS 1e-9

static void pin(struct sim_domain_spec *d, const unsigned int *cpus,
                unsigned int n)
{
    unsigned int i;

    sch_cpumask_clear_all(&d->affinity);
    for ( i = 0; i < n; i++ )
        sch_cpumask_set(&d->affinity, cpus[i]);
}

/* The stationary entitlement of @t's scenario, checked against @want. */
static void expect(struct st_scenario *t, const double *want)
{
    double got[ST_MAX_DOMS];
    unsigned int i;

    ck_assert_int_eq(sim_entitlement(&t->sc, got), 0);
    for ( i = 0; i < t->sc.nr_domains; i++ )
        ck_assert_msg(fabs(got[i] - want[i]) < EPS,
                      "domain %u: entitled %.9f, want %.9f", i, got[i],
                      want[i]);
}

/* Entitled ns of domain @d in window @w of the run. */
static sch_time_t ent_win(const struct st_scenario *t, unsigned int d,
                          unsigned int w)
{
    return t->r.window_entitled_ns[(size_t)d * t->r.nr_windows + w];
}

/* ------------------------------------------------------------------ */
/* One moment                                                         */

/*
 * The classic cases, 1-vCPU CPU-bound domains unless said, 2 pCPUs:
 * - three of equal weight: 2/3 of a pCPU each, 1/3 of the host;
 * - weights 4096, 256, 256: 4096 would be due 16/18 of 2 pCPUs, more
 *   than its one vCPU can use; it gets 1 pCPU (1/2 of the host), the
 *   other two split the other pCPU (1/4 each);
 * - a 4-vCPU domain and a 1-vCPU domain, weight 256 each: 5 flows of
 *   equal weight, 0.4 pCPU each: 1.6 and 0.4 pCPUs, 0.8 / 0.2 of the
 *   host (old: weight per domain, 0.5 / 0.5).
 */
START_TEST(test_entitle_classic)
{
    static const double equal[] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
    static const double heavy[] = { 0.5, 0.25, 0.25 };
    static const double wide[] = { 0.8, 0.2 };
    struct st_scenario t;

    st_init(&t, 2, 1000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    st_cpu(&t, "c", 256, 0);
    expect(&t, equal);

    st_init(&t, 2, 1000);
    st_cpu(&t, "heavy", 4096, 0);
    st_cpu(&t, "b", 256, 0);
    st_cpu(&t, "c", 256, 0);
    expect(&t, heavy);

    st_init(&t, 2, 1000);
    st_dom(&t, "wide", 4, SIM_WL_CPU);
    st_cpu(&t, "narrow", 256, 0);
    expect(&t, wide);
}
END_TEST

/*
 * Hard affinity, 2 pCPUs, 1-vCPU CPU-bound domains:
 * - {0}, {0,1}, {1}: the middle one must share both pCPUs with the
 *   others; max-min fair is 2/3 of a pCPU each (1/3 of the host): each
 *   of the others gets 2/3 of its own pCPU and the middle one the two
 *   thirds left;
 * - {0}, {0}, {0,1}: the first two are held to pCPU 0 (1/2 each), the
 *   third has pCPU 1 to itself: 1/4, 1/4, 1/2 of the host (old: 1/3
 *   each, affinity only counted pCPUs);
 * - weights 256 and 768 both on {1}: pCPU 1 split 1:3, 0.125 / 0.375 of
 *   the host, pCPU 0 idle (old: 0.5 / 0.5, as if pCPU 0 were theirs).
 */
START_TEST(test_entitle_affinity_overlap)
{
    static const unsigned int c0[] = { 0 }, c1[] = { 1 }, c01[] = { 0, 1 };
    static const double chain[] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
    static const double held[] = { 0.25, 0.25, 0.5 };
    static const double one[] = { 0.125, 0.375 };
    struct st_scenario t;

    st_init(&t, 2, 1000);
    pin(st_cpu(&t, "a", 256, 0), c0, 1);
    pin(st_cpu(&t, "b", 256, 0), c01, 2);
    pin(st_cpu(&t, "c", 256, 0), c1, 1);
    expect(&t, chain);

    st_init(&t, 2, 1000);
    pin(st_cpu(&t, "a", 256, 0), c0, 1);
    pin(st_cpu(&t, "b", 256, 0), c0, 1);
    pin(st_cpu(&t, "c", 256, 0), c01, 2);
    expect(&t, held);

    st_init(&t, 2, 1000);
    pin(st_cpu(&t, "a", 256, 0), c1, 1);
    pin(st_cpu(&t, "b", 768, 0), c1, 1);
    expect(&t, one);
}
END_TEST

/* An 8-vCPU io domain at 75% duty alone on 2 pCPUs wants 8 x 0.75 = 6
 * pCPUs: it is entitled to both, 100% of the host (old: min(8, 2) x
 * 0.75 = 1.5 pCPUs, 75%). */
START_TEST(test_entitle_io_many_vcpus)
{
    static const double all[] = { 1.0 };
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 1000);
    d = st_dom(&t, "io8", 8, SIM_WL_IO);
    d->workload.run_ns = SCH_USEC(750);
    d->workload.block_ns = SCH_USEC(250);
    expect(&t, all);
}
END_TEST

/*
 * A capped domain of 4 vCPUs (cap 100: one pCPU) beside two 1-vCPU
 * hogs, equal weights, 2 pCPUs.  Six flows would get 1/3 each, the capped
 * domain 4/3 > 1: it is held at 1 pCPU, the hogs split the other (0.5
 * each).  Shares 0.5, 0.25, 0.25 (old: 1/3 each).  With cap 50 instead:
 * 0.5 pCPU, and the hogs 0.75 each: 0.25, 0.375, 0.375.
 */
START_TEST(test_entitle_capped_multi_vcpu)
{
    static const double cap100[] = { 0.5, 0.25, 0.25 };
    static const double cap50[] = { 0.25, 0.375, 0.375 };
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 1000);
    d = st_dom(&t, "capped", 4, SIM_WL_CPU);
    d->cap_pct = 100;
    st_cpu(&t, "hog1", 256, 0);
    st_cpu(&t, "hog2", 256, 0);
    expect(&t, cap100);
    d->cap_pct = 50;
    expect(&t, cap50);
}
END_TEST

/*
 * An io domain that wants less than its share gets its duty: 4 vCPUs at
 * 10% (0.4 pCPU) beside two 2-vCPU hogs, equal weights, 2 pCPUs.  8 flows
 * at 1/4 each would give every io vCPU more than its 0.1, so the io
 * domain gets 0.4 pCPU and the hogs' 4 vCPUs split 1.6: 0.8 each.
 * Shares 0.2, 0.4, 0.4 (old: 0.1, 0.45, 0.45: its demand taken as
 * min(4, 2) x 0.1).  The run's entitlement is the same in every window
 * (nothing changes over it), and windows add up to the total.
 */
START_TEST(test_entitle_io_under_share)
{
    static const double want[] = { 0.2, 0.4, 0.4 };
    struct st_scenario t;
    struct sim_domain_spec *d;
    unsigned int i, w;

    st_init(&t, 2, 1000);
    d = st_dom(&t, "io", 4, SIM_WL_IO);
    d->workload.run_ns = SCH_USEC(100);
    d->workload.block_ns = SCH_USEC(900);
    st_dom(&t, "hog1", 2, SIM_WL_CPU);
    st_dom(&t, "hog2", 2, SIM_WL_CPU);
    expect(&t, want);
    st_run(&t, "rr");
    ck_assert_uint_eq(t.r.nr_windows, 10);
    for ( i = 0; i < 3; i++ )
    {
        sch_time_t sum = 0;

        ck_assert(fabs(t.r.domains[i].entitled_share - want[i]) < EPS);
        for ( w = 0; w < 10; w++ )
        {
            ck_assert_int_eq(ent_win(&t, i, w),
                             (sch_time_t)llround(want[i] * 2 * 1e8));
            sum += ent_win(&t, i, w);
        }
        ck_assert_int_eq(sum, t.r.domains[i].entitled_ns);
    }
    st_done(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Over a run                                                         */

/*
 * A bursty domain with long phases beside a hog on 1 pCPU, 4 s: on for
 * 500 ms from 0 and from 2000 ms, off for 1500 ms after each.  On, it is
 * CPU-bound and due half the pCPU; off, nothing.  Per 100 ms window:
 * bursty 50 ms in windows 0-4 and 20-24, 0 elsewhere; the hog 50 ms in
 * those and 100 ms in the rest.  Totals 500 ms and 3500 ms: shares 0.125
 * and 0.875 (old: duty over the run, 0.25 and 0.75).
 */
START_TEST(test_entitle_bursty_phases)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    unsigned int w;

    st_init(&t, 1, 4000);
    d = st_dom(&t, "burst", 1, SIM_WL_BURSTY);
    d->workload.on_ns = SCH_MSEC(500);
    d->workload.off_ns = SCH_MSEC(1500);
    d->workload.phase_set = true;
    d->workload.phase_ns = 0;
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, "rr");
    ck_assert_uint_eq(t.r.nr_windows, 40);
    for ( w = 0; w < 40; w++ )
    {
        bool on = w < 5 || (w >= 20 && w < 25);

        ck_assert_msg(ent_win(&t, 0, w) == (on ? SCH_MSEC(50) : 0),
                      "window %u: burst %lld", w,
                      (long long)ent_win(&t, 0, w));
        ck_assert_msg(ent_win(&t, 1, w) == (on ? SCH_MSEC(50)
                                                : SCH_MSEC(100)),
                      "window %u: hog %lld", w,
                      (long long)ent_win(&t, 1, w));
    }
    ck_assert_int_eq(t.r.domains[0].entitled_ns, SCH_MSEC(500));
    ck_assert_int_eq(t.r.domains[1].entitled_ns, SCH_MSEC(3500));
    ck_assert(fabs(t.r.domains[0].entitled_share - 0.125) < EPS);
    ck_assert(fabs(t.r.domains[1].entitled_share - 0.875) < EPS);
    st_done(&t);
}
END_TEST

/*
 * A bursty domain whose whole cycle fits in a 100 ms window is a steady
 * demand (entitle.c, phased()): the tick dodger, 9 ms on and 1 ms off
 * beside a hog on 1 pCPU, wants 90% and is due half: 5 s of 10 in every
 * window alike.  Per phase it would be due 45% (4.5 ms of each 10).
 */
START_TEST(test_entitle_bursty_short_cycle)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    unsigned int w;

    st_init(&t, 1, 2000);
    d = st_dom(&t, "dodger", 1, SIM_WL_BURSTY);
    d->workload.on_ns = SCH_MSEC(9);
    d->workload.off_ns = SCH_MSEC(1);
    d->workload.phase_set = true;
    d->workload.phase_ns = SCH_USEC(500);
    st_cpu(&t, "hog", 256, 0);
    st_run(&t, "rr");
    for ( w = 0; w < 20; w++ )
        ck_assert_msg(llabs((long long)ent_win(&t, 0, w) - SCH_MSEC(50)) <= 1,
                      "window %u: %lld", w, (long long)ent_win(&t, 0, w));
    ck_assert(fabs(t.r.domains[0].entitled_share - 0.5) < EPS);
    st_done(&t);
}
END_TEST

/*
 * A request domain is due the work that arrived, not the rate's mean:
 * alone on 1 pCPU for 2 s at 100 a second, 1 ms each, it completes every
 * request (but one still running at the end, at most) and is due exactly
 * the time they took.  Poisson's count is 200 +- 14, so the mean (200 ms)
 * would be off by several ms.
 */
START_TEST(test_entitle_request_as_drawn)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    long long done;

    st_init(&t, 1, 2000);
    t.sc.seed = 7;
    d = st_dom(&t, "req", 1, SIM_WL_REQUEST);
    d->workload.rate_hz = 100;
    d->workload.service_ns = SCH_MSEC(1);
    st_run(&t, "rr");
    done = (long long)t.r.domains[0].response.count * SCH_MSEC(1);
    ck_assert_msg(t.r.domains[0].entitled_ns >= done &&
                  t.r.domains[0].entitled_ns <= done + SCH_MSEC(1),
                  "due %lld ns, %lld ns of requests done",
                  (long long)t.r.domains[0].entitled_ns, done);
    st_done(&t);
}
END_TEST

/*
 * Lifecycles on 1 pCPU, 2 s, three hogs: a lives throughout; b is
 * created at 1000 ms and reboots at 1500 ms (an instant: nothing
 * changes); c is destroyed at 500 ms.  [0, 500): a and c, 50 ms each per
 * window; [500, 1000): a alone, 100 ms; [1000, 2000): a and b, 50 ms.
 * Totals a 1250 ms, b 500 ms, c 250 ms: shares 0.625, 0.25, 0.125 (old:
 * 1/3 each, as if all lived throughout).
 */
START_TEST(test_entitle_lifecycle)
{
    static sch_time_t reboot[] = { SCH_MSEC(1500) };
    struct st_scenario t;
    struct sim_domain_spec *b, *c;
    unsigned int w;

    st_init(&t, 1, 2000);
    st_cpu(&t, "a", 256, 0);
    b = st_cpu(&t, "b", 256, 0);
    b->start_ns = SCH_MSEC(1000);
    b->reboot_ns = reboot;
    b->nr_reboots = 1;
    c = st_cpu(&t, "c", 256, 0);
    c->end = SIM_END_DESTROY;
    c->end_ns = SCH_MSEC(500);
    st_run(&t, "rr");
    for ( w = 0; w < 20; w++ )
    {
        ck_assert_int_eq(ent_win(&t, 0, w),
                         w >= 5 && w < 10 ? SCH_MSEC(100) : SCH_MSEC(50));
        ck_assert_int_eq(ent_win(&t, 1, w), w >= 10 ? SCH_MSEC(50) : 0);
        ck_assert_int_eq(ent_win(&t, 2, w), w < 5 ? SCH_MSEC(50) : 0);
    }
    ck_assert(fabs(t.r.domains[0].entitled_share - 0.625) < EPS);
    ck_assert(fabs(t.r.domains[1].entitled_share - 0.25) < EPS);
    ck_assert(fabs(t.r.domains[2].entitled_share - 0.125) < EPS);
    st_done(&t);
}
END_TEST

/*
 * A re-pin mid-run, 2 pCPUs, 2 s: a on {0}, b on {0}, c on {0,1}; at
 * 1000 ms b moves to {1}.  Before: 1/2, 1/2, 1 pCPU (50, 50, 100 ms per
 * window); after, {0}, {1}, {0,1}: 2/3 each (66.67 ms per window, the
 * rounding spread so each window is within 1 ns and the total exact).
 * Totals 1166.67, 1166.67, 1666.67 ms of 4000 (old: 1/3 each).
 */
START_TEST(test_entitle_repin)
{
    static const unsigned int c0[] = { 0 }, c1[] = { 1 }, c01[] = { 0, 1 };
    struct st_scenario t;
    struct sim_domain_spec *b;
    unsigned int w, i;

    st_init(&t, 2, 2000);
    pin(st_cpu(&t, "a", 256, 0), c0, 1);
    pin(b = st_cpu(&t, "b", 256, 0), c0, 1);
    pin(st_cpu(&t, "c", 256, 0), c01, 2);
    st_repin(&t, b, 1000, c1, 1);
    st_run(&t, "rr");
    for ( w = 0; w < 20; w++ )
        for ( i = 0; i < 3; i++ )
        {
            double want = w < 10 ? (i == 2 ? 1e8 : 5e7) : 2e8 / 3;

            ck_assert_msg(fabs((double)ent_win(&t, i, w) - want) <= 1,
                          "window %u domain %u: %lld", w, i,
                          (long long)ent_win(&t, i, w));
        }
    ck_assert_int_eq(t.r.domains[0].entitled_ns, 1166666667);
    ck_assert_int_eq(t.r.domains[1].entitled_ns, 1166666667);
    ck_assert_int_eq(t.r.domains[2].entitled_ns, 1666666667);
    st_done(&t);
}
END_TEST

/*
 * A weight set at run time counts from then on: two hogs of weight 256
 * on 1 pCPU; at 1000 ms a gets 768.  50 ms each per window, then 75 /
 * 25: totals 1250 and 750 ms of 2000 (old: the scenario's weights, 0.5
 * each).  A set that changes nothing is not recorded, and changes
 * nothing.
 */
START_TEST(test_entitle_weight_set)
{
    struct st_scenario t;
    unsigned int w;

    st_init(&t, 1, 2000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    st_start_ops(&t, sch_policy_find("credit"));
    sim_run_until(t.sim, SCH_MSEC(500));
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 1, 256, 0), 0);
    sim_run_until(t.sim, SCH_MSEC(1000));
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 768, 0), 0);
    sim_run_until(t.sim, t.sc.duration_ns);
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    for ( w = 0; w < 20; w++ )
    {
        ck_assert_int_eq(ent_win(&t, 0, w), SCH_MSEC(w < 10 ? 50 : 75));
        ck_assert_int_eq(ent_win(&t, 1, w), SCH_MSEC(w < 10 ? 50 : 25));
    }
    ck_assert(fabs(t.r.domains[0].entitled_share - 0.625) < EPS);
    st_done(&t);
}
END_TEST

/*
 * A mixed run against a step-by-step computation: the state of every
 * millisecond worked out from the scenario and solved alone with
 * sim_entitle_solve, summed into windows.  2 pCPUs, 3 s:
 *   A: bursty, 2 vCPUs, weight 512, on 130 ms / off 70 ms from 20 ms;
 *   B: cpu, on {0}, re-pinned to {1} at 1500 ms;
 *   C: io 30%, 3 vCPUs, cap 50, created at 400 ms, rebooted at 1700 ms,
 *      destroyed at 2600 ms;
 *   D: bursty, weight 128, on {1}, on 50 / off 250 from its creation,
 *      created at 100 ms and rebooted at 1234 ms (its phase restarts).
 */
struct mixed_state {
    bool a_on, c_alive, d_alive, d_on;
    bool b_on0;
};

static struct mixed_state mixed_at(unsigned int ms)
{
    struct mixed_state s;
    unsigned int d0 = ms < 1234 ? 100 : 1234;

    s.a_on = ms >= 20 && (ms - 20) % 200 < 130;
    s.b_on0 = ms < 1500;
    s.c_alive = ms >= 400 && ms < 2600;
    s.d_alive = ms >= 100;
    s.d_on = s.d_alive && (ms - d0) % 300 < 50;
    return s;
}

START_TEST(test_entitle_run_matches_stepwise)
{
    static const unsigned int c0[] = { 0 }, c1[] = { 1 };
    static sch_time_t c_reboot[] = { SCH_MSEC(1700) };
    static sch_time_t d_reboot[] = { SCH_MSEC(1234) };
    static double want[4 * 30];
    struct st_scenario t;
    struct sim_domain_spec *d;
    unsigned int ms, i, w;

    st_init(&t, 2, 3000);
    d = st_dom(&t, "A", 2, SIM_WL_BURSTY);
    d->weight = 512;
    d->workload.on_ns = SCH_MSEC(130);
    d->workload.off_ns = SCH_MSEC(70);
    d->workload.phase_set = true;
    d->workload.phase_ns = SCH_MSEC(20);
    d = st_cpu(&t, "B", 256, 0);
    pin(d, c0, 1);
    st_repin(&t, d, 1500, c1, 1);
    d = st_dom(&t, "C", 3, SIM_WL_IO);
    d->workload.run_ns = SCH_USEC(300);
    d->workload.block_ns = SCH_USEC(700);
    d->cap_pct = 50;
    d->start_ns = SCH_MSEC(400);
    d->reboot_ns = c_reboot;
    d->nr_reboots = 1;
    d->end = SIM_END_DESTROY;
    d->end_ns = SCH_MSEC(2600);
    d = st_dom(&t, "D", 1, SIM_WL_BURSTY);
    d->weight = 128;
    pin(d, c1, 1);
    d->workload.on_ns = SCH_MSEC(50);
    d->workload.off_ns = SCH_MSEC(250);
    d->workload.phase_set = true;
    d->workload.phase_ns = 0;
    d->start_ns = SCH_MSEC(100);
    d->reboot_ns = d_reboot;
    d->nr_reboots = 1;
    st_run(&t, "credit");

    memset(want, 0, sizeof(want));
    for ( ms = 0; ms < 3000; ms++ )
    {
        struct mixed_state s = mixed_at(ms);
        struct sim_ent_group g[4];
        double cap[4] = { 0, 0, 0.5, 0 }, rate[4];
        unsigned int ng = 0;

        memset(g, 0, sizeof(g));
        if ( s.a_on )
            g[ng++] = (struct sim_ent_group){ .dom = 0, .nr = 2,
                .weight = 512, .demand = 1, .affinity = t.doms[0].affinity };
        g[ng] = (struct sim_ent_group){ .dom = 1, .nr = 1, .weight = 256,
                                        .demand = 1 };
        sch_cpumask_set(&g[ng++].affinity, s.b_on0 ? 0 : 1);
        if ( s.c_alive )
            g[ng++] = (struct sim_ent_group){ .dom = 2, .nr = 3,
                .weight = 256, .demand = 0.3,
                .affinity = t.doms[2].affinity };
        if ( s.d_on )
            g[ng++] = (struct sim_ent_group){ .dom = 3, .nr = 1,
                .weight = 128, .demand = 1, .affinity = t.doms[3].affinity };
        ck_assert_int_eq(sim_entitle_solve(2, g, ng, cap, 4, rate), 0);
        for ( i = 0; i < ng; i++ )
            want[g[i].dom * 30 + ms / 100] += g[i].nr * rate[i] * 1e6;
    }
    for ( i = 0; i < 4; i++ )
        for ( w = 0; w < 30; w++ )
            ck_assert_msg(fabs((double)ent_win(&t, i, w) -
                               want[i * 30 + w]) <= 2,
                          "domain %u window %u: %lld, step by step %.1f",
                          i, w, (long long)ent_win(&t, i, w),
                          want[i * 30 + w]);
    st_done(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The span error                                                     */

/*
 * Spans are judged against the entitlement over that span: a domain due
 * 50 ms per window in the first second and nothing in the second (where
 * it is skipped), which used exactly that, is off by 0 (old: against its
 * run-wide share, 100% off in each span).  Used 60 ms a window in the
 * first second instead: 20% off.
 */
START_TEST(test_entitle_span_error)
{
    static struct sim_dom_result doms[1];
    static sch_time_t cpu[20], ent[20];
    struct sim_result r;
    unsigned int w;

    memset(&r, 0, sizeof(r));
    for ( w = 0; w < 20; w++ )
        cpu[w] = ent[w] = w < 10 ? SCH_MSEC(50) : 0;
    doms[0].entitled_ns = SCH_MSEC(500);
    doms[0].entitled_share = 0.25;
    r.pcpus = 1;
    r.sim_ns = SCH_MSEC(2000);
    r.nr_domains = 1;
    r.domains = doms;
    r.window_ns = SIM_WINDOW_NS;
    r.nr_windows = 20;
    r.window_cpu_ns = cpu;
    r.window_entitled_ns = ent;
    ck_assert(sim_worst_span_error(&r, 10) < EPS);
    for ( w = 0; w < 10; w++ )
        cpu[w] = SCH_MSEC(60);
    ck_assert(fabs(sim_worst_span_error(&r, 10) - 0.2) < EPS);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cross-check on random instances                                    */

static uint64_t xc_rng;

static unsigned int xc_below(unsigned int n)
{
    uint64_t z = (xc_rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (unsigned int)((z ^ (z >> 31)) % n);
}

#define XC_TOL  1e-7

/* pCPUs the groups in @set may use, on a host of @pcpus. */
static unsigned int xc_reach(const struct sim_ent_group *g, unsigned int set,
                             unsigned int pcpus)
{
    unsigned int i, cpu, n = 0;

    for ( cpu = 0; cpu < pcpus; cpu++ )
        for ( i = 0; set >> i; i++ )
            if ( (set >> i & 1) && sch_cpumask_test(&g[i].affinity, cpu) )
            {
                n++;
                break;
            }
    return n;
}

static double xc_sum(const struct sim_ent_group *g, const double *x,
                     unsigned int set)
{
    double s = 0;
    unsigned int i;

    for ( i = 0; set >> i; i++ )
        if ( set >> i & 1 )
            s += g[i].nr * x[i];
    return s;
}

/* Is @x/@w no more than @y/@v, give or take rounding? */
static bool xc_le(double x, double w, double y, double v)
{
    return x / w <= y / v * (1 + 1e-6) + 1e-12;
}

/*
 * Independent of the solver: every set of groups fits the pCPUs it may
 * use (Hall's condition, which by max-flow min-cut is what a flow of the
 * network needs), no domain exceeds its cap, no flow its demand; and every
 * flow below its demand is held by a saturated constraint (a tight set of
 * groups, or its domain's cap) in which no flow has a larger rate /
 * weight.  That is the bottleneck characterisation of the weighted
 * max-min fair allocation.  Returns NULL, or what is wrong.
 */
static const char *xc_problem(unsigned int pcpus,
                              const struct sim_ent_group *g, unsigned int ng,
                              const double *cap, unsigned int nd,
                              const double *x)
{
    static char why[256];
    unsigned int set, i, h, d, all = (1u << ng) - 1;

    for ( i = 0; i < ng; i++ )
    {
        double dem = g[i].demand < 1 ? g[i].demand : 1;

        if ( x[i] < -1e-12 || x[i] > dem + XC_TOL )
        {
            snprintf(why, sizeof(why), "group %u rate %.9f, demand %.9f",
                     i, x[i], dem);
            return why;
        }
    }
    for ( d = 0; d < nd; d++ )
    {
        double s = 0;

        for ( i = 0; i < ng; i++ )
            if ( g[i].dom == d )
                s += g[i].nr * x[i];
        if ( cap[d] && s > cap[d] + XC_TOL )
        {
            snprintf(why, sizeof(why), "domain %u uses %.9f, cap %.9f", d,
                     s, cap[d]);
            return why;
        }
    }
    for ( set = 1; set <= all; set++ )
        if ( xc_sum(g, x, set) > xc_reach(g, set, pcpus) + XC_TOL )
        {
            snprintf(why, sizeof(why), "groups %#x take %.9f of %u pCPUs",
                     set, xc_sum(g, x, set), xc_reach(g, set, pcpus));
            return why;
        }

    for ( i = 0; i < ng; i++ )
    {
        double dem = g[i].demand < 1 ? g[i].demand : 1, s = 0;
        unsigned int dom = g[i].dom;
        bool held = false;

        if ( x[i] >= dem - XC_TOL )
            continue;
        /* its domain at its cap, where it is as high as any */
        for ( h = 0; h < ng; h++ )
            if ( g[h].dom == dom )
                s += g[h].nr * x[h];
        if ( cap[dom] && s >= cap[dom] - XC_TOL )
        {
            held = true;
            for ( h = 0; h < ng; h++ )
                if ( g[h].dom == dom &&
                     !xc_le(x[h], g[h].weight, x[i], g[i].weight) )
                    held = false;
        }
        /* or a tight set of groups with it, where it is as high as any */
        for ( set = 1; !held && set <= all; set++ )
        {
            if ( !(set >> i & 1) ||
                 xc_sum(g, x, set) < xc_reach(g, set, pcpus) - XC_TOL )
                continue;
            held = true;
            for ( h = 0; h < ng; h++ )
                if ( (set >> h & 1) &&
                     !xc_le(x[h], g[h].weight, x[i], g[i].weight) )
                    held = false;
        }
        if ( !held )
        {
            snprintf(why, sizeof(why), "group %u (rate %.9f, weight %g, "
                     "demand %g) could have more", i, x[i], g[i].weight,
                     g[i].demand);
            return why;
        }
    }
    return NULL;
}

/*
 * 400 seeded instances: 1-4 pCPUs, 1-4 domains of 1-2 groups (groups of
 * one domain may differ in affinity), 1-3 vCPUs a group, weights from 1
 * to 4096, demands from 0 to over 1, caps or none; some with no
 * affinity (the water-filling path), most with random masks (the flow
 * path).  Each answer is checked by xc_check, and must not depend on the
 * order of the groups.
 */
START_TEST(test_entitle_random_crosscheck)
{
    static const double weights[] = { 1, 2, 3, 256, 257, 1000, 4096 };
    static const double demands[] = { 0, 0.1, 0.25, 1.0 / 3, 0.5, 0.75, 1,
                                      1.5 };
    unsigned int inst, flow_path = 0;

    xc_rng = 12345;
    for ( inst = 0; inst < 400; inst++ )
    {
        struct sim_ent_group g[8], rg[8];
        double cap[4], x[8], rx[8];
        unsigned int pcpus = 1 + xc_below(4), nd = 1 + xc_below(4);
        unsigned int ng = 0, d, i, cpu;
        bool free_all = xc_below(4) == 0;

        memset(g, 0, sizeof(g));
        for ( d = 0; d < nd; d++ )
        {
            unsigned int k, n = 1 + xc_below(2);

            cap[d] = xc_below(3) ? 0 : 0.1 * (1 + xc_below(30));
            for ( k = 0; k < n; k++, ng++ )
            {
                g[ng].dom = d;
                g[ng].nr = 1 + xc_below(3);
                g[ng].weight = weights[xc_below(7)];
                g[ng].demand = xc_below(4)
                    ? demands[xc_below(8)]
                    : (double)(1 + xc_below(999)) / 1000;
                for ( cpu = 0; cpu < pcpus; cpu++ )
                    if ( free_all || xc_below(2) )
                        sch_cpumask_set(&g[ng].affinity, cpu);
                if ( sch_cpumask_empty(&g[ng].affinity) )
                    sch_cpumask_set(&g[ng].affinity, xc_below(pcpus));
                if ( !free_all )
                    flow_path++;
            }
        }
        const char *why;

        ck_assert_int_eq(sim_entitle_solve(pcpus, g, ng, cap, nd, x), 0);
        why = xc_problem(pcpus, g, ng, cap, nd, x);
        ck_assert_msg(!why, "instance %u: %s", inst, why);

        /* the same groups backwards */
        for ( i = 0; i < ng; i++ )
            rg[i] = g[ng - 1 - i];
        ck_assert_int_eq(sim_entitle_solve(pcpus, rg, ng, cap, nd, rx), 0);
        for ( i = 0; i < ng; i++ )
            ck_assert_msg(fabs(rx[ng - 1 - i] - x[i]) < XC_TOL,
                          "#%u: group %u %.9f, reversed %.9f", inst, i,
                          x[i], rx[ng - 1 - i]);
    }
    ck_assert_uint_gt(flow_path, 500);
}
END_TEST

/*
 * The checker must refuse wrong answers, or the cross-check proves
 * nothing.  A 4-vCPU and a 1-vCPU domain of equal weight on 2 pCPUs: 0.4
 * pCPU per vCPU is right; the old per-domain split (0.25 per wide vCPU, 1
 * to the narrow one) and a feasible but unfair 0.375 / 0.5 are not; nor
 * is one that does not fit (0.5 / 0.5: 2.5 pCPUs).
 */
START_TEST(test_entitle_crosscheck_catches)
{
    struct sim_ent_group g[2];
    double cap[2] = { 0, 0 };
    double ok[2] = { 0.4, 0.4 }, old[2] = { 0.25, 1.0 };
    double unfair[2] = { 0.375, 0.5 }, over[2] = { 0.5, 0.5 };

    memset(g, 0, sizeof(g));
    g[0] = (struct sim_ent_group){ .dom = 0, .nr = 4, .weight = 256,
                                   .demand = 1 };
    g[1] = (struct sim_ent_group){ .dom = 1, .nr = 1, .weight = 256,
                                   .demand = 1 };
    sch_cpumask_set(&g[0].affinity, 0);
    sch_cpumask_set(&g[0].affinity, 1);
    g[1].affinity = g[0].affinity;
    ck_assert_ptr_null(xc_problem(2, g, 2, cap, 2, ok));
    ck_assert_ptr_nonnull(xc_problem(2, g, 2, cap, 2, old));
    ck_assert_ptr_nonnull(xc_problem(2, g, 2, cap, 2, unfair));
    ck_assert_ptr_nonnull(xc_problem(2, g, 2, cap, 2, over));
}
END_TEST

/* Bad input is refused, not solved. */
START_TEST(test_entitle_solve_einval)
{
    struct sim_ent_group g = { .dom = 0, .nr = 1, .weight = 256,
                               .demand = 1 };
    double cap = 0, neg = -1, x;

    sch_cpumask_set(&g.affinity, 0);
    ck_assert_int_eq(sim_entitle_solve(0, &g, 1, &cap, 1, &x), -EINVAL);
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &neg, 1, &x), -EINVAL);
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 0, &x), -EINVAL);
    g.weight = 0;
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 1, &x), -EINVAL);
    g.weight = 256;
    g.demand = NAN;
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 1, &x), -EINVAL);
    g.demand = 1;
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 1, &x), 0);
    ck_assert(fabs(x - 1) < EPS);
}
END_TEST

static Suite *entitle_suite(void)
{
    Suite *s = suite_create("entitle");
    TCase *tc = tcase_create("entitle");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_entitle_classic);
    tcase_add_test(tc, test_entitle_affinity_overlap);
    tcase_add_test(tc, test_entitle_io_many_vcpus);
    tcase_add_test(tc, test_entitle_capped_multi_vcpu);
    tcase_add_test(tc, test_entitle_io_under_share);
    tcase_add_test(tc, test_entitle_bursty_phases);
    tcase_add_test(tc, test_entitle_bursty_short_cycle);
    tcase_add_test(tc, test_entitle_request_as_drawn);
    tcase_add_test(tc, test_entitle_lifecycle);
    tcase_add_test(tc, test_entitle_repin);
    tcase_add_test(tc, test_entitle_weight_set);
    tcase_add_test(tc, test_entitle_run_matches_stepwise);
    tcase_add_test(tc, test_entitle_span_error);
    tcase_add_test(tc, test_entitle_random_crosscheck);
    tcase_add_test(tc, test_entitle_crosscheck_catches);
    tcase_add_test(tc, test_entitle_solve_einval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(entitle_suite());
}
