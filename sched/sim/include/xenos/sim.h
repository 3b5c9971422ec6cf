/*
 * sim.h: the discrete-event simulator that hosts sched/ policies.
 *
 * A scenario (YAML, sim_scenario_load) describes pCPUs, domains, their vCPUs
 * and workloads.  sim_alloc() builds a simulated host running one policy;
 * sim_run_until() advances it; sim_result() reports what each domain got.
 * Events are ordered by (time, sequence number), so equal-time events run in
 * the order they were queued and a run is a pure function of its scenario,
 * policy and seed.
 */
#ifndef XENOS_SIM_H
#define XENOS_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xenos/sched.h>

/* ------------------------------------------------------------------ */
/* Scenarios                                                          */

enum sim_workload_type {
    SIM_WL_CPU,         /* always runnable */
    SIM_WL_IO,          /* run run_ns of CPU, block block_ns, repeat */
    SIM_WL_BURSTY,      /* runnable for on_ns of wall time, idle off_ns */
    SIM_WL_REQUEST,     /* Poisson arrivals at rate_hz, service_ns each */
    SIM_WL_TRACE,       /* replay (run, block) pairs from a CSV file */
};

struct sim_workload {
    enum sim_workload_type type;
    sch_time_t run_ns, block_ns;        /* io */
    sch_time_t on_ns, off_ns;           /* bursty */
    bool phase_set;                     /* bursty: first on-phase at... */
    sch_time_t phase_ns;                /* ...this, not at a random time */
    double rate_hz;                     /* request */
    sch_time_t service_ns;              /* request */
    char *file;                         /* trace: path as written */
    sch_time_t *trace;                  /* trace: run0, block0, run1, ... */
    size_t trace_len;                   /* number of entries (even) */
};

struct sim_domain_spec {
    char *name;
    unsigned int vcpus;
    unsigned int weight;                /* default SCH_WEIGHT_DEFAULT */
    unsigned int cap_pct;               /* 0 = none */
    struct sch_cpumask affinity;        /* hard affinity of every vCPU */
    struct sim_workload workload;
};

struct sim_scenario {
    char *path;                         /* file it came from */
    unsigned int pcpus;
    sch_time_t duration_ns;
    uint64_t seed;
    char *policy;                       /* NULL: the caller chooses */
    sch_time_t context_switch_ns;       /* cost of switching units */
    /* tunables for adjust_global; SCH_PARAM_UNCHANGED keeps a default */
    struct sch_global_params sched;
    /* > 0: measure how long a pCPU idles while a unit that may run there
     * has waited longer than this (costs a scan of all units per event) */
    sch_time_t idle_audit_ns;
    unsigned int nr_domains;
    struct sim_domain_spec *domains;
};

/*
 * Read and check a scenario file.  Returns 0 and fills *@out (free it with
 * sim_scenario_free), or a negative errno with a one-line message in @err
 * naming the file, the line and the field ("s.yaml:7: domains[1].weight:
 * must be 1..65535, not 0").  Nothing is allocated on failure.
 */
int sim_scenario_load(const char *path, struct sim_scenario *out,
                      char *err, size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

/* ------------------------------------------------------------------ */
/* Running                                                            */

struct sim;

/* Width of the windows over which per-domain use is recorded. */
#define SIM_WINDOW_NS SCH_MSEC(100)

/*
 * A simulated host running @ops on @sc.  @sc must outlive the sim.  Returns
 * NULL with a message in @err when the policy refuses the set-up (an
 * out-of-range weight, say) or memory runs out.
 */
struct sim *sim_alloc(const struct sim_scenario *sc, const struct sch_ops *ops,
                      char *err, size_t errlen);
void sim_free(struct sim *sim);

/* Run every event up to and including time @t (ns since start). */
void sim_run_until(struct sim *sim, sch_time_t t);

sch_time_t sim_now(const struct sim *sim);
uint64_t sim_events(const struct sim *sim);

/* The live instance, to adjust() domains or tunables between runs. */
struct sch_sched *sim_sched(struct sim *sim);
struct sch_domain *sim_domain(struct sim *sim, unsigned int i);

/* Where the simulator's sch_printk and dump output go (default stderr). */
void sim_set_log(struct sim *sim, FILE *f);

/* ------------------------------------------------------------------ */
/* Results                                                            */

struct sim_percentiles {
    uint64_t count;
    sch_time_t p50, p99, p999, max;     /* ns; 0 when count is 0 */
};

struct sim_dom_result {
    const char *name;
    unsigned int vcpus, weight, cap_pct;
    sch_time_t cpu_ns;
    double share;               /* cpu_ns / (pcpus * sim_ns) */
    double entitled_share;      /* what weights and caps promise */
    struct sim_percentiles wake_latency;
    struct sim_percentiles response;    /* request workloads */
    double cap_window_max_pct;  /* most used in one window, % of a pCPU */
    uint64_t context_switches;  /* times a vCPU of it was switched in */
};

struct sim_result {
    const char *policy;
    uint64_t seed;
    unsigned int pcpus;
    uint64_t events;
    sch_time_t sim_ns;
    /* with idle_audit_ns: time during which some pCPU idled while a unit
     * allowed there had waited longer than idle_audit_ns */
    sch_time_t idle_while_waiting_ns;
    unsigned int nr_domains;
    struct sim_dom_result *domains;
    /* Use per window: window_cpu_ns[d * nr_windows + w], in ns. */
    sch_time_t window_ns;
    unsigned int nr_windows;
    const sch_time_t *window_cpu_ns;
};

/*
 * Measure the run so far into *@out.  The arrays in @out belong to @sim and
 * stay valid until the next sim_result or sim_free.  Returns 0 or -ENOMEM.
 */
int sim_result(struct sim *sim, struct sim_result *out);

/*
 * The largest relative error |share - entitled| / entitled of any domain
 * over any span of @k consecutive whole windows (k = 10: every 1 s).
 * Domains entitled to nothing are skipped; 0 when no span fits.
 */
double sim_worst_span_error(const struct sim_result *r, unsigned int k);

/*
 * What weights and caps entitle each domain to, work-conserving: pCPU time
 * shared by weight among domains, none given more than it can use (its
 * demand, its cap, one pCPU per vCPU), the rest spread on the others.
 * Writes @sc->nr_domains fractions of the whole host into @share.
 */
void sim_entitlement(const struct sim_scenario *sc, double *share);

/* ------------------------------------------------------------------ */
/* Reports (report.c)                                                 */

int sim_report_table(FILE *f, const struct sim_result *r);
int sim_report_json(FILE *f, const struct sim_result *r);
/* domains.csv and windows.csv in @dir; 0 or a negative errno. */
int sim_report_csv(const char *dir, const struct sim_result *r);

#endif /* XENOS_SIM_H */
