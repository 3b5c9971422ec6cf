/*
 * plot.c: pictures of one run (xenos-sim --plot DIR), and the gnuplot
 * driver, data files and latency CDF that compare.c shares.
 *
 * Design: the numbers a picture shows are first written as CSV beside it,
 * from sim_result and the wake-up histogram (sim_wake_counts), and the
 * gnuplot script only reads those files: what is drawn is exactly what is
 * in them, and tests check them against the simulator's own outputs
 * (windows.csv, domains.csv).  gnuplot (pngcairo) runs as a child in the
 * output directory with -d, so no ~/.gnuplot changes a picture; it reads
 * the script from a socket rather than a pipe, so a gnuplot that dies
 * early is an error returned, not a SIGPIPE that kills the simulator.
 *
 * Readable with many domains: a picture has at most SIM_PLOT_MAX_SERIES
 * lines.  Past that, domains are grouped by tenant when the tenants are
 * few enough, else the ones entitled to most are drawn and the rest
 * summed into one line; the title says which.  Every axis is linear and
 * says its unit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenos/text.h>

#include "private.h"
#include "plot_impl.h"

#define PLOT_W          1000    /* pixels */
#define PLOT_H          560
#define PLOT_GP_ERR     160     /* bytes of gnuplot's complaint kept */
/* A CPU-bound domain wakes once, at its start: a CDF of one wake-up is a
 * step that says nothing and crowds the legend. */
#define PLOT_CDF_MIN_WAKES 20

/* ------------------------------------------------------------------ */
/* gnuplot                                                            */

extern char **environ;

/* Read @fd to its end, keeping the first line in @buf. */
static void gp_drain(int fd, char *buf, size_t len)
{
    size_t have = 0;
    char chunk[512];
    ssize_t n;

    buf[0] = '\0';
    while ( (n = read(fd, chunk, sizeof(chunk))) != 0 )
    {
        if ( n < 0 )
        {
            if ( errno == EINTR )
                continue;
            break;
        }
        if ( have + 1 < len )
        {
            size_t take = (size_t)n < len - 1 - have ? (size_t)n
                                                     : len - 1 - have;

            memcpy(buf + have, chunk, take);
            have += take;
            buf[have] = '\0';
        }
    }
    /* gnuplot starts a complaint with the offending line: keep it all
     * on one line of ours. */
    for ( have = 0; buf[have]; have++ )
        if ( buf[have] == '\n' || buf[have] == '\r' )
            buf[have] = ' ';
}

int sim__gnuplot(const char *dir, const char *script, size_t len,
                 char *err, size_t errlen)
{
    char *const argv[] = { "gnuplot", "-d", NULL };
    posix_spawn_file_actions_t fa;
    char complaint[PLOT_GP_ERR];
    int in[2], out[2], status, rc;
    size_t off = 0;
    pid_t pid;

    if ( socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) )
    {
        rc = -errno;
        snprintf(err, errlen, "gnuplot: socketpair: %s", strerror(-rc));
        return rc;
    }
    if ( pipe2(out, O_CLOEXEC) )
    {
        rc = -errno;
        snprintf(err, errlen, "gnuplot: pipe: %s", strerror(-rc));
        goto out_close_in;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[1], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    rc = -posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[1]);
    close(out[1]);
    if ( rc )
    {
        if ( rc == -ENOENT )
            snprintf(err, errlen, "gnuplot not found: the pictures need it "
                     "(Debian: apt-get install gnuplot-nox)");
        else
            snprintf(err, errlen, "gnuplot: %s", strerror(-rc));
        close(out[0]);
        close(in[0]);
        return rc;
    }

    /* The script is a few KB: it fits the socket's buffer, so writing it
     * all before reading gnuplot's complaints cannot deadlock. */
    while ( off < len )
    {
        ssize_t n = send(in[0], script + off, len - off, MSG_NOSIGNAL);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n <= 0 )
            break;      /* it died: its status says why */
        off += (size_t)n;
    }
    shutdown(in[0], SHUT_WR);
    gp_drain(out[0], complaint, sizeof(complaint));
    close(out[0]);
    while ( waitpid(pid, &status, 0) < 0 )
        if ( errno != EINTR )
        {
            rc = -errno;
            snprintf(err, errlen, "gnuplot: wait: %s", strerror(-rc));
            goto out_close_in;
        }
    if ( !WIFEXITED(status) || WEXITSTATUS(status) != 0 || off < len )
    {
        snprintf(err, errlen, "gnuplot failed: %s",
                 complaint[0] ? complaint : "no message");
        rc = -EIO;
    }
 out_close_in:
    close(in[0]);
    return rc;
}

