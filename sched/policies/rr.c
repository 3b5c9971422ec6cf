/*
 * rr.c: round robin, the shortest correct policy: the template to copy.
 *
 * Design: one FIFO of runnable units for the whole instance.  A unit runs
 * for one time slice, then goes to the back.  A waking unit joins the back
 * and an idle pCPU it may run on is kicked.  Weight and cap are not
 * supported (no adjust hook): every runnable unit gets the same turn.
 * That is all a policy must do; credit.c and fcredit.c show what more it
 * may do (priorities, accounting, per-pCPU queues, timers).
 *
 * Locking: the queue and the idle mask are shared by all pCPUs, so they
 * have a lock of their own, taken inside the pCPU lock that the host holds
 * around every hook (lock order: pCPU lock, then rr_private.lock).
 */
#include <xenos/sched.h>

#define RR_TSLICE_US_DEFAULT  10000u
#define RR_TSLICE_US_MIN      100u
#define RR_TSLICE_US_MAX      1000000u

struct rr_private {
    struct sch_lock lock;
    struct sch_list runq;           /* runnable units not running */
    struct sch_cpumask idlers;      /* pCPUs running their idle unit */
    sch_time_t tslice;
};

struct rr_unit {
    struct sch_list runq_elem;      /* empty when not queued */
    struct sch_unit *unit;
};

static struct rr_private *rr_priv(const struct sch_sched *s)
{
    return s->priv;
}

static struct rr_unit *rr_unit(const struct sch_unit *u)
{
    return u->priv;
}

static int SCH_HOOK rr_init(struct sch_sched *s)
{
    struct rr_private *prv = sch_zalloc(s, sizeof(*prv));

    if ( !prv )
        return -SCH_ENOMEM;
    sch_spin_lock_init(&prv->lock);
    sch_list_init(&prv->runq);
    prv->tslice = SCH_USEC(RR_TSLICE_US_DEFAULT);
    s->priv = prv;
    return 0;
}

static void SCH_HOOK rr_deinit(struct sch_sched *s)
{
    sch_free(s, s->priv);
    s->priv = NULL;
}

static void *SCH_HOOK
rr_alloc_udata(const struct sch_sched *s, struct sch_unit *u, void *dd)
{
    struct rr_unit *ru = sch_zalloc(s, sizeof(*ru));

    (void)dd;
    if ( !ru )
        return NULL;
    sch_list_init(&ru->runq_elem);
    ru->unit = u;
    return ru;
}

static void SCH_HOOK rr_free_udata(const struct sch_sched *s, void *ud)
{
    sch_free(s, ud);
}

/* An idle pCPU @u may run on, taken off the idlers (one kick per idler),
 * or SCH_MAX_CPUS.  Instance lock held. */
static unsigned int rr_idler_for(struct rr_private *prv,
                                 const struct sch_unit *u)
{
    struct sch_cpumask mask;
    unsigned int cpu;

    SCH_ASSERT_LOCKED(&prv->lock);
    sch_cpumask_and(&mask, &prv->idlers, &u->hard_affinity);
    cpu = sch_cpumask_next(&mask, 0);
    if ( cpu < SCH_MAX_CPUS )
        sch_cpumask_clear(&prv->idlers, cpu);
    return cpu;
}

/* Queue @u at the back and kick an idle pCPU it may run on, if any. */
static void rr_enqueue(const struct sch_sched *s, struct sch_unit *u)
{
    struct rr_private *prv = rr_priv(s);
    unsigned int cpu;

    sch_spin_lock(&prv->lock);
    sch_list_add_tail(&rr_unit(u)->runq_elem, &prv->runq);
    cpu = rr_idler_for(prv, u);
    sch_spin_unlock(&prv->lock);
    if ( cpu < SCH_MAX_CPUS )
        sch_kick(s, cpu);
}

static void rr_dequeue(const struct sch_sched *s, struct sch_unit *u)
{
    struct rr_private *prv = rr_priv(s);

    sch_spin_lock(&prv->lock);
    sch_list_del_init(&rr_unit(u)->runq_elem);
    sch_spin_unlock(&prv->lock);
}

static void SCH_HOOK
rr_remove_unit(const struct sch_sched *s, struct sch_unit *u)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    rr_dequeue(s, u);
}

static void SCH_HOOK
rr_sleep(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    if ( sch_curr_on_cpu(s, u->res) == u )
        sch_kick(s, u->res);
    else
        rr_dequeue(s, u);
}

static void SCH_HOOK
rr_wake(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    /* Current on its pCPU, not "is running": see fcredit's wake. */
    if ( sch_curr_on_cpu(s, u->res) == u ||
         !sch_list_empty(&rr_unit(u)->runq_elem) )
        return;
    rr_enqueue(s, u);
}

static void SCH_HOOK
rr_yield(const struct sch_sched *s, struct sch_unit *u, sch_time_t now)
{
    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    (void)now;
    sch_kick(s, u->res);
}

