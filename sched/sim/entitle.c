/*
 * entitle.c: what each domain is entitled to, to judge what a policy
 * delivers against it.
 *
 * The model.  Every vCPU that wants CPU is a flow whose weight is its
 * domain's weight: weight counts once per such vCPU, as in Xen's credit
 * and credit2 (and xenos's credit), so a domain of weight W with 4 busy
 * vCPUs weighs 4W against a 1-vCPU domain of weight W.  A flow wants at
 * most its demand, a fraction of one pCPU: cpu 1; io run / (run + block);
 * request rate x service, at most 1; trace its average; bursty 1 in its
 * on phase and 0 in its off phase, or on / (on + off) when a whole cycle
 * fits in a measuring window (see phased()).  A flow runs only on the
 * pCPUs of its hard affinity and on one at a time; a domain's flows
 * together get at most its cap; a pCPU gives at most all of its time.  The
 * entitlement is the weighted max-min fair allocation under these
 * constraints: no flow could get more without taking from one whose rate
 * / weight is no larger.  It exists and is unique, since every constraint
 * is a sum of rates bounded above (a packing polytope).
 *
 * The allocation is computed by maxmin.c (sim_entitle_solve: the
 * algorithm, its precision and cost); this file says what it is fed.
 *
 * Over a run, sim__entitle_run rebuilds from what the run recorded, never
 * while it runs: the incarnations (inc[]), the first on phase of every
 * bursty vCPU in each (phase0; bursty phases are exactly periodic from
 * there), the re-pins done and the weights and caps set.  Between two
 * such breakpoints the allocation is constant; it is integrated into
 * per-domain, per-window ns.  Identical states (say, the same bursty
 * vCPUs on) are solved once (memo).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* At most this much memory for remembered allocations of a run. */
#define ENT_MEMO_BYTES  ((size_t)32 << 20)

/* Fraction of one pCPU a vCPU of this workload wants when never held up
 * (bursty: in its on phase). */
/*
 * A bursty workload whose on + off cycle fits in one measuring window
 * (SIM_WINDOW_NS) is a steady demand of on / (on + off), as an I/O one is:
 * over the windows in which shares are judged it is one, and a scheduler
 * cannot tell a vCPU that blocks because a phase ended from one that
 * blocks because its burst of work did.  One with a longer cycle is judged
 * phase by phase.  The tick dodger (9 ms on, 1 off) wants 90%, not 100%
 * then nothing.
 */
static bool phased(const struct sim_workload *w)
{
    return w->type == SIM_WL_BURSTY && w->on_ns + w->off_ns > SIM_WINDOW_NS;
}

