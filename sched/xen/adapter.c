/*
 * adapter.c: xenos policies as Xen 4.17 schedulers.
 *
 * Each policy of sched/policies/ is registered as a `struct scheduler`
 * (REGISTER_SCHEDULER), so `sched=fcredit` on Xen's command line runs the
 * very source the simulator runs.  This file is the host: it owns the
 * struct sch_unit / sch_domain / sch_resource the policy sees, keeps them
 * in step with Xen's sched_unit / domain / sched_resource, and forwards
 * each Xen hook to the policy's.
 *
 * Control: every xenos scheduler says it is XEN_SCHEDULER_CREDIT and
 * answers the credit domctl and sysctl payloads, so `xl sched-credit`,
 * libxenctrl's xc_sched_credit_domain_set() and xenosd's xen backend drive
 * it unchanged.  Xen creates a cpupool's scheduler by id and takes the first
 * with that id; our patch to core.c (sched/xen/xen-4.17.patch) gives a new
 * "credit" pool the scheduler the runtime parameter sched_credit_pool names
 * (xl set-parameters; docs/xen.md, "Swapping a policy live"), and when it
 * is empty makes a tie go to the scheduler chosen at boot, so Pool-0 and
 * every "credit" pool run the xenos policy when Xen booted with it, and
 * Xen's credit1 otherwise.
 *
 * Granularity is one vCPU per unit (sched-gran=cpu, Xen's default): a
 * unit's resource is then its pCPU, which is what struct sch_unit says.
 *
 * Sleep and wake.  The policy contract has them alternate, starting
 * asleep at insert_unit.  Xen calls wake for units already awake (an event
 * for a running vCPU) and sleep for units already asleep (pausing a blocked
 * one), and a vCPU that blocks gets no sleep at all: schedule() just finds
 * it not runnable.  The adapter passes on changes only, and tells the
 * policy of a block in do_schedule, before the decision.
 *
 * Locking.  Xen holds the unit's schedule lock around sleep, wake, yield,
 * do_schedule, migrate and adjust_affinity, but not around insert_unit,
 * remove_unit and context_saved (credit1 and credit2 take it themselves):
 * the adapter takes it there, as the policy contract (sched.h) asks.
 */
#include <xen/guest_access.h>
#include <xen/hypfs.h>
#include <xen/init.h>
#include <xen/lib.h>
#include <xen/param.h>
#include <xen/sched.h>
#include <xen/softirq.h>
#include <xen/stdarg.h>
#include <xen/time.h>
#include <xen/xmalloc.h>
#include <public/domctl.h>
#include <public/sysctl.h>

#include "../private.h"

#include <xenos/sched.h>

struct xs_unit {
    struct sch_unit u;          /* what the policy sees */
    struct sched_unit *xu;
    bool awake;                 /* the policy was last told wake */
};

struct xs_dom {
    struct sch_domain d;
    struct list_head elem;      /* on xs_doms if its policy counts */
};

/*
 * A pCPU's switches, and the clock gaps they met (under the pCPU's lock;
 * printed with the 'r' key, xs_dump_cpu_state).  Xen's core ends a
 * vCPU's runnable spell and starts it running at the pCPU's `now`
 * (vcpu_runstate_change); when that is before the time the spell was
 * stamped with on another pCPU, whose clock is ahead, it counts nothing
 * and keeps the later stamp, so the run that follows is counted from it
 * and loses the gap, up to the whole run.  Under emulation the pCPUs'
 * clocks disagree by tens to hundreds of microseconds, and fcredit, which
 * moves units often, lost 1 to 13% of the guests' time from Xen's count,
 * and so from their bills (docs/xen.md, "Where the guests' time goes").
 * xs_do_schedule brings such a stamp back to `now` before the core
 * reads it: the spell that ends counts nothing (it was shorter than the
 * gap), and the run is counted whole.  @behind_ns sums the gaps mended.
 */
struct xs_clock {
    unsigned long switches;     /* to another unit than the one running */
    unsigned long moves;        /* ...that last ran on another pCPU */
    unsigned long behind;       /* ...whose stamp is after this pCPU's now */
    s_time_t behind_ns;         /* the sum of those gaps */
};

struct xs_sched {
    struct sch_sched s;
    struct sch_lock *locks;     /* per pCPU, @xl: Xen's lock of that pCPU */
    s_time_t *last_now;         /* per pCPU, under its lock: xs_monotonic() */
    struct xs_clock *clock;     /* per pCPU, under its lock */
};

static struct xs_sched *xs_of(const struct scheduler *ops)
{
    return ops->sched_data;
}

static const struct sch_ops *xs_pol(const struct scheduler *ops)
{
    return xs_of(ops)->s.ops;
}

static struct xs_unit *xs_unit(const struct sched_unit *xu)
{
    return xu->priv;
}

static struct xs_unit *xs_of_unit(struct sch_unit *u)
{
    return container_of(u, struct xs_unit, u);
}

static void xs_copy_mask(struct sch_cpumask *m, const cpumask_t *xm)
{
    unsigned int cpu;

    sch_cpumask_clear_all(m);
    for_each_cpu ( cpu, xm )
        if ( cpu < SCH_MAX_CPUS )
            sch_cpumask_set(m, cpu);
}

/*
 * Bring what the policy reads of @xs up to date with Xen: the flags Xen
 * keeps (running, runnable) and the pCPU it sits on, which Xen's core may
 * have changed between two hooks (sched_move_domain, vcpu migration).
 */
static struct sch_unit *xs_sync(struct xs_unit *xs)
{
    const struct sched_unit *xu = xs->xu;

