/*
 * strmap.c: the string index (strmap.h).  Linear probing at most half
 * full; FNV-1a, which spreads uuids and names well enough at that load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/strmap.h>

#define STRMAP_MIN_CAP  128u

static uint32_t strmap_hash(const char *s)
{
    uint32_t h = 2166136261u;

    while ( *s )
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

long strmap_find(const struct strmap *m, const char *key,
                 strmap_key_fn *kf, const void *recs)
{
    uint32_t h;

    if ( !m->cap )
        return -1;
    for ( h = strmap_hash(key) & (m->cap - 1); m->slot[h];
          h = (h + 1) & (m->cap - 1) )
        if ( !strcmp(kf(recs, m->slot[h] - 1), key) )
            return (long)m->slot[h] - 1;
    return -1;
}

static void strmap_put(uint32_t *slot, uint32_t cap, uint32_t i,
                       const char *key)
{
    uint32_t h;

    for ( h = strmap_hash(key) & (cap - 1); slot[h]; h = (h + 1) & (cap - 1) )
        ;
    slot[h] = i + 1;
}

int strmap_add(struct strmap *m, uint32_t i, strmap_key_fn *kf,
               const void *recs)
{
    if ( (m->n + 1) * 2 > m->cap )
    {
        uint32_t cap = m->cap ? m->cap * 2 : STRMAP_MIN_CAP, k;
        uint32_t *slot = calloc(cap, sizeof(*slot));

        if ( !slot )
            return -ENOMEM;
        for ( k = 0; k < m->cap; k++ )
            if ( m->slot[k] )
                strmap_put(slot, cap, m->slot[k] - 1,
                           kf(recs, m->slot[k] - 1));
        free(m->slot);
        m->slot = slot;
        m->cap = cap;
    }
    strmap_put(m->slot, m->cap, i, kf(recs, i));
    m->n++;
    return 0;
}

void strmap_free(struct strmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}
