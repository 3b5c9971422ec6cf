/*
 * credit.c: Xen's credit scheduler (credit1), re-implemented for xenos.
 *
 * Design: each pCPU has a runqueue ordered by priority (BOOST, UNDER,
 * OVER), first come first served within a priority.  A unit pays for the
 * time it runs in credits (CRED_CREDITS_PER_MS), burnt whenever its pCPU
 * reschedules and at every tick (a third of a time slice).  Once per
 * accounting period (one time slice) the master pCPU hands out
 * CRED_CREDITS_PER_MS credits for every millisecond of every pCPU among
 * the active domains, in proportion to weight and bounded by cap: a unit
 * with credit left is UNDER, one in debt is OVER.  A unit that wakes while
 * UNDER is BOOSTed ahead of everyone, so an I/O-bound unit that never runs
 * long gets the pCPU at once; a tick that finds a boosted unit running
 * takes the boost away.  A pCPU whose best local choice is OVER (or
 * nothing) steals better work from a busy peer.  A capped domain that
 * overspends is parked: its units are neither queued nor picked until
 * accounting brings their credit back to zero.  Accounting only shares
 * credit among *active* units: a unit joins when a tick finds it running
 * and leaves when it has saved up more than a slice's worth of credit, so
 * idle domains do not dilute the others.  docs/schedulers.md lists where
 * this differs from Xen and why.
 *
 * Locking: the host holds the schedule lock of a pCPU (sch_resource.lock)
 * around every hook that touches a unit on it; that lock guards the
 * pCPU's runqueue and park queue, its tick, and the queue links and run
 * times of units whose res it is.  cred_private.lock guards accounting:
 * the active lists, the weight sum, the credit totals, domains' weight
 * and cap, and writes of the tunables.  Lock order: pCPU lock, then
 * cred_private.lock (remove_unit and the tick need the active lists while
 * the pCPU lock is held).  So the accounting timer works in two passes:
 * credit and priorities under cred_private.lock alone, then each pCPU's
 * queues under that pCPU's lock alone.  Work stealing only trylocks a
 * peer, so two pCPUs stealing from each other cannot deadlock.  A unit's
 * credit is changed by both sides (burning under a pCPU lock, accounting
 * under cred_private.lock) and so only by atomic read-modify-write; the
 * idlers mask is written by every pCPU and so only by atomic bit
 * operations.  A unit's priority and parked flag are written by
 * accounting and read under pCPU locks, as in Xen: each is one aligned
 * store, and a stale read is corrected at the next reschedule or period.
 */
#include <xenos/sched.h>

#define CRED_TSLICE_MS_DEFAULT      30u
#define CRED_TSLICE_US_MIN          1000u
#define CRED_TSLICE_US_MAX          1000000u
#define CRED_TICKS_PER_TSLICE       3u
#define CRED_CREDITS_PER_MS         10
#define CRED_RATELIMIT_US_DEFAULT   1000u
/* A ratelimit remainder shorter than this would cost more than it saves. */
#define CRED_MIN_TIMER_US           100
/* A cap is a percentage of one pCPU: at most all of them. */
#define CRED_CAP_PCT_PER_CPU        100u

/* Higher is better; the values index cred_acct_pcpu()'s sort buckets. */
#define CRED_PRI_IDLE   0
#define CRED_PRI_OVER   1
#define CRED_PRI_UNDER  2
#define CRED_PRI_BOOST  3
#define CRED_NR_PRI     4

struct cred_private {
    struct sch_lock lock;
    const struct sch_sched *s;
    struct sch_timer master_ticker;     /* accounting, on pCPU master */
    unsigned int master;
    unsigned int ncpus;                 /* pCPUs with pdata */
    struct sch_cpumask idlers;          /* running idle: atomic words */

    /* Tunables. */
    sch_time_t tslice_ns;               /* also the accounting period */
    sch_time_t tick_ns;
    sch_time_t ratelimit_ns;            /* 0: no rate limiting */
    unsigned int ticks_per_tslice;
    int32_t credits_per_tslice;         /* one pCPU's credit per period */
    bool boost;

    /* Accounting. */
    struct sch_list active_doms;
    uint64_t weight;                    /* sum of weight over active units */
    int64_t credit;                     /* credits_per_tslice * ncpus */
    int64_t credit_balance;             /* active units' credit, summed */
    uint64_t nr_acct;                   /* periods that handed out credit */
};

struct cred_pcpu {
    struct sch_list runq;               /* ordered by pri, FIFO within */
    struct sch_list parkq;              /* runnable but parked */
    struct sch_timer ticker;            /* runs only while not idle */
    struct cred_private *prv;
    unsigned int cpu;
    unsigned int balance_bias;          /* peer last stolen from */
    unsigned int last_tickle;           /* idler last woken for this runq */
    uint64_t nr_ticks;
};

struct cred_dom {
    struct sch_list active_units;
    struct sch_list active_elem;        /* on cred_private.active_doms */
    struct sch_domain *dom;
    unsigned int nr_active;
    uint32_t weight;
    uint32_t cap_pct;                   /* 0: uncapped */
};