/* Eight colours told apart by most readers, colour-blind ones included
 * (Okabe and Ito's, with black and grey). */
static const char *const gp_colours[SIM_PLOT_MAX_SERIES] = {
    "#0072b2", "#d55e00", "#009e73", "#cc79a7",
    "#e69f00", "#56b4e9", "#000000", "#999999",
};

void sim__gp_begin(FILE *f, unsigned int w, unsigned int h,
                   const char *png)
{
    unsigned int i;

    /* noenhanced: a name's ^ _ @ { } are text, not markup. */
    fprintf(f, "set terminal pngcairo noenhanced size %u,%u "
            "font 'DejaVu Sans,10'\n", w, h);
    fprintf(f, "set output '%s'\n", png);
    /* A solid light grid: dotted lines cost a third of a PNG's bytes. */
    fprintf(f, "set datafile separator ','\nset style line 100 "
            "lc rgb '#dddddd' lw 1 dt 1\nset grid back ls 100\n"
            "set key outside right top vertical Left reverse\n");
    for ( i = 0; i < SIM_PLOT_MAX_SERIES; i++ )
        fprintf(f, "set linetype %u lc rgb '%s' lw 1.5\n", i + 1,
                gp_colours[i]);
}

void sim__gp_str(FILE *f, const char *s)
{
    size_t len = txt_escape_size(s);
    char *esc = malloc(len);
    const char *p;

    fputc('\'', f);
    if ( esc && txt_escape(esc, len, s, true) == 0 )
        for ( p = esc; *p; p++ )
            if ( *p == '\'' )
                fputs("''", f);
            else
                fputc(*p, f);
    else
        fputs("?", f);          /* out of memory: a legend, not data */
    fputc('\'', f);
    free(esc);
}

FILE *sim__file_open(const char *dir, const char *name, char *err,
                     size_t errlen)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    FILE *f;

    if ( !path )
    {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    snprintf(path, len, "%s/%s", dir, name);
    f = fopen(path, "w");
    if ( !f )
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
    free(path);
    return f;
}

int sim__file_close(FILE *f, const char *name, char *err, size_t errlen)
{
    int rc = 0;

    errno = 0;
    if ( fflush(f) || ferror(f) )
        rc = errno ? -errno : -EIO;
    /* fclose reports what the last write-back found (NFS, quota). */
    if ( fclose(f) && !rc )
        rc = -errno;
    if ( rc )
        snprintf(err, errlen, "writing %s: %s", name, strerror(-rc));
    return rc;
}

/* ------------------------------------------------------------------ */
/* The latency CDF                                                    */

sch_time_t sim__counts_quantile(const uint64_t *counts, uint64_t n,
                                sch_time_t max, double q)
{
    uint64_t want = (uint64_t)ceil(q * (double)n), seen = 0;
    unsigned int b, nb = sim_hist_nr_buckets();

    if ( n == 0 )
        return 0;
    if ( want == 0 )
        want = 1;
    for ( b = 0; b < nb; b++ )
    {
        seen += counts[b];
        if ( seen >= want )
        {
            sch_time_t top = sim_hist_bucket_top(b);

            return top < max ? top : max;
        }
    }
    return max;
}

