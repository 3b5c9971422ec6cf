/*
 * fcredit.c: xenos's fine-grained credit scheduler.
 *
 * Design
 * ------
 * Credit is virtual time.  A running unit's vtime grows with every ns it
 * runs, by 256 / (its domain's weight / the domain's runnable units), so a
 * domain's units together earn exactly the domain's weight and nothing is
 * sampled: there are no ticks.  Each pCPU keeps its runnable units in a
 * pairing heap ordered by (vtime, seq): wake is O(1), pick O(log n)
 * amortised.  The unit with the least vtime runs until its vtime passes the
 * next one's by FC_GRAN_US (never longer than the time slice), which bounds
 * every unit's lag behind its fair share by the granularity.
 *
 * Waking (the boost): a unit that slept is placed at max(own vtime, pCPU
 * min vtime - latency), so it runs soon (it is behind whoever runs) but
 * sleeping never banks more than "latency" of credit: sleeping often cannot
 * buy more than the weight's share.  A waking unit behind the running one
 * preempts it once the running one has had ratelimit_us; so wake-to-run is
 * bounded by the ratelimit.  With boost off a waker is placed at the min
 * vtime and waits for the running slice to end.
 *
 * Caps: a capped domain's budget is a token bucket shared by its units.
 * It accrues cap% of every ns, drains one ns per ns per running unit, and
 * holds at most cap% of a period (default 2 ms).  A unit of a capped
 * domain runs for at most what the budget lasts, so the pCPU reschedules
 * exactly when it is out; the domain is then throttled: its units are
 * parked, off the runqueues, until a quarter of the bucket is back.  So a
 * busy capped domain runs in bursts of cap% of a quarter period, which is
 * as far as any window of time sees it over its cap.  Parked units have no
 * timer: the pCPU holding them bounds its next decision by the time their
 * budget is back.  Overdraft (a late decision) is debt, all paid back.
 *
 * Balancing: a waking unit goes to an idle pCPU in its hard affinity when its
 * own pCPU is busy; a pCPU about to idle steals the least-vtime unit of the
 * peer with most waiting; a pCPU with units waiting kicks an idle peer; and
 * every FC_BALANCE_US a busy pCPU pulls from a peer with at least two more
 * waiting.  vtimes are per pCPU: a migrating unit keeps its lag relative to
 * the pCPU min vtime.  Everything is integer arithmetic.
 *
 * Locking
 * -------
 * Per-pCPU state (runqueue, parked list and when it may run, min vtime) is
 * under that pCPU's schedule lock, which the host holds around the unit
 * hooks.  Domain state (budget, runnable and running counts, throttled) is
 * under fc_dom.lock.  Order: pCPU lock (the caller's, then a peer's, only
 * by trylock), then domain lock.  A cap change takes only the domain lock
 * and kicks the pCPUs that hold parked units; they look again under their
 * own lock.
 */
#include <xenos/sched.h>

#define FC_TSLICE_US_DEFAULT     10000u   /* longest run without a decision */
#define FC_RATELIMIT_US_DEFAULT  50u      /* least run before a wake preempts */
#define FC_PERIOD_US_DEFAULT     2000u    /* cap bucket depth, as time at cap */
#define FC_CAP_RESUME_DIV        4u       /* throttled till 1/4 of it is back */
#define FC_LATENCY_US_DEFAULT    1000u    /* most credit a sleeper may bank */
#define FC_GRAN_US               500u     /* vtime lead before a switch */
#define FC_MIN_SLICE_US          100u     /* shortest slice */
#define FC_BALANCE_US            1000u    /* least time between balancing */
#define FC_WEIGHT_UNIT           256u     /* vtime runs at 1 ns/ns at this */
#define FC_LOAD_SCALE            1024u    /* load = weight share x this */
#define FC_PULL_SCAN             8u       /* candidates a balance looks at */
#define FC_NO_CPU                (~0u)
#define FC_CAP_SYNC_MAX          SCH_SEC(1000) /* idle so long, it is full */

#define FC_TSLICE_US_MIN         100u
#define FC_TSLICE_US_MAX         1000000u
#define FC_PERIOD_US_MIN         1000u
#define FC_PERIOD_US_MAX         1000000u
#define FC_LATENCY_US_MAX        100000u

/* Pairing heap node; prev is the parent for a first child. */
struct fc_node {
    struct fc_node *child, *next, *prev;
};

struct fc_private {
    struct sch_lock lock;               /* tunables and the masks */
    struct sch_cpumask idlers;
    unsigned int nr_idlers;             /* bits in idlers: 0 is common */
    struct sch_cpumask waiting;         /* pCPUs with units queued */
    sch_time_t tslice, ratelimit, period, latency;
    bool boost;
};

struct fc_pcpu {
    struct fc_node *runq;               /* heap root, least (vtime, seq) */
    unsigned int nr_queued;
    uint64_t load;                      /* sum of its units' contrib */
    uint64_t seq;
    uint64_t min_vtime;                 /* never goes back */
    struct sch_list parked;             /* runnable, domain throttled */
    sch_time_t next_resume;             /* earliest budget back, if parked */
    sch_time_t last_balance;
};

struct fc_dom {
    struct sch_lock lock;
    struct sch_domain *dom;
    uint32_t weight, cap_pct;
    unsigned int nr_runnable;
    unsigned int nr_running;            /* units on a pCPU now */
    int64_t left;                       /* cap budget, ns x 100: fc_cap_sync */
    sch_time_t left_at;
    bool throttled;
    struct sch_cpumask parked_on;       /* pCPUs that may hold parked units */
};