static double demand_of(const struct sim_workload *w)
{
    double run = 0, all = 0, d;
    size_t i;

    switch ( w->type )
    {
    case SIM_WL_CPU:
        return 1.0;
    case SIM_WL_BURSTY:
        if ( phased(w) )
            return 1.0;
        if ( w->on_ns + w->off_ns <= 0 )
            return 0;
        return (double)w->on_ns / (double)(w->on_ns + w->off_ns);
    case SIM_WL_IO:
        if ( w->run_ns + w->block_ns <= 0 )
            return 0;
        return (double)w->run_ns / (double)(w->run_ns + w->block_ns);
    case SIM_WL_REQUEST:
        d = w->rate_hz * (double)w->service_ns / 1e9;
        return d < 1.0 ? d : 1.0;
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

/* ------------------------------------------------------------------ */
/* The scenario as it starts                                          */

/* The hard affinity @spec has at time 0: the last re-pin due then, if
 * any, as the simulator applies them. */
static const struct sch_cpumask *start_affinity(
    const struct sim_scenario *sc, const struct sim_domain_spec *spec)
{
    const struct sch_cpumask *aff = &spec->affinity;
    unsigned int k, cpu;

    for ( k = 0; k < spec->nr_repins && spec->repin[k].at_ns <= 0; k++ )
        for ( cpu = 0; cpu < sc->pcpus; cpu++ )
            if ( sch_cpumask_test(&spec->repin[k].affinity, cpu) )
            {
                aff = &spec->repin[k].affinity;
                break;
            }
    return aff;
}

int sim_entitlement(const struct sim_scenario *sc, double *share)
{
    unsigned int n = sc->nr_domains, i, ng = 0;
    struct sim_ent_group *g = calloc(n ? n : 1, sizeof(*g));
    double *cap = calloc(n ? n : 1, sizeof(*cap));
    double *rate = calloc(n ? n : 1, sizeof(*rate));
    int rc = -ENOMEM;

    for ( i = 0; i < n; i++ )
        share[i] = 0;
    if ( !g || !cap || !rate )
        goto out;
    for ( i = 0; i < n; i++ )
    {
        const struct sim_domain_spec *d = &sc->domains[i];

        cap[i] = d->cap_pct / 100.0;
        if ( d->start_ns > 0 )
            continue;
        g[ng++] = (struct sim_ent_group){
            .dom = i,
            .nr = d->vcpus,
            .weight = d->weight,
            .demand = demand_of(&d->workload),
            .affinity = *start_affinity(sc, d),
        };
    }
    rc = sim_entitle_solve(sc->pcpus, g, ng, cap, n, rate);
    for ( i = 0; !rc && i < ng; i++ )
        share[g[i].dom] = g[i].nr * rate[i] / sc->pcpus;
 out:
    free(g);
    free(cap);
    free(rate);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Over a run                                                         */

/* Breakpoints recorded by the run; at one time, in this order (a reboot
 * ends the old incarnation before the new one starts). */
enum ent_kind { ENT_EV_END, ENT_EV_CREATE, ENT_EV_PIN, ENT_EV_SCHED };

struct ent_ev {
    sch_time_t t;
    enum ent_kind kind;
    unsigned int dom;
    size_t seq;                 /* order of recording, among equals */
    uint32_t a, b;              /* CREATE: incarnation; PIN: mask;
                                 * SCHED: weight, cap_pct */
};

/* A bursty vCPU's next phase turn. */
struct ent_turn {
    sch_time_t t;
    sch_time_t end;             /* its incarnation's end, or now */
    unsigned int dom;
    bool on;                    /* it turns on (else off) */
};

/* A domain's flows, as the memo compares them; all 0 when none. */
struct ent_key {
    uint32_t n;                 /* vCPUs wanting CPU */
    uint32_t weight, cap_pct, mask;
};

struct ent_dom {
    bool alive, bursty;
    uint32_t weight, cap_pct, mask;
    uint32_t n_on;              /* bursty: vCPUs in their on phase */
    double demand;              /* per vCPU wanting CPU */
    double rate;                /* pCPUs it is entitled to now */
    sch_time_t since;           /* rate integrated up to here */
    double cum;                 /* entitled ns up to since */
    long long emitted;          /* of which written to windows, rounded */
};

struct ent_memo {
    size_t *slot;               /* entry + 1, 0: free; nslot a power of 2 */
    size_t nslot;
    uint64_t *hash;
    struct ent_key *keys;       /* [entry * nd + d] */
    double *rates;              /* [entry * nd + d] */
    size_t n, cap, max;
};

struct ent_run {
    const struct sim *sim;
    unsigned int nd, nw;
    sch_time_t now;
    sch_time_t *win;
    struct ent_dom *dom;
    struct sch_cpumask *masks;
    unsigned int nmasks;
    struct ent_ev *ev;
    size_t nev;
    struct ent_turn *heap;
    size_t nheap;
    struct ent_key *key;        /* the state now */
    double *rate;               /* its allocation, per domain */
    struct sim_ent_group *groups;
    double *caps, *grate;
    struct ent_memo memo;
    struct sch_cpumask host;
};

static unsigned int run_mask(struct ent_run *r, const struct sch_cpumask *m)
{
    struct sch_cpumask aff;
    unsigned int i;

    sch_cpumask_and(&aff, m, &r->host);
    for ( i = 0; i < r->nmasks; i++ )
        if ( sim__cpumask_eq(&r->masks[i], &aff) )
            return i;
    r->masks[r->nmasks] = aff;
    return r->nmasks++;
}

static int ev_cmp(const void *a, const void *b)
{
    const struct ent_ev *x = a, *y = b;

    if ( x->t != y->t )
        return x->t < y->t ? -1 : 1;
    if ( x->kind != y->kind )
        return x->kind < y->kind ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void heap_push(struct ent_run *r, struct ent_turn t)
{
    size_t i = r->nheap++;

    while ( i > 0 && r->heap[(i - 1) / 2].t > t.t )
    {
        r->heap[i] = r->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->heap[i] = t;
}

static struct ent_turn heap_pop(struct ent_run *r)
{
    struct ent_turn top = r->heap[0], last = r->heap[--r->nheap];
    size_t i = 0, n = r->nheap;

    for ( ;; )
    {
        size_t c = 2 * i + 1;

        if ( c >= n )
            break;
        if ( c + 1 < n && r->heap[c + 1].t < r->heap[c].t )
            c++;
        if ( r->heap[c].t >= last.t )
            break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if ( n )
        r->heap[i] = last;
    return top;
}

/* The breakpoints the run recorded, sorted; the masks they use. */
static int run_events(struct ent_run *r)
{
    const struct sim *sim = r->sim;
    size_t n = sim->pins_done + sim->nr_sched_sets, k;
    unsigned int d, i;

    for ( d = 0; d < r->nd; d++ )
        n += 2 * (size_t)sim->doms[d].nr_inc;
    r->ev = malloc((n ? n : 1) * sizeof(*r->ev));
    r->masks = malloc((r->nd + sim->pins_done + 1) * sizeof(*r->masks));
    if ( !r->ev || !r->masks )
        return -ENOMEM;
    for ( d = 0; d < r->nd; d++ )
    {
        const struct sim_dom *sd = &sim->doms[d];

        r->dom[d].mask = run_mask(r, &sd->spec->affinity);
        for ( i = 0; i < sd->nr_inc; i++ )
        {
            r->ev[r->nev] = (struct ent_ev){ .t = sd->inc[i].created_ns,
                .kind = ENT_EV_CREATE, .dom = d, .seq = r->nev, .a = i };
            r->nev++;
            if ( sd->inc[i].ended_ns < 0 )
                continue;
            r->ev[r->nev] = (struct ent_ev){ .t = sd->inc[i].ended_ns,
                .kind = ENT_EV_END, .dom = d, .seq = r->nev };
            r->nev++;
        }
    }
    for ( k = 0; k < sim->pins_done; k++ )
    {
        const struct sim_pin *p = &sim->pins[k];
        const struct sch_cpumask *m = &sim->sc->domains[p->dom].repin[p->k]
                                                .affinity;

        /* As dom_repin: one to no pCPU of the host is ignored. */
        if ( !sch_cpumask_intersects(m, &r->host) )
            continue;
        r->ev[r->nev] = (struct ent_ev){ .t = p->at_ns, .kind = ENT_EV_PIN,
            .dom = p->dom, .seq = r->nev, .a = run_mask(r, m) };
        r->nev++;
    }
    for ( k = 0; k < sim->nr_sched_sets; k++ )
    {
        const struct sim_sched_set *s = &sim->sched_sets[k];

        r->ev[r->nev] = (struct ent_ev){ .t = s->at_ns,
            .kind = ENT_EV_SCHED, .dom = s->dom, .seq = r->nev,
            .a = s->weight, .b = s->cap_pct };
        r->nev++;
    }
    qsort(r->ev, r->nev, sizeof(*r->ev), ev_cmp);
    return 0;
}

static void run_key(struct ent_run *r, unsigned int d)
{
    const struct ent_dom *x = &r->dom[d];
    uint32_t n = !x->alive ? 0 : x->bursty ? x->n_on
                                           : r->sim->doms[d].spec->vcpus;

    if ( !n || !(x->demand > 0) )
        r->key[d] = (struct ent_key){ 0, 0, 0, 0 };
    else
        r->key[d] = (struct ent_key){ n, x->weight, x->cap_pct, x->mask };
}

/* Incarnation @k of bursty domain @d begins: each vCPU's first turn. */
static void run_bursty_start(struct ent_run *r, unsigned int d, unsigned int k)
{
    const struct sim_dom *sd = &r->sim->doms[d];
    const struct sim_workload *w = &sd->spec->workload;
    sch_time_t end = sd->inc[k].ended_ns, c = sd->inc[k].created_ns;
    unsigned int j, nv = sd->spec->vcpus;

    if ( end < 0 || end > r->now )
        end = r->now;
    /* An on phase of no length is never on (the vCPU blocks at once). */
    for ( j = 0; w->on_ns > 0 && j < nv; j++ )
    {
        sch_time_t t = c + sd->phase0[(size_t)k * nv + j];

        if ( t < end )
            heap_push(r, (struct ent_turn){ t, end, d, true });
    }
}

static void run_apply(struct ent_run *r, const struct ent_ev *e)
{
    struct ent_dom *x = &r->dom[e->dom];

    switch ( e->kind )
    {
    case ENT_EV_END:
        x->alive = false;
        x->n_on = 0;
        break;
    case ENT_EV_CREATE:
        x->alive = true;
        x->n_on = 0;
        if ( x->bursty )
            run_bursty_start(r, e->dom, e->a);
        break;
    case ENT_EV_PIN:
        x->mask = e->a;
        break;
    case ENT_EV_SCHED:
        x->weight = e->a;
        x->cap_pct = e->b;
        break;
    }
    run_key(r, e->dom);
}

/* A bursty vCPU's phase turns; its next turn, if before the end. */
static void run_turn(struct ent_run *r, struct ent_turn t)
{
    const struct sim_workload *w = &r->sim->doms[t.dom].spec->workload;
    struct ent_dom *x = &r->dom[t.dom];
    struct ent_turn next = t;

    if ( t.on )
        x->n_on++;
    else
        x->n_on--;
    run_key(r, t.dom);
    next.on = !t.on;
    next.t = t.t + (t.on ? w->on_ns : w->off_ns);
    if ( next.t < t.end )
        heap_push(r, next);
}

/* Add [since, @t) at the domain's rate to its windows. */
static void run_flush(struct ent_run *r, unsigned int d, sch_time_t t)
{
    struct ent_dom *x = &r->dom[d];
    sch_time_t from = x->since;

    x->since = t;
    if ( !(x->rate > 0) )
        return;
    while ( from < t )
    {
        unsigned int w = (unsigned int)(from / SIM_WINDOW_NS);
        sch_time_t end = (sch_time_t)(w + 1) * SIM_WINDOW_NS;
        long long v;

        if ( end > t )
            end = t;
        /* Windows get the steps of the rounded running total, so they
         * add up to it exactly. */
        x->cum += x->rate * (double)(end - from);
        v = llround(x->cum);
        r->win[(size_t)d * r->nw + w] += v - x->emitted;
        x->emitted = v;
        from = end;
    }
}

static uint64_t key_hash(const struct ent_key *k, unsigned int nd)
{
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned int d;

    for ( d = 0; d < nd; d++ )
    {
        h = (h ^ k[d].n) * 0x100000001b3ull;
        h = (h ^ k[d].weight) * 0x100000001b3ull;
        h = (h ^ k[d].cap_pct) * 0x100000001b3ull;
        h = (h ^ k[d].mask) * 0x100000001b3ull;
    }
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
}

/* The remembered allocation of the state now, or NULL. */
static const double *memo_find(struct ent_run *r, uint64_t h)
{
    struct ent_memo *m = &r->memo;
    size_t i;

    if ( !m->nslot )
        return NULL;
    for ( i = h & (m->nslot - 1); m->slot[i]; i = (i + 1) & (m->nslot - 1) )
    {
        size_t e = m->slot[i] - 1;

        if ( m->hash[e] == h &&
             !memcmp(&m->keys[e * r->nd], r->key, r->nd * sizeof(*r->key)) )
            return &m->rates[e * r->nd];
    }
    return NULL;
}

static void memo_slot(struct ent_memo *m, size_t e)
{
    size_t i = m->hash[e] & (m->nslot - 1);

    while ( m->slot[i] )
        i = (i + 1) & (m->nslot - 1);
    m->slot[i] = e + 1;
}

/* Remember the state now and @rate; out of memory or room, forget it
 * (it is only solved again). */
static void memo_add(struct ent_run *r, uint64_t h)
{
    struct ent_memo *m = &r->memo;
    size_t nd = r->nd, e;

    if ( m->n >= m->max )
        return;
    if ( m->n == m->cap )
    {
        size_t cap = m->cap ? m->cap * 2 : 16;
        uint64_t *hash;
        struct ent_key *keys;
        double *rates;

        if ( cap > m->max )
            cap = m->max;
        hash = realloc(m->hash, cap * sizeof(*hash));
        if ( hash )
            m->hash = hash;
        keys = realloc(m->keys, cap * nd * sizeof(*keys));
        if ( keys )
            m->keys = keys;
        rates = realloc(m->rates, cap * nd * sizeof(*rates));
        if ( rates )
            m->rates = rates;
        if ( !hash || !keys || !rates )
            return;
        m->cap = cap;
    }
    if ( 2 * (m->n + 1) > m->nslot )
    {
        size_t ns = m->nslot ? m->nslot * 2 : 64;
        size_t *slot = calloc(ns, sizeof(*slot));

        if ( !slot )
            return;
        free(m->slot);
        m->slot = slot;
        m->nslot = ns;
        for ( e = 0; e < m->n; e++ )
            memo_slot(m, e);
    }
    e = m->n++;
    m->hash[e] = h;
    memcpy(&m->keys[e * nd], r->key, nd * sizeof(*r->key));
    memcpy(&m->rates[e * nd], r->rate, nd * sizeof(*r->rate));
    memo_slot(m, e);
}

/* Solve the state now into r->rate. */
static int run_solve(struct ent_run *r)
{
    unsigned int d, ng = 0, i;
    int rc;

    for ( d = 0; d < r->nd; d++ )
    {
        const struct ent_key *k = &r->key[d];

        r->rate[d] = 0;
        r->caps[d] = k->cap_pct / 100.0;
        if ( !k->n )
            continue;
        r->groups[ng++] = (struct sim_ent_group){
            .dom = d,
            .nr = k->n,
            .weight = k->weight,
            .demand = r->dom[d].demand,
            .affinity = r->masks[k->mask],
        };
    }
    rc = sim_entitle_solve(r->sim->sc->pcpus, r->groups, ng, r->caps, r->nd,
                           r->grate);
    for ( i = 0; !rc && i < ng; i++ )
        r->rate[r->groups[i].dom] = r->groups[i].nr * r->grate[i];
    return rc;
}

/* The state changed at @t: the allocation from @t on. */
static int run_restate(struct ent_run *r, sch_time_t t)
{
    uint64_t h = key_hash(r->key, r->nd);
    const double *rate = memo_find(r, h);
    unsigned int d;
    int rc;

    if ( !rate )
    {
        if ( (rc = run_solve(r)) )
            return rc;
        memo_add(r, h);
        rate = r->rate;
    }
    for ( d = 0; d < r->nd; d++ )
        if ( rate[d] != r->dom[d].rate )
        {
            run_flush(r, d, t);
            r->dom[d].rate = rate[d];
        }
    return 0;
}

static void run_free(struct ent_run *r)
{
    free(r->dom);
    free(r->masks);
    free(r->ev);
    free(r->heap);
    free(r->key);
    free(r->rate);
    free(r->groups);
    free(r->caps);
    free(r->grate);
    free(r->memo.slot);
    free(r->memo.hash);
    free(r->memo.keys);
    free(r->memo.rates);
}

/*
 * A request domain's demand as the run drew it: the work of the requests
 * that arrived over the time its vCPUs were alive (a Poisson count is the
 * rate only on average: over 10 s at 100 a second it is off by 3% either
 * way one time in three).
 */
static double run_requests(const struct ent_run *r, unsigned int d)
{
    const struct sim_dom *sd = &r->sim->doms[d];
    const struct sim_workload *w = &sd->spec->workload;
    double alive = 0, dem;
    unsigned int k;

    for ( k = 0; k < sd->nr_inc; k++ )
    {
        sch_time_t e = sd->inc[k].ended_ns;

        if ( e < 0 || e > r->now )
            e = r->now;
        alive += (double)(e - sd->inc[k].created_ns);
    }
    if ( !(alive > 0) )
        return demand_of(w);
    dem = (double)sd->requests * (double)w->service_ns /
          (alive * sd->spec->vcpus);
    return dem < 1.0 ? dem : 1.0;
}

int sim__entitle_run(const struct sim *sim, unsigned int nw,
                     sch_time_t *win)
{
    struct ent_run r = { .sim = sim, .nd = sim->sc->nr_domains, .nw = nw,
                         .now = sim->now, .win = win };
    size_t nd = r.nd ? r.nd : 1, nv = 0, i = 0;
    unsigned int d, cpu;
    int rc = -ENOMEM;

    memset(win, 0, (size_t)r.nd * nw * sizeof(*win));
    for ( cpu = 0; cpu < sim->sc->pcpus; cpu++ )
        sch_cpumask_set(&r.host, cpu);
    for ( d = 0; d < r.nd; d++ )
        if ( phased(&sim->doms[d].spec->workload) )
            nv += sim->doms[d].spec->vcpus;
    r.dom = calloc(nd, sizeof(*r.dom));
    r.heap = malloc((nv ? nv : 1) * sizeof(*r.heap));
    r.key = calloc(nd, sizeof(*r.key));
    r.rate = calloc(nd, sizeof(*r.rate));
    r.groups = calloc(nd, sizeof(*r.groups));
    r.caps = calloc(nd, sizeof(*r.caps));
    r.grate = calloc(nd, sizeof(*r.grate));
    if ( !r.dom || !r.heap || !r.key || !r.rate || !r.groups || !r.caps ||
         !r.grate )
        goto out;
    r.memo.max = ENT_MEMO_BYTES /
                 (nd * (sizeof(struct ent_key) + sizeof(double)) + 8);
    if ( !r.memo.max )
        r.memo.max = 1;
    for ( d = 0; d < r.nd; d++ )
    {
        const struct sim_dom *sd = &sim->doms[d];

        r.dom[d].bursty = phased(&sd->spec->workload);
        r.dom[d].demand = sd->spec->workload.type == SIM_WL_REQUEST
                          ? run_requests(&r, d)
                          : demand_of(&sd->spec->workload);
        r.dom[d].weight = sd->spec->weight;
        r.dom[d].cap_pct = sd->spec->cap_pct;
    }
    if ( (rc = run_events(&r)) )
        goto out;

    for ( ;; )
    {
        sch_time_t t = r.now;

        if ( i < r.nev && r.ev[i].t < t )
            t = r.ev[i].t;
        if ( r.nheap && r.heap[0].t < t )
            t = r.heap[0].t;
        /* What happens at now or later changes nothing before now. */
        if ( t >= r.now )
            break;
        /* All of this moment first (turns last: a creation may start an
         * on phase at once), then one solve. */
        while ( i < r.nev && r.ev[i].t == t )
            run_apply(&r, &r.ev[i++]);
        while ( r.nheap && r.heap[0].t == t )
            run_turn(&r, heap_pop(&r));
        if ( (rc = run_restate(&r, t)) )
            goto out;
    }
    for ( d = 0; d < r.nd; d++ )
        run_flush(&r, d, r.now);
    rc = 0;
 out:
    run_free(&r);
    return rc;
}