void sim__cdf_rows(FILE *f, unsigned int series, const uint64_t *counts,
                   uint64_t n, sch_time_t max, double min_step)
{
    unsigned int b, nb = sim_hist_nr_buckets();
    uint64_t seen = 0, shown = 0;

    /* From the origin, so a line drawn in steps rises where the first
     * wake-ups are rather than starting there. */
    fprintf(f, "%u,0.000,0,0.000000\n", series);
    for ( b = 0; b < nb && seen < n; b++ )
    {
        sch_time_t top;

        if ( !counts[b] )
            continue;
        seen += counts[b];
        /* Thinned: a row once the fraction has risen by min_step, and
         * always the last, at the max. */
        if ( seen < n && (double)(seen - shown) < min_step * (double)n )
            continue;
        shown = seen;
        top = sim_hist_bucket_top(b);
        fprintf(f, "%u,%.3f,%" PRIu64 ",%.6f\n", series,
                (double)(top < max ? top : max) / 1000.0, seen,
                (double)seen / (double)n);
    }
}

/* ------------------------------------------------------------------ */
/* Which domains make which line                                      */

struct plot_groups {
    unsigned int nr;                        /* lines */
    int *of;                                /* [domain]: its line, or -1 */
    char *name[SIM_PLOT_MAX_SERIES];        /* legends, owned */
    unsigned int members[SIM_PLOT_MAX_SERIES];
    char how[192];                          /* for the title */
};

static void groups_free(struct plot_groups *g)
{
    unsigned int i;

    for ( i = 0; i < g->nr; i++ )
        free(g->name[i]);
    free(g->of);
}

static int groups_add(struct plot_groups *g, const char *fmt, const char *s)
{
    size_t len = strlen(fmt) + (s ? strlen(s) : 0) + 1;

    g->name[g->nr] = malloc(len);
    if ( !g->name[g->nr] )
        return -ENOMEM;
    snprintf(g->name[g->nr], len, fmt, s ? s : "");
    g->members[g->nr] = 0;
    return (int)g->nr++;
}

/* Domains by what they were entitled to, most first, in file order
 * among equals (a stable order: the same run draws the same lines). */
static int rank_cmp(const void *a, const void *b, void *arg)
{
    const struct sim_result *rank_r = arg;
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    sch_time_t ex = rank_r->domains[x].entitled_ns;
    sch_time_t ey = rank_r->domains[y].entitled_ns;

    if ( ex != ey )
        return ex > ey ? -1 : 1;
    return x < y ? -1 : x > y;
}

/*
 * The lines of the share and latency pictures: a domain each when they
 * are few; past SIM_PLOT_MAX_SERIES, a tenant each (domains without one
 * together) when the tenants are that few; else the domains entitled to
 * most, one each, and the rest summed.
 */
static int groups_by_domain(const struct sim_result *r,
                            const struct sim_scenario *sc,
                            struct plot_groups *g)
{
    unsigned int nd = r->nr_domains, i, j, *order;
    const char *tenant[SIM_PLOT_MAX_SERIES];
    unsigned int nt = 0;
    bool fits = true;

    memset(g, 0, sizeof(*g));
    g->of = malloc((nd ? nd : 1) * sizeof(*g->of));
    if ( !g->of )
        return -ENOMEM;
    if ( nd <= SIM_PLOT_MAX_SERIES )
    {
        for ( i = 0; i < nd; i++ )
        {
            if ( groups_add(g, "%s", r->domains[i].name) < 0 )
                return -ENOMEM;
            g->of[i] = (int)i;
            g->members[i] = 1;
        }
        snprintf(g->how, sizeof(g->how), "one line per domain");
        return 0;
    }