struct cred_unit {
    struct sch_list q_elem;             /* on its pCPU's runq or parkq */
    struct sch_list active_elem;        /* on cred_dom.active_units */
    struct cred_dom *sdom;              /* NULL for an idle unit */
    struct sch_unit *unit;
    int32_t credit;                     /* atomic: see Locking */
    int pri;
    bool parked;
    bool yield;
    /* Run time not yet worth a whole credit, in ns * CRED_CREDITS_PER_MS. */
    uint32_t residual;
    sch_time_t last_burn_ns;            /* charged up to here */
    sch_time_t sched_in_ns;             /* switched in at (ratelimit) */
};

static const char *const cred_pri_name[CRED_NR_PRI] = {
    "idle", "over", "under", "boost",
};

static struct cred_private *cred_priv(const struct sch_sched *s)
{
    return s->priv;
}

static struct cred_pcpu *cred_pcpu(const struct sch_sched *s,
                                   unsigned int cpu)
{
    return sch_res(s, cpu)->priv;
}

static struct cred_unit *cred_unit(const struct sch_unit *u)
{
    return u->priv;
}

static struct cred_unit *cred_q_entry(struct sch_list *l)
{
    return sch_list_entry(l, struct cred_unit, q_elem);
}

/* Round up a non-negative quotient, as accounting always does. */
static int64_t cred_div_up(int64_t n, int64_t d)
{
    SCH_ASSERT(n >= 0 && d > 0);
    return (n + d - 1) / d;
}

/* ------------------------------------------------------------------ */
/* Lock-free fields (see Locking).                                     */

static int32_t cred_credit(const struct cred_unit *svc)
{
    return __atomic_load_n(&svc->credit, __ATOMIC_RELAXED);
}

static int32_t cred_credit_add(struct cred_unit *svc, int32_t delta)
{
    return __atomic_add_fetch(&svc->credit, delta, __ATOMIC_RELAXED);
}

static void cred_credit_set(struct cred_unit *svc, int32_t v)
{
    __atomic_store_n(&svc->credit, v, __ATOMIC_RELAXED);
}

static void cred_idler_set(struct cred_private *prv, unsigned int cpu)
{
    __atomic_fetch_or(&prv->idlers.bits[cpu / 64],
                      (uint64_t)1 << (cpu % 64), __ATOMIC_RELAXED);
}

static void cred_idler_clear(struct cred_private *prv, unsigned int cpu)
{
    __atomic_fetch_and(&prv->idlers.bits[cpu / 64],
                       ~((uint64_t)1 << (cpu % 64)), __ATOMIC_RELAXED);
}

/* Idle pCPUs of this instance, as one snapshot. */
static void cred_idlers(const struct cred_private *prv,
                        struct sch_cpumask *m)
{
    unsigned int i;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        m->bits[i] = __atomic_load_n(&prv->idlers.bits[i],
                                     __ATOMIC_RELAXED) & prv->s->cpus.bits[i];
}

/* ------------------------------------------------------------------ */
/* Queues: caller holds the lock of the pCPU the unit belongs to.      */

static bool cred_queued(const struct cred_unit *svc)
{
    return !sch_list_empty(&svc->q_elem);
}

static struct sch_lock *cred_pcpu_lock(const struct cred_pcpu *spc)
{
    return sch_res(spc->prv->s, spc->cpu)->lock;
}

/*
 * Behind every unit of the same or better priority.  A yielding unit also
 * goes behind one unit of lower priority, if there is one, so that it
 * really lets someone else run; the next re-sort brings it forward again.
 */
static void cred_runq_insert(struct cred_pcpu *spc, struct cred_unit *svc)
{
    struct sch_list *pos;

    SCH_ASSERT_LOCKED(cred_pcpu_lock(spc));
    SCH_ASSERT(!cred_queued(svc) && !svc->unit->is_idle);
    sch_list_for_each(pos, &spc->runq)
        if ( cred_q_entry(pos)->pri < svc->pri )
            break;
    if ( svc->yield && pos != &spc->runq )
        pos = pos->next;
    sch_list_add_tail(&svc->q_elem, pos);
}

/* Queue a runnable unit where it belongs: runq, or parkq if parked. */
static void cred_enqueue(struct cred_pcpu *spc, struct cred_unit *svc)
{
    SCH_ASSERT_LOCKED(cred_pcpu_lock(spc));
    if ( svc->parked )
        sch_list_add_tail(&svc->q_elem, &spc->parkq);
    else
        cred_runq_insert(spc, svc);
}

static void cred_dequeue(const struct sch_sched *s, struct cred_unit *svc)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, svc->unit));
    SCH_ASSERT(cred_queued(svc));
    sch_list_del_init(&svc->q_elem);
}

/* ------------------------------------------------------------------ */
/* Credit                                                              */

/*
 * Charge @svc, running, for its time since the last charge.  What is not
 * yet a whole credit is kept in residual, so frequent short charges cost
 * the same as one long one.
 */
static void cred_burn(struct cred_unit *svc, sch_time_t now)
{
    sch_time_t delta = now - svc->last_burn_ns;
    uint64_t val, credits;

    if ( delta <= 0 )
        return;
    val = (uint64_t)delta * CRED_CREDITS_PER_MS + svc->residual;
    credits = val / (uint64_t)SCH_MSEC(1);
    svc->residual = (uint32_t)(val % (uint64_t)SCH_MSEC(1));
    SCH_ASSERT(credits <= INT32_MAX);
    cred_credit_add(svc, -(int32_t)credits);
    svc->last_burn_ns = now;
}

