/*
 * test_entitle.c: what a domain is entitled to (sched/sim/entitle.c):
 * weighted max-min fair shares of per-vCPU flows, under demand, caps and
 * hard affinity.  Every expected value is worked out by hand in the
 * comment above it; "old" is what the water-filling before this model
 * said, which each test would have caught.
 */
#include <errno.h>
#include <math.h>

#include "simtest.h"

#define EPS 1e-9

static void pin(struct sim_domain_spec *d, const unsigned int *cpus,
                unsigned int n)
{
    unsigned int i;

    sch_cpumask_clear_all(&d->affinity);
    for ( i = 0; i < n; i++ )
        sch_cpumask_set(&d->affinity, cpus[i]);
}

/* The stationary entitlement of @t's scenario, checked against @want. */
static void expect(struct st_scenario *t, const double *want)
{
    double got[ST_MAX_DOMS];
    unsigned int i;

    ck_assert_int_eq(sim_entitlement(&t->sc, got), 0);
    for ( i = 0; i < t->sc.nr_domains; i++ )
        ck_assert_msg(fabs(got[i] - want[i]) < EPS,
                      "domain %u: entitled %.9f, want %.9f", i, got[i],
                      want[i]);
}

/* ------------------------------------------------------------------ */
/* One moment                                                         */

/*
 * The classic cases, 1-vCPU CPU-bound domains unless said, 2 pCPUs:
 * - three of equal weight: 2/3 of a pCPU each, 1/3 of the host;
 * - weights 4096, 256, 256: 4096 would be due 16/18 of 2 pCPUs, more
 *   than its one vCPU can use; it gets 1 pCPU (1/2 of the host), the
 *   other two split the other pCPU (1/4 each);
 * - a 4-vCPU domain and a 1-vCPU domain, weight 256 each: 5 flows of
 *   equal weight, 0.4 pCPU each: 1.6 and 0.4 pCPUs, 0.8 / 0.2 of the
 *   host (old: weight per domain, 0.5 / 0.5).
 */
START_TEST(test_entitle_classic)
{
    static const double equal[] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
    static const double heavy[] = { 0.5, 0.25, 0.25 };
    static const double wide[] = { 0.8, 0.2 };
    struct st_scenario t;

    st_init(&t, 2, 1000);
    st_cpu(&t, "a", 256, 0);
    st_cpu(&t, "b", 256, 0);
    st_cpu(&t, "c", 256, 0);
    expect(&t, equal);

    st_init(&t, 2, 1000);
    st_cpu(&t, "heavy", 4096, 0);
    st_cpu(&t, "b", 256, 0);
    st_cpu(&t, "c", 256, 0);
    expect(&t, heavy);

    st_init(&t, 2, 1000);
    st_dom(&t, "wide", 4, SIM_WL_CPU);
    st_cpu(&t, "narrow", 256, 0);
    expect(&t, wide);
}
END_TEST

/*
 * Hard affinity, 2 pCPUs, 1-vCPU CPU-bound domains:
 * - {0}, {0,1}, {1}: the middle one must share both pCPUs with the
 *   others; max-min fair is 2/3 of a pCPU each (1/3 of the host): each
 *   of the others gets 2/3 of its own pCPU and the middle one the two
 *   thirds left;
 * - {0}, {0}, {0,1}: the first two are held to pCPU 0 (1/2 each), the
 *   third has pCPU 1 to itself: 1/4, 1/4, 1/2 of the host (old: 1/3
 *   each, affinity only counted pCPUs);
 * - weights 256 and 768 both on {1}: pCPU 1 split 1:3, 0.125 / 0.375 of
 *   the host, pCPU 0 idle (old: 0.5 / 0.5, as if pCPU 0 were theirs).
 */
START_TEST(test_entitle_affinity_overlap)
{
    static const unsigned int c0[] = { 0 }, c1[] = { 1 }, c01[] = { 0, 1 };
    static const double chain[] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
    static const double held[] = { 0.25, 0.25, 0.5 };
    static const double one[] = { 0.125, 0.375 };
    struct st_scenario t;

    st_init(&t, 2, 1000);
    pin(st_cpu(&t, "a", 256, 0), c0, 1);
    pin(st_cpu(&t, "b", 256, 0), c01, 2);
    pin(st_cpu(&t, "c", 256, 0), c1, 1);
    expect(&t, chain);

    st_init(&t, 2, 1000);
    pin(st_cpu(&t, "a", 256, 0), c0, 1);
    pin(st_cpu(&t, "b", 256, 0), c0, 1);
    pin(st_cpu(&t, "c", 256, 0), c01, 2);
    expect(&t, held);

    st_init(&t, 2, 1000);
    pin(st_cpu(&t, "a", 256, 0), c1, 1);
    pin(st_cpu(&t, "b", 768, 0), c1, 1);
    expect(&t, one);
}
END_TEST