    /* By tenant, if they are few enough; NULL is "no tenant". */
    for ( i = 0; i < nd && fits; i++ )
    {
        const char *t = sc->domains[i].tenant;

        for ( j = 0; j < nt; j++ )
            if ( tenant[j] == t || (t && tenant[j] && !strcmp(t, tenant[j])) )
                break;
        if ( j == nt )
        {
            if ( nt == SIM_PLOT_MAX_SERIES )
                fits = false;
            else
                tenant[nt++] = t;
        }
        g->of[i] = (int)j;
    }
    /* One tenant for all is no grouping worth drawing. */
    if ( fits && nt > 1 )
    {
        for ( j = 0; j < nt; j++ )
            if ( groups_add(g, tenant[j] ? "tenant %s" : "no tenant%s",
                            tenant[j]) < 0 )
                return -ENOMEM;
        for ( i = 0; i < nd; i++ )
            g->members[g->of[i]]++;
        snprintf(g->how, sizeof(g->how), "%u domains summed by tenant",
                 nd);
        return 0;
    }

    order = malloc(nd * sizeof(*order));
    if ( !order )
        return -ENOMEM;
    for ( i = 0; i < nd; i++ )
        order[i] = i;
    qsort_r(order, nd, sizeof(*order), rank_cmp, (void *)r);
    for ( i = 0; i < nd; i++ )
    {
        unsigned int d = order[i];

        if ( i < SIM_PLOT_MAX_SERIES - 1 )
        {
            if ( groups_add(g, "%s", r->domains[d].name) < 0 )
                goto out_nomem;
            g->of[d] = (int)i;
        }
        else
            g->of[d] = SIM_PLOT_MAX_SERIES - 1;
    }
    {
        char other[48];

        snprintf(other, sizeof(other), "the other %u domains",
                 nd - (SIM_PLOT_MAX_SERIES - 1));
        if ( groups_add(g, other, NULL) < 0 )
            goto out_nomem;
    }
    for ( i = 0; i < nd; i++ )
        g->members[g->of[i]]++;
    snprintf(g->how, sizeof(g->how), "the %u domains entitled to most, "
             "the other %u summed", SIM_PLOT_MAX_SERIES - 1,
             nd - (SIM_PLOT_MAX_SERIES - 1));
    free(order);
    return 0;
 out_nomem:
    free(order);
    return -ENOMEM;
}

/* Capped domains by how close their busiest window came to the cap. */
static int cap_cmp(const void *a, const void *b, void *arg)
{
    const struct sim_result *rank_r = arg;
    const struct sim_dom_result *x = &rank_r->domains[
        *(const unsigned int *)a];
    const struct sim_dom_result *y = &rank_r->domains[
        *(const unsigned int *)b];
    double rx = x->cap_window_max_pct / x->cap_pct;
    double ry = y->cap_window_max_pct / y->cap_pct;

    if ( rx != ry )
        return rx > ry ? -1 : 1;
    return *(const unsigned int *)a < *(const unsigned int *)b ? -1 : 1;
}

/* The lines of the cap picture: the capped domains, at most
 * SIM_PLOT_MAX_SERIES, those nearest (or over) their cap first. */
