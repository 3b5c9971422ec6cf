/*
 * tpol_engine.c: the tenant policy's engine (tpol_apply): every interval,
 * each tenant's weight and cap split among its domains.  It reads a
 * loaded policy through tpol.h alone.
 *
 * Design: a weight counts once per vCPU that wants CPU (as in Xen's
 * credit and credit2), so every domain of a tenant gets the tenant's
 * weight divided by its active vCPUs; caps are split by demand with a
 * water-fill.  docs/tenant-policy.md explains both, with the reasons for
 * each constant below.  All arithmetic is integer once demand has been
 * rounded to hundredths of a percent.
 *
 * Locking: none.  tpol_apply() keeps its scratch space per call, and only
 * reads the policy.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <xenos/tpol.h>

/* A domain's cap cannot usefully exceed one pCPU per vCPU; vCPU counts
 * beyond this are taken as this (keeps the arithmetic in 64 bits). */
#define TPOL_VCPUS_MAX          4096u
#define TPOL_PCT_PER_VCPU       100u

/* Every domain of a capped tenant gets at least C / (20 * domains), so
 * all floors together take at most 5% of the tenant's cap; and at least
 * 1, since a cap of 0 means "no cap". */
#define TPOL_FLOOR_DIV          20u

/* Using at least 90% of its cap, a domain is "saturated": its measured
 * use says only that it wanted at least its cap. */
#define TPOL_SAT_PCT            90u

/* A saturated domain is taken to want its cap plus the larger of half of
 * it and a quarter of the tenant's cap: from a floor of 1 its want passes
 * 100 of a cap of 100 in four intervals (1, 26, 51, 76, 114) even with no
 * spare cap to speed it up. */
#define TPOL_GROW_DIV           2u
#define TPOL_GROW_TENANT_DIV    4u

/* An unsaturated domain is offered 20% (at least 1 point) more than it
 * used, so that using all of it is a clear sign of wanting more:
 * 1 / 1.2 = 83% of the cap, well below TPOL_SAT_PCT. */
#define TPOL_HEADROOM_DIV       5u
#define TPOL_HEADROOM_MIN_CPCT  100u            /* hundredths of a percent */

/* Rounding weights exactly is a subset sum costing distinct domain sizes
 * x the tenant's remainder steps; realistic tenants take thousands.  A
 * tenant with hundreds of distinct sizes keeps the greedy rounding (off
 * by at most half its largest domain's vCPUs) rather than cost a
 * hundredth of a second. */
#define TPOL_ROUND_STEPS_MAX    (1u << 24)

/* ------------------------------------------------------------------ */
/* The engine                                                         */

static uint32_t tpol_vcpus(const struct tpol_input *d)
{
    if ( d->online_vcpus == 0 )
        return 1;
    return d->online_vcpus < TPOL_VCPUS_MAX ? d->online_vcpus
                                            : TPOL_VCPUS_MAX;
}

/* Demand in hundredths of a percent: the one place doubles are used. */
static uint64_t tpol_demand_cpct(const struct tpol_input *d)
{
    const double max = (double)TPOL_VCPUS_MAX * TPOL_PCT_PER_VCPU;
    double pct = d->demand_pct;

    if ( !(pct > 0) )           /* also NaN */
        return 0;
    if ( pct > max )
        pct = max;
    return (uint64_t)(pct * 100.0 + 0.5);
}

uint32_t tpol_count_active(const uint64_t *vcpu_ns, uint32_t n,
                           uint64_t interval_ns)
{
    /* ceil(interval_ns x TPOL_ACTIVE_PCT / 100), for any interval_ns */
    uint64_t min = interval_ns / 100 * TPOL_ACTIVE_PCT +
                   (interval_ns % 100 * TPOL_ACTIVE_PCT + 99) / 100;
    uint32_t i, active = 0;

    if ( !interval_ns || !vcpu_ns )
        return 0;
    for ( i = 0; i < n; i++ )
        active += vcpu_ns[i] >= min;
    return active;
}

/* The vCPUs of @d that count in its tenant's weight: those wanting CPU,
 * never more than it has online. */
static uint32_t tpol_active(const struct tpol_input *d)
{
    uint32_t v = tpol_vcpus(d);

    return d->active_vcpus < v ? d->active_vcpus : v;
}

static int tpol_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* A sort key for the rounding: a domain's counted vCPUs, largest first,
 * then its place among its tenant's domains. */
#define TPOL_KEY(a, j)      ((uint64_t)(TPOL_VCPUS_MAX - (a)) << 32 | (j))
#define TPOL_KEY_VCPUS(k)   (TPOL_VCPUS_MAX - (uint32_t)((k) >> 32))
#define TPOL_KEY_DOM(k)     ((uint32_t)(k))

