/*
 * test_report.c: the reports of a run, checked by real parsers.
 *
 * The results are built by hand, so names can be as hostile as a scenario
 * allows and worse (bytes that are not UTF-8, which a scenario cannot
 * hold but a caller of the report functions could pass).  JSON and CSV
 * output is read back with Python's json and csv modules: a parser
 * somebody else wrote is the judge of "valid", not our own idea of it.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include <xenos/sim.h>

#include "tmptree.h"

#define NR_DOMS     6
#define NR_WINDOWS  3

static const char *const names[NR_DOMS] = {
    "plain",
    "quote\" back\\slash",
    "ctl\x01\x1f\x7f nl\n cr\r tab\t",
    "bad\xff utf8 \xc0\xaf \xed\xa0\x80 cut\xe6\x97",
    "\xc3\xbc \xe6\x97\xa5 \xf0\x9f\x98\x80 \xe2\x80\xa8",
    "comma, \"q\" ",
};

/* What a JSON or CSV reader must get back: bytes that are not UTF-8 became
 * U+FFFD, one per byte that starts no character. */
#define FFFD "\xef\xbf\xbd"
static const char *const json_names[NR_DOMS] = {
    "plain",
    "quote\" back\\slash",
    "ctl\x01\x1f\x7f nl\n cr\r tab\t",
    "bad" FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " cut" FFFD FFFD,
    "\xc3\xbc \xe6\x97\xa5 \xf0\x9f\x98\x80 \xe2\x80\xa8",
    "comma, \"q\" ",
};

/* Reset by the fixture: every test starts from the same result. */
static struct sim_dom_result doms[NR_DOMS];
static sch_time_t windows[NR_DOMS * NR_WINDOWS];
static sch_time_t entitled[NR_DOMS * NR_WINDOWS];
static struct sim_result result;
static char tmpdir[256];

static void setup(void)
{
    unsigned int i, w;

    memset(doms, 0, sizeof(doms));
    for ( i = 0; i < NR_DOMS; i++ )
    {
        doms[i].name = names[i];
        doms[i].vcpus = i + 1;
        doms[i].weight = 256 * (i + 1);
        doms[i].cap_pct = i * 10;
        doms[i].cpu_ns = 1000000 * (sch_time_t)(i + 1);
        doms[i].share = 0.125 * i;
        doms[i].entitled_share = 1.0 / 3.0;
        doms[i].wake_latency.count = 10 * i;
        doms[i].wake_latency.p50 = 1500 + i;
        doms[i].wake_latency.p99 = 25000;
        doms[i].wake_latency.p999 = 26000;
        doms[i].wake_latency.max = 30000 + i;
        doms[i].cap_window_max_pct = 12.5 * i;
        doms[i].context_switches = 100 + i;
        for ( w = 0; w < NR_WINDOWS; w++ )
        {
            windows[i * NR_WINDOWS + w] = (sch_time_t)(i * 1000 + w);
            entitled[i * NR_WINDOWS + w] = (sch_time_t)(i * 7000 + 3 * w);
        }
    }
    /* Only a request workload has response times. */
    doms[2].response.count = 7;
    doms[2].response.p50 = 111;
    doms[2].response.p99 = 222;
    doms[2].response.p999 = 333;
    doms[2].response.max = 444;

    memset(&result, 0, sizeof(result));
    result.policy = "credit";
    result.seed = 42;
    result.pcpus = 4;
    result.events = 123456789;
    result.sim_ns = SCH_MSEC(300);
    result.idle_while_waiting_ns = 5000;
    result.nr_domains = NR_DOMS;
    result.domains = doms;
    result.window_ns = SIM_WINDOW_NS;
    result.nr_windows = NR_WINDOWS;
    result.window_cpu_ns = windows;
    result.window_entitled_ns = entitled;

    tmptree_make(tmpdir, sizeof(tmpdir), "report");
}

