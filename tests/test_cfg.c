/*
 * test_cfg.c: the YAML configuration layer on its own.
 *
 * Number parsing and escaping are tables of inputs and what they must
 * give.  Loading uses a small schema of its own with the libcyaml types
 * the scenario loader does not use (integers, a strict enum, bounded
 * strings and lists), because the tenant-policy loader will: each broken
 * file must give exactly the one-line message written next to it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <xenos/cfg.h>
#include <xenos/num.h>
#include <xenos/text.h>

static char tmpdir[256];

static void setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/xenos-cfg-XXXXXX",
             base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static void put(const char *text, char *path, size_t len)
{
    FILE *f;

    snprintf(path, len, "%s/c.yaml", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* ------------------------------------------------------------------ */
/* Numbers                                                            */

static const struct {
    const char *s;
    int64_t min, max;
    int rc;
    int64_t v;
} int_cases[] = {
    { "0", 0, 10, 0, 0 },
    { "10", 0, 10, 0, 10 },
    { "+7", 0, 10, 0, 7 },
    { "-5", -10, 10, 0, -5 },
    { "11", 0, 10, -ERANGE, 11 },
    { "-1", 0, 10, -ERANGE, -1 },
    { "1.5", 0, 10, -EINVAL, 0 },
    { "10s", 0, 100, -EINVAL, 0 },
    { "0x10", 0, 100, -EINVAL, 0 },
    { " 1", 0, 10, -EINVAL, 0 },
    { "1 ", 0, 10, -EINVAL, 0 },
    { "", 0, 10, -EINVAL, 0 },
    { "-", 0, 10, -EINVAL, 0 },
    { "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
    { "-9223372036854775808", INT64_MIN, 0, 0, INT64_MIN },
    { "9223372036854775808", 0, INT64_MAX, -ERANGE, INT64_MAX },
    { "-99999999999999999999", INT64_MIN, 0, -ERANGE, INT64_MIN },
};

START_TEST(test_num_parse_int)
{
    int64_t v = 0;
    int rc = num_parse_int(int_cases[_i].s, int_cases[_i].min,
                           int_cases[_i].max, &v);

    ck_assert_msg(rc == int_cases[_i].rc, "'%s': rc %d", int_cases[_i].s,
                  rc);
    if ( rc != -EINVAL )
        ck_assert_int_eq(v, int_cases[_i].v);
}
END_TEST

static const struct {
    const char *s;
    unsigned int decimals;
    int rc;
    int64_t v;
} fixed_cases[] = {
    { "1.5", 3, 0, 1500 },
    { "1", 3, 0, 1000 },
    { "1.", 3, 0, 1000 },
    { ".5", 3, 0, 500 },
    { "0.001", 3, 0, 1 },
    { "0.0010", 3, 0, 1 },          /* trailing zeros are no precision */
    { "0.0005", 3, -EINVAL, 0 },    /* half a nanosecond: refused */
    { "-2.25", 2, 0, -225 },
    { "+3", 0, 0, 3 },
    { "1e3", 3, -EINVAL, 0 },
    { "1,5", 3, -EINVAL, 0 },
    { "", 3, -EINVAL, 0 },
    { ".", 3, -EINVAL, 0 },
    { "9223372036854775.807", 3, 0, INT64_MAX },
    { "9223372036854775.808", 3, -ERANGE, 0 },
    { "9223372036854776", 3, -ERANGE, 0 },
};

START_TEST(test_num_parse_fixed)
{
    int64_t v = 0;
    int rc = num_parse_fixed(fixed_cases[_i].s, fixed_cases[_i].decimals,
                             &v);

    ck_assert_msg(rc == fixed_cases[_i].rc, "'%s': rc %d",
                  fixed_cases[_i].s, rc);
    if ( !rc )
        ck_assert_int_eq(v, fixed_cases[_i].v);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Escaping                                                           */

static const struct {
    const char *in, *out;
} esc_cases[] = {
    { "plain", "plain" },
    { "a\nb\tc\rd", "a\\nb\\tc\\rd" },
    { "back\\slash", "back\\\\slash" },
    { "\x1b[2J\x7f", "\\x1b[2J\\x7f" },
    { "\xc2\x85", "\\u0085" },                  /* C1 NEL */
    { "a\xe2\x80\xae" "b", "a\\u202eb" },            /* bidi override */
    { "\xe2\x81\xa6\xd8\x9c\xe2\x80\x8f", "\\u2066\\u061c\\u200f" },
    { "z\xe2\x80\x8bw\xef\xbb\xbf", "z\\u200bw\\ufeff" }, /* zero width */
    { "\xc3\xbc\xe6\x97\xa5", "\xc3\xbc\xe6\x97\xa5" },
    { "\xff\xc0\xaf", "\\xff\\xc0\\xaf" },      /* not UTF-8 */
    { "\xed\xa0\x80", "\\xed\\xa0\\x80" },      /* a surrogate */
    { "\xe6\x97", "\\xe6\\x97" },               /* cut short */
    { "quote'\"", "quote'\"" },
};

START_TEST(test_cfg_escape)
{
    char buf[64];

    ck_assert_int_eq(cfg_escape(buf, sizeof(buf), esc_cases[_i].in), 0);
    ck_assert_str_eq(buf, esc_cases[_i].out);
}
END_TEST

START_TEST(test_cfg_escape_no_space)
{
    char buf[6];

    /* "ab" fits, "\n" would need 2 more bytes than the 3 left: the cut
     * falls before the escape, never inside it. */
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(cfg_escape(buf, 5, "ab\n\n"), -ENOSPC);
    ck_assert_str_eq(buf, "ab\\n");
    ck_assert_int_eq(cfg_escape(buf, 4, "ab\xe6\x97\xa5"), -ENOSPC);
    ck_assert_str_eq(buf, "ab");
    ck_assert_int_eq(cfg_escape(buf, 3, "ab"), 0);
    ck_assert_int_eq(cfg_escape(buf, 0, "ab"), -ENOSPC);
}
END_TEST

/* A message shows where a long value was cut, at a whole escape. */
START_TEST(test_cfg_escape_msg_cut_shows)
{
    char buf[8];

    ck_assert_int_eq(cfg_escape_msg(buf, sizeof(buf), "abcdefghij"),
                     -ENOSPC);
    ck_assert_str_eq(buf, "abcd...");
    ck_assert_int_eq(cfg_escape_msg(buf, sizeof(buf), "ab\n\ncd"), -ENOSPC);
    ck_assert_str_eq(buf, "ab\\n...");
    ck_assert_int_eq(cfg_escape_msg(buf, sizeof(buf), "a\tb"), 0);
    ck_assert_str_eq(buf, "a\\tb");
}
END_TEST

/* txt_escape_size() is enough for the widest escapes there are. */
START_TEST(test_cfg_escape_size_enough)
{
    /* a C0 control, a stray byte, U+0085 (C1), U+202E (bidi): each the
     * most a byte of its kind can grow */
    static const char worst[] = "\x01\xff\xc2\x85\xe2\x80\xae\x7f\\";
    char buf[64];

    ck_assert_uint_le(txt_escape_size(worst), sizeof(buf));
    ck_assert_int_eq(cfg_escape(buf, txt_escape_size(worst), worst), 0);
    ck_assert_str_eq(buf, "\\x01\\xff\\u0085\\u202e\\x7f\\\\");
    ck_assert_int_eq(txt_tty_escape(buf, txt_escape_size(worst), worst), 0);
    ck_assert_int_eq(cfg_escape(buf, txt_escape_size("\x01\x01"),
                                "\x01\x01"), 0);
    ck_assert_int_eq(cfg_escape(buf, txt_escape_size("\x01\x01") - 1,
                                "\x01\x01"), -ENOSPC);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Locating and reporting                                             */

static const char locate_yaml[] =
    "# top\n"
    "a: 1\n"
    "list:\n"
    "  - x: 1\n"
    "  - x: 2\n"
    "    y:\n"
    "      z: 3\n"
    "flow: {p: [10, 20]}\n";

static const struct {
    const char *keys[4];
    size_t n;
    int rc;
    unsigned int line;
} locate_cases[] = {
    { { NULL }, 0, 0, 2 },
    { { "a" }, 1, 0, 2 },
    { { "list" }, 1, 0, 3 },
    { { "list", "1" }, 2, 0, 5 },
    { { "list", "1", "y", "z" }, 4, 0, 7 },
    { { "list", "1", "w" }, 3, -ENODATA, 5 },   /* deepest found */
    { { "list", "2" }, 2, -ENODATA, 3 },
    { { "list", "x" }, 2, -ENODATA, 3 },
    { { "flow", "p", "1" }, 3, 0, 8 },
    { { "nope" }, 1, -ENODATA, 2 },
};

START_TEST(test_cfg_locate)
{
    char path[512];
    unsigned int line = 0;
    int rc;

    put(locate_yaml, path, sizeof(path));
    rc = cfg_locate(path, locate_cases[_i].keys, locate_cases[_i].n, &line);
    ck_assert_int_eq(rc, locate_cases[_i].rc);
    ck_assert_uint_eq(line, locate_cases[_i].line);
}
END_TEST

START_TEST(test_cfg_locate_missing_file)
{
    char path[512];
    unsigned int line = 77;

    snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
    ck_assert_int_eq(cfg_locate(path, NULL, 0, &line), -ENOENT);
    ck_assert_uint_eq(line, 77);
}
END_TEST

START_TEST(test_cfg_invalid_format)
{
    const char *const keys[] = { "list", "1", "y", "z" };
    char path[512], err[256], want[600];

    put(locate_yaml, path, sizeof(path));
    ck_assert_int_eq(cfg_invalid(err, sizeof(err), path, keys, 4,
                                 "boom %d", 7), -EINVAL);
    snprintf(want, sizeof(want), "%s:7: list[1].y.z: boom 7", path);
    ck_assert_str_eq(err, want);
    /* No path: no field part. */
    cfg_invalid(err, sizeof(err), path, NULL, 0, "whole file");
    snprintf(want, sizeof(want), "%s:2: whole file", path);
    ck_assert_str_eq(err, want);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Loading                                                            */

struct t_item {
    int64_t a;
    char *s;
};

struct t_doc {
    int64_t n;
    int kind;
    struct t_item *items;
    unsigned int items_count;
};

static const cyaml_strval_t t_kinds[] = {
    { "one", 1 },
    { "two", 2 },
};

static const cyaml_schema_field_t t_item_fields[] = {
    CYAML_FIELD_INT("a", CYAML_FLAG_DEFAULT, struct t_item, a),
    CYAML_FIELD_STRING_PTR("s", CYAML_FLAG_OPTIONAL, struct t_item, s,
                           0, 4),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t t_item = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct t_item, t_item_fields),
};

static const cyaml_schema_field_t t_doc_fields[] = {
    CYAML_FIELD_INT("n", CYAML_FLAG_OPTIONAL, struct t_doc, n),
    CYAML_FIELD_ENUM("kind", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT,
                     struct t_doc, kind, t_kinds, 2),
    CYAML_FIELD_SEQUENCE("items", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         struct t_doc, items, &t_item, 0, 2),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t t_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct t_doc, t_doc_fields),
};

START_TEST(test_cfg_load_ok)
{
    char path[512], err[256];
    struct t_doc *d;
    void *data = NULL;

    put("n: 5\nkind: two\nitems:\n  - {a: 1, s: ab}\n  - a: -2\n", path,
        sizeof(path));
    ck_assert_msg(cfg_load(path, &t_schema, &data, err, sizeof(err)) == 0,
                  "%s", err);
    d = data;
    ck_assert_int_eq(d->n, 5);
    ck_assert_int_eq(d->kind, 2);
    ck_assert_uint_eq(d->items_count, 2);
    ck_assert_int_eq(d->items[0].a, 1);
    ck_assert_str_eq(d->items[0].s, "ab");
    ck_assert_int_eq(d->items[1].a, -2);
    ck_assert_ptr_null(d->items[1].s);
    cfg_free(&t_schema, data);
}
END_TEST

/* The message after "FILE", for each broken file. */
static const struct {
    const char *yaml;
    const char *msg;
} load_cases[] = {
    { "n: x\n", ":1: n: invalid value 'x'" },
    { "n: 1\nkind: three\n", ":2: kind: invalid value 'three'" },
    { "items:\n  - a: 1\n  - b: 2\n", ":3: items[1]: unexpected key 'b'" },
    { "items:\n  - a: 1\n  - s: ab\n",
      ":3: items[1]: missing required key 'a'" },
    { "items: [{a: 1}, {a: 2}, {a: 3}]\n",
      ":1: items: allows at most 2 entries" },
    { "items:\n  - a: 1\n    s: toolong\n",
      ":3: items[0].s: must be at most 4 bytes long" },
    { "n: [1]\n", ":1: n: expected a single value, not a list" },
    { "n: 1\nn: 2\n", ":2: n: key given twice" },
    { "items: 3\n", ":1: items: expected a list, not a single value" },
    { "- 1\n", ":1: expected a mapping (key: value), not a list" },
    { "\n\nn: *x\n",
      ":3: YAML aliases (*x) are not accepted: write the value out" },
    { "a: &x 1\nn: *x\n",
      ":1: YAML anchors (&x) are not accepted: write the value out" },
    { "items:\n  - &i {a: 1}\n  - *i\n",
      ":2: YAML anchors (&i) are not accepted: write the value out" },
    { "n:\n " "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
      "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
      ":2: nested deeper than 64 levels" },
    { "n: 1\n\"bad\\tkey\": 2\n", ":2: unexpected key 'bad\\tkey'" },
};

START_TEST(test_cfg_load_error_message)
{
    char path[512], err[256], want[600];
    void *data = (void *)&data;

    put(load_cases[_i].yaml, path, sizeof(path));
    ck_assert_int_eq(cfg_load(path, &t_schema, &data, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_eq(data, (void *)&data);      /* untouched */
    snprintf(want, sizeof(want), "%s%s", path, load_cases[_i].msg);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_cfg_load_missing_file)
{
    char path[512], err[256], want[600];
    void *data = NULL;

    snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
    ck_assert_int_eq(cfg_load(path, &t_schema, &data, err, sizeof(err)),
                     -ENOENT);
    snprintf(want, sizeof(want), "%s: cannot read: %s", path,
             strerror(ENOENT));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_cfg_load_directory)
{
    char err[256];
    void *data = NULL;

    ck_assert_int_eq(cfg_load(tmpdir, &t_schema, &data, err, sizeof(err)),
                     -EISDIR);
    ck_assert_ptr_nonnull(strstr(err, "cannot read"));
}
END_TEST

/* A file past CFG_MAX_BYTES is refused without reading it all. */
START_TEST(test_cfg_load_too_big)
{
    char path[512], err[256];
    void *data = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("n: 1\n", f);
    /* sparse: reads back as NUL bytes, costs no disk */
    ck_assert_int_eq(ftruncate(fileno(f), CFG_MAX_BYTES + 1), 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(cfg_load(path, &t_schema, &data, err, sizeof(err)),
                     -EFBIG);
    ck_assert_ptr_nonnull(strstr(err, "too big"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* "key = value" files                                                */

/* Every setting of @text as "key=value;" (or "ERR:message after PATH"). */
static void kv_all(const char *text, size_t len, char *out, size_t outlen)
{
    FILE *f = fmemopen((void *)text, len, "r");
    struct cfg_kv kv;
    char *k, *v;
    int rc;

    ck_assert_ptr_nonnull(f);
    out[0] = '\0';
    cfg_kv_init(&kv, f, "c.conf");
    while ( (rc = cfg_kv_next(&kv, &k, &v)) > 0 )
        snprintf(out + strlen(out), outlen - strlen(out), "%s=%s;", k, v);
    if ( rc < 0 )
        snprintf(out + strlen(out), outlen - strlen(out), "ERR%s",
                 kv.err + strlen("c.conf"));
    fclose(f);
}

static const struct {
    const char *text;
    const char *out;
} kv_cases[] = {
    { "a = 1\n  b=2  # c = 3\n\n# d = 4\ne =\n", "a=1;b=2;e=;" },
    { "a = 1\r\nb = x y\n", "a=1;b=x y;" },
    { "a = 1\nnothing here\n", "a=1;ERR:2: expected 'key = value'" },
    { " = 1\n", "ERR:1: expected 'key = value'" },
    { "last = no newline", "last=no newline;" },
};

START_TEST(test_cfg_kv)
{
    char out[256];

    kv_all(kv_cases[_i].text, strlen(kv_cases[_i].text), out, sizeof(out));
    ck_assert_str_eq(out, kv_cases[_i].out);
}
END_TEST

/* A line of CFG_KV_LINE_MAX bytes is read; one byte more is an error
 * naming its line, even inside a comment (once, the tail of a long
 * comment was read as a line of its own: a setting). */
START_TEST(test_cfg_kv_long_line)
{
    size_t len = 2 * CFG_KV_LINE_MAX + 64;
    char *text = malloc(len), out[256];
    size_t n;

    ck_assert_ptr_nonnull(text);
    n = (size_t)sprintf(text, "a = 1\n# ");
    memset(text + n, 'x', CFG_KV_LINE_MAX - 2);
    n += CFG_KV_LINE_MAX - 2;
    n += (size_t)sprintf(text + n, "\nb = 2\n");
    kv_all(text, n, out, sizeof(out));
    ck_assert_str_eq(out, "a=1;b=2;");

    n = (size_t)sprintf(text, "a = 1\n# ");
    memset(text + n, 'x', CFG_KV_LINE_MAX - 1);
    n += CFG_KV_LINE_MAX - 1;
    n += (size_t)sprintf(text + n, "b = 2\n");
    kv_all(text, n, out, sizeof(out));
    ck_assert_str_eq(out, "a=1;ERR:2: line longer than 4095 bytes");
    free(text);
}
END_TEST

START_TEST(test_cfg_kv_nul)
{
    static const char text[] = "a = 1\nb = x\0y\n";
    char out[256];

    kv_all(text, sizeof(text) - 1, out, sizeof(out));
    ck_assert_str_eq(out, "a=1;ERR:2: a line holds a NUL byte");
}
END_TEST

static Suite *cfg_suite(void)
{
    Suite *s = suite_create("cfg");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_num_parse_int, 0,
                        sizeof(int_cases) / sizeof(int_cases[0]));
    tcase_add_loop_test(tc, test_num_parse_fixed, 0,
                        sizeof(fixed_cases) / sizeof(fixed_cases[0]));
    tcase_add_loop_test(tc, test_cfg_escape, 0,
                        sizeof(esc_cases) / sizeof(esc_cases[0]));
    tcase_add_test(tc, test_cfg_escape_no_space);
    tcase_add_test(tc, test_cfg_escape_msg_cut_shows);
    tcase_add_test(tc, test_cfg_escape_size_enough);
    tcase_add_loop_test(tc, test_cfg_kv, 0,
                        sizeof(kv_cases) / sizeof(kv_cases[0]));
    tcase_add_test(tc, test_cfg_kv_long_line);
    tcase_add_test(tc, test_cfg_kv_nul);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_cfg_locate, 0,
                        sizeof(locate_cases) / sizeof(locate_cases[0]));
    tcase_add_test(tc, test_cfg_locate_missing_file);
    tcase_add_test(tc, test_cfg_invalid_format);
    tcase_add_test(tc, test_cfg_load_ok);
    tcase_add_loop_test(tc, test_cfg_load_error_message, 0,
                        sizeof(load_cases) / sizeof(load_cases[0]));
    tcase_add_test(tc, test_cfg_load_missing_file);
    tcase_add_test(tc, test_cfg_load_directory);
    tcase_add_test(tc, test_cfg_load_too_big);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cfg_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
