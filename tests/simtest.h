/*
 * simtest.h: scenarios built in C for the Check suites, so each test states
 * its whole set-up in a few lines.  Header-only; every test file is its own
 * program.
 */
#ifndef XENOS_SIMTEST_H
#define XENOS_SIMTEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/sim.h>

#define ST_MAX_DOMS 64
#define ST_MAX_REPINS 32        /* per domain */

struct st_scenario {
    struct sim_scenario sc;
    bool loaded;                /* sc came from a file: free it */
    struct sim_domain_spec doms[ST_MAX_DOMS];
    struct sim_repin repins[ST_MAX_DOMS][ST_MAX_REPINS];
    struct sim_result r;
    struct sim *sim;
};

/* A host of @pcpus running for @duration_ms, seed 1, no domains yet. */
static inline void st_init(struct st_scenario *t, unsigned int pcpus,
                           unsigned int duration_ms)
{
    memset(t, 0, sizeof(*t));
    t->sc.path = "test";
    t->sc.pcpus = pcpus;
    t->sc.duration_ns = SCH_MSEC(duration_ms);
    t->sc.seed = 1;
    t->sc.sched = SCH_GLOBAL_PARAMS_KEEP;
    t->sc.domains = t->doms;
}

/* Add a domain with default weight, no cap, all pCPUs; returns it. */
static inline struct sim_domain_spec *st_dom(struct st_scenario *t,
                                             const char *name,
                                             unsigned int vcpus,
                                             enum sim_workload_type type)
{
    struct sim_domain_spec *d = &t->doms[t->sc.nr_domains++];
    unsigned int cpu;

    ck_assert_uint_le(t->sc.nr_domains, ST_MAX_DOMS);
    d->name = (char *)name;
    d->vcpus = vcpus;
    d->weight = SCH_WEIGHT_DEFAULT;
    d->workload.type = type;
    for ( cpu = 0; cpu < t->sc.pcpus; cpu++ )
        sch_cpumask_set(&d->affinity, cpu);
    return d;
}

static inline struct sim_domain_spec *st_cpu(struct st_scenario *t,
                                             const char *name,
                                             unsigned int weight,
                                             unsigned int cap_pct)
{
    struct sim_domain_spec *d = st_dom(t, name, 1, SIM_WL_CPU);

    d->weight = weight;
    d->cap_pct = cap_pct;
    return d;
}

static inline struct sim_domain_spec *st_io(struct st_scenario *t,
                                            const char *name,
                                            unsigned int run_us,
                                            unsigned int block_us)
{
    struct sim_domain_spec *d = st_dom(t, name, 1, SIM_WL_IO);

    d->workload.run_ns = SCH_USEC(run_us);
    d->workload.block_ns = SCH_USEC(block_us);
    return d;
}

/* Re-pin every vCPU of @d (a domain of @t) at @at_ms to the @n pCPUs in
 * @cpus; call in time order. */
static inline void st_repin(struct st_scenario *t, struct sim_domain_spec *d,
                            unsigned int at_ms, const unsigned int *cpus,
                            unsigned int n)
{
    struct sim_repin *p;
    unsigned int i;

    ck_assert_uint_lt(d->nr_repins, ST_MAX_REPINS);
    d->repin = t->repins[d - t->doms];
    p = &d->repin[d->nr_repins++];
    p->at_ns = SCH_MSEC(at_ms);
    sch_cpumask_clear_all(&p->affinity);
    for ( i = 0; i < n; i++ )
        sch_cpumask_set(&p->affinity, cpus[i]);
}

/* Set up @t's sim under @ops without running it. */
static inline void st_start_ops(struct st_scenario *t,
                                const struct sch_ops *ops)
{
    char err[256] = "";

    t->sim = sim_alloc(&t->sc, ops, err, sizeof(err));
    ck_assert_msg(t->sim != NULL, "sim_alloc: %s", err);
}

/* Run the whole scenario under @ops; results in t->r. */
static inline void st_run_ops(struct st_scenario *t,
                              const struct sch_ops *ops)
{
    st_start_ops(t, ops);
    sim_run_until(t->sim, t->sc.duration_ns);
    ck_assert_int_eq(sim_result(t->sim, &t->r), 0);
}

/* Run the whole scenario under @policy; results in t->r. */
static inline void st_run(struct st_scenario *t, const char *policy)
{
    const struct sch_ops *ops = sch_policy_find(policy);

    ck_assert_msg(ops != NULL, "no policy %s", policy);
    st_run_ops(t, ops);
}

/* Load sched/sim/scenarios/@name instead of building one. */
static inline void st_load(struct st_scenario *t, const char *name)
{
    char path[512], err[512] = "";

    memset(t, 0, sizeof(*t));
    snprintf(path, sizeof(path), "%s/sched/sim/scenarios/%s",
             XENOS_SOURCE_DIR, name);
    ck_assert_msg(sim_scenario_load(path, &t->sc, err, sizeof(err)) == 0,
                  "%s", err);
    t->loaded = true;
}

static inline void st_done(struct st_scenario *t)
{
    sim_free(t->sim);
    t->sim = NULL;
    if ( t->loaded )
        sim_scenario_free(&t->sc);
    t->loaded = false;
}

static inline double st_share(const struct st_scenario *t, unsigned int d)
{
    return t->r.domains[d].share;
}

/* Share of domain @d over windows [w0, w1) of the run. */
static inline double st_window_share(const struct st_scenario *t,
                                     unsigned int d, unsigned int w0,
                                     unsigned int w1)
{
    sch_time_t sum = 0;
    unsigned int w;

    for ( w = w0; w < w1; w++ )
        sum += t->r.window_cpu_ns[(size_t)d * t->r.nr_windows + w];
    return (double)sum / ((double)(w1 - w0) * (double)t->r.window_ns *
                          t->sc.pcpus);
}

/* Run a Check suite; the process exits non-zero if any test failed. */
static inline int st_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* XENOS_SIMTEST_H */