struct fc_unit {
    struct fc_node node;                /* first: heap nodes cast to units */
    struct sch_unit *unit;
    struct fc_dom *dom;
    uint64_t vtime;
    uint64_t seq;
    uint64_t rem;                       /* vtime remainder, in weight units */
    sch_time_t start;                   /* accounted up to here */
    unsigned int loaded_on;             /* pCPU whose load has us, or none */
    uint64_t contrib;                   /* what we added to that load */
    sch_time_t run_start;               /* switched in at */
    struct sch_list park_elem;
    bool queued, parked, yielding;
};

static struct fc_private *fc_priv(const struct sch_sched *s)
{
    return s->priv;
}

static struct fc_pcpu *fc_pcpu(const struct sch_sched *s, unsigned int cpu)
{
    return s->res[cpu].priv;
}

static struct fc_unit *fc_unit(const struct sch_unit *u)
{
    return u->priv;
}

/*
 * Load balancing weighs pCPUs by what their units are entitled to: a
 * unit's contrib is its share of its domain's weight.  @fu leaves the load
 * of the pCPU it was counted on and joins @cpu's (FC_NO_CPU: none).  The
 * contrib is refreshed on every move, so a domain's changing number of
 * runnable units is followed as its units move and run.  Caller holds the
 * locks of both pCPUs.
 */
static void fc_load_move(const struct sch_sched *s, struct fc_unit *fu,
                         unsigned int cpu)
{
    const struct fc_dom *fd = fu->dom;

    if ( fu->loaded_on != FC_NO_CPU )
        fc_pcpu(s, fu->loaded_on)->load -= fu->contrib;
    fu->loaded_on = cpu;
    if ( cpu == FC_NO_CPU )
        return;
    fu->contrib = (uint64_t)fd->weight * FC_LOAD_SCALE /
                  (fd->nr_runnable ? fd->nr_runnable : 1);
    fc_pcpu(s, cpu)->load += fu->contrib;
}

/* a < b for vtimes that may wrap: only their distance matters. */
static bool fc_vt_before(uint64_t a, uint64_t b)
{
    return (int64_t)(a - b) < 0;
}

/* ------------------------------------------------------------------ */
/* Runqueue: a pairing heap                                            */

static bool fc_node_before(const struct fc_node *a, const struct fc_node *b)
{
    const struct fc_unit *ua = (const struct fc_unit *)a;
    const struct fc_unit *ub = (const struct fc_unit *)b;

    if ( ua->vtime != ub->vtime )
        return fc_vt_before(ua->vtime, ub->vtime);
    return ua->seq < ub->seq;
}

/* Join two roots; the result's next and prev are left to the caller. */
static struct fc_node *fc_meld(struct fc_node *a, struct fc_node *b)
{
    struct fc_node *t;

    if ( fc_node_before(b, a) )
    {
        t = a;
        a = b;
        b = t;
    }
    b->prev = a;
    b->next = a->child;
    if ( a->child )
        a->child->prev = b;
    a->child = b;
    return a;
}

/* Merge a list of sibling roots: pair left to right, then fold right to
 * left.  That order is what makes delete-min O(log n) amortised. */
static struct fc_node *fc_merge_pairs(struct fc_node *first)
{
    struct fc_node *pairs = NULL, *a, *b, *rest;

    while ( first )
    {
        a = first;
        b = a->next;
        rest = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if ( b )
        {
            b->next = b->prev = NULL;
            a = fc_meld(a, b);
        }
        a->next = pairs;        /* stack of pairs, last pair on top */
        pairs = a;
        first = rest;
    }
    if ( !pairs )
        return NULL;
    a = pairs;
    pairs = pairs->next;
    a->next = NULL;
    while ( pairs )
    {
        b = pairs;
        pairs = pairs->next;
        b->next = NULL;
        a = fc_meld(a, b);
    }
    a->prev = NULL;
    return a;
}

/* Track which pCPUs have units waiting, so stealing looks only there. */
static void fc_mark_waiting(const struct sch_sched *s, unsigned int cpu,
                            bool waiting)
{
    struct fc_private *prv = fc_priv(s);

    sch_spin_lock(&prv->lock);
    if ( waiting )
        sch_cpumask_set(&prv->waiting, cpu);
    else
        sch_cpumask_clear(&prv->waiting, cpu);
    sch_spin_unlock(&prv->lock);
}

static void fc_runq_insert(const struct sch_sched *s, unsigned int cpu,
                           struct fc_unit *fu)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct fc_node *n = &fu->node;

    SCH_ASSERT(!fu->queued && !fu->parked);
    n->child = n->next = n->prev = NULL;
    fu->seq = pc->seq++;
    fu->queued = true;
    fc_load_move(s, fu, cpu);
    pc->runq = pc->runq ? fc_meld(pc->runq, n) : n;
    pc->runq->prev = pc->runq->next = NULL;
    if ( pc->nr_queued++ == 0 )
        fc_mark_waiting(s, cpu, true);
}

static void fc_runq_remove(const struct sch_sched *s, unsigned int cpu,
                           struct fc_unit *fu)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct fc_node *n = &fu->node, *sub;

    SCH_ASSERT(fu->queued);
    fu->queued = false;
    if ( --pc->nr_queued == 0 )
        fc_mark_waiting(s, cpu, false);
    if ( n == pc->runq )
    {
        pc->runq = fc_merge_pairs(n->child);
        return;
    }
    if ( n->prev->child == n )
        n->prev->child = n->next;
    else
        n->prev->next = n->next;
    if ( n->next )
        n->next->prev = n->prev;
    sub = fc_merge_pairs(n->child);
    if ( sub )
    {
        pc->runq = fc_meld(pc->runq, sub);
        pc->runq->prev = pc->runq->next = NULL;
    }
}

static struct fc_unit *fc_runq_head(const struct fc_pcpu *pc)
{
    return (struct fc_unit *)pc->runq;
}

/* ------------------------------------------------------------------ */
/* Accounting                                                          */

/* Charge @fu's vtime for running until @now.  Its domain's budget needs
 * nothing here: the bucket drains by the domain's running units. */
