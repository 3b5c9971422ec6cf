/*
 * test_sched_contract.c: what every policy in the registry must do, run
 * once per policy (tcase_add_loop_test over sch_policies[]).  The simulator
 * itself asserts on every decision that the chosen unit is runnable, on
 * the deciding pCPU's runqueue, within hard affinity and not running
 * elsewhere; these tests add outcomes: no pCPU idles while work waits, no
 * unit starves, affinity holds, runs repeat exactly, controls validate.
 *
 * Re-pins (xl vcpu-pin at run time) drive the one path on which the host
 * calls pick_resource and migrate: a vCPU whose pCPU is no longer allowed
 * is put to sleep, switched out, moved and woken, as Xen moves it.
 */
#include "simtest.h"

static unsigned int nr_policies(void)
{
    unsigned int n = 0;

    while ( sch_policies[n] )
        n++;
    return n;
}

static const char *policy(int i)
{
    return sch_policies[i]->opt_name;
}

/* 3 cpu domains on 2 pCPUs: both pCPUs busy all the time. */
START_TEST(test_contract_work_conserving)
{
    struct st_scenario t;
    double total = 0;
    unsigned int d;

    st_init(&t, 2, 2000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    st_cpu(&t, "c", 256, 0);
    st_run(&t, policy(_i));
    for ( d = 0; d < 3; d++ )
        total += st_share(&t, d);
    ck_assert_msg(total > 0.999, "%s: host busy %.4f", policy(_i), total);
    st_done(&t);
}
END_TEST

/* 8 single-vCPU hogs on 4 pCPUs: each gets its eighth of the host. */
START_TEST(test_contract_no_starvation)
{
    struct st_scenario t;
    unsigned int d;

    st_init(&t, 4, 3000);
    for ( d = 0; d < 8; d++ )
        st_cpu(&t, "hog", 256, 0);
    st_run(&t, policy(_i));
    for ( d = 0; d < 8; d++ )
        ck_assert_msg(st_share(&t, d) > 0.125 * 0.8 &&
                      st_share(&t, d) < 0.125 * 1.2,
                      "%s: hog %u got %.4f", policy(_i), d,
                      st_share(&t, d));
    st_done(&t);
}
END_TEST

/* Two hogs pinned to pCPU 1 and one free: the free one gets pCPU 0. */
START_TEST(test_contract_hard_affinity)
{
    struct st_scenario t;
    struct sim_domain_spec *a, *b;

    st_init(&t, 2, 2000);
    a = st_cpu(&t, "pinned-a", 256, 0);
    b = st_cpu(&t, "pinned-b", 256, 0);
    st_cpu(&t, "free", 256, 0);
    sch_cpumask_clear(&a->affinity, 0);
    sch_cpumask_clear(&b->affinity, 0);
    st_run(&t, policy(_i));
    ck_assert_msg(st_share(&t, 0) + st_share(&t, 1) <= 0.5 + 1e-9,
                  "%s: pinned pair used %.4f of the host", policy(_i),
                  st_share(&t, 0) + st_share(&t, 1));
    ck_assert_msg(st_share(&t, 2) > 0.45, "%s: free hog got %.4f",
                  policy(_i), st_share(&t, 2));
    st_done(&t);
}
END_TEST

/* I/O domains that fit the host get all they ask for. */
START_TEST(test_contract_undersubscribed_io)
{
    struct st_scenario t;
    unsigned int d;

    st_init(&t, 2, 2000);
    for ( d = 0; d < 4; d++ )
        st_io(&t, "io", 200, 800);
    st_run(&t, policy(_i));
    for ( d = 0; d < 4; d++ )
        ck_assert_msg(st_share(&t, d) > 0.1 * 0.9,
                      "%s: io %u got %.4f of 0.1", policy(_i), d,
                      st_share(&t, d));
    st_done(&t);
}
END_TEST

static void mixed(struct st_scenario *t, uint64_t seed)
{
    struct sim_domain_spec *d;

    st_init(t, 3, 1000);
    t->sc.seed = seed;
    st_cpu(t, "cpu", 512, 0);
    st_io(t, "io", 150, 350);
    d = st_dom(t, "burst", 2, SIM_WL_BURSTY);
    d->workload.on_ns = SCH_MSEC(7);
    d->workload.off_ns = SCH_MSEC(13);
    d = st_dom(t, "req", 2, SIM_WL_REQUEST);
    d->workload.rate_hz = 900;
    d->workload.service_ns = SCH_USEC(400);
}

/* Same scenario and seed: the same events and the same nanoseconds. */
START_TEST(test_contract_deterministic)
{
    struct st_scenario a, b;
    unsigned int d;

    mixed(&a, 7);
    mixed(&b, 7);
    st_run(&a, policy(_i));
    st_run(&b, policy(_i));
    ck_assert_uint_eq(a.r.events, b.r.events);
    for ( d = 0; d < a.sc.nr_domains; d++ )
    {
        ck_assert_int_eq(a.r.domains[d].cpu_ns, b.r.domains[d].cpu_ns);
        ck_assert_int_eq(a.r.domains[d].wake_latency.p99,
                         b.r.domains[d].wake_latency.p99);
        ck_assert_uint_eq(a.r.domains[d].context_switches,
                          b.r.domains[d].context_switches);
    }
    st_done(&a);
    st_done(&b);
}
END_TEST

/* Another seed is another run (the seed really reaches the workloads). */
START_TEST(test_contract_seed_matters)
{
    struct st_scenario a, b;

    mixed(&a, 7);
    mixed(&b, 8);
    st_run(&a, policy(_i));
    st_run(&b, policy(_i));
    ck_assert(a.r.events != b.r.events ||
              a.r.domains[3].cpu_ns != b.r.domains[3].cpu_ns);
    st_done(&a);
    st_done(&b);
}
END_TEST

/* Weight and cap: PUT what GET then returns; out of range changes nothing. */
START_TEST(test_contract_adjust_validates)
{
    struct st_scenario t;
    const struct sch_ops *ops = sch_policies[_i];
    struct sch_sched *s;
    struct sch_domain *d;
    struct sch_dom_params p;

    if ( !ops->adjust )
        return;     /* rr: weight and cap are not its business */
    st_init(&t, 2, 10);
    st_cpu(&t, "a", 256, 0);
    st_run(&t, policy(_i));
    s = sim_sched(t.sim);
    d = sim_domain(t.sim, 0);

    p = (struct sch_dom_params){ SCH_PARAM_PUT, 1000, 40 };
    ck_assert_int_eq(ops->adjust(s, d, &p, sim_now(t.sim)), 0);
    p = (struct sch_dom_params){ SCH_PARAM_PUT, 0, SCH_PARAM_UNCHANGED };
    ck_assert_int_eq(ops->adjust(s, d, &p, sim_now(t.sim)), -SCH_EINVAL);
    p = (struct sch_dom_params){ SCH_PARAM_PUT, 65536, SCH_PARAM_UNCHANGED };
    ck_assert_int_eq(ops->adjust(s, d, &p, sim_now(t.sim)), -SCH_EINVAL);
    p = (struct sch_dom_params){ SCH_PARAM_PUT, SCH_PARAM_UNCHANGED, 201 };
    ck_assert_int_eq(ops->adjust(s, d, &p, sim_now(t.sim)), -SCH_EINVAL);
    p = (struct sch_dom_params){ SCH_PARAM_GET, 0, 0 };
    ck_assert_int_eq(ops->adjust(s, d, &p, sim_now(t.sim)), 0);
    ck_assert_uint_eq(p.weight, 1000);
    ck_assert_uint_eq(p.cap_pct, 40);
    st_done(&t);
}
END_TEST

/* Tunables: a GET after a PUT returns it; nonsense is refused. */
START_TEST(test_contract_adjust_global)
{
    struct st_scenario t;
    const struct sch_ops *ops = sch_policies[_i];
    struct sch_global_params p;
    struct sch_sched *s;

    if ( !ops->adjust_global )
        return;
    st_init(&t, 1, 10);
    st_cpu(&t, "a", 256, 0);
    st_run(&t, policy(_i));
    s = sim_sched(t.sim);

    /* A policy without a time slice (credit2) reads it as 0: its
     * ratelimit then stands for its tunables. */
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(ops->adjust_global(s, &p), 0);
    if ( !p.tslice_us )
    {
        p = SCH_GLOBAL_PARAMS_KEEP;
        p.ratelimit_us = 5000;
        ck_assert_int_eq(ops->adjust_global(s, &p), 0);
        p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
        ck_assert_int_eq(ops->adjust_global(s, &p), 0);
        ck_assert_uint_eq(p.ratelimit_us, 5000);
        p = SCH_GLOBAL_PARAMS_KEEP;
        p.ratelimit_us = SCH_PARAM_UNCHANGED - 1;
        ck_assert_int_eq(ops->adjust_global(s, &p), -SCH_EINVAL);
        p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
        ck_assert_int_eq(ops->adjust_global(s, &p), 0);
        ck_assert_uint_eq(p.ratelimit_us, 5000);
        st_done(&t);
        return;
    }

    p = SCH_GLOBAL_PARAMS_KEEP;
    p.tslice_us = 5000;
    p.boost = 1;
    ck_assert_int_eq(ops->adjust_global(s, &p), 0);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.tslice_us, 5000);
    p = SCH_GLOBAL_PARAMS_KEEP;
    p.tslice_us = 0;
    p.boost = 1;
    ck_assert_int_eq(ops->adjust_global(s, &p), -SCH_EINVAL);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.tslice_us, 5000);
    st_done(&t);
}
END_TEST