    xs->u.res = sched_unit_master(xu);
    xs->u.is_running = xu->is_running;
    xs->u.runnable = xs->u.is_idle || unit_runnable(xu);
    return &xs->u;
}

/*
 * The time for a hook on @cpu's units, with @cpu's lock held.  Each pCPU
 * reads its own clock, and a hook for a unit may run on another pCPU (a
 * wake sent from there) whose clock is a little behind: under emulation,
 * by tens of microseconds.  Policies assume a unit's times never go back,
 * as they do not in the simulator, so time is kept monotonic per pCPU:
 * the lock that guards a unit also orders its times.
 */
static s_time_t xs_monotonic(struct xs_sched *x, unsigned int cpu,
                             s_time_t now)
{
    if ( now < x->last_now[cpu] )
        return x->last_now[cpu];
    x->last_now[cpu] = now;
    return now;
}

static s_time_t xs_now(struct xs_sched *x, unsigned int cpu)
{
    return xs_monotonic(x, cpu, NOW());
}

/* ------------------------------------------------------------------ */
/* Host services (host.h) for the policies.                            */

void *sch_zalloc(const struct sch_sched *s, size_t size)
{
    (void)s;
    return xzalloc_bytes(size);
}

void sch_free(const struct sch_sched *s, void *p)
{
    (void)s;
    xfree(p);
}

static void cf_check xs_timer_fn(void *data)
{
    struct sch_timer *t = data;

    t->fn(t->data, NOW());
}

void sch_timer_init(const struct sch_sched *s, struct sch_timer *t,
                    sch_timer_cb fn, void *data, unsigned int cpu)
{
    (void)s;
    t->fn = fn;
    t->data = data;
    init_timer(&t->t, xs_timer_fn, t, cpu);
}

void sch_timer_set(struct sch_timer *t, sch_time_t expires)
{
    set_timer(&t->t, expires);
}

void sch_timer_stop(struct sch_timer *t)
{
    stop_timer(&t->t);
}

void sch_timer_kill(struct sch_timer *t)
{
    kill_timer(&t->t);
}

void sch_kick(const struct sch_sched *s, unsigned int cpu)
{
    (void)s;
    cpu_raise_softirq(cpu, SCHEDULE_SOFTIRQ);
}

/* The policy moved @u (its pCPU and ours are both locked): tell Xen, whose
 * lock for the unit follows unit->res. */
void sch_unit_set_res(struct sch_unit *u, unsigned int cpu)
{
    u->res = cpu;
    if ( !u->is_idle )
        sched_set_res(xs_of_unit(u)->xu, get_sched_res(cpu));
}

void sch_printk(const struct sch_sched *s, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    (void)s;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printk("%s", buf);
}

void sch_assert_failed(const char *expr, const char *file, int line)
{
    panic("xenos: assertion '%s' failed at %s:%d\n", expr, file, line);
}

/* ------------------------------------------------------------------ */
/* Set-up and tear-down.                                               */

/*
 * sched_xenos_period_us= on Xen's command line: the cap budget period of
 * every xenos scheduler instance that has one (fcredit, credit2), as
 * Xen's own sched_credit_tslice_ms sets credit1's slice.  The credit
 * payload that xl speaks has no field for it.  0: the policy's default.
 */
static unsigned int __read_mostly xs_period_us;
integer_param("sched_xenos_period_us", xs_period_us);

/*
 * sched_xenos_runq_cpus=: how many pCPUs share a runqueue (fcredit; the
 * most that do for credit2, as Xen's sched_credit2_max_cpus_runqueue).
 * Applied at init, before any pCPU joins, the only time a policy takes
 * it.  0: the policy's default.
 */
static unsigned int __read_mostly xs_runq_cpus;
integer_param("sched_xenos_runq_cpus", xs_runq_cpus);

static void xs_boot_param(struct xs_sched *x, const char *name,
                          unsigned int val, uint32_t *field,
                          struct sch_global_params *p)
{
    *p = SCH_GLOBAL_PARAMS_KEEP;
    *field = val;
    if ( x->s.ops->adjust_global(&x->s, p) )
        printk(XENLOG_WARNING "xenos %s: %s=%u refused\n",
               x->s.ops->opt_name, name, val);
}

static void xs_boot_params(struct xs_sched *x)
{
    struct sch_global_params p;

    if ( !x->s.ops->adjust_global )
        return;
    if ( xs_period_us )
        xs_boot_param(x, "sched_xenos_period_us", xs_period_us,
                      &p.period_us, &p);
    if ( xs_runq_cpus )
        xs_boot_param(x, "sched_xenos_runq_cpus", xs_runq_cpus,
                      &p.runq_cpus, &p);
}

static int xs_init(struct scheduler *ops, const struct sch_ops *pol)
{
    struct xs_sched *x;
    unsigned int cpu;
    int rc;

    if ( nr_cpu_ids > SCH_MAX_CPUS )
    {
        printk(XENLOG_ERR "xenos %s: %u pCPUs, at most %u supported\n",
               pol->opt_name, nr_cpu_ids, SCH_MAX_CPUS);
        return -EINVAL;
    }
    x = xzalloc(struct xs_sched);
    if ( !x )
        return -ENOMEM;
    x->s.res = xzalloc_array(struct sch_resource, nr_cpu_ids);
    x->locks = xzalloc_array(struct sch_lock, nr_cpu_ids);
    x->last_now = xzalloc_array(s_time_t, nr_cpu_ids);
    x->clock = xzalloc_array(struct xs_clock, nr_cpu_ids);
    if ( !x->s.res || !x->locks || !x->last_now || !x->clock )
    {
        rc = -ENOMEM;
        goto fail;
    }
    for ( cpu = 0; cpu < nr_cpu_ids; cpu++ )
    {
        sch_spin_lock_init(&x->locks[cpu]);
        x->s.res[cpu].cpu = cpu;
        x->s.res[cpu].lock = &x->locks[cpu];
    }
    x->s.ops = pol;
    x->s.host = x;
    x->s.nr_cpus = nr_cpu_ids;
    rc = pol->init(&x->s);
    if ( rc )
        goto fail;
    xs_boot_params(x);
    ops->sched_data = x;
    return 0;

 fail:
    xfree(x->clock);
    xfree(x->last_now);
    xfree(x->locks);
    xfree(x->s.res);
    xfree(x);
    return rc;
}

