/*
 * sim.c: the discrete-event engine that hosts a policy.
 *
 * Design: time jumps from event to event.  The queue (evq.c) holds events
 * embedded in their owners, ordered by (time, seq); seq grows with every
 * insertion, so events due at the same time run in the order they were
 * queued and a run depends only on scenario, policy and seed.
 *
 * The host plays Xen's part around the policy: a vCPU that runs consumes
 * its workload's CPU burst; when the burst ends the vCPU blocks (sleep
 * hook, then its pCPU reschedules at once, as a blocking vCPU does in
 * Xen); a wall-clock event wakes it again (wake hook).  A pCPU reschedules
 * when kicked or when the slice do_schedule returned runs out.  Switching
 * to another unit costs context_switch_ns, charged to the incoming unit
 * (its work starts after it), as Xen's runstate accounting would.
 *
 * Measurements: CPU time per domain and per 100 ms window, wake-to-run
 * latency (wake until the pCPU switches to it), request response times,
 * context switches; and, computed by sim_result from what the run
 * recorded (entitle.c), what each domain was entitled to.
 *
 * Lifecycle: a domain's creation, reboots and end (migration or
 * destruction) are SIM_K_LIFE events of its own.  Domains created at time
 * 0 are set up by sim_alloc itself, hook by hook in the order the engine
 * has always used, so a scenario without lifecycle keys runs exactly as it
 * did before they existed.  Destroying a domain plays Xen's part: its
 * vCPUs are paused (sleep), each one still on a pCPU is switched out there
 * and then (do_schedule, context_saved), and only then are they removed
 * and their policy data freed.  The host-side counters (I/O, network) are
 * derived from the workloads, so they are as deterministic as the rest.
 *
 * Re-pins: the domains' run-time affinity changes, sorted by time, are
 * served by one SIM_K_PIN event, queued only if there are any.  A vCPU
 * whose pCPU is no longer allowed is moved as Xen moves it (vcpu_migrate),
 * which is the one path on which the host calls pick_resource and
 * migrate.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evq.h"

/* ------------------------------------------------------------------ */
/* Measurements                                                       */

static unsigned int hist_bucket(sch_time_t v)
{
    unsigned int k, shift;

    if ( v < (sch_time_t)SIM_HIST_LINEAR )
        return (unsigned int)(v < 0 ? 0 : v);
    k = 63 - (unsigned int)__builtin_clzll((unsigned long long)v);
    shift = k - 7;
    return SIM_HIST_LINEAR + (k - 8) * SIM_HIST_SUB +
           (unsigned int)(((unsigned long long)v >> shift) - SIM_HIST_SUB);
}

/* Largest value that falls in bucket @b. */
static sch_time_t hist_bucket_top(unsigned int b)
{
    unsigned int k, sub;

    if ( b < SIM_HIST_LINEAR )
        return b;
    k = (b - SIM_HIST_LINEAR) / SIM_HIST_SUB + 8;
    sub = (b - SIM_HIST_LINEAR) % SIM_HIST_SUB + SIM_HIST_SUB;
    return (sch_time_t)((((unsigned long long)sub + 1) << (k - 7)) - 1);
}

/* @h's group for bucket @b, allocated now: NULL if out of memory. */
static __attribute__((noinline, cold)) uint32_t *
hist_group(struct sim_hist *h, unsigned int b)
{
    if ( !h->grp &&
         !(h->grp = calloc(SIM_HIST_GROUPS, sizeof(*h->grp))) )
        return NULL;
    if ( !h->grp[b / SIM_HIST_SUB] )
        h->grp[b / SIM_HIST_SUB] = calloc(SIM_HIST_SUB, sizeof(uint32_t));
    return h->grp[b / SIM_HIST_SUB];
}

static void hist_add(struct sim_hist *h, sch_time_t v)
{
    unsigned int b = hist_bucket(v);
    uint32_t *g = h->grp ? h->grp[b / SIM_HIST_SUB] : NULL;

    if ( !g && !(g = hist_group(h, b)) )
        return;         /* measured as missing, never as wrong */
    g[b % SIM_HIST_SUB]++;
    h->n++;
    if ( v > h->max )
        h->max = v;
}

/*
 * Count @v in @h, soon: values are counted in batches.  A histogram's
 * buckets are scattered over memory, so counting a value at once nearly
 * always waited for a cache miss; a batch of increments, independent of
 * each other, has the processor wait for many misses at a time.  The
 * counts are the same in any order; sim_result counts what is left.
 */
static void hist_flush(struct sim *sim)
{
    unsigned int i;

    for ( i = 0; i < sim->hist_batched; i++ )
        hist_add(sim->hist_batch[i].h, sim->hist_batch[i].v);
    sim->hist_batched = 0;
}

static void hist_record(struct sim *sim, struct sim_hist *h, sch_time_t v)
{
    sim->hist_batch[sim->hist_batched++] = (struct sim_hist_rec){ h, v };
    if ( sim->hist_batched == SIM_HIST_BATCH )
        hist_flush(sim);
}

static void hist_free(struct sim_hist *h)
{
    unsigned int i;

    for ( i = 0; h->grp && i < SIM_HIST_GROUPS; i++ )
        free(h->grp[i]);
    free(h->grp);
}