/* Make @svc share in accounting.  cred_private.lock held. */
static void cred_acct_start(struct cred_private *prv, struct cred_unit *svc)
{
    struct cred_dom *sdom = svc->sdom;

    SCH_ASSERT_LOCKED(&prv->lock);
    if ( !sch_list_empty(&svc->active_elem) )
        return;
    sdom->nr_active++;
    sch_list_add(&svc->active_elem, &sdom->active_units);
    prv->weight += sdom->weight;
    if ( sch_list_empty(&sdom->active_elem) )
        sch_list_add(&sdom->active_elem, &prv->active_doms);
}

/* @svc stops sharing in accounting.  cred_private.lock held. */
static void cred_acct_stop(struct cred_private *prv, struct cred_unit *svc)
{
    struct cred_dom *sdom = svc->sdom;

    SCH_ASSERT_LOCKED(&prv->lock);
    SCH_ASSERT(!sch_list_empty(&svc->active_elem));
    SCH_ASSERT(prv->weight >= sdom->weight && sdom->nr_active > 0);
    sdom->nr_active--;
    sch_list_del_init(&svc->active_elem);
    prv->weight -= sdom->weight;
    if ( sch_list_empty(&sdom->active_units) )
        sch_list_del_init(&sdom->active_elem);
}

/* Accounting, first pass: share a period's credit.  cred_private.lock
 * held. */
static void cred_acct_credit(struct cred_private *prv)
{
    const int64_t cpt = prv->credits_per_tslice;
    const int64_t old_balance = prv->credit_balance;
    const int64_t weight_total = (int64_t)prv->weight;
    int64_t credit_total = prv->credit, weight_left, balance = 0;
    bool spare = false;     /* an earlier domain could have used more */
    struct sch_list *dpos, *dnext, *upos, *unext;

    SCH_ASSERT_LOCKED(&prv->lock);
    /* Units in debt overall: hand out more, to bring the balance back. */
    if ( old_balance < 0 )
        credit_total -= old_balance;
    if ( weight_total == 0 )
    {
        prv->credit_balance = 0;
        return;
    }

    weight_left = weight_total;
    sch_list_for_each_safe(dpos, dnext, &prv->active_doms)
    {
        struct cred_dom *sdom = sch_list_entry(dpos, struct cred_dom,
                                               active_elem);
        const int64_t n = sdom->nr_active;
        const int64_t dweight = (int64_t)sdom->weight * n;
        int64_t peak, fair, cap_unit = 0;

        SCH_ASSERT(n > 0 && dweight <= weight_left);
        weight_left -= dweight;

        /* No more than its active units can burn in a period, unless
         * the whole host is in debt. */
        peak = n * cpt;
        if ( old_balance < 0 )
            peak += cred_div_up(-old_balance * dweight, weight_total);
        if ( sdom->cap_pct )
        {
            int64_t cap = cred_div_up((int64_t)sdom->cap_pct * cpt, 100);

            if ( cap < peak )
                peak = cap;
            cap_unit = cred_div_up(cap, n);
        }

        fair = cred_div_up(credit_total * dweight, weight_total);
        if ( fair < peak )
            spare = true;
        else
        {
            /* What it cannot use goes to the domains after it... */
            if ( weight_left )
                credit_total += cred_div_up((fair - peak) * weight_total,
                                            weight_left);
            /* ...and next time it goes first, so that domains before it
             * this time can have its leftover too. */
            if ( spare )
            {
                sch_list_del_init(&sdom->active_elem);
                sch_list_add(&sdom->active_elem, &prv->active_doms);
            }
            fair = peak;
        }
        fair = cred_div_up(fair, n);

        sch_list_for_each_safe(upos, unext, &sdom->active_units)
        {
            struct cred_unit *svc = sch_list_entry(upos, struct cred_unit,
                                                   active_elem);
            int32_t credit = cred_credit_add(svc, (int32_t)fair);

            if ( credit < 0 )
            {
                svc->pri = CRED_PRI_OVER;
                if ( sdom->cap_pct && credit < -cap_unit )
                    svc->parked = true;
                /* Bounded debt: a long-parked unit must come back. */
                if ( credit < -cpt )
                {
                    credit = (int32_t)-cpt;
                    cred_credit_set(svc, credit);
                }
            }
            else
            {
                svc->pri = CRED_PRI_UNDER;
                svc->parked = false;
                /* It does not use what it gets: stop giving it any, and
                 * let it start half a slice ahead when it is back. */
                if ( credit > cpt )
                {
                    cred_acct_stop(prv, svc);
                    credit /= 2;
                    cred_credit_set(svc, credit);
                }
            }
            balance += credit;
        }
    }
    prv->credit_balance = balance;
    prv->nr_acct++;
}

static void cred_tickle(const struct sch_sched *s, struct cred_unit *svc);

/*
 * Accounting, second pass, for one pCPU: priorities changed, so re-sort
 * its runqueue (stable, by priority); park what must not run and bring
 * back what may run again.  Takes the pCPU's lock.
 */