static void fc_burn(struct fc_unit *fu, sch_time_t now)
{
    struct fc_dom *fd = fu->dom;
    sch_time_t delta = now - fu->start;
    uint64_t scaled;
    unsigned int share;

    if ( delta <= 0 )
        return;
    fu->start = now;
    sch_spin_lock(&fd->lock);
    share = fd->nr_runnable ? fd->nr_runnable : 1;
    scaled = (uint64_t)delta * FC_WEIGHT_UNIT * share + fu->rem;
    fu->vtime += scaled / fd->weight;
    fu->rem = scaled % fd->weight;
    sch_spin_unlock(&fd->lock);
}

/* The budget (ns x 100) a throttled domain capped at @cap_pct waits for. */
static int64_t fc_cap_resume(const struct fc_private *prv, uint32_t cap_pct)
{
    return prv->period * cap_pct / FC_CAP_RESUME_DIV;
}

/*
 * Caps are a token bucket, kept in ns x 100 so that accruing cap_pct per
 * ns is exact.  @left is the budget at @left_at.  Between two syncs the
 * domain's number of running units is constant, so the
 * budget moved in a straight line and the clamp at the depth is exact.
 * The depth, a period's budget, is all a domain may burst after a sleep or
 * a wait: a cap holds in every window first, and over time as well only
 * as far as that allows.  Domain lock held.
 */
static void fc_cap_sync(const struct fc_private *prv, struct fc_dom *fd,
                        sch_time_t now)
{
    sch_time_t dt = now - fd->left_at;
    int64_t depth = prv->period * fd->cap_pct;

    /* Another pCPU's clock may be a little behind this domain's last sync
     * (Xen under emulation): count nothing rather than go back. */
    if ( dt <= 0 || !fd->cap_pct )
        return;
    /* Idle that long, it is full: clamping keeps the product small.  A
     * running domain is synced at least every slice, and its debt, even
     * from a stalled pCPU, is all paid back: that is what holds a cap. */
    if ( !fd->nr_running && dt > FC_CAP_SYNC_MAX )
        dt = FC_CAP_SYNC_MAX;
    fd->left += dt * ((int64_t)fd->cap_pct - 100 * (int64_t)fd->nr_running);
    if ( fd->left > depth )
        fd->left = depth;
    fd->left_at = now;
}

/*
 * Is @fd out of budget?  A domain is throttled when its budget runs out
 * and stays so until a quarter of the depth is back: it then runs bursts
 * of a quarter period's budget, not slivers, and a pCPU that comes back
 * for it up to three quarters of a period late (a late timer, a wait
 * behind heavier domains) still loses nothing.  Domain lock held.
 */
static bool fc_dom_throttle_locked(const struct sch_sched *s,
                                   struct fc_dom *fd, sch_time_t now)
{
    const struct fc_private *prv = fc_priv(s);

    if ( !fd->cap_pct )
        return false;
    fc_cap_sync(prv, fd, now);
    if ( fd->throttled )
        fd->throttled = fd->left < fc_cap_resume(prv, fd->cap_pct);
    else
        fd->throttled = fd->left <= 0;
    return fd->throttled;
}

/* When a throttled @fd has its budget back if none of its units runs
 * meanwhile.  Domain lock held.  The cap may have gone since the caller
 * found it throttled (adjust runs on any pCPU): then at once. */
static sch_time_t fc_dom_resume_at(const struct fc_private *prv,
                                   struct fc_dom *fd, sch_time_t now)
{
    int64_t need;

    fc_cap_sync(prv, fd, now);
    need = fc_cap_resume(prv, fd->cap_pct) - fd->left;
    if ( !fd->cap_pct || need <= 0 )
        return now;
    return now + (need + fd->cap_pct - 1) / fd->cap_pct;
}

/*
 * Park @fu on @cpu until its domain has budget again.  Parked units have
 * no timer: @cpu bounds its next decision by next_resume (fc_do_schedule)
 * and unparks them then, so no other pCPU's timer or IPI stands between a
 * domain and its budget.  Returns true when @cpu must come back sooner
 * than it had planned, which a caller outside @cpu's decision must kick
 * it for.
 */
static bool fc_park(const struct sch_sched *s, struct fc_unit *fu,
                    unsigned int cpu, sch_time_t now)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct fc_dom *fd = fu->dom;
    bool sooner;
    sch_time_t at;

    SCH_ASSERT(!fu->queued && !fu->parked);
    sch_spin_lock(&fd->lock);
    sch_cpumask_set(&fd->parked_on, cpu);
    at = fc_dom_resume_at(fc_priv(s), fd, now);
    sch_spin_unlock(&fd->lock);
    sooner = sch_list_empty(&pc->parked) || at < pc->next_resume;
    if ( sooner )
        pc->next_resume = at;
    fu->parked = true;
    fc_load_move(s, fu, FC_NO_CPU);
    sch_list_add_tail(&fu->park_elem, &pc->parked);
    return sooner;
}

static void fc_unpark(struct fc_unit *fu)
{
    SCH_ASSERT(fu->parked);
    fu->parked = false;
    sch_list_del_init(&fu->park_elem);
}

/* Queue @fu on @cpu, or park it if its domain is throttled.  Returns
 * fc_park()'s answer: true if @cpu must come back sooner. */
static bool fc_enqueue(const struct sch_sched *s, struct fc_unit *fu,
                       unsigned int cpu, sch_time_t now)
{
    struct fc_dom *fd = fu->dom;
    bool throttled;

    sch_spin_lock(&fd->lock);
    throttled = fc_dom_throttle_locked(s, fd, now);
    sch_spin_unlock(&fd->lock);
    if ( throttled )
        return fc_park(s, fu, cpu, now);
    fc_runq_insert(s, cpu, fu);
    return false;
}

/* Requeue parked units whose domain has budget again, and find when the
 * first of those left parked has.  Lock of @cpu held. */