/* Smallest bucket top at or above the @q quantile, capped at the max. */
static sch_time_t hist_quantile(const struct sim_hist *h, double q)
{
    uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;
    unsigned int b;

    if ( want == 0 )
        want = 1;
    for ( b = 0; b < SIM_HIST_BUCKETS; b++ )
    {
        const uint32_t *g = h->grp[b / SIM_HIST_SUB];

        if ( !g )
        {
            b += SIM_HIST_SUB - 1;      /* a group never used: all 0 */
            continue;
        }
        seen += g[b % SIM_HIST_SUB];
        if ( seen >= want )
        {
            sch_time_t top = hist_bucket_top(b);

            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}

static void hist_percentiles(const struct sim_hist *h,
                             struct sim_percentiles *p)
{
    memset(p, 0, sizeof(*p));
    if ( !h->grp || h->n == 0 )
        return;
    p->count = h->n;
    p->p50 = hist_quantile(h, 0.50);
    p->p99 = hist_quantile(h, 0.99);
    p->p999 = hist_quantile(h, 0.999);
    p->max = h->max;
}

static int windows_grow(struct sim *sim, unsigned int need)
{
    size_t nd = sim->sc->nr_domains ? sim->sc->nr_domains : 1;
    unsigned int cap = sim->win_cap;
    sch_time_t *w;

    while ( cap < need )
        cap = cap ? cap * 2 : 64;
    w = realloc(sim->window_cpu, nd * cap * sizeof(*w));
    if ( !w )
        return -ENOMEM;
    memset(&w[nd * sim->win_cap], 0, nd * (cap - sim->win_cap) * sizeof(*w));
    sim->window_cpu = w;
    sim->win_cap = cap;
    sim->win_lo = sim->win_hi = 0;      /* win_row moved */
    return 0;
}

/* charge()'s windows, the long way: [@from, @to) split over as many as it
 * spans; then the one @to ends in is the window charged last. */
static __attribute__((noinline)) void charge_windows(struct sim *sim,
                                                     size_t d,
                                                     sch_time_t from,
                                                     sch_time_t to)
{
    size_t nd = sim->sc->nr_domains;
    unsigned int w;

    while ( from < to )
    {
        sch_time_t end;

        w = (unsigned int)(from / SIM_WINDOW_NS);
        end = (sch_time_t)(w + 1) * SIM_WINDOW_NS;
        if ( end > to )
            end = to;
        if ( w >= sim->win_cap && windows_grow(sim, w + 1) )
            return;     /* totals stay right; only windows are lost */
        sim->window_cpu[w * nd + d] += end - from;
        if ( w + 1 > sim->win_used )
            sim->win_used = w + 1;
        from = end;
    }
    w = (unsigned int)((to - 1) / SIM_WINDOW_NS);
    sim->win_lo = (sch_time_t)w * SIM_WINDOW_NS;
    sim->win_hi = sim->win_lo + SIM_WINDOW_NS;
    sim->win_row = &sim->window_cpu[w * nd];
}

/* Charge [@from, @to) of pCPU time to @v and its domain, split over
 * windows. */
static void charge(struct sim *sim, struct sim_vcpu *v, sch_time_t from,
                   sch_time_t to)
{
    struct sim_dom *d = v->dom;

    if ( to <= from )
        return;
    d->cpu_ns += to - from;
    v->ns += (uint64_t)(to - from);
    if ( from >= sim->win_lo && to <= sim->win_hi )
        sim->win_row[d - sim->doms] += to - from;
    else
        charge_windows(sim, (size_t)(d - sim->doms), from, to);
}

/* ------------------------------------------------------------------ */
/* Workloads                                                          */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static sch_time_t rng_below(uint64_t *s, sch_time_t n)
{
    return n > 0 ? (sch_time_t)(rng_next(s) % (uint64_t)n) : 0;
}

/* Exponential inter-arrival time for @rate_hz, at least 1 ns. */
static sch_time_t rng_exp_ns(uint64_t *s, double rate_hz)
{
    double u = ((double)(rng_next(s) >> 11) + 0.5) * 0x1.0p-53;
    double ns = -log(u) / rate_hz * 1e9;

    return ns < 1.0 ? 1 : (sch_time_t)ns;
}

/* Host-side counters of a finished burst (see sim.h). */
static void count_io(struct sim_dom *d)
{
    d->ios++;
}

/* @d's VBD counters, this incarnation: its requests alternate between
 * reads and writes, a read first. */
static struct sim_vbd_stats dom_vbd(const struct sim_dom *d)
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

static void count_request(struct sim_dom *d)
{
    d->vif.rx_pkts += SIM_RX_PKTS;
    d->vif.rx_bytes += SIM_RX_BYTES;
    d->vif.tx_pkts += SIM_TX_PKTS;
    d->vif.tx_bytes += SIM_TX_BYTES;
}

static const struct sim_workload *wl(const struct sim_vcpu *v)
{
    return v->wl;
}

static struct sch_lock *unit_lock(struct sim *sim, const struct sch_unit *u)
{
    return sim->res[u->res].lock;
}

/*
 * vcpu_wake, vcpu_block and next_burst are forced inline: one of them runs
 * at nearly every event, and as calls (GCC would not inline them, having
 * several callers) they cost 7 instructions an event on bench-64.
 */
static inline __attribute__((always_inline)) void
vcpu_wake(struct sim *sim, struct sim_vcpu *v)
{
    struct sch_lock *lock = unit_lock(sim, &v->unit);

    SCH_ASSERT(!v->unit.runnable);
    v->unit.runnable = true;
    v->woke_at = v->wait_since = sim->now;
    sch_spin_lock(lock);
    sim->s.ops->wake(&sim->s, &v->unit, sim->now);
    sch_spin_unlock(lock);
}

/* The running @v ran out of work: it blocks, and its pCPU reschedules. */
static inline __attribute__((always_inline)) void
vcpu_block(struct sim *sim, struct sim_vcpu *v)
{
    struct sch_lock *lock = unit_lock(sim, &v->unit);
    unsigned int cpu = v->unit.res;

    v->unit.runnable = false;
    sch_spin_lock(lock);
    if ( sim->s.ops->sleep )
        sim->s.ops->sleep(&sim->s, &v->unit, sim->now);
    sch_spin_unlock(lock);
    if ( v->unit.is_running )
        sch_kick(&sim->s, cpu);
}

/* Work of the next burst, when the vCPU becomes runnable. */
static inline __attribute__((always_inline)) void
next_burst(struct sim *sim, struct sim_vcpu *v)
{
    const struct sim_workload *w = wl(v);

    (void)sim;
    switch ( w->type )
    {
    case SIM_WL_CPU:
    case SIM_WL_BURSTY:
        v->work_left = SCH_TIME_MAX;
        break;
    case SIM_WL_IO:
        v->work_left = w->run_ns;
        break;
    case SIM_WL_TRACE:
        v->work_left = w->trace[v->trace_pos];
        break;
    case SIM_WL_REQUEST:
        v->work_left = w->service_ns;
        break;
    }
}

/* SIM_K_WORK: the running vCPU's burst is done. */
static void on_work(struct sim *sim, struct sim_vcpu *v)
{
    const struct sim_workload *w = wl(v);
    sch_time_t block_ns = 0;

    v->work_left = 0;
    switch ( w->type )
    {
    case SIM_WL_IO:
        count_io(v->dom);
        block_ns = w->block_ns;
        break;
    case SIM_WL_TRACE:
        count_io(v->dom);
        block_ns = w->trace[v->trace_pos + 1];
        v->trace_pos = (v->trace_pos + 2) % w->trace_len;
        break;
    case SIM_WL_REQUEST:
        count_request(v->dom);
        hist_record(sim, &v->dom->response,
                    sim->now - v->req[v->req_head]);
        v->req_head = (v->req_head + 1) % v->req_cap;
        if ( --v->req_len > 0 )
        {
            /* Next queued request: keep running, no block. */
            next_burst(sim, v);
            v->run_start = sim->now;
            sim__ev_set(sim, &v->work, sim->now + v->work_left);
            return;
        }
        vcpu_block(sim, v);
        return;
    case SIM_WL_CPU:
    case SIM_WL_BURSTY:
        SCH_ASSERT(0);
    }
    vcpu_block(sim, v);
    sim__ev_set(sim, &v->wall, sim->now + block_ns);
}

static int req_push(struct sim_vcpu *v, sch_time_t t)
{
    if ( v->req_len == v->req_cap )
    {
        size_t cap = v->req_cap ? v->req_cap * 2 : 16, i;
        sch_time_t *q = malloc(cap * sizeof(*q));

        if ( !q )
            return -ENOMEM;
        for ( i = 0; i < v->req_len; i++ )
            q[i] = v->req[(v->req_head + i) % v->req_cap];
        free(v->req);
        v->req = q;
        v->req_head = 0;
        v->req_cap = cap;
    }
    v->req[(v->req_head + v->req_len++) % v->req_cap] = t;
    return 0;
}

/* SIM_K_WALL: a blocked vCPU's time is up, a phase turns, a request comes. */
static void on_wall(struct sim *sim, struct sim_vcpu *v)
{
    const struct sim_workload *w = wl(v);

    switch ( w->type )
    {
    case SIM_WL_CPU:
    case SIM_WL_IO:
    case SIM_WL_TRACE:
        next_burst(sim, v);
        vcpu_wake(sim, v);
        break;
    case SIM_WL_BURSTY:
        v->on = !v->on;
        sim__ev_set(sim, &v->wall, sim->now + (v->on ? w->on_ns : w->off_ns));
        if ( v->on )
        {
            next_burst(sim, v);
            vcpu_wake(sim, v);
        }
        else
            vcpu_block(sim, v);
        break;
    case SIM_WL_REQUEST:
        sim__ev_set(sim, &v->wall, sim->now + rng_exp_ns(&v->rng, w->rate_hz));
        if ( req_push(v, sim->now) )
            break;      /* out of memory: the request is dropped */
        v->dom->requests++;
        if ( v->req_len == 1 )
        {
            next_burst(sim, v);
            vcpu_wake(sim, v);
        }
        break;
    }
}

/* ------------------------------------------------------------------ */
/* pCPUs                                                              */

static struct sim_vcpu *vcpu_of(struct sch_unit *u)
{
    return u->is_idle ? NULL : sch_container_of(u, struct sim_vcpu, unit);
}

/*
 * Stop the clock on what @cpu runs: charge it and bank its work done.  Its
 * work event stays queued: on_cpu takes it out if the vCPU stops running,
 * and if it goes on, setting it again at the very same time is cheaper
 * than queueing it anew (evq.c's stays()); the outcome is the same, as
 * its seq is taken when it is set again either way.
 */
static void cpu_settle(struct sim *sim, unsigned int cpu)
{
    struct sim_cpu *c = &sim->cpus[cpu];
    struct sim_vcpu *v = vcpu_of(sim->res[cpu].curr);

    if ( v )
    {
        charge(sim, v, c->since, sim->now);
        if ( v->work.pos != SIM_EV_IDLE && sim->now > v->run_start )
            v->work_left -= sim->now - v->run_start;
        v->run_start = sim->now;
    }
    c->since = sim->now;
}

/* Let @v's work progress on its pCPU from @from. */
static void vcpu_start(struct sim *sim, struct sim_vcpu *v, sch_time_t from)
{
    v->run_start = from;
    if ( v->work_left != SCH_TIME_MAX && v->unit.runnable )
        sim__ev_set(sim, &v->work, from + v->work_left);
}

static void on_cpu(struct sim *sim, unsigned int cpu)
{
    struct sch_resource *r = &sim->res[cpu];
    struct sim_cpu *c = &sim->cpus[cpu];
    struct sch_unit *prev = r->curr, *next;
    struct sim_vcpu *nv;
    struct sch_slice out = { NULL, -1, false };

    cpu_settle(sim, cpu);
    sch_spin_lock(r->lock);
    sim->s.ops->do_schedule(&sim->s, prev, cpu, sim->now, false, &out);
    sch_spin_unlock(r->lock);

    next = out.task;
    SCH_ASSERT(next != NULL);
    SCH_ASSERT(next->is_idle ? next == r->idle
                             : next->runnable && next->res == cpu &&
                               sch_cpumask_test(&next->hard_affinity, cpu));
    SCH_ASSERT(next == prev || !next->is_running);
    SCH_ASSERT(out.time != 0);

    if ( next != prev )
    {
        struct sim_vcpu *pv = vcpu_of(prev);

        prev->is_running = false;
        if ( pv )
        {
            pv->wait_since = sim->now;     /* preempted: waits from now */
            if ( pv->work.pos != SIM_EV_IDLE )
                sim__ev_cancel(sim, &pv->work);
        }
        next->is_running = true;
        r->curr = next;
        nv = vcpu_of(next);
        c->busy_until = sim->now;
        if ( nv )
        {
            nv->dom->switches++;
            c->busy_until = sim->now + sim->sc->context_switch_ns;
        }
        if ( pv && sim->s.ops->context_saved )
        {
            struct sch_lock *lock = unit_lock(sim, prev);

            sch_spin_lock(lock);
            sim->s.ops->context_saved(&sim->s, prev, sim->now);
            sch_spin_unlock(lock);
        }
    }
    nv = vcpu_of(next);
    if ( nv )
    {
        if ( nv->woke_at >= 0 )
        {
            hist_record(sim, &nv->dom->wake_lat, sim->now - nv->woke_at);
            nv->woke_at = -1;
        }
        vcpu_start(sim, nv, c->busy_until > sim->now ? c->busy_until
                                                     : sim->now);
    }
    if ( out.time > 0 )
        sim__ev_set(sim, &c->ev, sim->now + out.time);
    else
        sim__ev_cancel(sim, &c->ev);
}

/* ------------------------------------------------------------------ */
/* Domain lifecycle                                                   */

/* The hard affinity in force for @d's uuid: the last re-pin's, if any. */
static const struct sch_cpumask *dom_affinity(const struct sim_dom *d)
{
    return d->pin_last < 0 ? &d->spec->affinity
                           : &d->spec->repin[d->pin_last].affinity;
}

/*
 * Policy data for a new incarnation of @d with the next domid, its vCPUs
 * placed round robin over the pCPUs they may use, as Xen places new
 * vCPUs.  On failure (-ENOMEM) nothing of the incarnation is left and no
 * domid is used up.
 */
static int dom_alloc(struct sim *sim, struct sim_dom *d)
{
    const struct sch_ops *ops = sim->s.ops;
    const struct sim_domain_spec *spec = d->spec;
    unsigned int j;

    d->dom.id = sim->next_domid;
    if ( ops->alloc_domdata &&
         !(d->dom.priv = ops->alloc_domdata(&sim->s, &d->dom)) )
        return -ENOMEM;
    for ( j = 0; j < spec->vcpus; j++ )
    {
        struct sch_unit *u = &d->vcpus[j].unit;
        struct sch_cpumask aff;

        sch_cpumask_and(&aff, dom_affinity(d), &sim->s.cpus);
        u->hard_affinity = aff;
        u->soft_affinity = aff;
        sim->next_cpu = sch_cpumask_cycle(&aff, sim->next_cpu);
        u->res = sim->next_cpu;
        if ( ops->alloc_udata &&
             !(u->priv = ops->alloc_udata(&sim->s, u, d->dom.priv)) )
            goto out_free;
    }
    sim->next_domid++;
    return 0;

 out_free:
    while ( j-- > 0 )
    {
        if ( ops->free_udata )
            ops->free_udata(&sim->s, d->vcpus[j].unit.priv);
        d->vcpus[j].unit.priv = NULL;
    }
    if ( d->dom.priv && ops->free_domdata )
        ops->free_domdata(&sim->s, d->dom.priv);
    d->dom.priv = NULL;
    return -ENOMEM;
}

/* The weight and cap in force for @d's uuid, to the policy: 0 or
 * -EINVAL if it refuses them. */
static int dom_adjust(struct sim *sim, struct sim_dom *d)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sch_dom_params p = {
        .cmd = SCH_PARAM_PUT,
        .weight = d->weight,
        .cap_pct = d->cap_pct,
    };

    if ( !ops->adjust )
        return 0;       /* e.g. rr: weight and cap mean nothing to it */
    return ops->adjust(&sim->s, &d->dom, &p, sim->now) ? -EINVAL : 0;
}

/*
 * The new incarnation's vCPUs join the policy and take their workload's
 * first step; its counters start from 0.  Needs dom_alloc first.
 */
static void dom_start(struct sim *sim, struct sim_dom *d)
{
    const struct sim_workload *w = &d->spec->workload;
    unsigned int j;

    for ( j = 0; j < d->spec->vcpus; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];
        struct sch_lock *lock = unit_lock(sim, &v->unit);
        sch_time_t first = 0;

        /* A rebooted OS starts its work afresh; the random stream goes
         * on, so no two incarnations replay the same arrivals. */
        v->work_left = 0;
        v->ns = 0;
        v->woke_at = -1;
        v->trace_pos = 0;
        v->on = false;
        v->req_head = v->req_len = 0;
        if ( sim->s.ops->insert_unit )
        {
            sch_spin_lock(lock);
            sim->s.ops->insert_unit(&sim->s, &v->unit);
            sch_spin_unlock(lock);
        }
        /* Spread the phases, so equal vCPUs do not move in lockstep. */
        switch ( w->type )
        {
        case SIM_WL_CPU:
        case SIM_WL_TRACE:
            break;
        case SIM_WL_IO:
            first = rng_below(&v->rng, w->block_ns);
            break;
        case SIM_WL_BURSTY:
            /* wall event turns the phase on */
            first = w->phase_set ? w->phase_ns
                                 : rng_below(&v->rng, w->off_ns);
            /* The phases of this life follow from it (entitle.c). */
            d->phase0[(size_t)d->nr_inc * d->spec->vcpus + j] = first;
            break;
        case SIM_WL_REQUEST:
            first = rng_exp_ns(&v->rng, w->rate_hz);
            break;
        }
        sim__ev_set(sim, &v->wall, sim->now + first);
    }
    d->life = SIM_LIFE_ALIVE;
    d->boot_cpu_ns = d->cpu_ns;
    d->ios = 0;
    memset(&d->vif, 0, sizeof(d->vif));
    d->vif.id = SIM_VIF_ID;
    SCH_ASSERT(d->nr_inc < 1 + d->spec->nr_reboots);
    d->inc[d->nr_inc++] = (struct sim_incarnation){
        .domid = d->dom.id,
        .created_ns = sim->now,
        .ended_ns = -1,
        .end = SIM_END_NONE,
    };
}