/*
 * The exact rounding, for when the greedy one (tpol_split_weight) left
 * the tenant @miss off W: the domains of @key[] (@nk of them, sorted)
 * whose counted vCPUs add up nearest to @r (a tie: below), if nearer
 * than @miss, get one more than @q; the others get @q.  A subset sum over
 * the distinct sizes, each usable as often as there are domains of it:
 * first[x] is 1 + the size group that first reached the sum x, used[x]
 * how many of that group's domains it took.  Costs sizes x (r + miss)
 * steps, so beyond TPOL_ROUND_STEPS_MAX (thousands of distinct domain
 * sizes in one tenant) the greedy rounding stays.
 */
static int tpol_round_exact(const uint64_t *key, uint32_t nk, uint64_t q,
                            uint64_t r, uint64_t miss, const uint32_t *idx,
                            struct tpol_output *out)
{
    const uint64_t top = r + miss - 1;          /* the sums worth trying */
    uint32_t *first, *used, *gstart, *gtake, ng = 0, g, j, a;
    uint64_t x, best = 0;

    for ( j = 0; j < nk; j++ )
        ng += !j || TPOL_KEY_VCPUS(key[j]) != TPOL_KEY_VCPUS(key[j - 1]);
    if ( (uint64_t)ng * (top + 1) > TPOL_ROUND_STEPS_MAX )
        return 0;
    first = calloc(2 * (top + 1) + 2 * (uint64_t)ng + 1, sizeof(*first));
    if ( !first )
        return -ENOMEM;
    used = first + top + 1;
    gstart = used + top + 1;                    /* ng + 1 */
    gtake = gstart + ng + 1;                    /* ng */

    for ( ng = 0, j = 0; j < nk; j++ )
        if ( !j || TPOL_KEY_VCPUS(key[j]) != TPOL_KEY_VCPUS(key[j - 1]) )
            gstart[ng++] = j;
    gstart[ng] = nk;

    for ( g = 0; g < ng; g++ )
    {
        a = TPOL_KEY_VCPUS(key[gstart[g]]);
        for ( x = a; x <= top; x++ )
        {
            uint64_t from = x - a;
            uint32_t n = first[from] == g + 1 ? used[from] : 0;

            if ( first[x] || (from && !first[from]) ||
                 n >= gstart[g + 1] - gstart[g] )
                continue;
            first[x] = g + 1;
            used[x] = n + 1;
        }
    }
    for ( x = 1; x <= top; x++ )
        if ( first[x] && (x > r ? x - r : r - x) <
                         (best > r ? best - r : r - best) )
            best = x;

    if ( (best > r ? best - r : r - best) < miss )
    {
        /* Walk back from the best sum, a group's domains in key order. */
        x = best;
        while ( x )
        {
            g = first[x] - 1;
            gtake[g]++;
            x -= TPOL_KEY_VCPUS(key[gstart[g]]);
        }
        for ( g = 0; g < ng; g++ )
            for ( j = gstart[g]; j < gstart[g + 1]; j++ )
                out[idx[TPOL_KEY_DOM(key[j])]].weight =
                    (uint32_t)q + (j - gstart[g] < gtake[g]);
    }
    free(first);
    return 0;
}

/*
 * Weights.  A scheduler counts a domain's weight once per vCPU that
 * wants CPU, so every domain of the tenant gets the same weight, W / A,
 * A the tenant's active vCPUs: the tenant then weighs W whatever its
 * domains' sizes.  When none is active A is its online vCPUs, the
 * assumption that never makes a waking tenant weigh more than W.
 *
 * In integers, W = q A + r: every domain gets q, and r more is handed
 * out, one each, to counted domains whose vCPUs add up to r.  First
 * greedily, largest first, each taken while it still fits (equals in
 * input order), so that small domains fill what big ones leave; what is
 * left, r' (less than any domain not taken), is missed, or overshot by
 * the smallest domain not taken when that misses W by less (a tie stays
 * under W).  That is exact for most tenants; when it is not, and some
 * other choice would be nearer, tpol_round_exact finds the nearest.
 * Domains counting no vCPU get the nearer of q and q + 1.  All weights
 * are q or q + 1, at least 1.  @key: scratch space for @k entries.
 */
static int tpol_split_weight(uint32_t w, const struct tpol_input *in,
                             const uint32_t *idx, uint32_t k, uint64_t *key,
                             struct tpol_output *out)
{
    uint64_t all = 0, q, r, left;
    uint32_t j, nk = 0, skip = UINT32_MAX, skip_a = 0;
    bool online = false;

