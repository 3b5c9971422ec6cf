/*
 * fcredit.c: xenos's fine-grained credit scheduler.
 *
 * Design
 * ------
 * Credit is virtual time.  A running unit's vtime grows by 256 / weight
 * for every ns it runs, the remainder carried, so nothing is sampled and
 * there are no ticks.  Weight counts once per vCPU, as in Xen's credit and
 * credit2: a domain of weight W with four busy vCPUs weighs 4W.  The units
 * that may run are ordered by vtime; a pCPU runs the least one it may,
 * until that one's vtime passes the next one's by FC_GRAN_US (never longer
 * than the time slice), which bounds every unit's lag behind its fair
 * share by the granularity.
 *
 * Shared runqueues.  The pCPUs are grouped in runqueues of runq_cpus
 * consecutive pCPUs (16 by default, credit2's default maximum) that share
 * the runqueue's queues and lock, as credit2's do.  On a host of up to 16
 * pCPUs that is one queue: the units running are exactly the ones with
 * the least vtime, whatever the shape of the load, so three units on two
 * pCPUs get a third each.  Hard affinity sorts a runqueue's units into
 * classes, one per distinct set of its pCPUs (all, one, or any other),
 * each a pairing heap with a virtual time of its own (its frame, which
 * never goes back); a pCPU picks the least unit among the heads of the
 * classes it is in, so overlapping affinities share as max-min fairness
 * says.
 *
 * Between runqueues (more than runq_cpus pCPUs): every FC_BALANCE_US a
 * runqueue looks at the least vtime each other one has queued that may
 * leave it; a unit FC_PULL_LAG_US behind the runner of a pCPU here that it
 * may use is pulled to that pCPU, keeping its vtime and so its lag.  Units
 * flow from crowded runqueues to the others until their frames advance
 * together.  A pCPU with nothing to run steals the least unit it may run
 * from any runqueue, and a unit queued where no pCPU is idle kicks an idle
 * one elsewhere to steal it.
 *
 * Sleepers: a sleep shorter than FC_WINDOW_US (100 ms) is part of how a
 * unit runs (I/O, requests, naps): it keeps its vtime, and so gets first
 * what a unit runnable all along had meanwhile, never more.  A longer
 * sleep is an absence: the unit comes back level with its class's frame.
 * That is the simulator's entitlement: demand steady within the 100 ms
 * windows shares are judged in, phase by phase across them.
 *
 * Latency (the boost): a waker that in the last FC_WINDOW_US ran less
 * than the frame advanced and waited for its turn less than it ran is
 * under its share.  It is boosted: queued before every unit that is not,
 * it preempts such a unit once that has run ratelimit_us, and keeps that
 * lead until it has run "latency" (12 ms) past the frame, so a request
 * domain's busy period runs at once.  The judgment uses what the unit ran
 * and waited, not its vtime, so no feedback holds a domain over its share;
 * every ns it runs is charged, so its lead is a loan, and sleeping often
 * buys no more than the weight's share.

 * Caps: a capped domain's budget is a token bucket shared by its units.
 * It accrues cap% of every ns, drains one ns per ns per running unit, and
 * holds at most cap% of a period (default 2 ms), and never more than 1 ms
 * of a pCPU: one point of a 100 ms window.  A unit of a capped
 * domain runs for at most what the budget lasts, so its pCPU reschedules
 * exactly when it is out; the domain is then throttled: its units are
 * parked, off the queues, until a quarter of the bucket is back.  So a
 * busy capped domain runs in bursts of cap% of a quarter period, which is
 * as far as any window of time sees it over its cap.  Parked units have no
 * timer: the pCPU holding them bounds its next decision by the time their
 * budget is back.  Overdraft (a late decision) is debt, all paid back.
 * A domain's parked units come back together, the least of them level
 * with the frame and the others as far behind it as they were
 * (fc_unpark_dom): brought each to the frame, they lost what told them
 * apart, and the same ones won every time (one vCPU of a 3-vCPU domain
 * capped at 25 on one pCPU never ran).  Its units still queued come
 * back with them, and they go first among units of the same vtime:
 * queued last, behind every unit level with the frame, a capped domain
 * lost a turn of all of them at every throttle (4 vCPUs weighing 256 and
 * capped at 50 beside 8 weighing 512 on two pCPUs got 14.4% of the host
 * where 20 was due).  A unit back from its cap waits a little for a pCPU
 * to come free rather than take one (fc_fresh_wait).
 *
 * Everything is integer arithmetic.
 *
 * Locking
 * -------
 * A runqueue's lock is the schedule lock of its pCPUs (pcpu_lock): the host
 * holds it around the unit hooks, so all of a runqueue (classes, idle
 * mask, its pCPUs' parked units) is under it.  Another runqueue's lock is
 * only ever trylocked, so two runqueues pulling from each other cannot
 * deadlock.  A capped domain's budget is under fc_dom.lock, taken inside a
 * runqueue lock; a domain's counts of runnable and running units are
 * atomic.  The instance lock guards the tunables and the table of
 * runqueues.  What all runqueues share (the idle pCPUs, the runqueues
 * with units waiting, each runqueue's frame) is read without a lock and
 * written with atomic operations: it only steers balancing, which looks
 * again under the lock.  Order: runqueue lock (a peer's by trylock only),
 * then domain lock, then instance lock.
 */
#include <xenos/sched.h>

#define FC_TSLICE_US_DEFAULT     10000u   /* longest run without a decision */
#define FC_RATELIMIT_US_DEFAULT  50u      /* least run before a wake preempts */
#define FC_PERIOD_US_DEFAULT     2000u    /* cap bucket depth, as time at cap */
#define FC_CAP_RESUME_DIV        4u       /* throttled till 1/4 of it is back */
#define FC_CAP_DEPTH_MAX_US      1000u    /* ...of one pCPU at most */
#define FC_LATENCY_US_DEFAULT    12000u   /* lead of a waker under its share */
#define FC_RUNQ_CPUS_DEFAULT     16u      /* pCPUs sharing a runqueue */
#define FC_GRAN_US               500u     /* vtime lead before a switch */
#define FC_MIN_SLICE_US          100u     /* shortest slice */
#define FC_BALANCE_US            1000u    /* least time between balancing */
#define FC_PULL_LAG_US           1000u    /* frames this far apart: pull */
#define FC_PULLS_MAX             4u       /* units pulled by one balance */
#define FC_WINDOW_US             100000u  /* under its share?  judged over */
#define FC_WEIGHT_UNIT           256u     /* vtime runs at 1 ns/ns at this */



#define FC_CAP_SYNC_MAX          SCH_SEC(1000) /* idle so long, it is full */

#define FC_TSLICE_US_MIN         100u
#define FC_TSLICE_US_MAX         1000000u
#define FC_PERIOD_US_MIN         1000u
#define FC_PERIOD_US_MAX         1000000u
#define FC_LATENCY_US_MAX        100000u
#define FC_RUNQ_CPUS_MAX         32u      /* a power of two */

/*
 * Classes of a runqueue: slots [0, runq_cpus) are the singletons (slot i:
 * local pCPU i alone), so a unit always has a class; the others are for
 * every other set, taken as needed.  A class key is the set of the
 * runqueue's pCPUs a unit may use, plus FC_KEY_OUT if it may also use pCPUs
 * of other runqueues (only those classes are pulled or stolen from).
 */
/* What a unit adds to its domain's counts (fc_unit.counted). */
#define FC_CNT_RUNNABLE          1u
#define FC_CNT_RUNNING           2u

/* Queue order in a tie of vtime: from here up as units come, down from
 * here for units back from their cap (fc_unpark_dom). */
#define FC_SEQ_MID               ((uint64_t)1 << 62)

#define FC_CLASSES               64u
#define FC_KEY_OUT               ((uint64_t)1 << 63)
#define FC_NO_CLASS              (~0u)

/* Pairing heap node; prev is the parent for a first child. */
struct fc_node {
    struct fc_node *child, *next, *prev;
};

struct fc_class {
    struct fc_node *heap;               /* root: the least vtime */
    struct fc_node *boost;              /* the boosted ones, run first */
    uint64_t key;                       /* 0: a general slot never used */
    uint64_t frame;                     /* virtual time; never goes back */
    sch_time_t stamp;                   /* frame last raised by a pick */
    unsigned int nr;                    /* units queued */
};

struct fc_runq {
    struct sch_lock lock;               /* schedule lock of its pCPUs */
    unsigned int id, base;              /* base: its first pCPU */
    unsigned int nsingle;               /* singleton classes: runq_cpus */
    unsigned int nr_cpus;               /* pCPUs of the instance in it... */
    unsigned int nr_joined;             /* ...of which in cpus */
    uint64_t cpus;                      /* those, as local bits */
    uint64_t idle;                      /* local: idle and not kicked */
    uint64_t boosted;                   /* local: running a boosted unit */
    uint64_t nonempty;                  /* classes with units queued */
    uint64_t out;                       /* classes whose key has OUT */
    unsigned int all;                   /* class of every pCPU, if any */
    unsigned int nr_queued;
    uint64_t seq;                       /* the next queued, FIFO in a tie... */
    uint64_t front;                     /* ...below it: fc_unpark_dom's */
    uint64_t frame;                     /* the all class's: atomic */
    uint64_t low;                       /* least vtime that may leave... */
    bool give;                          /* ...if any: both atomic */
    sch_time_t last_balance;
    uint64_t cpu_cls[FC_RUNQ_CPUS_MAX]; /* classes each local pCPU is in */
    uint64_t goal[FC_RUNQ_CPUS_MAX];    /* vtime its runner stops at */
    uint64_t goal_hi;                   /* no goal is beyond this */
    uint64_t vt[FC_RUNQ_CPUS_MAX];      /* ...and had when it started */
    struct fc_class cls[FC_CLASSES];
};

struct fc_private {
    struct sch_lock lock;               /* tunables, the runqueue table */
    sch_time_t tslice, ratelimit, period, latency;
    bool boost;
    unsigned int runq_cpus;
    unsigned int nr_pcpus;              /* pCPUs with per-pCPU data */
    unsigned int nr_runqs;              /* runqueues with pCPUs: atomic */
    struct sch_cpumask idlers;          /* idle pCPUs: atomic words */
    unsigned int nr_idlers;             /* atomic */
    struct sch_cpumask waiting;         /* runqueues with units queued */
    struct fc_runq *runq[SCH_MAX_CPUS];
};

struct fc_pcpu {
    struct fc_runq *rq;
    unsigned int local;                 /* bit in rq's masks */
    struct sch_list parked;             /* runnable, domain throttled */
    sch_time_t next_resume;             /* earliest budget back, if parked */
    bool joined;                        /* in rq->cpus */
    bool idle;                          /* in prv->idlers */
};

struct fc_dom {
    struct sch_lock lock;               /* the cap budget */
    struct sch_domain *dom;
    uint32_t weight, cap_pct;
    /* Counted while capped only (fc_count): atomic. */
    unsigned int nr_runnable;           /* units awake */
    unsigned int nr_running;            /* units on a pCPU now */
    int64_t left;                       /* cap budget, ns x 100: fc_cap_sync */
    sch_time_t left_at;
    bool throttled;
    struct sch_cpumask parked_on;       /* pCPUs that may hold parked units */
};