static void cf_check xs_deinit(struct scheduler *ops)
{
    struct xs_sched *x = xs_of(ops);

    if ( !x )
        return;
    x->s.ops->deinit(&x->s);
    xfree(x->clock);
    xfree(x->last_now);
    xfree(x->locks);
    xfree(x->s.res);
    xfree(x);
    ops->sched_data = NULL;
}

static void *cf_check xs_alloc_pdata(const struct scheduler *ops, int cpu)
{
    struct xs_sched *x = xs_of(ops);
    void *pd;

    /*
     * The pCPU's schedule lock is the one switch_sched hands Xen; point at
     * it now, before the policy can see the pCPU, so a peer's trylock of it
     * is always a real lock.
     */
    x->locks[cpu].xl = &get_sched_res(cpu)->_lock;
    if ( !x->s.ops->alloc_pdata )
        return NULL;
    pd = x->s.ops->alloc_pdata(&x->s, cpu);
    if ( !pd )
        return ERR_PTR(-ENOMEM);
    /* A lock the policy shares among pCPUs (a runqueue's, as credit2's). */
    if ( x->s.ops->pcpu_lock )
    {
        x->s.res[cpu].priv = pd;
        x->locks[cpu].xl = x->s.ops->pcpu_lock(&x->s, cpu)->xl;
    }
    return pd;
}

static void cf_check xs_free_pdata(const struct scheduler *ops, void *pd,
                                   int cpu)
{
    struct xs_sched *x = xs_of(ops);

    if ( pd && x->s.ops->free_pdata )
        x->s.ops->free_pdata(&x->s, pd, cpu);
}

/* @cpu in or out of s->cpus.  Atomic: pCPUs join and leave under their
 * own locks, and the bits of one word are several pCPUs'. */
