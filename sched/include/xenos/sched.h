/*
 * sched.h: the scheduler framework.  A policy is a const struct sch_ops whose
 * hooks have the names and meaning of Xen 4.17's struct scheduler
 * (xen/common/sched/private.h); a host (the simulator, or Xen through
 * sched/xen/) owns pCPUs, domains and units and calls the hooks.
 *
 * What differs from Xen, and why:
 * - Hooks get the pCPU and the time as arguments (Xen uses
 *   smp_processor_id() and NOW(); the adapter passes them): policy code
 *   never reads a clock or global state, so simulations repeat exactly.
 * - do_schedule() returns its decision in a struct sch_slice instead of
 *   writing it into the previous unit.
 * - pick_resource() returns a pCPU number; a unit's resource is its pCPU.
 * - adjust()/adjust_global() take small typed structs instead of the
 *   domctl/sysctl unions; the Xen adapter translates.
 *
 * Locking, as in Xen: each pCPU has a schedule lock (sch_resource.lock).  The
 * host holds the lock of a unit's pCPU around insert_unit, remove_unit, sleep,
 * wake, yield, context_saved and do_schedule; pick_resource is called with it
 * held too.  adjust and adjust_global are called with no lock held: the
 * policy takes its own.  alloc and free hooks are called with no lock held.
 * A policy may have several pCPUs share one schedule lock (pcpu_lock), as
 * Xen's credit2 has the pCPUs of a runqueue share its lock.
 * A policy asserts each of these (SCH_ASSERT_LOCKED, host.h).  In the
 * simulator everything runs on one thread and the locks only check that
 * they are not taken twice, and held where a policy asserts they are.
 */
#ifndef XENOS_SCHED_H
#define XENOS_SCHED_H

#include <xenos/host.h>

#define SCH_WEIGHT_MIN      1
#define SCH_WEIGHT_MAX      65535
#define SCH_WEIGHT_DEFAULT  256

/* Passed in a PUT to leave a field as it is. */
#define SCH_PARAM_UNCHANGED 0xffffffffu

/* A PUT of the tunables that changes nothing: set what is to change. */
#define SCH_GLOBAL_PARAMS_KEEP                                              \
    ((struct sch_global_params){ .cmd = SCH_PARAM_PUT,                      \
                                 .tslice_us = SCH_PARAM_UNCHANGED,          \
                                 .ratelimit_us = SCH_PARAM_UNCHANGED,       \
                                 .period_us = SCH_PARAM_UNCHANGED,          \
                                 .boost = SCH_PARAM_UNCHANGED,              \
                                 .latency_us = SCH_PARAM_UNCHANGED,         \
                                 .runq_cpus = SCH_PARAM_UNCHANGED })

/*
 * Contention counters of a domain (sched/stats.c): how long its units were
 * running, waiting for a pCPU, and parked by its cap, and how much of
 * each 100 ms window it used.  Counted by framework code that both hosts
 * share, from the transitions they report (sch_stats_sync) and the ones a
 * policy reports (sch_unit_park), so the simulator and Xen count alike.
 * Everything is under @lock, a leaf lock (nothing is taken inside it).
 */
#define SCH_STATS_WINDOW_NS  SCH_MSEC(100)
#define SCH_STATS_NR_BUCKETS 12

enum sch_ustate {
    SCH_US_OFF,                 /* not runnable (blocked, paused, gone) */
    SCH_US_RUN,                 /* current on its pCPU */
    SCH_US_WAIT,                /* runnable, not running, not parked */
    SCH_US_PARKED,              /* runnable, held off by its domain's cap */
    SCH_US_NR
};

struct sch_dom_stats {
    struct sch_lock lock;
    sch_time_t since;           /* the latest time counted */
    sch_time_t win_end;         /* the open window: [win_end - 100 ms, win_end) */
    uint64_t win_base;          /* run total at the open window's start */
    uint32_t cap_pct;           /* in force; 0 = none */
    /* Per state: its units now, and acc, such that the time spent in it
     * up to t is acc + nr x t (mod 2^64).  SCH_US_OFF's are not kept. */
    unsigned int nr[SCH_US_NR];
    uint64_t acc[SCH_US_NR];
    /* closed windows by use relative to the cap (sch_stats_bucket_pct) */
    uint64_t windows[SCH_STATS_NR_BUCKETS];
};

/* A copy of the counters, brought up to a time (sch_stats_read). */
struct sch_stats_snap {
    sch_time_t at;
    uint32_t cap_pct;
    uint64_t run_ns, wait_ns, throttled_ns;
    uint64_t windows[SCH_STATS_NR_BUCKETS];
};