static void dom_create(struct sim *sim, struct sim_dom *d)
{
    int rc = dom_alloc(sim, d);

    if ( rc )
    {
        /* A host out of memory fails the domain, not itself. */
        fprintf(sim->log, "sim: domain %u not created at %lld ns: %s\n",
                (unsigned int)(d - sim->doms), (long long)sim->now,
                strerror(-rc));
        d->life = SIM_LIFE_GONE;
        return;
    }
    if ( dom_adjust(sim, d) )
        fprintf(sim->log, "sim: policy %s rejects weight %u cap %u of "
                "domain %u: it keeps the policy's defaults\n",
                sim->s.ops->opt_name, d->weight, d->cap_pct,
                (unsigned int)(d - sim->doms));
    dom_start(sim, d);
}

/* The pCPU running @u, which must be running. */
static unsigned int running_cpu(struct sim *sim, const struct sch_unit *u)
{
    unsigned int cpu;

    for ( cpu = 0; cpu < sim->s.nr_cpus; cpu++ )
        if ( sim->res[cpu].curr == u )
            return cpu;
    SCH_ASSERT(0);
    return 0;
}

/*
 * End @d's incarnation now (@how: reboot, migrate, destroy), as Xen
 * destroys a domain: every vCPU paused first (so none is picked again),
 * each one on a pCPU switched out by a decision of its pCPU, then all
 * removed from the policy and the policy's data freed.  Its time is
 * charged up to now, so the incarnation's counters are final.
 */
