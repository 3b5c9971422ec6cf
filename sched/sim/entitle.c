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
 * fits in a measuring window (see phased()).  A flow runs only on the pCPUs of its
 * hard affinity and on one at a time; a domain's flows together get at
 * most its cap; a pCPU gives at most all of its time.  The entitlement is
 * the weighted max-min fair allocation under these constraints: no flow
 * could get more without taking from one whose rate / weight is no
 * larger.  It exists and is unique, since every constraint is a sum of
 * rates bounded above (a packing polytope).
 *
 * Schedulability.  Rates x_v (each <= 1) can be run on the pCPUs, each
 * vCPU on one pCPU at a time, exactly when a flow network carries them:
 * source -> vCPU (x_v) -> its allowed pCPUs -> sink (1 per pCPU); a
 * fractional assignment with rows and columns summing to at most 1 is a
 * mix of matchings (Birkhoff), i.e. a preemptive schedule.  By Hall's
 * theorem that is: for every set S of vCPUs, sum(x, S) <= |pCPUs S may
 * use|.  Whether given rates fit depends only on the total per distinct
 * affinity mask, so the network here has one node per mask class (not
 * per vCPU): source -> class (its total) -> its pCPUs -> sink; pCPUs in
 * exactly the same classes are one node, its sink edge their number.  The
 * domain caps are a separate sum each, checked directly: with every
 * group's rate given, an edge source -> domain of capacity cap in front
 * of its groups holds exactly when that sum does.
 *
 * The algorithm: progressive filling.  Raise a level lambda; each flow
 * that is not frozen gets min(weight x lambda, demand).  Find the largest
 * feasible lambda: the least of each unfrozen flow's demand / weight, each
 * domain's (cap - frozen) / (unfrozen weight), and the Hall sets', found
 * by Newton's method on the parametric cut (Dinkelbach): at a lambda
 * where a max flow (Dinic) falls short, its min cut is the most violated
 * set S; the level where S just fits, (|N(S)| - frozen in S) / (weight in
 * S), is the next, lower, guess; each guess is exact, and a few steps
 * find the one that fits.  Then freeze the flows that cannot grow: demand
 * reached, domain at its cap, or no path from their class to the sink in
 * the residual network (a tight Hall set holds them).  Repeat until all
 * are frozen; each round freezes at least one group.  When every flow may
 * run on the same pCPUs (no affinity, the common case), the only Hall set
 * that matters is all of them, and no flow network is built: plain
 * water-filling.
 *
 * Precision: double arithmetic, with any constraint within 1e-9 of a
 * pCPU of its bound taken as tight (ENT_EPS).  Levels are computed in
 * closed form, never by bisection, so each rate is exact to about that.
 *
 * Cost of one solve, G groups (vCPUs of a domain in one state), M mask
 * classes, P pCPUs: at most G rounds of O(G), plus, with M > 1, one to
 * three max flows per round on at most 2 + M + P nodes.  bench-64 (256
 * groups, one class) takes a few rounds of a few hundred operations;
 * docs/simulator.md has measured costs.
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

/* Capacity left below this, in pCPUs, counts as none. */
#define ENT_EPS         1e-9
#define ENT_NONE        UINT_MAX
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
/* Max flow (Dinic) on source -> mask classes -> pCPUs -> sink         */

#define ENT_S   0u
#define ENT_T   1u

struct ent_edge {
    unsigned int to, next;      /* next: the next edge out of the tail */
    double cap, flow;
};

struct ent_net {
    unsigned int nodes, nedges;
    struct ent_edge *e;         /* edge i and i ^ 1 are a pair */
    unsigned int *head, *it, *level, *queue;
};

static void net_add(struct ent_net *n, unsigned int u, unsigned int v,
                    double cap)
{
    n->e[n->nedges] = (struct ent_edge){ v, n->head[u], cap, 0 };
    n->head[u] = n->nedges++;
    n->e[n->nedges] = (struct ent_edge){ u, n->head[v], 0, 0 };
    n->head[v] = n->nedges++;
}

