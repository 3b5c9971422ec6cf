/*
 * private.h: for the simulator's own files only (the engine sim.c and
 * evq.c, life.c, setup.c, view.c, result.c, host.c, entitle.c and
 * maxmin.c; report.c, plot.c and compare.c for sim__mkdirs).
 *
 * The simulated host: pCPUs, domains and their vCPUs (units), an event queue
 * and per-domain measurements.  Every event is embedded in the object it
 * belongs to (a pCPU's reschedule, a vCPU's workload steps, a policy's
 * timers), so running never allocates.
 */
#ifndef XENOS_SIM_PRIVATE_H
#define XENOS_SIM_PRIVATE_H

#include <stdio.h>
#include <string.h>

#include <xenos/sim.h>

enum sim_ev_kind {
    SIM_K_TIMER,        /* a policy's sch_timer */
    SIM_K_CPU,          /* a pCPU runs do_schedule */
    SIM_K_WORK,         /* a running vCPU finishes its current CPU burst */
    SIM_K_WALL,         /* a vCPU's wall-clock step: wake, phase, arrival */
    SIM_K_LIFE,         /* a domain is created, rebooted, or leaves */
    SIM_K_PIN,          /* re-pins are due: vCPUs get a new affinity */
};

/* Log-linear histogram of ns values: exact below 256, then 128 buckets per
 * power of two (under 0.8% error).  The buckets come in groups of 128 (a
 * power of two each, the exact part two groups), each allocated when a
 * value first falls in it: a domain's values span a few powers of two, so
 * most of the 29 KB of buckets would only be zeroed and never used. */
#define SIM_HIST_LINEAR  256u
#define SIM_HIST_SUB     128u
#define SIM_HIST_BUCKETS (SIM_HIST_LINEAR + 56u * SIM_HIST_SUB)
#define SIM_HIST_GROUPS  (SIM_HIST_BUCKETS / SIM_HIST_SUB)

struct sim_hist {
    uint32_t **grp;             /* [SIM_HIST_GROUPS]; NULL until a value */
    uint64_t n;
    sch_time_t max;
};

/* A value for a histogram, not yet counted (sim.c's hist_record). */
#define SIM_HIST_BATCH   64u
struct sim_hist_rec {
    struct sim_hist *h;
    sch_time_t v;
};

struct sim_dom;

/*
 * What the engine touches at every event comes first, in one or two cache
 * lines (the structures are cache-line aligned): an event pops into the
 * vCPU it belongs to, which should then need no other line of its own.
 */
#define SIM_CACHE_LINE  64

struct sim_vcpu {
    struct sim_event work;      /* SIM_K_WORK */
    struct sim_event wall;      /* SIM_K_WALL */
    struct sim_dom *dom;
    const struct sim_workload *wl;      /* &dom->spec->workload */
    sch_time_t work_left;       /* CPU ns before the burst ends */
    sch_time_t run_start;       /* when its work began to progress */
    sch_time_t woke_at;         /* last wake, until it runs; -1 if none */
    sch_time_t wait_since;      /* runnable and not running since */
    /* Run bursts and sleeps (sim_dom's bursts, sleeps), for trace
     * workloads only (bursts): when it first ran after its last wake, and
     * when its workload last blocked it; -1 when not in one. */
    sch_time_t burst_from, blocked_at;

    struct sch_unit unit;
    uint64_t ns;                /* CPU time, this incarnation */
    uint64_t rng;
    size_t trace_pos;           /* trace: next (run, block) pair */
    bool on;                    /* bursty: in the on phase */
    bool bursts;                /* measure run bursts and sleeps */
    /* request: arrival times of queued requests, a ring */
    sch_time_t *req;
    size_t req_head, req_len, req_cap;
} __attribute__((aligned(SIM_CACHE_LINE)));

/*
 * A scenario domain: one uuid, over all its incarnations.  dom, the vCPUs'
 * units and their events are reused by each incarnation (the policy's data
 * is freed and allocated again, as Xen would).
 */
struct sim_dom {
    /* Counted as the engine goes, in one cache line */
    sch_time_t cpu_ns;          /* all incarnations */
    uint64_t switches;
    struct sim_hist wake_lat;
    /* io requests done this incarnation: reads and writes alternate, a
     * read first, so the VBD counters follow from it (sim__dom_vbd) */
    uint64_t ios;

