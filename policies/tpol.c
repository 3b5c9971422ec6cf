/*
 * tpol.c: tenant policy: the loader and the matcher.  The globs it
 * matches names with are tpol_glob.c's; the engine that splits tenant
 * weights and caps among domains is tpol_engine.c.
 *
 * Design
 * ------
 * Loading: libcyaml (through common/cfg) checks the shape of the file;
 * every scalar is read as a string and parsed with num_parse_int(), whose
 * strictness libcyaml's integers lack ("10s" is not 10).  Values are then
 * checked in file order and the first problem is reported as
 * "FILE:LINE: FIELD: reason" through cfg_invalid().  The loaded strings
 * stay where libcyaml put them: the policy keeps the raw document and
 * points into it, uuids lower-cased in place.  Only a complete, checked
 * policy is handed out, so a reload that fails changes nothing.
 *
 * Matching: uuids go into one sorted index (first tenant in file order
 * kept for a uuid listed twice) and are found by binary search; keys and
 * globs are tried tenant by tenant in file order (tpol_glob.c).
 *
 * Locking: none.  A policy is immutable once loaded; callers may share a
 * policy between threads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/cfg.h>
#include <xenos/hex.h>
#include <xenos/num.h>
#include <xenos/tpol.h>

#include "tpol_glob.h"

/* ------------------------------------------------------------------ */
/* The file as libcyaml loads it: strings, NULL where a key is absent. */

struct tpol_raw_defaults {
    char *weight, *cap_pct;
};

struct tpol_raw_match {
    char **names;
    unsigned int names_count;
    char **uuids;
    unsigned int uuids_count;
    char *key;
};

struct tpol_raw_tenant {
    char *name;
    char *weight, *cap_pct;
    struct tpol_raw_match *match;
};

struct tpol_raw {
    struct tpol_raw_defaults *defaults;
    struct tpol_raw_tenant *tenants;
    unsigned int tenants_count;
};

#define TPOL_STR(key, flags, type, member)                              \
    CYAML_FIELD_STRING_PTR(key, (flags), type, member, 0, CYAML_UNLIMITED)
#define TPOL_OPT CYAML_FLAG_OPTIONAL
#define TPOL_REQ CYAML_FLAG_DEFAULT

