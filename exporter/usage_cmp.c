/*
 * usage_cmp.c: reconciling usage from two sources (exp_usage.h): totals
 * per domain and tenant, from wherever they were read, compared counter
 * by counter.
 *
 * Design.  A source is two tables (domains by uuid, tenants by name) of
 * the ledger's counters and a mask of those it knows; the comparison
 * takes the union of both sources' keys, sorted, and reports each counter
 * known to both that differs.  Nothing here knows files, checkpoints or
 * hosts: xenos-usage reconcile fills the sources (and a billing
 * database's reader can fill one the same way).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/exp_usage.h>

#include "usage_impl.h"

_Static_assert(EXP_USAGE_NR_COUNTERS == (int)USAGE_NR_FIELDS,
               "EXP_USAGE_NR_COUNTERS and the ledger's counters disagree");

const char *const exp_usage_counters[EXP_USAGE_NR_COUNTERS] = {
#define X(f) #f,
    USAGE_FIELDS(X)
#undef X
};

static void table_free(struct exp_usage_table *t)
{
    uint32_t i;

    for ( i = 0; i < t->n; i++ )
    {
        free(t->rows[i].key);
        free(t->rows[i].name);
        free(t->rows[i].tenant);
    }
    free(t->rows);
    strmap_free(&t->idx);
    memset(t, 0, sizeof(*t));
}

void exp_usage_src_init(struct exp_usage_src *s, const char *what,
                        uint32_t known)
{
    memset(s, 0, sizeof(*s));
    s->what = what;
    s->known = known;
}

void exp_usage_src_deinit(struct exp_usage_src *s)
{
    table_free(&s->doms);
    table_free(&s->tenants);
}

static const char *row_key(const void *rows, uint32_t i)
{
    return ((const struct exp_usage_row *)rows)[i].key;
}

static const struct exp_usage_row *row_find(const struct exp_usage_table *t,
                                            const char *key)
{
    long i = strmap_find(&t->idx, key, row_key, t->rows);

    return i < 0 ? NULL : &t->rows[i];
}

const struct exp_usage_row *exp_usage_find(const struct exp_usage_table *t,
                                           const char *key)
{
    return row_find(t, key);
}

static struct exp_usage_row *row_get(struct exp_usage_table *t,
                                     const char *key)
{
    long i = strmap_find(&t->idx, key, row_key, t->rows);
    struct exp_usage_row *r;

    if ( i >= 0 )
        return &t->rows[i];
    if ( t->n == t->cap )
    {
        uint32_t cap = t->cap ? t->cap * 2 : 64;

        r = realloc(t->rows, cap * sizeof(*r));
        if ( !r )
            return NULL;
        t->rows = r;
        t->cap = cap;
    }
    r = &t->rows[t->n];
    memset(r, 0, sizeof(*r));
    r->key = strdup(key);
    if ( !r->key || strmap_add(&t->idx, t->n, row_key, t->rows) )
    {
        free(r->key);
        return NULL;
    }
    t->n++;
    return r;
}

/* *@dst = a copy of @src, unless NULL or already equal: 0 or -ENOMEM. */
static int set_str(char **dst, const char *src)
{
    char *n;

    if ( !src || (*dst && !strcmp(*dst, src)) )
        return 0;
    n = strdup(src);
    if ( !n )
        return -ENOMEM;
    free(*dst);
    *dst = n;
    return 0;
}

static int row_add(struct exp_usage_table *t, const char *key,
                   const char *name, const char *tenant, const uint64_t *v)
{
    struct exp_usage_row *r = row_get(t, key);
    int i;

    if ( !r || set_str(&r->name, name) || set_str(&r->tenant, tenant) )
        return -ENOMEM;
    r->records++;
    for ( i = 0; i < EXP_USAGE_NR_COUNTERS; i++ )
        r->v[i] += v[i];
    return 0;
}

int exp_usage_src_add(struct exp_usage_src *s, const char *uuid,
                      const char *name, const char *tenant,
                      const uint64_t *v)
{
    int rc = 0;

    if ( uuid )
        rc = row_add(&s->doms, uuid, name, tenant, v);
    if ( !rc && (tenant || !uuid) )
        rc = row_add(&s->tenants, tenant ? tenant : "", NULL, NULL, v);
    return rc;
}