struct fc_unit {
    struct fc_node node;                /* first: heap nodes cast to units */
    /* What heap compares and a pick read, beside the node: one cache line
     * (sch_zalloc's memory starts one). */
    uint64_t vtime;
    uint64_t seq;
    struct sch_unit *unit;
    struct fc_dom *dom;
    bool queued, parked, boosted, yielding;
    bool requeue;                       /* queue it once its context is saved */
    bool woke;                          /* ...and place it as a waker */
    uint8_t cls;                        /* of cls_rq, if that is set */
    bool fresh;                         /* back from its cap: fresh_until */
    /* What a switch reads and writes: the second line.  The domain's
     * weight and whether it is capped are copied here (fc_sync_units), as
     * credit2 keeps a unit's weight, so that an uncapped domain's switches
     * read nothing of its domain (its other units on other runqueues
     * share that memory). */
    uint16_t weight;                    /* the domain's (SCH_WEIGHT_MAX) */
    bool capped;                        /* counted: fc_count */
    bool awake, on_cpu;                 /* between wake and sleep; running */
    bool under;                         /* under its share: fc_place */
    uint8_t counted;                    /* FC_CNT_*: in its domain's counts */
    uint64_t rem;                       /* vtime remainder, in weight units */
    sch_time_t start;                   /* accounted up to here */
    sch_time_t run_start;               /* switched in at */
    sch_time_t queued_at;               /* waits for its turn since */
    /* Does it use less than its share ("under")?  Judged every
     * FC_WINDOW_US: */
    sch_time_t win_start;               /* since then... */
    sch_time_t served;                  /* ...it ran so long... */
    sch_time_t waited;                  /* ...and waited its turn so long */
    /* The third line: a wake's and a queue's. */
    uint64_t win_frame;                 /* ...from this frame */
    uint64_t boost_limit;               /* boosted while vtime is before */
    const struct fc_runq *cls_rq;       /* cls is a class of this one... */
    uint64_t cls_key;                   /* ...for this key */
    sch_time_t slept;                   /* asleep since */
    sch_time_t fresh_until;             /* back from its cap: may wait */
    struct sch_list park_elem;
};
_Static_assert(sizeof(struct fc_unit) <= 192,
               "struct fc_unit: three cache lines, as laid out");

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

static struct fc_runq *fc_rq_of(const struct sch_sched *s,
                                const struct sch_unit *u)
{
    return fc_pcpu(s, u->res)->rq;
}

/* a < b for vtimes that may wrap: only their distance matters. */
static bool fc_vt_before(uint64_t a, uint64_t b)
{
    return (int64_t)(a - b) < 0;
}

static unsigned int fc_ctz(uint64_t x)
{
    return (unsigned int)__builtin_ctzll(x);
}

static unsigned int fc_load(const unsigned int *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void fc_add(unsigned int *p, int d)
{
    __atomic_add_fetch(p, (unsigned int)d, __ATOMIC_RELAXED);
}

/*
 * Bring @fu's part of its domain's counts in line with its state, under
 * @fu's runqueue lock.  Only a cap reads the counts, so a domain keeps
 * them only while its units are "capped" (from before its cap takes
 * effect until it is lifted: fc_sync_units): an uncapped domain's wakes,
 * sleeps and switches then write no memory its units on other runqueues
 * share.  Every unit is brought in line before a cap takes effect, so the
 * counts are exact whenever they are read.
 */
static void fc_count(struct fc_unit *fu)
{
    struct fc_dom *fd = fu->dom;
    uint8_t want = 0, diff;

    if ( fu->capped )
        want = (fu->awake ? FC_CNT_RUNNABLE : 0) |
               (fu->on_cpu ? FC_CNT_RUNNING : 0);
    diff = want ^ fu->counted;
    if ( !diff )
        return;
    if ( diff & FC_CNT_RUNNABLE )
        fc_add(&fd->nr_runnable, (want & FC_CNT_RUNNABLE) ? 1 : -1);
    if ( diff & FC_CNT_RUNNING )
        fc_add(&fd->nr_running, (want & FC_CNT_RUNNING) ? 1 : -1);
    fu->counted = want;
}

/* Set or clear @bit of @m atomically; returns whether that changed it. */
static bool fc_mask_set(struct sch_cpumask *m, unsigned int bit, bool on)
{
    uint64_t b = (uint64_t)1 << (bit % 64), old;

    if ( on )
        old = __atomic_fetch_or(&m->bits[bit / 64], b, __ATOMIC_RELAXED);
    else
        old = __atomic_fetch_and(&m->bits[bit / 64], ~b, __ATOMIC_RELAXED);
    return !(old & b) == on;
}

static void fc_mask_read(struct sch_cpumask *d, const struct sch_cpumask *m)
{
    unsigned int i;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        d->bits[i] = __atomic_load_n(&m->bits[i], __ATOMIC_RELAXED);
}

/* Boosted units first, then by vtime, then in queueing order. */
/* Order within one heap: boosted and other units have heaps of their own
 * and a queued unit's flag does not change, so only vtime and arrival. */
static bool fc_key_before(const struct fc_unit *a, const struct fc_unit *b)
{
    if ( a->vtime != b->vtime )
        return fc_vt_before(a->vtime, b->vtime);
    return a->seq < b->seq;
}

static bool fc_before(const struct fc_unit *a, const struct fc_unit *b)
{
    if ( a->boosted != b->boosted )
        return a->boosted;
    return fc_key_before(a, b);
}

/* @fu's vtime at @now if it has run since its start: not yet charged. */
static uint64_t fc_vtime_at(const struct fc_unit *fu, sch_time_t now)
{
    sch_time_t delta = now - fu->start;

    if ( delta <= 0 )
        return fu->vtime;
    return fu->vtime + ((uint64_t)delta * FC_WEIGHT_UNIT + fu->rem) /
                       fu->weight;
}

/* Real time for a unit of weight @w to advance its vtime by @lead. */
static sch_time_t fc_vt_ns(uint64_t lead, uint32_t w)
{
    return (sch_time_t)((lead * w + FC_WEIGHT_UNIT - 1) / FC_WEIGHT_UNIT);
}

/* ------------------------------------------------------------------ */
/* Pairing heaps                                                       */

/* Join two roots; the result's next and prev are left to the caller (a
 * root's are stale until it is the heap's root or loses a meld). */
static struct fc_node *fc_meld(struct fc_node *a, struct fc_node *b)
{
    struct fc_node *t;

    if ( fc_key_before((struct fc_unit *)b, (struct fc_unit *)a) )
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
        if ( rest )                     /* its miss under the meld: 0.6% */
            __builtin_prefetch(rest);
        if ( b )
            a = fc_meld(a, b);
        a->next = pairs;        /* stack of pairs, last pair on top */
        pairs = a;
        first = rest;
    }
    if ( !pairs )
        return NULL;
    a = pairs;
    pairs = pairs->next;
    while ( pairs )
    {
        b = pairs;
        pairs = pairs->next;
        a = fc_meld(a, b);
    }
    a->next = a->prev = NULL;
    return a;
}

static void fc_heap_insert(struct fc_node **root, struct fc_node *n)
{
    n->child = NULL;
    *root = *root ? fc_meld(*root, n) : n;
    (*root)->prev = (*root)->next = NULL;
}