static void dom_destroy(struct sim *sim, struct sim_dom *d,
                        enum sim_dom_end how)
{
    const struct sch_ops *ops = sim->s.ops;
    unsigned int j, n = d->spec->vcpus;

    if ( d->life != SIM_LIFE_ALIVE )
        return;
    for ( j = 0; j < n; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];

        sim__ev_cancel(sim, &v->wall);
        if ( v->unit.runnable )
        {
            struct sch_lock *lock = unit_lock(sim, &v->unit);

            v->unit.runnable = false;
            if ( ops->sleep )
            {
                sch_spin_lock(lock);
                ops->sleep(&sim->s, &v->unit, sim->now);
                sch_spin_unlock(lock);
            }
        }
    }
    for ( j = 0; j < n; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];

        if ( v->unit.is_running )
            on_cpu(sim, running_cpu(sim, &v->unit));
        SCH_ASSERT(!v->unit.is_running);
        sim__ev_cancel(sim, &v->work);
    }
    for ( j = 0; j < n; j++ )
    {
        struct sch_unit *u = &d->vcpus[j].unit;
        struct sch_lock *lock = unit_lock(sim, u);

        if ( ops->remove_unit )
        {
            sch_spin_lock(lock);
            ops->remove_unit(&sim->s, u);
            sch_spin_unlock(lock);
        }
        if ( ops->free_udata )
            ops->free_udata(&sim->s, u->priv);
        u->priv = NULL;
    }
    if ( ops->free_domdata && d->dom.priv )
        ops->free_domdata(&sim->s, d->dom.priv);
    d->dom.priv = NULL;

    SCH_ASSERT(d->nr_inc > 0);
    d->inc[d->nr_inc - 1].ended_ns = sim->now;
    d->inc[d->nr_inc - 1].end = how;
    d->inc[d->nr_inc - 1].cpu_ns = (uint64_t)(d->cpu_ns - d->boot_cpu_ns);
    d->inc[d->nr_inc - 1].vbd = dom_vbd(d);
    d->inc[d->nr_inc - 1].vif = d->vif;
    d->life = SIM_LIFE_GONE;
}

/* Queue @d's next lifecycle step, if it has one. */
static void life_next(struct sim *sim, struct sim_dom *d)
{
    const struct sim_domain_spec *spec = d->spec;
    sch_time_t t;

    if ( d->step == 0 )
        t = spec->start_ns;
    else if ( d->step <= spec->nr_reboots )
        t = spec->reboot_ns[d->step - 1];
    else if ( d->step == spec->nr_reboots + 1 && spec->end != SIM_END_NONE )
        t = spec->end_ns;
    else
        return;
    /* A spec built in C may have its times out of order: never go back. */
    sim__ev_set(sim, &d->ev, t > sim->now ? t : sim->now);
}

/* SIM_K_LIFE: @d's next step is due. */
static void on_life(struct sim *sim, struct sim_dom *d)
{
    const struct sim_domain_spec *spec = d->spec;
    unsigned int step = d->step++;

    if ( step == 0 )
        dom_create(sim, d);
    else if ( step <= spec->nr_reboots )
    {
        dom_destroy(sim, d, SIM_END_REBOOT);
        dom_create(sim, d);
    }
    else
        dom_destroy(sim, d, spec->end);
    if ( d->life == SIM_LIFE_ALIVE )
        life_next(sim, d);
}

/* ------------------------------------------------------------------ */
/* Re-pinning                                                         */

/*
 * @v's hard affinity no longer holds its pCPU: move it as Xen's
 * vcpu_set_affinity() does.  migrate_start: Xen marks the vCPU migrating,
 * which makes it not runnable; here runnable is cleared for as long, so
 * the policy is told it sleeps and cannot pick it again (on_cpu asserts
 * that every pick is runnable).  One still on a pCPU is switched out
 * there by a decision of that pCPU (the kick the sleep hook must make,
 * taken at once, as dom_destroy does), and context_saved runs.
 * migrate_finish: with the old pCPU's lock held the policy picks the new
 * one; with both locks held the unit moves (the migrate hook, or the host
 * sets res); then, if it was runnable, it wakes there.  All of it happens
 * at one instant, so no workload event can come in between, and time is
 * charged by on_cpu as for any switch: the move itself costs nothing.
 */
static void vcpu_migrate(struct sim *sim, struct sim_vcpu *v)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sch_unit *u = &v->unit;
    bool was_runnable = u->runnable;
    unsigned int old, cpu;

    if ( was_runnable )
    {
        struct sch_lock *lock = unit_lock(sim, u);

        u->runnable = false;
        if ( ops->sleep )
        {
            sch_spin_lock(lock);
            ops->sleep(&sim->s, u, sim->now);
            sch_spin_unlock(lock);
        }
    }
    if ( u->is_running )
    {
        const struct sim_event *kick;

        cpu = running_cpu(sim, u);
        kick = &sim->cpus[cpu].ev;
        /* The sleep contract (or vcpu_block, if it blocked just now): in
         * Xen nothing else would ever take it off its pCPU. */
        SCH_ASSERT(kick->pos != SIM_EV_IDLE && kick->time <= sim->now);
        on_cpu(sim, cpu);
        SCH_ASSERT(!u->is_running);
    }

    old = u->res;
    sch_spin_lock(sim->res[old].lock);
    cpu = ops->pick_resource(&sim->s, u);
    SCH_ASSERT(cpu < sim->s.nr_cpus && sch_cpumask_test(&sim->s.cpus, cpu) &&
               sch_cpumask_test(&u->hard_affinity, cpu));
    /* pCPUs may share a lock (pcpu_lock): take it once. */
    if ( sim->res[cpu].lock != sim->res[old].lock )
        sch_spin_lock(sim->res[cpu].lock);
    if ( ops->migrate )
        ops->migrate(&sim->s, u, cpu);
    else
        sch_unit_set_res(u, cpu);
    SCH_ASSERT(u->res == cpu);
    if ( sim->res[cpu].lock != sim->res[old].lock )
        sch_spin_unlock(sim->res[cpu].lock);
    sch_spin_unlock(sim->res[old].lock);

    /* Not vcpu_wake: the guest did not wake, so no wake latency starts
     * (one that woke and has not run yet keeps counting from that wake). */
    if ( was_runnable )
    {
        struct sch_lock *lock = unit_lock(sim, u);

        u->runnable = true;
        sch_spin_lock(lock);
        ops->wake(&sim->s, u, sim->now);
        sch_spin_unlock(lock);
    }
}

