/*
 * credit2.c: Xen's credit2 scheduler (xen/common/sched/credit2.c, Xen
 * 4.17), re-implemented for xenos.
 *
 * Design: pCPUs are grouped into runqueues; each runqueue keeps its
 * runnable units in one list ordered by credit, highest first.  Credit is
 * time: a unit starts with C2_CREDIT_INIT_NS and burns it as it runs, at a
 * rate of max_weight / weight (max_weight: the highest weight of a unit
 * assigned to the runqueue), so the heaviest unit burns one ns per ns and
 * a unit of half its weight burns two.  When the best unit a pCPU could run
 * has no credit left, an epoch ends: every unit of the runqueue gets
 * C2_CREDIT_INIT_NS more, clipped to INIT + C2_CARRYOVER_MAX_NS (reset).
 * A unit runs until its credit falls to that of the next waiter, between
 * C2_MIN_TIMER_NS (or the ratelimit) and C2_MAX_TIMER_NS.  A waker
 * preempts the running unit with the least credit if it has more (by
 * C2_MIGRATE_RESIST_NS when it would change pCPU), once that unit has run
 * for its ratelimit; an idle, untickled pCPU of the runqueue is tickled
 * first.  Runqueues are balanced by load: each runqueue and each unit
 * keep an exponentially decaying average of how many units were runnable
 * (fixed point, C2_LOAD_PRECISION_SHIFT fractional bits, a window of about
 * a second), and at every credit reset the pCPU compares its runqueue with
 * the one whose load differs most and pushes, pulls or swaps the units
 * that narrow the gap most.  A domain's cap is a budget of cap% of the
 * replenishment period (C2_CAP_PERIOD_MS_DEFAULT), refilled by a timer of
 * the domain's; a unit about to run grabs a quota of it, returns what it
 * did not use when it stops, and an overrun is taken out of the next grab
 * or the next period (borrowed); a unit that finds no budget is parked
 * until the refill.  docs/schedulers.md lists where this differs from Xen
 * and why.
 *
 * Locking: a runqueue's lock is the schedule lock of all its pCPUs
 * (pcpu_lock), so the host holds it around every hook on one of them; it
 * guards the runqueue (its lists, masks, load and max_weight) and the
 * units assigned to it.  c2_private.lock guards the set of runqueues and
 * which pCPU belongs to which, and the tunables; a domain's budget_lock
 * guards its budget and its list of parked units.  Lock order, as Xen's:
 * private lock, then runqueue locks; runqueue lock, then budget lock.  A
 * hook that holds a runqueue lock only trylocks the private lock and
 * other runqueues (pick_resource, load balancing, unparking a unit of
 * another runqueue), so two pCPUs balancing against each other cannot
 * deadlock.
 */
#include <xenos/sched.h>

#define C2_CREDIT_INIT_NS           SCH_MSEC(10)
/* Lower credit tells nothing more: a unit that ran long stops here. */
#define C2_CREDIT_MIN_NS            (-C2_CREDIT_INIT_NS)
/* Below any real unit's, so a real unit always beats idle. */
#define C2_IDLE_CREDIT_NS           (C2_CREDIT_MIN_NS - 1)
#define C2_CREDIT_RESET_NS          0
#define C2_MIN_TIMER_NS             SCH_USEC(500)
#define C2_MAX_TIMER_NS             C2_CREDIT_INIT_NS
/* What a unit may carry over a reset. */
#define C2_CARRYOVER_MAX_NS         C2_MIN_TIMER_NS
/* A unit changes pCPU only for this much more credit (cache warmth)... */
#define C2_MIGRATE_RESIST_NS        SCH_USEC(500)
/* ...and is paid this much for the move. */
#define C2_MIGRATE_COMPENSATION_NS  SCH_USEC(50)
/* A running unit this close to its ratelimit counts as preemptable. */
#define C2_RATELIMIT_TOLERANCE_NS   SCH_USEC(50)
#define C2_RATELIMIT_US_DEFAULT     1000u
/* Xen's XEN_SYSCTL_SCHED_RATELIMIT_MIN / _MAX, for a non-zero value. */
#define C2_RATELIMIT_US_MIN         100u
#define C2_RATELIMIT_US_MAX         500000u
#define C2_CAP_PERIOD_MS_DEFAULT    10u
#define C2_CAP_PERIOD_US_MAX        1000000u
/* A cap is a percentage of one pCPU per unit of the domain. */
#define C2_CAP_PCT_PER_UNIT         100u
/* Xen's sched_credit2_max_cpus_runqueue default. */
#define C2_RUNQ_CPUS_DEFAULT        16u

/* Load averages: samples in units of 2^10 ns, a window of 2^20 such
 * units (about a second), 18 fractional bits. */
#define C2_LOAD_GRANULARITY_SHIFT   10
#define C2_LOAD_WINDOW_SHIFT        (30 - C2_LOAD_GRANULARITY_SHIFT)
#define C2_LOAD_PRECISION_SHIFT     18
/* Balance only beyond 2^tolerance of one unit's load: one unit when the
 * runqueues are under capacity, an eighth when they are over. */
#define C2_BALANCE_UNDER_SHIFT      0
#define C2_BALANCE_OVER_SHIFT       (-3)

#define C2_NO_BUDGET                SCH_TIME_MAX
#define C2_NO_CPU                   SCH_MAX_CPUS

struct c2_runq {
    struct sch_lock lock;               /* schedule lock of its pCPUs */
    struct sch_list runq;               /* runnable, by credit, best first */
    struct sch_list svc;                /* every unit assigned here */
    unsigned int id;
    unsigned int refcnt;                /* pCPUs assigned (c2_private.lock) */
    unsigned int nr_cpus;               /* pCPUs active */
    struct sch_cpumask active, idle, tickled;
    int load;                           /* runnable units now */
    sch_time_t load_last_update;        /* in 2^GRANULARITY ns */
    sch_time_t avgload;                 /* decaying load, fixed point */
    sch_time_t b_avgload;               /* the same, with balancing's moves */
    uint32_t max_weight;
    unsigned int pick_bias;             /* a hint: relaxed atomics */
};

struct c2_private {
    struct sch_lock lock;
    const struct sch_sched *s;
    struct c2_runq *rqs[SCH_MAX_CPUS];  /* by id; kept until deinit */
    unsigned int nr_pcpus;              /* with pdata */
    unsigned int runq_cpus;             /* most pCPUs per runqueue */
    sch_time_t ratelimit_ns;
    sch_time_t period_ns;               /* cap refill (atomic) */
};

struct c2_pcpu {
    struct c2_runq *rqd;
    unsigned int cpu;
    bool active;                        /* in rqd->active */
};

struct c2_dom {
    struct sch_lock budget_lock;
    const struct sch_sched *s;
    struct sch_domain *dom;
    struct sch_timer repl_timer;
    /* Under budget_lock. */
    uint32_t budget_cap_pct;            /* cap_pct, for the refill */
    sch_time_t tot_budget;              /* per period */
    sch_time_t budget;                  /* left in this period */
    sch_time_t next_repl;
    struct sch_list parked;
    /* Under c2_private.lock. */
    uint32_t weight;
    uint32_t cap_pct;                   /* 0: none */
};

struct c2_unit {
    struct sch_list runq_elem;          /* on rqd->runq */
    struct sch_list rqd_elem;           /* on rqd->svc */
    struct sch_list parked_elem;        /* on sdom->parked */
    struct c2_dom *sdom;                /* NULL for an idle unit */
    struct sch_unit *unit;
    struct c2_runq *rqd;
    int32_t credit;                     /* ns */
    uint32_t weight;
    uint64_t residual;                  /* of the burn division */
    sch_time_t budget;                  /* C2_NO_BUDGET: uncapped */
    sch_time_t start_time;              /* charged up to here */
    sch_time_t run_since;               /* switched in at (ratelimit) */
    sch_time_t load_last_update;
    sch_time_t avgload;
    unsigned int tickled_cpu;           /* C2_NO_CPU: none */
    bool scheduled;                     /* chosen, context not yet saved */
    bool delayed_runq_add;              /* queue it at context_saved */
    bool yield;
    bool parked;                        /* on sdom->parked */
};

static struct c2_private *c2_priv(const struct sch_sched *s)
{
    return s->priv;
}

static struct c2_pcpu *c2_pcpu(const struct sch_sched *s, unsigned int cpu)
{
    return sch_res(s, cpu)->priv;
}

static struct c2_unit *c2_unit(const struct sch_unit *u)
{
    return u->priv;
}

static struct c2_runq *c2rqd(const struct sch_sched *s, unsigned int cpu)
{
    return c2_pcpu(s, cpu)->rqd;
}