static void cred_acct_pcpu(struct cred_private *prv, unsigned int cpu)
{
    const struct sch_sched *s = prv->s;
    struct sch_resource *sr = sch_res(s, cpu);
    struct cred_pcpu *spc = sr->priv;
    struct sch_list bucket[CRED_NR_PRI], *pos, *next;
    struct sch_unit *curr;
    int pri;

    if ( !spc )
        return;
    sch_spin_lock(sr->lock);

    for ( pri = 0; pri < CRED_NR_PRI; pri++ )
        sch_list_init(&bucket[pri]);
    sch_list_for_each_safe(pos, next, &spc->runq)
    {
        struct cred_unit *svc = cred_q_entry(pos);

        sch_list_del_init(pos);
        if ( svc->parked )
            sch_list_add_tail(pos, &spc->parkq);
        else
            sch_list_add_tail(pos, &bucket[svc->pri]);
    }
    for ( pri = CRED_NR_PRI - 1; pri >= 0; pri-- )
        while ( !sch_list_empty(&bucket[pri]) )
        {
            pos = bucket[pri].next;
            sch_list_del_init(pos);
            sch_list_add_tail(pos, &spc->runq);
        }

    sch_list_for_each_safe(pos, next, &spc->parkq)
    {
        struct cred_unit *svc = cred_q_entry(pos);

        if ( svc->parked )
            continue;
        /* Not boosted: it did not wake, it served its time. */
        cred_dequeue(s, svc);
        cred_runq_insert(spc, svc);
        cred_tickle(s, svc);
    }

    curr = sr->curr;
    if ( !curr->is_idle && cred_unit(curr)->parked )
        sch_kick(s, cpu);

    sch_spin_unlock(sr->lock);
}

/* Master timer: accounting for the whole instance, once a period. */
static void SCH_HOOK cred_acct(void *data, sch_time_t now)
{
    struct cred_private *prv = data;
    unsigned int cpu;

    sch_spin_lock(&prv->lock);
    cred_acct_credit(prv);
    sch_spin_unlock(&prv->lock);

    sch_for_each_cpu(cpu, &prv->s->cpus)
        cred_acct_pcpu(prv, cpu);

    sch_timer_set(&prv->master_ticker, now + prv->tslice_ns);
}

/* Per-pCPU tick: charge what runs, and let accounting see it. */
static void SCH_HOOK cred_tick(void *data, sch_time_t now)
{
    struct cred_pcpu *spc = data;
    struct cred_private *prv = spc->prv;
    struct sch_resource *sr = sch_res(prv->s, spc->cpu);
    struct cred_unit *svc;

    sch_spin_lock(sr->lock);
    spc->nr_ticks++;
    /* An idle pCPU stops its tick; do_schedule restarts it. */
    if ( sr->curr->is_idle )
        goto out;

    svc = cred_unit(sr->curr);
    /* Still running a tick after waking: it is not I/O-bound. */
    if ( svc->pri == CRED_PRI_BOOST )
        svc->pri = CRED_PRI_UNDER;
    cred_burn(svc, now);

    sch_spin_lock(&prv->lock);
    cred_acct_start(prv, svc);
    sch_spin_unlock(&prv->lock);

    sch_timer_set(&spc->ticker, now + prv->tick_ns);
 out:
    sch_spin_unlock(sr->lock);
}

/* ------------------------------------------------------------------ */
/* Placement                                                           */

/*
 * @svc was just queued on its pCPU: wake whoever should run it.  Its own
 * pCPU if idle.  Otherwise an idle pCPU it may run on, which will steal
 * it, rather than preempt a running (cache-hot) unit; and only if there
 * is none, its own pCPU when it beats what runs there.  Lock of
 * svc->unit->res held.
 */
static void cred_tickle(const struct sch_sched *s, struct cred_unit *svc)
{
    struct cred_private *prv = cred_priv(s);
    unsigned int cpu = svc->unit->res, target = SCH_MAX_CPUS;
    struct cred_pcpu *spc = cred_pcpu(s, cpu);
    const struct cred_unit *cur = cred_unit(sch_curr_on_cpu(s, cpu));
    struct sch_cpumask idle, fit;

    SCH_ASSERT_LOCKED(sch_unit_lock(s, svc->unit));
    cred_idlers(prv, &idle);
    if ( cur->pri == CRED_PRI_IDLE ||
         (sch_cpumask_empty(&idle) && svc->pri > cur->pri) )
        target = cpu;
    else if ( !sch_cpumask_empty(&idle) )
    {
        sch_cpumask_and(&fit, &idle, &svc->unit->hard_affinity);
        if ( !sch_cpumask_empty(&fit) )
        {
            /* Rotate, so that wake-ups spread over the idlers. */
            spc->last_tickle = sch_cpumask_cycle(&fit, spc->last_tickle);
            target = spc->last_tickle;
        }
        else if ( svc->pri > cur->pri )
            target = cpu;
    }
    if ( target == SCH_MAX_CPUS )
        return;
    /* Not idle any more as far as the next wake-up is concerned. */
    cred_idler_clear(prv, target);
    sch_kick(s, target);
}

/*
 * Take a unit better than @pri from @peer's runqueue for @cpu.  Lock of
 * both pCPUs held.
 */
static struct cred_unit *cred_steal_from(const struct sch_sched *s,
                                         unsigned int peer, unsigned int cpu,
                                         int pri)
{
    struct cred_pcpu *pspc = cred_pcpu(s, peer);
    struct sch_list *pos;

    SCH_ASSERT_LOCKED(sch_res(s, peer)->lock);
    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    /* An idle peer is about to run its queue itself. */
    if ( !pspc || sch_curr_on_cpu(s, peer)->is_idle )
        return NULL;
    sch_list_for_each(pos, &pspc->runq)
    {
        struct cred_unit *svc = cred_q_entry(pos);

        if ( svc->pri <= pri )
            break;
        /* Still switching out on the peer, or not allowed here. */
        if ( svc->unit->is_running ||
             !sch_cpumask_test(&svc->unit->hard_affinity, cpu) )
            continue;
        cred_dequeue(s, svc);
        sch_unit_set_res(svc->unit, cpu);
        return svc;
    }
    return NULL;
}

