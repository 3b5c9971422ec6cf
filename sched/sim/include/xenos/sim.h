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

/* A uuid as text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case. */
#define SIM_UUID_LEN            36
#define SIM_MEMORY_MB_DEFAULT   512

/* How an incarnation of a domain ends (or ended). */
enum sim_dom_end {
    SIM_END_NONE,       /* it has not */
    SIM_END_REBOOT,     /* destroyed and created again at once */
    SIM_END_MIGRATE,    /* left this host for good */
    SIM_END_DESTROY,    /* destroyed */
};

/*
 * A run-time change of a domain's hard affinity (xl vcpu-pin), applied to
 * every vCPU of the domain at @at_ns; a vCPU whose pCPU it leaves out is
 * moved as Xen moves it (sleep, switched out, pick_resource, migrate,
 * wake).  Kept for the uuid, as weight and cap are: a domain created or
 * rebooted later gets the affinity last set.
 */
struct sim_repin {
    sch_time_t at_ns;
    struct sch_cpumask affinity;
};

/*
 * One domain of a scenario.  The fields after the workload describe the
 * domain as a host shows it, and its life; their zero values are the
 * defaults, so a spec built in C without them is a domain that exists for
 * the whole run, as every domain did before lifecycles existed.
 */
struct sim_domain_spec {
    char *name;
    unsigned int vcpus;
    unsigned int weight;                /* default SCH_WEIGHT_DEFAULT */
    unsigned int cap_pct;               /* 0 = none */
    struct sch_cpumask affinity;        /* hard affinity of every vCPU */
    struct sim_workload workload;