    struct sch_domain dom;
    const struct sim_domain_spec *spec;
    struct sim_vcpu *vcpus;
    struct sim_hist response;
    /* A vCPU's run bursts (first run after a wake to its block) and sleeps
     * (block to its next run), all lives, with their sums for the means:
     * what an xentrace recording shows of a guest (xentrace.c), so only
     * for trace workloads: three histogram entries a cycle instead of one
     * would cost every io workload's run 10% more instructions */
    struct sim_hist bursts, sleeps;
    sch_time_t bursts_sum, sleeps_sum;

    char uuid[SIM_UUID_LEN + 1];
    enum sim_dom_life life;
    struct sim_event ev;        /* SIM_K_LIFE: the next lifecycle step */
    unsigned int step;          /* 0 create, 1..nr_reboots, then the end */
    uint32_t weight, cap_pct;   /* last set; applied at each (re)boot */
    /* This incarnation, since (re)boot */
    sch_time_t boot_cpu_ns;     /* cpu_ns when it began */
    uint64_t *vcpu_ns;          /* per vCPU, filled by sim_dom_info */
    uint64_t requests;          /* request workload: arrived, all lives */
    struct sim_vif_stats vif;
    /* Ground truth: room for 1 + nr_reboots, filled as they happen */
    struct sim_incarnation *inc;
    unsigned int nr_inc;
    int pin_last;               /* spec->repin[] in force; -1: none */
    /* bursty: when each vCPU's first on phase began, after its
     * incarnation's creation: [inc * vcpus + vcpu]; NULL otherwise.  With
     * inc[], the phases of the whole run (entitle.c). */
    sch_time_t *phase0;
} __attribute__((aligned(SIM_CACHE_LINE)));

/* A weight or cap set at run time (sim_dom_set_sched), for entitle.c. */
struct sim_sched_set {
    sch_time_t at_ns;
    unsigned int dom;
    uint32_t weight, cap_pct;
};

/* One re-pin of the run: domain @dom's spec->repin[@k], due at @at_ns. */
struct sim_pin {
    sch_time_t at_ns;
    unsigned int dom, k;
};

struct sim_cpu {
    struct sim_event ev;        /* SIM_K_CPU: reschedule */
    struct sch_unit idle;
    sch_time_t since;           /* curr charged up to here */
    sch_time_t busy_until;      /* a context switch keeps it busy till */
};

/* The event queue: a two-level timing wheel (evq.c). */
#define SIM_EVQ_BITS    12
#define SIM_EVQ_SLOTS   (1u << SIM_EVQ_BITS)

struct sim_evlist {
    struct sim_event *head, *tail;
};

struct sim_evbits {
    uint64_t word[SIM_EVQ_SLOTS / 64];
    uint64_t summary;                   /* bit w: word[w] is not 0 */
};

/* An event's pos indexes list[]: level 0's slots, level 1's, far, early
 * (one array, so unlinking needs no branch to find the list). */
struct sim_evq {
    struct sim_evlist list[2 * SIM_EVQ_SLOTS + 2];
    struct sim_evbits bits[2];          /* non-empty slots, by level */
    sch_time_t cur;                     /* no wheel event is earlier */
};

struct sim {
    const struct sim_scenario *sc;
    struct sch_sched s;
    struct sch_resource *res;
    struct sch_lock *locks;
    struct sim_cpu *cpus;
    struct sim_dom *doms;
    FILE *log;

    struct sim_evq evq;
    uint64_t seq;
    sch_time_t now;
    sch_time_t settled;         /* every pCPU's since is this, or -1 */
    unsigned int next_cpu;      /* where the next new vCPU goes */
    uint32_t next_domid;
    unsigned int *by_uuid;      /* domain indexes sorted by uuid */
    uint64_t events;
    sch_time_t idle_waiting;    /* idle_audit_ns measurement */
    struct sim_hist_rec hist_batch[SIM_HIST_BATCH];
    unsigned int hist_batched;

    /* window_cpu[w * nr_domains + d]: ns domain d ran in window w (a
     * window's domains side by side: charging touches one row). */
    sch_time_t *window_cpu;
    unsigned int win_cap;
    unsigned int win_used;
    /* The window charged last, [win_lo, win_hi), and its row: a charge
     * that falls in it is one addition. */
    sch_time_t win_lo, win_hi;
    sch_time_t *win_row;

    /* sim_result's arrays */
    struct sim_dom_result *res_doms;
    sch_time_t *res_windows;
    sch_time_t *res_entitled;

    /* Every weight or cap change, in the order made. */
    struct sim_sched_set *sched_sets;
    size_t nr_sched_sets, sched_sets_cap;