/* @r's contention counters into row @key of @t (added just before). */
static void row_sched(struct exp_usage_table *t, const char *key,
                      const struct exp_usage_rec *r)
{
    struct exp_usage_row *row = &t->rows[strmap_find(&t->idx, key, row_key,
                                                     t->rows)];

    if ( !r->sched_stats )
    {
        row->sched_unknown++;
        return;
    }
    row->wait_ns += r->wait_ns;
    row->throttled_ns += r->throttled_ns;
    if ( r->peak_window_pct > row->peak_window_pct )
        row->peak_window_pct = r->peak_window_pct;
}

int exp_usage_src_add_rec(struct exp_usage_src *s,
                          const struct exp_usage_rec *r)
{
    uint64_t v[EXP_USAGE_NR_COUNTERS] = {
#define X(f) r->f,
        EXP_USAGE_COUNTERS(X)
#undef X
    };
    int rc = exp_usage_src_add(s, r->uuid, r->name, r->tenant, v);

    if ( rc )
        return rc;
    row_sched(&s->doms, r->uuid, r);
    row_sched(&s->tenants, r->tenant, r);
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct exp_usage_row *const *)a)->key,
                  (*(const struct exp_usage_row *const *)b)->key);
}

const struct exp_usage_row **exp_usage_sorted(const struct exp_usage_table *t)
{
    const struct exp_usage_row **v = t->n ? malloc(t->n * sizeof(*v))
                                          : NULL;
    uint32_t i;

    if ( !v )
        return NULL;
    for ( i = 0; i < t->n; i++ )
        v[i] = &t->rows[i];
    qsort(v, t->n, sizeof(*v), row_cmp);
    return v;
}

/* Compare one table of @a and @b: the union of their keys, sorted. */
static long table_compare(const struct exp_usage_src *a,
                          const struct exp_usage_src *b, bool tenant,
                          exp_usage_diff_cb diff, void *ctx)
{
    const struct exp_usage_table *ta = tenant ? &a->tenants : &a->doms;
    const struct exp_usage_table *tb = tenant ? &b->tenants : &b->doms;
    const char **keys = malloc(((size_t)ta->n + tb->n + 1) * sizeof(*keys));
    static const uint64_t zero[EXP_USAGE_NR_COUNTERS];
    uint32_t known = a->known & b->known, i, nk = 0;
    long nd = 0;
    int j;

    if ( !keys )
        return -ENOMEM;
    for ( i = 0; i < ta->n; i++ )
        keys[nk++] = ta->rows[i].key;
    for ( i = 0; i < tb->n; i++ )
        if ( !row_find(ta, tb->rows[i].key) )
            keys[nk++] = tb->rows[i].key;
    if ( nk )
        qsort(keys, nk, sizeof(*keys), key_cmp);
    for ( i = 0; i < nk; i++ )
    {
        const struct exp_usage_row *ra = row_find(ta, keys[i]);
        const struct exp_usage_row *rb = row_find(tb, keys[i]);
        const uint64_t *va = ra ? ra->v : zero, *vb = rb ? rb->v : zero;
        const char *name = ra && ra->name ? ra->name : rb ? rb->name : NULL;

        for ( j = 0; j < EXP_USAGE_NR_COUNTERS; j++ )
            if ( (known & 1u << j) && va[j] != vb[j] )
            {
                nd++;
                if ( diff )
                    diff(ctx, a, b, tenant, keys[i], name,
                         exp_usage_counters[j], va[j], vb[j]);
            }
    }
    free(keys);
    return nd;
}

long exp_usage_compare(const struct exp_usage_src *a,
                       const struct exp_usage_src *b, exp_usage_diff_cb diff,
                       void *ctx)
{
    long nd = table_compare(a, b, false, diff, ctx), nt;

    if ( nd < 0 )
        return nd;
    nt = table_compare(a, b, true, diff, ctx);
    return nt < 0 ? nt : nd + nt;
}
