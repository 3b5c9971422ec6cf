/*
 * test_tpol.c: tenant policies: loading, matching, and the engine that
 * splits tenant weights and caps among domains.
 *
 * Bad files are written from here into a fresh temporary directory, each
 * next to the line and field its message must name.  The engine is run
 * the way xenosd runs it: interval after interval, each domain using
 * min(what it wants, the cap it was given), the caps fed back in, so the
 * tests measure where the caps converge and how fast, not only one call.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <xenos/hex.h>
#include <xenos/sim.h>
#include <xenos/tpol.h>

#include "tmptree.h"

/* A domain as tpol_tenant_of sees it. */
struct test_dom {
    char uuid[HEX_UUID_LEN + 1];
    const char *name, *tenant_key;
};

#include "simtest.h"

#define EXAMPLE     XENOS_SOURCE_DIR "/policies/examples/tenants.yaml"
#define SCENARIOS   XENOS_SOURCE_DIR "/sched/sim/scenarios"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Per test: a temporary directory (tmptree.h), removed with what is in
 * it. */
static char tmpdir[256];

static void tmp_setup(void)
{
    tmptree_make(tmpdir, sizeof(tmpdir), "tpol");
}

static void tmp_teardown(void)
{
    tmptree_remove(tmpdir);
}

static void put_file_len(const char *name, const char *text, size_t len,
                         char *path, size_t pathlen)
{
    FILE *f;

    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void put_file(const char *name, const char *text, char *path,
                     size_t pathlen)
{
    put_file_len(name, text, strlen(text), path, pathlen);
}

/* Write @yaml as p.yaml and load it; the test fails if it does not. */
static struct tpol *load_text(const char *yaml)
{
    char path[512], err[1024];
    struct tpol *p = NULL;

    put_file("p.yaml", yaml, path, sizeof(path));
    ck_assert_msg(tpol_load(path, &p, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* @s as a double-quoted YAML scalar, into @buf. */
static const char *yaml_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0;

    buf[o++] = '"';
    for ( ; *s; s++ )
    {
        unsigned char c = (unsigned char)*s;

        ck_assert_uint_lt(o + 6, len);
        if ( c == '"' || c == '\\' )
        {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        }
        else if ( c < 0x20 || c == 0x7f )
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ */
/* The example                                                        */

START_TEST(test_tpol_example_loads)
{
    struct tpol *p = NULL;
    const struct tpol_tenant *t;
    uint32_t w, cap;
    char err[1024];

    ck_assert_msg(tpol_load(EXAMPLE, &p, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(tpol_nr_tenants(p), 5);
    t = tpol_tenant(p, 1);
    ck_assert_str_eq(t->name, "globex");
    ck_assert_uint_eq(t->weight, 1024);
    ck_assert_uint_eq(t->cap_pct, 150);
    ck_assert_ptr_null(tpol_tenant(p, 5));
    tpol_defaults(p, &w, &cap);
    ck_assert_uint_eq(w, 256);
    ck_assert_uint_eq(cap, 0);
    tpol_free(p);
}
END_TEST

/* The example is written for many-tenants.yaml: every domain lands
 * where the example's comments say. */
START_TEST(test_tpol_example_matches_scenario)
{
    static const struct {
        const char *prefix, *tenant;
    } want[] = {
        { "acme-", "acme" }, { "globex-", "globex" },
        { "initech-", "initech" }, { "hooli-", "hooli" },
        { "umbrella-web", "umbrella" }, { "umbrella-db", "umbrella" },
        { "umbrella-", NULL }, { "stark-", NULL }, { "wayne-", NULL },
        { "tyrell-", NULL },
    };
    struct sim_scenario sc;
    struct tpol *p = NULL;
    char err[1024];
    unsigned int i, j, assigned = 0;

    ck_assert_msg(sim_scenario_load(SCENARIOS "/many-tenants.yaml", &sc,
                                    err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(tpol_load(EXAMPLE, &p, err, sizeof(err)) == 0, "%s", err);
    for ( i = 0; i < sc.nr_domains; i++ )
    {
        const char *name = sc.domains[i].name;
        int t = tpol_match(p, NULL, NULL, name);

        for ( j = 0; j < ARRAY_SIZE(want); j++ )
            if ( !strncmp(name, want[j].prefix, strlen(want[j].prefix)) )
                break;
        ck_assert_msg(j < ARRAY_SIZE(want), "%s not in the table", name);
        if ( want[j].tenant )
        {
            ck_assert_msg(t >= 0, "%s unassigned", name);
            ck_assert_str_eq(tpol_tenant(p, (unsigned int)t)->name,
                             want[j].tenant);
            assigned++;
        }
        else
            ck_assert_msg(t == TPOL_UNASSIGNED, "%s assigned", name);
    }
    ck_assert_uint_eq(assigned, 18);
    tpol_free(p);
    sim_scenario_free(&sc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Values and defaults                                                */

START_TEST(test_tpol_values_and_defaults)
{
    struct tpol *p = load_text(
        "tenants:\n"
        "  - name: plain\n"
        "    match: {key: k}\n"
        "  - name: set\n"
        "    weight: 65535\n"
        "    cap_pct: 102400\n"
        "    match: {names: [x]}\n");
    uint32_t w, cap;

    /* No defaults: section: 256 and no cap, as Xen's own defaults. */
    tpol_defaults(p, &w, &cap);
    ck_assert_uint_eq(w, 256);
    ck_assert_uint_eq(cap, 0);
    ck_assert_uint_eq(tpol_tenant(p, 0)->weight, 256);
    ck_assert_uint_eq(tpol_tenant(p, 0)->cap_pct, 0);
    ck_assert_uint_eq(tpol_tenant(p, 1)->weight, 65535);
    ck_assert_uint_eq(tpol_tenant(p, 1)->cap_pct, 102400);
    tpol_free(p);

    p = load_text("defaults:\n  weight: 64\n  cap_pct: 50\ntenants: []\n");
    tpol_defaults(p, &w, &cap);
    ck_assert_uint_eq(w, 64);
    ck_assert_uint_eq(cap, 50);
    ck_assert_uint_eq(tpol_nr_tenants(p), 0);
    tpol_free(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad files                                                          */

#define T0 "tenants:\n  - name: a\n"                     /* lines 1-2 */
#define M0 "    match: {names: [a]}\n"
#define UUID "6f1c0a4e-2b3d-4c5e-8f90-a1b2c3d4e5f6"

static const struct bad_case {
    const char *file;
    const char *yaml;           /* NULL: the file does not exist */
    int rc;
    unsigned int line;          /* 0: the message has no line */
    const char *field;          /* must follow "FILE:LINE: ", if set */
    const char *why;            /* must be in the message */
} bad_cases[] = {
    { "syntax.yaml", "tenants: []\ndefaults: weight: 5\n",
      -EINVAL, 2, NULL, "YAML syntax error" },
    { "syntax-flow.yaml", T0 "    match: {names: [a}\n",
      -EINVAL, 3, NULL, "YAML syntax error" },
    { "unknown-top.yaml", "tenants: []\ntenant: []\n",
      -EINVAL, 2, NULL, "unexpected key 'tenant'" },
    { "unknown-tenant-key.yaml", T0 "    wieght: 5\n" M0,
      -EINVAL, 3, "tenants[0]", "unexpected key 'wieght'" },
    { "unknown-match-key.yaml", T0 "    match:\n      names: [a]\n"
      "      nmae: [b]\n",
      -EINVAL, 5, "tenants[0].match", "unexpected key 'nmae'" },
    { "unknown-defaults-key.yaml", "defaults: {weight: 1, cpa_pct: 3}\n"
      "tenants: []\n",
      -EINVAL, 1, "defaults", "unexpected key 'cpa_pct'" },
    { "cap-negative.yaml", T0 "    cap_pct: -5\n" M0,
      -EINVAL, 3, "tenants[0].cap_pct", "must be 0..102400, not -5" },
    { "cap-big.yaml", T0 "    cap_pct: 102401\n" M0,
      -EINVAL, 3, "tenants[0].cap_pct", "must be 0..102400, not 102401" },
    { "cap-float.yaml", T0 "    cap_pct: 1.5\n" M0,
      -EINVAL, 3, "tenants[0].cap_pct", "must be an integer, not '1.5'" },
    { "cap-unit.yaml", T0 "    cap_pct: 50%\n" M0,
      -EINVAL, 3, "tenants[0].cap_pct", "must be an integer, not '50%'" },
    { "weight-zero.yaml", T0 M0 "  - name: b\n    weight: 0\n" M0,
      -EINVAL, 5, "tenants[1].weight", "must be 1..65535, not 0" },
    { "weight-big.yaml", T0 "    weight: 65536\n" M0,
      -EINVAL, 3, "tenants[0].weight", "must be 1..65535, not 65536" },
    { "weight-list.yaml", T0 "    weight: [5]\n" M0,
      -EINVAL, 3, "tenants[0].weight", "expected a single value" },
    { "defaults-weight-zero.yaml", "defaults:\n  weight: 0\ntenants: []\n",
      -EINVAL, 2, "defaults.weight", "must be 1..65535, not 0" },
    { "defaults-cap-negative.yaml", "defaults: {cap_pct: -1}\n"
      "tenants: []\n",
      -EINVAL, 1, "defaults.cap_pct", "must be 0..102400, not -1" },
    { "duplicate-tenant.yaml", T0 M0 "  - name: b\n" M0 "  - name: a\n" M0,
      -EINVAL, 6, "tenants[2].name",
      "duplicate tenant name 'a' (first at line 2)" },
    { "no-rule.yaml", T0 M0 "  - name: b\n    weight: 5\n",
      -EINVAL, 4, "tenants[1]", "needs a match rule" },
    { "empty-match.yaml", T0 "    match: {}\n",
      -EINVAL, 3, "tenants[0].match", "needs at least one rule" },
    { "empty-names.yaml", T0 "    match: {names: []}\n",
      -EINVAL, 3, "tenants[0].match.names", "at least 1 entry" },
    { "bad-uuid.yaml", T0 "    match:\n      uuids:\n        - " UUID "\n"
      "        - not-a-uuid\n",
      -EINVAL, 6, "tenants[0].match.uuids[1]",
      "'not-a-uuid' is not a uuid" },
    { "uuid-short.yaml", T0 "    match: {uuids: [6f1c0a4e-2b3d-4c5e-8f90"
      "-a1b2c3d4e5f]}\n",
      -EINVAL, 3, "tenants[0].match.uuids[0]", "is not a uuid" },
    { "uuid-long.yaml", T0 "    match: {uuids: [" UUID "0]}\n",
      -EINVAL, 3, "tenants[0].match.uuids[0]", "is not a uuid" },
    { "uuid-not-hex.yaml", T0 "    match: {uuids: [6f1c0a4e-2b3d-4c5e-8f90"
      "-a1b2c3d4e5fg]}\n",
      -EINVAL, 3, "tenants[0].match.uuids[0]", "is not a uuid" },
    { "uuid-no-dashes.yaml", T0 "    match: {uuids: [6f1c0a4e02b3d04c5e0"
      "8f900a1b2c3d4e5f6]}\n",
      -EINVAL, 3, "tenants[0].match.uuids[0]", "is not a uuid" },
    { "glob-empty.yaml", T0 "    match:\n      names: [a, '']\n",
      -EINVAL, 4, "tenants[0].match.names[1]", "must not be empty" },
    { "glob-backslash.yaml", T0 "    match: {names: ['web\\']}\n",
      -EINVAL, 3, "tenants[0].match.names[0]", "lone backslash" },
    { "glob-class.yaml", T0 "    match: {names: ['web[[:digit:]]']}\n",
      -EINVAL, 3, "tenants[0].match.names[0]", "character classes" },
    { "key-empty.yaml", T0 "    match: {key: ''}\n",
      -EINVAL, 3, "tenants[0].match.key", "must not be empty" },
    { "key-list.yaml", T0 "    match: {key: [a]}\n",
      -EINVAL, 3, "tenants[0].match.key", "expected a single value" },
    { "name-empty.yaml", "tenants:\n  - name: ''\n" M0,
      -EINVAL, 2, "tenants[0].name", "must not be empty" },
    { "name-reserved.yaml", "tenants:\n  - name: '-'\n" M0,
      -EINVAL, 2, "tenants[0].name", "reserved" },
    { "name-missing.yaml", "tenants:\n  - weight: 5\n" M0,
      -EINVAL, 2, "tenants[0]", "missing required key 'name'" },
    { "nul-in-name.yaml", "tenants:\n  - name: \"a\\0b\"\n" M0,
      -EINVAL, 2, NULL, "NUL byte" },
    { "key-twice.yaml", T0 "    weight: 1\n    weight: 2\n" M0,
      -EINVAL, 4, "tenants[0].weight", "given twice" },
    { "no-tenants.yaml", "defaults: {weight: 5}\n",
      -EINVAL, 1, NULL, "missing required key 'tenants'" },
    { "empty-mapping.yaml", "{}\n",
      -EINVAL, 1, NULL, "missing required key 'tenants'" },
    { "tenants-scalar.yaml", "tenants: 5\n",
      -EINVAL, 1, "tenants", "expected a list" },
    { "top-list.yaml", "- a\n",
      -EINVAL, 1, NULL, "expected a mapping" },
    { "not-utf8.yaml", "tenants:\n  - name: a\xff\n" M0,
      -EINVAL, 2, NULL, "not valid UTF-8" },
    { "empty.yaml", "", -EINVAL, 0, NULL, "empty file" },
    { "comments.yaml", "# nothing yet\n", -EINVAL, 0, NULL, "empty file" },
    { "missing.yaml", NULL, -ENOENT, 0, NULL, "No such file or directory" },
};

START_TEST(test_tpol_bad_file_rejected)
{
    const struct bad_case *bc = &bad_cases[_i];
    struct tpol *p = (struct tpol *)&p;     /* must stay untouched */
    char path[512], err[1024], prefix[600];
    int rc;

    if ( bc->yaml )
        put_file(bc->file, bc->yaml, path, sizeof(path));
    else
        snprintf(path, sizeof(path), "%s/%s", tmpdir, bc->file);

    err[0] = '\0';
    rc = tpol_load(path, &p, err, sizeof(err));
    ck_assert_msg(rc == bc->rc, "%s: rc %d, want %d (%s)", bc->file, rc,
                  bc->rc, err);
    ck_assert_ptr_eq(p, (struct tpol *)&p);

    /* "FILE:LINE: " with the right line, or "FILE: " when none. */
    if ( bc->line )
        snprintf(prefix, sizeof(prefix), "%s:%u: ", path, bc->line);
    else
        snprintf(prefix, sizeof(prefix), "%s: ", path);
    ck_assert_msg(!strncmp(err, prefix, strlen(prefix)),
                  "%s: message '%s' does not start with '%s'", bc->file,
                  err, prefix);
    if ( bc->field )
    {
        const char *f = err + strlen(prefix);

        ck_assert_msg(!strncmp(f, bc->field, strlen(bc->field)) &&
                      f[strlen(bc->field)] == ':',
                      "%s: field is not '%s' in '%s'", bc->file, bc->field,
                      err);
    }
    ck_assert_msg(strstr(err, bc->why), "%s: no '%s' in '%s'", bc->file,
                  bc->why, err);
    ck_assert_msg(!strchr(err, '\n'), "%s: message spans lines", bc->file);
}
END_TEST

/* A hostile key must not break the message onto two lines. */
START_TEST(test_tpol_error_escapes_file_text)
{
    char path[512], err[1024];
    struct tpol *p = NULL;

    put_file("p.yaml", T0 "    \"x\\ny\\e[2J\": 1\n" M0, path,
             sizeof(path));
    ck_assert_int_eq(tpol_load(path, &p, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unexpected key 'x\\ny\\x1b[2J'"));
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_ptr_null(strchr(err, '\x1b'));
    ck_assert_ptr_null(p);
}
END_TEST

/* A small buffer gets a cut, terminated message; no buffer is fine. */
START_TEST(test_tpol_small_error_buffer)
{
    char path[512], err[16];
    struct tpol *p = NULL;

    put_file("p.yaml", T0 "    weight: 0\n" M0, path, sizeof(path));
    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(tpol_load(path, &p, err, sizeof(err)), -EINVAL);
    ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
    ck_assert_int_eq(tpol_load(path, &p, NULL, 0), -EINVAL);
    ck_assert_ptr_null(p);
}
END_TEST

/* SIGHUP: the caller loads into a new pointer and keeps the old policy
 * when that fails; the old one is untouched and still answers. */
START_TEST(test_tpol_failed_reload_keeps_old)
{
    struct tpol *cur = load_text(T0 M0), *next = NULL;
    char path[512], err[1024];

    put_file("p.yaml", T0 "    cap_pct: -1\n" M0, path, sizeof(path));
    ck_assert_int_eq(tpol_load(path, &next, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(next);
    ck_assert_int_eq(tpol_match(cur, NULL, NULL, "a"), 0);
    ck_assert_str_eq(tpol_tenant(cur, 0)->name, "a");

    /* And a good reload gives a separate object with the new content. */
    put_file("p.yaml", "tenants:\n  - name: b\n" M0, path, sizeof(path));
    ck_assert_int_eq(tpol_load(path, &next, err, sizeof(err)), 0);
    ck_assert_ptr_ne(next, cur);
    ck_assert_str_eq(tpol_tenant(next, 0)->name, "b");
    ck_assert_str_eq(tpol_tenant(cur, 0)->name, "a");
    tpol_free(cur);
    tpol_free(next);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Matching                                                           */

#define UUID_X "00000000-0000-4000-8000-00000000000a"
#define UUID_Y "00000000-0000-4000-8000-00000000000b"

static const char prec_yaml[] =
    "tenants:\n"
    "  - name: byname\n"                /* 0 */
    "    match: {names: ['web-*']}\n"
    "  - name: bykey\n"                 /* 1 */
    "    match: {key: gold, names: ['db-*']}\n"
    "  - name: byuuid\n"                /* 2 */
    "    match: {uuids: [" UUID_X "]}\n"
    "  - name: later\n"                 /* 3 */
    "    match:\n"
    "      names: ['web-*', 'db-*', '*']\n"
    "      key: gold\n"
    "      uuids: [" UUID_X ", " UUID_Y "]\n";

static const struct {
    const char *uuid, *key, *name;
    int tenant;
} prec_cases[] = {
    /* uuid beats key beats name */
    { UUID_X, "gold", "web-1", 2 },
    { UUID_X, NULL, "web-1", 2 },
    { NULL, "gold", "web-1", 1 },
    { "00000000-0000-4000-8000-0000000000ff", "gold", "web-1", 1 },
    /* within a kind, the first tenant in the file */
    { UUID_Y, "gold", "web-1", 3 },
    { NULL, NULL, "web-1", 0 },
    { NULL, NULL, "db-1", 1 },
    { NULL, "silver", "db-1", 1 },
    { NULL, NULL, "other", 3 },
    /* a key is compared exactly */
    { NULL, "Gold", "x", 3 },
    /* nothing to go by */
    { NULL, NULL, NULL, TPOL_UNASSIGNED },
    { "not-a-uuid", "", NULL, TPOL_UNASSIGNED },
};

START_TEST(test_tpol_match_precedence)
{
    struct tpol *p = load_text(prec_yaml);

    ck_assert_int_eq(tpol_match(p, prec_cases[_i].uuid, prec_cases[_i].key,
                                prec_cases[_i].name),
                     prec_cases[_i].tenant);
    tpol_free(p);
}
END_TEST

/* Uuids in either case, in the file and from the host. */
START_TEST(test_tpol_uuid_any_case)
{
    struct tpol *p = load_text(
        "tenants:\n"
        "  - name: a\n"
        "    match: {uuids: [6F1C0A4E-2B3D-4C5E-8F90-A1B2C3D4E5F6]}\n");

    ck_assert_int_eq(tpol_match(p, UUID, NULL, NULL), 0);
    ck_assert_int_eq(tpol_match(p, "6F1C0A4E-2b3d-4c5e-8f90-A1B2C3D4E5F6",
                                NULL, NULL), 0);
    ck_assert_int_eq(tpol_match(p, "6f1c0a4e-2b3d-4c5e-8f90-a1b2c3d4e5f7",
                                NULL, NULL), TPOL_UNASSIGNED);
    ck_assert_int_eq(tpol_match(p, UUID "0", NULL, NULL), TPOL_UNASSIGNED);
    tpol_free(p);
}
END_TEST

/* Globs: fnmatch(3) with no flags, by UTF-8 character. */
static const struct {
    const char *pat, *name;
    int match;
} glob_cases[] = {
    { "web", "web", 1 },
    { "web", "web1", 0 },
    { "web", "WEB", 0 },
    { "web-*", "web-", 1 },
    { "web-*", "web-a/b.c", 1 },
    { "web-*", "we", 0 },
    { "*", "", 1 },
    { "*", ".hidden", 1 },
    { "*-db", "a-b-db", 1 },
    { "*-db", "a-db-x", 0 },
    { "a*b*c", "aXbYbZc", 1 },
    { "a*b*c", "aXbYcZ", 0 },
    { "**x", "abx", 1 },
    { "web?", "web1", 1 },
    { "web?", "web", 0 },
    { "web?", "web12", 0 },
    { "?", "", 0 },
    { "[ab]x", "bx", 1 },
    { "[ab]x", "cx", 0 },
    { "[a-c]x", "bx", 1 },
    { "[!a-c]x", "bx", 0 },
    { "[!a-c]x", "dx", 1 },
    { "[^a-c]x", "dx", 1 },
    { "[]]x", "]x", 1 },
    { "[!]]x", "]x", 0 },
    { "[a-]x", "-x", 1 },
    { "[", "[", 1 },                    /* no ']': an ordinary '[' */
    { "[ab", "[ab", 1 },
    { "[ab", "a", 0 },
    { "\\*", "*", 1 },
    { "\\*", "x", 0 },
    { "web\\?", "web?", 1 },
    { "web\\?", "web1", 0 },
    { "\\[x]", "[x]", 1 },
    { "[\\]]", "]", 1 },
    { "a\\\\b", "a\\b", 1 },
    /* UTF-8: '?' and sets take a character, not a byte */
    { "caf?", "caf\xc3\xa9", 1 },
    { "caf?", "cafe", 1 },
    { "??", "\xe6\x97\xa5\xe6\x9c\xac", 1 },
    { "?", "\xe6\x97\xa5\xe6\x9c\xac", 0 },
    { "[\xc3\xa9\xc3\xa8]t\xc3\xa9", "\xc3\xa9t\xc3\xa9", 1 },
    { "[\xc3\xa0-\xc3\xbf]*", "\xc3\xbc" "ber", 1 },
    { "[\xc3\xa0-\xc3\xbf]*", "uber", 0 },
    { "*\xf0\x9f\x90\xa7", "tux-\xf0\x9f\x90\xa7", 1 },
    /* a name that is not UTF-8: each bad byte is one character */
    { "a?b", "a\xff" "b", 1 },
    { "a*", "a\xff\xfe", 1 },
    /* metacharacters and control characters in names are plain text */
    { "web-*", "web-*", 1 },
    { "web-\\*", "web-*", 1 },
    { "web-\\*", "web-x", 0 },
    { "*evil*", "x\n\"evil\"\r\t", 1 },
    { "a?b", "a\nb", 1 },
    { "a'\"b", "a'\"b", 1 },
};

START_TEST(test_tpol_glob_matches)
{
    char yaml[512], q[256];
    struct tpol *p;
    int got;

    snprintf(yaml, sizeof(yaml), "tenants:\n  - name: t\n"
             "    match: {names: [%s]}\n",
             yaml_quote(q, sizeof(q), glob_cases[_i].pat));
    p = load_text(yaml);
    got = tpol_match(p, NULL, NULL, glob_cases[_i].name) == 0;
    ck_assert_msg(got == glob_cases[_i].match, "'%s' vs '%s': %d",
                  glob_cases[_i].pat, glob_cases[_i].name, got);
    tpol_free(p);
}
END_TEST

/* Where the C library's fnmatch agrees on meaning (ASCII, C locale), it
 * must agree on the answer too. */
START_TEST(test_tpol_glob_agrees_with_fnmatch)
{
    unsigned int i, compared = 0;

    for ( i = 0; i < ARRAY_SIZE(glob_cases); i++ )
    {
        const char *s;
        int ascii = 1;

        for ( s = glob_cases[i].pat; *s; s++ )
            ascii &= (unsigned char)*s < 0x80;
        for ( s = glob_cases[i].name; *s; s++ )
            ascii &= (unsigned char)*s < 0x80;
        if ( !ascii )
            continue;
        ck_assert_msg((fnmatch(glob_cases[i].pat, glob_cases[i].name, 0) ==
                       0) == glob_cases[i].match,
                      "fnmatch differs on '%s' vs '%s'", glob_cases[i].pat,
                      glob_cases[i].name);
        compared++;
    }
    ck_assert_uint_gt(compared, 30);
}
END_TEST

/* A name built to make a backtracking matcher take forever. */
START_TEST(test_tpol_glob_hostile_pattern_fast)
{
    struct tpol *p = load_text("tenants:\n  - name: t\n"
                               "    match: {names: ['*a*a*a*a*a*a*a*a*b']}\n");
    char name[4097];

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(tpol_match(p, NULL, NULL, name), TPOL_UNASSIGNED);
    name[sizeof(name) - 2] = 'b';
    ck_assert_int_eq(tpol_match(p, NULL, NULL, name), 0);
    tpol_free(p);
}
END_TEST

/* Tenant names from the file come back byte for byte, and domains with
 * hostile names land where their globs say. */
START_TEST(test_tpol_hostile_names_pass_through)
{
    static const char yaml[] =
        "tenants:\n"
        "  - name: \"quote\\\" back\\\\slash\"\n"
        "    match: {names: [\"q-*\"]}\n"
        "  - name: \"new\\nline\\ttab\"\n"
        "    match: {names: [\"*\\n*\"]}\n"
        "  - name: \"\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 "
        "\xe6\x97\xa5\"\n"
        "    match: {names: [\"\xe6\x97\xa5*\"]}\n"
        "  - name: \"*[?]\"\n"
        "    match: {names: [\"lit\\\\*\"]}\n";
    static const struct {
        const char *domain;
        const char *tenant;
    } cases[] = {
        { "q-\"; rm -rf /", "quote\" back\\slash" },
        { "two\nlines", "new\nline\ttab" },
        { "\xe6\x97\xa5\xe6\x9c\xac-vm", "\xc3\xbcn\xc3\xaf" "c\xc3\xb6"
          "d\xc3\xa9 \xe6\x97\xa5" },
        { "lit*", "*[?]" },
        { "literal", NULL },
        { "", NULL },
    };
    struct tpol *p = load_text(yaml);
    struct tpol_input in[ARRAY_SIZE(cases)];
    struct tpol_output out[ARRAY_SIZE(cases)];
    struct test_dom d;
    unsigned int i;

    memset(in, 0, sizeof(in));
    for ( i = 0; i < ARRAY_SIZE(cases); i++ )
    {
        const char *t;

        memset(&d, 0, sizeof(d));
        d.name = cases[i].domain;
        t = tpol_tenant_of(p, d.uuid, d.tenant_key, d.name);
        if ( cases[i].tenant )
        {
            ck_assert_ptr_nonnull(t);
            ck_assert_mem_eq(t, cases[i].tenant,
                             strlen(cases[i].tenant) + 1);
        }
        else
            ck_assert_ptr_null(t);
        in[i].name = cases[i].domain;
    }
    /* The engine reports the same tenants, by the same pointers. */
    ck_assert_int_eq(tpol_apply(p, in, ARRAY_SIZE(in), out), 0);
    for ( i = 0; i < ARRAY_SIZE(cases); i++ )
    {
        d.name = cases[i].domain;
        ck_assert_ptr_eq(out[i].tenant_name, tpol_tenant_of(p, d.uuid, d.tenant_key, d.name));
    }
    tpol_free(p);
}
END_TEST

/* tpol_tenant_of goes by the sample's uuid, tenant key and name. */
START_TEST(test_tpol_tenant_of_sample_domain)
{
    struct tpol *p = load_text(prec_yaml);
    struct test_dom d;

    memset(&d, 0, sizeof(d));
    memcpy(d.uuid, UUID_X, sizeof(d.uuid));
    d.name = "web-1";
    d.tenant_key = "gold";
    ck_assert_str_eq(tpol_tenant_of(p, d.uuid, d.tenant_key, d.name), "byuuid");
    memcpy(d.uuid, "00000000-0000-4000-8000-0000000000ff", sizeof(d.uuid));
    ck_assert_str_eq(tpol_tenant_of(p, d.uuid, d.tenant_key, d.name), "bykey");
    d.tenant_key = NULL;
    ck_assert_str_eq(tpol_tenant_of(p, d.uuid, d.tenant_key, d.name), "byname");
    tpol_free(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The engine                                                         */

/* One test domain: what it would use with no cap, and its vCPUs. */
struct dom {
    double wanted_pct;
    uint32_t vcpus;
};

/*
 * Run @rounds intervals of tenant 0 of @p over domains @d, starting with
 * caps @cap (0: none): each interval a domain uses min(wanted, cap, its
 * vCPUs), the engine decides, its caps are in force next interval.
 */
static void run_intervals(const struct tpol *p, const struct dom *d,
                          unsigned int n, uint32_t *cap,
                          unsigned int rounds)
{
    struct tpol_input in[16];
    struct tpol_output out[16];
    unsigned int r, i;

    ck_assert_uint_le(n, ARRAY_SIZE(in));
    for ( r = 0; r < rounds; r++ )
    {
        memset(in, 0, sizeof(in));
        for ( i = 0; i < n; i++ )
        {
            double use = d[i].wanted_pct;

            if ( use > 100.0 * d[i].vcpus )
                use = 100.0 * d[i].vcpus;
            if ( cap[i] && use > cap[i] )
                use = cap[i];
            in[i].name = "d";
            in[i].online_vcpus = d[i].vcpus;
            in[i].demand_pct = use;
            in[i].cap_pct_now = cap[i];
        }
        ck_assert_int_eq(tpol_apply(p, in, n, out), 0);
        for ( i = 0; i < n; i++ )
        {
            ck_assert_int_eq(out[i].tenant, 0);
            cap[i] = out[i].cap_pct;
        }
    }
}

static uint32_t sum_of(const uint32_t *v, unsigned int n)
{
    uint32_t s = 0;
    unsigned int i;

    for ( i = 0; i < n; i++ )
        s += v[i];
    return s;
}

static struct tpol *capped_policy(uint32_t weight, uint32_t cap)
{
    char yaml[256];

    snprintf(yaml, sizeof(yaml), "tenants:\n  - name: t\n    weight: %u\n"
             "    cap_pct: %u\n    match: {names: ['*']}\n", weight, cap);
    return load_text(yaml);
}

/* Where the caps of the last interval may stand when the test starts. */
static const uint32_t busy_idle_starts[][3] = {
    { 0, 0, 0 },                /* the tenant was not capped */
    { 33, 33, 34 },             /* an equal split */
    { 1, 49, 50 },              /* the busy one at the floor */
    { 1, 1, 1 },
    { 100, 100, 100 },          /* over the tenant's cap (a reload) */
};

/* One busy, two idle under a cap of 100: the busy one may use >= 95
 * within 5 intervals, whatever the caps were before, and stays there. */
START_TEST(test_tpol_busy_beside_idle_gets_nearly_all)
{
    static const struct dom d[3] = { { 100, 1 }, { 0, 1 }, { 0, 1 } };
    struct tpol *p = capped_policy(256, 100);
    uint32_t cap[3];
    unsigned int r;

    memcpy(cap, busy_idle_starts[_i], sizeof(cap));
    run_intervals(p, d, 3, cap, 5);
    ck_assert_msg(cap[0] >= 95, "busy capped at %u after 5 intervals",
                  cap[0]);
    for ( r = 0; r < 20; r++ )
    {
        run_intervals(p, d, 3, cap, 1);
        ck_assert_uint_ge(cap[0], 95);
        ck_assert_uint_le(sum_of(cap, 3), 100);
        ck_assert_uint_ge(cap[1], 1);
        ck_assert_uint_ge(cap[2], 1);
    }
    tpol_free(p);
}
END_TEST

/* Two equally busy domains converge to about half each, from any
 * start. */
START_TEST(test_tpol_two_busy_split_evenly)
{
    static const struct dom d[2] = { { 100, 1 }, { 100, 1 } };
    static const uint32_t starts[][2] = {
        { 0, 0 }, { 90, 10 }, { 1, 99 }, { 98, 1 },
    };
    struct tpol *p = capped_policy(256, 100);
    uint32_t cap[2];
    unsigned int s;

    for ( s = 0; s < ARRAY_SIZE(starts); s++ )
    {
        memcpy(cap, starts[s], sizeof(cap));
        run_intervals(p, d, 2, cap, 5);
        ck_assert_msg(cap[0] >= 48 && cap[0] <= 52 && cap[1] >= 48 &&
                      cap[1] <= 52, "start %u: %u/%u", s, cap[0], cap[1]);
        ck_assert_uint_le(sum_of(cap, 2), 100);
    }
    tpol_free(p);
}
END_TEST

/* The case: three cpu domains capped at 100 together use
 * 100 +- 3, about a third each. */
START_TEST(test_tpol_three_busy_use_whole_cap)
{
    static const struct dom d[3] = { { 100, 1 }, { 100, 1 }, { 100, 1 } };
    struct tpol *p = capped_policy(256, 100);
    uint32_t cap[3] = { 0, 0, 0 };
    unsigned int i;

    run_intervals(p, d, 3, cap, 5);
    ck_assert_uint_ge(sum_of(cap, 3), 97);
    ck_assert_uint_le(sum_of(cap, 3), 100);
    for ( i = 0; i < 3; i++ )
        ck_assert_msg(cap[i] >= 32 && cap[i] <= 34, "cap %u", cap[i]);
    tpol_free(p);
}
END_TEST

/* A domain with a steady demand beside a busy one keeps what it uses:
 * no oscillation, and the busy one has the rest but the headroom. */
START_TEST(test_tpol_steady_domain_not_squeezed)
{
    static const struct dom d[2] = { { 100, 1 }, { 30, 1 } };
    struct tpol *p = capped_policy(256, 100);
    uint32_t cap[2] = { 50, 50 };
    unsigned int r;

    run_intervals(p, d, 2, cap, 5);
    for ( r = 0; r < 10; r++ )
    {
        run_intervals(p, d, 2, cap, 1);
        ck_assert_msg(cap[1] >= 30 && cap[1] <= 37, "steady got %u",
                      cap[1]);
        ck_assert_msg(cap[0] >= 63, "busy got %u", cap[0]);
        ck_assert_uint_le(sum_of(cap, 2), 100);
    }
    tpol_free(p);
}
END_TEST

/* An idle domain that wakes up beside a busy one gets its half within a
 * few intervals, although the busy one held nearly all of the cap. */
START_TEST(test_tpol_waking_domain_catches_up)
{
    static const struct dom before[2] = { { 100, 1 }, { 0, 1 } };
    static const struct dom after[2] = { { 100, 1 }, { 100, 1 } };
    struct tpol *p = capped_policy(256, 100);
    uint32_t cap[2] = { 0, 0 };

    run_intervals(p, before, 2, cap, 3);
    ck_assert_uint_ge(cap[0], 95);
    run_intervals(p, after, 2, cap, 5);
    ck_assert_msg(cap[1] >= 45, "woken domain at %u", cap[1]);
    ck_assert_uint_le(sum_of(cap, 2), 100);
    tpol_free(p);
}
END_TEST

/* When the domains want less than the tenant's cap, the rest is shared
 * out as headroom, the same to each: an idle domain can start at once. */
START_TEST(test_tpol_spare_cap_shared_as_headroom)
{
    static const struct dom d[3] = { { 40, 1 }, { 0, 1 }, { 0, 1 } };
    struct tpol *p = capped_policy(256, 100);
    uint32_t cap[3] = { 0, 0, 0 };

    run_intervals(p, d, 3, cap, 1);
    /* 40 used + 20% headroom = 48; (100 - 48 - 1 - 1) / 3 more each */
    ck_assert_uint_eq(sum_of(cap, 3), 100);
    ck_assert_uint_ge(cap[0], 48 + 16);
    ck_assert_uint_ge(cap[1], 17);
    ck_assert_uint_ge(cap[2], 17);
    /* and it stays so: 40 of 64 does not look like wanting more */
    run_intervals(p, d, 3, cap, 5);
    ck_assert_uint_eq(sum_of(cap, 3), 100);
    ck_assert_uint_ge(cap[1], 17);
    tpol_free(p);
}
END_TEST

/* A cap never goes beyond what the domain's vCPUs can use, so the rest
 * of the tenant's cap goes to the domains that can. */
START_TEST(test_tpol_cap_bounded_by_vcpus)
{
    static const struct dom d[2] = { { 400, 4 }, { 400, 1 } };
    struct tpol *p = capped_policy(256, 300);
    uint32_t cap[2] = { 0, 0 };

    run_intervals(p, d, 2, cap, 5);
    ck_assert_uint_le(cap[1], 100);
    ck_assert_uint_ge(cap[1], 95);
    ck_assert_uint_ge(cap[0], 195);
    ck_assert_uint_le(sum_of(cap, 2), 300);
    tpol_free(p);
}
END_TEST

/* xorshift64*: the same numbers on every machine. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* The caps of a tenant never add up to more than its cap, whatever the
 * demands, caps in force and vCPUs; each is at least 1 (never "none")
 * and at most what its vCPUs can use. */
START_TEST(test_tpol_cap_sum_never_exceeds)
{
    struct tpol_input in[16];
    struct tpol_output out[16];
    uint64_t seed = 0x5eed1234abcdull;
    unsigned int pol, round, i, checked = 0;

    /* 200 policies (loading is the slow part), 100 inputs each. */
    for ( pol = 0; pol < 200; pol++ )
    {
        uint32_t tcap = 1 + (uint32_t)(rng_next(&seed) % 800);
        struct tpol *p = capped_policy(
            1 + (uint32_t)(rng_next(&seed) % 65535), tcap);

        for ( round = 0; round < 100; round++ )
        {
            unsigned int n = 1 + (unsigned int)(rng_next(&seed) % 16);
            uint64_t sum = 0;

            memset(in, 0, sizeof(in));
            for ( i = 0; i < n; i++ )
            {
                uint64_t r = rng_next(&seed);

                in[i].name = "x";
                in[i].online_vcpus = (uint32_t)(r % 5);     /* 0..4 */
                in[i].demand_pct = (double)(r >> 8 & 0xffff) / 100.0;
                if ( r >> 40 & 1 )
                    in[i].demand_pct = 0;
                in[i].cap_pct_now = (uint32_t)(r >> 24 & 0x3ff);
                if ( r >> 41 & 1 )
                    in[i].cap_pct_now = 0;
            }
            ck_assert_int_eq(tpol_apply(p, in, n, out), 0);
            for ( i = 0; i < n; i++ )
            {
                uint32_t v = in[i].online_vcpus ? in[i].online_vcpus : 1;

                sum += out[i].cap_pct;
                ck_assert_uint_ge(out[i].cap_pct, 1);
                ck_assert_uint_le(out[i].cap_pct, 100 * v);
                ck_assert_int_eq(out[i].cap_over, n > tcap);
            }
            if ( n <= tcap )
            {
                ck_assert_msg(sum <= tcap, "policy %u round %u: %llu > %u",
                              pol, round, (unsigned long long)sum, tcap);
                checked++;
            }
            else
                ck_assert_uint_eq(sum, n);
        }
        tpol_free(p);
    }
    ck_assert_uint_gt(checked, 15000);
}
END_TEST

/* More domains than percent in the cap: 1 each (0 would mean no cap),
 * and the output says so. */
START_TEST(test_tpol_cap_smaller_than_domains)
{
    struct tpol *p = capped_policy(256, 2);
    struct tpol_input in[3];
    struct tpol_output out[3];
    unsigned int i;

    memset(in, 0, sizeof(in));
    for ( i = 0; i < 3; i++ )
    {
        in[i].name = "d";
        in[i].demand_pct = 100;
    }
    ck_assert_int_eq(tpol_apply(p, in, 3, out), 0);
    for ( i = 0; i < 3; i++ )
    {
        ck_assert_uint_eq(out[i].cap_pct, 1);
        ck_assert(out[i].cap_over);
    }
    /* Two domains fit a cap of 2. */
    ck_assert_int_eq(tpol_apply(p, in, 2, out), 0);
    ck_assert_uint_eq(out[0].cap_pct + out[1].cap_pct, 2);
    ck_assert(!out[0].cap_over);
    tpol_free(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Weights                                                            */

/* A domain of a weights test: named for its tenant ("a1" is tenant a's),
 * its online vCPUs and those of them that want CPU. */
struct wdom {
    const char *name;
    uint32_t vcpus, active;
};

/* Tenants a, b, c... of weights @w[], each matching its letter. */
static struct tpol *weights_policy(const uint32_t *w, unsigned int nt)
{
    char yaml[1024];
    size_t o;
    unsigned int t;

    o = (size_t)snprintf(yaml, sizeof(yaml), "tenants:\n");
    for ( t = 0; t < nt; t++ )
    {
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
                              "  - {name: %c, weight: %u, match: "
                              "{names: ['%c*']}}\n", 'a' + t, w[t],
                              'a' + t);
        ck_assert_uint_lt(o, sizeof(yaml));
    }
    return load_text(yaml);
}

/* The engine's weights for @d[], into @w[]. */
static void weights_of(const struct tpol *p, const struct wdom *d,
                       unsigned int n, uint32_t *w)
{
    struct tpol_input in[32];
    struct tpol_output out[32];
    unsigned int i;

    ck_assert_uint_le(n, ARRAY_SIZE(in));
    memset(in, 0, sizeof(in));
    for ( i = 0; i < n; i++ )
    {
        in[i].name = d[i].name;
        in[i].online_vcpus = d[i].vcpus;
        in[i].active_vcpus = d[i].active;
    }
    ck_assert_int_eq(tpol_apply(p, in, n, out), 0);
    for ( i = 0; i < n; i++ )
    {
        ck_assert_int_ge(out[i].tenant, 0);
        ck_assert_uint_ge(out[i].weight, TPOL_WEIGHT_MIN);
        ck_assert_uint_le(out[i].weight, TPOL_WEIGHT_MAX);
        ck_assert_uint_eq(out[i].cap_pct, 0);   /* uncapped tenants */
        w[i] = out[i].weight;
    }
}

/* What tenant @letter weighs under a scheduler counting a domain's
 * weight once per vCPU that wants CPU (credit, credit2, every xenos
 * scheduler): its active vCPUs' weights, summed.  Its active vCPUs in
 * *@a. */
static uint64_t tenant_weighs(const struct wdom *d, unsigned int n,
                              const uint32_t *w, char letter, uint64_t *a)
{
    uint64_t sum = 0;
    unsigned int i;

    *a = 0;
    for ( i = 0; i < n; i++ )
        if ( d[i].name[0] == letter )
        {
            sum += (uint64_t)d[i].active * w[i];
            *a += d[i].active;
        }
    return sum;
}

/* The case that made weights count per vCPU: two tenants of equal
 * weight, one 2-vCPU domain against two 1-vCPU domains, all busy.  Every
 * vCPU weighs the same, so each tenant gets half of a 2-pCPU host.
 * (Split by online vCPUs, the 2-vCPU domain had 256 and, counted per
 * vCPU, weighed 512 against 256: two thirds of the host.) */
START_TEST(test_tpol_weight_per_vcpu_equal_tenants)
{
    static const uint32_t tw[2] = { 256, 256 };
    static const struct wdom d[3] = {
        { "a1", 2, 2 }, { "b1", 1, 1 }, { "b2", 1, 1 },
    };
    struct tpol *p = weights_policy(tw, 2);
    uint32_t w[3];
    uint64_t a;

    weights_of(p, d, 3, w);
    ck_assert_uint_eq(w[0], 128);
    ck_assert_uint_eq(w[1], 128);
    ck_assert_uint_eq(w[2], 128);
    ck_assert_uint_eq(tenant_weighs(d, 3, w, 'a', &a), 256);
    ck_assert_uint_eq(tenant_weighs(d, 3, w, 'b', &a), 256);
    tpol_free(p);
}
END_TEST

/* Tenants of 1, 2, 4 and 8-vCPU domains in several mixes, all busy:
 * each weighs exactly its weight, and every vCPU of a tenant weighs
 * W / A to within 1.  (Split by online vCPUs, tenant d, 1 + 2 + 4 + 8,
 * weighed 2000 x (1 + 4 + 16 + 64) / 15 = 11333.) */
START_TEST(test_tpol_weight_mixed_sizes)
{
    static const uint32_t tw[4] = { 1024, 1000, 777, 2000 };
    static const struct wdom d[] = {
        { "a1", 8, 8 },
        { "b1", 1, 1 }, { "b2", 1, 1 }, { "b3", 1, 1 }, { "b4", 1, 1 },
        { "b5", 1, 1 }, { "b6", 1, 1 }, { "b7", 1, 1 }, { "b8", 1, 1 },
        { "c1", 4, 4 }, { "c2", 2, 2 }, { "c3", 1, 1 }, { "c4", 1, 1 },
        { "d1", 1, 1 }, { "d2", 2, 2 }, { "d3", 4, 4 }, { "d4", 8, 8 },
    };
    struct tpol *p = weights_policy(tw, 4);
    uint32_t w[ARRAY_SIZE(d)];
    unsigned int t, i;
    uint64_t a;

    weights_of(p, d, ARRAY_SIZE(d), w);
    for ( t = 0; t < 4; t++ )
    {
        ck_assert_uint_eq(tenant_weighs(d, ARRAY_SIZE(d), w, 'a' + t, &a),
                          tw[t]);
        for ( i = 0; i < ARRAY_SIZE(d); i++ )
            if ( d[i].name[0] == (char)('a' + t) )
                ck_assert_msg(w[i] == tw[t] / a || w[i] == tw[t] / a + 1,
                              "%s: %u, W / A = %u / %llu", d[i].name, w[i],
                              tw[t], (unsigned long long)a);
    }
    /* The same 8 vCPUs weigh 1024 / 8 = 128 each in one domain or in
     * eight. */
    ck_assert_uint_eq(w[0], 128);
    tpol_free(p);
}
END_TEST

/* A partly idle tenant: a 4-vCPU domain with one busy vCPU beside a
 * tenant of one busy 1-vCPU domain, equal weights, the active counts
 * measured from per-vCPU CPU time as xenosd does: the two tenants weigh
 * the same (the idle vCPUs do not dilute the busy one), so they get equal
 * shares. */
START_TEST(test_tpol_weight_partly_idle_tenant)
{
    static const uint32_t tw[2] = { 256, 256 };
    const uint64_t iv = 1000000000u;                /* a 1 s interval */
    /* busy; timer ticks (0.3%); nothing; 0.1% */
    const uint64_t a_ns[4] = { iv, iv * 3 / 1000, 0, iv / 1000 };
    const uint64_t b_ns[1] = { iv };
    struct wdom d[2] = { { "a1", 4, 0 }, { "b1", 1, 0 } };
    struct tpol *p = weights_policy(tw, 2);
    uint32_t w[2];
    uint64_t a;

    d[0].active = tpol_count_active(a_ns, 4, iv);
    d[1].active = tpol_count_active(b_ns, 1, iv);
    ck_assert_uint_eq(d[0].active, 1);
    ck_assert_uint_eq(d[1].active, 1);
    weights_of(p, d, 2, w);
    ck_assert_uint_eq(w[0], 256);
    ck_assert_uint_eq(w[1], 256);
    ck_assert_uint_eq(tenant_weighs(d, 2, w, 'a', &a), 256);
    ck_assert_uint_eq(tenant_weighs(d, 2, w, 'b', &a), 256);
    tpol_free(p);
}
END_TEST

/* A domain with no vCPU wanting CPU does not count: its busy siblings
 * keep the tenant's whole weight, and it gets the same weight per vCPU,
 * so it has weight at once when it wakes.  A tenant with no active vCPU
 * at all is weighed by its online vCPUs: whichever of its domains wake,
 * it weighs no more than W until the next interval counts them. */
START_TEST(test_tpol_weight_idle_domain)
{
    static const uint32_t tw[1] = { 300 };
    struct wdom d[3] = { { "a1", 2, 2 }, { "a2", 4, 0 }, { "a3", 1, 1 } };
    struct tpol *p = weights_policy(tw, 1);
    uint32_t w[3];
    uint64_t a, sum;
    unsigned int i;

    weights_of(p, d, 3, w);
    for ( i = 0; i < 3; i++ )
        ck_assert_uint_eq(w[i], 100);
    ck_assert_uint_eq(tenant_weighs(d, 3, w, 'a', &a), 300);

    /* All idle: 300 over 7 online vCPUs, 42.9 each, adding up to 300. */
    d[0].active = d[2].active = 0;
    weights_of(p, d, 3, w);
    for ( sum = 0, i = 0; i < 3; i++ )
    {
        ck_assert_msg(w[i] == 42 || w[i] == 43, "%s: %u", d[i].name, w[i]);
        sum += (uint64_t)w[i] * d[i].vcpus;
    }
    ck_assert_uint_eq(sum, 300);

    /* The 4-vCPU domain wakes alone: next interval it has it all. */
    d[1].active = 4;
    weights_of(p, d, 3, w);
    for ( i = 0; i < 3; i++ )
        ck_assert_uint_eq(w[i], 75);
    tpol_free(p);
}
END_TEST

/* More active vCPUs than online ones (a count from a moment when more
 * were online) count as the online ones. */
START_TEST(test_tpol_weight_active_capped_by_online)
{
    static const uint32_t tw[1] = { 300 };
    static const struct wdom d[2] = { { "a1", 1, 5 }, { "a2", 2, 2 } };
    struct tpol *p = weights_policy(tw, 1);
    uint32_t w[2];

    weights_of(p, d, 2, w);
    ck_assert_uint_eq(w[0], 100);
    ck_assert_uint_eq(w[1], 100);
    tpol_free(p);
}
END_TEST

/* The smallest |sum of a subset of @a[] - @r|, by brute force. */
static uint64_t best_subset_miss(const uint32_t *a, unsigned int n,
                                 uint64_t r)
{
    uint64_t best = r;
    uint32_t m;
    unsigned int i;

    for ( m = 1; m < (1u << n); m++ )
    {
        uint64_t s = 0;

        for ( i = 0; i < n; i++ )
            if ( m >> i & 1 )
                s += a[i];
        s = s > r ? s - r : r - s;
        if ( s < best )
            best = s;
    }
    return best;
}

/*
 * Rounding, over many random tenants (W 1..65535, a third of them 256 or
 * more; 1..12 domains of 1..8 online vCPUs, 0..all of them active):
 * every weight is W / A rounded down or up, so within 1 of it, and at
 * least 1; the tenant's counted vCPUs weigh W, or as near to it as any
 * choice of domains to round up can come (brute force): exactly W
 * wherever possible, within half the vCPUs of its largest counted domain
 * always.  A tenant with less weight than active vCPUs gets 1 everywhere.
 */
START_TEST(test_tpol_weight_rounding_bounds)
{
    uint64_t seed = 0xfeedfaceull;
    unsigned int round, i, exact_possible = 0, exact = 0, big = 0;
    double worst_big = 0;

    for ( round = 0; round < 3000; round++ )
    {
        uint32_t tw = 1 + (uint32_t)(rng_next(&seed) % 65535);
        unsigned int n = 1 + (unsigned int)(rng_next(&seed) % 12);
        struct tpol *p;
        struct wdom d[12];
        uint32_t w[12], cnt[12], amax = 0;
        uint64_t a = 0, sum, miss, best;
        bool online;

        if ( round % 3 == 0 )       /* the realistic range, too */
            tw = 256 + (uint32_t)(rng_next(&seed) % (65535 - 255));
        p = weights_policy(&tw, 1);
        for ( i = 0; i < n; i++ )
        {
            d[i].name = "a";
            d[i].vcpus = 1 + (uint32_t)(rng_next(&seed) % 8);
            d[i].active = (uint32_t)(rng_next(&seed) % (d[i].vcpus + 1));
            if ( rng_next(&seed) % 2 )
                d[i].active = d[i].vcpus;
            a += d[i].active;
        }
        online = !a;
        for ( i = 0; i < n; i++ )
        {
            cnt[i] = online ? d[i].vcpus : d[i].active;
            if ( online )
                a += cnt[i];
            if ( cnt[i] > amax )
                amax = cnt[i];
        }
        weights_of(p, d, n, w);
        for ( sum = 0, i = 0; i < n; i++ )
        {
            double exact_w = (double)tw / (double)a;

            if ( tw < a )
                ck_assert_uint_eq(w[i], 1);
            else
                ck_assert_msg(w[i] == tw / a || w[i] == tw / a + 1,
                              "W %u A %llu: %u", tw, (unsigned long long)a,
                              w[i]);
            ck_assert(fabs(w[i] - exact_w) < 1.0 || w[i] == 1);
            sum += (uint64_t)cnt[i] * w[i];
        }
        tpol_free(p);
        if ( tw < a )
        {
            ck_assert_uint_eq(sum, a);
            continue;
        }
        miss = sum > tw ? sum - tw : tw - sum;
        best = best_subset_miss(cnt, n, tw % a);
        ck_assert_msg(miss <= amax / 2, "W %u: %llu, largest %u", tw,
                      (unsigned long long)sum, amax);
        ck_assert_msg(miss == best, "W %u: %llu, best miss %llu", tw,
                      (unsigned long long)sum, (unsigned long long)best);
        exact_possible += best == 0;
        exact += miss == 0;
        if ( tw >= 256 )
        {
            big++;
            if ( (double)miss / tw > worst_big )
                worst_big = (double)miss / tw;
        }
    }
    /* 8 vCPUs at most: off by 4 at most, 4 / 256 = 1.6% at worst. */
    ck_assert_msg(worst_big <= 4.0 / 256, "worst %.3f%%", 100 * worst_big);
    ck_assert_uint_gt(big, 1000);
    ck_assert_uint_eq(exact, exact_possible);
    ck_assert_uint_gt(exact, 2000);
}
END_TEST

/* A vCPU is active from TPOL_ACTIVE_PCT of the interval on, for any
 * interval, without overflow. */
START_TEST(test_tpol_count_active_threshold)
{
    const uint64_t iv = 1000000000u, huge = UINT64_MAX;
    const uint64_t ns[5] = { iv / 50, iv / 50 - 1, 0, iv, 5 * iv };
    /* ceil(2^64 - 1) x 2 / 100 = 368934881474191033 */
    const uint64_t big[2] = { 368934881474191033ull,
                              368934881474191032ull };
    const uint64_t small[2] = { 2, 1 };     /* ceil(99 x 2%) = 2 */

    ck_assert_uint_eq(TPOL_ACTIVE_PCT, 2);
    ck_assert_uint_eq(tpol_count_active(ns, 5, iv), 3);
    ck_assert_uint_eq(tpol_count_active(ns, 0, iv), 0);
    ck_assert_uint_eq(tpol_count_active(ns, 5, 0), 0);
    ck_assert_uint_eq(tpol_count_active(NULL, 5, iv), 0);
    ck_assert_uint_eq(tpol_count_active(big, 2, huge), 1);
    ck_assert_uint_eq(tpol_count_active(small, 2, 99), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* End to end: the engine's weights on a simulated host               */

/* A domain of the simulated host: named for its tenant, its vCPUs, and
 * busy (always runnable) or idle (20 us of CPU every 100 ms, 0.02% of a
 * pCPU, far under TPOL_ACTIVE_PCT). */
struct e2e_dom {
    const char *name;
    unsigned int vcpus;
    bool busy;
};

#define E2E_INTERVAL_MS     500u
#define E2E_WARMUP_MS       2000u
#define E2E_MAX_VCPUS       8u

/* The rule before weights counted per vCPU: W in proportion to online
 * vCPUs, by cumulative rounding.  For comparison only. */
static void old_split(const struct e2e_dom *d, unsigned int nd,
                      const uint32_t *tw, unsigned int nt, uint32_t *w)
{
    unsigned int t, i;

    for ( t = 0; t < nt; t++ )
    {
        uint64_t all = 0, cum = 0, prev = 0, cur;

        for ( i = 0; i < nd; i++ )
            if ( d[i].name[0] == (char)('a' + t) )
                all += d[i].vcpus;
        for ( i = 0; i < nd; i++ )
            if ( d[i].name[0] == (char)('a' + t) )
            {
                cum += d[i].vcpus;
                cur = (tw[t] * cum + all / 2) / all;
                w[i] = cur - prev > 0 ? (uint32_t)(cur - prev) : 1;
                prev = cur;
            }
    }
}

/*
 * Run @d[] (tenants a, b, ... of weights @tw[]) on @pcpus under the
 * xenos credit policy (weight per active vCPU, as Xen's credit) for
 * @secs seconds, as xenosd drives a host: every interval each domain's
 * active vCPUs are counted from its per-vCPU CPU time over the last one
 * (all online ones before anything was measured), the engine decides and
 * its weights are set.  With @old, the weights are the old split by
 * online vCPUs instead.  Writes each tenant's share of the host over all
 * but the warm-up, in percent, to @share[] and returns the largest
 * distance, in points, of a tenant's share from its weight's share.
 */
static double e2e_run(const struct e2e_dom *d, unsigned int nd,
                      const uint32_t *tw, unsigned int nt,
                      unsigned int pcpus, unsigned int secs, bool old,
                      double *share)
{
    static struct st_scenario t;
    static uint64_t last[ST_MAX_DOMS][E2E_MAX_VCPUS];
    const uint64_t iv = SCH_MSEC(E2E_INTERVAL_MS);
    struct tpol_input in[ST_MAX_DOMS];
    struct tpol_output out[ST_MAX_DOMS];
    uint32_t w_old[ST_MAX_DOMS];
    struct tpol *p = weights_policy(tw, nt);
    unsigned int i, k, tick, w0;
    uint64_t wsum = 0;
    double worst = 0;

    st_init(&t, pcpus, secs * 1000);
    for ( i = 0; i < nd; i++ )
    {
        struct sim_domain_spec *s;

        ck_assert_uint_le(d[i].vcpus, E2E_MAX_VCPUS);
        s = st_dom(&t, d[i].name, d[i].vcpus, d[i].busy ? SIM_WL_CPU
                                                        : SIM_WL_IO);
        s->workload.run_ns = SCH_USEC(20);
        s->workload.block_ns = SCH_MSEC(100);
    }
    st_start_ops(&t, sch_policy_find("credit"));
    sim_run_until(t.sim, 0);
    memset(last, 0, sizeof(last));
    if ( old )
        old_split(d, nd, tw, nt, w_old);

    for ( tick = 0; tick * E2E_INTERVAL_MS < secs * 1000; tick++ )
    {
        memset(in, 0, sizeof(in));
        for ( i = 0; i < nd; i++ )
        {
            struct sim_dom_info info;
            uint64_t delta[E2E_MAX_VCPUS];

            ck_assert_int_eq(sim_dom_info(t.sim, i, &info), 0);
            ck_assert_int_eq(info.life, SIM_LIFE_ALIVE);
            for ( k = 0; k < info.nr_vcpus; k++ )
            {
                delta[k] = info.vcpu_ns[k] - last[i][k];
                last[i][k] = info.vcpu_ns[k];
            }
            in[i].name = info.name;
            in[i].online_vcpus = info.online_vcpus;
            in[i].active_vcpus = tick ? tpol_count_active(delta,
                                                          info.nr_vcpus, iv)
                                      : info.online_vcpus;
        }
        ck_assert_int_eq(tpol_apply(p, in, nd, out), 0);
        for ( i = 0; i < nd; i++ )
            ck_assert_int_eq(sim_dom_set_sched(t.sim, i, old ? w_old[i]
                                                             : out[i].weight,
                                               0), 0);
        sim_run_until(t.sim, SCH_MSEC((tick + 1) * E2E_INTERVAL_MS));
    }
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);

    w0 = E2E_WARMUP_MS / (unsigned int)(SIM_WINDOW_NS / SCH_MSEC(1));
    for ( k = 0; k < nt; k++ )
        wsum += tw[k];
    for ( k = 0; k < nt; k++ )
    {
        double entitled = 100.0 * tw[k] / (double)wsum;

        share[k] = 0;
        for ( i = 0; i < nd; i++ )
            if ( d[i].name[0] == (char)('a' + k) )
                share[k] += 100.0 * st_window_share(&t, i, w0,
                                                    t.r.nr_windows);
        if ( fabs(share[k] - entitled) > worst )
            worst = fabs(share[k] - entitled);
    }
    st_done(&t);
    tpol_free(p);
    return worst;
}

/* The case that made weights count per vCPU, end to end on 2 pCPUs:
 * tenant a's one 2-vCPU domain against tenant b's two 1-vCPU domains,
 * equal weights, all busy: one pCPU each, within 2 points.  The old
 * split gives a two thirds. */
START_TEST(test_tpol_e2e_equal_tenants)
{
    static const struct e2e_dom d[3] = {
        { "a1", 2, true }, { "b1", 1, true }, { "b2", 1, true },
    };
    static const uint32_t tw[2] = { 256, 256 };
    double share[2], worst;

    worst = e2e_run(d, 3, tw, 2, 2, 20, false, share);
    ck_assert_msg(worst <= 2.0, "a %.1f%%, b %.1f%% of the host",
                  share[0], share[1]);
    worst = e2e_run(d, 3, tw, 2, 2, 20, true, share);
    ck_assert_msg(worst > 10.0, "old split: a %.1f%%, b %.1f%%", share[0],
                  share[1]);
}
END_TEST

/*
 * Mixed sizes and idle domains on 4 pCPUs: a (256) one busy 4-vCPU domain
 * and an idle 4-vCPU one; b (256) two busy 1-vCPU domains and an idle
 * one; c (512) a busy 2-vCPU and two busy 1-vCPU domains.  10 busy vCPUs,
 * each tenant able to use more than its share (25/25/50%): it gets its
 * weight's share within 2 points.  The old split gave a 36, b 13, c 51.
 */
START_TEST(test_tpol_e2e_mixed_tenants)
{
    static const struct e2e_dom d[] = {
        { "a1", 4, true }, { "a2", 4, false },
        { "b1", 1, true }, { "b2", 1, true }, { "b3", 1, false },
        { "c1", 2, true }, { "c2", 1, true }, { "c3", 1, true },
    };
    static const uint32_t tw[3] = { 256, 256, 512 };
    double share[3], worst;

    worst = e2e_run(d, ARRAY_SIZE(d), tw, 3, 4, 20, false, share);
    ck_assert_msg(worst <= 2.0, "a %.1f%%, b %.1f%%, c %.1f%% of the host",
                  share[0], share[1], share[2]);
    worst = e2e_run(d, ARRAY_SIZE(d), tw, 3, 4, 20, true, share);
    ck_assert_msg(worst > 5.0, "old split: a %.1f%%, b %.1f%%, c %.1f%%",
                  share[0], share[1], share[2]);
}
END_TEST

/* Unassigned domains get the defaults as they are, whatever they use. */
START_TEST(test_tpol_unassigned_get_defaults)
{
    struct tpol *p = load_text("defaults: {weight: 77, cap_pct: 40}\n"
                               "tenants:\n  - name: t\n    weight: 900\n"
                               "    cap_pct: 10\n"
                               "    match: {names: [t-*]}\n");
    struct tpol_input in[3];
    struct tpol_output out[3];
    unsigned int i;

    memset(in, 0, sizeof(in));
    in[0].name = "t-1";
    in[1].name = "other";
    in[1].demand_pct = 300;
    in[1].online_vcpus = 4;
    in[1].cap_pct_now = 40;
    in[2].name = NULL;
    ck_assert_int_eq(tpol_apply(p, in, 3, out), 0);
    ck_assert_int_eq(out[0].tenant, 0);
    ck_assert_str_eq(out[0].tenant_name, "t");
    ck_assert_uint_eq(out[0].weight, 900);
    ck_assert_uint_eq(out[0].cap_pct, 10);
    for ( i = 1; i < 3; i++ )
    {
        ck_assert_int_eq(out[i].tenant, TPOL_UNASSIGNED);
        ck_assert_ptr_null(out[i].tenant_name);
        ck_assert_uint_eq(out[i].weight, 77);
        ck_assert_uint_eq(out[i].cap_pct, 40);
        ck_assert(!out[i].cap_over);
    }
    tpol_free(p);
}
END_TEST

/* Domains of several tenants, interleaved in the input, are split per
 * tenant; the same input gives the same output. */
START_TEST(test_tpol_tenants_split_independently)
{
    struct tpol *p = load_text("tenants:\n"
                               "  - {name: a, weight: 300, cap_pct: 100,"
                               " match: {names: [a*]}}\n"
                               "  - {name: b, weight: 600, cap_pct: 50,"
                               " match: {names: [b*]}}\n");
    static const char *const names[6] = { "a1", "b1", "a2", "b2", "a3",
                                          "b3" };
    struct tpol_input in[6];
    struct tpol_output out[6], again[6];
    uint32_t wa = 0, wb = 0, ca = 0, cb = 0;
    unsigned int i;

    memset(in, 0, sizeof(in));
    for ( i = 0; i < 6; i++ )
    {
        in[i].name = names[i];
        in[i].online_vcpus = 1;
        in[i].demand_pct = 10.0 * i;
    }
    ck_assert_int_eq(tpol_apply(p, in, 6, out), 0);
    ck_assert_int_eq(tpol_apply(p, in, 6, again), 0);
    for ( i = 0; i < 6; i++ )
    {
        ck_assert_int_eq(out[i].tenant, (int)(i % 2));
        ck_assert_uint_eq(out[i].weight, again[i].weight);
        ck_assert_uint_eq(out[i].cap_pct, again[i].cap_pct);
        if ( i % 2 )
        {
            wb += out[i].weight;
            cb += out[i].cap_pct;
        }
        else
        {
            wa += out[i].weight;
            ca += out[i].cap_pct;
        }
    }
    ck_assert_uint_eq(wa, 300);
    ck_assert_uint_eq(wb, 600);
    ck_assert_uint_le(ca, 100);
    ck_assert_uint_le(cb, 50);
    /* b's cap of 50 is less than its domains want (10, 30 and 50, plus
     * headroom): max-min fair, the smallest gets all it wants (10 and
     * 20% headroom), the two others the same level, all of the cap. */
    ck_assert_uint_eq(out[1].cap_pct, 12);
    ck_assert_uint_eq(out[3].cap_pct, out[5].cap_pct);
    ck_assert_uint_eq(cb, 50);
    tpol_free(p);
}
END_TEST

/* Demands that are not numbers or below zero count as nothing. */
START_TEST(test_tpol_odd_demand_is_idle)
{
    static const struct dom d[3] = { { 100, 1 }, { 0, 1 }, { 0, 1 } };
    struct tpol *p = capped_policy(256, 100);
    struct tpol_input in[3];
    struct tpol_output out[3];
    uint32_t cap[3] = { 0, 0, 0 };
    unsigned int i;

    run_intervals(p, d, 3, cap, 3);
    memset(in, 0, sizeof(in));
    for ( i = 0; i < 3; i++ )
    {
        in[i].name = "d";
        in[i].online_vcpus = 1;
        in[i].cap_pct_now = cap[i];
    }
    in[0].demand_pct = cap[0];
    in[1].demand_pct = NAN;
    in[2].demand_pct = -50;
    ck_assert_int_eq(tpol_apply(p, in, 3, out), 0);
    ck_assert_uint_ge(out[0].cap_pct, 95);
    ck_assert_uint_ge(out[1].cap_pct, 1);
    ck_assert_uint_ge(out[2].cap_pct, 1);
    ck_assert_uint_le(out[0].cap_pct + out[1].cap_pct + out[2].cap_pct,
                      100);
    tpol_free(p);
}
END_TEST

START_TEST(test_tpol_apply_bad_arguments)
{
    struct tpol *p = capped_policy(256, 100);
    struct tpol_input in;
    struct tpol_output out;

    memset(&in, 0, sizeof(in));
    ck_assert_int_eq(tpol_apply(p, NULL, 0, NULL), 0);
    ck_assert_int_eq(tpol_apply(p, NULL, 1, &out), -EINVAL);
    ck_assert_int_eq(tpol_apply(p, &in, 1, NULL), -EINVAL);
    ck_assert_int_eq(tpol_apply(NULL, &in, 1, &out), -EINVAL);
    tpol_free(p);
    tpol_free(NULL);
}
END_TEST

static Suite *tpol_suite(void)
{
    Suite *s = suite_create("tpol");
    TCase *tc = tcase_create("load");

    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_tpol_example_loads);
    tcase_add_test(tc, test_tpol_example_matches_scenario);
    tcase_add_test(tc, test_tpol_values_and_defaults);
    tcase_add_loop_test(tc, test_tpol_bad_file_rejected, 0,
                        ARRAY_SIZE(bad_cases));
    tcase_add_test(tc, test_tpol_error_escapes_file_text);
    tcase_add_test(tc, test_tpol_small_error_buffer);
    tcase_add_test(tc, test_tpol_failed_reload_keeps_old);
    suite_add_tcase(s, tc);

    tc = tcase_create("match");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_loop_test(tc, test_tpol_match_precedence, 0,
                        ARRAY_SIZE(prec_cases));
    tcase_add_test(tc, test_tpol_uuid_any_case);
    tcase_add_loop_test(tc, test_tpol_glob_matches, 0,
                        ARRAY_SIZE(glob_cases));
    tcase_add_test(tc, test_tpol_glob_agrees_with_fnmatch);
    tcase_add_test(tc, test_tpol_glob_hostile_pattern_fast);
    tcase_add_test(tc, test_tpol_hostile_names_pass_through);
    tcase_add_test(tc, test_tpol_tenant_of_sample_domain);
    suite_add_tcase(s, tc);

    tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_tpol_busy_beside_idle_gets_nearly_all, 0,
                        ARRAY_SIZE(busy_idle_starts));
    tcase_add_test(tc, test_tpol_two_busy_split_evenly);
    tcase_add_test(tc, test_tpol_three_busy_use_whole_cap);
    tcase_add_test(tc, test_tpol_steady_domain_not_squeezed);
    tcase_add_test(tc, test_tpol_waking_domain_catches_up);
    tcase_add_test(tc, test_tpol_spare_cap_shared_as_headroom);
    tcase_add_test(tc, test_tpol_cap_bounded_by_vcpus);
    tcase_add_test(tc, test_tpol_cap_sum_never_exceeds);
    tcase_add_test(tc, test_tpol_cap_smaller_than_domains);
    tcase_add_test(tc, test_tpol_weight_per_vcpu_equal_tenants);
    tcase_add_test(tc, test_tpol_weight_mixed_sizes);
    tcase_add_test(tc, test_tpol_weight_partly_idle_tenant);
    tcase_add_test(tc, test_tpol_weight_idle_domain);
    tcase_add_test(tc, test_tpol_weight_active_capped_by_online);
    tcase_add_test(tc, test_tpol_weight_rounding_bounds);
    tcase_add_test(tc, test_tpol_count_active_threshold);
    tcase_add_test(tc, test_tpol_unassigned_get_defaults);
    tcase_add_test(tc, test_tpol_tenants_split_independently);
    tcase_add_test(tc, test_tpol_odd_demand_is_idle);
    tcase_add_test(tc, test_tpol_apply_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("end-to-end");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_tpol_e2e_equal_tenants);
    tcase_add_test(tc, test_tpol_e2e_mixed_tenants);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tpol_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