    for ( j = 0; j < k; j++ )
        all += tpol_active(&in[idx[j]]);
    if ( !all )
    {
        online = true;
        for ( j = 0; j < k; j++ )
            all += tpol_vcpus(&in[idx[j]]);
    }
    q = w / all;
    r = w % all;
    if ( !q )
    {
        /* More vCPUs than weight: 1 each, the least a weight can be. */
        for ( j = 0; j < k; j++ )
            out[idx[j]].weight = 1;
        return 0;
    }
    for ( j = 0; j < k; j++ )
    {
        const struct tpol_input *d = &in[idx[j]];
        uint32_t a = online ? tpol_vcpus(d) : tpol_active(d);

        out[idx[j]].weight = (uint32_t)q;
        if ( a )
            key[nk++] = TPOL_KEY(a, j);
        else if ( 2 * r >= all )
            out[idx[j]].weight++;
    }
    qsort(key, nk, sizeof(*key), tpol_u64_cmp);
    left = r;
    for ( j = 0; j < nk && left; j++ )
    {
        uint32_t a = TPOL_KEY_VCPUS(key[j]);

        if ( a <= left )
        {
            out[idx[TPOL_KEY_DOM(key[j])]].weight++;
            left -= a;
        }
        else if ( skip == UINT32_MAX || a < skip_a )
        {
            skip = TPOL_KEY_DOM(key[j]);
            skip_a = a;
        }
    }
    /* r < A: with some left, some domain was not taken. */
    if ( !left || skip == UINT32_MAX )
        return 0;
    if ( skip_a - left < left )
    {
        out[idx[skip]].weight++;
        left = skip_a - left;
    }
    return tpol_round_exact(key, nk, q, r, left, idx, out);
}

/* A domain's cap as a function of the fill level L:
 * min(hi, max(lo, base + L)). */
struct tpol_slot {
    uint32_t lo, hi, base;
    uint32_t max;               /* what its vCPUs can use */
};

static uint32_t tpol_at(const struct tpol_slot *s, uint32_t level)
{
    uint64_t v = (uint64_t)s->base + level;

    if ( v < s->lo )
        v = s->lo;
    return v < s->hi ? (uint32_t)v : s->hi;
}

static uint64_t tpol_sum_at(const struct tpol_slot *s, uint32_t k,
                            uint32_t level)
{
    uint64_t sum = 0;
    uint32_t j;

    for ( j = 0; j < k; j++ )
        sum += tpol_at(&s[j], level);
    return sum;
}

/*
 * Water-fill: the highest level L whose caps add up to at most @budget
 * (the caller makes sure level 0 does), then one more point each, in
 * order, to domains that L + 1 would raise, while the budget lasts.
 * Writes the caps to @out in the order of @idx.
 */
static void tpol_fill(const struct tpol_slot *s, const uint32_t *idx,
                      uint32_t k, uint64_t budget, struct tpol_output *out)
{
    uint32_t lo = 0, hi = 0, j;
    uint64_t used;

    for ( j = 0; j < k; j++ )
        if ( s[j].hi > hi )
            hi = s[j].hi;
    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo + 1) / 2;

        if ( tpol_sum_at(s, k, mid) <= budget )
            lo = mid;
        else
            hi = mid - 1;
    }
    used = tpol_sum_at(s, k, lo);
    for ( j = 0; j < k; j++ )
    {
        uint32_t cap = tpol_at(&s[j], lo);

        /* Below budget only if L + 1 overshoots, so each step is one. */
        if ( used < budget && tpol_at(&s[j], lo + 1) > cap )
        {
            cap++;
            used++;
        }
        out[idx[j]].cap_pct = cap;
    }
}

/* What a domain of a tenant capped at @tcap is taken to want, in
 * percent, before floors and limits. */
static uint64_t tpol_want(const struct tpol_input *d, uint32_t tcap)
{
    uint64_t dem = tpol_demand_cpct(d), cap = d->cap_pct_now, base, grow;

    if ( cap && dem >= cap * TPOL_SAT_PCT )
    {
        /* Held back by its cap: it wants more than it could use. */
        base = (dem + 99) / 100 > cap ? (dem + 99) / 100 : cap;
        grow = base / TPOL_GROW_DIV;
        if ( grow < tcap / TPOL_GROW_TENANT_DIV )
            grow = tcap / TPOL_GROW_TENANT_DIV;
        return base + grow;
    }
    if ( !dem )
        return 0;
    grow = dem / TPOL_HEADROOM_DIV;
    if ( grow < TPOL_HEADROOM_MIN_CPCT )
        grow = TPOL_HEADROOM_MIN_CPCT;
    return (dem + grow + 99) / 100;
}