static double net_residual(const struct ent_edge *e)
{
    return e->cap - e->flow;
}

/* Levels from the source over edges with capacity left; whether the sink
 * is reached.  When it is not, the levelled nodes are a min cut's source
 * side. */
static bool net_bfs(struct ent_net *n)
{
    unsigned int qh = 0, qt = 0, u, i;

    for ( i = 0; i < n->nodes; i++ )
        n->level[i] = ENT_NONE;
    n->level[ENT_S] = 0;
    n->queue[qt++] = ENT_S;
    while ( qh < qt )
    {
        u = n->queue[qh++];
        for ( i = n->head[u]; i != ENT_NONE; i = n->e[i].next )
        {
            unsigned int v = n->e[i].to;

            if ( n->level[v] == ENT_NONE &&
                 net_residual(&n->e[i]) > ENT_EPS )
            {
                n->level[v] = n->level[u] + 1;
                n->queue[qt++] = v;
            }
        }
    }
    return n->level[ENT_T] != ENT_NONE;
}

/* One augmenting path in the level graph; depth is at most the number of
 * nodes. */
static double net_dfs(struct ent_net *n, unsigned int u, double f)
{
    if ( u == ENT_T )
        return f;
    for ( ; n->it[u] != ENT_NONE; n->it[u] = n->e[n->it[u]].next )
    {
        unsigned int i = n->it[u];
        struct ent_edge *e = &n->e[i];
        double r = net_residual(e), got;

        if ( r <= ENT_EPS || n->level[e->to] != n->level[u] + 1 )
            continue;
        got = net_dfs(n, e->to, f < r ? f : r);
        if ( got > 0 )
        {
            e->flow += got;
            n->e[i ^ 1].flow -= got;
            return got;
        }
    }
    return 0;
}

static double net_maxflow(struct ent_net *n)
{
    double total = 0, f;
    unsigned int i;

    for ( i = 0; i < n->nedges; i++ )
        n->e[i].flow = 0;
    while ( net_bfs(n) )
    {
        memcpy(n->it, n->head, n->nodes * sizeof(*n->it));
        while ( (f = net_dfs(n, ENT_S, INFINITY)) > 0 )
            total += f;
    }
    return total;
}

/* Mark in level[] (0, else ENT_NONE) the nodes that can still push flow
 * to the sink. */
