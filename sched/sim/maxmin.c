/*
 * maxmin.c: the weighted max-min fair allocation of the pCPUs among flows
 * (sim_entitle_solve), the solver behind what each domain is entitled to
 * (entitle.c has the model and what it is fed).
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
        for ( m = 0; m < s.ncls && !sim__cpumask_eq(&s.cmask[m], &aff); m++ )
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
