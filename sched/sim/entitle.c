/*
 * entitle.c: what weights and caps promise each domain, to compare with
 * what a policy delivers.
 *
 * Water-filling: the host's pCPUs are shared by weight among the domains
 * that still want more; a domain whose share would exceed what it can use
 * (its demand, its cap, one pCPU per vCPU it may run) is fixed at that
 * limit, and what it leaves is shared again among the rest.  Credit-style
 * weights are per domain, so a domain's vCPUs share its part.  Affinity
 * only limits how many pCPUs a domain can use; domains pinned to disjoint
 * pCPU sets are not modelled as separate pools.
 */
#include <stdlib.h>

#include "private.h"

/* Fraction of one pCPU a vCPU of this workload wants when never held up. */
static double duty(const struct sim_workload *w)
{
    double run = 0, all = 0;
    size_t i;

    switch ( w->type )
    {
    case SIM_WL_CPU:
        return 1.0;
    case SIM_WL_IO:
        return (double)w->run_ns / (double)(w->run_ns + w->block_ns);
    case SIM_WL_BURSTY:
        return (double)w->on_ns / (double)(w->on_ns + w->off_ns);
    case SIM_WL_REQUEST:
    {
        double d = w->rate_hz * (double)w->service_ns / 1e9;

        return d < 1.0 ? d : 1.0;
    }
    case SIM_WL_TRACE:
        for ( i = 0; i + 1 < w->trace_len; i += 2 )
        {
            run += (double)w->trace[i];
            all += (double)(w->trace[i] + w->trace[i + 1]);
        }
        return all > 0 ? run / all : 0;
    }
    return 0;
}

static double limit_of(const struct sim_scenario *sc,
                       const struct sim_domain_spec *d)
{
    unsigned int cpus = 0, cpu;
    double lim;

    for ( cpu = 0; cpu < sc->pcpus; cpu++ )
        cpus += sch_cpumask_test(&d->affinity, cpu);
    lim = (double)(d->vcpus < cpus ? d->vcpus : cpus);
    lim *= duty(&d->workload);
    if ( d->cap_pct && d->cap_pct / 100.0 < lim )
        lim = d->cap_pct / 100.0;
    return lim;
}

void sim_entitlement(const struct sim_scenario *sc, double *share)
{
    unsigned int n = sc->nr_domains, i;
    double left = sc->pcpus;
    bool *fixed = calloc(n ? n : 1, sizeof(*fixed));
    bool changed = true;

    if ( !fixed )
    {
        for ( i = 0; i < n; i++ )
            share[i] = 0;
        return;
    }
    while ( changed )
    {
        double wsum = 0;

        changed = false;
        for ( i = 0; i < n; i++ )
            if ( !fixed[i] )
                wsum += sc->domains[i].weight;
        for ( i = 0; i < n && wsum > 0; i++ )
        {
            double lim;

            if ( fixed[i] )
                continue;
            lim = limit_of(sc, &sc->domains[i]);
            share[i] = left * sc->domains[i].weight / wsum;
            if ( share[i] > lim )
            {
                share[i] = lim;
                fixed[i] = true;
                changed = true;
            }
        }
        if ( changed )
        {
            /* Hand out again what the fixed ones leave. */
            left = sc->pcpus;
            for ( i = 0; i < n; i++ )
                if ( fixed[i] )
                    left -= share[i];
        }
    }
    for ( i = 0; i < n; i++ )
        share[i] /= sc->pcpus;
    free(fixed);
}