static void xs_cpus_set(struct xs_sched *x, unsigned int cpu, bool in)
{
    uint64_t *w, b = (uint64_t)1 << (cpu % 64);

    if ( cpu >= SCH_MAX_CPUS )
        return;
    w = &x->s.cpus.bits[cpu / 64];
    if ( in )
        __atomic_fetch_or(w, b, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(w, ~b, __ATOMIC_SEQ_CST);
}

/*
 * @cpu joins the instance.  Xen holds the pCPU's old schedule lock with
 * interrupts off; the pCPU runs its idle unit.
 */
static spinlock_t *cf_check xs_switch_sched(struct scheduler *ops,
                                            unsigned int cpu, void *pdata,
                                            void *vdata)
{
    struct xs_sched *x = xs_of(ops);
    struct sched_resource *sr = get_sched_res(cpu);
    struct xs_unit *idle = vdata;
    struct sch_resource *r = &x->s.res[cpu];

    ASSERT(idle && idle->u.is_idle);
    sched_idle_unit(cpu)->priv = vdata;
    if ( cpumask_weight(sr->cpus) != 1 )
        printk(XENLOG_WARNING "xenos %s: pCPU %u: units of %u vCPUs; "
               "xenos schedules one vCPU per unit (sched-gran=cpu)\n",
               x->s.ops->opt_name, cpu, cpumask_weight(sr->cpus));
    idle->u.res = cpu;
    r->priv = pdata;
    r->idle = &idle->u;
    r->curr = &idle->u;
    if ( !x->s.ops->pcpu_lock )
        x->locks[cpu].xl = &sr->_lock;
    xs_cpus_set(x, cpu, true);
    return x->locks[cpu].xl;
}

/*
 * @cpu has left the pool's cpu_valid (cpupool_unassign_cpu_start, through
 * xen-4.17.patch's hook): Xen moves its units off it next, asking
 * pick_resource for each until the answer is in cpu_valid.  Out of s->cpus
 * now, so the policy picks it no more and it takes no unit (docs/xen.md,
 * "The live swap"); kicked, so it gives up its current one at once.
 */
static void cf_check xs_cpu_leaving(const struct scheduler *ops,
                                    unsigned int cpu)
{
    xs_cpus_set(xs_of(ops), cpu, false);
    cpu_raise_softirq(cpu, SCHEDULE_SOFTIRQ);
}

static void cf_check xs_deinit_pdata(const struct scheduler *ops, void *pd,
                                     int cpu)
{
    (void)pd;
    xs_cpus_set(xs_of(ops), cpu, false);
}

/* ------------------------------------------------------------------ */
/* Contention counters for dom0: hypfs /xenos/domains.                 */

/*
 * The counters of sched/stats.c are published as one hypfs file,
 * /xenos/domains, that dom0 reads with libxenhypfs (xenhypfs_read(h,
 * "/xenos/domains"), or `xenhypfs cat /xenos/domains`): no toolstack
 * patch, no new hypercall.  One line per domain whose scheduler is a xenos
 * policy that counts (counts_parked), in every cpupool:
 *
 *   domid=N wait_ns=N throttled_ns=N run_ns=N cap_pct=N windows=N,...,N
 *
 * (docs/xen.md).  A domain with no line has no counters: its scheduler
 * is Xen's own, or a policy that does not count.  The text is made at
 * the read's enter hook into the per-operation buffer hypfs gives
 * (hypfs_alloc_dyndata), so its size and its content agree within one
 * read.
 *
 * Domains are found on a list of our own, xs_doms, rather than on Xen's
 * domain list: a domain's scheduler data is freed when it moves to
 * another cpupool, which no lock we can take orders against.  Its lock is
 * taken with interrupts off before a domain's stats lock, and nothing is
 * taken inside that.
 */
static DEFINE_SPINLOCK(xs_doms_lock);
static LIST_HEAD(xs_doms);
static unsigned int xs_nr_doms;         /* on xs_doms */

static void xs_stats_publish(struct xs_sched *x, struct xs_dom *xd)
{
    unsigned long flags;

    INIT_LIST_HEAD(&xd->elem);
    if ( !x->s.ops->counts_parked || xd->d.id >= DOMID_FIRST_RESERVED )
        return;
    spin_lock_irqsave(&xs_doms_lock, flags);
    list_add_tail(&xd->elem, &xs_doms);
    xs_nr_doms++;
    spin_unlock_irqrestore(&xs_doms_lock, flags);
}

static void xs_stats_unpublish(struct xs_dom *xd)
{
    unsigned long flags;

    if ( list_empty(&xd->elem) )
        return;
    spin_lock_irqsave(&xs_doms_lock, flags);
    list_del_init(&xd->elem);
    xs_nr_doms--;
    spin_unlock_irqrestore(&xs_doms_lock, flags);
}

#ifdef CONFIG_HYPFS

/* Room for one line: 6 numbers and 12 window counts of 20 digits. */
#define XS_STATS_LINE_MAX   (96 + 6 * 20 + SCH_STATS_NR_BUCKETS * 21)
#define XS_STATS_SLACK      8   /* domains created while allocating */

struct xs_stats_text {
    unsigned int len;           /* with the NUL */
    char buf[];
};

static unsigned int xs_stats_line(char *p, unsigned int room,
                                  const struct xs_dom *xd,
                                  const struct sch_stats_snap *st)
{
    unsigned int n, i;

    n = snprintf(p, room, "domid=%u wait_ns=%lu throttled_ns=%lu "
                 "run_ns=%lu cap_pct=%u windows=", xd->d.id,
                 (unsigned long)st->wait_ns, (unsigned long)st->throttled_ns,
                 (unsigned long)st->run_ns, st->cap_pct);
    for ( i = 0; i < SCH_STATS_NR_BUCKETS; i++ )
        n += snprintf(p + n, room - n, "%s%lu", i ? "," : "",
                      (unsigned long)st->windows[i]);
    n += snprintf(p + n, room - n, "\n");
    return n;
}

static const struct hypfs_entry *cf_check
xs_hypfs_enter(const struct hypfs_entry *entry)
{
    struct xs_stats_text *t;
    struct xs_dom *xd;
    unsigned long flags;
    unsigned int cap, len = 0;

    for ( ; ; )
    {
        cap = (read_atomic(&xs_nr_doms) + XS_STATS_SLACK) *
              XS_STATS_LINE_MAX + 1;
        /* the function: the macro of that name takes a type */
        t = (hypfs_alloc_dyndata)(sizeof(*t) + cap);
        if ( !t )
            return ERR_PTR(-ENOMEM);
        spin_lock_irqsave(&xs_doms_lock, flags);
        if ( (xs_nr_doms + 1) * XS_STATS_LINE_MAX < cap )
            break;
        spin_unlock_irqrestore(&xs_doms_lock, flags);
        hypfs_free_dyndata();
    }
    list_for_each_entry ( xd, &xs_doms, elem )
    {
        struct sch_stats_snap st;

        sch_stats_read(&xd->d, NOW(), &st);
        len += xs_stats_line(t->buf + len, cap - len, xd, &st);
    }
    spin_unlock_irqrestore(&xs_doms_lock, flags);
    t->buf[len] = '\0';
    t->len = len + 1;
    return entry;
}

static void cf_check xs_hypfs_exit(const struct hypfs_entry *entry)
{
    hypfs_free_dyndata();
}

static unsigned int cf_check xs_hypfs_getsize(const struct hypfs_entry *entry)
{
    const struct xs_stats_text *t = hypfs_get_dyndata();

    return t->len;
}

static int cf_check xs_hypfs_read(const struct hypfs_entry *entry,
                                  XEN_GUEST_HANDLE_PARAM(void) uaddr)
{
    const struct xs_stats_text *t = hypfs_get_dyndata();

    return copy_to_guest(uaddr, t->buf, t->len) ? -EFAULT : 0;
}

static const struct hypfs_funcs xs_hypfs_funcs = {
    .enter = xs_hypfs_enter,
    .exit = xs_hypfs_exit,
    .read = xs_hypfs_read,
    .write = hypfs_write_deny,
    .getsize = xs_hypfs_getsize,
    .findentry = hypfs_leaf_findentry,
};

static HYPFS_DIR_INIT(xs_hypfs_dir, "xenos");
static HYPFS_VARSIZE_INIT(xs_hypfs_domains, XEN_HYPFS_TYPE_STRING, "domains",
                          0, &xs_hypfs_funcs);

static int __init cf_check xs_hypfs_init(void)
{
    /* hypfs wants content to add a leaf; ours is made at each read */
    hypfs_string_set_reference(&xs_hypfs_domains, "");
    hypfs_add_dir(&hypfs_root, &xs_hypfs_dir, true);
    hypfs_add_leaf(&xs_hypfs_dir, &xs_hypfs_domains, true);
    return 0;
}
__initcall(xs_hypfs_init);

#endif /* CONFIG_HYPFS */

static void *cf_check xs_alloc_domdata(const struct scheduler *ops,
                                       struct domain *d)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_dom *xd = xzalloc(struct xs_dom);

    if ( !xd )
        return ERR_PTR(-ENOMEM);
    xd->d.id = d->domain_id;
    xd->d.nr_units = d->max_vcpus;
    sch_stats_dom_init(&xd->d, NOW());
    xd->d.units = xzalloc_array(struct sch_unit *, d->max_vcpus ?: 1);
    if ( !xd->d.units )
        goto fail;
    if ( x->s.ops->alloc_domdata &&
         !(xd->d.priv = x->s.ops->alloc_domdata(&x->s, &xd->d)) )
        goto fail;
    xs_stats_publish(x, xd);
    return xd;

 fail:
    xfree(xd->d.units);
    xfree(xd);
    return ERR_PTR(-ENOMEM);
}

