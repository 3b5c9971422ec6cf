/*
 * acct.c: sample storage and the backend registry.
 *
 * A sample's strings and per-domain arrays live in chunks that are reused
 * from one sample to the next, so a steady host samples without calling
 * malloc at all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/acct.h>

#define ACCT_CHUNK_MIN  (64 * 1024)

struct acct_chunk {
    struct acct_chunk *next;
    size_t size, used;
    max_align_t data[];
};

void acct_sample_init(struct acct_sample *s)
{
    memset(s, 0, sizeof(*s));
}

void acct_sample_free(struct acct_sample *s)
{
    struct acct_chunk *c, *next;

    for ( c = s->chunks; c; c = next )
    {
        next = c->next;
        free(c);
    }
    free(s->domains);
    memset(s, 0, sizeof(*s));
}

void acct_sample_reset(struct acct_sample *s)
{
    struct acct_chunk *c;

    for ( c = s->chunks; c; c = c->next )
        c->used = 0;
    s->nr_domains = 0;
    s->nr_pcpus = 0;
    s->time_ns = 0;
    s->boot_id[0] = '\0';
}

struct acct_domain *acct_sample_add(struct acct_sample *s)
{
    struct acct_domain *d;

    if ( s->nr_domains == s->dom_cap )
    {
        uint32_t cap = s->dom_cap ? s->dom_cap * 2 : 64;
        struct acct_domain *n = realloc(s->domains, cap * sizeof(*n));

        if ( !n )
            return NULL;
        s->domains = n;
        s->dom_cap = cap;
    }
    d = &s->domains[s->nr_domains++];
    memset(d, 0, sizeof(*d));
    return d;
}

/* @len bytes, aligned for anything, from the first chunk with room. */
static void *chunk_alloc(struct acct_sample *s, size_t len)
{
    struct acct_chunk *c, **tail = &s->chunks;
    size_t need = (len + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    void *p;

    for ( c = s->chunks; c; tail = &c->next, c = c->next )
        if ( c->size - c->used >= need )
            break;
    if ( !c )
    {
        size_t size = need > ACCT_CHUNK_MIN ? need : ACCT_CHUNK_MIN;

        c = malloc(sizeof(*c) + size);
        if ( !c )
            return NULL;
        c->next = NULL;
        c->size = size;
        c->used = 0;
        *tail = c;
    }
    p = (char *)c->data + c->used;
    c->used += need;
    return p;
}

const char *acct_sample_str(struct acct_sample *s, const char *str,
                            size_t len)
{
    char *p = chunk_alloc(s, len + 1);

    if ( !p )
        return NULL;
    memcpy(p, str, len);
    p[len] = '\0';
    return p;
}

void *acct_sample_array(struct acct_sample *s, size_t n, size_t size)
{
    void *p;

    if ( size && n > SIZE_MAX / size )
        return NULL;
    p = chunk_alloc(s, n * size > 0 ? n * size : 1);
    if ( p )
        memset(p, 0, n * size);
    return p;
}

/* Every backend, by name.  A new one is a file plus a line here. */
#define ACCT_BACKEND(name) extern const struct acct_backend_ops acct_backend_##name;
#include "backends.def"
#undef ACCT_BACKEND

static const struct acct_backend_ops *const acct_backends[] = {
#define ACCT_BACKEND(name) &acct_backend_##name,
#include "backends.def"
#undef ACCT_BACKEND
    NULL,
};

const struct acct_backend_ops *acct_backend_find(const char *name)
{
    const struct acct_backend_ops *const *b;

    for ( b = acct_backends; *b; b++ )
        if ( !strcmp((*b)->name, name) )
            return *b;
    return NULL;
}