static void fc_unpark_ready(const struct sch_sched *s, unsigned int cpu,
                            sch_time_t now)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct sch_list *pos, *n;
    bool first = true;

    sch_list_for_each_safe(pos, n, &pc->parked)
    {
        struct fc_unit *fu = sch_list_entry(pos, struct fc_unit, park_elem);
        struct fc_dom *fd = fu->dom;
        sch_time_t at = 0;
        bool throttled;

        sch_spin_lock(&fd->lock);
        throttled = fc_dom_throttle_locked(s, fd, now);
        if ( throttled )
        {
            sch_cpumask_set(&fd->parked_on, cpu);
            at = fc_dom_resume_at(fc_priv(s), fd, now);
        }
        sch_spin_unlock(&fd->lock);
        if ( throttled )
        {
            if ( first || at < pc->next_resume )
                pc->next_resume = at;
            first = false;
            continue;
        }
        fc_unpark(fu);
        if ( fc_vt_before(fu->vtime, pc->min_vtime) )
            fu->vtime = pc->min_vtime;
        fc_runq_insert(s, cpu, fu);
    }
}

static void fc_set_idle(const struct sch_sched *s, unsigned int cpu,
                        bool idle)
{
    struct fc_private *prv = fc_priv(s);

    sch_spin_lock(&prv->lock);
    if ( idle != sch_cpumask_test(&prv->idlers, cpu) )
    {
        if ( idle )
            sch_cpumask_set(&prv->idlers, cpu);
        else
            sch_cpumask_clear(&prv->idlers, cpu);
        prv->nr_idlers += idle ? 1 : -1u;
    }
    sch_spin_unlock(&prv->lock);
}

/*
 * Kick @cpu to pick up work.  An idle pCPU leaves the idlers as it is
 * kicked, not when it gets round to scheduling: a second pCPU looking for
 * an idler to hand work to must not pick one that is already on its way
 * to other work, or that work waits while a truly idle pCPU sleeps on.
 */
static void fc_kick(const struct sch_sched *s, unsigned int cpu)
{
    fc_set_idle(s, cpu, false);
    sch_kick(s, cpu);
}

/* ------------------------------------------------------------------ */
/* Placement                                                           */

/* Move @fu's vtime from @from's frame to @to's, keeping its lag. */
static void fc_rebase(const struct sch_sched *s, struct fc_unit *fu,
                      unsigned int from, unsigned int to)
{
    if ( from == to )
        return;
    fu->vtime = fu->vtime - fc_pcpu(s, from)->min_vtime +
                fc_pcpu(s, to)->min_vtime;
}

static unsigned int fc_idler_for(const struct sch_sched *s,
                                 const struct sch_unit *u)
{
    struct fc_private *prv = fc_priv(s);
    struct sch_cpumask mask;

    /* A busy host has no idlers: say so without touching the masks. */
    if ( !prv->nr_idlers )
        return SCH_MAX_CPUS;
    sch_spin_lock(&prv->lock);
    sch_cpumask_and(&mask, &prv->idlers, &u->hard_affinity);
    sch_spin_unlock(&prv->lock);
    if ( sch_cpumask_test(&mask, u->res) )
        return u->res;
    return sch_cpumask_cycle(&mask, u->res);
}

/*
 * Units wait: kick up to @n idle pCPUs (allowed for the unit at the head of
 * @cpu's queue) to come and steal.  Each kicked pCPU leaves the idlers at
 * once, so no two kicks go to one pCPU.
 */
static void fc_kick_idlers(const struct sch_sched *s, unsigned int cpu,
                           unsigned int n)
{
    struct fc_private *prv = fc_priv(s);
    const struct fc_unit *head = fc_runq_head(fc_pcpu(s, cpu));
    struct sch_cpumask mask;
    unsigned int peer = cpu;

    if ( !head || !prv->nr_idlers )
        return;
    sch_spin_lock(&prv->lock);
    sch_cpumask_and(&mask, &prv->idlers, &head->unit->hard_affinity);
    sch_spin_unlock(&prv->lock);
    while ( n-- && (peer = sch_cpumask_cycle(&mask, peer)) < SCH_MAX_CPUS )
    {
        sch_cpumask_clear(&mask, peer);
        fc_kick(s, peer);
    }
}

/*
 * @cpu was kicked out of idle but found work of its own: the kick may
 * have been meant for stealing from a peer, so pass it on to another idler
 * while any peer has units waiting.
 */