static struct c2_unit *c2_runq_entry(struct sch_list *l)
{
    return sch_list_entry(l, struct c2_unit, runq_elem);
}

static struct c2_unit *c2_svc_entry(struct sch_list *l)
{
    return sch_list_entry(l, struct c2_unit, rqd_elem);
}

static bool c2_has_cap(const struct c2_unit *svc)
{
    return svc->budget != C2_NO_BUDGET;
}

static bool c2_on_runq(const struct c2_unit *svc)
{
    return !sch_list_empty(&svc->runq_elem);
}

/* Xen's unit_runnable_state(): a parked unit is paused there
 * (_VPF_parked). */
static bool c2_runnable(const struct c2_unit *svc)
{
    return svc->unit->runnable && !svc->parked;
}

static unsigned int c2_bias(const struct c2_runq *rqd)
{
    return __atomic_load_n(&rqd->pick_bias, __ATOMIC_RELAXED);
}

static void c2_set_bias(struct c2_runq *rqd, unsigned int cpu)
{
    __atomic_store_n(&rqd->pick_bias, cpu, __ATOMIC_RELAXED);
}

/* @cpu if it is in @m, else the next one in @m after it. */
static unsigned int c2_test_or_cycle(unsigned int cpu,
                                     const struct sch_cpumask *m)
{
    return sch_cpumask_test(m, cpu) ? cpu : sch_cpumask_cycle(m, cpu);
}

/* ------------------------------------------------------------------ */
/* Load tracking.  Lock of the runqueue held.                          */

/*
 * avg += delta * (load - avg) / W over the delta since the last update,
 * or avg = load when more than a window has passed: the runnable count
 * weighted by how long it held within the last window.
 */
static sch_time_t c2_decay(sch_time_t avg, sch_time_t load,
                           sch_time_t last, sch_time_t now)
{
    sch_time_t delta;

    if ( last + ((sch_time_t)1 << C2_LOAD_WINDOW_SHIFT) < now )
        return load << C2_LOAD_PRECISION_SHIFT;
    delta = now - last;
    if ( delta < 0 )
        delta = 0;
    return avg + ((delta * (load << C2_LOAD_PRECISION_SHIFT)) >>
                  C2_LOAD_WINDOW_SHIFT) -
           ((delta * avg) >> C2_LOAD_WINDOW_SHIFT);
}

static void c2_update_runq_load(struct c2_runq *rqd, int change,
                                sch_time_t now)
{
    sch_time_t t = now >> C2_LOAD_GRANULARITY_SHIFT;

    SCH_ASSERT_LOCKED(&rqd->lock);
    rqd->avgload = c2_decay(rqd->avgload, rqd->load, rqd->load_last_update,
                            t);
    rqd->b_avgload = c2_decay(rqd->b_avgload, rqd->load,
                              rqd->load_last_update, t);
    rqd->load += change;
    rqd->load_last_update = t;
    SCH_ASSERT(rqd->avgload >= 0 && rqd->b_avgload >= 0 && rqd->load >= 0);
}

/* @change: +1 it becomes runnable, -1 it stops, 0 a sample. */
static void c2_update_svc_load(struct c2_unit *svc, int change,
                               sch_time_t now)
{
    sch_time_t t = now >> C2_LOAD_GRANULARITY_SHIFT;
    sch_time_t load = change == -1 ? 1 : change == 1 ? 0
                                                      : svc->unit->runnable;

    svc->avgload = c2_decay(svc->avgload, load, svc->load_last_update, t);
    svc->load_last_update = t;
}

static void c2_update_load(struct c2_runq *rqd, struct c2_unit *svc,
                           int change, sch_time_t now)
{
    c2_update_runq_load(rqd, change, now);
    if ( svc )
        c2_update_svc_load(svc, change, now);
}

/* ------------------------------------------------------------------ */
/* Runqueues: lock of the runqueue held.                               */

/* The heaviest unit assigned sets the burn rate of all. */
static void c2_update_max_weight(struct c2_runq *rqd, uint32_t new_weight,
                                 uint32_t old_weight)
{
    struct sch_list *pos;
    uint32_t max = 1;

    SCH_ASSERT_LOCKED(&rqd->lock);
    if ( new_weight > rqd->max_weight )
    {
        rqd->max_weight = new_weight;
        return;
    }
    if ( old_weight != rqd->max_weight )
        return;
    sch_list_for_each(pos, &rqd->svc)
        if ( c2_svc_entry(pos)->weight > max )
            max = c2_svc_entry(pos)->weight;
    rqd->max_weight = max;
}

static void c2_runq_assign(struct c2_unit *svc, struct c2_runq *rqd)
{
    SCH_ASSERT_LOCKED(&rqd->lock);
    SCH_ASSERT(!svc->rqd);
    svc->rqd = rqd;
    sch_list_add_tail(&svc->rqd_elem, &rqd->svc);
    c2_update_max_weight(rqd, svc->weight, 0);
    /* What the runqueue's load will be, for balancing's next look. */
    rqd->b_avgload += svc->avgload;
}

static void c2_runq_deassign(struct c2_unit *svc)
{
    struct c2_runq *rqd = svc->rqd;

    SCH_ASSERT_LOCKED(&rqd->lock);
    SCH_ASSERT(!c2_on_runq(svc) && !svc->scheduled);
    sch_list_del_init(&svc->rqd_elem);
    c2_update_max_weight(rqd, 0, svc->weight);
    rqd->b_avgload -= svc->avgload;
    if ( rqd->b_avgload < 0 )
        rqd->b_avgload = 0;
    svc->rqd = NULL;
}

/*
 * Behind every unit with as much credit or more: FIFO among equals, the
 * place Xen's walk from the head finds.  The runqueue stays sorted (only
 * a reset changes queued credit, and it keeps the order), so that place
 * is also right after the last unit with as much credit: walking from
 * both ends at once finds it after at most half the queue, and soon when
 * it is near either end (a waker near the head, a preempted hog near the
 * tail).
 */
static void c2_runq_insert(struct c2_unit *svc)
{
    struct c2_runq *rqd = svc->rqd;
    struct sch_list *head = &rqd->runq, *fwd = head->next, *bwd = head->prev;

    SCH_ASSERT_LOCKED(&rqd->lock);
    SCH_ASSERT(!c2_on_runq(svc) && !svc->unit->is_idle && !svc->scheduled);
    SCH_ASSERT(!svc->unit->is_running && !svc->parked);
    for ( ;; )
    {
        if ( fwd == head || svc->credit > c2_runq_entry(fwd)->credit )
            break;
        if ( svc->credit <= c2_runq_entry(bwd)->credit )
        {
            fwd = bwd->next;
            break;
        }
        fwd = fwd->next;
        bwd = bwd->prev;
    }
    sch_list_add_tail(&svc->runq_elem, fwd);
}

static void c2_runq_remove(struct c2_unit *svc)
{
    SCH_ASSERT_LOCKED(&svc->rqd->lock);
    SCH_ASSERT(c2_on_runq(svc));
    sch_list_del_init(&svc->runq_elem);
}

static void c2_tickle_cpu(const struct sch_sched *s, struct c2_runq *rqd,
                          unsigned int cpu)
{
    SCH_ASSERT_LOCKED(&rqd->lock);
    sch_cpumask_set(&rqd->tickled, cpu);
    sch_kick(s, cpu);
}

/* ------------------------------------------------------------------ */
/* Credit: lock of the unit's runqueue held.                           */

/* Charge @svc, current on its pCPU, for its time since the last charge:
 * time * max_weight / weight, the remainder kept for next time. */
static void c2_burn(struct c2_runq *rqd, struct c2_unit *svc,
                    sch_time_t now)
{
    sch_time_t delta;
    uint64_t val;
    int64_t credit;

    SCH_ASSERT_LOCKED(&rqd->lock);
    if ( svc->unit->is_idle )
        return;
    delta = now - svc->start_time;
    if ( delta <= 0 )
        return;
    val = (uint64_t)delta * rqd->max_weight + svc->residual;
    svc->residual = val % svc->weight;
    val /= svc->weight;
    credit = (int64_t)svc->credit - (int64_t)(val > (uint64_t)INT32_MAX
                                              ? (uint64_t)INT32_MAX : val);
    svc->credit = credit < C2_CREDIT_MIN_NS ? (int32_t)C2_CREDIT_MIN_NS
                                            : (int32_t)credit;
    if ( c2_has_cap(svc) )
        svc->budget -= delta;
    svc->start_time = now;
}

/* Credit to time at @svc's burn rate. */
static sch_time_t c2_c2t(const struct c2_runq *rqd, sch_time_t credit,
                         const struct c2_unit *svc)
{
    return credit * svc->weight / rqd->max_weight;
}