static void teardown(void)
{
    tmptree_remove(tmpdir);
    tmpdir[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* The whole of a file, NUL-terminated; *@len its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if ( len )
        *len = (size_t)n;
    return buf;
}

static void write_json(const char *path)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_report_json(f, &result), 0);
    ck_assert_int_eq(fclose(f), 0);
}

/*
 * Run Python @script on @arg and return its stdout (malloc'd); the test
 * fails if Python does.  The script goes through a file, so no shell
 * quoting stands between it and Python.
 */
static char *python(const char *script, const char *arg)
{
    char spath[512], cmd[1200], *out;
    size_t len = 0, cap = 4096, n;
    FILE *f, *p;

    tmp_path(spath, sizeof(spath), "check.py");
    f = fopen(spath, "w");
    ck_assert_ptr_nonnull(f);
    fputs(script, f);
    ck_assert_int_eq(fclose(f), 0);

    snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", spath, arg);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    while ( (n = fread(out + len, 1, cap - len - 1, p)) > 0 )
    {
        len += n;
        if ( len + 1 == cap )
        {
            cap *= 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
    }
    out[len] = '\0';
    ck_assert_msg(pclose(p) == 0, "python3 failed on %s: %s", arg, out);
    return out;
}

/* @s's bytes in hex, as Python's bytes.hex() writes them. */
static void hex(char *buf, size_t len, const char *s)
{
    size_t i;

    buf[0] = '\0';
    for ( i = 0; s[i] && 2 * i + 2 < len; i++ )
        sprintf(buf + 2 * i, "%02x", (unsigned char)s[i]);
}

/* Compare Python's lines of hex with @want, one per domain. */
static void check_hex_lines(const char *out, const char *const *want)
{
    const char *line = out;
    char exp[512];
    unsigned int i;

    for ( i = 0; i < NR_DOMS; i++ )
    {
        const char *nl = strchr(line, '\n');

        ck_assert_ptr_nonnull(nl);
        hex(exp, sizeof(exp), want[i]);
        ck_assert_msg(strlen(exp) == (size_t)(nl - line) &&
                      !strncmp(line, exp, strlen(exp)),
                      "domain %u: got %.*s, want %s", i, (int)(nl - line),
                      line, exp);
        line = nl + 1;
    }
    ck_assert_str_eq(line, "");
}

/* ------------------------------------------------------------------ */
/* JSON                                                               */

/* Strict: no NaN/Infinity, no raw control characters (json's default). */
static const char json_names_py[] =
    "import json, sys\n"
    "def bad(c):\n"
    "    sys.exit('not JSON: ' + c)\n"
    "with open(sys.argv[1], encoding='utf-8') as f:\n"
    "    d = json.load(f, parse_constant=bad)\n"
    "assert isinstance(d, dict)\n"
    "for x in d['domains']:\n"
    "    print(x['name'].encode('utf-8', 'surrogatepass').hex())\n";

START_TEST(test_report_json_valid_with_hostile_names)
{
    char path[512], *out;

    tmp_path(path, sizeof(path), "r.json");
    write_json(path);
    out = python(json_names_py, path);
    check_hex_lines(out, json_names);
    free(out);
}
END_TEST

START_TEST(test_report_json_fields)
{
    static const char py[] =
        "import json, sys\n"
        "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
        "print(d['policy'], d['seed'], d['pcpus'], d['events'],"
        " d['sim_ns'], d['idle_while_waiting_ns'])\n"
        "x = d['domains'][2]\n"
        "print(x['vcpus'], x['weight'], x['cap_pct'], x['cpu_ns'],"
        " x['share'], round(x['entitled_share'], 6),"
        " x['cap_window_max_pct'], x['context_switches'])\n"
        "w = x['wake_latency_ns']\n"
        "print(w['p50'], w['p99'], w['p999'], w['max'], w['count'])\n"
        "r = x['response_time_ns']\n"
        "print(r['p50'], r['p99'], r['p999'], r['max'], r['count'])\n"
        "print(sorted(i for i, y in enumerate(d['domains'])"
        " if 'response_time_ns' in y))\n";
    char path[512], *out;

    tmp_path(path, sizeof(path), "r.json");
    write_json(path);
    out = python(py, path);
    ck_assert_str_eq(out,
                     "credit 42 4 123456789 300000000 5000\n"
                     "3 768 20 3000000 0.25 0.333333 25.0 102\n"
                     "1502 25000 26000 30002 20\n"
                     "111 222 333 444 7\n"
                     "[2]\n");
    free(out);
}
END_TEST

/* One object on one line: a log or a pipe can take one run per line. */
START_TEST(test_report_json_one_line)
{
    char path[512], *text;
    size_t len;

    tmp_path(path, sizeof(path), "r.json");
    write_json(path);
    text = slurp(path, &len);
    ck_assert_uint_gt(len, 2);
    ck_assert_int_eq(text[0], '{');
    ck_assert_ptr_eq(strchr(text, '\n'), text + len - 1);
    free(text);
}
END_TEST

START_TEST(test_report_json_not_finite_is_null)
{
    char path[512], *out;

    doms[0].share = NAN;
    doms[1].entitled_share = INFINITY;
    tmp_path(path, sizeof(path), "r.json");
    write_json(path);
    out = python(json_names_py, path);  /* refuses NaN and Infinity */
    free(out);
    out = slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(out, "\"share\":null"));
    ck_assert_ptr_nonnull(strstr(out, "\"entitled_share\":null"));
    free(out);
}
END_TEST

