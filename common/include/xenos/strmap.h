/*
 * strmap.h: the one string index: from a key (a uuid, a tenant's name) to
 * the record that holds it, in an array the caller owns.  Open addressing
 * over record indexes, so the records may move (realloc) without the index
 * knowing: it reads a record's key through @key when it must.
 */
#ifndef XENOS_STRMAP_H
#define XENOS_STRMAP_H

#include <stdint.h>

struct strmap {
    uint32_t *slot;             /* record index + 1; 0: empty */
    uint32_t cap;               /* a power of two, or 0 */
    uint32_t n;                 /* records indexed */
};

/* The key of record @i of @recs. */
typedef const char *strmap_key_fn(const void *recs, uint32_t i);

/* Record @i of @recs, whose key is @key: -1 if none. */
long strmap_find(const struct strmap *m, const char *key,
                 strmap_key_fn *kf, const void *recs);

/* Index record @i (its key already set, not indexed yet); 0 or -ENOMEM
 * (the index is then as it was). */
int strmap_add(struct strmap *m, uint32_t i, strmap_key_fn *kf,
               const void *recs);

void strmap_free(struct strmap *m);

#endif /* XENOS_STRMAP_H */