static int groups_capped(const struct sim_result *r, struct plot_groups *g)
{
    unsigned int nd = r->nr_domains, nc = 0, i, *order;

    memset(g, 0, sizeof(*g));
    g->of = malloc((nd ? nd : 1) * sizeof(*g->of));
    order = malloc((nd ? nd : 1) * sizeof(*order));
    if ( !g->of || !order )
    {
        free(order);
        return -ENOMEM;
    }
    for ( i = 0; i < nd; i++ )
    {
        g->of[i] = -1;
        if ( r->domains[i].cap_pct )
            order[nc++] = i;
    }
    qsort_r(order, nc, sizeof(*order), cap_cmp, (void *)r);
    for ( i = 0; i < nc && i < SIM_PLOT_MAX_SERIES; i++ )
    {
        if ( groups_add(g, "%s", r->domains[order[i]].name) < 0 )
        {
            free(order);
            return -ENOMEM;
        }
        g->of[order[i]] = (int)i;
        g->members[i] = 1;
    }
    if ( nc > SIM_PLOT_MAX_SERIES )
        snprintf(g->how, sizeof(g->how), "the %u of %u capped domains that "
                 "came nearest their caps", SIM_PLOT_MAX_SERIES, nc);
    else
        snprintf(g->how, sizeof(g->how), "every capped domain");
    free(order);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The pictures                                                       */

struct plot_ctx {
    struct sim *sim;
    const struct sim_result *r;
    const char *dir;
    const char *label;              /* the scenario's file name */
    FILE *series;                   /* series.csv */
    char *err;
    size_t errlen;
};

/* Length of window @w: the last may be cut short by the run's end. */
static sch_time_t window_len(const struct sim_result *r, unsigned int w)
{
    sch_time_t start = (sch_time_t)w * r->window_ns;

    return r->sim_ns - start < r->window_ns ? r->sim_ns - start
                                            : r->window_ns;
}

static void series_rows(struct plot_ctx *c, const char *plot,
                        const struct plot_groups *g)
{
    unsigned int s;

    for ( s = 0; s < g->nr; s++ )
    {
        fprintf(c->series, "%s,%u,", plot, s + 1);
        txt_csv_str(c->series, g->name[s], false);
        fprintf(c->series, ",%u\n", g->members[s]);
    }
}

/* A script in memory, run once it is whole. */
static int script_run(struct plot_ctx *c, FILE *gp, char **buf, size_t *len)
{
    int rc;

    if ( fclose(gp) || !*buf )
    {
        free(*buf);
        snprintf(c->err, c->errlen, "out of memory");
        return -ENOMEM;
    }
    rc = sim__gnuplot(c->dir, *buf, *len, c->err, c->errlen);
    free(*buf);
    return rc;
}

/* "share.csv" rows: series,time_s,<a>,<b> per window, @b a per-window
 * constant (the cap) when @cap is set, else the entitlement; both in %
 * of the host (@host) or of one pCPU. */
static int write_windows(struct plot_ctx *c, const char *name,
                         const struct plot_groups *g, const char *header,
                         bool per_pcpu)
{
    const struct sim_result *r = c->r;
    unsigned int s, w, d;
    FILE *f = sim__file_open(c->dir, name, c->err, c->errlen);

    if ( !f )
        return -errno;
    fprintf(f, "%s\n", header);
    for ( s = 0; s < g->nr; s++ )
        for ( w = 0; w < r->nr_windows; w++ )
        {
            double len = (double)window_len(r, w) *
                         (per_pcpu ? 1 : r->pcpus);
            sch_time_t used = 0, ent = 0;
            unsigned int cap = 0;

            for ( d = 0; d < r->nr_domains; d++ )
            {
                size_t at = (size_t)d * r->nr_windows + w;

                if ( g->of[d] != (int)s )
                    continue;
                used += r->window_cpu_ns[at];
                ent += r->window_entitled_ns[at];
                cap = r->domains[d].cap_pct;
            }
            fprintf(f, "%u,%.3f,%.6f,", s + 1,
                    (double)w * (double)r->window_ns / 1e9,
                    100.0 * (double)used / len);
            if ( per_pcpu )
                fprintf(f, "%u\n", cap);
            else
                fprintf(f, "%.6f\n", 100.0 * (double)ent / len);
        }
    return sim__file_close(f, name, c->err, c->errlen);
}

static void gp_title(FILE *gp, const char *what, struct plot_ctx *c,
                     const char *how)
{
    fprintf(gp, "set title '%s' . \"\\n\" . ", what);
    sim__gp_str(gp, c->label);
    fprintf(gp, " . ', policy %s, %u pCPU%s, %s'\n", c->r->policy,
            c->r->pcpus, c->r->pcpus == 1 ? "" : "s", how);
}

static int plot_share(struct plot_ctx *c, const struct plot_groups *g)
{
    char *buf = NULL;
    size_t len = 0;
    unsigned int s;
    FILE *gp;
    int rc;

    rc = write_windows(c, "share.csv", g,
                       "series,time_s,used_pct,entitled_pct", false);
    if ( rc )
        return rc;
    series_rows(c, "share", g);
    gp = open_memstream(&buf, &len);
    if ( !gp )
        return -ENOMEM;
    sim__gp_begin(gp, PLOT_W, PLOT_H, "share.png");
    gp_title(gp, "Share of the host per 100 ms window (solid) against "
             "the entitlement (dashed)", c, g->how);
    fprintf(gp, "set xlabel 'simulated time (s)'\n"
            "set ylabel 'share of the host (%% of all pCPU time)'\n"
            "set xrange [0:%.3f]\nset yrange [0:*]\nplot ",
            (double)c->r->sim_ns / 1e9);
    for ( s = 1; s <= g->nr; s++ )
    {
        fprintf(gp, "'share.csv' skip 1 using 2:($1==%u?$3:NaN) "
                "with steps lt %u title ", s, s);
        sim__gp_str(gp, g->name[s - 1]);
        fprintf(gp, ", 'share.csv' skip 1 using 2:($1==%u?$4:NaN) "
                "with steps lt %u dt 2 notitle, ", s, s);
    }
    fprintf(gp, "NaN with lines lc rgb 'black' dt 2 "
            "title 'dashed: entitled'\n");
    return script_run(c, gp, &buf, &len);
}

static int plot_cap(struct plot_ctx *c)
{
    struct plot_groups g;
    char *buf = NULL;
    size_t len = 0;
    unsigned int s;
    FILE *gp;
    int rc = groups_capped(c->r, &g);

    if ( rc || g.nr == 0 )
        goto out_free;
    rc = write_windows(c, "cap.csv", &g,
                       "series,time_s,used_pct_of_pcpu,cap_pct", true);
    if ( rc )
        goto out_free;
    series_rows(c, "cap", &g);
    gp = open_memstream(&buf, &len);
    if ( !gp )
    {
        rc = -ENOMEM;
        goto out_free;
    }
    sim__gp_begin(gp, PLOT_W, PLOT_H, "cap.png");
    gp_title(gp, "CPU used per 100 ms window (solid) against the cap "
             "(dashed)", c, g.how);
    fprintf(gp, "set xlabel 'simulated time (s)'\n"
            "set ylabel 'CPU (%% of one pCPU)'\n"
            "set xrange [0:%.3f]\nset yrange [0:*]\nplot ",
            (double)c->r->sim_ns / 1e9);
    for ( s = 1; s <= g.nr; s++ )
    {
        fprintf(gp, "'cap.csv' skip 1 using 2:($1==%u?$3:NaN) "
                "with steps lt %u title ", s, s);
        sim__gp_str(gp, g.name[s - 1]);
        fprintf(gp, ", 'cap.csv' skip 1 using 2:($1==%u?$4:NaN) "
                "with lines lt %u dt 2 notitle, ", s, s);
    }
    fprintf(gp, "NaN with lines lc rgb 'black' dt 2 title 'dashed: cap'\n");
    rc = script_run(c, gp, &buf, &len);
 out_free:
    groups_free(&g);
    return rc;
}

static int plot_wake(struct plot_ctx *c, const struct plot_groups *g)
{
    unsigned int nb = sim_hist_nr_buckets(), s, d, drawn = 0, left_out = 0;
    char how[sizeof(g->how) + 64];
    uint64_t *counts = malloc(nb * sizeof(*counts));
    uint64_t n[SIM_PLOT_MAX_SERIES] = { 0 };
    sch_time_t max[SIM_PLOT_MAX_SERIES] = { 0 };
    sch_time_t p99[SIM_PLOT_MAX_SERIES] = { 0 };
    char *buf = NULL;
    double xmax = 0;
    size_t len = 0;
    FILE *f, *gp;
    int rc;

    if ( !counts )
        return -ENOMEM;
    f = sim__file_open(c->dir, "wake-cdf.csv", c->err, c->errlen);
    if ( !f )
    {
        rc = -errno;
        goto out_free;
    }
    fprintf(f, "series,latency_us,wakes_le,fraction\n");
    for ( s = 0; s < g->nr; s++ )
    {
        unsigned int b;

        memset(counts, 0, nb * sizeof(*counts));
        for ( d = 0; d < c->r->nr_domains; d++ )
            if ( g->of[d] == (int)s )
                sim_wake_counts(c->sim, d, counts, &max[s]);
        for ( b = 0; b < nb; b++ )
            n[s] += counts[b];
        if ( n[s] < PLOT_CDF_MIN_WAKES )
        {
            left_out++;
            n[s] = 0;
            continue;
        }
        sim__cdf_rows(f, s + 1, counts, n[s], max[s], 0);
        p99[s] = sim__counts_quantile(counts, n[s], max[s], 0.99);
        xmax = fmax(xmax, (double)sim__counts_quantile(counts, n[s], max[s],
                                                       0.999) / 1e3);
        fprintf(c->series, "wake,%u,", s + 1);
        txt_csv_str(c->series, g->name[s], false);
        fprintf(c->series, ",%u\n", g->members[s]);
    }
    rc = sim__file_close(f, "wake-cdf.csv", c->err, c->errlen);
    if ( rc )
        goto out_free;

    gp = open_memstream(&buf, &len);
    if ( !gp )
    {
        rc = -ENOMEM;
        goto out_free;
    }
    sim__gp_begin(gp, PLOT_W, PLOT_H, "wake-cdf.png");
    if ( left_out )
        snprintf(how, sizeof(how), "%s (%u with under %u wake-ups not "
                 "drawn)", g->how, left_out, PLOT_CDF_MIN_WAKES);
    else
        snprintf(how, sizeof(how), "%s", g->how);
    gp_title(gp, "Wake-up latency CDF: from a wake to running", c, how);
    fprintf(gp, "set xlabel 'wake-up latency (us); the axis ends at the "
            "largest p99.9'\nset ylabel 'fraction of wake-ups at or "
            "below'\nset xrange [0:%.3f]\nset yrange [0:1.02]\n"
            "set key right bottom inside opaque box\n",
            xmax > 0 ? xmax * 1.1 : 1.0);
    for ( s = 0; s < g->nr; s++ )
    {
        if ( n[s] == 0 )
            continue;
        fprintf(gp, "%s'wake-cdf.csv' skip 1 using 2:($1==%u?$4:NaN) "
                "with steps lt %u title ", drawn++ ? ", " : "plot ", s + 1,
                s + 1);
        sim__gp_str(gp, g->name[s]);
        fprintf(gp, " . ': p99 %.1f us, max %.1f us, %" PRIu64 " wakes'",
                (double)p99[s] / 1e3, (double)max[s] / 1e3, n[s]);
    }
    if ( !drawn )
        fprintf(gp, "set label 'no line woke %u times' at graph 0.4, "
                "graph 0.5\nplot NaN notitle", PLOT_CDF_MIN_WAKES);
    fprintf(gp, "\n");
    rc = script_run(c, gp, &buf, &len);
 out_free:
    free(counts);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

int sim_plot(struct sim *sim, const struct sim_result *r,
             const struct sim_scenario *sc, const char *dir, char *err,
             size_t errlen)
{
    struct plot_ctx c = {
        .sim = sim, .r = r, .dir = dir, .label = base_name(sc->path),
        .err = err, .errlen = errlen,
    };
    struct plot_groups g;
    int rc = sim__mkdirs(dir);

    if ( rc )
    {
        snprintf(err, errlen, "%s", strerror(-rc));
        return rc;
    }
    c.series = sim__file_open(dir, "series.csv", err, errlen);
    if ( !c.series )
        return -errno;
    fprintf(c.series, "plot,series,name,domains\n");
    rc = groups_by_domain(r, sc, &g);
    if ( !rc )
        rc = plot_share(&c, &g);
    if ( !rc )
        rc = plot_wake(&c, &g);
    groups_free(&g);
    if ( !rc )
        rc = plot_cap(&c);
    if ( rc == -ENOMEM )
        snprintf(err, errlen, "out of memory");
    if ( rc )
        fclose(c.series);
    else
        rc = sim__file_close(c.series, "series.csv", err, errlen);
    return rc;
}