/*
 * An epoch ends: everyone of the runqueue gets another INIT, twice that if
 * @snext fell to the floor (so that it is in credit again), clipped to
 * INIT + CARRYOVER.  Order is kept, so the runqueue needs no re-sort.
 */
static void c2_reset_credit(const struct sch_sched *s, struct c2_runq *rqd,
                            struct c2_unit *snext, sch_time_t now)
{
    sch_time_t reset = C2_CREDIT_INIT_NS;
    struct sch_list *pos;

    SCH_ASSERT_LOCKED(&rqd->lock);
    SCH_ASSERT(snext->credit >= C2_CREDIT_MIN_NS);
    if ( snext->credit == C2_CREDIT_MIN_NS )
        reset += C2_CREDIT_INIT_NS;
    sch_list_for_each(pos, &rqd->svc)
    {
        struct c2_unit *svc = c2_svc_entry(pos);
        unsigned int cpu = svc->unit->res;
        sch_time_t credit;

        /* What runs must have its time so far charged first... */
        if ( sch_curr_on_cpu(s, cpu) == svc->unit )
        {
            c2_burn(rqd, svc, now);
            /* ...and one out of budget must stop. */
            if ( svc->budget <= 0 )
                c2_tickle_cpu(s, rqd, cpu);
        }
        credit = svc->credit + reset;
        if ( credit > C2_CREDIT_INIT_NS + C2_CARRYOVER_MAX_NS )
            credit = C2_CREDIT_INIT_NS + C2_CARRYOVER_MAX_NS;
        svc->credit = (int32_t)credit;
        svc->start_time = now;
    }
    SCH_ASSERT(snext->credit > 0);
}

/* ------------------------------------------------------------------ */
/* Caps: a domain's budget.                                            */

/* Out of budget: park @svc until budget comes back.  Lock of its
 * runqueue and its domain's budget_lock held. */
static void c2_park(struct c2_unit *svc, sch_time_t now)
{
    SCH_ASSERT_LOCKED(&svc->sdom->budget_lock);
    SCH_ASSERT_LOCKED(&svc->rqd->lock);
    svc->parked = true;
    if ( c2_on_runq(svc) )
    {
        c2_runq_remove(svc);
        c2_update_load(svc->rqd, svc, -1, now);
    }
    sch_list_add(&svc->parked_elem, &svc->sdom->parked);
}

/*
 * Before @svc runs: take a quota from the domain's pool.  What it overran
 * last time (a negative budget) is paid back first, out of this period's
 * pool.  Parks it if nothing is left.  Returns whether it may run.  Lock
 * of its runqueue held.
 */
static bool c2_grab_budget(struct c2_unit *svc, sch_time_t now)
{
    struct c2_dom *sdom = svc->sdom;

    SCH_ASSERT_LOCKED(&svc->rqd->lock);
    if ( svc->budget > 0 )
        return true;
    sch_spin_lock(&sdom->budget_lock);
    sdom->budget += svc->budget;
    if ( sdom->budget > 0 )
    {
        /* Each unit takes 1/N, so each gets to run every period. */
        sch_time_t quota = sdom->tot_budget / sdom->dom->nr_units;

        if ( quota < C2_MIN_TIMER_NS )
            quota = C2_MIN_TIMER_NS;
        svc->budget = sdom->budget < quota ? sdom->budget : quota;
        sdom->budget -= svc->budget;
    }
    else
    {
        svc->budget = 0;
        c2_park(svc, now);
    }
    sch_spin_unlock(&sdom->budget_lock);
    return svc->budget > 0;
}

/* Move the domain's parked units to @parked, to be unparked outside
 * the budget_lock (unparking takes runqueue locks).  budget_lock held. */
static void c2_take_parked(struct c2_dom *sdom, struct sch_list *parked)
{
    SCH_ASSERT_LOCKED(&sdom->budget_lock);
    while ( !sch_list_empty(&sdom->parked) )
    {
        struct sch_list *l = sdom->parked.next;

        sch_list_del_init(l);
        sch_list_add_tail(l, parked);
    }
}

/* @svc stops running: what it did not use goes back to the pool, and if
 * the pool has some, the parked units move to @parked to be unparked
 * (outside the budget_lock).  Lock of its runqueue held. */
static void c2_return_budget(struct c2_unit *svc, struct sch_list *parked)
{
    struct c2_dom *sdom = svc->sdom;

    SCH_ASSERT_LOCKED(&svc->rqd->lock);
    sch_spin_lock(&sdom->budget_lock);
    sdom->budget += svc->budget;
    svc->budget = 0;
    if ( sdom->budget > 0 )
        c2_take_parked(sdom, parked);
    sch_spin_unlock(&sdom->budget_lock);
}

static void c2_runq_tickle(const struct sch_sched *s, struct c2_unit *new,
                           sch_time_t now);

/* Unpark @svc, taken off its domain's list.  Lock of its runqueue held. */
static void c2_unpark_one(const struct sch_sched *s, struct c2_unit *svc,
                          sch_time_t now)
{
    SCH_ASSERT_LOCKED(&svc->rqd->lock);
    svc->parked = false;
    if ( svc->scheduled )
        /* Parked by do_schedule, not yet switched out: queued when
         * saved, to compete for the new budget. */
        svc->delayed_runq_add = true;
    else if ( c2_runnable(svc) && sch_curr_on_cpu(s, svc->unit->res) !=
                                  svc->unit )
    {
        c2_update_load(svc->rqd, svc, 1, now);
        c2_runq_insert(svc);
        c2_runq_tickle(s, svc, now);
    }
}

/* Back to its domain's list, for the next replenishment. */
static void c2_repark(struct c2_unit *svc)
{
    struct c2_dom *sdom = svc->sdom;

    sch_spin_lock(&sdom->budget_lock);
    sch_list_add_tail(&svc->parked_elem, &sdom->parked);
    sch_spin_unlock(&sdom->budget_lock);
}

/*
 * Unpark the units on @parked.  @held: the runqueue whose lock the caller
 * holds (context_saved), or NULL (no lock held: a timer, adjust).  With a
 * lock held, other runqueues are only trylocked; a unit whose runqueue is
 * busy goes back to its domain's list and waits for the next refill.
 * Runqueues, not the host's lock pointers, are compared: in Xen each pCPU
 * has a lock structure of its own over its runqueue's spinlock.
 */
static void c2_unpark(const struct sch_sched *s, struct sch_list *parked,
                      struct c2_runq *held, sch_time_t now)
{
    while ( !sch_list_empty(parked) )
    {
        struct c2_unit *svc = sch_list_entry(parked->next, struct c2_unit,
                                             parked_elem);
        struct c2_runq *rqd;

        sch_list_del_init(&svc->parked_elem);
        if ( held && svc->rqd == held )
        {
            c2_unpark_one(s, svc, now);
            continue;
        }
        /* Its runqueue may change until we hold the lock that guards it. */
        for ( ;; )
        {
            rqd = svc->rqd;
            if ( held )
            {
                if ( !sch_spin_trylock(&rqd->lock) )
                {
                    rqd = NULL;
                    break;
                }
            }
            else
                sch_spin_lock(&rqd->lock);
            if ( rqd == svc->rqd )
                break;
            sch_spin_unlock(&rqd->lock);
            rqd = NULL;
        }
        if ( rqd != svc->rqd )
        {
            c2_repark(svc);
            continue;
        }
        c2_unpark_one(s, svc, now);
        sch_spin_unlock(&rqd->lock);
    }
}

/* The domain's timer: a period's budget, on top of any debt. */
static void SCH_HOOK c2_replenish(void *data, sch_time_t now)
{
    struct c2_dom *sdom = data;
    const struct sch_sched *s = sdom->s;
    /* Written by adjust_global under the private lock, which a timer may
     * not take (lock order): one aligned word, read once. */
    sch_time_t period = __atomic_load_n(&c2_priv(s)->period_ns,
                                        __ATOMIC_RELAXED);
    struct sch_list parked;

    sch_list_init(&parked);
    sch_spin_lock(&sdom->budget_lock);
    /* A new period takes effect at the refill. */
    sdom->tot_budget = period * sdom->budget_cap_pct / 100;
    /* Late by whole periods: each one's budget, and no more. */
    do
    {
        sdom->next_repl += period;
        sdom->budget += sdom->tot_budget;
    } while ( sdom->next_repl <= now );
    if ( sdom->budget > 0 )
    {
        if ( sdom->budget > sdom->tot_budget )
            sdom->budget = sdom->tot_budget;
        c2_take_parked(sdom, &parked);
    }
    sch_spin_unlock(&sdom->budget_lock);
    c2_unpark(s, &parked, NULL, now);
    sch_timer_set(&sdom->repl_timer, sdom->next_repl);
}

