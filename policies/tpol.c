/*
 * tpol.c: tenant policy: the loader, the matcher, and the engine that
 * splits tenant weights and caps among domains.
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
 * globs are tried tenant by tenant in file order.  A glob's literal head
 * (the bytes before its first metacharacter) is compared first, so the
 * usual "acme-*" rejects a foreign name in a few byte compares.  Globs
 * follow fnmatch(3) with no flags, but work on UTF-8 characters whatever
 * the locale ('?' is one character, not one byte), never recurse, and
 * take O(pattern x name) time at worst, so a hostile domain name cannot
 * make matching slow.
 *
 * The engine: a weight counts once per vCPU that wants CPU (as in Xen's
 * credit and credit2), so every domain of a tenant gets the tenant's
 * weight divided by its active vCPUs; caps are split by demand with a
 * water-fill.  docs/tenant-policy.md explains both, with the reasons for
 * each constant below.  All arithmetic is integer once demand has been
 * rounded to hundredths of a percent.
 *
 * Locking: none.  A policy is immutable once loaded; tpol_apply() keeps
 * its scratch space per call.  Callers may share a policy between threads.
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
#include <xenos/text.h>
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

struct tpol_glob {
    const char *pat;
    size_t head;                /* bytes before the first metacharacter */
    bool literal;               /* no metacharacter: a plain compare */
};

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
/* Globs                                                              */

/*
 * The character at @s: its length (0 at the end) and in *@cp its code
 * point, or 0xdc00 + the byte for a byte that does not start valid UTF-8
 * (a surrogate, so it never equals a character a pattern can hold).
 */
static size_t tpol_char(const char *s, uint32_t *cp)
{
    size_t n;

    if ( !*s )
        return 0;
    n = txt_utf8_next(s, cp);
    if ( !n )
    {
        *cp = 0xdc00u | (unsigned char)*s;
        n = 1;
    }
    return n;
}

/*
 * The bracket expression whose '[' is just before @p: sets *@in to
 * whether @c is in it and returns the pattern past its ']', or returns
 * NULL when there is no ']' (the '[' is then an ordinary character, as
 * in fnmatch).  "!" or "^" first negates, "]" first is a member, "a-z"
 * is a range of code points, "\x" is x.
 */
static const char *tpol_bracket(const char *p, uint32_t c, bool *in)
{
    bool neg = false, found = false, first = true;
    uint32_t lo, hi;

    if ( *p == '!' || *p == '^' )
    {
        neg = true;
        p++;
    }
    for ( ;; )
    {
        if ( !*p )
            return NULL;
        if ( *p == ']' && !first )
            break;
        first = false;
        if ( *p == '\\' && p[1] )
            p++;
        p += tpol_char(p, &lo);
        hi = lo;
        if ( p[0] == '-' && p[1] && p[1] != ']' )
        {
            p++;
            if ( *p == '\\' && p[1] )
                p++;
            p += tpol_char(p, &hi);
        }
        if ( lo <= c && c <= hi )
            found = true;
    }
    *in = found != neg;
    return p + 1;
}

/*
 * Does the pattern element at @p match character @c?  Sets *@next past
 * the element.  @p is not at '*' and not at the end.
 */
static bool tpol_element(const char *p, uint32_t c, const char **next)
{
    uint32_t pc;
    bool in;

    if ( *p == '?' )
    {
        *next = p + 1;
        return true;
    }
    if ( *p == '[' )
    {
        const char *end = tpol_bracket(p + 1, c, &in);

        if ( end )
        {
            *next = end;
            return in;
        }
    }
    else if ( *p == '\\' && p[1] )
        p++;
    *next = p + tpol_char(p, &pc);
    return pc == c;
}

/*
 * fnmatch(@pat, @s, 0), by UTF-8 character.  Iterative: on a mismatch
 * only the last '*' seen takes one more character, which is enough for
 * globs (the first '*' to match as little as possible never hides a
 * match) and bounds the work by |pattern| x |name|.
 */
static bool tpol_glob_match(const char *pat, const char *s)
{
    const char *p = pat, *star_p = NULL, *star_s = NULL, *next;
    uint32_t c;
    size_t n;

    while ( *s )
    {
        if ( *p == '*' )
        {
            while ( *p == '*' )
                p++;
            if ( !*p )
                return true;
            star_p = p;
            star_s = s;
            continue;
        }
        n = tpol_char(s, &c);
        if ( *p && tpol_element(p, c, &next) )
        {
            p = next;
            s += n;
            continue;
        }
        if ( !star_p )
            return false;
        star_s += tpol_char(star_s, &c);
        s = star_s;
        p = star_p;
    }
    while ( *p == '*' )
        p++;
    return !*p;
}

static bool tpol_glob_hit(const struct tpol_glob *g, const char *name)
{
    if ( g->literal )
        return !strcmp(g->pat, name);
    if ( strncmp(g->pat, name, g->head) )
        return false;
    return tpol_glob_match(g->pat + g->head, name + g->head);
}

/*
 * NULL if @pat is a glob we handle as fnmatch would, else why not:
 * character classes are not supported (they would silently be taken as a
 * set of letters) and a lone trailing backslash escapes nothing.
 */
static const char *tpol_glob_problem(const char *pat)
{
    const char *p = pat, *end;
    bool in;

    if ( !*pat )
        return "must not be empty";
    while ( *p )
    {
        if ( *p == '\\' )
        {
            if ( !p[1] )
                return "ends in a lone backslash (write \\\\ for one)";
            p += 2;
            continue;
        }
        if ( *p == '[' && (end = tpol_bracket(p + 1, 0, &in)) )
        {
            const char *q;

            for ( q = p + 1; q < end - 1; q++ )
                if ( q[0] == '[' && (q[1] == ':' || q[1] == '=' ||
                                     q[1] == '.') )
                    return "character classes such as [:alpha:] are not "
                           "supported; list the characters or a range";
            p = end;
            continue;
        }
        p++;
    }
    return NULL;
}

static void tpol_glob_init(struct tpol_glob *g, const char *pat)
{
    g->pat = pat;
    g->head = strcspn(pat, "*?[\\");
    g->literal = !pat[g->head];
}

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
        why = tpol_glob_problem(m->names[i]);
        if ( why )
            return cfg_invalid(c->err, c->errlen, c->path,
                               TPOL_PATH("tenants", t, "match", "names",
                                         c->entry), "%s", why);
        tpol_glob_init(&globs[i], m->names[i]);
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
                if ( tpol_glob_hit(&p->rules[t].globs[g], name) )
                    return (int)t;
    return TPOL_UNASSIGNED;
}

const char *tpol_tenant_of(const struct tpol *p, const char *uuid,
                           const char *key, const char *name)
{
    int t = tpol_match(p, uuid, key, name);

    return t == TPOL_UNASSIGNED ? NULL : p->tenants[t].name;
}

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
    uint32_t *start, *pos, *order, t, nt;
    struct tpol_slot *slots;
    uint64_t *keys;
    size_t i;

    if ( !n )
        return 0;
    if ( !p || !in || !out || n > UINT32_MAX )
        return -EINVAL;
    nt = p->nr_tenants;

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
            out[i].weight = p->def_weight;
            out[i].cap_pct = p->def_cap_pct;
            continue;
        }
        out[i].tenant_name = p->tenants[ten].name;
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
        const struct tpol_tenant *ten = &p->tenants[t];
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