/*
 * Domain @p->dom's re-pin @p->k.  The affinity is kept for the uuid, as
 * weight and cap are: a domain not alive now gets it when created, a
 * rebooted one again.  Each vCPU in turn gets the new hard (and soft)
 * affinity under its lock, as Xen's adjust_affinity; only one whose pCPU
 * is no longer allowed has to move.
 */
static void dom_repin(struct sim *sim, const struct sim_pin *p)
{
    struct sim_dom *d = &sim->doms[p->dom];
    struct sch_cpumask aff;
    unsigned int j;

    sch_cpumask_and(&aff, &d->spec->repin[p->k].affinity, &sim->s.cpus);
    if ( sch_cpumask_empty(&aff) )
    {
        /* Only a spec built in C can get here: the loader refuses it. */
        fprintf(sim->log, "sim: re-pin of domain %u at %lld ns to no pCPU "
                "of the host: ignored\n", p->dom, (long long)sim->now);
        return;
    }
    d->pin_last = (int)p->k;
    for ( j = 0; d->life == SIM_LIFE_ALIVE && j < d->spec->vcpus; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];
        struct sch_lock *lock = unit_lock(sim, &v->unit);

        sch_spin_lock(lock);
        v->unit.hard_affinity = aff;
        v->unit.soft_affinity = aff;
        sch_spin_unlock(lock);
        if ( !sch_cpumask_test(&aff, v->unit.res) )
            vcpu_migrate(sim, v);
    }
}

/*
 * SIM_K_PIN: every re-pin due now, in order, then the event waits for the
 * next.  Cold and not inlined: inlined into sim_run_until it cost every
 * event of every run a register spill (one instruction more per event,
 * measured with callgrind on bench-64); as it is, the event loop's code is
 * what it was before re-pins existed, give or take the block order.
 */
static __attribute__((noinline, cold)) void on_pin(struct sim *sim)
{
    while ( sim->pins_done < sim->nr_pins &&
            sim->pins[sim->pins_done].at_ns <= sim->now )
        dom_repin(sim, &sim->pins[sim->pins_done++]);
    if ( sim->pins_done < sim->nr_pins )
        sim__ev_set(sim, &sim->pin_ev, sim->pins[sim->pins_done].at_ns);
}

/* ------------------------------------------------------------------ */
/* Running                                                            */

/*
 * Over [now, @t), while no event changes anything: is some pCPU idle while
 * a unit that may run there has waited longer than idle_audit_ns?  Adds
 * the part of the interval where that holds.
 */
static void idle_audit(struct sim *sim, sch_time_t t)
{
    const struct sim_scenario *sc = sim->sc;
    struct sch_cpumask idle;
    sch_time_t from = t;
    unsigned int cpu, i, j;

    sch_cpumask_clear_all(&idle);
    for ( cpu = 0; cpu < sc->pcpus; cpu++ )
        if ( sim->res[cpu].curr->is_idle )
            sch_cpumask_set(&idle, cpu);
    if ( sch_cpumask_empty(&idle) )
        return;
    for ( i = 0; i < sc->nr_domains; i++ )
        for ( j = 0; j < sc->domains[i].vcpus; j++ )
        {
            const struct sim_vcpu *v = &sim->doms[i].vcpus[j];
            sch_time_t late = v->wait_since + sc->idle_audit_ns;

            /* A capped domain may wait for its budget: that is the cap
             * working, not a pCPU left idle. */
            if ( !v->unit.runnable || v->unit.is_running ||
                 v->dom->spec->cap_pct ||
                 !sch_cpumask_intersects(&idle, &v->unit.hard_affinity) )
                continue;
            if ( late < sim->now )
                late = sim->now;
            if ( late < from )
                from = late;
        }
    sim->idle_waiting += t - from;
}


static void dispatch(struct sim *sim, struct sim_event *ev)
{
    switch ( ev->kind )
    {
    case SIM_K_TIMER:
    {
        struct sch_timer *t = sch_container_of(ev, struct sch_timer, ev);

        t->fn(t->data, sim->now);
        break;
    }
    case SIM_K_CPU:
        on_cpu(sim, (unsigned int)(sch_container_of(ev, struct sim_cpu, ev) -
                                   sim->cpus));
        break;
    case SIM_K_WORK:
        on_work(sim, sch_container_of(ev, struct sim_vcpu, work));
        break;
    case SIM_K_WALL:
        on_wall(sim, sch_container_of(ev, struct sim_vcpu, wall));
        break;
    case SIM_K_LIFE:
        on_life(sim, sch_container_of(ev, struct sim_dom, ev));
        break;
    case SIM_K_PIN:
        on_pin(sim);
        break;
    }
}

void sim_run_until(struct sim *sim, sch_time_t t)
{
    /* Read once: the compiler cannot know no event changes it. */
    const bool audit = sim->sc->idle_audit_ns;
    struct sim_event *ev;

    while ( (ev = sim__ev_pop(sim, t)) )
    {
        if ( audit && ev->time > sim->now )
            idle_audit(sim, ev->time);
        sim->now = ev->time;
        sim->events++;
        dispatch(sim, ev);
    }
    if ( t > sim->now )
    {
        if ( sim->sc->idle_audit_ns )
            idle_audit(sim, t);
        sim->now = t;
    }
}

/*
 * Charge what every pCPU runs up to now, so totals include the running
 * units' time.  Changes no outcome (charging in pieces adds up the same);
 * once done, nothing is left to charge until time moves on, since a pCPU's
 * `since` only ever moves to now.
 */
static void settle_all(struct sim *sim)
{
    unsigned int cpu;

    if ( sim->settled == sim->now )
        return;
    for ( cpu = 0; cpu < sim->s.nr_cpus; cpu++ )
    {
        struct sim_vcpu *v = vcpu_of(sim->res[cpu].curr);

        if ( v )
        {
            charge(sim, v, sim->cpus[cpu].since, sim->now);
            sim->cpus[cpu].since = sim->now;
        }
    }
    sim->settled = sim->now;
}

sch_time_t sim_now(const struct sim *sim)
{
    return sim->now;
}

uint64_t sim_events(const struct sim *sim)
{
    return sim->events;
}

struct sch_sched *sim_sched(struct sim *sim)
{
    return &sim->s;
}

struct sch_domain *sim_domain(struct sim *sim, unsigned int i)
{
    if ( i >= sim->sc->nr_domains || sim->doms[i].life != SIM_LIFE_ALIVE )
        return NULL;
    return &sim->doms[i].dom;
}

void sim_set_log(struct sim *sim, FILE *f)
{
    sim->log = f;
}

/* ------------------------------------------------------------------ */
/* The host's view                                                    */

unsigned int sim_nr_domains(const struct sim *sim)
{
    return sim->sc->nr_domains;
}

int sim_find_uuid(const struct sim *sim, const char *uuid)
{
    char want[SIM_UUID_LEN + 1];
    unsigned int lo = 0, hi = sim->sc->nr_domains;

    if ( sim_uuid_parse(uuid, want) )
        return -ENOENT;
    while ( lo < hi )
    {
        unsigned int mid = lo + (hi - lo) / 2;
        int c = strcmp(sim->doms[sim->by_uuid[mid]].uuid, want);

        if ( c == 0 )
            return (int)sim->by_uuid[mid];
        if ( c < 0 )
            lo = mid + 1;
        else
            hi = mid;
    }
    return -ENOENT;
}