static const cyaml_schema_field_t tpol_defaults_fields[] = {
    TPOL_STR("weight", TPOL_OPT, struct tpol_raw_defaults, weight),
    TPOL_STR("cap_pct", TPOL_OPT, struct tpol_raw_defaults, cap_pct),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t tpol_string_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t tpol_match_fields[] = {
    CYAML_FIELD_SEQUENCE("names", CYAML_FLAG_POINTER | TPOL_OPT,
                         struct tpol_raw_match, names, &tpol_string_entry,
                         1, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE("uuids", CYAML_FLAG_POINTER | TPOL_OPT,
                         struct tpol_raw_match, uuids, &tpol_string_entry,
                         1, CYAML_UNLIMITED),
    TPOL_STR("key", TPOL_OPT, struct tpol_raw_match, key),
    CYAML_FIELD_END
};

static const cyaml_schema_field_t tpol_tenant_fields[] = {
    TPOL_STR("name", TPOL_REQ, struct tpol_raw_tenant, name),
    TPOL_STR("weight", TPOL_OPT, struct tpol_raw_tenant, weight),
    TPOL_STR("cap_pct", TPOL_OPT, struct tpol_raw_tenant, cap_pct),
    CYAML_FIELD_MAPPING_PTR("match", TPOL_OPT, struct tpol_raw_tenant,
                            match, tpol_match_fields),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t tpol_tenant_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct tpol_raw_tenant,
                        tpol_tenant_fields),
};

static const cyaml_schema_field_t tpol_fields[] = {
    CYAML_FIELD_MAPPING_PTR("defaults", TPOL_OPT, struct tpol_raw, defaults,
                            tpol_defaults_fields),
    CYAML_FIELD_SEQUENCE("tenants", CYAML_FLAG_POINTER, struct tpol_raw,
                         tenants, &tpol_tenant_entry, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t tpol_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct tpol_raw, tpol_fields),
};

/* ------------------------------------------------------------------ */
/* The policy                                                         */


struct tpol_rules {
    struct tpol_glob *globs;    /* into tpol.globs */
    unsigned int nr_globs;
    const char *key;            /* NULL: none */
};

struct tpol_uuid {
    const char *uuid;           /* lower case */
    unsigned int tenant;
};

struct tpol {
    struct tpol_raw *raw;       /* owns every string below */
    uint32_t def_weight, def_cap_pct;
    unsigned int nr_tenants;
    struct tpol_tenant *tenants;
    struct tpol_rules *rules;   /* per tenant */
    struct tpol_glob *globs;
    struct tpol_uuid *uuids;    /* sorted, one entry per uuid */
    size_t nr_uuids;
};

/* ------------------------------------------------------------------ */
/* Uuids                                                              */

/* 8-4-4-4-12 hex digits, either case. */
static bool tpol_uuid_ok(const char *s)
{
    char u[HEX_UUID_LEN + 1];

    return hex_uuid_parse(s, u) == 0;
}

/* @dst (HEX_UUID_LEN + 1 bytes): @src in lower case. */
static void tpol_uuid_lower(char *dst, const char *src)
{
    unsigned int i;

    for ( i = 0; i <= HEX_UUID_LEN; i++ )
        dst[i] = (src[i] >= 'A' && src[i] <= 'F') ? (char)(src[i] + 32)
                                                  : src[i];
}

static int tpol_uuid_cmp(const void *a, const void *b)
{
    const struct tpol_uuid *x = a, *y = b;
    int r = strcmp(x->uuid, y->uuid);

    return r ? r : (x->tenant > y->tenant) - (x->tenant < y->tenant);
}

static int tpol_uuid_find(const void *key, const void *ent)
{
    return strcmp(key, ((const struct tpol_uuid *)ent)->uuid);
}

/* ------------------------------------------------------------------ */
/* Loading                                                            */

/* Where we are: file, error buffer, the current tenant and entry. */
struct tpol_ld {
    const char *path;
    char *err;
    size_t errlen;
    char ten[16];
    char entry[16];
};

/* A path literal and its length, for cfg_invalid(). */
#define TPOL_PATH(...)                                                  \
    (const char *const[]){ __VA_ARGS__ },                               \
    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

static const char *tpol_esc(char *buf, size_t len, const char *s)
{
    cfg_escape_msg(buf, len, s);        /* a long value is shown cut */
    return buf;
}

static int tpol_int(const struct tpol_ld *c, const char *s,
                    const char *const *keys, size_t nkeys, int64_t min,
                    int64_t max, uint32_t *out)
{
    char esc[64];
    int64_t v;
    int rc = num_parse_int(s, min, max, &v);

    if ( rc == -EINVAL )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be an integer, not '%s'",
                           tpol_esc(esc, sizeof(esc), s));
    if ( rc )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be %lld..%lld, not %s", (long long)min,
                           (long long)max, tpol_esc(esc, sizeof(esc), s));
    *out = (uint32_t)v;
    return 0;
}

static int tpol_ld_defaults(const struct tpol_ld *c,
                            const struct tpol_raw_defaults *r,
                            struct tpol *p)
{
    int rc = 0;

    p->def_weight = TPOL_WEIGHT_DEFAULT;
    p->def_cap_pct = 0;
    if ( !r )
        return 0;
    if ( r->weight )
        rc = tpol_int(c, r->weight, TPOL_PATH("defaults", "weight"),
                      TPOL_WEIGHT_MIN, TPOL_WEIGHT_MAX, &p->def_weight);
    if ( !rc && r->cap_pct )
        rc = tpol_int(c, r->cap_pct, TPOL_PATH("defaults", "cap_pct"), 0,
                      TPOL_CAP_PCT_MAX, &p->def_cap_pct);
    return rc;
}