static void fc_pass_kick(const struct sch_sched *s, unsigned int cpu)
{
    struct fc_private *prv = fc_priv(s);
    struct sch_cpumask waiting;
    unsigned int peer;

    sch_spin_lock(&prv->lock);
    waiting = prv->waiting;
    sch_spin_unlock(&prv->lock);
    sch_cpumask_clear(&waiting, cpu);
    sch_for_each_cpu(peer, &waiting)
    {
        fc_kick_idlers(s, peer, 1);
        return;
    }
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */

static int fc_init(struct sch_sched *s)
{
    struct fc_private *prv = sch_zalloc(s, sizeof(*prv));

    if ( !prv )
        return -SCH_ENOMEM;
    sch_spin_lock_init(&prv->lock);
    prv->tslice = SCH_USEC(FC_TSLICE_US_DEFAULT);
    prv->ratelimit = SCH_USEC(FC_RATELIMIT_US_DEFAULT);
    prv->period = SCH_USEC(FC_PERIOD_US_DEFAULT);
    prv->latency = SCH_USEC(FC_LATENCY_US_DEFAULT);
    prv->boost = true;
    s->priv = prv;
    return 0;
}

static void fc_deinit(struct sch_sched *s)
{
    sch_free(s, s->priv);
    s->priv = NULL;
}

static void *fc_alloc_pdata(const struct sch_sched *s, unsigned int cpu)
{
    struct fc_pcpu *pc = sch_zalloc(s, sizeof(*pc));

    (void)cpu;
    if ( pc )
        sch_list_init(&pc->parked);
    return pc;
}

static void fc_free_pdata(const struct sch_sched *s, void *pd,
                          unsigned int cpu)
{
    (void)cpu;
    sch_free(s, pd);
}

static void *fc_alloc_domdata(const struct sch_sched *s, struct sch_domain *d)
{
    struct fc_dom *fd = sch_zalloc(s, sizeof(*fd));

    if ( !fd )
        return NULL;
    sch_spin_lock_init(&fd->lock);
    fd->dom = d;
    fd->weight = SCH_WEIGHT_DEFAULT;
    return fd;
}

static void fc_free_domdata(const struct sch_sched *s, void *dd)
{
    sch_free(s, dd);
}

static void *fc_alloc_udata(const struct sch_sched *s, struct sch_unit *u,
                            void *dd)
{
    struct fc_unit *fu = sch_zalloc(s, sizeof(*fu));

    if ( !fu )
        return NULL;
    fu->unit = u;
    fu->dom = dd;
    fu->loaded_on = FC_NO_CPU;
    sch_list_init(&fu->park_elem);
    return fu;
}

static void fc_free_udata(const struct sch_sched *s, void *ud)
{
    sch_free(s, ud);
}

static void fc_insert_unit(const struct sch_sched *s, struct sch_unit *u)
{
    fc_unit(u)->vtime = fc_pcpu(s, u->res)->min_vtime;
}

static void fc_dequeue(const struct sch_sched *s, struct fc_unit *fu)
{
    if ( fu->queued )
        fc_runq_remove(s, fu->unit->res, fu);
    else if ( fu->parked )
        fc_unpark(fu);
}

static void fc_remove_unit(const struct sch_sched *s, struct sch_unit *u)
{
    fc_dequeue(s, fc_unit(u));
    fc_load_move(s, fc_unit(u), FC_NO_CPU);
}

static void fc_runnable_delta(struct fc_dom *fd, int d)
{
    sch_spin_lock(&fd->lock);
    fd->nr_runnable += d;
    sch_spin_unlock(&fd->lock);
}

static void fc_sleep(const struct sch_sched *s, struct sch_unit *u,
                     sch_time_t now)
{
    struct fc_unit *fu = fc_unit(u);

    if ( sch_curr_on_cpu(s, u->res) == u )
    {
        fc_burn(fu, now);
        sch_kick(s, u->res);
    }
    else
        fc_dequeue(s, fu);
    fc_load_move(s, fu, FC_NO_CPU);
    fc_runnable_delta(fu->dom, -1);
}

static void fc_wake(const struct sch_sched *s, struct sch_unit *u,
                    sch_time_t now)
{
    struct fc_private *prv = fc_priv(s);
    struct fc_unit *fu = fc_unit(u);
    unsigned int cpu = u->res, idler, steal_by = SCH_MAX_CPUS;
    struct sch_unit *curr;
    struct fc_pcpu *pc;
    uint64_t floor;

    fc_runnable_delta(fu->dom, 1);
    /*
     * Current on its pCPU: do_schedule will see it runnable.  Not "is
     * running": in Xen a unit switched out is still running until its
     * context is saved, and a wake in that window must queue it.
     */
    if ( sch_curr_on_cpu(s, u->res) == u || fu->queued || fu->parked )
        return;

    /*
     * Busy here and idle elsewhere: queue here and kick the idler, which
     * steals it.  Moving it straight to the idler's queue would touch a
     * runqueue whose lock we do not hold (in Xen, wake has only u->res's).
     */
    curr = sch_curr_on_cpu(s, cpu);
    if ( !curr->is_idle || !sch_cpumask_test(&u->hard_affinity, cpu) )
    {
        idler = fc_idler_for(s, u);
        if ( idler < SCH_MAX_CPUS && idler != cpu )
            steal_by = idler;
    }
    pc = fc_pcpu(s, cpu);

    /* Bank at most "latency" of credit for the sleep. */
    floor = pc->min_vtime - (prv->boost ? (uint64_t)prv->latency : 0);
    if ( fc_vt_before(fu->vtime, floor) )
        fu->vtime = floor;
    fu->start = now;
    if ( fc_enqueue(s, fu, cpu, now) )
        sch_kick(s, cpu);               /* to come back for it in time */
    if ( !fu->queued )
        return;

    if ( steal_by < SCH_MAX_CPUS )
    {
        fc_kick(s, steal_by);
        return;
    }
    if ( curr->is_idle )
    {
        fc_kick(s, cpu);
        return;
    }
    /* Boost: preempt whoever runs if the waker is behind it.  Without it
     * the waker waits for the running slice to end. */
    if ( !prv->boost )
        return;
    fc_burn(fc_unit(curr), now);
    if ( fc_vt_before(fu->vtime, fc_unit(curr)->vtime) )
        sch_kick(s, cpu);
}

static void fc_yield(const struct sch_sched *s, struct sch_unit *u,
                     sch_time_t now)
{
    (void)now;
    fc_unit(u)->yielding = true;
    sch_kick(s, u->res);
}

/* Take @fu, queued on @peer, over to @cpu. */
static void fc_migrate(const struct sch_sched *s, struct fc_unit *fu,
                       unsigned int peer, unsigned int cpu)
{
    fc_runq_remove(s, peer, fu);
    fc_rebase(s, fu, peer, cpu);
    sch_unit_set_res(fu->unit, cpu);
    fc_load_move(s, fu, cpu);
}

/*
 * @cpu is about to idle: take the least-vtime unit of the peer with most
 * waiting.  Lock of @cpu held; the peer is only trylocked, so two pCPUs
 * stealing from each other cannot deadlock.
 */
static struct fc_unit *fc_steal(const struct sch_sched *s, unsigned int cpu)
{
    unsigned int peer, best = SCH_MAX_CPUS, most = 0;
    struct sch_cpumask waiting;
    struct fc_unit *fu;

    sch_spin_lock(&fc_priv(s)->lock);
    waiting = fc_priv(s)->waiting;
    sch_spin_unlock(&fc_priv(s)->lock);
    sch_for_each_cpu(peer, &waiting)
    {
        struct fc_pcpu *pp = fc_pcpu(s, peer);
        const struct fc_unit *head = fc_runq_head(pp);

        if ( peer == cpu || pp->nr_queued <= most || !head ||
             !sch_cpumask_test(&head->unit->hard_affinity, cpu) )
            continue;
        most = pp->nr_queued;
        best = peer;
    }
    if ( best == SCH_MAX_CPUS ||
         !sch_spin_trylock(sch_res(s, best)->lock) )
        return NULL;
    fu = fc_runq_head(fc_pcpu(s, best));
    /* Queued but still running: switched out, its state not yet saved. */
    if ( fu && !fu->unit->is_running &&
         sch_cpumask_test(&fu->unit->hard_affinity, cpu) )
        fc_migrate(s, fu, best, cpu);
    else
        fu = NULL;
    sch_spin_unlock(sch_res(s, best)->lock);
    return fu;
}

/*
 * Balance by weight: pull from the most loaded peer a waiting unit whose
 * contrib is below the difference in load, so every move narrows it and
 * nothing ping-pongs.  Only the heap's root and its first children are
 * looked at: cheap, and over successive balances enough.
 */
static void fc_balance(const struct sch_sched *s, unsigned int cpu)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu), *pp;
    unsigned int peer, best = SCH_MAX_CPUS, n;
    struct sch_cpumask waiting;
    uint64_t most = pc->load;
    struct fc_node *node;

    sch_spin_lock(&fc_priv(s)->lock);
    waiting = fc_priv(s)->waiting;
    sch_spin_unlock(&fc_priv(s)->lock);
    sch_for_each_cpu(peer, &waiting)
        if ( peer != cpu && fc_pcpu(s, peer)->load > most )
        {
            most = fc_pcpu(s, peer)->load;
            best = peer;
        }
    if ( best == SCH_MAX_CPUS ||
         !sch_spin_trylock(sch_res(s, best)->lock) )
        return;
    pp = fc_pcpu(s, best);
    node = pp->runq;
    for ( n = 0; node && n < FC_PULL_SCAN; n++ )
    {
        struct fc_unit *fu = (struct fc_unit *)node;

        if ( fu->contrib < pp->load - pc->load && !fu->unit->is_running &&
             sch_cpumask_test(&fu->unit->hard_affinity, cpu) )
        {
            fc_migrate(s, fu, best, cpu);
            fc_runq_insert(s, cpu, fu);
            break;
        }
        node = n == 0 ? node->child : node->next;
    }
    sch_spin_unlock(sch_res(s, best)->lock);
}

