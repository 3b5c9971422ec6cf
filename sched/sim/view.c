/*
 * view.c: the simulated host's domains as its toolstack sees them: found
 * by uuid, their counters (sim_dom_info) and ground truth (sim_dom_truth),
 * their weight and cap read and set.  Reading settles the running units'
 * time first (sim__settle_all), which changes no outcome.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

struct sch_domain *sim_domain(struct sim *sim, unsigned int i)
{
    if ( i >= sim->sc->nr_domains || sim->doms[i].life != SIM_LIFE_ALIVE )
        return NULL;
    return &sim->doms[i].dom;
}

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

    sim__settle_all(sim);
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
    out->vbd = sim__dom_vbd(d);
    out->vif = d->vif;
    out->sched_stats = sim->s.ops->counts_parked;
    if ( out->sched_stats )
        sch_stats_read(&d->dom, sim->now, &out->stats);
    return 0;
}

int sim_dom_truth(struct sim *sim, unsigned int i, struct sim_dom_truth *out)
{
    struct sim_dom *d;

    if ( i >= sim->sc->nr_domains )
        return -ENOENT;
    d = &sim->doms[i];
    sim__settle_all(sim);
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