/* ------------------------------------------------------------------ */
/* Tickling                                                            */

static bool c2_preemptable(const struct c2_private *prv,
                           const struct c2_unit *svc, sch_time_t now)
{
    if ( prv->ratelimit_ns <= C2_RATELIMIT_TOLERANCE_NS )
        return true;
    return now - svc->run_since > prv->ratelimit_ns -
                                  C2_RATELIMIT_TOLERANCE_NS;
}

/*
 * How much @new deserves @cpu: its credit over that of what runs there,
 * less the migration resistance if it would change pCPU; negative if it
 * does not deserve it.  xenos models no soft affinity, so every pCPU is
 * in everyone's: Xen then adds INIT to every positive score.
 */
static sch_time_t c2_tickle_score(const struct sch_sched *s,
                                  struct c2_runq *rqd,
                                  const struct c2_unit *new,
                                  unsigned int cpu, sch_time_t now)
{
    struct c2_unit *cur = c2_unit(sch_curr_on_cpu(s, cpu));
    sch_time_t score;

    SCH_ASSERT_LOCKED(&rqd->lock);
    /* Idle while busy: it runs a tasklet; leave it be. */
    if ( cur->unit->is_idle || !c2_preemptable(c2_priv(s), cur, now) )
        return -1;
    c2_burn(rqd, cur, now);
    score = (sch_time_t)new->credit - cur->credit;
    if ( new->unit->res != cpu )
        score -= C2_MIGRATE_RESIST_NS;
    if ( score > 0 )
        score += C2_CREDIT_INIT_NS;
    return score;
}

/*
 * @new was just queued: wake a pCPU of its runqueue to run it.  An idle,
 * untickled one, its own first; else the busy one whose unit it beats by
 * most, its own first.  Lock of its runqueue held.
 */
static void c2_runq_tickle(const struct sch_sched *s, struct c2_unit *new,
                           sch_time_t now)
{
    struct c2_runq *rqd = new->rqd;
    unsigned int cpu = new->unit->res, i, ipid = C2_NO_CPU;
    struct sch_cpumask mask, allowed;
    sch_time_t max = 0;

    SCH_ASSERT_LOCKED(&rqd->lock);
    sch_cpumask_and(&allowed, &new->unit->hard_affinity, &s->cpus);
    sch_cpumask_and(&mask, &rqd->idle, &allowed);
    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        mask.bits[i] &= ~rqd->tickled.bits[i];
    i = c2_test_or_cycle(cpu, &mask);
    if ( i < SCH_MAX_CPUS )
    {
        ipid = i;
        goto tickle;
    }

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        mask.bits[i] = rqd->active.bits[i] & ~rqd->idle.bits[i] &
                       ~rqd->tickled.bits[i] & allowed.bits[i];
    if ( sch_cpumask_test(&mask, cpu) )
    {
        sch_cpumask_clear(&mask, cpu);
        /* Its own pCPU, in its soft affinity: taken if deserved. */
        if ( c2_tickle_score(s, rqd, new, cpu, now) > 0 )
        {
            ipid = cpu;
            goto tickle;
        }
    }
    sch_for_each_cpu(i, &mask)
    {
        sch_time_t score = c2_tickle_score(s, rqd, new, i, now);

        if ( score > max )
        {
            max = score;
            ipid = i;
        }
    }
    if ( ipid == C2_NO_CPU )
        return;

 tickle:
    c2_tickle_cpu(s, rqd, ipid);
    new->tickled_cpu = ipid;
}

/* ------------------------------------------------------------------ */
/* Moving between runqueues                                            */

/* Move @svc, not scheduled, to @trqd.  Locks of both runqueues held. */
static void c2_migrate(const struct sch_sched *s, struct c2_unit *svc,
                       struct c2_runq *trqd, sch_time_t now)
{
    struct sch_unit *u = svc->unit;
    struct sch_cpumask m;
    bool on_runq = c2_on_runq(svc);
    unsigned int cpu;

    SCH_ASSERT_LOCKED(&svc->rqd->lock);
    SCH_ASSERT_LOCKED(&trqd->lock);
    SCH_ASSERT(!svc->scheduled);
    sch_cpumask_and(&m, &u->hard_affinity, &trqd->active);
    sch_cpumask_and(&m, &m, &s->cpus);
    cpu = sch_cpumask_cycle(&m, c2_bias(trqd));
    if ( cpu >= SCH_MAX_CPUS )
        return;     /* affinity changed under us: stay */
    if ( on_runq )
    {
        c2_runq_remove(svc);
        c2_update_load(svc->rqd, NULL, -1, now);
    }
    c2_runq_deassign(svc);
    sch_unit_set_res(u, cpu);
    c2_set_bias(trqd, cpu);
    c2_runq_assign(svc, trqd);
    if ( on_runq )
    {
        c2_update_load(trqd, NULL, 1, now);
        c2_runq_insert(svc);
        c2_runq_tickle(s, svc, now);
    }
}

/*
 * Balancing may move @svc to @rqd: it may run there, and it is not on a
 * pCPU.  Xen also moves a running unit, by flagging it to migrate, which
 * the core does once it is switched out; xenos hosts have no such request
 * (and a move in context_saved would change its lock under the host).
 */
static bool c2_migrateable(const struct c2_unit *svc,
                           const struct c2_runq *rqd)
{
    return !svc->scheduled &&
           sch_cpumask_intersects(&svc->unit->hard_affinity, &rqd->active);
}

struct c2_balance {
    struct c2_runq *lrqd, *orqd;
    sch_time_t load_delta;
    struct c2_unit *push, *pull;
};

/* Keep the push/pull pair that leaves the loads closest. */
static void c2_consider(struct c2_balance *st, struct c2_unit *push,
                        struct c2_unit *pull)
{
    sch_time_t l = st->lrqd->b_avgload, o = st->orqd->b_avgload, delta;

    if ( push )
    {
        l -= push->avgload;
        o += push->avgload;
    }
    if ( pull )
    {
        l += pull->avgload;
        o -= pull->avgload;
    }
    delta = l > o ? l - o : o - l;
    if ( delta < st->load_delta )
    {
        st->load_delta = delta;
        st->push = push;
        st->pull = pull;
    }
}

/*
 * At a credit reset on @cpu: find the runqueue whose load differs most
 * from ours and, if the gap is worth it, push, pull or swap the units that
 * narrow it most.  Lock of @cpu's runqueue held; the private lock and the
 * other runqueues only trylocked.
 */
static void c2_balance_load(const struct sch_sched *s, unsigned int cpu,
                            sch_time_t now)
{
    struct c2_private *prv = c2_priv(s);
    struct c2_balance st = { .lrqd = c2rqd(s, cpu) };
    struct c2_runq *max_rqd = NULL, *last = NULL;
    struct sch_list *ppos, *qpos;
    bool pulls_updated = false;
    sch_time_t load_max, tol;
    unsigned int i, cpus_max;
    int shift;

    SCH_ASSERT_LOCKED(&st.lrqd->lock);
    c2_update_runq_load(st.lrqd, 0, now);
    if ( !sch_spin_trylock(&prv->lock) )
        return;
    st.load_delta = 0;
    for ( i = 0; i < SCH_MAX_CPUS; i++ )
    {
        struct c2_runq *rqd = prv->rqs[i];
        sch_time_t delta;

        if ( !rqd || !rqd->nr_cpus )
            continue;
        last = rqd;
        if ( rqd == st.lrqd || !sch_spin_trylock(&rqd->lock) )
            continue;
        c2_update_runq_load(rqd, 0, now);
        delta = st.lrqd->b_avgload - rqd->b_avgload;
        if ( delta < 0 )
            delta = -delta;
        if ( delta > st.load_delta )
        {
            st.load_delta = delta;
            max_rqd = rqd;
        }
        sch_spin_unlock(&rqd->lock);
    }
    sch_spin_unlock(&prv->lock);
    if ( !max_rqd )
        return;

    /*
     * Under capacity only a whole unit's difference is worth a move; over
     * it, an eighth of one.  Capacity is judged, as Xen's code judges it,
     * against the last runqueue looked at, which is the chosen one when
     * there are two.
     */
    load_max = st.lrqd->b_avgload > last->b_avgload ? st.lrqd->b_avgload
                                                    : last->b_avgload;
    cpus_max = st.lrqd->nr_cpus > last->nr_cpus ? st.lrqd->nr_cpus
                                                : last->nr_cpus;
    shift = C2_LOAD_PRECISION_SHIFT +
            (load_max < ((sch_time_t)cpus_max << C2_LOAD_PRECISION_SHIFT)
             ? C2_BALANCE_UNDER_SHIFT : C2_BALANCE_OVER_SHIFT);
    tol = (sch_time_t)1 << shift;
    if ( st.load_delta < tol )
        return;
    st.orqd = max_rqd;
    if ( !sch_spin_trylock(&st.orqd->lock) )
        return;

    /* Every swap, push and pull: O(n * m), as Xen.  The other side's
     * loads are brought up to date on the first pass over it, as Xen's
     * are (and so not at all if nothing here may go there). */
    sch_list_for_each(ppos, &st.lrqd->svc)
    {
        struct c2_unit *push = c2_svc_entry(ppos);

        c2_update_svc_load(push, 0, now);
        if ( !c2_migrateable(push, st.orqd) )
            continue;
        sch_list_for_each(qpos, &st.orqd->svc)
        {
            struct c2_unit *pull = c2_svc_entry(qpos);

            if ( !pulls_updated )
                c2_update_svc_load(pull, 0, now);
            if ( c2_migrateable(pull, st.lrqd) )
                c2_consider(&st, push, pull);
        }
        pulls_updated = true;
        c2_consider(&st, push, NULL);
    }
    sch_list_for_each(qpos, &st.orqd->svc)
    {
        struct c2_unit *pull = c2_svc_entry(qpos);

        if ( c2_migrateable(pull, st.lrqd) )
            c2_consider(&st, NULL, pull);
    }
    if ( st.push )
        c2_migrate(s, st.push, st.orqd, now);
    if ( st.pull )
        c2_migrate(s, st.pull, st.lrqd, now);
    sch_spin_unlock(&st.orqd->lock);
}