/* The match rules of tenant c->ten: at least one, each valid. */
static int tpol_ld_match(struct tpol_ld *c, const struct tpol_raw_match *m,
                         struct tpol_rules *rules, struct tpol_glob *globs,
                         struct tpol_uuid *uuids, size_t *nr_uuids,
                         unsigned int tenant)
{
    const char *t = c->ten, *why;
    char esc[128];
    unsigned int i;

    if ( !m )
        return cfg_invalid(c->err, c->errlen, c->path,
                           TPOL_PATH("tenants", t),
                           "needs a match rule (match: with names, "
                           "uuids or key)");
    if ( !m->names && !m->uuids && !m->key )
        return cfg_invalid(c->err, c->errlen, c->path,
                           TPOL_PATH("tenants", t, "match"),
                           "needs at least one rule (names, uuids or key)");

    rules->globs = globs;
    for ( i = 0; m->names && i < m->names_count; i++ )
    {
        snprintf(c->entry, sizeof(c->entry), "%u", i);
        why = tpol__glob_problem(m->names[i]);
        if ( why )
            return cfg_invalid(c->err, c->errlen, c->path,
                               TPOL_PATH("tenants", t, "match", "names",
                                         c->entry), "%s", why);
        tpol__glob_init(&globs[i], m->names[i]);
    }
    rules->nr_globs = m->names ? m->names_count : 0;

    for ( i = 0; m->uuids && i < m->uuids_count; i++ )
    {
        char *u = m->uuids[i];

        snprintf(c->entry, sizeof(c->entry), "%u", i);
        if ( !tpol_uuid_ok(u) )
            return cfg_invalid(c->err, c->errlen, c->path,
                               TPOL_PATH("tenants", t, "match", "uuids",
                                         c->entry),
                               "'%s' is not a uuid (8-4-4-4-12 hex "
                               "digits)", tpol_esc(esc, sizeof(esc), u));
        tpol_uuid_lower(u, u);
        uuids[*nr_uuids].uuid = u;
        uuids[*nr_uuids].tenant = tenant;
        (*nr_uuids)++;
    }

    if ( m->key && !m->key[0] )
        return cfg_invalid(c->err, c->errlen, c->path,
                           TPOL_PATH("tenants", t, "match", "key"),
                           "must not be empty");
    rules->key = m->key;
    return 0;
}

static int tpol_ld_tenant(struct tpol_ld *c, const struct tpol_raw_tenant *r,
                          struct tpol *p, unsigned int i,
                          struct tpol_glob *globs)
{
    struct tpol_tenant *t = &p->tenants[i];
    int rc;

    if ( !r->name[0] )
        return cfg_invalid(c->err, c->errlen, c->path,
                           TPOL_PATH("tenants", c->ten, "name"),
                           "must not be empty");
    if ( !strcmp(r->name, TPOL_UNASSIGNED_NAME) )
        return cfg_invalid(c->err, c->errlen, c->path,
                           TPOL_PATH("tenants", c->ten, "name"),
                           "'%s' is reserved for domains of no tenant",
                           TPOL_UNASSIGNED_NAME);
    t->name = r->name;
    t->weight = TPOL_WEIGHT_DEFAULT;
    if ( r->weight )
    {
        rc = tpol_int(c, r->weight, TPOL_PATH("tenants", c->ten, "weight"),
                      TPOL_WEIGHT_MIN, TPOL_WEIGHT_MAX, &t->weight);
        if ( rc )
            return rc;
    }
    if ( r->cap_pct )
    {
        rc = tpol_int(c, r->cap_pct,
                      TPOL_PATH("tenants", c->ten, "cap_pct"), 0,
                      TPOL_CAP_PCT_MAX, &t->cap_pct);
        if ( rc )
            return rc;
    }
    return tpol_ld_match(c, r->match, &p->rules[i], globs, p->uuids,
                         &p->nr_uuids, i);
}

/* Tenant names must be unique: usage is summed and exported by name. */
static int tpol_ld_unique(struct tpol_ld *c, const struct tpol *p)
{
    unsigned int line = 0;
    size_t first, dup;
    char esc[128];
    int rc;

    rc = cfg_first_dup(p->tenants, p->nr_tenants, sizeof(p->tenants[0]),
                       offsetof(struct tpol_tenant, name), &first, &dup);
    if ( rc <= 0 )
        return rc;
    snprintf(c->ten, sizeof(c->ten), "%zu", first);
    cfg_locate(c->path, TPOL_PATH("tenants", c->ten, "name"), &line);
    snprintf(c->ten, sizeof(c->ten), "%zu", dup);
    return cfg_invalid(c->err, c->errlen, c->path,
                       TPOL_PATH("tenants", c->ten, "name"),
                       "duplicate tenant name '%s' (first at line %u)",
                       tpol_esc(esc, sizeof(esc), p->tenants[dup].name),
                       line);
}

/* One entry per uuid, the first tenant in file order keeping it. */
static void tpol_ld_index(struct tpol *p)
{
    size_t i, n = 0;

    if ( !p->nr_uuids )
        return;
    qsort(p->uuids, p->nr_uuids, sizeof(*p->uuids), tpol_uuid_cmp);
    for ( i = 0; i < p->nr_uuids; i++ )
        if ( !n || strcmp(p->uuids[n - 1].uuid, p->uuids[i].uuid) )
            p->uuids[n++] = p->uuids[i];
    p->nr_uuids = n;
}

static int tpol_convert(struct tpol_ld *c, const struct tpol_raw *r,
                        struct tpol *p)
{
    size_t nglobs = 0, nuuids = 0, g = 0;
    unsigned int i;
    int rc;

