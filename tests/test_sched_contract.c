/*
 * test_sched_contract.c: what every policy in the registry must do, run
 * once per policy (tcase_add_loop_test over sch_policies[]).  The simulator
 * itself asserts on every decision that the chosen unit is runnable, on
 * the deciding pCPU's runqueue, within hard affinity and not running
 * elsewhere; these tests add outcomes: no pCPU idles while work waits, no
 * unit starves, affinity holds, runs repeat exactly, controls validate.
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

    p = (struct sch_global_params){ .cmd = SCH_PARAM_PUT, .tslice_us = 5000,
        .ratelimit_us = SCH_PARAM_UNCHANGED, .period_us = SCH_PARAM_UNCHANGED,
        .boost = 1, .latency_us = SCH_PARAM_UNCHANGED };
    ck_assert_int_eq(ops->adjust_global(s, &p), 0);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_GET };
    ck_assert_int_eq(ops->adjust_global(s, &p), 0);
    ck_assert_uint_eq(p.tslice_us, 5000);
    p = (struct sch_global_params){ .cmd = SCH_PARAM_PUT, .tslice_us = 0,
        .ratelimit_us = SCH_PARAM_UNCHANGED, .period_us = SCH_PARAM_UNCHANGED,
        .boost = 1, .latency_us = SCH_PARAM_UNCHANGED };
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(contract_suite());
}