/* ------------------------------------------------------------------ */
/* Placement                                                           */

/* pick_resource's answer when the private lock is busy: stay near. */
static unsigned int c2_fallback_cpu(const struct sch_sched *s,
                                    const struct c2_unit *svc)
{
    const struct sch_unit *u = svc->unit;
    struct sch_cpumask m;
    unsigned int cpu;

    sch_cpumask_and(&m, &u->hard_affinity, &s->cpus);
    if ( sch_cpumask_test(&m, u->res) )
        return u->res;
    if ( svc->rqd && sch_cpumask_intersects(&m, &svc->rqd->active) )
    {
        struct sch_cpumask in;

        sch_cpumask_and(&in, &m, &svc->rqd->active);
        return sch_cpumask_next(&in, 0);
    }
    cpu = sch_cpumask_next(&m, 0);
    return cpu < SCH_MAX_CPUS ? cpu : u->res;
}

/*
 * A pCPU of the runqueue with the least load among those @u may use (its
 * own counted without @u, to be impartial); within it, round robin.  Lock
 * of u->res held.
 */
static unsigned int SCH_HOOK
c2_pick_resource(const struct sch_sched *s, const struct sch_unit *u)
{
    struct c2_private *prv = c2_priv(s);
    struct c2_unit *svc = c2_unit(u);
    struct c2_runq *min_rqd = NULL;
    sch_time_t min_load = SCH_TIME_MAX;
    struct sch_cpumask allowed, m;
    unsigned int i, cpu;

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    if ( !sch_spin_trylock(&prv->lock) )
        return c2_fallback_cpu(s, svc);
    sch_cpumask_and(&allowed, &u->hard_affinity, &s->cpus);
    for ( i = 0; i < SCH_MAX_CPUS; i++ )
    {
        struct c2_runq *rqd = prv->rqs[i];
        sch_time_t load = SCH_TIME_MAX;

        if ( !rqd || !sch_cpumask_intersects(&allowed, &rqd->active) )
            continue;
        if ( rqd == svc->rqd )
        {
            load = rqd->b_avgload - svc->avgload;
            if ( load < 0 )
                load = 0;
        }
        else if ( sch_spin_trylock(&rqd->lock) )
        {
            load = rqd->b_avgload;
            sch_spin_unlock(&rqd->lock);
        }
        if ( load < min_load )
        {
            min_load = load;
            min_rqd = rqd;
        }
    }
    if ( !min_rqd )
    {
        sch_spin_unlock(&prv->lock);
        return c2_fallback_cpu(s, svc);
    }
    sch_cpumask_and(&m, &allowed, &min_rqd->active);
    cpu = sch_cpumask_cycle(&m, c2_bias(min_rqd));
    c2_set_bias(min_rqd, cpu);
    sch_spin_unlock(&prv->lock);
    return cpu;
}

/* u, neither queued nor running, moves to @cpu.  Both locks held. */
static void SCH_HOOK
c2_migrate_hook(const struct sch_sched *s, struct sch_unit *u,
                unsigned int cpu)
{
    struct c2_unit *svc = c2_unit(u);
    struct c2_runq *trqd = c2rqd(s, cpu);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT_LOCKED(&trqd->lock);
    SCH_ASSERT(!c2_on_runq(svc) && !svc->scheduled);
    if ( trqd != svc->rqd )
    {
        c2_runq_deassign(svc);
        c2_runq_assign(svc, trqd);
    }
    sch_unit_set_res(u, cpu);
}

/* ------------------------------------------------------------------ */
/* Unit events: lock of u->res held.                                   */

static void SCH_HOOK c2_wake(const struct sch_sched *s, struct sch_unit *u,
                             sch_time_t now);

static void SCH_HOOK
c2_insert_unit(const struct sch_sched *s, struct sch_unit *u)
{
    struct c2_unit *svc = c2_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT(!u->is_idle && svc->sdom && !c2_on_runq(svc));
    c2_runq_assign(svc, c2rqd(s, u->res));
    /* The contract says a wake follows; a host that inserts a runnable
     * unit gets it queued now, at its time 0 as far as we know. */
    if ( u->runnable && !u->is_running )
        c2_wake(s, u, svc->start_time);
}

static void SCH_HOOK
c2_remove_unit(const struct sch_sched *s, struct sch_unit *u)
{
    struct c2_unit *svc = c2_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT(!u->is_idle && !c2_on_runq(svc));
    if ( svc->parked )
    {
        sch_spin_lock(&svc->sdom->budget_lock);
        sch_list_del_init(&svc->parked_elem);
        sch_spin_unlock(&svc->sdom->budget_lock);
        svc->parked = false;
    }
    svc->scheduled = svc->delayed_runq_add = false;
    if ( svc->rqd )
        c2_runq_deassign(svc);
}

static void SCH_HOOK
c2_sleep(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct c2_unit *svc = c2_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT(!u->is_idle);
    if ( sch_curr_on_cpu(s, u->res) == u )
        c2_tickle_cpu(s, svc->rqd, u->res);
    else if ( c2_on_runq(svc) )
    {
        c2_update_load(svc->rqd, svc, -1, now);
        c2_runq_remove(svc);
    }
    else
        svc->delayed_runq_add = false;
}

static void SCH_HOOK
c2_wake(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct c2_unit *svc = c2_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT(!u->is_idle);
    if ( sch_curr_on_cpu(s, u->res) == u || c2_on_runq(svc) )
        return;
    /* Waits for budget: the refill queues it (Xen: paused, no wake). */
    if ( svc->parked )
        return;
    /* Switched out, not saved yet: context_saved queues it. */
    if ( svc->scheduled )
    {
        svc->delayed_runq_add = true;
        return;
    }
    c2_update_load(svc->rqd, svc, 1, now);
    c2_runq_insert(svc);
    c2_runq_tickle(s, svc, now);
}

static void SCH_HOOK
c2_yield(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    c2_unit(u)->yield = true;
    sch_kick(s, u->res);
}

static void SCH_HOOK
c2_context_saved(const struct sch_sched *s, struct sch_unit *u,
                 sch_time_t now)
{
    struct c2_unit *svc = c2_unit(u);
    struct sch_list parked;

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    if ( u->is_idle )
        return;
    sch_list_init(&parked);
    svc->scheduled = false;
    if ( c2_has_cap(svc) && svc->budget > 0 )
        c2_return_budget(svc, &parked);

    if ( svc->delayed_runq_add && c2_runnable(svc) )
    {
        svc->delayed_runq_add = false;
        c2_runq_insert(svc);
        c2_runq_tickle(s, svc, now);
    }
    else
    {
        svc->delayed_runq_add = false;
        c2_update_load(svc->rqd, svc, -1, now);
    }
    c2_unpark(s, &parked, svc->rqd, now);
}

/* ------------------------------------------------------------------ */
/* Scheduling                                                          */

/*
 * How long @snext may run on @cpu: until its credit falls to that of the
 * first waiter (or to zero), no longer than its budget, and within
 * [MIN_TIMER (or what is left of its ratelimit), MAX_TIMER].
 */
