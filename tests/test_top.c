/*
 * test_top.c: what `xenosctl top` shows, without a terminal
 * (xenosd/top_model.c): which columns stay at 80, 132 and 200 characters
 * and that no line is wider, the four sort keys, folding tenants, the
 * host summary, and replies of old or hostile daemons.  The real terminal
 * is tests/top_tty.sh's (tmux).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top_model.h"

#define GIB     (1024ull * 1024 * 1024)

/* A "top" reply as xenosd sends it: 8 pCPUs, three tenants, five
 * domains (the last of initech from a daemon of old: no state). */
static char *reply(void)
{
    static char buf[4096];
    int n = 0;

    n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                  "H\tsim\t1000\t5\t0\tsample=0\tset_sched=2\n"
                  "P\t8\n");
    /* T name weight cap doms cpu% total disk net mem_byte_s iv
     * [wait% throttled% [over_cap_windows]]: acme's host counts them,
     * globex's does not, initech's daemon is of old */
    n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                  "T\tacme\t1024\t0\t2\t50.00\t0\t2048\t1024\t%llu\t"
                  "1000000000\t12.50\t0.00\t3\n"
                  "T\tglobex\t512\t150\t2\t145.00\t0\t0\t0\t%llu\t"
                  "1000000000\t-\t-\t-\n"
                  "T\tinitech\t256\t100\t1\t10.00\t0\t0\t0\t%llu\t"
                  "1000000000\n", 2 * GIB, GIB, 4 * GIB);
    /* D tenant name uuid domid vcpus weight cap cpu mem maxmem disk net
     * iv error [state [wait% throttled% [peak% over_cap_windows]]]:
     * acme-web's counted, globex-b's not, the others' of old */
    n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                  "D\tacme\tacme-web\tu1\t1\t2\t512\t0\t30.00\t%llu\t%llu\t"
                  "0\t1024\t1000000000\t0\trunning\t12.50\t70.25\t32\t"
                  "3\n"
                  "D\tacme\tacme-db\tu2\t2\t2\t512\t0\t20.00\t%llu\t%llu\t"
                  "2048\t0\t1000000000\t0\tblocked\n"
                  "D\tglobex\tglobex-a\tu3\t3\t1\t256\t75\t100.00\t%llu\t"
                  "%llu\t0\t0\t1000000000\t0\trunning\n"
                  "D\tglobex\tglobex-b\tu4\t4\t1\t256\t75\t45.00\t%llu\t"
                  "%llu\t0\t0\t1000000000\t0\trunning\t-\t-\t-\t-\n"
                  "D\tinitech\tinitech-x\tu5\t5\t4\t256\t100\t10.00\t%llu\t"
                  "%llu\t0\t0\t1000000000\t0\n",
                  GIB, GIB, GIB, GIB, GIB / 2, GIB / 2, GIB / 2, GIB / 2,
                  4 * GIB, 4 * GIB);
    ck_assert_int_lt(n, (int)sizeof(buf));
    return buf;
}

static struct top_model m;
static struct top_view v;

static void setup(void)
{
    ck_assert_int_eq(top_model_parse(&m, reply()), 0);
    v = (struct top_view){ .sort = TOP_SORT_NAME };
}

static void teardown(void)
{
    top_model_free(&m);
    top_view_free(&v);
}

/* The rows as "tenant" and "  domain" names, joined by commas. */
static const char *rows_text(void)
{
    static char out[1024];
    struct top_row *r;
    size_t nr, i, n = 0;

    ck_assert_int_eq(top_rows(&m, &v, &r, &nr), 0);
    out[0] = '\0';
    for ( i = 0; i < nr; i++ )
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s%s",
                              i ? "," : "", r[i].dom < 0 ? "" : "  ",
                              r[i].dom < 0 ? m.tenants[r[i].tenant].name :
                              m.doms[r[i].dom].name);
    free(r);
    return out;
}

/* ------------------------------------------------------------------ */
/* Columns for a width                                                 */