/* An 8-vCPU io domain at 75% duty alone on 2 pCPUs wants 8 x 0.75 = 6
 * pCPUs: it is entitled to both, 100% of the host (old: min(8, 2) x
 * 0.75 = 1.5 pCPUs, 75%). */
START_TEST(test_entitle_io_many_vcpus)
{
    static const double all[] = { 1.0 };
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 1000);
    d = st_dom(&t, "io8", 8, SIM_WL_IO);
    d->workload.run_ns = SCH_USEC(750);
    d->workload.block_ns = SCH_USEC(250);
    expect(&t, all);
}
END_TEST

/*
 * A capped domain of 4 vCPUs (cap 100: one pCPU) beside two 1-vCPU
 * hogs, equal weights, 2 pCPUs.  Six flows would get 1/3 each, the capped
 * domain 4/3 > 1: it is held at 1 pCPU, the hogs split the other (0.5
 * each).  Shares 0.5, 0.25, 0.25 (old: 1/3 each).  With cap 50 instead:
 * 0.5 pCPU, and the hogs 0.75 each: 0.25, 0.375, 0.375.
 */
START_TEST(test_entitle_capped_multi_vcpu)
{
    static const double cap100[] = { 0.5, 0.25, 0.25 };
    static const double cap50[] = { 0.25, 0.375, 0.375 };
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 1000);
    d = st_dom(&t, "capped", 4, SIM_WL_CPU);
    d->cap_pct = 100;
    st_cpu(&t, "hog1", 256, 0);
    st_cpu(&t, "hog2", 256, 0);
    expect(&t, cap100);
    d->cap_pct = 50;
    expect(&t, cap50);
}
END_TEST

/*
 * An io domain that wants less than its share gets its duty: 4 vCPUs at
 * 10% (0.4 pCPU) beside two 2-vCPU hogs, equal weights, 2 pCPUs.  8 flows
 * at 1/4 each would give every io vCPU more than its 0.1, so the io
 * domain gets 0.4 pCPU and the hogs' 4 vCPUs split 1.6: 0.8 each.
 * Shares 0.2, 0.4, 0.4 (old: 0.1, 0.45, 0.45: its demand taken as
 * min(4, 2) x 0.1).
 */