/*
 * Look on busy peers, round robin from the last one robbed, for a unit
 * better than @pri.  Lock of @cpu held; peers are only trylocked, as a
 * peer may be stealing from us at the same time.
 */
static struct cred_unit *cred_steal(const struct sch_sched *s,
                                    unsigned int cpu, int pri)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_pcpu *spc = cred_pcpu(s, cpu);
    struct sch_cpumask workers;
    unsigned int peer, first, i;

    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    cred_idlers(prv, &workers);
    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        workers.bits[i] = s->cpus.bits[i] & ~workers.bits[i];
    sch_cpumask_clear(&workers, cpu);

    first = sch_cpumask_cycle(&workers, spc->balance_bias);
    if ( first >= SCH_MAX_CPUS )
        return NULL;
    peer = first;
    do
    {
        struct sch_lock *lock = sch_res(s, peer)->lock;

        if ( sch_spin_trylock(lock) )
        {
            struct cred_unit *svc = cred_steal_from(s, peer, cpu, pri);

            sch_spin_unlock(lock);
            if ( svc )
            {
                spc->balance_bias = peer;
                return svc;
            }
        }
        peer = sch_cpumask_cycle(&workers, peer);
    } while ( peer != first );
    return NULL;
}

/*
 * Where @u should run: its pCPU if idle (or if @u is all it would run),
 * else an idle pCPU it may use, else its pCPU if allowed, else the next
 * allowed one.  Lock of u->res held.
 */
static unsigned int SCH_HOOK
cred_pick_resource(const struct sch_sched *s, const struct sch_unit *u)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_pcpu *home = cred_pcpu(s, u->res);
    struct sch_cpumask allowed, idle;
    unsigned int cpu;

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    sch_cpumask_and(&allowed, &u->hard_affinity, &s->cpus);
    if ( sch_cpumask_empty(&allowed) )
        return u->res;      /* nowhere better: the host's affinity is odd */
    cpu = sch_cpumask_test(&allowed, u->res) ? u->res
                                             : sch_cpumask_cycle(&allowed,
                                                                 u->res);
    cred_idlers(prv, &idle);
    if ( home && sch_curr_on_cpu(s, u->res) == u &&
         sch_list_empty(&home->runq) )
        sch_cpumask_set(&idle, u->res);
    sch_cpumask_and(&idle, &idle, &allowed);
    if ( sch_cpumask_test(&idle, cpu) || sch_cpumask_empty(&idle) )
        return cpu;
    return sch_cpumask_cycle(&idle, cpu);
}

/* ------------------------------------------------------------------ */
/* Unit events: lock of u->res held.                                   */

static void SCH_HOOK
cred_insert_unit(const struct sch_sched *s, struct sch_unit *u)
{
    struct cred_unit *svc = cred_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT(!u->is_idle && svc->sdom);
    /* The contract says a wake follows; a host that inserts a runnable
     * unit gets it queued now. */
    if ( u->runnable && !u->is_running && !cred_queued(svc) )
    {
        cred_enqueue(cred_pcpu(s, u->res), svc);
        if ( !svc->parked )
            cred_tickle(s, svc);
    }
}

static void SCH_HOOK
cred_remove_unit(const struct sch_sched *s, struct sch_unit *u)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_unit *svc = cred_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT(!u->is_idle && !cred_queued(svc));
    svc->parked = false;
    sch_spin_lock(&prv->lock);
    if ( !sch_list_empty(&svc->active_elem) )
        cred_acct_stop(prv, svc);
    sch_spin_unlock(&prv->lock);
}

static void SCH_HOOK
cred_sleep(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct cred_unit *svc = cred_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    SCH_ASSERT(!u->is_idle);
    if ( sch_curr_on_cpu(s, u->res) == u )
        sch_kick(s, u->res);
    else if ( cred_queued(svc) )
        cred_dequeue(s, svc);
}

static void SCH_HOOK
cred_wake(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_unit *svc = cred_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    SCH_ASSERT(!u->is_idle);
    /* Running (do_schedule will keep it) or already waiting. */
    if ( sch_curr_on_cpu(s, u->res) == u || cred_queued(svc) )
        return;
    if ( svc->parked )
    {
        /* Waits for accounting to unpark it; nobody to tickle. */
        cred_enqueue(cred_pcpu(s, u->res), svc);
        return;
    }
    /*
     * A unit that wakes with credit left jumps the queue.  If it keeps
     * running, a tick catches it and ends the boost; if it blocks again
     * soon (I/O), it stays boosted and keeps waking up fast, without
     * taking more than its share, since what it runs is still charged.
     */
    if ( prv->boost && svc->pri == CRED_PRI_UNDER )
        svc->pri = CRED_PRI_BOOST;
    cred_runq_insert(cred_pcpu(s, u->res), svc);
    cred_tickle(s, svc);
}

static void SCH_HOOK
cred_yield(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    cred_unit(u)->yield = true;
    sch_kick(s, u->res);
}

/* ------------------------------------------------------------------ */
/* Scheduling                                                          */