static const struct {
    unsigned int width;
    const char *dropped[12];            /* NULL-terminated */
} fits[] = {
    /* 80: the least important go, conformance and contention first;
     * CPU, cap, memory and state stay */
    { 80, { "OVER", "PEAK%", "THR%", "WAIT%", "MAXMEM", "VCPUS", " ID ",
            "DISK(KiB/s)", NULL } },
    { 132, { "OVER", NULL } },
    { 200, { NULL } },
};

static const char *const all_cols[] = {
    "NAME", "STATE", " ID ", "VCPUS", "WEIGHT", "CAP%", "DOMS", "CPU%",
    "WAIT%", "THR%", "PEAK%", "OVER", "MEM(MiB)", "MAXMEM", "DISK(KiB/s)",
    "NET(KiB/s)",
};

static bool dropped_at(unsigned int k, const char *col)
{
    unsigned int j;

    for ( j = 0; fits[k].dropped[j]; j++ )
        if ( !strcmp(fits[k].dropped[j], col) )
            return true;
    return false;
}

START_TEST(test_top_fit_drops_columns_not_wraps)
{
    struct top_layout l;
    struct top_row *r;
    char line[1024];
    size_t nr, i;

    top_fit(&l, &m, fits[_i].width, true);
    ck_assert_int_eq(top_format_header(&l, line, sizeof(line)), 0);
    ck_assert_uint_le(top_text_width(line), fits[_i].width);
    for ( i = 0; i < sizeof(all_cols) / sizeof(all_cols[0]); i++ )
        ck_assert_msg(!strstr(line, all_cols[i]) ==
                      dropped_at(_i, all_cols[i]), "%u: %s in \"%s\"",
                      fits[_i].width, all_cols[i], line);
    ck_assert_int_eq(top_rows(&m, &v, &r, &nr), 0);
    ck_assert_uint_eq(nr, 8);
    for ( i = 0; i < nr; i++ )
    {
        ck_assert_int_eq(top_format_row(&m, &v, &r[i], &l, line,
                                        sizeof(line)), 0);
        ck_assert_msg(top_text_width(line) <= fits[_i].width, "%s", line);
        ck_assert_ptr_null(strchr(line, '\n'));
        ck_assert_ptr_null(strchr(line, '~'));      /* no name cut */
    }
    ck_assert_int_eq(top_format_title(&m, " - sort name, every 2 s",
                                      fits[_i].width, line, sizeof(line)),
                     0);
    ck_assert_uint_le(top_text_width(line), fits[_i].width);
    ck_assert_int_eq(top_format_summary(&m, fits[_i].width, line,
                                        sizeof(line)), 0);
    ck_assert_uint_le(top_text_width(line), fits[_i].width);
    free(r);
}
END_TEST

/* A name longer than the room is cut with a "~", the line stays in the
 * width; with no width (batch) it is whole. */
START_TEST(test_top_fit_long_name_cut_on_screen_whole_in_batch)
{
    char rep[512], line[1024], name[121];
    struct top_model lm;
    struct top_layout l;
    struct top_row row = { 0, -1 };

    memset(name, 'x', 120);
    name[120] = '\0';
    snprintf(rep, sizeof(rep), "T\t%s\t1\t0\t0\t1.00\t0\t0\t0\t0\t1\n",
             name);
    ck_assert_int_eq(top_model_parse(&lm, rep), 0);
    top_fit(&l, &lm, 80, false);
    ck_assert_int_eq(top_format_row(&lm, &v, &row, &l, line, sizeof(line)),
                     0);
    ck_assert_uint_eq(top_text_width(line), 80);
    ck_assert_ptr_nonnull(strchr(line, '~'));
    top_fit(&l, &lm, 0, false);
    ck_assert_int_eq(top_format_row(&lm, &v, &row, &l, line, sizeof(line)),
                     0);
    ck_assert_ptr_nonnull(strstr(line, name));
    top_model_free(&lm);
}
END_TEST