/* The least-vtime unit of @cpu's queue whose domain still has budget. */
static struct fc_unit *fc_pick(const struct sch_sched *s, unsigned int cpu,
                               sch_time_t now)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct fc_unit *fu;

    while ( (fu = fc_runq_head(pc)) )
    {
        bool throttled;

        fc_runq_remove(s, cpu, fu);
        sch_spin_lock(&fu->dom->lock);
        throttled = fc_dom_throttle_locked(s, fu->dom, now);
        sch_spin_unlock(&fu->dom->lock);
        if ( !throttled )
            return fu;
        fc_park(s, fu, cpu, now);
    }
    return NULL;
}

/* How long @fd's units may run from @now before its budget is out, if all
 * its runnable units spend it at once while it accrues (-1: they cannot
 * outspend the cap).  Never below the minimum slice unless the budget is:
 * slicing the last crumbs ever finer would cost more than it could save,
 * and the overdraft is paid back. */
static sch_time_t fc_budget_slice(const struct sch_sched *s,
                                  struct fc_dom *fd, sch_time_t now)
{
    const int64_t min = SCH_USEC(FC_MIN_SLICE_US);
    int64_t left, drain, each;
    unsigned int n;

    sch_spin_lock(&fd->lock);
    fc_cap_sync(fc_priv(s), fd, now);
    left = fd->left;
    n = fd->nr_runnable > fd->nr_running ? fd->nr_runnable : fd->nr_running;
    drain = 100 * (int64_t)(n ? n : 1) - fd->cap_pct;
    sch_spin_unlock(&fd->lock);
    if ( drain <= 0 )
        return -1;
    each = (left + drain - 1) / drain;
    if ( each < min )
        each = left / 100 < min ? left / 100 : min;
    return each > 1 ? each : 1;
}

/* How long @fu may run from @now before the next decision. */
static sch_time_t fc_slice(const struct sch_sched *s, struct fc_unit *fu,
                           const struct fc_pcpu *pc, sch_time_t now)
{
    const struct fc_private *prv = fc_priv(s);
    const struct fc_unit *next = fc_runq_head(pc);
    struct fc_dom *fd = fu->dom;
    sch_time_t slice = prv->tslice;

    if ( next )
    {
        /* Real time for our vtime to pass next's by the granularity. */
        uint64_t goal = next->vtime + SCH_USEC(FC_GRAN_US);
        uint64_t lead = fc_vt_before(goal, fu->vtime) ? 0 : goal - fu->vtime;
        unsigned int share = fd->nr_runnable ? fd->nr_runnable : 1;

        lead = lead * fd->weight / (FC_WEIGHT_UNIT * share);
        if ( (sch_time_t)lead < slice )
            slice = (sch_time_t)lead;
        if ( slice < SCH_USEC(FC_MIN_SLICE_US) )
            slice = SCH_USEC(FC_MIN_SLICE_US);
    }
    if ( fd->cap_pct )
    {
        sch_time_t left = fc_budget_slice(s, fd, now);

        if ( left >= 0 && left < slice )
            slice = left;
    }
    return slice;
}