/* Keep @svc, running, because it has not yet run for ratelimit? */
static bool cred_ratelimited(const struct cred_private *prv,
                             const struct cred_unit *svc, sch_time_t now,
                             bool tasklet_work)
{
    return prv->ratelimit_ns && !tasklet_work && !svc->yield &&
           !svc->parked && svc->unit->runnable &&
           now - svc->sched_in_ns < prv->ratelimit_ns;
}

static void SCH_HOOK
cred_do_schedule(const struct sch_sched *s,
                 struct sch_unit *curr, unsigned int cpu,
                 sch_time_t now, bool tasklet_work,
                 struct sch_slice *out)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_pcpu *spc = cred_pcpu(s, cpu);
    struct sch_resource *sr = sch_res(s, cpu);
    struct cred_unit *scurr = cred_unit(curr), *snext;
    sch_time_t slice = prv->tslice_ns;
    bool migrated = false;
    /* Leaving its pool (out of s->cpus): it steals nothing and is no
     * idler, so Xen's moves of units off it come to an end. */
    bool leaving = !sch_cpumask_test(&s->cpus, cpu);

    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    SCH_ASSERT(curr->res == cpu);
    if ( curr->is_idle )
        scurr->pri = CRED_PRI_IDLE;     /* end a tasklet's boost */
    else
    {
        cred_burn(scurr, now);
        if ( cred_ratelimited(prv, scurr, now, tasklet_work) )
        {
            /* Not worth a switch yet: run to the end of its ratelimit. */
            slice = prv->ratelimit_ns - (now - scurr->sched_in_ns);
            if ( slice < SCH_USEC(CRED_MIN_TIMER_US) )
                slice = SCH_USEC(CRED_MIN_TIMER_US);
            snext = scurr;
            goto out;
        }
        if ( curr->runnable )
            cred_enqueue(spc, scurr);
        scurr->yield = false;
    }

    if ( tasklet_work )
    {
        /* The idle unit must run; as BOOST, so no wake-up preempts it. */
        snext = cred_unit(sr->idle);
        snext->pri = CRED_PRI_BOOST;
    }
    else
    {
        snext = sch_list_empty(&spc->runq) ? cred_unit(sr->idle)
                                            : cred_q_entry(spc->runq.next);
        /* Only OVER (or nothing) here: better work elsewhere first. */
        if ( snext->pri <= CRED_PRI_OVER && !leaving )
        {
            struct cred_unit *stolen = cred_steal(s, cpu, snext->pri);

            if ( stolen )
            {
                snext = stolen;
                migrated = true;
            }
        }
        if ( !migrated && !snext->unit->is_idle )
            cred_dequeue(s, snext);
    }

    if ( snext->pri == CRED_PRI_IDLE && !leaving )
        cred_idler_set(prv, cpu);
    else
        cred_idler_clear(prv, cpu);

    if ( snext != scurr && !snext->unit->is_idle )
        snext->sched_in_ns = snext->last_burn_ns = now;

 out:
    out->task = snext->unit;
    out->time = snext->unit->is_idle ? -1 : slice;
    out->migrated = migrated;

    /* An idle pCPU burns nothing: no tick.  Ticks keep to a grid. */
    if ( !curr->is_idle && snext->unit->is_idle )
        sch_timer_stop(&spc->ticker);
    else if ( curr->is_idle && !snext->unit->is_idle )
        sch_timer_set(&spc->ticker, now + prv->tick_ns - now % prv->tick_ns);
}

/* ------------------------------------------------------------------ */
/* Control                                                             */

/* Caller holds cred_private.lock, or is init. */
static void cred_set_tslice(struct cred_private *prv, uint32_t tslice_us)
{
    prv->tslice_ns = SCH_USEC(tslice_us);
    prv->ticks_per_tslice = CRED_TICKS_PER_TSLICE;
    /* Ticks shorter than a millisecond would cost more than they tell. */
    if ( tslice_us < CRED_TICKS_PER_TSLICE * 1000u )
        prv->ticks_per_tslice = 1;
    prv->tick_ns = prv->tslice_ns / prv->ticks_per_tslice;
    prv->credits_per_tslice =
        (int32_t)((int64_t)CRED_CREDITS_PER_MS * tslice_us / 1000);
    prv->credit = (int64_t)prv->credits_per_tslice * prv->ncpus;
}

static int SCH_HOOK
cred_adjust(const struct sch_sched *s, struct sch_domain *d,
            struct sch_dom_params *p, sch_time_t now)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_dom *sdom = d->priv;

    (void)now;
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
        if ( p->cap_pct != SCH_PARAM_UNCHANGED &&
             p->cap_pct > CRED_CAP_PCT_PER_CPU * s->nr_cpus )
            return -SCH_EINVAL;
        sch_spin_lock(&prv->lock);
        if ( p->weight != SCH_PARAM_UNCHANGED )
        {
            /* The weight sum counts each active unit once. */
            prv->weight -= (uint64_t)sdom->weight * sdom->nr_active;
            prv->weight += (uint64_t)p->weight * sdom->nr_active;
            sdom->weight = p->weight;
        }
        if ( p->cap_pct != SCH_PARAM_UNCHANGED )
            sdom->cap_pct = p->cap_pct;
        sch_spin_unlock(&prv->lock);
        return 0;
    }
    return -SCH_EINVAL;
}