static void cf_check xs_free_domdata(const struct scheduler *ops, void *dd)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_dom *xd = dd;

    if ( !xd )
        return;
    xs_stats_unpublish(xd);
    if ( xd->d.priv && x->s.ops->free_domdata )
        x->s.ops->free_domdata(&x->s, xd->d.priv);
    xfree(xd->d.units);
    xfree(xd);
}

static void *cf_check xs_alloc_udata(const struct scheduler *ops,
                                     struct sched_unit *xu, void *dd)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_dom *xd = dd;
    struct xs_unit *xs = xzalloc(struct xs_unit);

    if ( !xs )
        return NULL;
    xs->xu = xu;
    xs->u.id = xu->unit_id;
    xs->u.is_idle = is_idle_unit(xu);
    /*
     * A domain moved in from another cpupool (sched_move_domain) has its
     * units made afresh, with no resource yet: Xen sets it, and calls
     * adjust_affinity, before insert_unit, which reads it (xs_sync).
     */
    xs->u.res = xu->res ? sched_unit_master(xu) : 0;
    if ( xs->u.is_idle )
    {
        sch_cpumask_set(&xs->u.hard_affinity, xs->u.res);
        sch_cpumask_set(&xs->u.soft_affinity, xs->u.res);
    }
    else
    {
        ASSERT(xd && xu->unit_id < xd->d.nr_units);
        xs->u.domain = &xd->d;
        xs_copy_mask(&xs->u.hard_affinity, xu->cpu_hard_affinity);
        xs_copy_mask(&xs->u.soft_affinity, xu->cpu_soft_affinity);
    }
    if ( x->s.ops->alloc_udata &&
         !(xs->u.priv = x->s.ops->alloc_udata(&x->s, &xs->u,
                                              xd ? xd->d.priv : NULL)) )
    {
        xfree(xs);
        return NULL;
    }
    if ( xd )
        xd->d.units[xu->unit_id] = &xs->u;
    return xs;
}

static void cf_check xs_free_udata(const struct scheduler *ops, void *ud)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_unit *xs = ud;

    if ( !xs )
        return;
    if ( xs->u.domain && xs->u.domain->units[xs->u.id] == &xs->u )
        xs->u.domain->units[xs->u.id] = NULL;
    if ( xs->u.priv && x->s.ops->free_udata )
        x->s.ops->free_udata(&x->s, xs->u.priv);
    xfree(xs);
}

/* ------------------------------------------------------------------ */
/* Unit events.                                                        */

/* The policy hears of a unit falling asleep once (see the top). */
static void xs_tell_sleep(struct xs_sched *x, struct xs_unit *xs,
                          s_time_t now)
{
    if ( !xs->awake )
        return;
    xs->awake = false;
    if ( x->s.ops->sleep )
        x->s.ops->sleep(&x->s, &xs->u, now);
}

static void cf_check xs_insert_unit(const struct scheduler *ops,
                                    struct sched_unit *xu)
{
    const struct sch_ops *pol = xs_pol(ops);
    unsigned long flags;
    spinlock_t *lock;

    if ( !pol->insert_unit )
        return;
    lock = unit_schedule_lock_irqsave(xu, &flags);
    pol->insert_unit(&xs_of(ops)->s, xs_sync(xs_unit(xu)));
    unit_schedule_unlock_irqrestore(lock, flags, xu);
}

static void cf_check xs_remove_unit(const struct scheduler *ops,
                                    struct sched_unit *xu)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_unit *xs = xs_unit(xu);
    unsigned long flags;
    spinlock_t *lock;
    struct sch_unit *u;

    lock = unit_schedule_lock_irqsave(xu, &flags);
    u = xs_sync(xs);
    /* Blocked, so maybe never told: the contract has it asleep by now. */
    xs_tell_sleep(x, xs, xs_now(x, u->res));
    if ( x->s.ops->remove_unit )
        x->s.ops->remove_unit(&x->s, u);
    /* Gone from this instance whatever Xen's flags say (a pool move). */
    u->runnable = false;
    sch_stats_sync(&x->s, u, xs_now(x, u->res));
    unit_schedule_unlock_irqrestore(lock, flags, xu);
}

static void cf_check xs_sleep(const struct scheduler *ops,
                              struct sched_unit *xu)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_unit *xs = xs_unit(xu);
    struct sch_unit *u = xs_sync(xs);
    s_time_t now = xs_now(x, u->res);

    xs_tell_sleep(x, xs, now);
    sch_stats_sync(&x->s, u, now);
}

static void cf_check xs_wake(const struct scheduler *ops,
                             struct sched_unit *xu)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_unit *xs = xs_unit(xu);
    struct sch_unit *u;
    s_time_t now;

    if ( xs->awake )
        return;
    xs->awake = true;
    u = xs_sync(xs);
    now = xs_now(x, u->res);
    if ( x->s.ops->wake )
        x->s.ops->wake(&x->s, u, now);
    sch_stats_sync(&x->s, u, now);
}

