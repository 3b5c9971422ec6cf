/*
 * setup.c: the simulated host set up from a scenario (sim_alloc) and torn
 * down (sim_free).  Domains created at time 0 are set up here, hook by
 * hook in the order the engine has always used, so a scenario without
 * lifecycle keys runs exactly as it did before they existed; the others
 * are created by their lifecycle events (life.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evq.h"

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

/* @h's groups of buckets, as sim.c allocated them when values came. */
static void hist_free(struct sim_hist *h)
{
    unsigned int i;

    for ( i = 0; h->grp && i < SIM_HIST_GROUPS; i++ )
        free(h->grp[i]);
    free(h->grp);
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
        v->woke_at = v->burst_from = v->blocked_at = -1;
        v->bursts = spec->workload.type == SIM_WL_TRACE;
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

        if ( !at_boot(d->spec) || !sim__dom_adjust(sim, d) )
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
            sim__dom_start(sim, &sim->doms[i]);
            sim->doms[i].step = 1;
        }
    for ( i = 0; i < sim->sc->nr_domains; i++ )
        sim__life_next(sim, &sim->doms[i]);
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
    if ( sim__windows_grow(sim, sc->duration_ns / SIM_WINDOW_NS < 4096
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
            rc = sim__dom_alloc(sim, &sim->doms[i]);
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
    sch_spin_lock(r->lock);
    sch_stats_sync(&sim->s, u, sim->now);
    sch_spin_unlock(r->lock);
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
        hist_free(&d->bursts);
        hist_free(&d->sleeps);
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