START_TEST(test_entitle_io_under_share)
{
    static const double want[] = { 0.2, 0.4, 0.4 };
    struct st_scenario t;
    struct sim_domain_spec *d;

    st_init(&t, 2, 1000);
    d = st_dom(&t, "io", 4, SIM_WL_IO);
    d->workload.run_ns = SCH_USEC(100);
    d->workload.block_ns = SCH_USEC(900);
    st_dom(&t, "hog1", 2, SIM_WL_CPU);
    st_dom(&t, "hog2", 2, SIM_WL_CPU);
    expect(&t, want);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cross-check on random instances                                    */

static uint64_t xc_rng;

static unsigned int xc_below(unsigned int n)
{
    uint64_t z = (xc_rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (unsigned int)((z ^ (z >> 31)) % n);
}

#define XC_TOL  1e-7

/* pCPUs the groups in @set may use, on a host of @pcpus. */
static unsigned int xc_reach(const struct sim_ent_group *g, unsigned int set,
                             unsigned int pcpus)
{
    unsigned int i, cpu, n = 0;

    for ( cpu = 0; cpu < pcpus; cpu++ )
        for ( i = 0; set >> i; i++ )
            if ( (set >> i & 1) && sch_cpumask_test(&g[i].affinity, cpu) )
            {
                n++;
                break;
            }
    return n;
}

static double xc_sum(const struct sim_ent_group *g, const double *x,
                     unsigned int set)
{
    double s = 0;
    unsigned int i;

    for ( i = 0; set >> i; i++ )
        if ( set >> i & 1 )
            s += g[i].nr * x[i];
    return s;
}

/* Is @x/@w no more than @y/@v, give or take rounding? */
static bool xc_le(double x, double w, double y, double v)
{
    return x / w <= y / v * (1 + 1e-6) + 1e-12;
}

/*
 * Independent of the solver: every set of groups fits the pCPUs it may
 * use (Hall's condition, which by max-flow min-cut is what a flow of the
 * network needs), no domain exceeds its cap, no flow its demand; and every
 * flow below its demand is held by a saturated constraint (a tight set of
 * groups, or its domain's cap) in which no flow has a larger rate /
 * weight.  That is the bottleneck characterisation of the weighted
 * max-min fair allocation.  Returns NULL, or what is wrong.
 */
static const char *xc_problem(unsigned int pcpus,
                              const struct sim_ent_group *g, unsigned int ng,
                              const double *cap, unsigned int nd,
                              const double *x)
{
    static char why[256];
    unsigned int set, i, h, d, all = (1u << ng) - 1;

    for ( i = 0; i < ng; i++ )
    {
        double dem = g[i].demand < 1 ? g[i].demand : 1;

        if ( x[i] < -1e-12 || x[i] > dem + XC_TOL )
        {
            snprintf(why, sizeof(why), "group %u rate %.9f, demand %.9f",
                     i, x[i], dem);
            return why;
        }
    }
    for ( d = 0; d < nd; d++ )
    {
        double s = 0;

        for ( i = 0; i < ng; i++ )
            if ( g[i].dom == d )
                s += g[i].nr * x[i];
        if ( cap[d] && s > cap[d] + XC_TOL )
        {
            snprintf(why, sizeof(why), "domain %u uses %.9f, cap %.9f", d,
                     s, cap[d]);
            return why;
        }
    }
    for ( set = 1; set <= all; set++ )
        if ( xc_sum(g, x, set) > xc_reach(g, set, pcpus) + XC_TOL )
        {
            snprintf(why, sizeof(why), "groups %#x take %.9f of %u pCPUs",
                     set, xc_sum(g, x, set), xc_reach(g, set, pcpus));
            return why;
        }

    for ( i = 0; i < ng; i++ )
    {
        double dem = g[i].demand < 1 ? g[i].demand : 1, s = 0;
        unsigned int dom = g[i].dom;
        bool held = false;

        if ( x[i] >= dem - XC_TOL )
            continue;
        /* its domain at its cap, where it is as high as any */
        for ( h = 0; h < ng; h++ )
            if ( g[h].dom == dom )
                s += g[h].nr * x[h];
        if ( cap[dom] && s >= cap[dom] - XC_TOL )
        {
            held = true;
            for ( h = 0; h < ng; h++ )
                if ( g[h].dom == dom &&
                     !xc_le(x[h], g[h].weight, x[i], g[i].weight) )
                    held = false;
        }
        /* or a tight set of groups with it, where it is as high as any */
        for ( set = 1; !held && set <= all; set++ )
        {
            if ( !(set >> i & 1) ||
                 xc_sum(g, x, set) < xc_reach(g, set, pcpus) - XC_TOL )
                continue;
            held = true;
            for ( h = 0; h < ng; h++ )
                if ( (set >> h & 1) &&
                     !xc_le(x[h], g[h].weight, x[i], g[i].weight) )
                    held = false;
        }
        if ( !held )
        {
            snprintf(why, sizeof(why), "group %u (rate %.9f, weight %g, "
                     "demand %g) could have more", i, x[i], g[i].weight,
                     g[i].demand);
            return why;
        }
    }
    return NULL;
}

/*
 * 400 seeded instances: 1-4 pCPUs, 1-4 domains of 1-2 groups (groups of
 * one domain may differ in affinity), 1-3 vCPUs a group, weights from 1
 * to 4096, demands from 0 to over 1, caps or none; some with no
 * affinity (the water-filling path), most with random masks (the flow
 * path).  Each answer is checked by xc_check, and must not depend on the
 * order of the groups.
 */
START_TEST(test_entitle_random_crosscheck)
{
    static const double weights[] = { 1, 2, 3, 256, 257, 1000, 4096 };
    static const double demands[] = { 0, 0.1, 0.25, 1.0 / 3, 0.5, 0.75, 1,
                                      1.5 };
    unsigned int inst, flow_path = 0;

    xc_rng = 12345;
    for ( inst = 0; inst < 400; inst++ )
    {
        struct sim_ent_group g[8], rg[8];
        double cap[4], x[8], rx[8];
        unsigned int pcpus = 1 + xc_below(4), nd = 1 + xc_below(4);
        unsigned int ng = 0, d, i, cpu;
        bool free_all = xc_below(4) == 0;

        memset(g, 0, sizeof(g));
        for ( d = 0; d < nd; d++ )
        {
            unsigned int k, n = 1 + xc_below(2);

            cap[d] = xc_below(3) ? 0 : 0.1 * (1 + xc_below(30));
            for ( k = 0; k < n; k++, ng++ )
            {
                g[ng].dom = d;
                g[ng].nr = 1 + xc_below(3);
                g[ng].weight = weights[xc_below(7)];
                g[ng].demand = xc_below(4)
                    ? demands[xc_below(8)]
                    : (double)(1 + xc_below(999)) / 1000;
                for ( cpu = 0; cpu < pcpus; cpu++ )
                    if ( free_all || xc_below(2) )
                        sch_cpumask_set(&g[ng].affinity, cpu);
                if ( sch_cpumask_empty(&g[ng].affinity) )
                    sch_cpumask_set(&g[ng].affinity, xc_below(pcpus));
                if ( !free_all )
                    flow_path++;
            }
        }
        const char *why;

        ck_assert_int_eq(sim_entitle_solve(pcpus, g, ng, cap, nd, x), 0);
        why = xc_problem(pcpus, g, ng, cap, nd, x);
        ck_assert_msg(!why, "instance %u: %s", inst, why);

        /* the same groups backwards */
        for ( i = 0; i < ng; i++ )
            rg[i] = g[ng - 1 - i];
        ck_assert_int_eq(sim_entitle_solve(pcpus, rg, ng, cap, nd, rx), 0);
        for ( i = 0; i < ng; i++ )
            ck_assert_msg(fabs(rx[ng - 1 - i] - x[i]) < XC_TOL,
                          "#%u: group %u %.9f, reversed %.9f", inst, i,
                          x[i], rx[ng - 1 - i]);
    }
    ck_assert_uint_gt(flow_path, 500);
}
END_TEST

/*
 * The checker must refuse wrong answers, or the cross-check proves
 * nothing.  A 4-vCPU and a 1-vCPU domain of equal weight on 2 pCPUs: 0.4
 * pCPU per vCPU is right; the old per-domain split (0.25 per wide vCPU, 1
 * to the narrow one) and a feasible but unfair 0.375 / 0.5 are not; nor
 * is one that does not fit (0.5 / 0.5: 2.5 pCPUs).
 */
START_TEST(test_entitle_crosscheck_catches)
{
    struct sim_ent_group g[2];
    double cap[2] = { 0, 0 };
    double ok[2] = { 0.4, 0.4 }, old[2] = { 0.25, 1.0 };
    double unfair[2] = { 0.375, 0.5 }, over[2] = { 0.5, 0.5 };

    memset(g, 0, sizeof(g));
    g[0] = (struct sim_ent_group){ .dom = 0, .nr = 4, .weight = 256,
                                   .demand = 1 };
    g[1] = (struct sim_ent_group){ .dom = 1, .nr = 1, .weight = 256,
                                   .demand = 1 };
    sch_cpumask_set(&g[0].affinity, 0);
    sch_cpumask_set(&g[0].affinity, 1);
    g[1].affinity = g[0].affinity;
    ck_assert_ptr_null(xc_problem(2, g, 2, cap, 2, ok));
    ck_assert_ptr_nonnull(xc_problem(2, g, 2, cap, 2, old));
    ck_assert_ptr_nonnull(xc_problem(2, g, 2, cap, 2, unfair));
    ck_assert_ptr_nonnull(xc_problem(2, g, 2, cap, 2, over));
}
END_TEST

/* Bad input is refused, not solved. */
START_TEST(test_entitle_solve_einval)
{
    struct sim_ent_group g = { .dom = 0, .nr = 1, .weight = 256,
                               .demand = 1 };
    double cap = 0, neg = -1, x;

    sch_cpumask_set(&g.affinity, 0);
    ck_assert_int_eq(sim_entitle_solve(0, &g, 1, &cap, 1, &x), -EINVAL);
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &neg, 1, &x), -EINVAL);
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 0, &x), -EINVAL);
    g.weight = 0;
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 1, &x), -EINVAL);
    g.weight = 256;
    g.demand = NAN;
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 1, &x), -EINVAL);
    g.demand = 1;
    ck_assert_int_eq(sim_entitle_solve(1, &g, 1, &cap, 1, &x), 0);
    ck_assert(fabs(x - 1) < EPS);
}
END_TEST

static Suite *entitle_suite(void)
{
    Suite *s = suite_create("entitle");
    TCase *tc = tcase_create("entitle");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_entitle_classic);
    tcase_add_test(tc, test_entitle_affinity_overlap);
    tcase_add_test(tc, test_entitle_io_many_vcpus);
    tcase_add_test(tc, test_entitle_capped_multi_vcpu);
    tcase_add_test(tc, test_entitle_io_under_share);
    tcase_add_test(tc, test_entitle_random_crosscheck);
    tcase_add_test(tc, test_entitle_crosscheck_catches);
    tcase_add_test(tc, test_entitle_solve_einval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_main(entitle_suite());
}