static void fc_heap_remove(struct fc_node **root, struct fc_node *n)
{
    struct fc_node *sub;

    if ( n == *root )
    {
        *root = fc_merge_pairs(n->child);
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
        *root = fc_meld(*root, sub);
        (*root)->prev = (*root)->next = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Classes                                                             */

/* Point general slot @k of @rq at @key; it holds no unit. */
static void fc_class_reset(struct fc_runq *rq, unsigned int k, uint64_t key)
{
    struct fc_class *c = &rq->cls[k];
    uint64_t m;

    SCH_ASSERT(k >= rq->nsingle && !c->nr && !c->heap && !c->boost);
    for ( m = c->key & ~FC_KEY_OUT; m; m &= m - 1 )
        rq->cpu_cls[fc_ctz(m)] &= ~((uint64_t)1 << k);
    for ( m = key & ~FC_KEY_OUT; m; m &= m - 1 )
        rq->cpu_cls[fc_ctz(m)] |= (uint64_t)1 << k;
    if ( rq->all == k )
        rq->all = FC_NO_CLASS;
    if ( key & FC_KEY_OUT )
        rq->out |= (uint64_t)1 << k;
    else
        rq->out &= ~((uint64_t)1 << k);
    c->key = key;
    c->frame = __atomic_load_n(&rq->frame, __ATOMIC_RELAXED);
}

/* @pc's pCPU starts taking units of its runqueue.  Lock of @rq held. */
static void fc_join(struct fc_runq *rq, struct fc_pcpu *pc)
{
    uint64_t bit = (uint64_t)1 << pc->local;

    SCH_ASSERT_LOCKED(&rq->lock);
    pc->joined = true;
    rq->nr_joined++;
    rq->cpus |= bit;
    rq->cls[pc->local].key = bit;
    rq->cls[pc->local].frame = rq->frame;
    rq->cpu_cls[pc->local] |= bit;
    /* The set of all its pCPUs changed: the all class is found anew. */
    rq->all = FC_NO_CLASS;
}

/*
 * @pc's pCPU stops taking units of its runqueue: it is leaving the
 * instance (out of s->cpus; Xen moves its units off it next and asks
 * pick_resource until the answer is a pCPU of the pool), or its data is
 * being freed.  Nothing may find it idle any more.  Lock of @rq held.
 */
static void fc_leave(const struct sch_sched *s, struct fc_runq *rq,
                     struct fc_pcpu *pc, unsigned int cpu)
{
    struct fc_private *prv = fc_priv(s);
    uint64_t bit = (uint64_t)1 << pc->local;

    SCH_ASSERT_LOCKED(&rq->lock);
    if ( pc->joined )
        rq->nr_joined--;
    pc->joined = false;
    rq->cpus &= ~bit;
    rq->idle &= ~bit;
    rq->all = FC_NO_CLASS;
    pc->idle = false;
    if ( fc_mask_set(&prv->idlers, cpu, false) )
        fc_add(&prv->nr_idlers, -1);
}

/* The pCPUs of @rq that are the instance's now, as local bits: a pCPU
 * leaving is out of s->cpus before its next decision takes it out of
 * rq->cpus, and must not be picked or kicked for a unit meanwhile. */
static uint64_t fc_rq_members(const struct sch_sched *s,
                              const struct fc_runq *rq)
{
    return (s->cpus.bits[rq->base / 64] >> (rq->base % 64)) & rq->cpus;
}

/*
 * Every pCPU of @rq that the host has given the instance joins it now: in
 * Xen a pCPU enters s->cpus at switch_sched, after alloc_pdata, and units
 * may be queued for it (dom0's, at boot) before its first decision.  Lock
 * of @rq held.
 */
static void fc_join_all(const struct sch_sched *s, struct fc_runq *rq)
{
    unsigned int cpu;

    SCH_ASSERT_LOCKED(&rq->lock);
    for ( cpu = rq->base; cpu < rq->base + rq->nsingle && cpu < SCH_MAX_CPUS;
          cpu++ )
    {
        struct fc_pcpu *pc = s->res && cpu < s->nr_cpus ? fc_pcpu(s, cpu)
                                                        : NULL;

        if ( pc && pc->rq == rq && !pc->joined &&
             sch_cpumask_test(&s->cpus, cpu) )
            fc_join(rq, pc);
    }
}

/*
 * More distinct sets are queued than there are slots: @fu (allowed on
 * @local) joins the class of the most pCPUs that are all allowed to it,
 * at worst the singleton of one it may use (its own pCPU's if it may).  It
 * then runs only where it may, on fewer pCPUs than it could.
 */
static unsigned int fc_class_within(const struct sch_sched *s,
                                    const struct fc_runq *rq,
                                    const struct fc_unit *fu, uint64_t local)
{
    unsigned int k, best = FC_NO_CLASS, most = 0, i;

    for ( k = rq->nsingle; k < FC_CLASSES; k++ )
    {
        uint64_t m = rq->cls[k].key & ~FC_KEY_OUT, b;
        unsigned int n = 0;

        for ( b = m; b; b &= b - 1 )
            n++;
        if ( m && !(m & ~local) && n > most )
        {
            best = k;
            most = n;
        }
    }
    if ( best != FC_NO_CLASS )
        return best;
    i = fc_pcpu(s, fu->unit->res)->local;
    return local & ((uint64_t)1 << i) ? i : fc_ctz(local);
}

/*
 * The class of @rq that @fu belongs in now, from its hard affinity.  The
 * one it was last in is checked first; a set never seen takes a free
 * general slot; with none free (more than 32 distinct sets queued at
 * once) the unit makes do with the singleton of one pCPU it may use.
 * Lock of @rq held; @fu is not queued.
 */
static unsigned int fc_class_of(const struct sch_sched *s, struct fc_runq *rq,
                                struct fc_unit *fu)
{
    const struct sch_unit *u = fu->unit;
    const uint64_t *aff = &u->hard_affinity.bits[rq->base / 64];
    uint64_t local, key;
    unsigned int k, spare = FC_NO_CLASS, i;

    SCH_ASSERT_LOCKED(&rq->lock);
    if ( sch_unlikely(rq->nr_joined < rq->nr_cpus) )
        fc_join_all(s, rq);
    local = (*aff >> (rq->base % 64)) & rq->cpus;
    if ( !local )
    {
        /* Not allowed here at all: only where the host left it. */
        local = rq->cpus & ((uint64_t)1 << fc_pcpu(s, u->res)->local);
        SCH_ASSERT(local);
    }
    key = local;
    if ( fc_load(&fc_priv(s)->nr_runqs) > 1 )
        for ( i = 0; i < SCH_MASK_WORDS; i++ )
        {
            uint64_t w = u->hard_affinity.bits[i] & s->cpus.bits[i];

            if ( i == rq->base / 64 )
                w &= ~(rq->cpus << (rq->base % 64));
            if ( w )
            {
                key |= FC_KEY_OUT;
                break;
            }
        }
    if ( fu->cls_rq == rq && rq->cls[fu->cls].key == key )
        return fu->cls;
    if ( key == local && !(local & (local - 1)) )
        k = fc_ctz(local);
    else
    {
        for ( k = rq->nsingle; k < FC_CLASSES; k++ )
        {
            if ( rq->cls[k].key == key )
                break;
            if ( !rq->cls[k].nr && spare == FC_NO_CLASS )
                spare = k;
        }
        if ( k == FC_CLASSES && spare != FC_NO_CLASS )
        {
            fc_class_reset(rq, spare, key);
            k = spare;
        }
        else if ( k == FC_CLASSES )
            k = fc_class_within(s, rq, fu, local);
    }
    /* The class of every pCPU here: of the units that may also leave, if
     * both kinds are there (those are the many; pinned ones the few). */
    if ( (key & ~FC_KEY_OUT) == rq->cpus &&
         (rq->all == FC_NO_CLASS || (key & FC_KEY_OUT)) )
        rq->all = k;
    fu->cls_rq = rq;
    fu->cls_key = rq->cls[k].key;
    fu->cls = k;
    return k;
}

/*
 * Publish for other runqueues' balancing the least vtime queued here that
 * may leave (classes with FC_KEY_OUT; boosted units run here soon and are
 * not counted).  Lock of @rq held.
 */
static void fc_publish_low(struct fc_runq *rq)
{
    uint64_t m, low = 0;
    bool give = false;

    SCH_ASSERT_LOCKED(&rq->lock);
    for ( m = rq->out & rq->nonempty; m; m &= m - 1 )
    {
        const struct fc_unit *h =
            (const struct fc_unit *)rq->cls[fc_ctz(m)].heap;

        if ( h && (!give || fc_vt_before(h->vtime, low)) )
        {
            low = h->vtime;
            give = true;
        }
    }
    __atomic_store_n(&rq->low, low, __ATOMIC_RELAXED);
    __atomic_store_n(&rq->give, give, __ATOMIC_RELAXED);
}

/* Track which runqueues have units queued, so stealing looks only there. */
static void fc_queue_seq(const struct sch_sched *s, struct fc_runq *rq,
                         struct fc_unit *fu, sch_time_t now, uint64_t seq)
{
    struct fc_class *c = &rq->cls[fu->cls];

    SCH_ASSERT_LOCKED(&rq->lock);
    SCH_ASSERT(!fu->queued && !fu->parked && fu->cls_rq == rq);
    fu->seq = seq;
    fu->queued = true;
    fu->queued_at = now;
    fc_heap_insert(fu->boosted ? &c->boost : &c->heap, &fu->node);
    if ( c->nr++ == 0 )
        rq->nonempty |= (uint64_t)1 << fu->cls;
    if ( rq->nr_queued++ == 0 )
        fc_mask_set(&fc_priv(s)->waiting, rq->id, true);
    /* A new least vtime that may leave: publish it (boosted ones stay). */
    if ( (rq->out & ((uint64_t)1 << fu->cls)) && !fu->boosted &&
         (!rq->give || fc_vt_before(fu->vtime, rq->low)) )
    {
        __atomic_store_n(&rq->low, fu->vtime, __ATOMIC_RELAXED);
        __atomic_store_n(&rq->give, true, __ATOMIC_RELAXED);
    }
}

static void fc_queue(const struct sch_sched *s, struct fc_runq *rq,
                     struct fc_unit *fu, sch_time_t now)
{
    fc_queue_seq(s, rq, fu, now, rq->seq++);
}

static void fc_unqueue(const struct sch_sched *s, struct fc_runq *rq,
                       struct fc_unit *fu)
{
    struct fc_class *c = &rq->cls[fu->cls];
    bool head = c->heap == &fu->node;

    SCH_ASSERT_LOCKED(&rq->lock);
    SCH_ASSERT(fu->queued && fu->cls_rq == rq);
    fu->queued = false;
    fc_heap_remove(fu->boosted ? &c->boost : &c->heap, &fu->node);
    if ( --c->nr == 0 )
        rq->nonempty &= ~((uint64_t)1 << fu->cls);
    if ( --rq->nr_queued == 0 )
        fc_mask_set(&fc_priv(s)->waiting, rq->id, false);
    if ( head && (rq->out & ((uint64_t)1 << fu->cls)) )
        fc_publish_low(rq);
}

/* What runs first of @c: its least boosted unit, else its least unit. */
static struct fc_unit *fc_head(const struct fc_class *c)
{
    return (struct fc_unit *)(c->boost ? c->boost : c->heap);
}

/* The least unit queued in @rq that local pCPU @local may run. */
static struct fc_unit *fc_best(const struct fc_runq *rq, unsigned int local)
{
    uint64_t m = rq->cpu_cls[local] & rq->nonempty;
    struct fc_unit *best = NULL, *h;

    for ( ; m; m &= m - 1 )
    {
        h = fc_head(&rq->cls[fc_ctz(m)]);
        if ( !best || fc_before(h, best) )
            best = h;
    }
    return best;
}

/*
 * @next runs now: raise its class's frame to the least vtime of it and the
 * units still waiting there that are not boosted.  Boosted units are left
 * out: they run first whatever their vtime, which lies within "latency"
 * of the frame anyway, and a frame that followed them would run away from
 * the units they pass.  The class may have been given to another key
 * while @next ran: then leave it.  The all class's frame is published.
 */
static void fc_advance(struct fc_runq *rq, const struct fc_unit *next)
{
    struct fc_class *c;
    const struct fc_unit *head;
    uint64_t least;

    if ( next->cls_rq != rq )
        return;
    c = &rq->cls[next->cls];
    head = (const struct fc_unit *)c->heap;
    if ( next->boosted )
    {
        if ( !head )
            return;
        least = head->vtime;
    }
    else
    {
        least = next->vtime;
        if ( head && fc_vt_before(head->vtime, least) )
            least = head->vtime;
    }
    if ( fc_vt_before(c->frame, least) )
        c->frame = least;
    c->stamp = next->start;
    if ( next->cls == rq->all )
        __atomic_store_n(&rq->frame, c->frame, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Accounting                                                          */

/* Charge @fu's vtime for running until @now.  Its domain's budget needs
 * nothing here: the bucket drains by the domain's running units. */
static void fc_burn(struct fc_unit *fu, sch_time_t now)
{
    sch_time_t delta = now - fu->start;
    uint32_t w = fu->weight;
    uint64_t scaled;

    if ( delta <= 0 )
        return;
    fu->start = now;
    fu->served += delta;
    scaled = (uint64_t)delta * FC_WEIGHT_UNIT + fu->rem;
    fu->vtime += scaled / w;
    fu->rem = scaled % w;
}

/*
 * The depth of the bucket (ns x 100) of a domain capped at @cap_pct: a
 * period at the cap, but never more than FC_CAP_DEPTH_MAX_US of one pCPU,
 * so that no burst takes a 100 ms window more than a point over the cap
 * (a cap of 300 would burst 6 ms: 6 points).
 */
static int64_t fc_cap_depth(const struct fc_private *prv, uint32_t cap_pct)
{
    int64_t depth = prv->period * cap_pct;

    return depth < SCH_USEC(FC_CAP_DEPTH_MAX_US) * 100
           ? depth : SCH_USEC(FC_CAP_DEPTH_MAX_US) * 100;
}

/* The budget (ns x 100) a throttled domain capped at @cap_pct waits for. */
static int64_t fc_cap_resume(const struct fc_private *prv, uint32_t cap_pct)
{
    return fc_cap_depth(prv, cap_pct) / FC_CAP_RESUME_DIV;
}

/*
 * Caps are a token bucket, kept in ns x 100 so that accruing cap_pct per
 * ns is exact.  @left is the budget at @left_at.  Between two syncs the
 * domain's number of running units is constant, so the budget moved in a
 * straight line and the clamp at the depth is exact.  The depth (a
 * period's budget, at most a millisecond of a pCPU: fc_cap_depth) is all
 * a domain may burst after a sleep or a wait: a cap holds in every window
 * first, and over time as well only as far as that allows.  Domain lock
 * held.
 */
static void fc_cap_sync(const struct fc_private *prv, struct fc_dom *fd,
                        sch_time_t now)
{
    sch_time_t dt = now - fd->left_at;
    int64_t depth = fc_cap_depth(prv, fd->cap_pct);
    unsigned int running = fc_load(&fd->nr_running);

    SCH_ASSERT_LOCKED(&fd->lock);
    /* Another pCPU's clock may be a little behind this domain's last sync
     * (Xen under emulation): count nothing rather than go back. */
    if ( dt <= 0 || !fd->cap_pct )
        return;
    /* Idle that long, it is full: clamping keeps the product small.  A
     * running domain is synced at least every slice, and its debt, even
     * from a stalled pCPU, is all paid back: that is what holds a cap. */
    if ( !running && dt > FC_CAP_SYNC_MAX )
        dt = FC_CAP_SYNC_MAX;
    fd->left += dt * ((int64_t)fd->cap_pct - 100 * (int64_t)running);
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

    SCH_ASSERT_LOCKED(&fd->lock);
    if ( !fd->cap_pct )
        return false;
    fc_cap_sync(prv, fd, now);
    if ( fd->throttled )
        fd->throttled = fd->left < fc_cap_resume(prv, fd->cap_pct);
    else
        fd->throttled = fd->left <= 0;
    return fd->throttled;
}

/* Is @fu's domain throttled at @now?  An uncapped one is not, and costs
 * no lock. */
static bool fc_throttled(const struct sch_sched *s, const struct fc_unit *fu,
                         sch_time_t now)
{
    struct fc_dom *fd = fu->dom;
    bool throttled;

    if ( !fu->capped )
        return false;
    sch_spin_lock(&fd->lock);
    throttled = fc_dom_throttle_locked(s, fd, now);
    sch_spin_unlock(&fd->lock);
    return throttled;
}

/* When a throttled @fd has its budget back if none of its units runs
 * meanwhile.  Domain lock held.  The cap may have gone since the caller
 * found it throttled (adjust runs on any pCPU): then at once. */
static sch_time_t fc_dom_resume_at(const struct fc_private *prv,
                                   struct fc_dom *fd, sch_time_t now)
{
    int64_t need;

    SCH_ASSERT_LOCKED(&fd->lock);
    fc_cap_sync(prv, fd, now);
    need = fc_cap_resume(prv, fd->cap_pct) - fd->left;
    if ( !fd->cap_pct || need <= 0 )
        return now;
    return now + (need + fd->cap_pct - 1) / fd->cap_pct;
}

/* @fu starts or stops spending its domain's budget at @now (its start):
 * a capped domain's bucket is brought up to @now at the old rate first. */
static void fc_running(const struct sch_sched *s, struct fc_unit *fu, bool on,
                       sch_time_t now)
{
    struct fc_dom *fd = fu->dom;

    SCH_ASSERT(fu->start == now);
    SCH_ASSERT(fu->on_cpu != on);
    fu->on_cpu = on;
    if ( !fu->capped )
    {
        fc_count(fu);
        return;
    }
    sch_spin_lock(&fd->lock);
    fc_cap_sync(fc_priv(s), fd, now);
    fc_count(fu);
    sch_spin_unlock(&fd->lock);
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
    unsigned int n, running;

    sch_spin_lock(&fd->lock);
    fc_cap_sync(fc_priv(s), fd, now);
    left = fd->left;
    n = fc_load(&fd->nr_runnable);
    running = fc_load(&fd->nr_running);
    if ( running > n )
        n = running;
    drain = 100 * (int64_t)(n ? n : 1) - fd->cap_pct;
    sch_spin_unlock(&fd->lock);
    if ( drain <= 0 )
        return -1;
    each = (left + drain - 1) / drain;
    if ( each < min )
        each = left / 100 < min ? left / 100 : min;
    return each > 1 ? each : 1;
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
    fu->boosted = false;
    fu->queued_at = now;
    sch_list_add_tail(&fu->park_elem, &pc->parked);
    sch_unit_park(s, fu->unit, true, now);
    return sooner;
}

static void fc_unpark(const struct sch_sched *s, struct fc_unit *fu,
                      sch_time_t now)
{
    SCH_ASSERT(fu->parked);
    fu->parked = false;
    sch_list_del_init(&fu->park_elem);
    sch_unit_park(s, fu->unit, false, now);
}

/* ------------------------------------------------------------------ */
/* Idle pCPUs and kicks                                                */

/* @cpu (of @pc) is idle or not, in its runqueue's mask and the global one.
 * Lock of its runqueue held. */
static void fc_set_idle(const struct sch_sched *s, struct fc_pcpu *pc,
                        unsigned int cpu, bool idle)
{
    struct fc_private *prv = fc_priv(s);
    uint64_t bit = (uint64_t)1 << pc->local;

    SCH_ASSERT_LOCKED(&pc->rq->lock);
    if ( idle )
        pc->rq->idle |= bit;
    else
        pc->rq->idle &= ~bit;
    /* The global mask is everyone's: touch it only on a change.  A kick
     * from elsewhere clears our bit without our lock (fc_kick_idler), so
     * an idle pCPU going idle again looks at the bit, not at pc->idle:
     * left clear, no other runqueue would ever find it (units re-pinned
     * to it from another runqueue stayed there for good). */
    if ( idle != pc->idle ||
         (idle && !(__atomic_load_n(&prv->idlers.bits[cpu / 64],
                                    __ATOMIC_RELAXED) &
                    ((uint64_t)1 << (cpu % 64)))) )
    {
        pc->idle = idle;
        if ( fc_mask_set(&prv->idlers, cpu, idle) )
            fc_add(&prv->nr_idlers, idle ? 1 : -1);
    }
}

/*
 * Kick @cpu of @rq (whose lock we hold, or NULL) to pick up work.  An idle
 * pCPU leaves the idle masks as it is kicked, not when it gets round to
 * scheduling: another pCPU looking for an idler must not pick one that is
 * already on its way to other work.
 */
static void fc_kick_idler(const struct sch_sched *s, struct fc_runq *rq,
                          unsigned int cpu)
{
    struct fc_private *prv = fc_priv(s);

    if ( rq )
    {
        SCH_ASSERT_LOCKED(&rq->lock);
        rq->idle &= ~((uint64_t)1 << fc_pcpu(s, cpu)->local);
    }
    if ( fc_mask_set(&prv->idlers, cpu, false) )
        fc_add(&prv->nr_idlers, -1);
    sch_kick(s, cpu);
}

/* An idle pCPU in @aff outside @rq, or SCH_MAX_CPUS. */
static unsigned int fc_idler_out(const struct sch_sched *s,
                                 const struct fc_runq *rq,
                                 const struct sch_cpumask *aff)
{
    struct fc_private *prv = fc_priv(s);
    struct sch_cpumask m;
    unsigned int cpu;

    if ( !fc_load(&prv->nr_idlers) || fc_load(&prv->nr_runqs) < 2 )
        return SCH_MAX_CPUS;
    fc_mask_read(&m, &prv->idlers);
    sch_cpumask_and(&m, &m, aff);
    sch_cpumask_and(&m, &m, &s->cpus);
    sch_for_each_cpu(cpu, &m)
        if ( fc_pcpu(s, cpu)->rq != rq )
            return cpu;
    return SCH_MAX_CPUS;
}

/*
 * How long a unit of a domain capped at @cap_pct, back from its cap, may
 * wait for a pCPU that comes free rather than take one from a running
 * unit.  It comes back with a quarter of its bucket (FC_CAP_RESUME_DIV),
 * which a quarter of the depth more fills to half: it loses nothing (with
 * waits to three quarters, the burst after the wait took 100 ms windows
 * 2 to 4 points over the cap in random shapes).  Taking a
 * pCPU at once kept capped domains in step: two that came back together
 * took two pCPUs from an uncapped neighbour that would otherwise have
 * had a pCPU to itself (two 2-vCPU domains capped at 50 and a hog on 2
 * pCPUs: the hog got 31.25% of the host where 50 is due).
 */
static sch_time_t fc_cap_slack(const struct fc_private *prv,
                               uint32_t cap_pct)
{
    return cap_pct ? fc_cap_depth(prv, cap_pct) / (4 * (int64_t)cap_pct) : 0;
}

/*
 * Should @fu, queued in @rq, wait for a pCPU to come free rather than
 * take one?  Only while it is fresh from its cap (fc_cap_slack), and a
 * pCPU of its class but @self is idle (kicked for one of the units just
 * back, maybe) or runs a capped unit, whose burst ends soon: with none,
 * nothing would come free sooner than a slice, and it waits for nothing
 * (a capped domain beside a hog on one pCPU would count that as waiting,
 * every time).
 */
static bool fc_fresh_wait(const struct sch_sched *s, const struct fc_runq *rq,
                          struct fc_unit *fu, unsigned int self,
                          sch_time_t now)
{
    uint64_t m;

    if ( !fu->fresh )
        return false;
    if ( now >= fu->fresh_until || fu->cls_rq != rq )
    {
        fu->fresh = false;
        return false;
    }
    m = rq->cls[fu->cls].key & rq->cpus & ~FC_KEY_OUT;
    if ( self >= rq->base && self - rq->base < FC_RUNQ_CPUS_MAX )
        m &= ~((uint64_t)1 << (self - rq->base));
    for ( ; m; m &= m - 1 )
    {
        const struct sch_unit *run = sch_curr_on_cpu(s, rq->base + fc_ctz(m));

        /* Idle (kicked for it, maybe) or capped: free soon. */
        if ( run->is_idle || fc_unit(run)->capped )
            return true;
    }
    return false;
}

/*
 * @fu was just queued in @rq: have a pCPU run it soon.  An idle pCPU of the
 * runqueue it may use (its own first); else an idle one elsewhere, which
 * steals it.  Else a boosted @fu preempts a pCPU running a unit that is
 * not (its own first); and one that is not boosted has the pCPU whose
 * runner would run furthest past it decide again, if that is more than
 * the granularity: that pCPU shortens its slice or switches (after the
 * ratelimit).  @self is deciding right now and needs no kick.
 */
static void fc_tickle(const struct sch_sched *s, struct fc_runq *rq,
                      struct fc_unit *fu, unsigned int self, sch_time_t now)
{
    const struct sch_unit *u = fu->unit;
    uint64_t mask = rq->cls[fu->cls].key & ~FC_KEY_OUT, idle, m;
    uint64_t own = (uint64_t)1 << fc_pcpu(s, u->res)->local, far = 0;
    unsigned int i, cpu, best = FC_NO_CLASS;

    idle = rq->idle & mask & fc_rq_members(s, rq);
    if ( idle )
    {
        i = fc_ctz(idle & own ? own : idle);
        if ( rq->base + i != self )
            fc_kick_idler(s, rq, rq->base + i);
        return;
    }
    cpu = fc_idler_out(s, rq, &u->hard_affinity);
    if ( cpu < SCH_MAX_CPUS )
    {
        fc_kick_idler(s, NULL, cpu);
        return;
    }
    /* Back from its cap: it may wait for a pCPU to come free. */
    if ( fc_fresh_wait(s, rq, fu, self, now) )
        return;
    /* Boost off: a waker waits for a slice to end (the tunable's use is
     * to measure what preempting is worth). */
    if ( !fc_priv(s)->boost )
        return;
    if ( self >= rq->base && self - rq->base < FC_RUNQ_CPUS_MAX )
        mask &= ~((uint64_t)1 << (self - rq->base));
    if ( fu->boosted )
    {
        m = mask & ~rq->boosted;
        if ( (m & own) &&
             !sch_curr_on_cpu(s, rq->base + fc_ctz(own))->is_idle )
        {
            sch_kick(s, rq->base + fc_ctz(own));
            return;
        }
        for ( m &= ~own; m; m &= m - 1 )
            if ( !sch_curr_on_cpu(s, rq->base + fc_ctz(m))->is_idle )
            {
                sch_kick(s, rq->base + fc_ctz(m));
                return;
            }
        return;
    }
    /* Most wakers on a crowded host are not that far behind anyone: the
     * bound on every goal says so without looking at each. */
    if ( !fc_vt_before(fu->vtime + SCH_USEC(FC_GRAN_US), rq->goal_hi) )
        return;
    for ( m = mask & ~rq->boosted; m; m &= m - 1 )
    {
        i = fc_ctz(m);
        if ( sch_curr_on_cpu(s, rq->base + i)->is_idle ||
             !fc_vt_before(fu->vtime + SCH_USEC(FC_GRAN_US), rq->goal[i]) )
            continue;
        if ( best == FC_NO_CLASS || fc_vt_before(far, rq->goal[i]) )
        {
            best = i;
            far = rq->goal[i];
        }
    }
    if ( best != FC_NO_CLASS )
        sch_kick(s, rq->base + best);
    /* The scan saw every goal of the mask; when that is all of them, the
     * bound is exact again. */
    if ( (mask | rq->boosted) == rq->cpus )
        rq->goal_hi = best != FC_NO_CLASS ? far
                                          : fu->vtime + SCH_USEC(FC_GRAN_US);
}

/* @cpu of @rq was kicked out of idle but found work of its own: the kick
 * may have been meant for stealing from another runqueue, so while units
 * wait in others, pass it on to an idle pCPU of another runqueue. */
static void fc_pass_kick(const struct sch_sched *s, struct fc_runq *rq)
{
    struct fc_private *prv = fc_priv(s);
    struct sch_cpumask waiting;
    unsigned int cpu;

    if ( fc_load(&prv->nr_runqs) < 2 || !fc_load(&prv->nr_idlers) )
        return;
    fc_mask_read(&waiting, &prv->waiting);
    sch_cpumask_clear(&waiting, rq->id);
    if ( sch_cpumask_empty(&waiting) )
        return;
    cpu = fc_idler_out(s, rq, &s->cpus);
    if ( cpu < SCH_MAX_CPUS )
        fc_kick_idler(s, NULL, cpu);
}

/* ------------------------------------------------------------------ */
/* Placement                                                           */

/*
 * Bring the frame of class @c of @rq up to @now, if no pick raised it
 * lately: to the least vtime now running on its pCPUs (@self, the unit
 * asking, left out) or waiting in it.  Units of other classes run there
 * too, and a class whose units slept would otherwise keep a frame from
 * before their sleep.  Lock of @rq held.
 */
static void fc_frame_now(const struct sch_sched *s, const struct fc_runq *rq,
                         struct fc_class *c, const struct fc_unit *self,
                         sch_time_t now, bool force)
{
    uint64_t least = 0, m;
    bool any = false;

    SCH_ASSERT_LOCKED(&rq->lock);
    if ( !force && now - c->stamp <= SCH_USEC(FC_GRAN_US) )
        return;
    m = c->key & ~FC_KEY_OUT;
    for ( m &= rq->cpus & ~rq->idle; m; m &= m - 1 )
    {
        const struct sch_unit *run = sch_curr_on_cpu(s, rq->base + fc_ctz(m));
        uint64_t vt;

        if ( run->is_idle || fc_unit(run) == self )
            continue;
        vt = fc_vtime_at(fc_unit(run), now);
        if ( !any || fc_vt_before(vt, least) )
            least = vt;
        any = true;
    }
    if ( c->heap && (!any ||
                     fc_vt_before(((struct fc_unit *)c->heap)->vtime, least)) )
    {
        least = ((struct fc_unit *)c->heap)->vtime;
        any = true;
    }
    if ( any && fc_vt_before(c->frame, least) )
        c->frame = least;
}

/*
 * @fu comes to class @k of @rq from a frame @was elsewhere.  If nothing is
 * queued in @rq and no unit but @fu runs on its pCPUs, its frames are
 * those of its last work, maybe long ago, and no unit there holds a vtime
 * in them.  Balance compares vtimes across runqueues, so a unit placed in
 * a stale frame would look far behind the runqueue it left and run here
 * alone until it caught up (seconds, after guests were re-pinned to pCPUs
 * of an idle runqueue).  Bring the frame up to the one it leaves instead.
 * Lock of @rq held.
 */
static void fc_frame_adopt(const struct sch_sched *s, struct fc_runq *rq,
                           unsigned int k, const struct fc_unit *fu,
                           uint64_t was)
{
    struct fc_class *c = &rq->cls[k];
    uint64_t m;

    SCH_ASSERT_LOCKED(&rq->lock);
    if ( rq->nr_queued || !fc_vt_before(c->frame, was) )
        return;
    for ( m = rq->cpus; m; m &= m - 1 )
    {
        const struct sch_unit *run = sch_curr_on_cpu(s, rq->base + fc_ctz(m));

        if ( !run->is_idle && fc_unit(run) != fu )
            return;
    }
    c->frame = was;
    if ( k == rq->all )
        __atomic_store_n(&rq->frame, was, __ATOMIC_RELAXED);
}

/*
 * A unit that slept is placed against its class's frame, brought up to
 * now (fc_frame_now); see Design and the two cases below.  A unit that
 * comes from another class (affinity changed, or the host moved it) keeps
 * its lag behind the frame it left as its lag behind this one.  Lock of
 * @rq held.
 */
static void fc_place(const struct sch_sched *s, struct fc_runq *rq,
                     struct fc_unit *fu, sch_time_t now)
{
    const struct fc_private *prv = fc_priv(s);
    const struct fc_runq *was = fu->cls_rq;
    uint64_t wkey = fu->cls_key;
    unsigned int wk = fu->cls, k = fc_class_of(s, rq, fu);
    struct fc_class *c = &rq->cls[k];
    uint64_t lead;

    SCH_ASSERT_LOCKED(&rq->lock);
    /* Only a long sleep is placed at the frame: the frame must then be
     * now's; for a short one it is only compared with a lead of
     * milliseconds, and a slice old will do. */
    if ( now - fu->slept >= SCH_USEC(FC_WINDOW_US) || was != rq || wk != k )
        fc_frame_now(s, rq, c, fu, now, false);
    if ( was && (was != rq || wk != k) )
    {
        uint64_t old = __atomic_load_n(&was->frame, __ATOMIC_RELAXED);

        if ( was->cls[wk].key == wkey )
            old = was->cls[wk].frame;
        fc_frame_adopt(s, rq, k, fu, old);
        fu->vtime = fu->vtime - old + c->frame;
        fu->win_start = 0;              /* other frames: judge afresh */
    }
    /*
     * Has it used less than its share lately?  What it ran, as vtime,
     * then falls short of the frame's advance, which a unit runnable all
     * along follows (by a tenth, so that a unit held to its share is not
     * on the edge).  What it ran, not its vtime: credit lost to the floor
     * below moves its vtime without running.
     */
    if ( now - fu->win_start >= SCH_USEC(FC_WINDOW_US) )
    {
        fu->under = fu->win_start != 0 && fu->waited < fu->served &&
                    (uint64_t)fu->served * FC_WEIGHT_UNIT /
                    fu->weight * 10 < (c->frame - fu->win_frame) * 9;
        fu->win_start = now;
        fu->win_frame = c->frame;
        fu->served = fu->waited = 0;
    }
    /*
     * A sleep shorter than FC_WINDOW_US is part of how the unit runs (an
     * I/O or request domain between bursts, a domain that naps): it keeps
     * its vtime, and so what a unit runnable all along would have had
     * meanwhile, which it then runs first; it never gets more than that, so
     * sleeping often cannot buy more than the weight's share.  A longer
     * sleep is an absence: the unit comes back level with the frame and
     * gets its share from its return (phase by phase, as the simulator's
     * entitlement judges a bursty domain whose cycle is longer).
     */
    if ( now - fu->slept >= SCH_USEC(FC_WINDOW_US) &&
         fc_vt_before(fu->vtime, c->frame) )
        fu->vtime = c->frame;
    /*
     * Under its share and less than its lead ahead of the frame: boosted
     * (see Design).  The lead is "latency" of running, real time whatever
     * the weight: a request domain's busy period lasts so long, not so
     * much vtime.
     */
    lead = (uint64_t)prv->latency * FC_WEIGHT_UNIT / fu->weight;
    fu->boosted = prv->boost && fu->under &&
                  now - fu->slept < SCH_USEC(FC_WINDOW_US) &&
                  fc_vt_before(fu->vtime, c->frame + lead);
    fu->boost_limit = c->frame + lead;
    fu->start = now;
}

/* Queue @fu in @rq (its class computed now unless @classed), or park it
 * on its pCPU if its domain is throttled; tickle a pCPU for it.  Returns
 * fc_park's answer. */
static bool fc_enqueue(const struct sch_sched *s, struct fc_runq *rq,
                       struct fc_unit *fu, bool classed, unsigned int self,
                       sch_time_t now)
{
    if ( fc_throttled(s, fu, now) )
        return fc_park(s, fu, fu->unit->res, now);
    if ( !classed )
        fc_class_of(s, rq, fu);
    fc_queue(s, rq, fu, now);
    fc_tickle(s, rq, fu, self, now);
    return false;
}

/*
 * @fd has its budget back: requeue all its units parked on the pCPUs of
 * @rq (whose lock we hold; its units elsewhere come back by their own
 * pCPUs' timers).  A capped unit cannot use the credit it would bank
 * meanwhile, so the least of them comes back level with the frame; the
 * others keep how far behind that one they were, which is what tells
 * them apart: the units of a domain share its turns as they share its
 * weight.  Its units still queued in @rq (a throttle parks only the units
 * picked) are requeued with them, so the shift does not hand them the
 * parked ones' turns (an 8-vCPU domain's vCPUs got 0.377 and 0.63 of a
 * share).  They go before every unit of the same vtime (FC_SEQ_MID): the
 * frame is the vtime of the units that ran while they were parked, and
 * queued behind those the domain lost a turn of all of them at every
 * throttle.  O(the domain's vCPUs), once a throttle.
 */
static void fc_unpark_dom(const struct sch_sched *s, struct fc_runq *rq,
                          struct fc_dom *fd, unsigned int cpu, sch_time_t now)
{
    struct sch_list back, *pos, *n;
    uint64_t lag = 0, m, seq;
    unsigned int nr = 0, i;

    sch_list_init(&back);
    for ( m = rq->cpus; m; m &= m - 1 )
        sch_list_for_each_safe(pos, n,
                               &fc_pcpu(s, rq->base + fc_ctz(m))->parked)
        {
            struct fc_unit *fu = sch_list_entry(pos, struct fc_unit,
                                                park_elem);

            if ( fu->dom != fd )
                continue;
            sch_list_del_init(&fu->park_elem);
            sch_list_add_tail(&fu->park_elem, &back);
        }
    if ( sch_list_empty(&back) )
        return;
    for ( i = 0; i < fd->dom->nr_units; i++ )
    {
        struct sch_unit *u = fd->dom->units[i];
        struct fc_unit *fu = u ? fc_unit(u) : NULL;

        /* Ours (under our lock) first: another runqueue's are not. */
        if ( fu && fc_rq_of(s, u) == rq && fu->queued && !fu->boosted &&
             fu->cls_rq == rq )
        {
            fc_unqueue(s, rq, fu);
            sch_list_add_tail(&fu->park_elem, &back);
        }
    }
    sch_list_for_each(pos, &back)
    {
        struct fc_unit *fu = sch_list_entry(pos, struct fc_unit, park_elem);
        uint64_t frame;

        fc_class_of(s, rq, fu);
        nr++;
        frame = rq->cls[fu->cls].frame;
        if ( fc_vt_before(fu->vtime, frame) &&
             fc_vt_before(lag, frame - fu->vtime) )
            lag = frame - fu->vtime;
    }
    rq->front -= nr;
    seq = rq->front;
    sch_list_for_each_safe(pos, n, &back)
    {
        struct fc_unit *fu = sch_list_entry(pos, struct fc_unit, park_elem);
        uint64_t frame = rq->cls[fu->cls].frame;

        if ( fu->parked )
        {
            fc_unpark(s, fu, now);
            fu->fresh = true;
            fu->fresh_until = now + fc_cap_slack(fc_priv(s), fd->cap_pct);
        }
        else
            sch_list_del_init(&fu->park_elem);
        fu->vtime += lag;
        if ( fc_vt_before(fu->vtime, frame) )
            fu->vtime = frame;
        fc_queue_seq(s, rq, fu, now, seq++);
        fc_tickle(s, rq, fu, cpu, now);
    }
}

/* Requeue parked units of @cpu whose domain has budget again (with their
 * siblings parked elsewhere in the runqueue), and find when the first of
 * those left parked has.  Lock of @cpu's runqueue held. */
static void fc_unpark_ready(const struct sch_sched *s, unsigned int cpu,
                            sch_time_t now)
{
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct sch_list *pos;
    bool first;

    SCH_ASSERT_LOCKED(&pc->rq->lock);
again:
    first = true;
    sch_list_for_each(pos, &pc->parked)
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
        /* Siblings further on this list may go too: start over. */
        fc_unpark_dom(s, pc->rq, fd, cpu, now);
        goto again;
    }
}

/*
 * Move @fu, queued in @from (whose lock we hold, as @to's), to @cpu of
 * @to, unqueued.  Its vtime keeps its lag unless it is further from the
 * frame of its new class than lag can honestly be: pinned units make
 * frames of other classes drift, and what a unit did there is not owed
 * here.
 */
static void fc_move(const struct sch_sched *s, struct fc_runq *from,
                    struct fc_unit *fu, struct fc_runq *to, unsigned int cpu)
{
    const struct fc_private *prv = fc_priv(s);
    uint64_t frame, was = from->cls[fu->cls].frame;
    struct fc_class *c;
    unsigned int k;

    SCH_ASSERT_LOCKED(&from->lock);
    SCH_ASSERT_LOCKED(&to->lock);
    fc_unqueue(s, from, fu);
    sch_unit_set_res(fu->unit, cpu);
    k = fc_class_of(s, to, fu);
    c = &to->cls[k];
    fc_frame_adopt(s, to, k, fu, was);
    frame = c->frame;
    if ( fc_vt_before(fu->vtime, frame - prv->tslice) )
        fu->vtime = frame - prv->tslice;
    else if ( fc_vt_before(frame + 2 * prv->tslice, fu->vtime) )
        fu->vtime = frame + 2 * prv->tslice;
    fu->boosted = false;
}

/*
 * Balance between runqueues (see Design).  Ours is ahead by as much as the
 * vtime of the unit furthest ahead that one of our pCPUs runs: a unit
 * waiting elsewhere FC_PULL_LAG_US behind that would run here before it.
 * From the runqueue with the least such unit (published by
 * fc_publish_low), pull up to FC_PULLS_MAX units that far behind, each to
 * a pCPU of ours it may use; fc_tickle then has the right pCPU switch to
 * it.  Lock of @rq held; the peer's is only trylocked.
 */
static void fc_balance(const struct sch_sched *s, struct fc_runq *rq,
                       unsigned int cpu, sch_time_t now)
{
    struct fc_private *prv = fc_priv(s);
    const uint64_t lag = SCH_USEC(FC_PULL_LAG_US);
    uint64_t mine = 0, least = 0, m, busy = 0;
    struct fc_runq *from = NULL;
    struct sch_cpumask waiting;
    unsigned int id, n;

    SCH_ASSERT_LOCKED(&rq->lock);
    for ( m = rq->cpus & ~rq->idle; m; m &= m - 1 )
    {
        unsigned int i = fc_ctz(m);

        if ( sch_curr_on_cpu(s, rq->base + i)->is_idle )
            continue;
        if ( !busy || fc_vt_before(mine, rq->vt[i]) )
            mine = rq->vt[i];
        busy |= (uint64_t)1 << i;
    }
    if ( !busy )
        return;
    fc_mask_read(&waiting, &prv->waiting);
    sch_cpumask_clear(&waiting, rq->id);
    sch_for_each_cpu(id, &waiting)
    {
        struct fc_runq *peer = prv->runq[id];
        uint64_t low;

        if ( !peer || !__atomic_load_n(&peer->give, __ATOMIC_RELAXED) )
            continue;
        low = __atomic_load_n(&peer->low, __ATOMIC_RELAXED);
        if ( fc_vt_before(low + lag, mine) &&
             (!from || fc_vt_before(low, least)) )
        {
            from = peer;
            least = low;
        }
    }
    if ( !from || !sch_spin_trylock(&from->lock) )
        return;
    /*
     * Each pull goes to the pCPU of ours its unit may use whose runner is
     * furthest ahead of it, if that is FC_PULL_LAG_US or more: with
     * affinity, that the runqueue as a whole is ahead says nothing of the
     * pCPUs the unit may use.  A pCPU takes one pull per balance.
     */
    for ( n = 0; n < FC_PULLS_MAX && busy; n++ )
    {
        struct fc_unit *best = NULL;
        uint64_t gap = 0;
        unsigned int to = 0;

        for ( m = from->out & from->nonempty; m; m &= m - 1 )
        {
            struct fc_unit *h =
                (struct fc_unit *)from->cls[fc_ctz(m)].heap;
            uint64_t ok, t;

            if ( !h )
                continue;
            ok = (h->unit->hard_affinity.bits[rq->base / 64] >>
                  (rq->base % 64)) & busy;
            for ( t = ok; t; t &= t - 1 )
            {
                unsigned int i = fc_ctz(t);

                if ( !fc_vt_before(h->vtime + lag, rq->vt[i]) ||
                     (best && rq->vt[i] - h->vtime <= gap) )
                    continue;
                best = h;
                gap = rq->vt[i] - h->vtime;
                to = i;
            }
        }
        if ( !best )
            break;
        busy &= ~((uint64_t)1 << to);
        fc_move(s, from, best, rq, rq->base + to);
        fc_queue(s, rq, best, now);
        fc_tickle(s, rq, best, cpu, now);
    }
    sch_spin_unlock(&from->lock);
}

/*
 * @cpu has nothing to run: take the least unit it may run from another
 * runqueue (the head of each class that may leave its runqueue).  Lock
 * of @rq held; the others are only trylocked.
 */
static struct fc_unit *fc_steal(const struct sch_sched *s, struct fc_runq *rq,
                                unsigned int cpu)
{
    struct fc_private *prv = fc_priv(s);
    struct sch_cpumask waiting;
    unsigned int id;

    SCH_ASSERT_LOCKED(&rq->lock);
    if ( fc_load(&prv->nr_runqs) < 2 )
        return NULL;
    fc_mask_read(&waiting, &prv->waiting);
    sch_cpumask_clear(&waiting, rq->id);
    sch_for_each_cpu(id, &waiting)
    {
        struct fc_runq *peer = prv->runq[id];
        struct fc_unit *best = NULL;
        uint64_t m;

        if ( !peer || !sch_spin_trylock(&peer->lock) )
            continue;
        for ( m = peer->nonempty; m; m &= m - 1 )
        {
            struct fc_class *c = &peer->cls[fc_ctz(m)];
            struct fc_unit *h = fc_head(c);

            if ( (c->key & FC_KEY_OUT) &&
                 sch_cpumask_test(&h->unit->hard_affinity, cpu) &&
                 (!best || fc_before(h, best)) )
                best = h;
        }
        if ( best )
            fc_move(s, peer, best, rq, cpu);
        sch_spin_unlock(&peer->lock);
        if ( best )
            return best;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */

static int SCH_HOOK fc_init(struct sch_sched *s)
{
    struct fc_private *prv = sch_zalloc(s, sizeof(*prv));

    if ( !prv )
        return -SCH_ENOMEM;
    sch_spin_lock_init(&prv->lock);
    prv->tslice = SCH_USEC(FC_TSLICE_US_DEFAULT);
    prv->ratelimit = SCH_USEC(FC_RATELIMIT_US_DEFAULT);
    prv->period = SCH_USEC(FC_PERIOD_US_DEFAULT);
    prv->latency = SCH_USEC(FC_LATENCY_US_DEFAULT);
    prv->runq_cpus = FC_RUNQ_CPUS_DEFAULT;
    prv->boost = true;
    s->priv = prv;
    return 0;
}

/* Runqueues live as long as the instance: peers read the table without a
 * lock, so one is never freed while another pCPU might look at it. */
static void SCH_HOOK fc_deinit(struct sch_sched *s)
{
    struct fc_private *prv = fc_priv(s);
    unsigned int i;

    for ( i = 0; i < SCH_MAX_CPUS; i++ )
        sch_free(s, prv->runq[i]);
    sch_free(s, prv);
    s->priv = NULL;
}

/*
 * @cpu gets its per-pCPU data and joins its runqueue, which is made with
 * the first of its pCPUs.  A new runqueue starts at the frame of another,
 * so units moving between them keep comparable vtimes.
 */
static void *SCH_HOOK
fc_alloc_pdata(const struct sch_sched *s, unsigned int cpu)
{
    struct fc_private *prv = fc_priv(s);
    struct fc_pcpu *pc = sch_zalloc(s, sizeof(*pc));
    struct fc_runq *rq, *fresh = sch_zalloc(s, sizeof(*fresh));
    unsigned int id, i;
    uint64_t frame = 0;

    if ( !pc || !fresh )
    {
        sch_free(s, pc);
        sch_free(s, fresh);
        return NULL;
    }
    sch_list_init(&pc->parked);
    sch_spin_lock(&prv->lock);
    id = cpu / prv->runq_cpus;
    rq = prv->runq[id];
    if ( !rq )
    {
        rq = fresh;
        fresh = NULL;
        sch_spin_lock_init(&rq->lock);
        rq->id = id;
        rq->base = id * prv->runq_cpus;
        rq->nsingle = prv->runq_cpus;
        rq->all = FC_NO_CLASS;
        rq->seq = FC_SEQ_MID;
        rq->front = FC_SEQ_MID;
        for ( i = 0; i < SCH_MAX_CPUS && !frame; i++ )
            if ( prv->runq[i] )
                frame = __atomic_load_n(&prv->runq[i]->frame,
                                        __ATOMIC_RELAXED);
        rq->frame = frame;
        prv->runq[id] = rq;
    }
    if ( rq->nr_cpus++ == 0 )
        fc_add(&prv->nr_runqs, 1);
    prv->nr_pcpus++;
    sch_spin_unlock(&prv->lock);
    sch_free(s, fresh);

    pc->rq = rq;
    pc->local = cpu - rq->base;
    /* Xen adds a pCPU to s->cpus when it switches to us (after this):
     * it joins at its first decision then (fc_decide). */
    if ( sch_cpumask_test(&s->cpus, cpu) )
    {
        sch_spin_lock(&rq->lock);
        fc_join(rq, pc);
        sch_spin_unlock(&rq->lock);
    }
    return pc;
}

static void SCH_HOOK
fc_free_pdata(const struct sch_sched *s, void *pd, unsigned int cpu)
{
    struct fc_private *prv = fc_priv(s);
    struct fc_pcpu *pc = pd;
    struct fc_runq *rq;
    bool last;

    if ( !pc )
        return;
    rq = pc->rq;
    sch_spin_lock(&rq->lock);
    fc_leave(s, rq, pc, cpu);
    sch_spin_unlock(&rq->lock);
    sch_spin_lock(&prv->lock);
    prv->nr_pcpus--;
    last = --rq->nr_cpus == 0;
    if ( last )
    {
        SCH_ASSERT(!rq->nr_queued);
        fc_add(&prv->nr_runqs, -1);
    }
    sch_spin_unlock(&prv->lock);
    sch_free(s, pc);
}

static struct sch_lock *SCH_HOOK
fc_pcpu_lock(const struct sch_sched *s, unsigned int cpu)
{
    return &fc_pcpu(s, cpu)->rq->lock;
}

static void *SCH_HOOK
fc_alloc_domdata(const struct sch_sched *s, struct sch_domain *d)
{
    struct fc_dom *fd = sch_zalloc(s, sizeof(*fd));

    if ( !fd )
        return NULL;
    sch_spin_lock_init(&fd->lock);
    fd->dom = d;
    fd->weight = SCH_WEIGHT_DEFAULT;
    return fd;
}

static void SCH_HOOK fc_free_domdata(const struct sch_sched *s, void *dd)
{
    sch_free(s, dd);
}

static void *SCH_HOOK
fc_alloc_udata(const struct sch_sched *s, struct sch_unit *u, void *dd)
{
    struct fc_unit *fu = sch_zalloc(s, sizeof(*fu));

    if ( !fu )
        return NULL;
    fu->unit = u;
    fu->dom = dd;
    if ( fu->dom )                      /* not an idle unit */
    {
        fu->weight = (uint16_t)fu->dom->weight;
        fu->capped = fu->dom->cap_pct != 0;
    }
    sch_list_init(&fu->park_elem);
    return fu;
}

static void SCH_HOOK fc_free_udata(const struct sch_sched *s, void *ud)
{
    sch_free(s, ud);
}

/* A new unit starts at the frame of its class: level with its peers. */
static void SCH_HOOK
fc_insert_unit(const struct sch_sched *s, struct sch_unit *u)
{
    struct fc_unit *fu = fc_unit(u);
    struct fc_runq *rq = fc_rq_of(s, u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    fu->vtime = rq->cls[fc_class_of(s, rq, fu)].frame;
}

static void fc_dequeue(const struct sch_sched *s, struct fc_unit *fu)
{
    if ( fu->queued )
        fc_unqueue(s, fc_rq_of(s, fu->unit), fu);
    else if ( fu->parked )
    {
        /* Going to sleep or away: the host counts it off right after. */
        fu->parked = false;
        fu->unit->parked = false;
        sch_list_del_init(&fu->park_elem);
    }
    fu->requeue = false;
    fu->boosted = false;
}

static void SCH_HOOK
fc_remove_unit(const struct sch_sched *s, struct sch_unit *u)
{
    struct fc_unit *fu = fc_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    fc_dequeue(s, fu);
    /* It leaves its domain's counts with it (the host puts it to sleep
     * first, but a count left behind would hold the cap's drain wrong for
     * good). */
    fu->awake = false;
    fc_count(fu);
}

static void SCH_HOOK
fc_sleep(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct fc_unit *fu = fc_unit(u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    if ( sch_curr_on_cpu(s, u->res) == u )
    {
        struct fc_runq *rq = fc_rq_of(s, u);

        fc_burn(fu, now);
        sch_kick(s, u->res);
        /* A class with nothing queued has its frame from its last pick, a
         * slice ago if its units run alone: bring it up to now while it
         * still counts, so a unit moved to another class (fc_place) keeps
         * its true lag. */
        if ( fu->cls_rq == rq && !rq->cls[fu->cls].nr )
            fc_frame_now(s, rq, &rq->cls[fu->cls], NULL, now, true);
    }
    else
    {
        /* A wait its sleep ends is a wait all the same (fc_place). */
        if ( fu->queued || fu->parked )
            fu->waited += now - fu->queued_at;
        fc_dequeue(s, fu);
    }
    fu->boosted = false;
    fu->slept = now;
    fu->awake = false;
    fc_count(fu);
}

static void SCH_HOOK
fc_wake(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct fc_unit *fu = fc_unit(u);
    struct fc_runq *rq = fc_rq_of(s, u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    fu->awake = true;
    fc_count(fu);
    /* Current on its pCPU: do_schedule will see it runnable. */
    if ( sch_curr_on_cpu(s, u->res) == u || fu->queued || fu->parked )
        return;
    /* Switched out, its state not saved yet (Xen's is_running): no other
     * pCPU may pick it before context_saved, which queues it. */
    if ( u->is_running )
    {
        fu->requeue = true;
        fu->woke = true;
        return;
    }
    fc_place(s, rq, fu, now);
    if ( fc_enqueue(s, rq, fu, true, SCH_MAX_CPUS, now) )
        sch_kick(s, u->res);            /* to come back for it in time */
}

static void SCH_HOOK
fc_yield(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    fc_unit(u)->yielding = true;
    sch_kick(s, u->res);
}

/* Its context saved, a unit switched out still runnable is queued. */
static void SCH_HOOK
fc_context_saved(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    struct fc_unit *fu = fc_unit(u);
    struct fc_runq *rq = fc_rq_of(s, u);

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    if ( !fu->requeue )
        return;
    fu->requeue = false;
    if ( !u->runnable )
        return;
    if ( fu->woke )
        fc_place(s, rq, fu, now);
    if ( fc_enqueue(s, rq, fu, fu->woke, SCH_MAX_CPUS, now) )
        sch_kick(s, u->res);
}

/* Should @cand run now instead of @curr, which has run its ratelimit? */
static bool fc_switch(const struct fc_unit *curr, const struct fc_unit *cand)
{
    if ( curr->boosted != cand->boosted )
        return cand->boosted;
    return !fc_vt_before(curr->vtime, cand->vtime + SCH_USEC(FC_GRAN_US));
}

/* The least unit @cpu may run whose domain has budget: throttled ones
 * are parked on the way. */
static struct fc_unit *fc_candidate(const struct sch_sched *s,
                                    struct fc_pcpu *pc, unsigned int cpu,
                                    sch_time_t now)
{
    struct fc_unit *cand, *reclassed = NULL;

    while ( (cand = fc_best(pc->rq, pc->local)) )
    {
        if ( sch_unlikely(!sch_cpumask_test(&cand->unit->hard_affinity,
                                            cpu)) )
        {
            /* Its affinity changed while it waited (Xen's adjust_affinity,
             * which has no hook here): it moves to its class now.  One
             * allowed on none of the runqueue's pCPUs stays where the host
             * left it (fc_class_of), here: picking it again would never
             * end, so this pCPU runs nothing until the host moves it. */
            if ( cand == reclassed )
                return NULL;
            reclassed = cand;
            fc_unqueue(s, pc->rq, cand);
            fc_class_of(s, pc->rq, cand);
            fc_queue(s, pc->rq, cand, now);
            continue;
        }
        if ( !fc_throttled(s, cand, now) )
            break;
        fc_unqueue(s, pc->rq, cand);
        fc_park(s, cand, cpu, now);
    }
    return cand;
}

/* How long @fu may run on @cpu from @now before the next decision;
 * @pending, switched out and not yet queued (context_saved), competes. */
static sch_time_t fc_slice(const struct sch_sched *s, struct fc_unit *fu,
                           struct fc_pcpu *pc, const struct fc_unit *pending,
                           sch_time_t now)
{
    const struct fc_private *prv = fc_priv(s);
    const struct fc_unit *next = fc_best(pc->rq, pc->local);
    struct fc_dom *fd = fu->dom;
    sch_time_t slice = prv->tslice, t;
    uint64_t goal = 0;
    bool limited = false;

    if ( pending && (!next || fc_before(pending, next)) )
        next = pending;
    if ( fu->boosted )
    {
        goal = fu->boost_limit;
        limited = true;
    }
    if ( next && next->boosted == fu->boosted &&
         (!limited ||
          fc_vt_before(next->vtime + SCH_USEC(FC_GRAN_US), goal)) )
    {
        /* Real time for our vtime to pass next's by the granularity. */
        goal = next->vtime + SCH_USEC(FC_GRAN_US);
        limited = true;
    }
    if ( limited )
    {
        t = fc_vt_before(fu->vtime, goal) ? fc_vt_ns(goal - fu->vtime,
                                                     fu->weight) : 0;
        if ( t < slice )
            slice = t;
        if ( slice < SCH_USEC(FC_MIN_SLICE_US) )
            slice = SCH_USEC(FC_MIN_SLICE_US);
    }
    else if ( !next && fc_load(&fc_priv(s)->nr_runqs) > 1 &&
              slice > SCH_USEC(FC_BALANCE_US) )
    {
        /* Alone here while others may wait elsewhere: come back to
         * balance. */
        struct sch_cpumask waiting;

        fc_mask_read(&waiting, &fc_priv(s)->waiting);
        if ( !sch_cpumask_empty(&waiting) )
            slice = SCH_USEC(FC_BALANCE_US);
    }
    if ( fu->capped )
    {
        t = fc_budget_slice(s, fd, now);
        if ( t >= 0 && t < slice )
            slice = t;
    }
    /* Where it will stop, for fc_tickle to compare wakers with. */
    t = slice;
    pc->rq->goal[pc->local] = fu->vtime + (uint64_t)t * FC_WEIGHT_UNIT /
                                          fu->weight;
    if ( fc_vt_before(pc->rq->goal_hi, pc->rq->goal[pc->local]) )
        pc->rq->goal_hi = pc->rq->goal[pc->local];
    return slice;
}

/* What @pc's pCPU runs now, as fc_tickle sees it. */
static void fc_set_running(struct fc_runq *rq, const struct fc_pcpu *pc,
                           const struct fc_unit *fu)
{
    uint64_t bit = (uint64_t)1 << pc->local;

    if ( fu && fu->boosted )
        rq->boosted |= bit;
    else
        rq->boosted &= ~bit;
    if ( fu )
        rq->vt[pc->local] = fu->vtime;
}

static void fc_decide(const struct sch_sched *s, struct sch_unit *curr,
                      unsigned int cpu, sch_time_t now, bool tasklet_work,
                      struct sch_slice *out)
{
    const struct fc_private *prv = fc_priv(s);
    struct fc_pcpu *pc = fc_pcpu(s, cpu);
    struct fc_runq *rq = pc->rq;
    struct fc_unit *fc = curr->is_idle ? NULL : fc_unit(curr), *next = NULL;
    struct fc_unit *cand;
    sch_time_t fresh = -1;
    bool keep = false, yielding = false;
    /* Leaving the instance (fc_leave): it runs no unit from now, so Xen's
     * moves of units off it come to an end; its current one is queued
     * for the others, as if preempted. */
    bool leaving = !sch_cpumask_test(&s->cpus, cpu);

    out->migrated = false;
    if ( sch_unlikely(leaving) )
        fc_leave(s, rq, pc, cpu);
    else if ( sch_unlikely(!pc->joined) )
        fc_join(rq, pc);
    /* Deciding now: no one need kick it. */
    rq->idle &= ~((uint64_t)1 << pc->local);
    fc_unpark_ready(s, cpu, now);
    if ( fc )
    {
        fc_burn(fc, now);
        yielding = fc->yielding;
        fc->yielding = false;
        if ( fc->boosted && (!curr->runnable ||
                             !fc_vt_before(fc->vtime, fc->boost_limit)) )
            fc->boosted = false;
        if ( curr->runnable )
        {
            if ( fc_throttled(s, fc, now) )
                fc_park(s, fc, cpu, now);
            else
                keep = true;
        }
    }
    if ( fc_load(&prv->nr_runqs) > 1 && !leaving &&
         now - rq->last_balance >= SCH_USEC(FC_BALANCE_US) )
    {
        rq->last_balance = now;
        fc_balance(s, rq, cpu, now);
    }

    if ( !tasklet_work && !leaving )
    {
        cand = fc_candidate(s, pc, cpu, now);
        if ( keep && cand && !yielding && fc_switch(fc, cand) &&
             now - fc->run_start < prv->ratelimit )
        {
            /* Ratelimit: curr keeps the pCPU for its minimum first. */
            fc_advance(rq, fc);
            out->task = curr;
            out->time = prv->ratelimit - (now - fc->run_start);
            rq->goal[pc->local] = fc->vtime;
            fc_set_running(rq, pc, fc);
            fc_set_idle(s, pc, cpu, false);
            return;
        }
        if ( keep && cand && !yielding &&
             fc_fresh_wait(s, rq, cand, cpu, now) )
        {
            /* It waits for a pCPU to come free, till its wait is up. */
            next = fc;
            fresh = cand->fresh_until - now;
        }
        else if ( keep && (!cand || (!yielding && !fc_switch(fc, cand))) )
            next = fc;
        else if ( cand )
        {
            next = cand;
            fc_unqueue(s, rq, next);
            next->waited += now - next->queued_at;
            next->fresh = false;
        }
        else
        {
            next = fc_steal(s, rq, cpu);
            out->migrated = next != NULL;
        }
    }

    if ( fc && next != fc )
    {
        fc_running(s, fc, false, now);
        if ( keep )
        {
            /* Queued once its context is saved (context_saved). */
            fc->requeue = true;
            fc->woke = false;
            fc->boosted = false;
        }
    }
    if ( !next )
    {
        out->task = sch_res(s, cpu)->idle;
        out->time = -1;
        fc_set_running(rq, pc, NULL);
        if ( !leaving )
            fc_set_idle(s, pc, cpu, true);
        return;
    }

    if ( next->unit->res != cpu )
    {
        sch_unit_set_res(next->unit, cpu);
        out->migrated = true;
    }
    if ( next != fc )
    {
        next->run_start = now;
        next->start = now;
        fc_running(s, next, true, now);
    }
    fc_advance(rq, next);
    out->task = next->unit;
    out->time = fc_slice(s, next, pc, fc && fc->requeue ? fc : NULL, now);
    if ( fresh >= 0 && fresh < out->time )
        out->time = fresh;
    fc_set_running(rq, pc, next);
    fc_set_idle(s, pc, cpu, false);
    if ( !fc && !out->migrated )
        fc_pass_kick(s, rq);
}

static void SCH_HOOK
fc_do_schedule(const struct sch_sched *s, struct sch_unit *curr,
               unsigned int cpu, sch_time_t now,
               bool tasklet_work, struct sch_slice *out)
{
    const struct fc_pcpu *pc = fc_pcpu(s, cpu);
    sch_time_t until;

    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    fc_decide(s, curr, cpu, now, tasklet_work, out);
    /* Come back for the parked units when their budget is (fc_park). */
    if ( sch_list_empty(&pc->parked) )
        return;
    until = pc->next_resume > now ? pc->next_resume - now : 1;
    if ( out->time < 0 || until < out->time )
        out->time = until;
}

/* Asleep and on no queue (Xen: migrating): it moves to @cpu, maybe to
 * another runqueue, where its vtime must fit the frame (fc_place does at
 * the wake that follows). */
static void SCH_HOOK
fc_migrate(const struct sch_sched *s, struct sch_unit *u, unsigned int cpu)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    SCH_ASSERT(!fc_unit(u)->queued);
    sch_unit_set_res(u, cpu);
}

static unsigned int SCH_HOOK
fc_pick_resource(const struct sch_sched *s, const struct sch_unit *u)
{
    struct fc_runq *rq = fc_rq_of(s, u);
    uint64_t local = (u->hard_affinity.bits[rq->base / 64] >>
                      (rq->base % 64)) & rq->idle & fc_rq_members(s, rq);
    struct sch_cpumask mask;
    unsigned int cpu;

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    if ( local )
        return rq->base + fc_ctz(local);
    cpu = fc_idler_out(s, rq, &u->hard_affinity);
    if ( cpu < SCH_MAX_CPUS )
        return cpu;
    if ( sch_cpumask_test(&u->hard_affinity, u->res) &&
         sch_cpumask_test(&s->cpus, u->res) )
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
    SCH_ASSERT_LOCKED(&fd->lock);
    fc_cap_sync(prv, fd, now);
    if ( !fd->cap_pct )
        fd->left = fc_cap_resume(prv, cap_pct);    /* as if just resumed */
    else
        fd->left = fd->left * (int64_t)cap_pct / fd->cap_pct;
    if ( !cap_pct )
        fd->throttled = false;
    __atomic_store_n(&fd->cap_pct, cap_pct, __ATOMIC_RELAXED);
    fd->left_at = now;
}

/*
 * Give each unit of @d its domain's weight and @capped, and bring its part
 * of the counts in line (fc_count), under its runqueue's lock, as credit2
 * takes each unit's lock to change its weight.  Units are capped before a
 * cap takes effect and uncapped after it is lifted, so the counts are
 * exact while a cap reads them.  The host runs one adjust of a domain at a
 * time, and none beside adding its units (Xen: the domctl lock).
 */
static void fc_sync_units(const struct sch_sched *s, struct sch_domain *d,
                          bool capped)
{
    const struct fc_dom *fd = d->priv;
    struct sch_lock *lock;
    struct fc_unit *fu;
    unsigned int i;

    for ( i = 0; i < d->nr_units; i++ )
    {
        if ( !d->units[i] )             /* a vCPU not made (yet), in Xen */
            continue;
        lock = sch_unit_lock_acquire(s, d->units[i]);
        fu = fc_unit(d->units[i]);
        fu->weight = (uint16_t)fd->weight;
        fu->capped = capped;
        fc_count(fu);
        sch_spin_unlock(lock);
    }
}

static int SCH_HOOK
fc_adjust(const struct sch_sched *s, struct sch_domain *d,
          struct sch_dom_params *p, sch_time_t now)
{
    struct fc_dom *fd = d->priv;
    struct sch_cpumask kick;
    unsigned int cpu;
    bool capped;

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
    if ( p->weight != SCH_PARAM_UNCHANGED )
        __atomic_store_n(&fd->weight, p->weight, __ATOMIC_RELAXED);
    capped = p->cap_pct != SCH_PARAM_UNCHANGED ? p->cap_pct != 0
                                               : fd->cap_pct != 0;
    if ( capped )                       /* counted before the cap holds */
        fc_sync_units(s, d, true);
    sch_spin_lock(&fd->lock);
    if ( p->cap_pct != SCH_PARAM_UNCHANGED && p->cap_pct != fd->cap_pct )
    {
        fc_cap_changed(fc_priv(s), fd, p->cap_pct, now);
        sch_stats_set_cap(d, p->cap_pct, now);
        /* The pCPUs holding parked units wait for the old budget: have
         * them look again (fc_unpark_ready marks those still holding). */
        kick = fd->parked_on;
        sch_cpumask_clear_all(&fd->parked_on);
    }
    sch_spin_unlock(&fd->lock);
    if ( !capped )                      /* uncounted once it is lifted */
        fc_sync_units(s, d, false);
    sch_for_each_cpu(cpu, &kick)
        sch_kick(s, cpu);
    return 0;
}

static int SCH_HOOK
fc_adjust_global(const struct sch_sched *s, struct sch_global_params *p)
{
    struct fc_private *prv = fc_priv(s);
    uint32_t tslice, ratelimit, period, latency, runq;

    sch_spin_lock(&prv->lock);
    tslice = (uint32_t)(prv->tslice / 1000);
    ratelimit = (uint32_t)(prv->ratelimit / 1000);
    period = (uint32_t)(prv->period / 1000);
    latency = (uint32_t)(prv->latency / 1000);
    runq = prv->runq_cpus;
    if ( p->cmd == SCH_PARAM_GET )
    {
        p->tslice_us = tslice;
        p->ratelimit_us = ratelimit;
        p->period_us = period;
        p->latency_us = latency;
        p->boost = prv->boost;
        p->runq_cpus = runq;
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
    if ( p->runq_cpus != SCH_PARAM_UNCHANGED )
        runq = p->runq_cpus;
    if ( tslice < FC_TSLICE_US_MIN || tslice > FC_TSLICE_US_MAX ||
         ratelimit > tslice || period < FC_PERIOD_US_MIN ||
         period > FC_PERIOD_US_MAX || latency > FC_LATENCY_US_MAX ||
         (p->boost != SCH_PARAM_UNCHANGED && p->boost > 1) ||
         !runq || runq > FC_RUNQ_CPUS_MAX || (runq & (runq - 1)) )
    {
        sch_spin_unlock(&prv->lock);
        return -SCH_EINVAL;
    }
    /* Runqueues are made as pCPUs join: their size is fixed by then. */
    if ( runq != prv->runq_cpus && prv->nr_pcpus )
    {
        sch_spin_unlock(&prv->lock);
        return -SCH_EBUSY;
    }
    prv->tslice = SCH_USEC(tslice);
    prv->ratelimit = SCH_USEC(ratelimit);
    prv->period = SCH_USEC(period);
    prv->latency = SCH_USEC(latency);
    prv->runq_cpus = runq;
    if ( p->boost != SCH_PARAM_UNCHANGED )
        prv->boost = p->boost;
    sch_spin_unlock(&prv->lock);
    return 0;
}

static void SCH_HOOK fc_dump_settings(const struct sch_sched *s)
{
    const struct fc_private *prv = fc_priv(s);

    sch_printk(s, "fcredit: tslice %lld us, ratelimit %lld us, period %lld us,"
               " latency %lld us, boost %d, %u pCPUs a runqueue\n",
               (long long)(prv->tslice / 1000),
               (long long)(prv->ratelimit / 1000),
               (long long)(prv->period / 1000),
               (long long)(prv->latency / 1000), prv->boost,
               prv->runq_cpus);
}

/*
 * One pCPU: whether it is the runqueue's and idle in each mask a wake
 * looks at, and (with the runqueue's first pCPU) the runqueue's masks and
 * the head of each class with units queued: enough to tell a unit that
 * waits where no pCPU looks from a pCPU that is never kicked.
 */
static void SCH_HOOK
fc_dump_cpu_state(const struct sch_sched *s, unsigned int cpu)
{
    const struct fc_private *prv = fc_priv(s);
    const struct fc_pcpu *pc = fc_pcpu(s, cpu);
    const struct sch_unit *curr;
    struct fc_runq *rq;
    uint64_t bit, m;

    if ( !pc )
        return;
    rq = pc->rq;
    bit = (uint64_t)1 << pc->local;
    sch_spin_lock(&rq->lock);
    curr = sch_curr_on_cpu(s, cpu);
    sch_printk(s, "  cpu %u: runqueue %u, joined %d (cpus %d), idle %d "
               "(runqueue %d, idlers %d), parked %d, curr %s%u.%u\n",
               cpu, rq->id, pc->joined, sch_cpumask_test(&s->cpus, cpu),
               pc->idle, !!(rq->idle & bit),
               sch_cpumask_test(&prv->idlers, cpu),
               !sch_list_empty(&pc->parked),
               curr && !curr->is_idle ? "d" : "idle d",
               curr && curr->domain ? curr->domain->id : 0,
               curr ? curr->id : 0);
    if ( (rq->cpus & fc_rq_members(s, rq)) &&
         fc_ctz(rq->cpus & fc_rq_members(s, rq)) != pc->local )
        goto out;
    sch_printk(s, "  runqueue %u: cpus %#llx of %u (joined %u), idle %#llx, "
               "classes of this cpu %#llx, nonempty %#llx, %u queued, "
               "frame %llu\n", rq->id, (unsigned long long)rq->cpus,
               rq->nr_cpus, rq->nr_joined, (unsigned long long)rq->idle,
               (unsigned long long)rq->cpu_cls[pc->local],
               (unsigned long long)rq->nonempty, rq->nr_queued,
               (unsigned long long)rq->frame);
    for ( m = rq->nonempty; m; m &= m - 1 )
    {
        const struct fc_class *c = &rq->cls[fc_ctz(m)];
        const struct fc_unit *h = fc_head(c);

        sch_printk(s, "    class %u: key %#llx, %u queued, frame %llu, "
                   "head d%u.%u vtime %llu%s\n", fc_ctz(m),
                   (unsigned long long)c->key, c->nr,
                   (unsigned long long)c->frame,
                   h ? h->unit->domain->id : 0, h ? h->unit->id : 0,
                   h ? (unsigned long long)h->vtime : 0ULL,
                   h && h->boosted ? " boosted" : "");
    }
 out:
    sch_spin_unlock(&rq->lock);
}

/* One unit as fcredit holds it.  Lock of u->res held. */
static void SCH_HOOK
fc_dump_unit(const struct sch_sched *s, const struct sch_unit *u)
{
    const struct fc_unit *fu = fc_unit(u);

    sch_printk(s, "    fcredit: queued %d (class %u, key %#llx), parked %d, "
               "requeue %d, woke %d, boosted %d, vtime %llu, domain "
               "runnable %u running %u (counted %d) weight %u cap %u\n",
               fu->queued, fu->cls_rq ? fu->cls : FC_NO_CLASS,
               (unsigned long long)fu->cls_key, fu->parked, fu->requeue,
               fu->woke, fu->boosted, (unsigned long long)fu->vtime,
               fc_load(&fu->dom->nr_runnable), fc_load(&fu->dom->nr_running),
               fu->capped,
               fu->dom->weight, fu->dom->cap_pct);
}

const struct sch_ops sch_ops_fcredit = {
    .name           = "xenos fine-grained credit",
    .opt_name       = "fcredit",
    .counts_parked  = true,
    .init           = fc_init,
    .deinit         = fc_deinit,
    .alloc_pdata    = fc_alloc_pdata,
    .free_pdata     = fc_free_pdata,
    .pcpu_lock      = fc_pcpu_lock,
    .alloc_domdata  = fc_alloc_domdata,
    .free_domdata   = fc_free_domdata,
    .alloc_udata    = fc_alloc_udata,
    .free_udata     = fc_free_udata,
    .insert_unit    = fc_insert_unit,
    .remove_unit    = fc_remove_unit,
    .sleep          = fc_sleep,
    .wake           = fc_wake,
    .yield          = fc_yield,
    .context_saved  = fc_context_saved,
    .do_schedule    = fc_do_schedule,
    .pick_resource  = fc_pick_resource,
    .migrate        = fc_migrate,
    .adjust         = fc_adjust,
    .adjust_global  = fc_adjust_global,
    .dump_settings  = fc_dump_settings,
    .dump_cpu_state = fc_dump_cpu_state,
    .dump_unit      = fc_dump_unit,
};