static void cf_check xs_yield(const struct scheduler *ops,
                              struct sched_unit *xu)
{
    struct xs_sched *x = xs_of(ops);
    struct sch_unit *u;

    if ( !x->s.ops->yield )
        return;
    u = xs_sync(xs_unit(xu));
    x->s.ops->yield(&x->s, u, xs_now(x, u->res));
}

static void cf_check xs_context_saved(const struct scheduler *ops,
                                      struct sched_unit *xu)
{
    struct xs_sched *x = xs_of(ops);
    unsigned long flags;
    spinlock_t *lock;
    struct sch_unit *u;

    if ( !x->s.ops->context_saved )
    {
        xs_unit(xu)->u.is_running = false;
        return;
    }
    lock = unit_schedule_lock_irqsave(xu, &flags);
    u = xs_sync(xs_unit(xu));
    x->s.ops->context_saved(&x->s, u, xs_now(x, u->res));
    unit_schedule_unlock_irqrestore(lock, flags, xu);
}

static void cf_check xs_do_schedule(const struct scheduler *ops,
                                    struct sched_unit *currunit, s_time_t now,
                                    bool tasklet_work_scheduled)
{
    struct xs_sched *x = xs_of(ops);
    unsigned int cpu = sched_get_resource_cpu(smp_processor_id());
    struct sch_unit *curr = xs_sync(xs_unit(currunit));
    struct sch_slice out;
    struct xs_unit *next;
    const s_time_t xen_now = now;   /* what the core stamps the switch with */

    now = xs_monotonic(x, cpu, now);
    if ( !curr->runnable )
        xs_tell_sleep(x, xs_unit(currunit), now);  /* vcpu_block() */
    x->s.ops->do_schedule(&x->s, curr, cpu, now, tasklet_work_scheduled,
                          &out);
    next = xs_of_unit(out.task);
    /* A stolen unit was moved by sch_unit_set_res() already. */
    ASSERT(next->u.res == cpu);
    /*
     * Xen switches to a vCPU of the unit only if the vCPU's new_state
     * says "running"; every Xen scheduler sets it, with this lock held,
     * by calling unit_runnable_state() on the unit it picks.  Without
     * that a vCPU keeps the new_state it was last given: "running" (0,
     * as it is allocated) if it never ran under another scheduler, but
     * "offline" if it last left a pCPU under one (Xen's credit2 switching
     * it out as sched_move_domain paused it).  Xen then took the unit as
     * current and ran the pCPU's idle vCPU instead: guests moved into a
     * pool made at run time never ran (docs/xen.md, "The live swap").
     */
    if ( !next->u.is_idle && !unit_runnable_state(next->xu) )
        printk_once(XENLOG_WARNING "xenos %s: pCPU %u picked %pv, which "
                    "cannot run\n", x->s.ops->opt_name, cpu,
                    next->xu->vcpu_list);
    if ( next != xs_unit(currunit) && !next->u.is_idle )
    {
        /* Its vCPUs' runstates are under this lock, as the core's
         * switch that reads them next (struct xs_clock). */
        struct xs_clock *c = &x->clock[cpu];
        struct vcpu *v;

        c->switches++;
        c->moves += out.migrated;
        for_each_sched_unit_vcpu ( next->xu, v )
            if ( v->runstate.state_entry_time > xen_now )
            {
                c->behind++;
                c->behind_ns += v->runstate.state_entry_time - xen_now;
                v->runstate.state_entry_time = xen_now;
            }
    }
    next->xu->migrated = out.migrated;
    next->u.is_running = true;
    x->s.res[cpu].curr = &next->u;
    /* The counters see the switch (sched/stats.c): both are on @cpu. */
    sch_stats_sync(&x->s, curr, now);
    sch_stats_sync(&x->s, &next->u, now);
    currunit->next_task = next->xu;
    currunit->next_time = out.time;
}

static struct sched_resource *cf_check
xs_pick_resource(const struct scheduler *ops, const struct sched_unit *xu)
{
    struct xs_unit *xs = xs_unit(xu);
    const struct cpupool *c = ops->cpupool;
    unsigned int cpu = xs_pol(ops)->pick_resource(&xs_of(ops)->s,
                                                  xs_sync(xs));

    /*
     * Xen asks again, for ever and with the unit's locks held, until the
     * answer is a pCPU of the pool (sched_unit_migrate_finish): a policy
     * that names one leaving it would hang the host.  It must not
     * (tests/test_live_swap.c); if it does, say so once and answer within
     * the pool.
     */
    if ( c && (cpu >= nr_cpu_ids || !cpumask_test_cpu(cpu, c->cpu_valid)) )
    {
        cpumask_t *m = cpumask_scratch_cpu(xs->u.res);   /* its lock held */

        printk_once(XENLOG_WARNING "xenos %s: pick_resource named pCPU %u, "
                    "not in the pool\n", xs_pol(ops)->opt_name, cpu);
        cpumask_and(m, xu->cpu_hard_affinity, c->cpu_valid);
        if ( cpumask_empty(m) )
            cpumask_copy(m, c->cpu_valid);
        cpu = cpumask_cycle(xs->u.res, m);
    }
    return get_sched_res(cpu);
}

static void cf_check xs_migrate(const struct scheduler *ops,
                                struct sched_unit *xu, unsigned int new_cpu)
{
    const struct sch_ops *pol = xs_pol(ops);
    struct sch_unit *u = xs_sync(xs_unit(xu));