int sim_dom_info(struct sim *sim, unsigned int i, struct sim_dom_info *out)
{
    struct sim_dom *d;
    const struct sim_domain_spec *spec;
    unsigned int j;

    if ( i >= sim->sc->nr_domains )
        return -ENOENT;
    d = &sim->doms[i];
    spec = d->spec;
    memset(out, 0, sizeof(*out));
    out->index = i;
    out->name = spec->name;
    out->uuid = d->uuid;
    out->tenant = spec->tenant;
    out->life = d->life;
    if ( d->life != SIM_LIFE_ALIVE )
        return 0;

    settle_all(sim);
    out->domid = d->dom.id;
    for ( j = 0; j < spec->vcpus; j++ )
        if ( d->vcpus[j].unit.runnable || d->vcpus[j].unit.is_running )
            out->running = true;
    out->cpu_ns = (uint64_t)(d->cpu_ns - d->boot_cpu_ns);
    out->nr_vcpus = out->online_vcpus = spec->vcpus;
    for ( j = 0; j < spec->vcpus; j++ )
        d->vcpu_ns[j] = d->vcpus[j].ns;
    out->vcpu_ns = d->vcpu_ns;
    out->mem_cur_bytes = (spec->memory_mb ? spec->memory_mb
                                          : SIM_MEMORY_MB_DEFAULT) << 20;
    out->mem_target_bytes = out->mem_cur_bytes;
    out->mem_max_bytes = spec->maxmem_mb ? spec->maxmem_mb << 20
                                         : out->mem_cur_bytes;
    out->vbd = dom_vbd(d);
    out->vif = d->vif;
    return 0;
}

int sim_dom_truth(struct sim *sim, unsigned int i, struct sim_dom_truth *out)
{
    struct sim_dom *d;

    if ( i >= sim->sc->nr_domains )
        return -ENOENT;
    d = &sim->doms[i];
    settle_all(sim);
    if ( d->life == SIM_LIFE_ALIVE )
        d->inc[d->nr_inc - 1].cpu_ns = (uint64_t)(d->cpu_ns - d->boot_cpu_ns);
    memset(out, 0, sizeof(*out));
    out->name = d->spec->name;
    out->uuid = d->uuid;
    out->life = d->life;
    out->cpu_ns = (uint64_t)d->cpu_ns;
    out->nr_incarnations = d->nr_inc;
    out->inc = d->inc;
    return 0;
}

int sim_dom_set_sched(struct sim *sim, unsigned int i, uint32_t weight,
                      uint32_t cap_pct)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sim_dom *d;
    struct sch_dom_params p = {
        .cmd = SCH_PARAM_PUT,
        .weight = weight,
        .cap_pct = cap_pct,
    };

    if ( i >= sim->sc->nr_domains || sim->doms[i].life != SIM_LIFE_ALIVE )
        return -ENOENT;
    if ( !ops->adjust )
        return -EOPNOTSUPP;
    /* SCH_PARAM_UNCHANGED would mean "keep" to the policy: not a value. */
    if ( weight < SCH_WEIGHT_MIN || weight > SCH_WEIGHT_MAX ||
         cap_pct == SCH_PARAM_UNCHANGED )
        return -EINVAL;
    d = &sim->doms[i];
    /* Room to record it first, so a change is never left out. */
    if ( sim->nr_sched_sets == sim->sched_sets_cap )
    {
        size_t cap = sim->sched_sets_cap ? 2 * sim->sched_sets_cap : 16;
        struct sim_sched_set *n = realloc(sim->sched_sets, cap * sizeof(*n));

        if ( !n )
            return -ENOMEM;
        sim->sched_sets = n;
        sim->sched_sets_cap = cap;
    }
    if ( ops->adjust(&sim->s, &d->dom, &p, sim->now) )
        return -EINVAL;
    if ( weight != d->weight || cap_pct != d->cap_pct )
        sim->sched_sets[sim->nr_sched_sets++] = (struct sim_sched_set){
            .at_ns = sim->now,
            .dom = i,
            .weight = weight,
            .cap_pct = cap_pct,
        };
    d->weight = weight;
    d->cap_pct = cap_pct;
    return 0;
}

int sim_dom_get_sched(struct sim *sim, unsigned int i, uint32_t *weight,
                      uint32_t *cap_pct)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sch_dom_params p = { .cmd = SCH_PARAM_GET };

    if ( i >= sim->sc->nr_domains || sim->doms[i].life != SIM_LIFE_ALIVE )
        return -ENOENT;
    if ( !ops->adjust )
        return -EOPNOTSUPP;
    if ( ops->adjust(&sim->s, &sim->doms[i].dom, &p, sim->now) )
        return -EINVAL;
    *weight = p.weight;
    *cap_pct = p.cap_pct;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up and tear-down                                               */

static void fail(char *err, size_t errlen, const char *what, int rc)
{
    if ( errlen )
        snprintf(err, errlen, "%s: %s", what, strerror(rc < 0 ? -rc : rc));
}

static int setup_cpus(struct sim *sim)
{
    const struct sch_ops *ops = sim->s.ops;
    unsigned int cpu;

    for ( cpu = 0; cpu < sim->s.nr_cpus; cpu++ )
    {
        struct sch_resource *r = &sim->res[cpu];
        struct sch_unit *idle = &sim->cpus[cpu].idle;

        sim->cpus[cpu].ev.kind = SIM_K_CPU;
        sim->cpus[cpu].ev.pos = SIM_EV_IDLE;
        idle->is_idle = true;
        idle->is_running = true;
        idle->res = cpu;
        sch_cpumask_set(&idle->hard_affinity, cpu);
        sch_cpumask_set(&idle->soft_affinity, cpu);
        r->cpu = cpu;
        r->lock = &sim->locks[cpu];
        r->curr = r->idle = idle;
        if ( ops->alloc_pdata &&
             !(r->priv = ops->alloc_pdata(&sim->s, cpu)) )
            return -ENOMEM;
        if ( ops->pcpu_lock )
            r->lock = ops->pcpu_lock(&sim->s, cpu);
        if ( ops->alloc_udata &&
             !(idle->priv = ops->alloc_udata(&sim->s, idle, NULL)) )
            return -ENOMEM;
    }
    return 0;
}

/* @n zeroed elements of @size (a whole number of cache lines), aligned on
 * a cache line as the type asks. */
static void *calloc_lines(size_t n, size_t size)
{
    void *p;

    if ( n > SIZE_MAX / size )
        return NULL;
    if ( !n )
        n = 1;
    p = aligned_alloc(SIM_CACHE_LINE, n * size);
    if ( p )
        memset(p, 0, n * size);
    return p;
}