/*
 * Caps: the tenant's cap @tcap among its @k domains.  Each domain gets a
 * floor and at most what its vCPUs can use.  If what they want is more
 * than @tcap, a water-fill from the floors up: domains wanting less than
 * the level get what they want, the others the level (max-min fairness).
 * Otherwise each gets what it wants and the rest of the cap is shared out
 * as headroom, the same amount to each domain (water-fill from the
 * wants).  Either way the caps add up to at most @tcap.
 */
static void tpol_split_cap(uint32_t tcap, const struct tpol_input *in,
                           const uint32_t *idx, uint32_t k,
                           struct tpol_slot *s, struct tpol_output *out)
{
    uint64_t floor, sum = 0;
    uint32_t j;

    if ( k > tcap )
    {
        for ( j = 0; j < k; j++ )
        {
            out[idx[j]].cap_pct = 1;
            out[idx[j]].cap_over = true;
        }
        return;
    }
    floor = tcap / ((uint64_t)TPOL_FLOOR_DIV * k);
    if ( floor < 1 )
        floor = 1;
    for ( j = 0; j < k; j++ )
    {
        const struct tpol_input *d = &in[idx[j]];
        uint64_t want = tpol_want(d, tcap);

        s[j].max = tpol_vcpus(d) * TPOL_PCT_PER_VCPU;
        s[j].lo = floor < s[j].max ? (uint32_t)floor : s[j].max;
        if ( want < s[j].lo )
            want = s[j].lo;
        if ( want > s[j].max )
            want = s[j].max;
        s[j].hi = (uint32_t)want;
        s[j].base = 0;
        sum += want;
    }
    if ( sum <= tcap )
        for ( j = 0; j < k; j++ )
        {
            s[j].lo = s[j].base = s[j].hi;
            s[j].hi = s[j].max;
        }
    tpol_fill(s, idx, k, tcap, out);
}

int tpol_apply(const struct tpol *p, const struct tpol_input *in, size_t n,
               struct tpol_output *out)
{
    uint32_t *start, *pos, *order, t, nt, def_weight, def_cap_pct;
    struct tpol_slot *slots;
    uint64_t *keys;
    size_t i;

    if ( !n )
        return 0;
    if ( !p || !in || !out || n > UINT32_MAX )
        return -EINVAL;
    nt = tpol_nr_tenants(p);
    tpol_defaults(p, &def_weight, &def_cap_pct);

    /* start[t]..start[t + 1]: tenant t's domains in order[], input order
     * kept (a counting sort). */
    start = calloc((size_t)nt * 2 + 1 + n, sizeof(*start));
    slots = malloc(n * sizeof(*slots));
    keys = malloc(n * sizeof(*keys));
    if ( !start || !slots || !keys )
    {
        free(start);
        free(slots);
        free(keys);
        return -ENOMEM;
    }
    pos = start + nt + 1;
    order = pos + nt;

    for ( i = 0; i < n; i++ )
    {
        int ten = tpol_match(p, in[i].uuid, in[i].tenant_key, in[i].name);

        out[i].tenant = ten;
        out[i].cap_over = false;
        if ( ten == TPOL_UNASSIGNED )
        {
            out[i].tenant_name = NULL;
            out[i].weight = def_weight;
            out[i].cap_pct = def_cap_pct;
            continue;
        }
        out[i].tenant_name = tpol_tenant(p, (unsigned int)ten)->name;
        start[ten + 1]++;
    }
    for ( t = 0; t < nt; t++ )
    {
        start[t + 1] += start[t];
        pos[t] = start[t];
    }
    for ( i = 0; i < n; i++ )
        if ( out[i].tenant != TPOL_UNASSIGNED )
            order[pos[out[i].tenant]++] = (uint32_t)i;

    for ( t = 0; t < nt; t++ )
    {
        const struct tpol_tenant *ten = tpol_tenant(p, t);
        const uint32_t *idx = order + start[t];
        uint32_t k = start[t + 1] - start[t], j;

        if ( !k )
            continue;
        if ( tpol_split_weight(ten->weight, in, idx, k, keys, out) )
        {
            free(keys);
            free(slots);
            free(start);
            return -ENOMEM;
        }
        if ( ten->cap_pct )
            tpol_split_cap(ten->cap_pct, in, idx, k, slots, out);
        else
            for ( j = 0; j < k; j++ )
                out[idx[j]].cap_pct = 0;
    }
    free(keys);
    free(slots);
    free(start);
    return 0;
}