/* @fu starts or stops spending its domain's budget at @now (its start):
 * the bucket is brought up to @now at the old rate first. */
static void fc_running(const struct sch_sched *s, struct fc_unit *fu, bool on,
                       sch_time_t now)
{
    struct fc_dom *fd = fu->dom;

    SCH_ASSERT(fu->start == now);
    sch_spin_lock(&fd->lock);
    fc_cap_sync(fc_priv(s), fd, now);
    if ( on )
        fd->nr_running++;
    else
    {
        SCH_ASSERT(fd->nr_running > 0);
        fd->nr_running--;
    }
    sch_spin_unlock(&fd->lock);
}

/* Raise @cpu's min vtime to the least of @next and what still waits. */
static void fc_advance_min(struct fc_pcpu *pc, const struct fc_unit *next)
{
    const struct fc_unit *head = fc_runq_head(pc);
    uint64_t least = next->vtime;

    if ( head && fc_vt_before(head->vtime, least) )
        least = head->vtime;
    if ( fc_vt_before(pc->min_vtime, least) )
        pc->min_vtime = least;
}

static void fc_decide(const struct sch_sched *s, struct sch_unit *curr,
                      unsigned int cpu, sch_time_t now, bool tasklet_work,
                      struct sch_slice *out)
{
    const struct fc_private *prv = fc_priv(s);
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct fc_unit *fc = curr->is_idle ? NULL : fc_unit(curr), *next = NULL;
    bool yielding = false;

    out->migrated = false;
    fc_unpark_ready(s, cpu, now);
    if ( fc )
    {
        fc_burn(fc, now);
        yielding = fc->yielding;
        fc->yielding = false;
        if ( curr->runnable )
            fc_enqueue(s, fc, cpu, now);    /* parks it if out of budget */
    }

    if ( !tasklet_work )
    {
        next = fc_pick(s, cpu, now);
        if ( next && next == fc && yielding && fc_runq_head(pc) )
        {
            /* A yield lets the next one go first, once. */
            struct fc_unit *other = fc_pick(s, cpu, now);

            fc_runq_insert(s, cpu, next);
            next = other;
        }
        if ( next && fc && next != fc && fc->queued && !yielding &&
             now - fc->run_start < prv->ratelimit )
        {
            /* Ratelimit: curr keeps the pCPU for its minimum first. */
            fc_runq_insert(s, cpu, next);
            fc_runq_remove(s, cpu, fc);
            out->task = curr;
            out->time = prv->ratelimit - (now - fc->run_start);
            fc_kick_idlers(s, cpu, 1);  /* next may run elsewhere now */
            return;
        }
        if ( !next )
        {
            next = fc_steal(s, cpu);
            out->migrated = next != NULL;
        }
        else if ( now - pc->last_balance >= SCH_USEC(FC_BALANCE_US) )
        {
            pc->last_balance = now;
            fc_balance(s, cpu);
        }
    }

    if ( fc && next != fc )
        fc_running(s, fc, false, now);
    if ( !next )
    {
        out->task = sch_res(s, cpu)->idle;
        out->time = -1;
        fc_set_idle(s, cpu, true);
        return;
    }

    fc_advance_min(pc, next);
    if ( next != fc )
    {
        next->run_start = now;
        next->start = now;
        fc_running(s, next, true, now);
    }
    out->task = next->unit;
    out->time = fc_slice(s, next, pc, now);
    fc_set_idle(s, cpu, false);
    if ( pc->nr_queued )
        fc_kick_idlers(s, cpu, pc->nr_queued);
    if ( !fc && !out->migrated )
        fc_pass_kick(s, cpu);
}

static void fc_do_schedule(const struct sch_sched *s, struct sch_unit *curr,
                           unsigned int cpu, sch_time_t now,
                           bool tasklet_work, struct sch_slice *out)
{
    const struct fc_pcpu *pc = fc_pcpu(s, cpu);
    sch_time_t until;

    fc_decide(s, curr, cpu, now, tasklet_work, out);
    /* Come back for the parked units when their budget is (fc_park). */
    if ( sch_list_empty(&pc->parked) )
        return;
    until = pc->next_resume > now ? pc->next_resume - now : 1;
    if ( out->time < 0 || until < out->time )
        out->time = until;
}

/* Asleep, so on no queue: only its vtime must change frames. */
static void fc_migrate_asleep(const struct sch_sched *s, struct sch_unit *u,
                              unsigned int cpu)
{
    fc_rebase(s, fc_unit(u), u->res, cpu);
    sch_unit_set_res(u, cpu);
}

static unsigned int fc_pick_resource(const struct sch_sched *s,
                                     const struct sch_unit *u)
{
    struct sch_cpumask mask;
    unsigned int cpu = fc_idler_for(s, u);

    if ( cpu < SCH_MAX_CPUS )
        return cpu;
    if ( sch_cpumask_test(&u->hard_affinity, u->res) )
        return u->res;
    sch_cpumask_and(&mask, &s->cpus, &u->hard_affinity);
    return sch_cpumask_next(&mask, 0);
}

/*
 * @fd's cap becomes @cap_pct at @now.  The budget so far is settled at the
 * old cap; a domain newly capped starts as if just resumed, and one whose
 * cap moves keeps its bucket as full as it was, so a cap that xenosd
 * resplits every interval gives nothing away.  Domain lock held.
 */
static void fc_cap_changed(const struct fc_private *prv, struct fc_dom *fd,
                           uint32_t cap_pct, sch_time_t now)
{
    fc_cap_sync(prv, fd, now);
    if ( !fd->cap_pct )
        fd->left = fc_cap_resume(prv, cap_pct);    /* as if just resumed */
    else
        fd->left = fd->left * (int64_t)cap_pct / fd->cap_pct;
    if ( !cap_pct )
        fd->throttled = false;
    fd->cap_pct = cap_pct;
    fd->left_at = now;
}

