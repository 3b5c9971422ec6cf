/*
 * result.c: a run's results (sim_result): every domain's CPU time, share,
 * latency and response percentiles and peak window, and the windows with
 * what each domain was entitled to in each (entitle.c).  sim.c counts as
 * the run goes; this reads the counts out.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Largest value that falls in bucket @b (sim.c's hist_bucket counts
 * values into buckets). */
sch_time_t sim_hist_bucket_top(unsigned int b)
{
    unsigned int k, sub;

    if ( b < SIM_HIST_LINEAR )
        return b;
    k = (b - SIM_HIST_LINEAR) / SIM_HIST_SUB + 8;
    sub = (b - SIM_HIST_LINEAR) % SIM_HIST_SUB + SIM_HIST_SUB;
    return (sch_time_t)((((unsigned long long)sub + 1) << (k - 7)) - 1);
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
            sch_time_t top = sim_hist_bucket_top(b);

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

unsigned int sim_hist_nr_buckets(void)
{
    return SIM_HIST_BUCKETS;
}

int sim_wake_counts(struct sim *sim, unsigned int i, uint64_t *counts,
                    sch_time_t *max)
{
    const struct sim_hist *h;
    unsigned int g, b;

    if ( i >= sim->sc->nr_domains )
        return -ENOENT;
    sim__hist_flush(sim);
    h = &sim->doms[i].wake_lat;
    if ( h->n && h->max > *max )
        *max = h->max;
    if ( !h->grp )
        return 0;
    for ( g = 0; g < SIM_HIST_GROUPS; g++ )
        if ( h->grp[g] )
            for ( b = 0; b < SIM_HIST_SUB; b++ )
                counts[g * SIM_HIST_SUB + b] += h->grp[g][b];
    return 0;
}

static void hist_spread(const struct sim_hist *h, sch_time_t sum,
                        struct sim_spread *p)
{
    memset(p, 0, sizeof(*p));
    if ( !h->grp || h->n == 0 )
        return;
    p->count = h->n;
    p->mean = sum / (sch_time_t)h->n;
    p->p50 = hist_quantile(h, 0.50);
    p->p90 = hist_quantile(h, 0.90);
    p->max = h->max;
}

/* ------------------------------------------------------------------ */
/* Results                                                            */

static double vcpu_spread(const struct sim_dom *d)
{
    sch_time_t lo = 0, hi = 0;
    unsigned int j;

    for ( j = 0; j < d->spec->vcpus; j++ )
    {
        sch_time_t ns = d->vcpus[j].ns;

        if ( !j || ns < lo )
            lo = ns;
        if ( ns > hi )
            hi = ns;
    }
    return hi > 0 ? (double)(hi - lo) / (double)hi : 0;
}

int sim_result(struct sim *sim, struct sim_result *out)
{
    const struct sim_scenario *sc = sim->sc;
    unsigned int nd = sc->nr_domains, nw, i, w, w0, used;
    sch_time_t host_ns;
    size_t cells;

    /* Bring running units' accounting up to now. */
    sim__settle_all(sim);
    sim__hist_flush(sim);
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
        r->vcpu_spread = vcpu_spread(d);
        hist_percentiles(&d->wake_lat, &r->wake_latency);
        hist_percentiles(&d->response, &r->response);
        r->context_switches = d->switches;
        hist_spread(&d->bursts, d->bursts_sum, &r->bursts);
        hist_spread(&d->sleeps, d->sleeps_sum, &r->sleeps);
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