static sch_time_t c2_runtime(const struct c2_private *prv,
                             struct c2_runq *rqd, struct c2_unit *snext,
                             sch_time_t now)
{
    sch_time_t time = 0, min_time = C2_MIN_TIMER_NS, rt_credit;

    if ( snext->unit->is_idle )
        return -1;
    if ( prv->ratelimit_ns )
    {
        sch_time_t rl = prv->ratelimit_ns;

        /* Still running: only the rest of its ratelimit. */
        if ( snext->unit->is_running )
            rl = snext->run_since + prv->ratelimit_ns - now;
        if ( rl > min_time )
            min_time = rl;
    }
    rt_credit = snext->credit;
    if ( !sch_list_empty(&rqd->runq) )
    {
        const struct c2_unit *swait = c2_runq_entry(rqd->runq.next);

        if ( swait->credit > 0 )
            rt_credit = (sch_time_t)snext->credit - swait->credit;
    }
    if ( rt_credit > 0 )
        time = c2_c2t(rqd, rt_credit, snext);
    if ( c2_has_cap(snext) && snext->budget < time )
        time = snext->budget;
    if ( time < min_time )
        time = min_time;
    else if ( time > C2_MAX_TIMER_NS )
        time = C2_MAX_TIMER_NS;
    return time;
}

/*
 * What @cpu should run: @scurr if it is within its ratelimit, else the
 * first unit of the runqueue that may run here, if it has more credit than
 * @scurr (or @scurr yields) and budget; a unit last on another pCPU needs
 * MIGRATE_RESIST more, and one tickled for another pCPU is left to it.
 */
static struct c2_unit *c2_runq_candidate(const struct sch_sched *s,
                                         struct c2_runq *rqd,
                                         struct c2_unit *scurr,
                                         unsigned int cpu, sch_time_t now)
{
    const struct c2_private *prv = c2_priv(s);
    struct c2_unit *snext;
    struct sch_list *pos, *next;
    bool yield = false;

    SCH_ASSERT_LOCKED(&rqd->lock);
    if ( scurr->unit->is_idle )
        snext = scurr;
    else
    {
        yield = scurr->yield;
        scurr->yield = false;
        /* A yielder is not held to its ratelimit: it may be spinning. */
        if ( !yield && prv->ratelimit_ns && c2_runnable(scurr) &&
             now - scurr->run_since < prv->ratelimit_ns )
            return scurr;
        snext = c2_runnable(scurr) ? scurr
                                   : c2_unit(sch_res(s, cpu)->idle);
    }

    sch_list_for_each_safe(pos, next, &rqd->runq)
    {
        struct c2_unit *svc = c2_runq_entry(pos);

        /* Sorted: no one further on beats snext either. */
        if ( !yield && svc->credit <= snext->credit )
            break;
        if ( !sch_cpumask_test(&svc->unit->hard_affinity, cpu) )
            continue;
        if ( svc->tickled_cpu != C2_NO_CPU && svc->tickled_cpu != cpu &&
             sch_cpumask_test(&rqd->tickled, svc->tickled_cpu) )
            continue;
        if ( svc->unit->res != cpu &&
             (sch_time_t)snext->credit + C2_MIGRATE_RESIST_NS >
             svc->credit )
            continue;
        /* Last, as it takes budget: out of it, it is parked, and the
         * scan goes on (Xen 4.16's fix; before, the pCPU went idle). */
        if ( c2_has_cap(svc) && !c2_grab_budget(svc, now) )
            continue;
        snext = svc;
        break;
    }
    SCH_ASSERT(snext->budget >= 0);
    return snext;
}

/* @cpu's pCPU joins its runqueue's active set.  Its lock held. */
static void c2_cpu_join(struct c2_pcpu *spc)
{
    struct c2_runq *rqd = spc->rqd;

    SCH_ASSERT_LOCKED(&rqd->lock);
    if ( spc->active )
        return;
    spc->active = true;
    sch_cpumask_set(&rqd->active, spc->cpu);
    sch_cpumask_set(&rqd->idle, spc->cpu);
    if ( rqd->nr_cpus++ == 0 )
        c2_set_bias(rqd, spc->cpu);
}

static void SCH_HOOK
c2_do_schedule(const struct sch_sched *s, struct sch_unit *curr,
               unsigned int cpu, sch_time_t now, bool tasklet_work,
               struct sch_slice *out)
{
    struct c2_pcpu *spc = c2_pcpu(s, cpu);
    struct c2_runq *rqd = spc->rqd;
    struct c2_unit *scurr = c2_unit(curr), *snext;
    bool migrated = false;
    /* Leaving its pool (out of s->cpus, its per-pCPU data not yet freed):
     * it takes no unit, and is never idle for a wake to pick, or Xen
     * would move units off it for ever (schedule_cpu_rm waits). */
    bool leaving = !sch_cpumask_test(&s->cpus, cpu);

    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    SCH_ASSERT_LOCKED(&rqd->lock);
    SCH_ASSERT(curr->res == cpu);
    /* Xen puts a pCPU in the instance after alloc_pdata: it joins now. */
    if ( !leaving )
        c2_cpu_join(spc);
    sch_cpumask_clear(&rqd->tickled, cpu);

    c2_burn(rqd, scurr, now);
    /* Overran its budget: more, or parked. */
    if ( !curr->is_idle && scurr->budget <= 0 )
        c2_grab_budget(scurr, now);

    if ( tasklet_work || leaving )
    {
        scurr->yield = false;
        snext = c2_unit(sch_res(s, cpu)->idle);
    }
    else
        snext = c2_runq_candidate(s, rqd, scurr, cpu, now);

    if ( snext != scurr && !curr->is_idle && c2_runnable(scurr) )
        scurr->delayed_runq_add = true;

    if ( !snext->unit->is_idle )
    {
        sch_time_t top;

        if ( snext != scurr )
        {
            SCH_ASSERT(snext->rqd == rqd && !snext->unit->is_running);
            c2_runq_remove(snext);
            snext->scheduled = true;
            snext->run_since = now;
        }
        sch_cpumask_clear(&rqd->idle, cpu);
        /* An epoch ends when the best waiting credit is spent. */
        top = snext->credit;
        if ( !sch_list_empty(&rqd->runq) &&
             c2_runq_entry(rqd->runq.next)->credit > top )
            top = c2_runq_entry(rqd->runq.next)->credit;
        if ( top <= C2_CREDIT_RESET_NS )
        {
            c2_reset_credit(s, rqd, snext, now);
            c2_balance_load(s, cpu, now);
        }
        snext->start_time = now;
        snext->tickled_cpu = C2_NO_CPU;
        if ( snext->unit->res != cpu )
        {
            snext->credit += C2_MIGRATE_COMPENSATION_NS;
            sch_unit_set_res(snext->unit, cpu);
            migrated = true;
        }
    }
    else
    {
        /* A tasklet keeps the pCPU busy as far as tickling goes. */
        if ( tasklet_work || leaving )
            sch_cpumask_clear(&rqd->idle, cpu);
        else
            sch_cpumask_set(&rqd->idle, cpu);
        c2_update_load(rqd, NULL, 0, now);
    }

    out->task = snext->unit;
    out->time = c2_runtime(c2_priv(s), rqd, snext, now);
    out->migrated = migrated;
}

/* ------------------------------------------------------------------ */
/* Control                                                             */

/* Each unit of @d under its lock (taken and released here): the
 * private lock is held, which Xen takes first. */
#define c2_for_each_unit_locked(s, d, i, u, lock)                          \
    for ( (i) = 0; (i) < (d)->nr_units &&                                  \
                   ((u) = (d)->units[i],                                   \
                    (lock) = sch_unit_lock_acquire(s, u), 1);              \
          sch_spin_unlock(lock), (i)++ )