static int SCH_HOOK
cred_adjust_global(const struct sch_sched *s, struct sch_global_params *p)
{
    struct cred_private *prv = cred_priv(s);
    uint32_t tslice_us, ratelimit_us;
    int rc = 0;

    sch_spin_lock(&prv->lock);
    switch ( p->cmd )
    {
    case SCH_PARAM_GET:
        p->tslice_us = (uint32_t)(prv->tslice_ns / SCH_USEC(1));
        p->ratelimit_us = (uint32_t)(prv->ratelimit_ns / SCH_USEC(1));
        p->boost = prv->boost;
        p->period_us = p->latency_us = p->runq_cpus = 0;
        break;
    case SCH_PARAM_PUT:
        tslice_us = p->tslice_us;
        if ( tslice_us == SCH_PARAM_UNCHANGED )
            tslice_us = (uint32_t)(prv->tslice_ns / SCH_USEC(1));
        ratelimit_us = p->ratelimit_us;
        if ( ratelimit_us == SCH_PARAM_UNCHANGED )
            ratelimit_us = (uint32_t)(prv->ratelimit_ns / SCH_USEC(1));
        if ( tslice_us < CRED_TSLICE_US_MIN ||
             tslice_us > CRED_TSLICE_US_MAX || ratelimit_us > tslice_us ||
             (p->boost != SCH_PARAM_UNCHANGED && p->boost > 1) )
        {
            rc = -SCH_EINVAL;
            break;
        }
        cred_set_tslice(prv, tslice_us);
        prv->ratelimit_ns = SCH_USEC(ratelimit_us);
        if ( p->boost != SCH_PARAM_UNCHANGED )
            prv->boost = p->boost;
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

static int SCH_HOOK cred_init(struct sch_sched *s)
{
    struct cred_private *prv = sch_zalloc(s, sizeof(*prv));

    if ( !prv )
        return -SCH_ENOMEM;
    prv->s = s;
    sch_spin_lock_init(&prv->lock);
    sch_list_init(&prv->active_doms);
    cred_set_tslice(prv, CRED_TSLICE_MS_DEFAULT * 1000u);
    prv->ratelimit_ns = SCH_USEC(CRED_RATELIMIT_US_DEFAULT);
    prv->boost = true;
    prv->master = sch_cpumask_next(&s->cpus, 0);
    if ( prv->master >= SCH_MAX_CPUS )
        prv->master = 0;
    sch_timer_init(s, &prv->master_ticker, cred_acct, prv, prv->master);
    s->priv = prv;
    return 0;
}

static void SCH_HOOK cred_deinit(struct sch_sched *s)
{
    struct cred_private *prv = cred_priv(s);

    if ( !prv )
        return;
    SCH_ASSERT(prv->ncpus == 0);
    sch_timer_kill(&prv->master_ticker);
    sch_free(s, prv);
    s->priv = NULL;
}

static void *SCH_HOOK
cred_alloc_pdata(const struct sch_sched *s, unsigned int cpu)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_pcpu *spc = sch_zalloc(s, sizeof(*spc));

    if ( !spc )
        return NULL;
    sch_list_init(&spc->runq);
    sch_list_init(&spc->parkq);
    spc->prv = prv;
    spc->cpu = cpu;
    spc->balance_bias = cpu;
    spc->last_tickle = cpu;
    sch_timer_init(s, &spc->ticker, cred_tick, spc, cpu);

    sch_spin_lock(&prv->lock);
    prv->credit += prv->credits_per_tslice;
    /*
     * No time is passed in: the first period ends one slice after the
     * host's time 0 (a host that starts later fires it at once, and
     * accounting then keeps its own pace).
     */
    if ( ++prv->ncpus == 1 )
        sch_timer_set(&prv->master_ticker, prv->tslice_ns);
    sch_spin_unlock(&prv->lock);
    /* A pCPU comes up running its idle unit. */
    cred_idler_set(prv, cpu);
    return spc;
}

static void SCH_HOOK
cred_free_pdata(const struct sch_sched *s, void *pd, unsigned int cpu)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_pcpu *spc = pd;
    bool last;

    if ( !spc )
        return;
    SCH_ASSERT(sch_list_empty(&spc->runq) && sch_list_empty(&spc->parkq));
    sch_spin_lock(&prv->lock);
    prv->credit -= prv->credits_per_tslice;
    last = --prv->ncpus == 0;
    sch_spin_unlock(&prv->lock);
    cred_idler_clear(prv, cpu);
    /* Outside the lock: stopping may wait for a callback that takes it. */
    if ( last )
        sch_timer_stop(&prv->master_ticker);
    sch_timer_kill(&spc->ticker);
    sch_free(s, spc);
}

static void *SCH_HOOK
cred_alloc_domdata(const struct sch_sched *s, struct sch_domain *d)
{
    struct cred_dom *sdom = sch_zalloc(s, sizeof(*sdom));

    if ( !sdom )
        return NULL;
    sch_list_init(&sdom->active_units);
    sch_list_init(&sdom->active_elem);
    sdom->dom = d;
    sdom->weight = SCH_WEIGHT_DEFAULT;
    return sdom;
}

static void SCH_HOOK cred_free_domdata(const struct sch_sched *s, void *dd)
{
    struct cred_dom *sdom = dd;

    SCH_ASSERT(!sdom || sdom->nr_active == 0);
    sch_free(s, dd);
}