    char uuid[SIM_UUID_LEN + 1];        /* "": sim_uuid_from_name(name) */
    char *tenant;                       /* the host's tenant key, or NULL */
    uint64_t memory_mb;                 /* 0: SIM_MEMORY_MB_DEFAULT */
    uint64_t maxmem_mb;                 /* 0: memory_mb */
    sch_time_t start_ns;                /* created then */
    sch_time_t *reboot_ns;              /* increasing, all after start */
    unsigned int nr_reboots;
    enum sim_dom_end end;               /* NONE, MIGRATE or DESTROY... */
    sch_time_t end_ns;                  /* ...then, after the reboots */
    struct sim_repin *repin;            /* at_ns increasing */
    unsigned int nr_repins;
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

/* The live instance, to adjust() domains or tunables between runs.
 * sim_domain is NULL unless domain @i exists now (see sim_dom_info). */
struct sch_sched *sim_sched(struct sim *sim);
struct sch_domain *sim_domain(struct sim *sim, unsigned int i);

/* Where the simulator's sch_printk and dump output go (default stderr). */
void sim_set_log(struct sim *sim, FILE *f);

/* ------------------------------------------------------------------ */
/* The host as a hypervisor shows it (accounting, ground truth)        */

/*
 * Every scenario domain is one uuid.  It is created at its start_ns with
 * the next domid (the first is 1: dom0 is not simulated), and each reboot
 * destroys it and creates it again at once: a new domid, the same uuid,
 * counters from 0, and the policy sees remove_unit/free_udata/
 * free_domdata then alloc_domdata/alloc_udata/adjust/insert_unit/wake, as
 * under Xen.  A reboot re-applies the weight and cap last set for the
 * uuid (as a toolstack re-applies a domain's configuration).  A migrated
 * or destroyed domain is gone for good; its counters are final.
 *
 * Counters, cumulative since the domain was (re)booted: CPU time, in all
 * and per vCPU (all vCPUs online); memory current/max/target from the
 * scenario; one VBD (SIM_VBD_ID) where every completed io or trace burst
 * is one request of SIM_IO_SECTORS sectors, reads and writes taking turns
 * (a read first); one VIF (SIM_VIF_ID) where every completed request of a
 * request workload is SIM_RX_PKTS packets (SIM_RX_BYTES) in and SIM_TX_PKTS
 * packets (SIM_TX_BYTES) out, with no errors or drops.
 */
#define SIM_VBD_ID      51712   /* xvda: major 202, minor 0 */
#define SIM_VIF_ID      0
#define SIM_IO_SECTORS  8       /* 512-byte sectors per io request */
#define SIM_RX_PKTS     1
#define SIM_RX_BYTES    512
#define SIM_TX_PKTS     3
#define SIM_TX_BYTES    4096

enum sim_dom_life {
    SIM_LIFE_PENDING,   /* not created yet */
    SIM_LIFE_ALIVE,
    SIM_LIFE_GONE,      /* migrated, destroyed, or its creation failed */
};

struct sim_vbd_stats {
    uint32_t id;
    uint64_t rd_reqs, wr_reqs;
    uint64_t rd_sectors, wr_sectors;
};

struct sim_vif_stats {
    uint32_t id;
    uint64_t rx_bytes, tx_bytes, rx_pkts, tx_pkts;
    uint64_t rx_errs, tx_errs, rx_drop, tx_drop;
};

/* Scenario domain @index as the host shows it at sim_now(). */
struct sim_dom_info {
    unsigned int index;
    const char *name;                   /* the spec's, untrusted bytes */
    const char *uuid;
    const char *tenant;                 /* NULL: none */
    enum sim_dom_life life;
    /* The rest is 0 unless life is SIM_LIFE_ALIVE. */
    uint32_t domid;
    bool running;               /* a vCPU runs or waits to (else blocked) */
    uint64_t cpu_ns;                    /* since (re)boot, up to now */
    unsigned int nr_vcpus, online_vcpus;
    const uint64_t *vcpu_ns;            /* [nr_vcpus], since (re)boot */
    uint64_t mem_cur_bytes, mem_max_bytes, mem_target_bytes;
    struct sim_vbd_stats vbd;
    struct sim_vif_stats vif;
    /* The policy's contention counters (sched/stats.c), this incarnation,
     * up to now; sched_stats false: the policy does not count (rr). */
    bool sched_stats;
    struct sch_stats_snap stats;
};

/* One life of a domain, from creation to reboot, migration or destruction
 * (or to now). */
struct sim_incarnation {
    uint32_t domid;
    sch_time_t created_ns;
    sch_time_t ended_ns;                /* -1 while alive */
    enum sim_dom_end end;
    uint64_t cpu_ns;                    /* used in it, up to now or its end */
    /* Its device counters when it ended (0 while alive): a backend
     * reports them as a dying domain, so the tail of a life that ended
     * between two samples is still counted. */
    struct sim_vbd_stats vbd;
    struct sim_vif_stats vif;
};

/* Ground truth of scenario domain @index at sim_now(). */
struct sim_dom_truth {
    const char *name;
    const char *uuid;
    enum sim_dom_life life;
    uint64_t cpu_ns;                    /* over all its incarnations */
    unsigned int nr_incarnations;       /* 0 until created */
    const struct sim_incarnation *inc;  /* oldest first */
};

/* Lower-case v5 uuid of @name in the simulator's namespace (uuid.c says
 * how to recompute it), written with its NUL into @out. */
void sim_uuid_from_name(const char *name, char out[SIM_UUID_LEN + 1]);
/* Check that @s is a uuid (8-4-4-4-12 hex digits, either case) and write
 * it lower-cased into @out: 0, or -EINVAL with @out untouched. */
int sim_uuid_parse(const char *s, char out[SIM_UUID_LEN + 1]);

unsigned int sim_nr_domains(const struct sim *sim);
/* Index of the scenario domain with @uuid (any case), or -ENOENT. */
int sim_find_uuid(const struct sim *sim, const char *uuid);

/*
 * Domain @i now, into *@out: 0, or -ENOENT if there is no domain @i.  A
 * pending or gone domain is reported too (life says which), without
 * counters.  Running units' time is counted up to now.  The strings and
 * vcpu_ns belong to @sim: they stay valid until sim_free, and vcpu_ns is
 * rewritten by the next call for the same domain (copy it to keep it).
 */
int sim_dom_info(struct sim *sim, unsigned int i, struct sim_dom_info *out);

/*
 * Ground truth of domain @i now: 0, or -ENOENT if there is no domain @i.
 * Pointers as for sim_dom_info; the incarnation array is updated by the
 * next call for the same domain.
 */
int sim_dom_truth(struct sim *sim, unsigned int i, struct sim_dom_truth *out);

/*
 * Set (through the policy's adjust hook) the weight and cap of domain @i,
 * which are kept for its uuid and re-applied when it reboots.  The
 * entitlement follows them from now on (each change that changes
 * something is recorded: 24 bytes).  Returns 0; -ENOENT if @i is no
 * domain or not alive; -EOPNOTSUPP if the policy has no weights or caps
 * (rr); -EINVAL if the policy refuses the values; -ENOMEM (nothing
 * changed then).
 */
int sim_dom_set_sched(struct sim *sim, unsigned int i, uint32_t weight,
                      uint32_t cap_pct);
/* The weight and cap the policy has for live domain @i; errors as above. */
int sim_dom_get_sched(struct sim *sim, unsigned int i, uint32_t *weight,
                      uint32_t *cap_pct);

/* ------------------------------------------------------------------ */
/* Results                                                            */

struct sim_percentiles {
    uint64_t count;
    sch_time_t p50, p99, p999, max;     /* ns; 0 when count is 0 */
};

/* Lengths of a trace workload's run bursts or sleeps: how many, their
 * mean, p50, p90 and max (ns; 0 when count is 0; always 0 for other
 * workloads).  A run burst: from a vCPU's first run after a wake until
 * its workload blocks it; a sleep: from that block to its next run
 * (blocked, then waiting for its pCPU).  Percentiles as
 * sim_percentiles'; the mean is exact. */
struct sim_spread {
    uint64_t count;
    sch_time_t mean, p50, p90, max;
};

/* Per scenario domain: a domain that rebooted is one row, its figures
 * summed over its incarnations.  weight and cap_pct are the scenario's. */
struct sim_dom_result {
    const char *name;
    unsigned int vcpus, weight, cap_pct;
    sch_time_t cpu_ns;
    double share;               /* cpu_ns / (pcpus * sim_ns) */
    /* What it was entitled to over the run (see "Entitlement" below),
     * in ns and as a share like share. */
    sch_time_t entitled_ns;
    double entitled_share;      /* entitled_ns / (pcpus * sim_ns) */
    struct sim_percentiles wake_latency;
    struct sim_percentiles response;    /* request workloads */
    double cap_window_max_pct;  /* most used in one window, % of a pCPU */
    /* (most - least) / most of what its vCPUs ran: how evenly a domain's
     * vCPUs were served (0 with one vCPU, or none ran) */
    double vcpu_spread;
    uint64_t context_switches;  /* times a vCPU of it was switched in */
    struct sim_spread bursts, sleeps;   /* all its vCPUs' */
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
    /* Per window, [d * nr_windows + w], in ns: what domain d used in
     * window w, and what it was entitled to there.  The windows cover
     * the run, the last one perhaps in part. */
    sch_time_t window_ns;
    unsigned int nr_windows;
    const sch_time_t *window_cpu_ns;
    const sch_time_t *window_entitled_ns;
};

/*
 * Measure the run so far into *@out.  The arrays in @out belong to @sim and
 * stay valid until the next sim_result or sim_free.  The entitlement is
 * computed here, from what the run recorded (entitle.c), not while it
 * runs.  Returns 0 or -ENOMEM.
 */
int sim_result(struct sim *sim, struct sim_result *out);

/*
 * The largest relative error |used - entitled| / entitled of any domain
 * over any span of @k consecutive whole windows (k = 10: every 1 s), both
 * taken over that very span.  Spans where a domain is entitled to less
 * than a millionth of the host's time (it did not exist, or wanted
 * nothing) are skipped; 0 when no span fits.
 */
double sim_worst_span_error(const struct sim_result *r, unsigned int k);

/*
 * The wake-up latency histogram, for plots that need more than its
 * percentiles (a CDF).  It is log-linear (docs/simulator.md, "What it
 * measures"): sim_hist_nr_buckets() buckets, bucket b holding the values
 * above bucket b-1's top up to sim_hist_bucket_top(b), in ns.
 * sim_wake_counts() adds the counts of domain @i, over all its lives so
 * far, to @counts[sim_hist_nr_buckets()] (so several domains sum into one)
 * and raises *@max to its largest latency; 0, or -ENOENT if there is no
 * domain @i.  The percentiles of sim_result are read off these very
 * counts: the smallest bucket top where the running count reaches
 * ceil(q x n), at most the max.
 */
unsigned int sim_hist_nr_buckets(void);
sch_time_t sim_hist_bucket_top(unsigned int b);
int sim_wake_counts(struct sim *sim, unsigned int i, uint64_t *counts,
                    sch_time_t *max);

/*
 * Both ends of the same spans, in one pass: the largest relative error
 * (as sim_worst_span_error) and the least served, the lowest used /
 * entitled of any domain over any span of @k whole windows (0: a domain
 * got nothing where it was due something; INFINITY when no span counts),
 * with the domain (-1: none) and the span's start.  The least served is
 * what tells a starving policy: it fails a domain the others' figures
 * cannot make up for.
 */
/*
 * Span @s (windows s x k to s x k + k - 1) of domain @d: its used /
 * entitled there into *@served and |used - entitled| / entitled into
 * *@err, and true; false when the span is not whole (the run ends in it)
 * or the domain is entitled to under a millionth of the host's time there.
 */
bool sim_span_served(const struct sim_result *r, unsigned int k,
                     unsigned int d, unsigned int s, double *served,
                     double *err);

struct sim_span_stats {
    double worst_error;
    int worst_dom;
    double least_served;
    int least_dom;
    sch_time_t least_at_ns;
};
void sim_span_stats(const struct sim_result *r, unsigned int k,
                    struct sim_span_stats *out);

/* ------------------------------------------------------------------ */
/* Entitlement (entitle.c, maxmin.c; docs/simulator.md: the model)    */

/*
 * Every vCPU that wants CPU is a flow whose weight is its domain's weight:
 * weight counts once per such vCPU, as in Xen's credit and credit2.  A
 * flow wants at most its demand (a fraction of one pCPU), runs only on
 * the pCPUs of its hard affinity and on one at a time; a domain's flows
 * together get at most its cap; a pCPU gives at most all its time.  The
 * entitlement is the weighted max-min fair allocation under these
 * constraints: no flow could get more without taking from one whose rate
 * per weight is no larger.
 *
 * A group is @nr equal flows of domain @dom (an index below nr_doms):
 * each of @weight (> 0), wanting @demand of a pCPU (taken as 0..1), on
 * the pCPUs of @affinity below the host's pcpus.
 */
struct sim_ent_group {
    unsigned int dom;
    unsigned int nr;
    double weight;
    double demand;
    struct sch_cpumask affinity;
};

/*
 * The allocation for @ng groups on a host of @pcpus (1..SCH_MAX_CPUS)
 * pCPUs, the domains' caps in @cap[nr_doms], in pCPUs (0: none).  Writes
 * the rate of each flow of group g, in pCPUs, into @rate[g].  Exact up to
 * 1e-9 of a pCPU (see maxmin.c).  Returns 0; -EINVAL for a weight not
 * above 0, a demand or cap that is not a number, a negative cap, a
 * domain index out of range or no pCPUs; -ENOMEM.
 */
int sim_entitle_solve(unsigned int pcpus, const struct sim_ent_group *g,
                      unsigned int ng, const double *cap,
                      unsigned int nr_doms, double *rate);

/*
 * The allocation of @sc as it starts, as fractions of the whole host into
 * @share[sc->nr_domains]: the domains created at time 0, with the
 * scenario's weights, caps and affinity (re-pins due at 0 applied), each
 * bursty vCPU taken in its on phase (CPU-bound).  A stationary figure for
 * tests and tools; sim_result's follows the run.  0 or -ENOMEM.
 */
int sim_entitlement(const struct sim_scenario *sc, double *share);

/* ------------------------------------------------------------------ */
/* Reports (report.c)                                                 */

int sim_report_table(FILE *f, const struct sim_result *r);
int sim_report_json(FILE *f, const struct sim_result *r);
/* domains.csv and windows.csv in @dir; 0 or a negative errno. */
int sim_report_csv(const char *dir, const struct sim_result *r);

#endif /* XENOS_SIM_H */