/* Domain @i's memory and fixed fields, for all its incarnations. */
static int setup_slot(struct sim *sim, unsigned int i)
{
    const struct sim_domain_spec *spec = &sim->sc->domains[i];
    struct sim_dom *d = &sim->doms[i];
    unsigned int j;

    d->spec = spec;
    d->dom.nr_units = spec->vcpus;
    d->vcpus = calloc_lines(spec->vcpus, sizeof(*d->vcpus));
    d->dom.units = calloc(spec->vcpus, sizeof(*d->dom.units));
    d->vcpu_ns = calloc(spec->vcpus, sizeof(*d->vcpu_ns));
    d->inc = calloc(1 + (size_t)spec->nr_reboots, sizeof(*d->inc));
    if ( !d->vcpus || !d->dom.units || !d->vcpu_ns || !d->inc )
        return -ENOMEM;
    if ( spec->workload.type == SIM_WL_BURSTY &&
         !(d->phase0 = calloc((1 + (size_t)spec->nr_reboots) * spec->vcpus,
                              sizeof(*d->phase0))) )
        return -ENOMEM;
    if ( !spec->uuid[0] || sim_uuid_parse(spec->uuid, d->uuid) )
        sim_uuid_from_name(spec->name, d->uuid);
    d->life = SIM_LIFE_PENDING;
    d->ev.kind = SIM_K_LIFE;
    d->ev.pos = SIM_EV_IDLE;
    d->weight = spec->weight;
    d->cap_pct = spec->cap_pct;
    d->pin_last = -1;
    for ( j = 0; j < spec->vcpus; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];

        v->dom = d;
        v->wl = &spec->workload;
        v->work.kind = SIM_K_WORK;
        v->wall.kind = SIM_K_WALL;
        v->work.pos = v->wall.pos = SIM_EV_IDLE;
        v->woke_at = -1;
        v->rng = sim->sc->seed * 0x100000001b3ull + ((uint64_t)i << 20) + j;
        v->unit.id = j;
        v->unit.domain = &d->dom;
        d->dom.units[j] = &v->unit;
    }
    return 0;
}

static int uuid_cmp(const void *a, const void *b, void *arg)
{
    const struct sim *sim = arg;
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    int c = strcmp(sim->doms[x].uuid, sim->doms[y].uuid);

    return c ? c : (x > y) - (x < y);
}

static int setup_index(struct sim *sim)
{
    unsigned int i, n = sim->sc->nr_domains;

    sim->by_uuid = malloc((n ? n : 1) * sizeof(*sim->by_uuid));
    if ( !sim->by_uuid )
        return -ENOMEM;
    for ( i = 0; i < n; i++ )
        sim->by_uuid[i] = i;
    qsort_r(sim->by_uuid, n, sizeof(*sim->by_uuid), uuid_cmp, sim);
    return 0;
}