/* Under the least width for the name column alone, lines still fit. */
START_TEST(test_top_fit_tiny_terminal)
{
    struct top_layout l;
    struct top_row row = { 0, -1 };
    char line[256];

    top_fit(&l, &m, 10, true);
    ck_assert_int_eq(top_format_header(&l, line, sizeof(line)), 0);
    ck_assert_uint_le(top_text_width(line), 10);
    ck_assert_int_eq(top_format_row(&m, &v, &row, &l, line, sizeof(line)),
                     0);
    ck_assert_uint_le(top_text_width(line), 10);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Sorting                                                             */

static const struct {
    enum top_sort sort;
    const char *rows;
} sorts[] = {
    { TOP_SORT_CPU, "globex,  globex-a,  globex-b,acme,  acme-web,  acme-db,"
                    "initech,  initech-x" },
    { TOP_SORT_NAME, "acme,  acme-db,  acme-web,globex,  globex-a,  globex-b,"
                     "initech,  initech-x" },
    /* no cap sorts last: "-" */
    { TOP_SORT_CAP, "globex,  globex-a,  globex-b,initech,  initech-x,acme,"
                    "  acme-db,  acme-web" },
    { TOP_SORT_MEM, "initech,  initech-x,acme,  acme-db,  acme-web,globex,"
                    "  globex-a,  globex-b" },
};

START_TEST(test_top_sort_orders_tenants_and_their_domains)
{
    v.sort = sorts[_i].sort;
    ck_assert_str_eq(rows_text(), sorts[_i].rows);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Folding                                                             */

START_TEST(test_top_fold_one_tenant)
{
    ck_assert_int_eq(top_view_toggle(&v, "acme"), 0);
    ck_assert(!top_view_is_open(&v, "acme"));
    ck_assert_str_eq(rows_text(), "acme,globex,  globex-a,  globex-b,"
                                  "initech,  initech-x");
    ck_assert_int_eq(top_view_toggle(&v, "acme"), 0);
    ck_assert_str_eq(rows_text(), "acme,  acme-db,  acme-web,globex,"
                                  "  globex-a,  globex-b,initech,  initech-x");
}
END_TEST

START_TEST(test_top_fold_all_then_open_one)
{
    top_view_toggle_all(&v, &m);                /* some open: shut all */
    ck_assert_str_eq(rows_text(), "acme,globex,initech");
    ck_assert_int_eq(top_view_toggle(&v, "globex"), 0);
    ck_assert_str_eq(rows_text(), "acme,globex,  globex-a,  globex-b,initech");
    top_view_toggle_all(&v, &m);                /* one open: shut all */
    ck_assert_str_eq(rows_text(), "acme,globex,initech");
    top_view_toggle_all(&v, &m);                /* none open: open all */
    ck_assert_str_eq(rows_text(), "acme,  acme-db,  acme-web,globex,"
                                  "  globex-a,  globex-b,initech,  initech-x");
}
END_TEST

/* The fold mark says which tenants are open, on screen only. */
START_TEST(test_top_fold_marks)
{
    struct top_layout l;
    struct top_row row = { 0, -1 };             /* acme, name order */
    char line[256];

    top_fit(&l, &m, 80, true);
    ck_assert_int_eq(top_format_row(&m, &v, &row, &l, line, sizeof(line)),
                     0);
    ck_assert_msg(!strncmp(line, "v acme ", 7), "%s", line);
    top_view_toggle(&v, "acme");
    top_format_row(&m, &v, &row, &l, line, sizeof(line));
    ck_assert_msg(!strncmp(line, "> acme ", 7), "%s", line);
    top_fit(&l, &m, 0, false);
    top_format_row(&m, &v, &row, &l, line, sizeof(line));
    ck_assert_msg(!strncmp(line, "acme ", 5), "%s", line);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The summary and what xenosd sends                                   */

START_TEST(test_top_summary)
{
    char line[256];

    ck_assert_int_eq(top_format_summary(&m, 0, line, sizeof(line)), 0);
    /* 205% of one pCPU on 8; globex at 145 of 150 (>= 95%) */
    ck_assert_str_eq(line, "8 pCPUs, busy 25.6%, 5 domains, 3 tenants, "
                           "1 capped now");
    ck_assert_int_eq(top_format_title(&m, NULL, 0, line, sizeof(line)), 0);
    ck_assert_str_eq(line, "xenos top - backend sim, interval 1000 ms, "
                           "5 intervals, errors set_sched=2");
}
END_TEST

/* Without a "P" line (a daemon of old): busy in pCPUs, no count. */
START_TEST(test_top_summary_without_pcpus)
{
    char rep[] = "H\tsim\t100\t3\t0\n"
                 "D\t-\td\tu\t1\t1\t256\t0\t150.00\t0\t0\t0\t0\t1\t0\n";
    struct top_model lm;
    char line[256];

    ck_assert_int_eq(top_model_parse(&lm, rep), 0);
    ck_assert_int_eq(top_format_summary(&lm, 0, line, sizeof(line)), 0);
    ck_assert_str_eq(line, "busy 1.50 pCPUs, 1 domains, 0 tenants, "
                           "0 capped now");
    top_model_free(&lm);
}
END_TEST

/* The line of the row named @name (a tenant or a domain) under @l. */
static void row_line(const struct top_row *r, size_t nr, const char *name,
                     const struct top_layout *l, char *line, size_t len)
{
    size_t i;

    for ( i = 0; i < nr; i++ )
        if ( !strcmp(r[i].dom < 0 ? m.tenants[r[i].tenant].name
                                  : m.doms[r[i].dom].name, name) )
            break;
    ck_assert_msg(i < nr, "no row %s", name);
    ck_assert_int_eq(top_format_row(&m, &v, &r[i], l, line, len), 0);
}

/* Waiting and throttled time where the host counts them, "-" where it
 * does not (globex) or the daemon is of old (initech): never a 0 that
 * nobody measured. */
START_TEST(test_top_contention_columns)
{
    static const struct {
        const char *name, *wait, *thr;
    } want[] = {
        { "acme", "12.5", "0.0" },
        { "acme-web", "12.5", "70.2" },
        { "acme-db", "-", "-" },        /* its line has none */
        { "globex", "-", "-" },
        { "initech-x", "-", "-" },
    };
    struct top_layout l;
    struct top_row *r;
    char line[1024], head[1024];
    size_t nr, k, off;

    top_fit(&l, &m, 0, false);
    ck_assert_int_eq(top_format_header(&l, head, sizeof(head)), 0);
    ck_assert_ptr_nonnull(strstr(head, " WAIT%   THR%"));
    /* the two cells end where their titles end */
    off = (size_t)(strstr(head, " WAIT%") - head);
    ck_assert_int_eq(top_rows(&m, &v, &r, &nr), 0);
    for ( k = 0; k < sizeof(want) / sizeof(want[0]); k++ )
    {
        char wcol[16], tcol[16];

        row_line(r, nr, want[k].name, &l, line, sizeof(line));
        ck_assert_int_eq(sscanf(line + off, "%15s %15s", wcol, tcol), 2);
        ck_assert_msg(!strcmp(wcol, want[k].wait) &&
                      !strcmp(tcol, want[k].thr), "%s: %s %s in \"%s\"",
                      want[k].name, wcol, tcol, line);
    }
    free(r);
}
END_TEST

/* The cell of @line under the column titled @title in @head (cells end
 * where their titles end), leading spaces cut, into @out. */
static void cell_under(const char *head, const char *line, const char *title,
                       char *out, size_t len)
{
    const char *t = strstr(head, title);
    size_t end, start;

    ck_assert_ptr_nonnull(t);
    end = (size_t)(t - head) + strlen(title);
    for ( start = end; start > 0 && head[start - 1] != ' '; start-- )
        ;
    /* the cell may be wider than its title: back to the space before it */
    while ( start > 0 && line[start - 1] != ' ' )
        start--;
    ck_assert_uint_le(end, strlen(line));
    snprintf(out, len, "%.*s", (int)(end - start), line + start);
}

/*
 * A domain's peak window of the interval and its windows over the cap,
 * a tenant's windows over the caps (it has no peak: blank); "-" where the
 * host does not count them (globex) or the daemon is of old (initech,
 * acme-db): never a 0 that nobody measured.
 */
START_TEST(test_top_conformance_columns)
{
    static const struct {
        const char *name, *peak, *over;
    } want[] = {
        { "acme", "", "3" },
        { "acme-web", "32", "3" },
        { "acme-db", "-", "-" },
        { "globex", "", "-" },
        { "globex-b", "-", "-" },
        { "initech", "", "-" },
        { "initech-x", "-", "-" },
    };
    struct top_layout l;
    struct top_row *r;
    char line[1024], head[1024], peak[16], over[16];
    size_t nr, k;

    top_fit(&l, &m, 0, false);
    ck_assert_int_eq(top_format_header(&l, head, sizeof(head)), 0);
    ck_assert_ptr_nonnull(strstr(head, "   THR%  PEAK%  OVER "));
    ck_assert_int_eq(top_rows(&m, &v, &r, &nr), 0);
    for ( k = 0; k < sizeof(want) / sizeof(want[0]); k++ )
    {
        row_line(r, nr, want[k].name, &l, line, sizeof(line));
        cell_under(head, line, "PEAK%", peak, sizeof(peak));
        cell_under(head, line, "OVER", over, sizeof(over));
        ck_assert_msg(!strcmp(peak + strspn(peak, " "), want[k].peak) &&
                      !strcmp(over + strspn(over, " "), want[k].over),
                      "%s: '%s' '%s' in \"%s\"", want[k].name, peak, over,
                      line);
    }
    free(r);
}
END_TEST

/* State from the new field; "" from an old daemon; "error" wins. */
START_TEST(test_top_state_column)
{
    size_t i;

    for ( i = 0; i < m.nr_doms; i++ )
        if ( !strcmp(m.doms[i].name, "acme-db") )
            ck_assert_str_eq(m.doms[i].state, "blocked");
        else if ( !strcmp(m.doms[i].name, "initech-x") )
            ck_assert_str_eq(m.doms[i].state, "");
}
END_TEST

/* Whatever the daemon at the socket sends, nothing reaches the terminal
 * as a control: an escape or a bidi override becomes visible text. */
START_TEST(test_top_names_escaped_for_the_terminal)
{
    char rep[] = "T\tev\x1b[2Jil\xe2\x80\xae\t1\t0\t0\t1.00\t0\t0\t0\t0\t1\n"
                 "T\n" "D\n";
    struct top_model lm;

    ck_assert_int_eq(top_model_parse(&lm, rep), 0);
    ck_assert_uint_eq(lm.nr_tenants, 1);
    ck_assert_uint_eq(lm.nr_doms, 0);
    ck_assert_ptr_null(strchr(lm.tenants[0].name, '\x1b'));
    ck_assert_ptr_null(strstr(lm.tenants[0].name, "\xe2\x80\xae"));
    ck_assert_ptr_nonnull(strstr(lm.tenants[0].name, "\\u202e"));
    top_model_free(&lm);
}
END_TEST

static Suite *top_suite(void)
{
    Suite *s = suite_create("top");
    TCase *fit = tcase_create("fit"), *sort = tcase_create("sort");
    TCase *fold = tcase_create("fold"), *show = tcase_create("show");

    tcase_add_checked_fixture(fit, setup, teardown);
    tcase_add_loop_test(fit, test_top_fit_drops_columns_not_wraps, 0,
                        sizeof(fits) / sizeof(fits[0]));
    tcase_add_test(fit, test_top_fit_long_name_cut_on_screen_whole_in_batch);
    tcase_add_test(fit, test_top_fit_tiny_terminal);
    suite_add_tcase(s, fit);
    tcase_add_checked_fixture(sort, setup, teardown);
    tcase_add_loop_test(sort, test_top_sort_orders_tenants_and_their_domains,
                        0, sizeof(sorts) / sizeof(sorts[0]));
    suite_add_tcase(s, sort);
    tcase_add_checked_fixture(fold, setup, teardown);
    tcase_add_test(fold, test_top_fold_one_tenant);
    tcase_add_test(fold, test_top_fold_all_then_open_one);
    tcase_add_test(fold, test_top_fold_marks);
    suite_add_tcase(s, fold);
    tcase_add_checked_fixture(show, setup, teardown);
    tcase_add_test(show, test_top_summary);
    tcase_add_test(show, test_top_summary_without_pcpus);
    tcase_add_test(show, test_top_state_column);
    tcase_add_test(show, test_top_contention_columns);
    tcase_add_test(show, test_top_conformance_columns);
    tcase_add_test(show, test_top_names_escaped_for_the_terminal);
    suite_add_tcase(s, show);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(top_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