    rc = tpol_ld_defaults(c, r->defaults, p);
    if ( rc )
        return rc;

    p->nr_tenants = r->tenants_count;
    for ( i = 0; i < r->tenants_count; i++ )
    {
        const struct tpol_raw_match *m = r->tenants[i].match;

        if ( m && m->names )
            nglobs += m->names_count;
        if ( m && m->uuids )
            nuuids += m->uuids_count;
    }
    /* calloc(0) may return NULL: ask for at least one of each. */
    p->tenants = calloc(p->nr_tenants + 1, sizeof(*p->tenants));
    p->rules = calloc(p->nr_tenants + 1, sizeof(*p->rules));
    p->globs = calloc(nglobs + 1, sizeof(*p->globs));
    p->uuids = calloc(nuuids + 1, sizeof(*p->uuids));
    if ( !p->tenants || !p->rules || !p->globs || !p->uuids )
        return -ENOMEM;

    for ( i = 0; i < r->tenants_count; i++ )
    {
        snprintf(c->ten, sizeof(c->ten), "%u", i);
        rc = tpol_ld_tenant(c, &r->tenants[i], p, i, &p->globs[g]);
        if ( rc )
            return rc;
        g += p->rules[i].nr_globs;
    }
    rc = tpol_ld_unique(c, p);
    if ( rc )
        return rc;
    tpol_ld_index(p);
    return 0;
}

static int tpol_nomem(char *err, size_t errlen, const char *path)
{
    if ( errlen )
        snprintf(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
}

int tpol_load(const char *path, struct tpol **out, char *err,
              size_t errlen)
{
    struct tpol_ld c = {
        .path = path,
        .err = err,
        .errlen = errlen,
    };
    void *data = NULL;
    struct tpol *p;
    int rc;

    rc = cfg_load(path, &tpol_schema, &data, err, errlen);
    if ( rc )
        return rc;
    /* NULL only for a mapping without keys, and tenants is required. */
    if ( !data )
        return cfg_invalid(err, errlen, path, NULL, 0,
                           "missing required key 'tenants'");

    p = calloc(1, sizeof(*p));
    if ( !p )
    {
        cfg_free(&tpol_schema, data);
        return tpol_nomem(err, errlen, path);
    }
    p->raw = data;
    rc = tpol_convert(&c, data, p);
    if ( rc )
    {
        tpol_free(p);
        return rc == -ENOMEM ? tpol_nomem(err, errlen, path) : rc;
    }
    *out = p;
    return 0;
}

void tpol_free(struct tpol *p)
{
    if ( !p )
        return;
    free(p->tenants);
    free(p->rules);
    free(p->globs);
    free(p->uuids);
    cfg_free(&tpol_schema, p->raw);
    free(p);
}

unsigned int tpol_nr_tenants(const struct tpol *p)
{
    return p->nr_tenants;
}

const struct tpol_tenant *tpol_tenant(const struct tpol *p,
                                      unsigned int idx)
{
    return idx < p->nr_tenants ? &p->tenants[idx] : NULL;
}

void tpol_defaults(const struct tpol *p, uint32_t *weight,
                   uint32_t *cap_pct)
{
    *weight = p->def_weight;
    *cap_pct = p->def_cap_pct;
}

/* ------------------------------------------------------------------ */
/* Matching                                                           */

int tpol_match(const struct tpol *p, const char *uuid, const char *key,
               const char *name)
{
    unsigned int t, g;

    if ( uuid && p->nr_uuids && strlen(uuid) == HEX_UUID_LEN )
    {
        char lower[HEX_UUID_LEN + 1];
        const struct tpol_uuid *hit;

        tpol_uuid_lower(lower, uuid);
        hit = bsearch(lower, p->uuids, p->nr_uuids, sizeof(*p->uuids),
                      tpol_uuid_find);
        if ( hit )
            return (int)hit->tenant;
    }
    if ( key )
        for ( t = 0; t < p->nr_tenants; t++ )
            if ( p->rules[t].key && !strcmp(p->rules[t].key, key) )
                return (int)t;
    if ( name )
        for ( t = 0; t < p->nr_tenants; t++ )
            for ( g = 0; g < p->rules[t].nr_globs; g++ )
                if ( tpol__glob_hit(&p->rules[t].globs[g], name) )
                    return (int)t;
    return TPOL_UNASSIGNED;
}

const char *tpol_tenant_of(const struct tpol *p, const char *uuid,
                           const char *key, const char *name)
{
    int t = tpol_match(p, uuid, key, name);

    return t == TPOL_UNASSIGNED ? NULL : p->tenants[t].name;
}