START_TEST(test_report_json_null_policy)
{
    char path[512], *out;

    result.policy = NULL;
    tmp_path(path, sizeof(path), "r.json");
    write_json(path);
    out = slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(out, "{\"policy\":null,"));
    free(out);
}
END_TEST

/* A full disk is an error, not a short report. */
START_TEST(test_report_write_error_returned)
{
    FILE *f = fopen("/dev/full", "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_report_json(f, &result), -ENOSPC);
    clearerr(f);
    ck_assert_int_eq(sim_report_table(f, &result), -ENOSPC);
    fclose(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Table                                                              */

START_TEST(test_report_table_one_row_per_domain)
{
    char path[512], *text, *p;
    unsigned int lines = 0;
    FILE *f;

    tmp_path(path, sizeof(path), "t.txt");
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_report_table(f, &result), 0);
    ck_assert_int_eq(fclose(f), 0);
    text = slurp(path, NULL);

    /* Header, column names, one row each: names cannot add lines, and
     * nothing but newlines is a control character. */
    for ( p = text; *p; p++ )
    {
        if ( *p == '\n' )
            lines++;
        else
            ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
                          "control byte 0x%02x in the table",
                          (unsigned char)*p);
    }
    ck_assert_uint_eq(lines, 2 + NR_DOMS);
    ck_assert_ptr_nonnull(strstr(text, "policy credit, 4 pCPUs"));
    ck_assert_ptr_nonnull(strstr(text, "idle while waiting 0.005 ms\n"));
    ck_assert_ptr_nonnull(strstr(text, "ctl\\x01\\x1f\\x7f nl\\n"));
    ck_assert_ptr_nonnull(strstr(text, "bad\\xff utf8"));
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* CSV                                                                */

static const char csv_py[] =
    "import csv, sys\n"
    "with open(sys.argv[1], encoding='utf-8', errors='surrogateescape',\n"
    "          newline='') as f:\n"
    "    rows = list(csv.reader(f, strict=True))\n"
    "hdr = rows[0]\n"
    "assert all(len(r) == len(hdr) for r in rows), 'ragged rows'\n"
    "col = hdr.index('domain')\n"
    "for r in rows[1:]:\n"
    "    print(r[col].encode('utf-8', 'surrogateescape').hex())\n";

START_TEST(test_report_csv_names_byte_exact)
{
    char dir[512], path[600], *out;

    /* Two levels that do not exist yet. */
    tmp_path(dir, sizeof(dir), "out/run1");
    ck_assert_int_eq(sim_report_csv(dir, &result), 0);
    snprintf(path, sizeof(path), "%s/domains.csv", dir);
    out = python(csv_py, path);
    check_hex_lines(out, json_names);   /* bytes not UTF-8: U+FFFD too */
    free(out);
}
END_TEST

START_TEST(test_report_csv_domain_columns)
{
    static const char py[] =
        "import csv, sys\n"
        "rows = list(csv.DictReader(open(sys.argv[1], newline='',"
        " encoding='utf-8', errors='surrogateescape')))\n"
        "r = rows[2]\n"
        "print(r['vcpus'], r['weight'], r['cap_pct'], r['cpu_ns'],"
        " r['share'], r['entitled_share'], r['wake_p50_ns'],"
        " r['wake_count'], r['response_p99_ns'], r['response_count'],"
        " r['cap_window_max_pct'], r['context_switches'])\n";
    char dir[512], path[600], *out;

    tmp_path(dir, sizeof(dir), "csv");
    ck_assert_int_eq(sim_report_csv(dir, &result), 0);
    snprintf(path, sizeof(path), "%s/domains.csv", dir);
    out = python(py, path);
    ck_assert_str_eq(out, "3 768 20 3000000 0.250000 0.333333 1502 20 "
                          "222 7 25.000000 102\n");
    free(out);
}
END_TEST

START_TEST(test_report_csv_windows)
{
    static const char py[] =
        "import csv, sys\n"
        "rows = list(csv.reader(open(sys.argv[1], newline='',"
        " encoding='utf-8', errors='surrogateescape')))\n"
        "print(','.join(rows[0]), len(rows) - 1)\n"
        "for r in rows[1:]:\n"
        "    print(r[0], r[1].encode('utf-8', 'surrogateescape').hex(),"
        " r[2], r[3])\n";
    char dir[512], path[600], *out, *line, exp[600];
    unsigned int w, d;

    tmp_path(dir, sizeof(dir), "csv");
    ck_assert_int_eq(sim_report_csv(dir, &result), 0);
    snprintf(path, sizeof(path), "%s/windows.csv", dir);
    out = python(py, path);

    snprintf(exp, sizeof(exp),
             "window_start_ns,domain,cpu_ns,entitled_ns %u\n",
             NR_DOMS * NR_WINDOWS);
    ck_assert_int_eq(strncmp(out, exp, strlen(exp)), 0);
    line = out + strlen(exp);
    for ( w = 0; w < NR_WINDOWS; w++ )
        for ( d = 0; d < NR_DOMS; d++ )
        {
            char h[256];
            int n;

            hex(h, sizeof(h), json_names[d]);     /* U+FFFD for bad bytes */
            n = snprintf(exp, sizeof(exp), "%lld %s %lld %lld\n",
                         (long long)w * SIM_WINDOW_NS, h,
                         (long long)windows[d * NR_WINDOWS + w],
                         (long long)entitled[d * NR_WINDOWS + w]);
            ck_assert_msg(!strncmp(line, exp, (size_t)n),
                          "window %u domain %u: got %.*s", w, d, n, line);
            line += n;
        }
    ck_assert_str_eq(line, "");
    free(out);
}
END_TEST

START_TEST(test_report_csv_dir_is_a_file)
{
    char path[512];
    FILE *f;

    tmp_path(path, sizeof(path), "plainfile");
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(sim_report_csv(path, &result), -ENOTDIR);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_report_json_valid_with_hostile_names);
    tcase_add_test(tc, test_report_json_fields);
    tcase_add_test(tc, test_report_json_one_line);
    tcase_add_test(tc, test_report_json_not_finite_is_null);
    tcase_add_test(tc, test_report_json_null_policy);
    tcase_add_test(tc, test_report_write_error_returned);
    tcase_add_test(tc, test_report_table_one_row_per_domain);
    tcase_add_test(tc, test_report_csv_names_byte_exact);
    tcase_add_test(tc, test_report_csv_domain_columns);
    tcase_add_test(tc, test_report_csv_windows);
    tcase_add_test(tc, test_report_csv_dir_is_a_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