static void net_to_sink(struct ent_net *n)
{
    unsigned int qh = 0, qt = 0, v, i;

    for ( i = 0; i < n->nodes; i++ )
        n->level[i] = ENT_NONE;
    n->level[ENT_T] = 0;
    n->queue[qt++] = ENT_T;
    while ( qh < qt )
    {
        v = n->queue[qh++];
        for ( i = n->head[v]; i != ENT_NONE; i = n->e[i].next )
        {
            unsigned int u = n->e[i].to;

            /* edge i is v -> u; its pair i ^ 1 is u -> v */
            if ( n->level[u] == ENT_NONE &&
                 net_residual(&n->e[i ^ 1]) > ENT_EPS )
            {
                n->level[u] = 0;
                n->queue[qt++] = u;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Progressive filling                                                */

/* What held the level in a round, for when tolerance freezes nothing. */
enum ent_bind { ENT_B_DEMAND, ENT_B_CAP, ENT_B_POOL, ENT_B_HALL };

struct ent_solver {
    unsigned int pcpus, ng, nd, ncls;
    const struct sim_ent_group *g;
    const double *cap;
    double *x;                  /* rate per flow of each group */
    double *dem;                /* demand, 0..1 */
    unsigned int *cls;          /* mask class; ENT_NONE: gets nothing */
    bool *frozen;
    struct sch_cpumask *cmask;  /* per class */
    unsigned int *ccpus;        /* per class: its pCPUs */
    double *cw, *cf;            /* per class: sum(nr w) unfrozen, */
    double *dw, *df;            /* sum(nr x) frozen; per domain too */
    double *ct;                 /* per class: its total now */
    bool *in_s;                 /* per class: in the last violated set */
    struct ent_net net;
    double flow_lam;            /* the net holds a max flow at this */
    enum ent_bind bind;
    unsigned int bind_at;       /* the group or domain that bound */
};

static void solver_free(struct ent_solver *s)
{
    free(s->x);
    free(s->dem);
    free(s->cls);
    free(s->frozen);
    free(s->cmask);
    free(s->ccpus);
    free(s->cw);
    free(s->cf);
    free(s->dw);
    free(s->df);
    free(s->ct);
    free(s->in_s);
    free(s->net.e);
    free(s->net.head);
    free(s->net.it);
    free(s->net.level);
    free(s->net.queue);
}

static unsigned int mask_count(const struct sch_cpumask *m)
{
    unsigned int i, n = 0;

    for ( i = 0; i < SCH_MASK_WORDS; i++ )
        n += (unsigned int)__builtin_popcountll(m->bits[i]);
    return n;
}

static bool mask_eq(const struct sch_cpumask *a, const struct sch_cpumask *b)
{
    return !memcmp(a->bits, b->bits, sizeof(a->bits));
}

/* Do pCPUs @a and @b belong to the very same classes? */
static bool same_classes(const struct ent_solver *s, unsigned int a,
                         unsigned int b)
{
    unsigned int m;

    for ( m = 0; m < s->ncls; m++ )
        if ( sch_cpumask_test(&s->cmask[m], a) !=
             sch_cpumask_test(&s->cmask[m], b) )
            return false;
    return true;
}

/*
 * The network of the classes; only built when there are two or more.
 * pCPUs that belong to the same classes are interchangeable, so they are
 * one node, its edge to the sink carrying their number: the same flows,
 * fewer nodes and far fewer augmenting paths.
 */
static int solver_net(struct ent_solver *s)
{
    struct ent_net *n = &s->net;
    unsigned int m, cpu, i, nsig = 0, edges = s->ncls;
    unsigned int rep[SCH_MAX_CPUS], count[SCH_MAX_CPUS];
    uint64_t sig[SCH_MAX_CPUS], h[SCH_MAX_CPUS];

    /* A hash of each pCPU's classes, to compare few pairs in full. */
    for ( cpu = 0; cpu < s->pcpus; cpu++ )
        h[cpu] = 0;
    for ( m = 0; m < s->ncls; m++ )
        sch_for_each_cpu(cpu, &s->cmask[m])
            h[cpu] = (h[cpu] ^ (m + 1)) * 0x100000001b3ull;
    for ( cpu = 0; cpu < s->pcpus; cpu++ )
    {
        for ( i = 0; i < nsig; i++ )
            if ( sig[i] == h[cpu] && same_classes(s, rep[i], cpu) )
                break;
        if ( i == nsig )
        {
            sig[nsig] = h[cpu];
            rep[nsig] = cpu;
            count[nsig++] = 0;
        }
        count[i]++;
    }
    for ( m = 0; m < s->ncls; m++ )
        for ( i = 0; i < nsig; i++ )
            edges += sch_cpumask_test(&s->cmask[m], rep[i]);
    edges += nsig;
    n->nodes = 2 + s->ncls + nsig;
    n->e = malloc(2 * (size_t)edges * sizeof(*n->e));
    n->head = malloc(n->nodes * sizeof(*n->head));
    n->it = malloc(n->nodes * sizeof(*n->it));
    n->level = malloc(n->nodes * sizeof(*n->level));
    n->queue = malloc(n->nodes * sizeof(*n->queue));
    if ( !n->e || !n->head || !n->it || !n->level || !n->queue )
        return -ENOMEM;
    for ( i = 0; i < n->nodes; i++ )
        n->head[i] = ENT_NONE;
    /* source -> class m is edge 2m: its capacity is set per check */
    for ( m = 0; m < s->ncls; m++ )
        net_add(n, ENT_S, 2 + m, 0);
    for ( m = 0; m < s->ncls; m++ )
        for ( i = 0; i < nsig; i++ )
            if ( sch_cpumask_test(&s->cmask[m], rep[i]) )
                net_add(n, 2 + m, 2 + s->ncls + i, INFINITY);
    for ( i = 0; i < nsig; i++ )
        net_add(n, 2 + s->ncls + i, ENT_T, count[i]);
    return 0;
}

/* Max flow with class m carrying ct[m]; how much of the total it lacks. */
static double solver_shortfall(struct ent_solver *s)
{
    double want = 0;
    unsigned int m;

    for ( m = 0; m < s->ncls; m++ )
    {
        s->net.e[2 * m].cap = s->ct[m];
        want += s->ct[m];
    }
    return want - net_maxflow(&s->net);
}

/* The sums by class and domain of what is frozen and of the weight that
 * is not; whether any group is unfrozen. */
static bool solver_sums(struct ent_solver *s)
{
    unsigned int i, m;
    bool any = false;

    for ( m = 0; m < s->ncls; m++ )
        s->cw[m] = s->cf[m] = 0;
    for ( i = 0; i < s->ng; i++ )
        s->dw[s->g[i].dom] = s->df[s->g[i].dom] = 0;
    for ( i = 0; i < s->ng; i++ )
    {
        const struct sim_ent_group *g = &s->g[i];

        if ( s->cls[i] == ENT_NONE )
            continue;
        if ( s->frozen[i] )
        {
            s->cf[s->cls[i]] += g->nr * s->x[i];
            s->df[g->dom] += g->nr * s->x[i];
        }
        else
        {
            s->cw[s->cls[i]] += g->nr * g->weight;
            s->dw[g->dom] += g->nr * g->weight;
            any = true;
        }
    }
    return any;
}

/*
 * The largest level at most @lam at which every Hall set fits: Newton's
 * method on the parametric cut, from above.  Each step's level is where
 * the violated set just fits, so it never goes below the answer.
 */
static double solver_newton(struct ent_solver *s, double lam)
{
    unsigned int m, iter, cpu;

    for ( iter = 0; iter < 64; iter++ )
    {
        struct sch_cpumask cut;
        double f = 0, w = 0, next;

        for ( m = 0; m < s->ncls; m++ )
            s->ct[m] = s->cf[m] + s->cw[m] * lam;
        if ( solver_shortfall(s) <= ENT_EPS )
        {
            s->flow_lam = lam;
            break;
        }
        s->flow_lam = NAN;
        /* The source side of the min cut: the most violated set. */
        sch_cpumask_clear_all(&cut);
        for ( m = 0; m < s->ncls; m++ )
        {
            s->in_s[m] = s->net.level[2 + m] != ENT_NONE;
            if ( !s->in_s[m] )
                continue;
            f += s->cf[m];
            w += s->cw[m];
            sch_for_each_cpu(cpu, &s->cmask[m])
                sch_cpumask_set(&cut, cpu);
        }
        if ( w <= 0 )
            break;      /* frozen flows alone: rounding, not a set */
        next = ((double)mask_count(&cut) - f) / w;
        if ( !(next < lam) )
            break;
        lam = next > 0 ? next : 0;
        s->bind = ENT_B_HALL;
    }
    return lam;
}

static void solver_freeze(struct ent_solver *s, unsigned int i)
{
    s->frozen[i] = true;
}

/*
 * At level @lam, freeze every group that cannot grow: its demand reached,
 * its domain at its cap, or its class cut off from the sink.  Returns how
 * many it froze.
 */
static unsigned int solver_block(struct ent_solver *s, double lam)
{
    unsigned int i, m, n = 0;
    double total = 0;

    for ( i = 0; i < s->ng; i++ )
        if ( !s->frozen[i] && s->g[i].weight * lam >= s->dem[i] * (1 - 1e-12) )
        {
            s->x[i] = s->dem[i];
            solver_freeze(s, i);
            n++;
        }

    /* Domain totals, all groups: df is reused for them here. */
    for ( i = 0; i < s->ng; i++ )
        s->df[s->g[i].dom] = 0;
    for ( i = 0; i < s->ng; i++ )
        if ( s->cls[i] != ENT_NONE )
            s->df[s->g[i].dom] += s->g[i].nr * s->x[i];
    for ( i = 0; i < s->ng; i++ )
    {
        double c = s->cap[s->g[i].dom];

        if ( !s->frozen[i] && c > 0 && s->df[s->g[i].dom] >= c - ENT_EPS )
        {
            solver_freeze(s, i);
            n++;
        }
    }

    for ( m = 0; m < s->ncls; m++ )
        s->ct[m] = 0;
    for ( i = 0; i < s->ng; i++ )
        if ( s->cls[i] != ENT_NONE )
            s->ct[s->cls[i]] += s->g[i].nr * s->x[i];
    if ( s->ncls == 1 )
    {
        total = s->ct[0];
        for ( i = 0; i < s->ng; i++ )
            if ( !s->frozen[i] && s->cls[i] != ENT_NONE &&
                 total >= s->ccpus[0] - ENT_EPS )
            {
                solver_freeze(s, i);
                n++;
            }
    }
    else if ( s->ncls > 1 )
    {
        /* Newton's last check fitted this very level: its flow will do
         * (the totals differ by at most the demand test's rounding). */
        if ( !(s->flow_lam == lam) )
            solver_shortfall(s);
        net_to_sink(&s->net);
        for ( i = 0; i < s->ng; i++ )
            if ( !s->frozen[i] && s->cls[i] != ENT_NONE &&
                 s->net.level[2 + s->cls[i]] == ENT_NONE )
            {
                solver_freeze(s, i);
                n++;
            }
    }
    return n;
}

/* Nothing passed the tolerance tests: freeze what bound the level, which
 * is tight by construction, so every round makes progress. */
static void solver_force(struct ent_solver *s)
{
    unsigned int i;

    for ( i = 0; i < s->ng; i++ )
    {
        bool hit;

        if ( s->frozen[i] )
            continue;
        switch ( s->bind )
        {
        case ENT_B_DEMAND:
            hit = i == s->bind_at;
            break;
        case ENT_B_CAP:
            hit = s->g[i].dom == s->bind_at;
            break;
        case ENT_B_HALL:
            hit = s->in_s[s->cls[i]];
            break;
        case ENT_B_POOL:
        default:
            hit = true;
            break;
        }
        if ( hit )
            solver_freeze(s, i);
    }
}

static int solver_fill(struct ent_solver *s)
{
    double lam_prev = 0;
    unsigned int i;
    int rc;

    if ( s->ncls > 1 && (rc = solver_net(s)) )
        return rc;
    while ( solver_sums(s) )
    {
        double lam = INFINITY;

        for ( i = 0; i < s->ng; i++ )
            if ( !s->frozen[i] && s->dem[i] / s->g[i].weight < lam )
            {
                lam = s->dem[i] / s->g[i].weight;
                s->bind = ENT_B_DEMAND;
                s->bind_at = i;
            }
        for ( i = 0; i < s->ng; i++ )
        {
            unsigned int d = s->g[i].dom;
            double c = s->cap[d];

            if ( !s->frozen[i] && c > 0 && s->dw[d] > 0 &&
                 (c - s->df[d]) / s->dw[d] < lam )
            {
                lam = (c - s->df[d]) / s->dw[d];
                s->bind = ENT_B_CAP;
                s->bind_at = d;
            }
        }
        if ( s->ncls == 1 )
        {
            double l = ((double)s->ccpus[0] - s->cf[0]) / s->cw[0];

            if ( l < lam )
            {
                lam = l;
                s->bind = ENT_B_POOL;
            }
        }
        else
            lam = solver_newton(s, lam);
        /* Never below the last round's: rounding must not undo it. */
        if ( lam < lam_prev )
        {
            lam = lam_prev;
            s->flow_lam = NAN;
        }
        for ( i = 0; i < s->ng; i++ )
            if ( !s->frozen[i] )
                s->x[i] = fmin(s->g[i].weight * lam, s->dem[i]);
        if ( !solver_block(s, lam) )
            solver_force(s);
        lam_prev = lam;
    }
    return 0;
}

int sim_entitle_solve(unsigned int pcpus, const struct sim_ent_group *g,
                      unsigned int ng, const double *cap,
                      unsigned int nr_doms, double *rate)
{
    struct ent_solver s = { .pcpus = pcpus, .ng = ng, .nd = nr_doms,
                            .g = g, .cap = cap, .flow_lam = NAN };
    struct sch_cpumask host;
    size_t n = ng ? ng : 1, nd = nr_doms ? nr_doms : 1;
    unsigned int i, cpu, m;
    int rc = -ENOMEM;

    if ( pcpus == 0 || pcpus > SCH_MAX_CPUS )
        return -EINVAL;
    for ( i = 0; i < nr_doms; i++ )
        if ( isnan(cap[i]) || cap[i] < 0 )
            return -EINVAL;
    for ( i = 0; i < ng; i++ )
        if ( g[i].dom >= nr_doms || !(g[i].weight > 0) ||
             !isfinite(g[i].weight) || isnan(g[i].demand) )
            return -EINVAL;

    s.x = calloc(n, sizeof(*s.x));
    s.dem = calloc(n, sizeof(*s.dem));
    s.cls = calloc(n, sizeof(*s.cls));
    s.frozen = calloc(n, sizeof(*s.frozen));
    s.cmask = calloc(n, sizeof(*s.cmask));
    s.ccpus = calloc(n, sizeof(*s.ccpus));
    s.cw = calloc(n, sizeof(*s.cw));
    s.cf = calloc(n, sizeof(*s.cf));
    s.ct = calloc(n, sizeof(*s.ct));
    s.in_s = calloc(n, sizeof(*s.in_s));
    s.dw = calloc(nd, sizeof(*s.dw));
    s.df = calloc(nd, sizeof(*s.df));
    if ( !s.x || !s.dem || !s.cls || !s.frozen || !s.cmask || !s.ccpus ||
         !s.cw || !s.cf || !s.ct || !s.in_s || !s.dw || !s.df )
        goto out;

    sch_cpumask_clear_all(&host);
    for ( cpu = 0; cpu < pcpus; cpu++ )
        sch_cpumask_set(&host, cpu);
    for ( i = 0; i < ng; i++ )
    {
        struct sch_cpumask aff;

        s.cls[i] = ENT_NONE;
        s.frozen[i] = true;
        s.dem[i] = g[i].demand < 1 ? g[i].demand : 1;
        sch_cpumask_and(&aff, &g[i].affinity, &host);
        /* Wanting nothing, or nowhere to run: 0. */
        if ( !g[i].nr || !(s.dem[i] > 0) || sch_cpumask_empty(&aff) )
            continue;
        for ( m = 0; m < s.ncls && !mask_eq(&s.cmask[m], &aff); m++ )
            ;
        if ( m == s.ncls )
        {
            s.cmask[m] = aff;
            s.ccpus[m] = mask_count(&aff);
            s.ncls++;
        }
        s.cls[i] = m;
        s.frozen[i] = false;
    }
    rc = solver_fill(&s);
    for ( i = 0; !rc && i < ng; i++ )
        rate[i] = s.x[i];
 out:
    solver_free(&s);
    return rc;
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
        if ( mask_eq(&r->masks[i], &aff) )
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