static void *SCH_HOOK
cred_alloc_udata(const struct sch_sched *s, struct sch_unit *u, void *dd)
{
    struct cred_unit *svc = sch_zalloc(s, sizeof(*svc));

    if ( !svc )
        return NULL;
    sch_list_init(&svc->q_elem);
    sch_list_init(&svc->active_elem);
    svc->sdom = dd;
    svc->unit = u;
    svc->pri = dd ? CRED_PRI_UNDER : CRED_PRI_IDLE;
    return svc;
}

/*
 * A host tearing everything down may free a unit it never removed: unlink
 * it first, so that no list is left pointing at freed memory.
 */
static void SCH_HOOK cred_free_udata(const struct sch_sched *s, void *ud)
{
    struct cred_private *prv = cred_priv(s);
    struct cred_unit *svc = ud;

    if ( !svc )
        return;
    if ( cred_queued(svc) )
    {
        struct sch_lock *lock = sch_res(s, svc->unit->res)->lock;

        sch_spin_lock(lock);
        cred_dequeue(s, svc);
        sch_spin_unlock(lock);
    }
    if ( svc->sdom )
    {
        sch_spin_lock(&prv->lock);
        if ( !sch_list_empty(&svc->active_elem) )
            cred_acct_stop(prv, svc);
        sch_spin_unlock(&prv->lock);
    }
    sch_free(s, svc);
}

/* ------------------------------------------------------------------ */
/* Dumps: no lock held.                                                */

static void cred_dump_unit(const struct sch_sched *s, const char *what,
                           const struct cred_unit *svc)
{
    sch_printk(s, "    %s d%u.%u: %s credit %d w %u cap %u%s%s\n", what,
               svc->unit->domain->id, svc->unit->id,
               cred_pri_name[svc->pri], (int)cred_credit(svc),
               svc->sdom->weight, svc->sdom->cap_pct,
               svc->parked ? " parked" : "",
               sch_list_empty(&svc->active_elem) ? "" : " active");
}

static void SCH_HOOK cred_dump_settings(const struct sch_sched *s)
{
    struct cred_private *prv = cred_priv(s);
    struct sch_list *dpos, *upos;

    sch_spin_lock(&prv->lock);
    sch_printk(s, "credit: tslice %lld us, tick %lld us, ratelimit %lld us, "
               "boost %s, %d credits per pCPU per period\n",
               (long long)(prv->tslice_ns / SCH_USEC(1)),
               (long long)(prv->tick_ns / SCH_USEC(1)),
               (long long)(prv->ratelimit_ns / SCH_USEC(1)),
               prv->boost ? "on" : "off", (int)prv->credits_per_tslice);
    sch_printk(s, "credit: %u pCPUs, master %u, credit %lld, balance %lld, "
               "active weight %llu, %llu periods\n", prv->ncpus,
               prv->master, (long long)prv->credit,
               (long long)prv->credit_balance,
               (unsigned long long)prv->weight,
               (unsigned long long)prv->nr_acct);
    sch_list_for_each(dpos, &prv->active_doms)
    {
        struct cred_dom *sdom = sch_list_entry(dpos, struct cred_dom,
                                               active_elem);

        sch_printk(s, "  d%u: weight %u cap %u%%, %u active units\n",
                   sdom->dom->id, sdom->weight, sdom->cap_pct,
                   sdom->nr_active);
        sch_list_for_each(upos, &sdom->active_units)
            cred_dump_unit(s, "active",
                           sch_list_entry(upos, struct cred_unit,
                                          active_elem));
    }
    sch_spin_unlock(&prv->lock);
}

static void SCH_HOOK
cred_dump_cpu_state(const struct sch_sched *s, unsigned int cpu)
{
    struct cred_pcpu *spc = cred_pcpu(s, cpu);
    struct sch_resource *sr = sch_res(s, cpu);
    struct sch_cpumask idle;
    struct sch_list *pos;

    if ( !spc )
        return;
    cred_idlers(cred_priv(s), &idle);
    sch_spin_lock(sr->lock);
    sch_printk(s, "  cpu %u: %s, %llu ticks\n", cpu,
               sch_cpumask_test(&idle, cpu) ? "idle" : "busy",
               (unsigned long long)spc->nr_ticks);
    if ( !sr->curr->is_idle )
        cred_dump_unit(s, "run", cred_unit(sr->curr));
    sch_list_for_each(pos, &spc->runq)
        cred_dump_unit(s, "runq", cred_q_entry(pos));
    sch_list_for_each(pos, &spc->parkq)
        cred_dump_unit(s, "park", cred_q_entry(pos));
    sch_spin_unlock(sr->lock);
}

const struct sch_ops sch_ops_credit = {
    .name           = "xenos credit (Xen credit1)",
    .opt_name       = "credit",
    .init           = cred_init,
    .deinit         = cred_deinit,
    .alloc_pdata    = cred_alloc_pdata,
    .free_pdata     = cred_free_pdata,
    .alloc_domdata  = cred_alloc_domdata,
    .free_domdata   = cred_free_domdata,
    .alloc_udata    = cred_alloc_udata,
    .free_udata     = cred_free_udata,
    .insert_unit    = cred_insert_unit,
    .remove_unit    = cred_remove_unit,
    .sleep          = cred_sleep,
    .wake           = cred_wake,
    .yield          = cred_yield,
    .do_schedule    = cred_do_schedule,
    .pick_resource  = cred_pick_resource,
    .adjust         = cred_adjust,
    .adjust_global  = cred_adjust_global,
    .dump_settings  = cred_dump_settings,
    .dump_cpu_state = cred_dump_cpu_state,
};
