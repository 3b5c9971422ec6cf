/*
 * test_plot.c: xenos-sim --plot and xenos-sim compare, run as a user runs
 * them, with the real gnuplot.
 *
 * The instrument is checked, not only that files appear: the numbers a
 * picture is drawn from (share.csv, cap.csv, wake-cdf.csv, the compare
 * report's results.csv) are held against figures worked out by hand for
 * tiny scenarios, and against the simulator's own other outputs
 * (windows.csv, domains.csv of a separate run), read and recomputed here
 * with code of this file's own.  PNGs are checked as PNGs: signature,
 * header chunk and size, and the closing IEND chunk.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "tmptree.h"

#define SIM XENOS_BINARY_DIR "/sched/sim/xenos-sim"
#define SCEN XENOS_SOURCE_DIR "/sched/sim/scenarios"

static char tmpdir[256];

static void setup(void)
{
    tmptree_make(tmpdir, sizeof(tmpdir), "plot");
}

static void teardown(void)
{
    tmptree_remove(tmpdir);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

/* Run @cmd through sh; its exit status. */
static int run(const char *cmd)
{
    int st = system(cmd);

    ck_assert_msg(st != -1 && WIFEXITED(st), "%s: did not exit", cmd);
    return WEXITSTATUS(st);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* A CSV file of plain cells (the scenarios here have plain names), the
 * header row dropped: rows[i][j]. */
#define MAX_ROWS 20000
#define MAX_COLS 24
struct csv {
    unsigned int nr;
    char *cell[MAX_ROWS][MAX_COLS];
    char *text;
};

static struct csv *csv_read(const char *dir, const char *name)
{
    struct csv *c = calloc(1, sizeof(*c));
    char path[512], *line, *save = NULL;
    struct stat sb;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no %s", path);
    ck_assert_int_eq(fstat(fileno(f), &sb), 0);
    c->text = calloc(1, (size_t)sb.st_size + 1);
    ck_assert_uint_eq(fread(c->text, 1, (size_t)sb.st_size, f),
                      (size_t)sb.st_size);
    fclose(f);
    line = strtok_r(c->text, "\n", &save);      /* the header */
    while ( (line = strtok_r(NULL, "\n", &save)) )
    {
        unsigned int j = 0;
        char *p = line;

        ck_assert_uint_lt(c->nr, MAX_ROWS);
        for ( ;; )
        {
            char *comma = strchr(p, ',');

            ck_assert_uint_lt(j, MAX_COLS);
            c->cell[c->nr][j++] = p;
            if ( !comma )
                break;
            *comma = '\0';
            p = comma + 1;
        }
        c->nr++;
    }
    return c;
}

static void csv_free(struct csv *c)
{
    free(c->text);
    free(c);
}

static double num(const char *s)
{
    char *end;
    double v;

    ck_assert_ptr_nonnull(s);
    v = strtod(s, &end);
    ck_assert_msg(end != s && *end == '\0', "'%s' is no number", s);
    return v;
}

/* @path is a whole PNG of @w x @h pixels, of a size that holds a drawing
 * (a blank picture of that size compresses to about 5 KB). */
static void assert_png(const char *dir, const char *name, unsigned int w,
                       unsigned int h)
{
    static const unsigned char iend[12] = {
        0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
    unsigned char head[24], tail[12];
    char path[512];
    struct stat sb;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_msg(stat(path, &sb) == 0, "no %s", path);
    ck_assert_int_gt(sb.st_size, 10000);
    ck_assert_int_lt(sb.st_size, 300 * 1024);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(head, 1, sizeof(head), f), sizeof(head));
    ck_assert_int_eq(fseek(f, -12, SEEK_END), 0);
    ck_assert_uint_eq(fread(tail, 1, sizeof(tail), f), sizeof(tail));
    fclose(f);
    ck_assert_int_eq(memcmp(head, "\x89PNG\r\n\x1a\n", 8), 0);
    ck_assert_int_eq(memcmp(head + 12, "IHDR", 4), 0);
    ck_assert_uint_eq(((unsigned int)head[16] << 24 | head[17] << 16 |
                       head[18] << 8 | head[19]), w);
    ck_assert_uint_eq(((unsigned int)head[20] << 24 | head[21] << 16 |
                       head[22] << 8 | head[23]), h);
    ck_assert_int_eq(memcmp(tail, iend, sizeof(iend)), 0);
}

/* Row of @c whose column @col is @want, from row @from; -1 if none. */
static int csv_find(const struct csv *c, unsigned int col, const char *want,
                    unsigned int from)
{
    unsigned int i;

    for ( i = from; i < c->nr; i++ )
        if ( c->cell[i][col] && !strcmp(c->cell[i][col], want) )
            return (int)i;
    return -1;
}

/* The series number series.csv gives @name in picture @plot. */
static const char *series_of(const struct csv *s, const char *plot,
                             const char *name)
{
    unsigned int i;

    for ( i = 0; i < s->nr; i++ )
        if ( !strcmp(s->cell[i][0], plot) && !strcmp(s->cell[i][2], name) )
            return s->cell[i][1];
    ck_abort_msg("no %s line for %s in series.csv", plot, name);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* --plot                                                             */

/* Two CPU-bound domains of weights 512 and 256 on one pCPU, and a third
 * capped at 25% of it, for 2 s: by hand, the capped one is due 25% of
 * the pCPU, and the others split the remaining 75% two to one, 50% and
 * 25%.  In every 100 ms window, of the host (one pCPU), so the same
 * figures in % of the host and of one pCPU. */
static const char tiny[] =
    "pcpus: 1\nduration_ms: 2000\ndomains:\n"
    "  - {name: heavy, weight: 512, workload: {type: cpu}}\n"
    "  - {name: light, weight: 256, workload: {type: cpu}}\n"
    "  - {name: capped, weight: 256, cap_pct: 25, workload: {type: cpu}}\n";

/* The data of share.png and cap.png: each window as windows.csv has it,
 * in %, and the entitlement and cap as worked out by hand. */
START_TEST(test_plot_share_and_cap_data)
{
    static const char *const names[] = { "heavy", "light", "capped" };
    static const double due_pct[] = { 50.0, 25.0, 25.0 };
    struct csv *win, *share, *cap, *ser;
    char cmd[1024], yaml[300];
    unsigned int i, d, rows = 0;

    snprintf(yaml, sizeof(yaml), "%s/tiny.yaml", tmpdir);
    write_file(yaml, tiny);
    snprintf(cmd, sizeof(cmd), "%s %s --policy fcredit --plot %s/p --csv "
             "%s/c >/dev/null", SIM, yaml, tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/p", tmpdir);
    assert_png(cmd, "share.png", 1000, 560);
    assert_png(cmd, "cap.png", 1000, 560);
    win = csv_read(tmpdir, "c/windows.csv");
    share = csv_read(tmpdir, "p/share.csv");
    cap = csv_read(tmpdir, "p/cap.csv");
    ser = csv_read(tmpdir, "p/series.csv");

    ck_assert_uint_eq(win->nr, 20 * 3);
    ck_assert_uint_eq(share->nr, 20 * 3);
    ck_assert_uint_eq(cap->nr, 20);         /* one capped domain */
    for ( d = 0; d < 3; d++ )
    {
        const char *s = series_of(ser, "share", names[d]);

        for ( i = 0; i < share->nr; i++ )
        {
            int w;
            double used_pct;

            if ( strcmp(share->cell[i][0], s) )
                continue;
            rows++;
            /* windows.csv: window_start_ns,domain,cpu_ns,entitled_ns */
            for ( w = 0; (w = csv_find(win, 1, names[d], (unsigned)w)) >= 0;
                  w++ )
                if ( fabs(num(win->cell[w][0]) / 1e9 -
                          num(share->cell[i][1])) < 1e-9 )
                    break;
            ck_assert_int_ge(w, 0);
            used_pct = 100.0 * num(win->cell[w][2]) / 1e8;
            ck_assert_double_eq_tol(num(share->cell[i][2]), used_pct, 1e-5);
            ck_assert_double_eq_tol(num(share->cell[i][3]), due_pct[d],
                                    1e-3);
            if ( d == 2 )
            {
                int k = csv_find(cap, 1, share->cell[i][1], 0);

                ck_assert_int_ge(k, 0);
                ck_assert_str_eq(cap->cell[k][0],
                                 series_of(ser, "cap", "capped"));
                ck_assert_double_eq_tol(num(cap->cell[k][2]), used_pct,
                                        1e-5);
                ck_assert_double_eq(num(cap->cell[k][3]), 25);
            }
        }
    }
    ck_assert_uint_eq(rows, 60);
    csv_free(win);
    csv_free(share);
    csv_free(cap);
    csv_free(ser);
}
END_TEST

/* The wake-up CDF: its last row counts every wake-up and domains.csv's
 * percentiles are read off it as the simulator reads them off its
 * histogram (first row reaching ceil(q x n)), its maximum the last. */
START_TEST(test_plot_wake_cdf_matches_percentiles)
{
    struct csv *dom, *cdf, *ser;
    char cmd[1024];
    int d;

    snprintf(cmd, sizeof(cmd), "%s %s/io-latency.yaml --policy credit "
             "--duration-ms 3000 --plot %s/p --csv %s/c >/dev/null", SIM,
             SCEN, tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/p", tmpdir);
    assert_png(cmd, "wake-cdf.png", 1000, 560);
    dom = csv_read(tmpdir, "c/domains.csv");
    cdf = csv_read(tmpdir, "p/wake-cdf.csv");
    ser = csv_read(tmpdir, "p/series.csv");
    d = csv_find(dom, 0, "disk", 0);
    ck_assert_int_ge(d, 0);
    {
        /* domains.csv: ..., wake_p50_ns (7), p99 (8), p999, max (10),
         * count (11) */
        const char *s = series_of(ser, "wake", "disk");
        double n = num(dom->cell[d][11]);
        const double q[] = { 0.5, 0.99 };
        const unsigned int col[] = { 7, 8 };
        unsigned int k, i, last = 0, first = cdf->nr;

        ck_assert_double_gt(n, 1000);
        for ( i = 0; i < cdf->nr; i++ )
            if ( !strcmp(cdf->cell[i][0], s) )
            {
                if ( first == cdf->nr )
                    first = i;
                last = i;
            }
        /* from the origin, to every wake-up at the max */
        ck_assert_double_eq(num(cdf->cell[first][1]), 0);
        ck_assert_double_eq(num(cdf->cell[first][2]), 0);
        ck_assert_double_eq(num(cdf->cell[last][2]), n);
        ck_assert_double_eq(num(cdf->cell[last][3]), 1);
        ck_assert_double_eq_tol(num(cdf->cell[last][1]) * 1000,
                                num(dom->cell[d][10]), 0.5);
        for ( k = 0; k < 2; k++ )
        {
            double want = ceil(q[k] * n);

            for ( i = first; i <= last; i++ )
                if ( num(cdf->cell[i][2]) >= want )
                    break;
            ck_assert_double_eq_tol(num(cdf->cell[i][1]) * 1000,
                                    num(dom->cell[d][col[k]]), 0.5);
        }
        /* the hogs woke once each, at their start: not drawn */
        for ( i = 0; i < ser->nr; i++ )
            ck_assert(strcmp(ser->cell[i][0], "wake") ||
                      strncmp(ser->cell[i][2], "hog", 3));
    }
    csv_free(dom);
    csv_free(cdf);
    csv_free(ser);
}
END_TEST

/* 32 domains are at most 8 lines, every domain in one, and the lines add
 * up to what windows.csv says the domains used, window by window. */
START_TEST(test_plot_many_domains_grouped)
{
    struct csv *win, *share, *ser;
    double used[10] = { 0 }, drawn[10] = { 0 };
    unsigned int i, lines = 0, members = 0;
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "%s %s/many-tenants.yaml --policy fcredit "
             "--duration-ms 1000 --plot %s/p --csv %s/c >/dev/null", SIM,
             SCEN, tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    win = csv_read(tmpdir, "c/windows.csv");
    share = csv_read(tmpdir, "p/share.csv");
    ser = csv_read(tmpdir, "p/series.csv");
    for ( i = 0; i < ser->nr; i++ )
        if ( !strcmp(ser->cell[i][0], "share") )
        {
            lines++;
            members += (unsigned int)num(ser->cell[i][3]);
        }
    ck_assert_uint_le(lines, 8);
    ck_assert_uint_eq(members, 32);
    /* 8 pCPUs, 100 ms windows: % of the host is cpu_ns / 8e8 x 100 */
    for ( i = 0; i < win->nr; i++ )
        used[(unsigned int)(num(win->cell[i][0]) / 1e8 + 0.5)] +=
            num(win->cell[i][2]) / 8e6;
    for ( i = 0; i < share->nr; i++ )
        drawn[(unsigned int)(num(share->cell[i][1]) * 10 + 0.5)] +=
            num(share->cell[i][2]);
    for ( i = 0; i < 10; i++ )
    {
        ck_assert_double_gt(used[i], 90);
        ck_assert_double_eq_tol(drawn[i], used[i], 1e-4);
    }
    csv_free(win);
    csv_free(share);
    csv_free(ser);
}
END_TEST

/* Bad output directories are errors that name the directory. */
START_TEST(test_plot_unwritable_dir_fails)
{
    char cmd[1024], yaml[300];

    snprintf(yaml, sizeof(yaml), "%s/tiny.yaml", tmpdir);
    write_file(yaml, tiny);
    snprintf(cmd, sizeof(cmd), "%s/file", tmpdir);
    write_file(cmd, "x");
    snprintf(cmd, sizeof(cmd), "%s %s --plot %s/file/p >/dev/null "
             "2>%s/err", SIM, yaml, tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 1);
    snprintf(cmd, sizeof(cmd), "grep -q 'plotting into .*/file/p: Not a "
             "directory' %s/err", tmpdir);
    ck_assert_int_eq(run(cmd), 0);
}
END_TEST

/* Without gnuplot on the PATH, --plot fails saying what to install,
 * and the report on stdout is still whole. */
START_TEST(test_plot_without_gnuplot_says_so)
{
    char cmd[2048], yaml[300];

    snprintf(yaml, sizeof(yaml), "%s/tiny.yaml", tmpdir);
    write_file(yaml, tiny);
    snprintf(cmd, sizeof(cmd), "env PATH=%s %s %s --plot %s/p >%s/out "
             "2>%s/err", tmpdir, SIM, yaml, tmpdir, tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 1);
    snprintf(cmd, sizeof(cmd), "grep -q 'gnuplot not found.*gnuplot-nox' "
             "%s/err && grep -q '^capped ' %s/out", tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* compare                                                            */

/* The worst error and least served over 1 s spans of every domain, from
 * a run's windows.csv: the report's two fairness rows, recomputed. */
static void spans(const char *dir, double *worst, double *least,
                  char *least_dom, size_t len)
{
    struct csv *win = csv_read(dir, "windows.csv");
    unsigned int i, j;

    *worst = 0;
    *least = INFINITY;
    for ( i = 0; i < win->nr; i++ )
    {
        double used = 0, due = 0;
        unsigned int w = (unsigned int)(num(win->cell[i][0]) / 1e8 + 0.5);

        /* start each span at its first window's row of a domain */
        if ( w % 10 )
            continue;
        for ( j = 0; j < win->nr; j++ )
        {
            unsigned int v = (unsigned int)(num(win->cell[j][0]) / 1e8 +
                                            0.5);

            if ( v >= w && v < w + 10 &&
                 !strcmp(win->cell[j][1], win->cell[i][1]) )
            {
                used += num(win->cell[j][2]);
                due += num(win->cell[j][3]);
            }
        }
        /* the runs here are whole seconds, every domain due something */
        ck_assert_double_gt(due, 0);
        if ( fabs(used - due) / due > *worst )
            *worst = fabs(used - due) / due;
        if ( used / due < *least )
        {
            *least = used / due;
            snprintf(least_dom, len, "%s", win->cell[i][1]);
        }
    }
    csv_free(win);
}

/* The figure results.csv has for scenario @sc, policy @p, measure @m,
 * and whether it wins. */
static double result(const struct csv *r, const char *sc, const char *p,
                     const char *m, bool *wins, const char **starves)
{
    unsigned int i;

    for ( i = 0; i < r->nr; i++ )
        if ( !strcmp(r->cell[i][0], sc) && !strcmp(r->cell[i][1], p) &&
             !strcmp(r->cell[i][2], m) )
        {
            *wins = !strcmp(r->cell[i][5], "1");
            *starves = r->cell[i][6] ? r->cell[i][6] : "";
            return *r->cell[i][3] ? num(r->cell[i][3]) : NAN;
        }
    ck_abort_msg("no row %s %s %s", sc, p, m);
    return NAN;
}

/*
 * Two scenarios under fcredit and rr, 3 s each.  rr ignores weights: on
 * weights.yaml it gives 1/3 each where 1/7, 2/7, 4/7 are due, an error of
 * 133% for `small` (1/3 against 1/7), but starves no one (the least
 * served, `large`, gets 7/12 of its due).  On io-latency.yaml rr lets the
 * four hogs run their whole slices between the disk's wake-ups, so the
 * disk domain gets a few % of what it is due: rr starves it, and wins
 * nothing there.  fcredit is within a few % of every entitlement, so it
 * wins both fairness rows of both scenarios; the report's figures are
 * those recomputed here from each run's own windows.csv.
 */
START_TEST(test_compare_winners)
{
    static const char *const scen[] = { "weights.yaml", "io-latency.yaml" };
    static const char *const pol[] = { "fcredit", "rr" };
    char cmd[2048], dir[512], least_dom[64];
    double worst[2][2], least[2][2];
    const char *starves;
    struct csv *res;
    unsigned int s, p;
    bool wins;

    snprintf(cmd, sizeof(cmd), "%s compare -o %s/r --policies fcredit,rr "
             "--max-duration-ms 3000 %s/%s %s/%s >%s/out 2>%s/err", SIM,
             tmpdir, SCEN, scen[0], SCEN, scen[1], tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    /* not a terminal: a plain line per run */
    snprintf(cmd, sizeof(cmd), "test $(grep -c '^xenos-sim compare: run "
             "[1-4]/4: ' %s/err) = 4", tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    snprintf(dir, sizeof(dir), "%s/r", tmpdir);
    assert_png(dir, "01-weights.png", 900, 340);
    assert_png(dir, "02-io-latency.png", 900, 340);
    snprintf(cmd, sizeof(cmd), "grep -q '<img src=\"01-weights.png\"' "
             "%s/index.html && grep -q '<img src=\"02-io-latency.png\"' "
             "%s/index.html", dir, dir);
    ck_assert_int_eq(run(cmd), 0);

    res = csv_read(dir, "results.csv");
    ck_assert_uint_eq(res->nr, 2 * 2 * 5);
    for ( s = 0; s < 2; s++ )
        for ( p = 0; p < 2; p++ )
        {
            snprintf(cmd, sizeof(cmd), "%s %s/%s --policy %s --duration-ms "
                     "3000 --csv %s/c%u%u >/dev/null", SIM, SCEN, scen[s],
                     pol[p], tmpdir, s, p);
            ck_assert_int_eq(run(cmd), 0);
            snprintf(cmd, sizeof(cmd), "%s/c%u%u", tmpdir, s, p);
            spans(cmd, &worst[s][p], &least[s][p], least_dom,
                  sizeof(least_dom));
            ck_assert_double_eq_tol(result(res, scen[s], pol[p],
                                           "fair_error_pct", &wins,
                                           &starves),
                                    100 * worst[s][p], 0.001);
            ck_assert_double_eq_tol(result(res, scen[s], pol[p],
                                           "least_served_pct", &wins,
                                           &starves),
                                    100 * least[s][p], 0.001);
            if ( least[s][p] < 0.5 )
                ck_assert_str_eq(starves, least_dom);
            else
                ck_assert_str_eq(starves, "");
        }
    /* by hand (above): rr about 1/3 against 1/7 and 4/7 (a second's
     * round robin is not exactly even: the worst is a little more) */
    ck_assert_double_gt(worst[0][1], (1.0 / 3) / (1.0 / 7) - 1 - 0.02);
    ck_assert_double_lt(worst[0][1], 1.5);
    ck_assert_double_eq_tol(least[0][1], (1.0 / 3) / (4.0 / 7), 0.02);
    ck_assert_double_lt(least[1][1], 0.5);
    ck_assert_double_lt(worst[0][0], 0.05);
    ck_assert_double_lt(worst[1][0], 0.05);

    for ( s = 0; s < 2; s++ )
    {
        result(res, scen[s], "fcredit", "fair_error_pct", &wins, &starves);
        ck_assert(wins);
        result(res, scen[s], "rr", "fair_error_pct", &wins, &starves);
        ck_assert(!wins);
        result(res, scen[s], "fcredit", "least_served_pct", &wins,
               &starves);
        ck_assert(wins);
    }
    /* rr starves the disk domain: it wins nothing in io-latency, not
     * even the row of CPU time used, where it ties */
    result(res, scen[1], "rr", "work_pct", &wins, &starves);
    ck_assert_str_eq(starves, "disk");
    ck_assert(!wins);
    result(res, scen[1], "fcredit", "work_pct", &wins, &starves);
    ck_assert(wins);
    /* ...while on weights.yaml, starving no one, it ties fcredit there */
    result(res, scen[0], "rr", "work_pct", &wins, &starves);
    ck_assert(wins);
    csv_free(res);
}
END_TEST

/* A bad scenario fails before anything runs, naming its file and line;
 * an unknown policy is refused, naming the ones there are, and so is an
 * empty list of policies. */
START_TEST(test_compare_bad_input)
{
    char cmd[1024], yaml[300];

    snprintf(yaml, sizeof(yaml), "%s/bad.yaml", tmpdir);
    write_file(yaml, "pcpus: 1\nduration_ms: 100\ndomains:\n"
               "  - {name: a, weight: 0, workload: {type: cpu}}\n");
    snprintf(cmd, sizeof(cmd), "%s compare -o %s/r %s/weights.yaml %s "
             ">/dev/null 2>%s/err", SIM, tmpdir, SCEN, yaml, tmpdir);
    ck_assert_int_eq(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "grep -q 'bad.yaml:4: .*weight' %s/err && "
             "test ! -e %s/r", tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s compare -o %s/r --policies fcredit,nope "
             "%s/weights.yaml >/dev/null 2>%s/err", SIM, tmpdir, SCEN,
             tmpdir);
    ck_assert_int_eq(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "grep -q \"unknown policy 'nope' (known: "
             ".*fcredit\" %s/err", tmpdir);
    ck_assert_int_eq(run(cmd), 0);
    /* an empty list is no policy at all, not a report of nothing */
    snprintf(cmd, sizeof(cmd), "%s compare -o %s/r --policies '' "
             "%s/weights.yaml >/dev/null 2>%s/err", SIM, tmpdir, SCEN,
             tmpdir);
    ck_assert_int_eq(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "grep -q -- '--policies: no policy named' "
             "%s/err && test ! -e %s/r", tmpdir, tmpdir);
    ck_assert_int_eq(run(cmd), 0);
}
END_TEST

static Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_plot_share_and_cap_data);
    tcase_add_test(tc, test_plot_wake_cdf_matches_percentiles);
    tcase_add_test(tc, test_plot_many_domains_grouped);
    tcase_add_test(tc, test_plot_unwritable_dir_fails);
    tcase_add_test(tc, test_plot_without_gnuplot_says_so);
    tcase_add_test(tc, test_compare_winners);
    tcase_add_test(tc, test_compare_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(plot_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