    /* Every domain's re-pins in the order they happen; none queued if the
     * scenario has none. */
    struct sim_pin *pins;
    size_t nr_pins, pins_done;
    struct sim_event pin_ev;    /* SIM_K_PIN: pins[pins_done] is due */
};

/* The lock that guards @u where it is now. */
static inline struct sch_lock *sim__unit_lock(struct sim *sim,
                                              const struct sch_unit *u)
{
    return sim->res[u->res].lock;
}

/* Count @u's state now (sch_stats_sync), under its lock; the idle unit
 * is ignored. */
static inline void sim__stats_sync(struct sim *sim, struct sch_unit *u)
{
    struct sch_lock *lock;

    if ( u->is_idle || !sim->s.ops->counts_parked )
        return;
    lock = sim__unit_lock(sim, u);
    sch_spin_lock(lock);
    sch_stats_sync(&sim->s, u, sim->now);
    sch_spin_unlock(lock);
}

/* @d's VBD counters, this incarnation: its requests alternate between
 * reads and writes, a read first. */
static inline struct sim_vbd_stats sim__dom_vbd(const struct sim_dom *d)
{
    uint64_t rd = (d->ios + 1) / 2, wr = d->ios / 2;

    return (struct sim_vbd_stats){
        .id = SIM_VBD_ID,
        .rd_reqs = rd,
        .wr_reqs = wr,
        .rd_sectors = rd * SIM_IO_SECTORS,
        .wr_sectors = wr * SIM_IO_SECTORS,
    };
}

static inline bool sim__cpumask_eq(const struct sch_cpumask *a,
                                   const struct sch_cpumask *b)
{
    return !memcmp(a->bits, b->bits, sizeof(a->bits));
}

/*
 * The engine (sim.c), for the other files.  None of it is on their hot
 * path; what is on the engine's stays static in sim.c, to be inlined.
 *
 * sim__on_cpu: SIM_K_CPU, pCPU @cpu decides now (do_schedule) and
 * switches; life.c calls it to take a vCPU off its pCPU at once.
 * sim__dom_start: the new incarnation of @d (policy data from
 * sim__dom_alloc) joins the policy, its vCPUs take their workload's first
 * step.  sim__settle_all: every running unit's time charged up to now
 * (changes no outcome).  sim__hist_flush: the batched histogram values
 * counted.  sim__windows_grow: room for @need windows (0 or -ENOMEM).
 */
void sim__on_cpu(struct sim *sim, unsigned int cpu);
void sim__dom_start(struct sim *sim, struct sim_dom *d);
void sim__settle_all(struct sim *sim);
void sim__hist_flush(struct sim *sim);
int sim__windows_grow(struct sim *sim, unsigned int need);

/*
 * Lifecycle and re-pins (life.c).  sim__dom_alloc: policy data for a new
 * incarnation of @d (0 or -ENOMEM, then nothing is left of it).
 * sim__dom_adjust: @d's weight and cap to the policy (0 or -EINVAL).
 * sim__life_next: queue @d's next lifecycle step, if any.  sim__on_life
 * and sim__on_pin: the SIM_K_LIFE and SIM_K_PIN events; on_pin is cold,
 * so the engine's loop keeps it out of its way.
 */
int sim__dom_alloc(struct sim *sim, struct sim_dom *d);
int sim__dom_adjust(struct sim *sim, struct sim_dom *d);
void sim__life_next(struct sim *sim, struct sim_dom *d);
void sim__on_life(struct sim *sim, struct sim_dom *d);
void sim__on_pin(struct sim *sim) __attribute__((cold));

/*
 * Event queue: setting, cancelling and popping events are inline in evq.h
 * (the engine, host.c, life.c and setup.c use them), the rest is in
 * evq.c.  None of it allocates or fails.  sim__evq_drain forgets every
 * queued event (tear-down).
 */
void sim__evq_drain(struct sim *sim);

/*
 * What each domain was entitled to over [0, now), per window: @win gets
 * nr_domains x @nw values (ns; [d * nw + w]), @nw windows covering the
 * run.  From inc[], phase0, the re-pins done and sched_sets (entitle.c,
 * solved by maxmin.c).
 * 0 or -ENOMEM.
 */
int sim__entitle_run(const struct sim *sim, unsigned int nw,
                     sch_time_t *win);

/* mkdir -p @dir, for every writer of files (report.c): 0 or -errno. */
int sim__mkdirs(const char *dir);

#endif /* XENOS_SIM_PRIVATE_H */
