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
 * context switches, counted here as the events go; sim_result (result.c)
 * reads them out with what each domain was entitled to, computed from
 * what the run recorded (entitle.c).
 *
 * The rest of the host has files of its own: a domain's lifecycle and its
 * re-pins (life.c), set-up and tear-down (setup.c), what the toolstack
 * sees and sets of the domains (view.c) and the results (result.c).  What
 * runs at every event stays here, in one translation unit, so that the
 * compiler inlines it into sim_run_until as it was measured (bench_sim
 * under callgrind): dispatch, the workloads, charging, the pCPUs' decision
 * and evq.h's inlines.  Moving one of them out of this file is a change
 * of performance, to be measured as one.
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
void sim__hist_flush(struct sim *sim)
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
        sim__hist_flush(sim);
}

int sim__windows_grow(struct sim *sim, unsigned int need)
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
        if ( w >= sim->win_cap && sim__windows_grow(sim, w + 1) )
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

/*
 * Charge [@from, @to) of pCPU time to @v and its domain, split over
 * windows.  Forced inline: it runs at every decision (cpu_settle), and
 * GCC, left to itself, stopped inlining it once sim__settle_all, its
 * other caller, was called from other files only.
 */
static inline __attribute__((always_inline)) void
charge(struct sim *sim, struct sim_vcpu *v, sch_time_t from, sch_time_t to)
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

/*
 * vcpu_wake, vcpu_block and next_burst are forced inline: one of them runs
 * at nearly every event, and as calls (GCC would not inline them, having
 * several callers) they cost 7 instructions an event on bench-64.
 */
static inline __attribute__((always_inline)) void
vcpu_wake(struct sim *sim, struct sim_vcpu *v)
{
    struct sch_lock *lock = sim__unit_lock(sim, &v->unit);

    SCH_ASSERT(!v->unit.runnable);
    v->unit.runnable = true;
    v->woke_at = v->wait_since = sim->now;
    sch_spin_lock(lock);
    sim->s.ops->wake(&sim->s, &v->unit, sim->now);
    sch_stats_sync(&sim->s, &v->unit, sim->now);
    sch_spin_unlock(lock);
}

/* The running @v ran out of work: it blocks, and its pCPU reschedules. */
static inline __attribute__((always_inline)) void
vcpu_block(struct sim *sim, struct sim_vcpu *v)
{
    struct sch_lock *lock = sim__unit_lock(sim, &v->unit);
    unsigned int cpu = v->unit.res;

    v->unit.runnable = false;
    if ( v->bursts )
    {
        if ( v->burst_from >= 0 )
        {
            hist_record(sim, &v->dom->bursts, sim->now - v->burst_from);
            v->dom->bursts_sum += sim->now - v->burst_from;
            v->burst_from = -1;
        }
        v->blocked_at = sim->now;
    }
    sch_spin_lock(lock);
    if ( sim->s.ops->sleep )
        sim->s.ops->sleep(&sim->s, &v->unit, sim->now);
    sch_stats_sync(&sim->s, &v->unit, sim->now);
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


/*
 * The new incarnation's vCPUs join the policy and take their workload's
 * first step; its counters start from 0.  Needs sim__dom_alloc first.
 */
void sim__dom_start(struct sim *sim, struct sim_dom *d)
{
    const struct sim_workload *w = &d->spec->workload;
    unsigned int j;

    for ( j = 0; j < d->spec->vcpus; j++ )
    {
        struct sim_vcpu *v = &d->vcpus[j];
        struct sch_lock *lock = sim__unit_lock(sim, &v->unit);
        sch_time_t first = 0;

        /* A rebooted OS starts its work afresh; the random stream goes
         * on, so no two incarnations replay the same arrivals. */
        v->work_left = 0;
        v->ns = 0;
        v->woke_at = v->burst_from = v->blocked_at = -1;
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

/* ------------------------------------------------------------------ */
/* pCPUs                                                              */

static struct sim_vcpu *vcpu_of(struct sch_unit *u)
{
    return u->is_idle ? NULL : sch_container_of(u, struct sim_vcpu, unit);
}

/*
 * Stop the clock on what @cpu runs: charge it and bank its work done.  Its
 * work event stays queued: sim__on_cpu takes it out if the vCPU stops
 * running, and if it goes on, setting it again at the very same time is
 * cheaper than queueing it anew (evq.c's stays()); the outcome is the
 * same, as its seq is taken when it is set again either way.
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

void sim__on_cpu(struct sim *sim, unsigned int cpu)
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
        sim__stats_sync(sim, prev);
        sim__stats_sync(sim, next);
        if ( pv && sim->s.ops->context_saved )
        {
            struct sch_lock *lock = sim__unit_lock(sim, prev);

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
            if ( nv->bursts )
                nv->burst_from = sim->now;
            if ( nv->blocked_at >= 0 )
            {
                hist_record(sim, &nv->dom->sleeps,
                            sim->now - nv->blocked_at);
                nv->dom->sleeps_sum += sim->now - nv->blocked_at;
                nv->blocked_at = -1;
            }
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
        sim__on_cpu(sim, (unsigned int)(sch_container_of(ev, struct sim_cpu,
                                                         ev) - sim->cpus));
        break;
    case SIM_K_WORK:
        on_work(sim, sch_container_of(ev, struct sim_vcpu, work));
        break;
    case SIM_K_WALL:
        on_wall(sim, sch_container_of(ev, struct sim_vcpu, wall));
        break;
    case SIM_K_LIFE:
        sim__on_life(sim, sch_container_of(ev, struct sim_dom, ev));
        break;
    case SIM_K_PIN:
        sim__on_pin(sim);
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
void sim__settle_all(struct sim *sim)
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


void sim_set_log(struct sim *sim, FILE *f)
{
    sim->log = f;
}