    if ( pol->migrate )
        pol->migrate(&xs_of(ops)->s, u, new_cpu);
    else
        sch_unit_set_res(u, new_cpu);
}

static void cf_check xs_adjust_affinity(const struct scheduler *ops,
                                        struct sched_unit *xu,
                                        const cpumask_t *hard,
                                        const cpumask_t *soft)
{
    struct xs_unit *xs = xs_unit(xu);

    (void)ops;
    if ( hard )
        xs_copy_mask(&xs->u.hard_affinity, hard);
    if ( soft )
        xs_copy_mask(&xs->u.soft_affinity, soft);
}

/* ------------------------------------------------------------------ */
/* Control: the credit scheduler's domctl and sysctl payloads.         */

/*
 * As credit1: a weight of 0 and a cap of 0xffff leave the field as it is
 * (libxl's "default"); the policy checks ranges.  A policy with no per-
 * domain parameters (rr) reads as the defaults and refuses a change.
 */
static int cf_check xs_adjust(const struct scheduler *ops, struct domain *d,
                              struct xen_domctl_scheduler_op *op)
{
    struct xs_sched *x = xs_of(ops);
    struct xs_dom *xd = d->sched_priv;
    struct sch_dom_params p = { 0 };
    int rc;

    switch ( op->cmd )
    {
    case XEN_DOMCTL_SCHEDOP_getinfo:
        p.cmd = SCH_PARAM_GET;
        p.weight = SCH_WEIGHT_DEFAULT;
        if ( x->s.ops->adjust &&
             (rc = x->s.ops->adjust(&x->s, &xd->d, &p, NOW())) )
            return rc;
        op->u.credit.weight = p.weight;
        op->u.credit.cap = p.cap_pct;
        return 0;

    case XEN_DOMCTL_SCHEDOP_putinfo:
        if ( !x->s.ops->adjust )
            return -EOPNOTSUPP;
        p.cmd = SCH_PARAM_PUT;
        p.weight = op->u.credit.weight ? op->u.credit.weight
                                       : SCH_PARAM_UNCHANGED;
        p.cap_pct = op->u.credit.cap != (uint16_t)~0U ? op->u.credit.cap
                                                       : SCH_PARAM_UNCHANGED;
        return x->s.ops->adjust(&x->s, &xd->d, &p, NOW());
    }
    return -EINVAL;
}

/* tslice_ms and ratelimit_us map onto the policy's; the migration delay
 * has no counterpart and reads as 0. */
static int cf_check xs_adjust_global(const struct scheduler *ops,
                                     struct xen_sysctl_scheduler_op *op)
{
    struct xs_sched *x = xs_of(ops);
    struct xen_sysctl_credit_schedule *c = &op->u.sched_credit;
    struct sch_global_params p = { 0 };
    int rc;

    if ( !x->s.ops->adjust_global )
        return op->cmd == XEN_SYSCTL_SCHEDOP_getinfo ? 0 : -EOPNOTSUPP;
    switch ( op->cmd )
    {
    case XEN_SYSCTL_SCHEDOP_getinfo:
        p.cmd = SCH_PARAM_GET;
        if ( (rc = x->s.ops->adjust_global(&x->s, &p)) )
            return rc;
        c->tslice_ms = p.tslice_us / 1000;
        c->ratelimit_us = p.ratelimit_us;
        c->vcpu_migr_delay_us = 0;
        return 0;

    case XEN_SYSCTL_SCHEDOP_putinfo:
        if ( c->tslice_ms > XEN_SYSCTL_CSCHED_TSLICE_MAX ||
             c->tslice_ms < XEN_SYSCTL_CSCHED_TSLICE_MIN )
            return -EINVAL;
        p.cmd = SCH_PARAM_PUT;
        p.tslice_us = c->tslice_ms * 1000;
        p.ratelimit_us = c->ratelimit_us;
        p.period_us = SCH_PARAM_UNCHANGED;
        p.boost = SCH_PARAM_UNCHANGED;
        p.latency_us = SCH_PARAM_UNCHANGED;
        p.runq_cpus = SCH_PARAM_UNCHANGED;
        return x->s.ops->adjust_global(&x->s, &p);
    }
    return -EINVAL;
}

/*
 * Xen's debug key 'r' (`xl debug-keys r; xl dmesg`).  Besides the
 * policy's own dumps, what the adapter holds of each unit of the pool
 * beside Xen's flags for it, and per pCPU the unit Xen counts as current
 * beside the one the policy picked (Xen's own line before it names the
 * vCPU the pCPU runs), so that where Xen and the policy part shows.
 */
static void xs_dump_unit(struct xs_sched *x, struct sched_unit *xu)
{
    struct xs_unit *xs = xs_unit(xu);
    const struct vcpu *v = xu->vcpu_list;
    unsigned long flags;
    spinlock_t *lock;

    lock = unit_schedule_lock_irqsave(xu, &flags);
    printk("  %pv: cpu %u (ours %u), awake %d, runnable %d (ours %d), "
           "running %d (ours %d), pause_flags %#lx, pause_count %d/%d, "
           "runstate %d, hard %*pbl\n", v, sched_unit_master(xu),
           xs->u.res, xs->awake, unit_runnable(xu), xs->u.runnable,
           xu->is_running, xs->u.is_running, v->pause_flags,
           atomic_read(&v->pause_count), atomic_read(&v->domain->pause_count),
           v->runstate.state, CPUMASK_PR(xu->cpu_hard_affinity));
    if ( x->s.ops->dump_unit )
        x->s.ops->dump_unit(&x->s, &xs->u);
    unit_schedule_unlock_irqrestore(lock, flags, xu);
}