struct sch_domain {
    unsigned int id;            /* domid */
    unsigned int nr_units;
    struct sch_unit **units;    /* owned by the host */
    void *priv;                 /* policy's: from alloc_domdata */
    struct sch_dom_stats stats; /* sch_stats_dom_init, by the host */
};

struct sch_unit {
    unsigned int id;            /* vCPU number within its domain */
    struct sch_domain *domain;  /* NULL for a pCPU's idle unit */
    unsigned int res;           /* pCPU whose runqueue it belongs to */
    void *priv;                 /* policy's: from alloc_udata */

    /* Maintained by the host; read-only for policies. */
    bool is_idle;               /* the idle unit of pCPU res */
    /*
     * Switched in and its state not yet saved (Xen's is_running): still
     * true for a while after do_schedule picked another unit, until
     * context_saved.  "Current on its pCPU" is sch_curr_on_cpu(s, res) ==
     * u; a unit that is running but not current may already be queued
     * (preempted, or woken) and must not be moved to another pCPU yet.
     */
    bool is_running;
    bool runnable;              /* wants to run (Xen's unit_runnable()) */
    /* Set by the policy through sch_unit_park: runnable, but held off its
     * queues by its domain's cap. */
    bool parked;
    uint8_t stat_state;         /* enum sch_ustate, as last counted */
    struct sch_cpumask hard_affinity;
    struct sch_cpumask soft_affinity;
};

struct sch_resource {
    unsigned int cpu;
    struct sch_lock *lock;      /* Xen's schedule_lock */
    struct sch_unit *curr;      /* running now (the idle unit when idle) */
    struct sch_unit *idle;
    void *priv;                 /* policy's: from alloc_pdata */
};

/* An instance of a policy on a set of pCPUs (Xen: scheduler + cpupool). */
struct sch_sched {
    const struct sch_ops *ops;
    void *priv;                 /* policy's global data, set by init */
    void *host;                 /* the host's, opaque to policies */
    unsigned int nr_cpus;       /* pCPUs 0..nr_cpus-1 exist... */
    struct sch_cpumask cpus;    /* ...and these belong to this instance */
    struct sch_resource *res;   /* indexed by pCPU */
};

/* What do_schedule decided. */
struct sch_slice {
    struct sch_unit *task;      /* run this next (a unit, or the idle unit) */
    sch_time_t time;            /* call do_schedule again after this, or -1 */
    bool migrated;              /* task came from another pCPU's runqueue */
};

enum sch_param_cmd {
    SCH_PARAM_GET,
    SCH_PARAM_PUT,
};

/* Per-domain control (Xen: XEN_DOMCTL_SCHEDOP_getinfo/putinfo, credit). */
struct sch_dom_params {
    enum sch_param_cmd cmd;
    uint32_t weight;            /* 1..65535 */
    uint32_t cap_pct;           /* percent of one pCPU, 0 = no cap */
};

/*
 * Per-instance tunables (Xen: XEN_SYSCTL_SCHEDOP_getinfo/putinfo).  A policy
 * ignores fields it has no use for and answers a GET with 0 for them.
 */
struct sch_global_params {
    enum sch_param_cmd cmd;
    uint32_t tslice_us;         /* time slice */
    uint32_t ratelimit_us;      /* least run time before preemption */
    uint32_t period_us;         /* accounting / cap budget period */
    uint32_t boost;             /* 1: wake-up boost on, 0: off */
    uint32_t latency_us;        /* wake-up latency target */
    /* pCPUs that share one runqueue (and so one lock); only before the
     * first pCPU joins: a policy refuses a change later with -SCH_EBUSY */
    uint32_t runq_cpus;
};

/* Every function a policy puts in its ops is marked SCH_HOOK (host.h): the
 * host calls it through a pointer, which Xen's CET-IBT checks. */
struct sch_ops {
    const char *name;           /* full name */
    const char *opt_name;       /* name used to pick it ("credit") */

    /* Set up / tear down the instance: allocate s->priv.  Returns 0 or a
     * negative errno.  Called before any other hook / after all others. */
    int (*init)(struct sch_sched *s);
    void (*deinit)(struct sch_sched *s);