static int fc_adjust(const struct sch_sched *s, struct sch_domain *d,
                     struct sch_dom_params *p, sch_time_t now)
{
    struct fc_dom *fd = d->priv;
    struct sch_cpumask kick;
    unsigned int cpu;

    sch_cpumask_clear_all(&kick);
    if ( p->cmd == SCH_PARAM_GET )
    {
        sch_spin_lock(&fd->lock);
        p->weight = fd->weight;
        p->cap_pct = fd->cap_pct;
        sch_spin_unlock(&fd->lock);
        return 0;
    }
    if ( p->weight != SCH_PARAM_UNCHANGED &&
         (p->weight < SCH_WEIGHT_MIN || p->weight > SCH_WEIGHT_MAX) )
        return -SCH_EINVAL;
    if ( p->cap_pct != SCH_PARAM_UNCHANGED &&
         p->cap_pct > 100 * s->nr_cpus )
        return -SCH_EINVAL;
    sch_spin_lock(&fd->lock);
    if ( p->weight != SCH_PARAM_UNCHANGED )
        fd->weight = p->weight;
    if ( p->cap_pct != SCH_PARAM_UNCHANGED && p->cap_pct != fd->cap_pct )
    {
        fc_cap_changed(fc_priv(s), fd, p->cap_pct, now);
        /* The pCPUs holding parked units wait for the old budget: have
         * them look again (fc_unpark_ready marks those still holding). */
        kick = fd->parked_on;
        sch_cpumask_clear_all(&fd->parked_on);
    }
    sch_spin_unlock(&fd->lock);
    sch_for_each_cpu(cpu, &kick)
        sch_kick(s, cpu);
    return 0;
}

static int fc_adjust_global(const struct sch_sched *s,
                            struct sch_global_params *p)
{
    struct fc_private *prv = fc_priv(s);
    uint32_t tslice, ratelimit, period, latency;

    sch_spin_lock(&prv->lock);
    tslice = (uint32_t)(prv->tslice / 1000);
    ratelimit = (uint32_t)(prv->ratelimit / 1000);
    period = (uint32_t)(prv->period / 1000);
    latency = (uint32_t)(prv->latency / 1000);
    if ( p->cmd == SCH_PARAM_GET )
    {
        p->tslice_us = tslice;
        p->ratelimit_us = ratelimit;
        p->period_us = period;
        p->latency_us = latency;
        p->boost = prv->boost;
        sch_spin_unlock(&prv->lock);
        return 0;
    }
    if ( p->tslice_us != SCH_PARAM_UNCHANGED )
        tslice = p->tslice_us;
    if ( p->ratelimit_us != SCH_PARAM_UNCHANGED )
        ratelimit = p->ratelimit_us;
    if ( p->period_us != SCH_PARAM_UNCHANGED )
        period = p->period_us;
    if ( p->latency_us != SCH_PARAM_UNCHANGED )
        latency = p->latency_us;
    if ( tslice < FC_TSLICE_US_MIN || tslice > FC_TSLICE_US_MAX ||
         ratelimit > tslice || period < FC_PERIOD_US_MIN ||
         period > FC_PERIOD_US_MAX || latency > FC_LATENCY_US_MAX ||
         (p->boost != SCH_PARAM_UNCHANGED && p->boost > 1) )
    {
        sch_spin_unlock(&prv->lock);
        return -SCH_EINVAL;
    }
    prv->tslice = SCH_USEC(tslice);
    prv->ratelimit = SCH_USEC(ratelimit);
    prv->period = SCH_USEC(period);
    prv->latency = SCH_USEC(latency);
    if ( p->boost != SCH_PARAM_UNCHANGED )
        prv->boost = p->boost;
    sch_spin_unlock(&prv->lock);
    return 0;
}

static void fc_dump_settings(const struct sch_sched *s)
{
    const struct fc_private *prv = fc_priv(s);

    sch_printk(s, "fcredit: tslice %lld us, ratelimit %lld us, period %lld us,"
               " latency %lld us, boost %d\n",
               (long long)(prv->tslice / 1000),
               (long long)(prv->ratelimit / 1000),
               (long long)(prv->period / 1000),
               (long long)(prv->latency / 1000), prv->boost);
}

static void fc_dump_cpu_state(const struct sch_sched *s, unsigned int cpu)
{
    const struct fc_pcpu *pc = fc_pcpu(s, cpu);

    sch_printk(s, "fcredit cpu %u: %u queued, min vtime %llu\n", cpu,
               pc->nr_queued, (unsigned long long)pc->min_vtime);
}

const struct sch_ops sch_ops_fcredit = {
    .name           = "xenos fine-grained credit",
    .opt_name       = "fcredit",
    .init           = fc_init,
    .deinit         = fc_deinit,
    .alloc_pdata    = fc_alloc_pdata,
    .free_pdata     = fc_free_pdata,
    .alloc_domdata  = fc_alloc_domdata,
    .free_domdata   = fc_free_domdata,
    .alloc_udata    = fc_alloc_udata,
    .free_udata     = fc_free_udata,
    .insert_unit    = fc_insert_unit,
    .remove_unit    = fc_remove_unit,
    .sleep          = fc_sleep,
    .wake           = fc_wake,
    .yield          = fc_yield,
    .do_schedule    = fc_do_schedule,
    .pick_resource  = fc_pick_resource,
    .migrate        = fc_migrate_asleep,
    .adjust         = fc_adjust,
    .adjust_global  = fc_adjust_global,
    .dump_settings  = fc_dump_settings,
    .dump_cpu_state = fc_dump_cpu_state,
};