static void c2_set_cap(const struct sch_sched *s, struct c2_dom *sdom,
                       uint32_t cap_pct, sch_time_t now)
{
    struct c2_private *prv = c2_priv(s);
    struct sch_domain *d = sdom->dom;
    struct sch_lock *lock;
    struct sch_unit *u;
    struct sch_list parked;
    unsigned int i;

    SCH_ASSERT_LOCKED(&prv->lock);
    if ( cap_pct )
    {
        sch_spin_lock(&sdom->budget_lock);
        sdom->budget_cap_pct = cap_pct;
        sdom->tot_budget = prv->period_ns * cap_pct / 100;
        sch_spin_unlock(&sdom->budget_lock);
        if ( !sdom->cap_pct )
        {
            /* No unit uses the budget yet, nor is the timer on. */
            sdom->budget = sdom->tot_budget;
            sdom->next_repl = now + prv->period_ns;
            sch_timer_set(&sdom->repl_timer, sdom->next_repl);
            /* Each unit grabs budget before it runs again; one running
             * is charged its uncapped run so far first, then stopped. */
            c2_for_each_unit_locked(s, d, i, u, lock)
            {
                struct c2_unit *svc = c2_unit(u);

                if ( sch_curr_on_cpu(s, u->res) == u )
                {
                    c2_burn(svc->rqd, svc, now);
                    c2_tickle_cpu(s, svc->rqd, u->res);
                }
                svc->budget = 0;
            }
        }
        sdom->cap_pct = cap_pct;
        return;
    }
    if ( !sdom->cap_pct )
        return;
    sch_timer_stop(&sdom->repl_timer);
    c2_for_each_unit_locked(s, d, i, u, lock)
        c2_unit(u)->budget = C2_NO_BUDGET;
    sdom->cap_pct = 0;
    sch_list_init(&parked);
    sch_spin_lock(&sdom->budget_lock);
    c2_take_parked(sdom, &parked);
    sch_spin_unlock(&sdom->budget_lock);
    c2_unpark(s, &parked, NULL, now);
}

static int SCH_HOOK
c2_adjust(const struct sch_sched *s, struct sch_domain *d,
          struct sch_dom_params *p, sch_time_t now)
{
    struct c2_private *prv = c2_priv(s);
    struct c2_dom *sdom = d->priv;
    struct sch_lock *lock;
    struct sch_unit *u;
    unsigned int i;

    switch ( p->cmd )
    {
    case SCH_PARAM_GET:
        sch_spin_lock(&prv->lock);
        p->weight = sdom->weight;
        p->cap_pct = sdom->cap_pct;
        sch_spin_unlock(&prv->lock);
        return 0;
    case SCH_PARAM_PUT:
        if ( p->weight != SCH_PARAM_UNCHANGED &&
             (p->weight < SCH_WEIGHT_MIN || p->weight > SCH_WEIGHT_MAX) )
            return -SCH_EINVAL;
        /* As Xen: at most all of every unit. */
        if ( p->cap_pct != SCH_PARAM_UNCHANGED &&
             p->cap_pct > C2_CAP_PCT_PER_UNIT * d->nr_units )
            return -SCH_EINVAL;
        sch_spin_lock(&prv->lock);
        if ( p->weight != SCH_PARAM_UNCHANGED && p->weight != sdom->weight )
        {
            uint32_t old = sdom->weight;

            sdom->weight = p->weight;
            c2_for_each_unit_locked(s, d, i, u, lock)
            {
                struct c2_unit *svc = c2_unit(u);

                svc->weight = p->weight;
                if ( svc->rqd )
                    c2_update_max_weight(svc->rqd, svc->weight, old);
            }
        }
        if ( p->cap_pct != SCH_PARAM_UNCHANGED )
            c2_set_cap(s, sdom, p->cap_pct, now);
        sch_spin_unlock(&prv->lock);
        return 0;
    }
    return -SCH_EINVAL;
}