    /* Per-pCPU data for @cpu; NULL means out of memory.  The host stores it
     * in s->res[cpu].priv.  No lock held. */
    void *(*alloc_pdata)(const struct sch_sched *s, unsigned int cpu);
    void (*free_pdata)(const struct sch_sched *s, void *pd, unsigned int cpu);
    /*
     * The schedule lock of @cpu (Xen: what switch_sched returns), for a
     * policy whose pCPUs share runqueues and so locks.  Called after
     * alloc_pdata(@cpu), before any hook that concerns @cpu; the lock stays
     * valid until free_pdata(@cpu).  A host that needs two pCPUs' locks
     * takes a shared one once.  Optional: without it every pCPU has a
     * lock of its own, the host's.  No lock held.
     */
    struct sch_lock *(*pcpu_lock)(const struct sch_sched *s,
                                  unsigned int cpu);

    /* Per-domain data; NULL means out of memory.  No lock held. */
    void *(*alloc_domdata)(const struct sch_sched *s, struct sch_domain *d);
    void (*free_domdata)(const struct sch_sched *s, void *dd);

    /* Per-unit data (@dd is the domain's); NULL means out of memory.  The
     * idle units get one too, with @dd NULL.  No lock held. */
    void *(*alloc_udata)(const struct sch_sched *s, struct sch_unit *u,
                         void *dd);
    void (*free_udata)(const struct sch_sched *s, void *ud);

    /* A unit joins / leaves the instance (domain created / destroyed).  On
     * insert it is not runnable yet: a wake follows.  Before remove it has
     * been put to sleep and is not running.  Lock of u->res held. */
    void (*insert_unit)(const struct sch_sched *s, struct sch_unit *u);
    void (*remove_unit)(const struct sch_sched *s, struct sch_unit *u);

    /* u stopped being runnable (blocked, paused) at @now; if it is running
     * the policy kicks its pCPU.  Lock of u->res held. */
    void (*sleep)(const struct sch_sched *s, struct sch_unit *u,
                  sch_time_t now);
    /* u became runnable at @now: queue it and kick whichever pCPU should
     * run it.  Lock of u->res held. */
    void (*wake)(const struct sch_sched *s, struct sch_unit *u,
                 sch_time_t now);
    /* u, running, offers its pCPU to others.  Lock of u->res held. */
    void (*yield)(const struct sch_sched *s, struct sch_unit *u,
                  sch_time_t now);
    /* u was switched out and its state saved; it may now run elsewhere.
     * Lock of u->res held. */
    void (*context_saved)(const struct sch_sched *s, struct sch_unit *u,
                          sch_time_t now);

    /*
     * Choose what @cpu runs from @now.  @curr is what it ran until now (its
     * idle unit if idle); if curr is runnable and not chosen, the policy
     * keeps it queued.  @tasklet_work: the pCPU must run its idle unit.
     * Fills @out.  Lock of @cpu held; the policy may trylock other pCPUs to
     * steal work, and then sets out->migrated and the unit's res.
     */
    void (*do_schedule)(const struct sch_sched *s, struct sch_unit *curr,
                        unsigned int cpu, sch_time_t now, bool tasklet_work,
                        struct sch_slice *out);

    /* The pCPU @u should run on now (within its hard affinity).  Lock of
     * u->res held. */
    unsigned int (*pick_resource)(const struct sch_sched *s,
                                  const struct sch_unit *u);
    /* u, neither queued nor running (Xen: asleep while it migrates),
     * moves to @cpu, normally the one pick_resource chose.  Both pCPUs'
     * locks held.  Optional: without it the host sets u->res. */
    void (*migrate)(const struct sch_sched *s, struct sch_unit *u,
                    unsigned int cpu);

    /* GET or PUT a domain's weight and cap.  Returns 0 or -SCH_EINVAL for a
     * value out of range (nothing changed then).  No lock held. */
    int (*adjust)(const struct sch_sched *s, struct sch_domain *d,
                  struct sch_dom_params *p, sch_time_t now);
    /* GET or PUT the instance's tunables; 0 or -SCH_EINVAL.  No lock. */
    int (*adjust_global)(const struct sch_sched *s,
                         struct sch_global_params *p);

    /* Print settings / one pCPU's state / what the policy holds of one
     * unit (queued or not, where, its virtual time) through sch_printk:
     * Xen's debug key 'r'.  Optional.  No lock held but for dump_unit,
     * which is called with the lock of u->res held. */
    void (*dump_settings)(const struct sch_sched *s);
    void (*dump_cpu_state)(const struct sch_sched *s, unsigned int cpu);
    void (*dump_unit)(const struct sch_sched *s, const struct sch_unit *u);

    /* The policy reports each park and unpark (sch_unit_park) and each
     * cap (sch_stats_set_cap), so its domains' counters mean what
     * sched/stats.c says.  Without it a host reports none. */
    bool counts_parked;
};