static void cf_check xs_dump_settings(const struct scheduler *ops)
{
    struct xs_sched *x = xs_of(ops);
    struct sched_unit *xu;
    struct domain *d;

    printk("xenos policy %s (%s), cpus %*pbl\n", x->s.ops->name,
           x->s.ops->opt_name, nr_cpu_ids,
           (const unsigned long *)x->s.cpus.bits);
    if ( x->s.ops->dump_settings )
        x->s.ops->dump_settings(&x->s);
    if ( !ops->cpupool )
        return;
    rcu_read_lock(&domlist_read_lock);
    for_each_domain_in_cpupool ( d, ops->cpupool )
        for_each_sched_unit ( d, xu )
            if ( xu->priv )
                xs_dump_unit(x, xu);
    rcu_read_unlock(&domlist_read_lock);
}

static void cf_check xs_dump_cpu_state(const struct scheduler *ops, int cpu)
{
    struct xs_sched *x = xs_of(ops);
    const struct sched_resource *sr = get_sched_res(cpu);
    struct sch_unit *curr = x->s.res[cpu].curr;

    printk("  cpu %d: Xen's current unit %pv, the policy's %pv, "
           "lock ours %d, schedule softirq pending %d\n", cpu,
           sr->curr ? sr->curr->vcpu_list : NULL,
           curr ? xs_of_unit(curr)->xu->vcpu_list : NULL,
           sr->schedule_lock == x->locks[cpu].xl,
           test_bit(SCHEDULE_SOFTIRQ, &softirq_pending(cpu)));
    /* dom0-test's sched_clock reads this line: keep its words. */
    printk("  cpu %d: switches %lu, moved in %lu, clock behind the unit's "
           "stamp %lu times, by %"PRI_stime" ns in all (mended)\n", cpu,
           x->clock[cpu].switches, x->clock[cpu].moves, x->clock[cpu].behind,
           x->clock[cpu].behind_ns);
    if ( x->s.ops->dump_cpu_state )
        x->s.ops->dump_cpu_state(&x->s, cpu);
}

/* ------------------------------------------------------------------ */
/* Registration: one Xen scheduler per policy.                         */

/*
 * Every policy of policies.def becomes a Xen scheduler of the same name,
 * but for a name one of Xen's own schedulers has (credit, credit2): ours
 * gets an "x" in front ("xcredit", "xcredit2"), so that `sched=credit2`
 * still means Xen's.  The names are filled in by global_init, which Xen
 * calls before it looks a scheduler up by name; Xen copies the table per
 * cpupool and calls init on the copy, which is how init learns which
 * policy it runs.
 */
static const char *__init xs_opt_name(const char *opt)
{
    static const struct {
        const char *xen, *ours;
    } taken[] = {
        { "credit", "xcredit" },
        { "credit2", "xcredit2" },
        { "null", "xnull" },
        { "rtds", "xrtds" },
        { "arinc653", "xarinc653" },
    };
    unsigned int i;

    for ( i = 0; i < ARRAY_SIZE(taken); i++ )
        if ( !strcmp(opt, taken[i].xen) )
            return taken[i].ours;
    return opt;
}

#define XS_SCHEDULER(pol)                                               \
    static struct scheduler xs_sched_##pol;                             \
    static int cf_check xs_init_##pol(struct scheduler *ops)            \
    {                                                                   \
        return xs_init(ops, &sch_ops_##pol);                            \
    }                                                                   \
    static int cf_check __init xs_global_init_##pol(void)              \
    {                                                                   \
        xs_sched_##pol.name = sch_ops_##pol.name;                       \
        xs_sched_##pol.opt_name = xs_opt_name(sch_ops_##pol.opt_name);  \
        return 0;                                                       \
    }                                                                   \
    static struct scheduler xs_sched_##pol = {                          \
        .name           = "xenos " #pol,                                \
        .opt_name       = #pol,                                         \
        .sched_id       = XEN_SCHEDULER_CREDIT,                         \
        .global_init    = xs_global_init_##pol,                         \
        .init           = xs_init_##pol,                                \
        .deinit         = xs_deinit,                                    \
        .alloc_pdata    = xs_alloc_pdata,                               \
        .free_pdata     = xs_free_pdata,                                \
        .deinit_pdata   = xs_deinit_pdata,                              \
        .cpu_leaving    = xs_cpu_leaving,                               \
        .switch_sched   = xs_switch_sched,                              \
        .alloc_domdata  = xs_alloc_domdata,                             \
        .free_domdata   = xs_free_domdata,                              \
        .alloc_udata    = xs_alloc_udata,                               \
        .free_udata     = xs_free_udata,                                \
        .insert_unit    = xs_insert_unit,                               \
        .remove_unit    = xs_remove_unit,                               \
        .sleep          = xs_sleep,                                     \
        .wake           = xs_wake,                                      \
        .yield          = xs_yield,                                     \
        .context_saved  = xs_context_saved,                             \
        .do_schedule    = xs_do_schedule,                               \
        .pick_resource  = xs_pick_resource,                             \
        .migrate        = xs_migrate,                                   \
        .adjust         = xs_adjust,                                    \
        .adjust_affinity = xs_adjust_affinity,                          \
        .adjust_global  = xs_adjust_global,                             \
        .dump_settings  = xs_dump_settings,                             \
        .dump_cpu_state = xs_dump_cpu_state,                            \
    };                                                                  \
    REGISTER_SCHEDULER(xs_sched_##pol)

#define SCH_POLICY(name) XS_SCHEDULER(name)
#include <xenos/policies.def>
#undef SCH_POLICY

/*
 * Local variables:
 * mode: C
 * c-file-style: "BSD"
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