static int SCH_HOOK
c2_adjust_global(const struct sch_sched *s, struct sch_global_params *p)
{
    struct c2_private *prv = c2_priv(s);
    int rc = 0;

    sch_spin_lock(&prv->lock);
    switch ( p->cmd )
    {
    case SCH_PARAM_GET:
        p->ratelimit_us = (uint32_t)(prv->ratelimit_ns / SCH_USEC(1));
        p->period_us = (uint32_t)(prv->period_ns / SCH_USEC(1));
        p->runq_cpus = prv->runq_cpus;
        p->tslice_us = p->boost = p->latency_us = 0;
        break;
    case SCH_PARAM_PUT:
        if ( (p->ratelimit_us != SCH_PARAM_UNCHANGED && p->ratelimit_us &&
              (p->ratelimit_us < C2_RATELIMIT_US_MIN ||
               p->ratelimit_us > C2_RATELIMIT_US_MAX)) ||
             (p->period_us != SCH_PARAM_UNCHANGED &&
              (p->period_us < C2_MIN_TIMER_NS / SCH_USEC(1) ||
               p->period_us > C2_CAP_PERIOD_US_MAX)) ||
             (p->runq_cpus != SCH_PARAM_UNCHANGED &&
              (p->runq_cpus < 1 || p->runq_cpus > SCH_MAX_CPUS)) )
        {
            rc = -SCH_EINVAL;
            break;
        }
        /* Runqueues are formed as pCPUs join. */
        if ( p->runq_cpus != SCH_PARAM_UNCHANGED &&
             p->runq_cpus != prv->runq_cpus && prv->nr_pcpus )
        {
            rc = -SCH_EBUSY;
            break;
        }
        if ( p->ratelimit_us != SCH_PARAM_UNCHANGED )
            prv->ratelimit_ns = SCH_USEC(p->ratelimit_us);
        /* Capped domains take a new period at their next refill. */
        if ( p->period_us != SCH_PARAM_UNCHANGED )
            __atomic_store_n(&prv->period_ns, SCH_USEC(p->period_us),
                             __ATOMIC_RELAXED);
        if ( p->runq_cpus != SCH_PARAM_UNCHANGED )
            prv->runq_cpus = p->runq_cpus;
        break;
    default:
        rc = -SCH_EINVAL;
        break;
    }
    sch_spin_unlock(&prv->lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Set-up and tear-down: no lock held.                                 */

static int SCH_HOOK c2_init(struct sch_sched *s)
{
    struct c2_private *prv = sch_zalloc(s, sizeof(*prv));

    if ( !prv )
        return -SCH_ENOMEM;
    prv->s = s;
    sch_spin_lock_init(&prv->lock);
    prv->runq_cpus = C2_RUNQ_CPUS_DEFAULT;
    prv->ratelimit_ns = SCH_USEC(C2_RATELIMIT_US_DEFAULT);
    prv->period_ns = SCH_MSEC(C2_CAP_PERIOD_MS_DEFAULT);
    s->priv = prv;
    return 0;
}

static void SCH_HOOK c2_deinit(struct sch_sched *s)
{
    struct c2_private *prv = c2_priv(s);
    unsigned int i;

    if ( !prv )
        return;
    SCH_ASSERT(prv->nr_pcpus == 0);
    for ( i = 0; i < SCH_MAX_CPUS; i++ )
        sch_free(s, prv->rqs[i]);
    sch_free(s, prv);
    s->priv = NULL;
}

/*
 * The runqueue @cpu joins, as Xen's cpu_add_to_runqueue() on a host of
 * one socket (xenos hosts tell a policy no topology): no more than
 * runq_cpus pCPUs each, spread evenly over as few runqueues as that
 * allows, the least full first; a new one when all are full.
 * c2_private.lock held.
 */
static struct c2_runq *c2_pick_runq(const struct sch_sched *s,
                                    struct c2_runq **fresh)
{
    struct c2_private *prv = c2_priv(s);
    unsigned int n = s->nr_cpus ? s->nr_cpus : 1;
    unsigned int min_rqs = (n - 1) / prv->runq_cpus + 1;
    unsigned int max_cpus = n / min_rqs, i, free_id = SCH_MAX_CPUS;
    struct c2_runq *best = NULL, *rqd;

    SCH_ASSERT_LOCKED(&prv->lock);
    if ( max_cpus < 1 )
        max_cpus = 1;
    for ( i = 0; i < SCH_MAX_CPUS; i++ )
    {
        rqd = prv->rqs[i];
        if ( !rqd )
        {
            if ( free_id == SCH_MAX_CPUS )
                free_id = i;
            continue;
        }
        if ( rqd->refcnt < max_cpus && (!best || rqd->refcnt < best->refcnt) )
            best = rqd;
    }
    if ( best || free_id == SCH_MAX_CPUS )
        return best;
    rqd = *fresh;
    *fresh = NULL;
    sch_spin_lock_init(&rqd->lock);
    sch_list_init(&rqd->runq);
    sch_list_init(&rqd->svc);
    rqd->id = free_id;
    rqd->max_weight = 1;
    prv->rqs[free_id] = rqd;
    return rqd;
}

static void *SCH_HOOK
c2_alloc_pdata(const struct sch_sched *s, unsigned int cpu)
{
    struct c2_private *prv = c2_priv(s);
    struct c2_pcpu *spc = sch_zalloc(s, sizeof(*spc));
    struct c2_runq *fresh = sch_zalloc(s, sizeof(*fresh)), *rqd;

    if ( !spc || !fresh )
        goto out_free;
    sch_spin_lock(&prv->lock);
    rqd = c2_pick_runq(s, &fresh);
    if ( rqd )
    {
        rqd->refcnt++;
        prv->nr_pcpus++;
    }
    sch_spin_unlock(&prv->lock);
    if ( !rqd )
        goto out_free;
    sch_free(s, fresh);
    spc->rqd = rqd;
    spc->cpu = cpu;
    /* The simulator has the pCPU in the instance already; Xen adds it
     * later, and it joins at its first do_schedule. */
    if ( sch_cpumask_test(&s->cpus, cpu) )
    {
        sch_spin_lock(&rqd->lock);
        c2_cpu_join(spc);
        sch_spin_unlock(&rqd->lock);
    }
    return spc;

 out_free:
    sch_free(s, fresh);
    sch_free(s, spc);
    return NULL;
}

static void SCH_HOOK
c2_free_pdata(const struct sch_sched *s, void *pd, unsigned int cpu)
{
    struct c2_private *prv = c2_priv(s);
    struct c2_pcpu *spc = pd;
    struct c2_runq *rqd;

    if ( !spc )
        return;
    rqd = spc->rqd;
    sch_spin_lock(&rqd->lock);
    if ( spc->active )
    {
        sch_cpumask_clear(&rqd->active, cpu);
        sch_cpumask_clear(&rqd->idle, cpu);
        sch_cpumask_clear(&rqd->tickled, cpu);
        rqd->nr_cpus--;
        if ( c2_bias(rqd) == cpu && rqd->nr_cpus )
            c2_set_bias(rqd, sch_cpumask_next(&rqd->active, 0));
    }
    sch_spin_unlock(&rqd->lock);
    sch_spin_lock(&prv->lock);
    SCH_ASSERT(rqd->refcnt > 0 && prv->nr_pcpus > 0);
    rqd->refcnt--;
    prv->nr_pcpus--;
    sch_spin_unlock(&prv->lock);
    sch_free(s, spc);
}

static struct sch_lock *SCH_HOOK
c2_pcpu_lock(const struct sch_sched *s, unsigned int cpu)
{
    return &c2rqd(s, cpu)->lock;
}

static void *SCH_HOOK
c2_alloc_domdata(const struct sch_sched *s, struct sch_domain *d)
{
    struct c2_dom *sdom = sch_zalloc(s, sizeof(*sdom));
    unsigned int cpu = sch_cpumask_next(&s->cpus, 0);

    if ( !sdom )
        return NULL;
    sch_spin_lock_init(&sdom->budget_lock);
    sch_list_init(&sdom->parked);
    sdom->s = s;
    sdom->dom = d;
    sdom->weight = SCH_WEIGHT_DEFAULT;
    sch_timer_init(s, &sdom->repl_timer, c2_replenish, sdom,
                   cpu < SCH_MAX_CPUS ? cpu : 0);
    return sdom;
}

static void SCH_HOOK c2_free_domdata(const struct sch_sched *s, void *dd)
{
    struct c2_dom *sdom = dd;

    if ( !sdom )
        return;
    sch_timer_kill(&sdom->repl_timer);
    SCH_ASSERT(sch_list_empty(&sdom->parked));
    sch_free(s, sdom);
}

static void *SCH_HOOK
c2_alloc_udata(const struct sch_sched *s, struct sch_unit *u, void *dd)
{
    struct c2_private *prv = c2_priv(s);
    struct c2_unit *svc = sch_zalloc(s, sizeof(*svc));
    struct c2_dom *sdom = dd;

    if ( !svc )
        return NULL;
    sch_list_init(&svc->runq_elem);
    sch_list_init(&svc->rqd_elem);
    sch_list_init(&svc->parked_elem);
    svc->sdom = sdom;
    svc->unit = u;
    svc->tickled_cpu = C2_NO_CPU;
    svc->budget = C2_NO_BUDGET;
    if ( !sdom )
    {
        svc->credit = (int32_t)C2_IDLE_CREDIT_NS;
        return svc;
    }
    svc->credit = (int32_t)C2_CREDIT_INIT_NS;
    /* Assumed half busy until measured. */
    svc->avgload = (sch_time_t)1 << (C2_LOAD_PRECISION_SHIFT - 1);
    sch_spin_lock(&prv->lock);
    svc->weight = sdom->weight;
    /* A unit added to a capped domain grabs budget before it runs. */
    if ( sdom->cap_pct )
        svc->budget = 0;
    sch_spin_unlock(&prv->lock);
    return svc;
}

/* A host tearing everything down may free a unit it never removed:
 * unlink it first, so that no list points at freed memory. */
static void SCH_HOOK c2_free_udata(const struct sch_sched *s, void *ud)
{
    struct c2_unit *svc = ud;

    if ( !svc )
        return;
    if ( svc->rqd )
    {
        struct sch_lock *lock = sch_unit_lock_acquire(s, svc->unit);

        if ( c2_on_runq(svc) )
            c2_runq_remove(svc);
        c2_remove_unit(s, svc->unit);
        sch_spin_unlock(lock);
    }
    sch_free(s, svc);
}

/* ------------------------------------------------------------------ */
/* Dumps: no lock held.                                                */

static void c2_dump_unit(const struct sch_sched *s, const char *what,
                         const struct c2_unit *svc)
{
    sch_printk(s, "    %s d%u.%u: credit %d w %u load %lld%%%s%s\n", what,
               svc->unit->domain->id, svc->unit->id, (int)svc->credit,
               svc->weight,
               (long long)((svc->avgload * 100) >> C2_LOAD_PRECISION_SHIFT),
               svc->parked ? " parked" : "",
               c2_has_cap(svc) ? " capped" : "");
}

static void SCH_HOOK c2_dump_settings(const struct sch_sched *s)
{
    struct c2_private *prv = c2_priv(s);
    unsigned int i;

    sch_spin_lock(&prv->lock);
    sch_printk(s, "credit2: ratelimit %lld us, cap period %lld us, "
               "at most %u pCPUs per runqueue, %u pCPUs\n",
               (long long)(prv->ratelimit_ns / SCH_USEC(1)),
               (long long)(prv->period_ns / SCH_USEC(1)), prv->runq_cpus,
               prv->nr_pcpus);
    for ( i = 0; i < SCH_MAX_CPUS; i++ )
        if ( prv->rqs[i] )
            sch_printk(s, "  runqueue %u: %u pCPUs, max weight %u, "
                       "load %d, avg %lld%%\n", i, prv->rqs[i]->nr_cpus,
                       prv->rqs[i]->max_weight, prv->rqs[i]->load,
                       (long long)((prv->rqs[i]->avgload * 100) >>
                                   C2_LOAD_PRECISION_SHIFT));
    sch_spin_unlock(&prv->lock);
}

static void SCH_HOOK
c2_dump_cpu_state(const struct sch_sched *s, unsigned int cpu)
{
    struct c2_pcpu *spc = c2_pcpu(s, cpu);
    struct sch_resource *sr = sch_res(s, cpu);
    struct sch_list *pos;

    if ( !spc )
        return;
    sch_spin_lock(sr->lock);
    sch_printk(s, "  cpu %u: runqueue %u, %s\n", cpu, spc->rqd->id,
               sch_cpumask_test(&spc->rqd->idle, cpu) ? "idle" : "busy");
    if ( !sr->curr->is_idle )
        c2_dump_unit(s, "run", c2_unit(sr->curr));
    /* A runqueue's waiters are listed with its first pCPU. */
    if ( sch_cpumask_next(&spc->rqd->active, 0) == cpu )
        sch_list_for_each(pos, &spc->rqd->runq)
            c2_dump_unit(s, "runq", c2_runq_entry(pos));
    sch_spin_unlock(sr->lock);
}

const struct sch_ops sch_ops_credit2 = {
    .name           = "xenos credit2 (Xen credit2)",
    .opt_name       = "credit2",
    .init           = c2_init,
    .deinit         = c2_deinit,
    .alloc_pdata    = c2_alloc_pdata,
    .free_pdata     = c2_free_pdata,
    .pcpu_lock      = c2_pcpu_lock,
    .alloc_domdata  = c2_alloc_domdata,
    .free_domdata   = c2_free_domdata,
    .alloc_udata    = c2_alloc_udata,
    .free_udata     = c2_free_udata,
    .insert_unit    = c2_insert_unit,
    .remove_unit    = c2_remove_unit,
    .sleep          = c2_sleep,
    .wake           = c2_wake,
    .yield          = c2_yield,
    .context_saved  = c2_context_saved,
    .do_schedule    = c2_do_schedule,
    .pick_resource  = c2_pick_resource,
    .migrate        = c2_migrate_hook,
    .adjust         = c2_adjust,
    .adjust_global  = c2_adjust_global,
    .dump_settings  = c2_dump_settings,
    .dump_cpu_state = c2_dump_cpu_state,
};