static inline struct sch_resource *sch_res(const struct sch_sched *s,
                                           unsigned int cpu)
{
    return &s->res[cpu];
}

/* The schedule lock that guards @u: its pCPU's (Xen's unit_schedule_lock). */
static inline struct sch_lock *sch_unit_lock(const struct sch_sched *s,
                                             const struct sch_unit *u)
{
    return s->res[u->res].lock;
}

/* Takes @u's lock and returns it, for a hook that holds none of its own
 * (adjust): @u may move while the lock is awaited, so the lock got is
 * checked to be still @u's (Xen's unit_schedule_lock). */
static inline struct sch_lock *sch_unit_lock_acquire(const struct sch_sched *s,
                                                     const struct sch_unit *u)
{
    for ( ;; )
    {
        struct sch_lock *lock = sch_unit_lock(s, u);

        sch_spin_lock(lock);
        if ( lock == sch_unit_lock(s, u) )
            return lock;
        sch_spin_unlock(lock);
    }
}

static inline struct sch_unit *sch_curr_on_cpu(const struct sch_sched *s,
                                               unsigned int cpu)
{
    return s->res[cpu].curr;
}

/*
 * Moves @u to @cpu's runqueue; caller holds both pCPUs' locks.  A host
 * service, not a field store: the host must learn at once which lock now
 * guards @u (Xen's sched_set_res()), or its next wake takes the old one.
 */
void sch_unit_set_res(struct sch_unit *u, unsigned int cpu);

/* ------------------------------------------------------------------ */
/* Contention counters (sched/stats.c), shared by every host.          */

/*
 * Upper bounds of the window histogram's buckets, in percent of the
 * reference: the cap in force when the window closed, or one pCPU (100%)
 * for an uncapped domain.  The last bucket has no bound.
 */
extern const uint32_t sch_stats_bucket_pct[SCH_STATS_NR_BUCKETS - 1];

/* Start @d's counters at @now, all units off.  The host calls it before
 * @d's units are inserted.  No lock held. */
void sch_stats_dom_init(struct sch_domain *d, sch_time_t now);

/* sch_stats_sync's out-of-line half: @u goes to state @to at @now. */
void sch__stats_change(const struct sch_sched *s, struct sch_unit *u,
                       enum sch_ustate to, sch_time_t now);

/*
 * Count @u in the state its flags say now (off if not runnable, else run
 * if current on its pCPU, else parked if u->parked, else wait).  The host
 * calls it after every change it makes to those: wake, sleep, block, the
 * switch after do_schedule (for both units), removal.  Inline, and a few
 * instructions when nothing changed: the simulator calls it at nearly
 * every event.  Lock of u->res held.  An idle unit is ignored, and every
 * unit of a policy without counts_parked (its domains keep no counters).
 */
static inline void sch_stats_sync(const struct sch_sched *s,
                                  struct sch_unit *u, sch_time_t now)
{
    enum sch_ustate to;

    if ( !s->ops->counts_parked || u->is_idle )
        return;
    if ( !u->runnable )
        to = SCH_US_OFF;
    else if ( sch_curr_on_cpu(s, u->res) == u )
        to = SCH_US_RUN;
    else
        to = u->parked ? SCH_US_PARKED : SCH_US_WAIT;
    if ( to != u->stat_state )
        sch__stats_change(s, u, to, now);
}

/* The policy parks (@parked) or unparks @u at @now.  Lock of u->res
 * held.  In sleep and remove_unit a policy may clear u->parked itself:
 * the host counts the unit off right after those. */
void sch_unit_park(const struct sch_sched *s, struct sch_unit *u,
                   bool parked, sch_time_t now);

/* The policy's cap for @d is @cap_pct from @now: the open window closes
 * against the cap in force at its end.  Any lock but @d's stats lock. */
void sch_stats_set_cap(struct sch_domain *d, uint32_t cap_pct,
                       sch_time_t now);

/* Bring @d's counters up to @now and copy them to @out.  Any lock but
 * @d's stats lock. */
void sch_stats_read(struct sch_domain *d, sch_time_t now,
                    struct sch_stats_snap *out);

/* ------------------------------------------------------------------ */
/* Registry: every policy, found by name (sched/policies.def).         */

#define SCH_POLICY(name) extern const struct sch_ops sch_ops_##name;
#include <xenos/policies.def>
#undef SCH_POLICY

/* All policies, NULL-terminated, in the order of policies.def. */
extern const struct sch_ops *const sch_policies[];

/* The policy whose opt_name is @name, or NULL. */
const struct sch_ops *sch_policy_find(const char *name);

#endif /* XENOS_SCHED_H */