static int pin_cmp(const void *a, const void *b)
{
    const struct sim_pin *x = a, *y = b;

    if ( x->at_ns != y->at_ns )
        return x->at_ns < y->at_ns ? -1 : 1;
    if ( x->dom != y->dom )
        return x->dom < y->dom ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

/* Every re-pin of the run, by time; at one time, in domain order.  Times
 * before 0 (a spec built in C) count as 0. */
static int setup_pins(struct sim *sim)
{
    const struct sim_scenario *sc = sim->sc;
    unsigned int i, k;
    size_t n = 0;

    sim->pin_ev.kind = SIM_K_PIN;
    sim->pin_ev.pos = SIM_EV_IDLE;
    for ( i = 0; i < sc->nr_domains; i++ )
        n += sc->domains[i].nr_repins;
    if ( !n )
        return 0;
    sim->pins = calloc(n, sizeof(*sim->pins));
    if ( !sim->pins )
        return -ENOMEM;
    for ( i = 0; i < sc->nr_domains; i++ )
        for ( k = 0; k < sc->domains[i].nr_repins; k++ )
        {
            sch_time_t t = sc->domains[i].repin[k].at_ns;

            sim->pins[sim->nr_pins++] = (struct sim_pin){
                .at_ns = t > 0 ? t : 0,
                .dom = i,
                .k = k,
            };
        }
    qsort(sim->pins, n, sizeof(*sim->pins), pin_cmp);
    return 0;
}

/* Created with the host, by sim_alloc (the others by lifecycle events). */
static bool at_boot(const struct sim_domain_spec *spec)
{
    return spec->start_ns <= 0;
}

/* The scenario's tunables, before the pCPUs join: some (runq_cpus) shape
 * how the policy sets them up. */
static int apply_tunables(struct sim *sim, char *err, size_t errlen)
{
    const struct sch_ops *ops = sim->s.ops;
    const struct sch_global_params *g = &sim->sc->sched;
    struct sch_global_params p = *g;

    if ( !ops->adjust_global ||
         (g->tslice_us == SCH_PARAM_UNCHANGED &&
          g->ratelimit_us == SCH_PARAM_UNCHANGED &&
          g->period_us == SCH_PARAM_UNCHANGED &&
          g->boost == SCH_PARAM_UNCHANGED &&
          g->latency_us == SCH_PARAM_UNCHANGED &&
          g->runq_cpus == SCH_PARAM_UNCHANGED) )
        return 0;
    p.cmd = SCH_PARAM_PUT;
    if ( !ops->adjust_global(&sim->s, &p) )
        return 0;
    snprintf(err, errlen, "%s: policy %s rejects the sched tunables",
             sim->sc->path ? sim->sc->path : "scenario", ops->opt_name);
    return -EINVAL;
}

/* Weights and caps of the domains created with the host. */
static int apply_params(struct sim *sim, char *err, size_t errlen)
{
    const struct sch_ops *ops = sim->s.ops;
    unsigned int i;

    for ( i = 0; i < sim->sc->nr_domains; i++ )
    {
        struct sim_dom *d = &sim->doms[i];

        if ( !at_boot(d->spec) || !dom_adjust(sim, d) )
            continue;
        snprintf(err, errlen, "%s: policy %s rejects weight %u cap %u "
                 "of domain %u", sim->sc->path ? sim->sc->path
                                               : "scenario",
                 ops->opt_name, d->weight, d->cap_pct, i);
        return -EINVAL;
    }
    return 0;
}

/* Put every boot-time vCPU in the policy's hands and give it its first
 * step; queue every domain's next lifecycle step. */
static void start_domains(struct sim *sim)
{
    unsigned int i;

    /* pCPUs come up idle and schedule once, as Xen's do at boot. */
    for ( i = 0; i < sim->s.nr_cpus; i++ )
        sch_kick(&sim->s, i);

    for ( i = 0; i < sim->sc->nr_domains; i++ )
        if ( at_boot(sim->doms[i].spec) )
        {
            dom_start(sim, &sim->doms[i]);
            sim->doms[i].step = 1;
        }
    for ( i = 0; i < sim->sc->nr_domains; i++ )
        life_next(sim, &sim->doms[i]);
    /* Only re-pins queue anything: a scenario without them runs the very
     * events it always did. */
    if ( sim->nr_pins )
        sim__ev_set(sim, &sim->pin_ev, sim->pins[0].at_ns);
}

struct sim *sim_alloc(const struct sim_scenario *sc, const struct sch_ops *ops,
                      char *err, size_t errlen)
{
    struct sim *sim = calloc(1, sizeof(*sim));
    unsigned int i;
    int rc = -ENOMEM;

    if ( !sim )
        goto out_nomem;
    sim->sc = sc;
    sim->log = stderr;
    sim->settled = -1;
    sim->next_domid = 1;        /* domid 0 is dom0, not simulated */
    sim->next_cpu = sc->pcpus - 1;
    sim->s.host = sim;
    sim->s.nr_cpus = sc->pcpus;
    for ( i = 0; i < sc->pcpus; i++ )
        sch_cpumask_set(&sim->s.cpus, i);
    sim->res = calloc(sc->pcpus, sizeof(*sim->res));
    sim->locks = calloc(sc->pcpus, sizeof(*sim->locks));
    sim->cpus = calloc(sc->pcpus, sizeof(*sim->cpus));
    sim->doms = calloc_lines(sc->nr_domains, sizeof(*sim->doms));
    if ( !sim->res || !sim->locks || !sim->cpus || !sim->doms )
        goto out_free;
    sim->s.res = sim->res;
    /* Windows for the run, or a first part of a long one (they grow). */
    if ( windows_grow(sim, sc->duration_ns / SIM_WINDOW_NS < 4096
                           ? (unsigned int)(sc->duration_ns / SIM_WINDOW_NS)
                             + 1 : 4096) )
        goto out_free;
    for ( i = 0; i < sc->nr_domains; i++ )
        if ( setup_slot(sim, i) )
            goto out_free;
    if ( setup_index(sim) || setup_pins(sim) )
        goto out_free;

    sim->s.ops = ops;   /* from here on sim_free calls deinit */
    rc = ops->init(&sim->s);
    if ( rc )
    {
        sim->s.ops = NULL;
        goto out_free;
    }
    if ( apply_tunables(sim, err, errlen) )
    {
        sim_free(sim);
        return NULL;
    }
    rc = setup_cpus(sim);
    for ( i = 0; !rc && i < sc->nr_domains; i++ )
        if ( at_boot(&sc->domains[i]) )
            rc = dom_alloc(sim, &sim->doms[i]);
    if ( rc )
        goto out_free;
    if ( apply_params(sim, err, errlen) )
    {
        sim_free(sim);
        return NULL;
    }
    start_domains(sim);
    return sim;

 out_free:
    fail(err, errlen, "simulator set-up", rc);
    sim_free(sim);
    return NULL;
 out_nomem:
    fail(err, errlen, "simulator set-up", -ENOMEM);
    return NULL;
}

/* At tear-down, as Xen destroys a vCPU: off the pCPU, asleep, out of the
 * policy.  Nothing runs after it, so the pCPU needs no new decision. */
static void unit_destroy(struct sim *sim, struct sim_vcpu *v)
{
    const struct sch_ops *ops = sim->s.ops;
    struct sch_unit *u = &v->unit;
    struct sch_resource *r = &sim->res[u->res];

    if ( u->runnable )
    {
        u->runnable = false;
        if ( ops->sleep )
        {
            sch_spin_lock(r->lock);
            ops->sleep(&sim->s, u, sim->now);
            sch_spin_unlock(r->lock);
        }
    }
    if ( u->is_running )
    {
        /* The pCPU would switch to idle; no decision is needed for that. */
        u->is_running = false;
        r->curr = r->idle;
        r->idle->is_running = true;
    }
    if ( ops->remove_unit )
    {
        sch_spin_lock(r->lock);
        ops->remove_unit(&sim->s, u);
        sch_spin_unlock(r->lock);
    }
    if ( ops->free_udata )
        ops->free_udata(&sim->s, u->priv);
    u->priv = NULL;
}

void sim_free(struct sim *sim)
{
    const struct sch_ops *ops;
    unsigned int i, j;

    if ( !sim )
        return;
    ops = sim->s.ops;
    /* Nothing may fire or be unlinked once its owner is gone: forget every
     * queued event first, so the policy's timer kills are no-ops. */
    sim__evq_drain(sim);
    for ( i = 0; sim->doms && i < sim->sc->nr_domains; i++ )
    {
        struct sim_dom *d = &sim->doms[i];

        for ( j = 0; d->vcpus && j < d->spec->vcpus; j++ )
        {
            struct sim_vcpu *v = &d->vcpus[j];

            if ( ops && v->unit.priv )
                unit_destroy(sim, v);
            free(v->req);
        }
        if ( ops && d->dom.priv && ops->free_domdata )
            ops->free_domdata(&sim->s, d->dom.priv);
        free(d->vcpus);
        free(d->dom.units);
        free(d->vcpu_ns);
        free(d->inc);
        free(d->phase0);
        hist_free(&d->wake_lat);
        hist_free(&d->response);
    }
    for ( i = 0; sim->cpus && i < sim->s.nr_cpus; i++ )
    {
        if ( ops && sim->cpus[i].idle.priv && ops->free_udata )
            ops->free_udata(&sim->s, sim->cpus[i].idle.priv);
        if ( ops && sim->res[i].priv && ops->free_pdata )
            ops->free_pdata(&sim->s, sim->res[i].priv, i);
    }
    if ( ops )
        ops->deinit(&sim->s);
    free(sim->doms);
    free(sim->cpus);
    free(sim->locks);
    free(sim->res);
    free(sim->by_uuid);
    free(sim->pins);
    free(sim->window_cpu);
    free(sim->res_doms);
    free(sim->res_windows);
    free(sim->res_entitled);
    free(sim->sched_sets);
    free(sim);
}

/* ------------------------------------------------------------------ */
/* Results                                                            */

int sim_result(struct sim *sim, struct sim_result *out)
{
    const struct sim_scenario *sc = sim->sc;
    unsigned int nd = sc->nr_domains, nw, i, w, w0, used;
    sch_time_t host_ns;
    size_t cells;

    /* Bring running units' accounting up to now. */
    settle_all(sim);
    hist_flush(sim);
    /* Every window of the run, charged or not: entitlement may fall in
     * one where nothing ran. */
    nw = (unsigned int)((sim->now + SIM_WINDOW_NS - 1) / SIM_WINDOW_NS);
    cells = (size_t)nd * (nw ? nw : 1);

    free(sim->res_doms);
    free(sim->res_windows);
    free(sim->res_entitled);
    sim->res_doms = calloc(nd ? nd : 1, sizeof(*sim->res_doms));
    sim->res_windows = calloc(cells ? cells : 1, sizeof(*sim->res_windows));
    sim->res_entitled = calloc(cells ? cells : 1,
                               sizeof(*sim->res_entitled));
    if ( !sim->res_doms || !sim->res_windows || !sim->res_entitled ||
         sim__entitle_run(sim, nw, sim->res_entitled) )
        return -ENOMEM;
    host_ns = sim->now * (sch_time_t)sc->pcpus;

    /* The run's windows, domain by domain from window by window (windows
     * past the last one charged were never touched: they stay 0), eight
     * windows (a cache line of each domain's) at a time. */
    used = sim->win_used < nw ? sim->win_used : nw;
    for ( w0 = 0; w0 < used; w0 += 8 )
    {
        unsigned int w1 = w0 + 8 < used ? w0 + 8 : used;

        for ( i = 0; i < nd; i++ )
            for ( w = w0; w < w1; w++ )
                sim->res_windows[(size_t)i * nw + w] =
                    sim->window_cpu[(size_t)w * nd + i];
    }

    for ( i = 0; i < nd; i++ )
    {
        struct sim_dom *d = &sim->doms[i];
        struct sim_dom_result *r = &sim->res_doms[i];
        sch_time_t peak = 0, ent = 0;

        r->name = d->spec->name;
        r->vcpus = d->spec->vcpus;
        r->weight = d->spec->weight;
        r->cap_pct = d->spec->cap_pct;
        r->cpu_ns = d->cpu_ns;
        r->share = host_ns ? (double)d->cpu_ns / (double)host_ns : 0;
        hist_percentiles(&d->wake_lat, &r->wake_latency);
        hist_percentiles(&d->response, &r->response);
        r->context_switches = d->switches;
        for ( w = 0; w < nw; w++ )
        {
            sch_time_t v = sim->res_windows[(size_t)i * nw + w];

            ent += sim->res_entitled[(size_t)i * nw + w];
            /* A partial last window is not a whole one: skip it. */
            if ( (sch_time_t)(w + 1) * SIM_WINDOW_NS <= sim->now && v > peak )
                peak = v;
        }
        r->cap_window_max_pct = 100.0 * (double)peak / (double)SIM_WINDOW_NS;
        r->entitled_ns = ent;
        r->entitled_share = host_ns ? (double)ent / (double)host_ns : 0;
    }

    out->policy = sim->s.ops->opt_name;
    out->seed = sc->seed;
    out->pcpus = sc->pcpus;
    out->events = sim->events;
    out->sim_ns = sim->now;
    out->idle_while_waiting_ns = sim->idle_waiting;
    out->nr_domains = nd;
    out->domains = sim->res_doms;
    out->window_ns = SIM_WINDOW_NS;
    out->nr_windows = nw;
    out->window_cpu_ns = sim->res_windows;
    out->window_entitled_ns = sim->res_entitled;
    return 0;
}