static void SCH_HOOK
rr_do_schedule(const struct sch_sched *s, struct sch_unit *curr,
               unsigned int cpu, sch_time_t now,
               bool tasklet_work, struct sch_slice *out)
{
    struct rr_private *prv = rr_priv(s);
    struct sch_list *pos;
    struct sch_unit *next = sch_res(s, cpu)->idle;
    unsigned int idler = SCH_MAX_CPUS;
    /* Leaving its pool (out of s->cpus): it takes no unit and is no
     * idler, so the host's moves of units off it come to an end. */
    bool leaving = !sch_cpumask_test(&s->cpus, cpu);

    SCH_ASSERT_LOCKED(sch_res(s, cpu)->lock);
    (void)now;
    sch_spin_lock(&prv->lock);
    if ( !curr->is_idle && curr->runnable )
        sch_list_add_tail(&rr_unit(curr)->runq_elem, &prv->runq);
    if ( !tasklet_work && !leaving )
    {
        sch_list_for_each(pos, &prv->runq)
        {
            struct rr_unit *ru = sch_list_entry(pos, struct rr_unit,
                                                runq_elem);

            /* One still running elsewhere is having its state saved. */
            if ( (!ru->unit->is_running || ru->unit == curr) &&
                 sch_cpumask_test(&ru->unit->hard_affinity, cpu) )
            {
                sch_list_del_init(&ru->runq_elem);
                next = ru->unit;
                break;
            }
        }
    }
    if ( next->is_idle && !leaving )
        sch_cpumask_set(&prv->idlers, cpu);
    else
        sch_cpumask_clear(&prv->idlers, cpu);
    /* Preempted (or left) and still waiting: an idler elsewhere may
     * take it. */
    if ( next != curr && !curr->is_idle &&
         !sch_list_empty(&rr_unit(curr)->runq_elem) )
        idler = rr_idler_for(prv, curr);
    sch_spin_unlock(&prv->lock);
    if ( idler < SCH_MAX_CPUS )
        sch_kick(s, idler);

    out->migrated = !next->is_idle && next->res != cpu;
    if ( out->migrated )
        sch_unit_set_res(next, cpu);
    out->task = next;
    out->time = next->is_idle ? -1 : prv->tslice;
}

static unsigned int SCH_HOOK
rr_pick_resource(const struct sch_sched *s, const struct sch_unit *u)
{
    struct sch_cpumask mask;
    unsigned int cpu;

    SCH_ASSERT_LOCKED(sch_unit_lock(s, u));
    /* Within s->cpus: a pCPU leaving may still be marked idle. */
    sch_cpumask_and(&mask, &rr_priv(s)->idlers, &u->hard_affinity);
    sch_cpumask_and(&mask, &mask, &s->cpus);
    cpu = sch_cpumask_next(&mask, 0);
    if ( cpu < SCH_MAX_CPUS )
        return cpu;
    if ( sch_cpumask_test(&u->hard_affinity, u->res) &&
         sch_cpumask_test(&s->cpus, u->res) )
        return u->res;
    sch_cpumask_and(&mask, &s->cpus, &u->hard_affinity);
    return sch_cpumask_next(&mask, 0);
}

static int SCH_HOOK
rr_adjust_global(const struct sch_sched *s, struct sch_global_params *p)
{
    struct rr_private *prv = rr_priv(s);

    if ( p->cmd == SCH_PARAM_GET )
    {
        p->tslice_us = (uint32_t)(prv->tslice / 1000);
        p->ratelimit_us = p->period_us = p->boost = p->latency_us = 0;
        p->runq_cpus = 0;
        return 0;
    }
    if ( p->tslice_us == SCH_PARAM_UNCHANGED )
        return 0;
    if ( p->tslice_us < RR_TSLICE_US_MIN || p->tslice_us > RR_TSLICE_US_MAX )
        return -SCH_EINVAL;
    prv->tslice = SCH_USEC(p->tslice_us);
    return 0;
}

static void SCH_HOOK rr_dump_settings(const struct sch_sched *s)
{
    sch_printk(s, "rr: tslice %lld us\n",
               (long long)(rr_priv(s)->tslice / 1000));
}

const struct sch_ops sch_ops_rr = {
    .name           = "xenos round robin",
    .opt_name       = "rr",
    .init           = rr_init,
    .deinit         = rr_deinit,
    .alloc_udata    = rr_alloc_udata,
    .free_udata     = rr_free_udata,
    .remove_unit    = rr_remove_unit,
    .sleep          = rr_sleep,
    .wake           = rr_wake,
    .yield          = rr_yield,
    .do_schedule    = rr_do_schedule,
    .pick_resource  = rr_pick_resource,
    .adjust_global  = rr_adjust_global,
    .dump_settings  = rr_dump_settings,
};