/* Nothing runnable: every pCPU idles, and a run costs few events. */
START_TEST(test_contract_idle_host)
{
    struct st_scenario t;

    st_init(&t, 4, 5000);
    st_io(&t, "sleepy", 10, 1000000);
    st_run(&t, policy(_i));
    ck_assert(st_share(&t, 0) < 0.0001);
    ck_assert_msg(t.r.events < 5000, "%s: %llu events on an idle host",
                  policy(_i), (unsigned long long)t.r.events);
    st_done(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Re-pinning                                                         */

static const unsigned int cpu0[] = { 0 }, cpu1[] = { 1 }, cpu12[] = { 1, 2 };

/* Pin @d to pCPU @cpu alone. */
static void pin_to(struct sim_domain_spec *d, unsigned int cpu)
{
    sch_cpumask_clear_all(&d->affinity);
    sch_cpumask_set(&d->affinity, cpu);
}

/* CPU time of domain @d in window @w, in ns. */
static sch_time_t win_ns(const struct st_scenario *t, unsigned int d,
                         unsigned int w)
{
    return t->r.window_cpu_ns[(size_t)d * t->r.nr_windows + w];
}

/* Every domain's vCPU times add up to its total, and its ground truth is
 * what the report says: nothing charged twice or lost in a move. */
static void check_accounts(struct st_scenario *t, const char *pol)
{
    unsigned int d, j;

    for ( d = 0; d < t->sc.nr_domains; d++ )
    {
        struct sim_dom_info info;
        struct sim_dom_truth tr;
        uint64_t sum = 0;

        ck_assert_int_eq(sim_dom_info(t->sim, d, &info), 0);
        ck_assert_int_eq(sim_dom_truth(t->sim, d, &tr), 0);
        for ( j = 0; j < info.nr_vcpus; j++ )
            sum += info.vcpu_ns[j];
        ck_assert_msg(sum == info.cpu_ns, "%s: domain %u: vCPUs %llu, "
                      "domain %llu", pol, d, (unsigned long long)sum,
                      (unsigned long long)info.cpu_ns);
        ck_assert_int_eq((sch_time_t)tr.cpu_ns, t->r.domains[d].cpu_ns);
    }
}

/*
 * Two hogs pinned to pCPU 0 of two; at 1 s one is re-pinned to pCPU 1.
 * Before, they share pCPU 0; from the re-pin on, each has a pCPU of its
 * own, every nanosecond of it (the move leaves no gap), and the total is
 * exactly the busy pCPU time: 1 s + 2 x 2 s.
 */
START_TEST(test_contract_repin_moves)
{
    struct st_scenario t;
    struct sim_domain_spec *a, *b;
    unsigned int w;

    st_init(&t, 2, 3000);
    a = st_cpu(&t, "a", 256, 0);
    b = st_cpu(&t, "b", 256, 0);
    pin_to(a, 0);
    pin_to(b, 0);
    st_repin(&t, b, 1000, cpu1, 1);
    st_run(&t, policy(_i));

    ck_assert_msg(st_window_share(&t, 0, 0, 10) > 0.25 * 0.9 &&
                  st_window_share(&t, 1, 0, 10) > 0.25 * 0.9,
                  "%s: before the re-pin a %.4f b %.4f of the host, "
                  "want 0.25 each", policy(_i), st_window_share(&t, 0, 0, 10),
                  st_window_share(&t, 1, 0, 10));
    for ( w = 10; w < 30; w++ )
        ck_assert_msg(win_ns(&t, 0, w) == SIM_WINDOW_NS &&
                      win_ns(&t, 1, w) == SIM_WINDOW_NS,
                      "%s: window %u: a %lld b %lld ns, want all of it",
                      policy(_i), w, (long long)win_ns(&t, 0, w),
                      (long long)win_ns(&t, 1, w));
    ck_assert_int_eq(t.r.domains[0].cpu_ns + t.r.domains[1].cpu_ns,
                     SCH_MSEC(1000) + 2 * SCH_MSEC(2000));
    check_accounts(&t, policy(_i));
    st_done(&t);
}
END_TEST

/*
 * Three pCPUs: a two-vCPU hog x may use them all, hog y is pinned to
 * pCPU 0 and hog z to pCPU 2.  At 0.5 s x is re-pinned to pCPUs 1-2:
 * from then on y has pCPU 0 to itself, every nanosecond, so no vCPU of x
 * ever ran there again, and x and z keep pCPUs 1-2 busy.  At 1.5 s x is
 * squeezed onto pCPU 1 (a vCPU on pCPU 2 must move, one on 1 stays): x
 * then has exactly pCPU 1 and z exactly pCPU 2.
 */
START_TEST(test_contract_repin_never_back)
{
    struct st_scenario t;
    struct sim_domain_spec *x;
    unsigned int w;

    st_init(&t, 3, 2500);
    x = st_dom(&t, "x", 2, SIM_WL_CPU);
    pin_to(st_cpu(&t, "y", 256, 0), 0);
    pin_to(st_cpu(&t, "z", 256, 0), 2);
    st_repin(&t, x, 500, cpu12, 2);
    st_repin(&t, x, 1500, cpu1, 1);
    st_run(&t, policy(_i));

    for ( w = 5; w < 25; w++ )
        ck_assert_msg(win_ns(&t, 1, w) == SIM_WINDOW_NS,
                      "%s: window %u: y got %lld ns of pCPU 0",
                      policy(_i), w, (long long)win_ns(&t, 1, w));
    for ( w = 5; w < 15; w++ )
        ck_assert_msg(win_ns(&t, 0, w) + win_ns(&t, 2, w) ==
                      2 * SIM_WINDOW_NS,
                      "%s: window %u: x %lld z %lld ns of pCPUs 1-2",
                      policy(_i), w, (long long)win_ns(&t, 0, w),
                      (long long)win_ns(&t, 2, w));
    for ( w = 15; w < 25; w++ )
        ck_assert_msg(win_ns(&t, 0, w) == SIM_WINDOW_NS &&
                      win_ns(&t, 2, w) == SIM_WINDOW_NS,
                      "%s: window %u: x %lld ns of pCPU 1, z %lld of 2",
                      policy(_i), w, (long long)win_ns(&t, 0, w),
                      (long long)win_ns(&t, 2, w));
    check_accounts(&t, policy(_i));
    st_done(&t);
}
END_TEST

/*
 * Every kind of workload re-pinned every 60 ms, round {0}, {1}, {0, 1}:
 * vCPUs caught running, queued, blocked and parked by a cap.  The engine
 * checks every decision; here nothing may starve, the accounts must add
 * up, and the run must repeat exactly, in one go or in steps.
 */
static void churn(struct st_scenario *t)
{
    static const unsigned int both[] = { 0, 1 };
    struct sim_domain_spec *d[5];
    unsigned int i, k;

    st_init(t, 2, 2000);
    d[0] = st_cpu(t, "hog", 256, 0);
    d[1] = st_cpu(t, "capped", 256, 30);
    d[2] = st_dom(t, "io", 2, SIM_WL_IO);
    d[2]->workload.run_ns = SCH_USEC(300);
    d[2]->workload.block_ns = SCH_USEC(700);
    d[3] = st_dom(t, "burst", 1, SIM_WL_BURSTY);
    d[3]->workload.on_ns = SCH_MSEC(7);
    d[3]->workload.off_ns = SCH_MSEC(11);
    d[4] = st_dom(t, "req", 1, SIM_WL_REQUEST);
    d[4]->workload.rate_hz = 500;
    d[4]->workload.service_ns = SCH_USEC(400);
    /* Staggered, so the domains move at different moments. */
    for ( i = 0; i < 5; i++ )
        for ( k = 0; k < ST_MAX_REPINS; k++ )
        {
            unsigned int at = 60 * (k + 1) + 7 * i, r = (k + i) % 3;

            st_repin(t, d[i], at, r == 2 ? both : r ? cpu1 : cpu0,
                     r == 2 ? 2 : 1);
        }
}

START_TEST(test_contract_repin_churn)
{
    struct st_scenario a, b;
    unsigned int d;
    sch_time_t step;

    churn(&a);
    st_run(&a, policy(_i));
    for ( d = 0; d < a.sc.nr_domains; d++ )
        ck_assert_msg(st_share(&a, d) > 0.02, "%s: %s got %.4f",
                      policy(_i), a.r.domains[d].name, st_share(&a, d));
    check_accounts(&a, policy(_i));

    churn(&b);
    st_start_ops(&b, sch_policies[_i]);
    for ( step = SCH_MSEC(7); step < b.sc.duration_ns; step += SCH_MSEC(7) )
        sim_run_until(b.sim, step);
    sim_run_until(b.sim, b.sc.duration_ns);
    ck_assert_int_eq(sim_result(b.sim, &b.r), 0);
    ck_assert_uint_eq(a.r.events, b.r.events);
    for ( d = 0; d < a.sc.nr_domains; d++ )
    {
        ck_assert_int_eq(a.r.domains[d].cpu_ns, b.r.domains[d].cpu_ns);
        ck_assert_uint_eq(a.r.domains[d].context_switches,
                          b.r.domains[d].context_switches);
    }
    st_done(&a);
    st_done(&b);
}
END_TEST

/*
 * A re-pin is kept for the uuid, as weight and cap are: one that comes
 * before the domain exists decides where it is created, and a reboot
 * keeps the affinity last set.  Two hogs; "late" is created at 0.5 s and
 * rebooted at 1 s, re-pinned to pCPU 1 before either: it never shares
 * pCPU 0 with "early".
 */
START_TEST(test_contract_repin_kept_for_uuid)
{
    static sch_time_t reboot[] = { SCH_MSEC(1000) };
    struct st_scenario t;
    struct sim_domain_spec *e, *l;
    unsigned int w;

    st_init(&t, 2, 1500);
    e = st_cpu(&t, "early", 256, 0);
    sch_cpumask_clear(&e->affinity, 1);
    l = st_cpu(&t, "late", 256, 0);
    l->start_ns = SCH_MSEC(500);
    l->reboot_ns = reboot;
    l->nr_reboots = 1;
    st_repin(&t, l, 100, cpu1, 1);
    st_run(&t, policy(_i));
    for ( w = 0; w < 15; w++ )
        ck_assert_msg(win_ns(&t, 0, w) == SIM_WINDOW_NS,
                      "%s: window %u: early got %lld ns of pCPU 0",
                      policy(_i), w, (long long)win_ns(&t, 0, w));
    for ( w = 5; w < 15; w++ )
        ck_assert_msg(win_ns(&t, 1, w) == SIM_WINDOW_NS,
                      "%s: window %u: late got %lld ns of pCPU 1",
                      policy(_i), w, (long long)win_ns(&t, 1, w));
    st_done(&t);
}
END_TEST

/*
 * fcredit keeps a virtual time (frame) per affinity class; a unit whose
 * class changes keeps its lag behind the frame it left as its lag behind
 * the new one.  "mover" runs alone on pCPU 0 for 1 s while pCPU 1 idles
 * until "hog" arrives there at 0.9 s, so pCPU 1's vtimes are 0.9 s behind
 * mover's.  Re-pinned to pCPU 1 at 1 s, mover must get its half of pCPU 1
 * at once (and leave hog its half); were its vtime kept as it was, mover
 * would wait some 0.9 s for hog to catch up (the frames were per pCPU
 * then, and the figure was measured: 0 ns of the first 30 ms).
 */
static void mover_and_hog(struct st_scenario *t)
{
    struct sim_domain_spec *m, *h;

    st_init(t, 2, 1500);
    m = st_cpu(t, "mover", 256, 0);
    sch_cpumask_clear(&m->affinity, 1);
    h = st_cpu(t, "hog", 256, 0);
    sch_cpumask_clear(&h->affinity, 0);
    h->start_ns = SCH_MSEC(900);
    st_repin(t, m, 1000, cpu1, 1);
}

/* CPU time of domains 0 and 1 over [@from_ms, @to_ms), stepping there. */
static void run_span(struct st_scenario *t, unsigned int from_ms,
                     unsigned int to_ms, uint64_t got[2])
{
    struct sim_dom_info info;
    uint64_t before[2];
    unsigned int d;

    sim_run_until(t->sim, SCH_MSEC(from_ms));
    for ( d = 0; d < 2; d++ )
    {
        ck_assert_int_eq(sim_dom_info(t->sim, d, &info), 0);
        before[d] = info.cpu_ns;
    }
    sim_run_until(t->sim, SCH_MSEC(to_ms));
    for ( d = 0; d < 2; d++ )
    {
        ck_assert_int_eq(sim_dom_info(t->sim, d, &info), 0);
        got[d] = info.cpu_ns - before[d];
    }
}

START_TEST(test_fcredit_repin_rebases_vtime)
{
    struct st_scenario t;
    uint64_t got[2];

    mover_and_hog(&t);
    st_start_ops(&t, &sch_ops_fcredit);
    /* 30 ms: three of fcredit's time slices, sixty of its granularity */
    run_span(&t, 1000, 1030, got);
    ck_assert_msg(got[0] >= SCH_MSEC(12) && got[1] >= SCH_MSEC(12),
                  "first 30 ms on pCPU 1: mover %llu hog %llu ns",
                  (unsigned long long)got[0], (unsigned long long)got[1]);
    run_span(&t, 1030, 1500, got);
    ck_assert_msg(got[0] >= SCH_MSEC(220) && got[1] >= SCH_MSEC(220),
                  "then: mover %llu hog %llu ns of 470 ms",
                  (unsigned long long)got[0], (unsigned long long)got[1]);
    st_done(&t);
}
END_TEST

/*
 * The other way round: "mover" shares pCPU 0 with three units pinned there
 * (a quarter each) while "hog" runs alone on pCPU 1, so by 1 s mover's
 * vtime is some 0.75 s behind hog's.  Re-pinned to pCPU 1, mover must
 * share it at once, not take it all until its vtime catches up: its lag
 * behind the frame it left (none) is its lag behind pCPU 1's.
 */
START_TEST(test_fcredit_repin_behind_does_not_starve)
{
    struct sim_domain_spec *m, *h, *p;
    struct st_scenario t;
    uint64_t got[2];
    unsigned int i;

    st_init(&t, 2, 1500);
    m = st_cpu(&t, "mover", 256, 0);
    sch_cpumask_clear(&m->affinity, 1);
    h = st_cpu(&t, "hog", 256, 0);
    sch_cpumask_clear(&h->affinity, 0);
    for ( i = 0; i < 3; i++ )
    {
        p = st_cpu(&t, i == 0 ? "p0" : i == 1 ? "p1" : "p2", 256, 0);
        sch_cpumask_clear(&p->affinity, 1);
    }
    st_repin(&t, m, 1000, cpu1, 1);
    st_start_ops(&t, &sch_ops_fcredit);
    run_span(&t, 1000, 1030, got);
    ck_assert_msg(got[0] >= SCH_MSEC(12) && got[1] >= SCH_MSEC(12),
                  "first 30 ms on pCPU 1: mover %llu hog %llu ns",
                  (unsigned long long)got[0], (unsigned long long)got[1]);
    st_done(&t);
}
END_TEST

static Suite *contract_suite(void)
{
    Suite *s = suite_create("sched_contract");
    TCase *tc = tcase_create("every_policy");
    unsigned int n = nr_policies();

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_contract_work_conserving, 0, n);
    tcase_add_loop_test(tc, test_contract_no_starvation, 0, n);
    tcase_add_loop_test(tc, test_contract_hard_affinity, 0, n);
    tcase_add_loop_test(tc, test_contract_undersubscribed_io, 0, n);
    tcase_add_loop_test(tc, test_contract_deterministic, 0, n);
    tcase_add_loop_test(tc, test_contract_seed_matters, 0, n);
    tcase_add_loop_test(tc, test_contract_adjust_validates, 0, n);
    tcase_add_loop_test(tc, test_contract_adjust_global, 0, n);
    tcase_add_loop_test(tc, test_contract_idle_host, 0, n);
    tcase_add_loop_test(tc, test_contract_repin_moves, 0, n);
    tcase_add_loop_test(tc, test_contract_repin_never_back, 0, n);
    tcase_add_loop_test(tc, test_contract_repin_churn, 0, n);
    tcase_add_loop_test(tc, test_contract_repin_kept_for_uuid, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("fcredit_repin");
    tcase_add_test(tc, test_fcredit_repin_rebases_vtime);
    tcase_add_test(tc, test_fcredit_repin_behind_does_not_starve);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(contract_suite());
}
