/*
 * compare.c: xenos-sim compare, several policies over several scenarios
 * in one report (docs/simulator.md, "Comparing policies").
 *
 * Design: every scenario is loaded first (a bad file fails before minutes
 * of running), then each runs under each policy, one after the other, and
 * is reduced at once to its figures (struct cmp_fig) and the data of its
 * picture, so memory holds one run at a time.  Each figure comes from
 * sim_result and measure.c, as the tests and bench_compare judge, never
 * from a formula of this file's own.
 *
 * Who wins: for each scenario and measure, the best figure among the
 * policies that ran it without starving anyone, and every figure within
 * a tolerance of it (ties are real: two policies that both hold a cap
 * exactly both win).  A policy starves when some domain got under half
 * of what it was due over some whole second; it then wins nothing in
 * that scenario, however good its other figures: a starved domain's
 * neighbours look well served, so a score without this gate would
 * reward starving.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/text.h>

#include "private.h"
#include "plot_impl.h"

#define CMP_SPAN_WINDOWS    10          /* judged per 1 s, as the tests */
#define CMP_STARVED         0.5         /* least served below: starves */
/* A domain's p99 counts once it has this many wake-ups: a CPU-bound
 * domain's one wake at its start is no latency figure. */
#define CMP_MIN_WAKES       100
#define CMP_TIE_REL         0.01        /* within 1% of the best: a tie */
#define CMP_STEPS           100         /* progress granularity */
#define CMP_PNG_W           900
#define CMP_PNG_H           340
/* The pooled CDF's rows: one per 0.5% of the wake-ups at most. */
#define CMP_CDF_STEP        0.005

/* One scenario under one policy, reduced to what the report shows. */
struct cmp_fig {
    bool ran;
    char refused[200];                  /* why not, when !ran */
    double fair_err;                    /* worst 1 s span error */
    double least;                       /* least served over 1 s */
    int least_dom;
    bool has_wake;
    double wake_p99_us;                 /* worst p99 of a domain */
    bool has_cap;
    double cap_over;                    /* most over the cap in 100 ms */
    double work;                        /* used / entitled, all domains */
    bool starves;
    char starved[256];                  /* the domain it starves */
    double pooled_p99_us;               /* all domains' wake-ups: */
    double pooled_p999_us;              /* the picture's legend, axis */
};

/* ------------------------------------------------------------------ */
/* Measures                                                           */

struct cmp_measure {
    const char *key;                    /* results.csv */
    const char *name;                   /* the report */
    const char *unit;
    bool lower_better;
    double tie_abs;                     /* in the unit: closer is a tie */
    /* The figure in its unit; false when it does not apply. */
    bool (*get)(const struct cmp_fig *f, double *v);
};

static bool get_fair(const struct cmp_fig *f, double *v)
{
    *v = 100.0 * f->fair_err;
    return true;
}

static bool get_least(const struct cmp_fig *f, double *v)
{
    *v = 100.0 * f->least;
    return isfinite(f->least);
}

static bool get_wake(const struct cmp_fig *f, double *v)
{
    *v = f->wake_p99_us;
    return f->has_wake;
}

static bool get_cap(const struct cmp_fig *f, double *v)
{
    *v = 100.0 * f->cap_over;
    return f->has_cap;
}

static bool get_work(const struct cmp_fig *f, double *v)
{
    *v = 100.0 * f->work;
    return isfinite(f->work);
}

static const struct cmp_measure cmp_measures[] = {
    { "fair_error_pct", "worst error against the entitlement over 1 s",
      "%", true, 0.5, get_fair },
    { "least_served_pct", "least served domain over 1 s, of its due",
      "%", false, 0.5, get_least },
    { "wake_p99_us", "worst wake-up latency p99 of a domain", "us", true,
      1.0, get_wake },
    { "cap_over_pct", "most over its cap in a 100 ms window, of the cap",
      "%", true, 0.5, get_cap },
    { "work_pct", "CPU time used, of what all were due", "%", false, 0.2,
      get_work },
};
#define CMP_NR_MEASURES (sizeof(cmp_measures) / sizeof(cmp_measures[0]))

/* Whether @a is as good as @best (ties included). */
static bool cmp_ties(const struct cmp_measure *m, double a, double best)
{
    double tol = fmax(m->tie_abs, CMP_TIE_REL * fabs(best));

    return m->lower_better ? a <= best + tol : a >= best - tol;
}

/* ------------------------------------------------------------------ */
/* The report's state                                                 */

struct cmp_ctx {
    const struct sim_compare_opts *o;
    struct sim_scenario *sc;            /* [nr_scenarios] */
    unsigned int loaded;
    struct cmp_fig *fig;                /* [scenario * nr_policies + p] */
    uint64_t *counts;                   /* a histogram's buckets */
    unsigned int run;
    char *err;
    size_t errlen;
};

static struct cmp_fig *cmp_fig(struct cmp_ctx *c, unsigned int s,
                               unsigned int p)
{
    return &c->fig[(size_t)s * c->o->nr_policies + p];
}

static const char *cmp_base(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

/* "03-noisy-neighbour": the stem of a scenario's files, its number first
 * (two scenarios may share a file name), then its name, with anything
 * but letters, digits, '-' and '_' as '_' and ".yaml" dropped. */
static void cmp_stem(char *buf, size_t len, unsigned int s, const char *path)
{
    const char *b = cmp_base(path);
    size_t n = strlen(b), i, at;

    if ( n > 5 && !strcmp(b + n - 5, ".yaml") )
        n -= 5;
    at = (size_t)snprintf(buf, len, "%02u-", s + 1);
    for ( i = 0; i < n && at + 1 < len && i < 40; i++ )
    {
        char ch = b[i];

        buf[at++] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
                    ? ch : '_';
    }
    buf[at] = '\0';
}

/* ------------------------------------------------------------------ */
/* Running                                                            */

static void cmp_progress(struct cmp_ctx *c, unsigned int s, unsigned int p,
                         unsigned int ppm)
{
    const struct sim_compare_opts *o = c->o;

    if ( o->progress )
        o->progress(o->arg, c->run, o->nr_scenarios * o->nr_policies,
                    cmp_base(c->sc[s].path), o->policies[p]->opt_name, ppm);
}

/* The figures of a finished run, and the pooled wake-up counts of all
 * its domains into c->counts (for the picture). */
static void cmp_figures(struct cmp_ctx *c, struct sim *sim,
                        const struct sim_result *r, struct cmp_fig *f,
                        sch_time_t *max)
{
    unsigned int nb = sim_hist_nr_buckets(), d;
    struct sim_span_stats st;
    sch_time_t used = 0, due = 0;

    sim_span_stats(r, CMP_SPAN_WINDOWS, &st);
    f->fair_err = st.worst_error;
    f->least = st.least_served;
    f->least_dom = st.least_dom;
    f->starves = isfinite(st.least_served) && st.least_served < CMP_STARVED;
    if ( f->starves )
        snprintf(f->starved, sizeof(f->starved), "%s",
                 r->domains[st.least_dom].name);
    memset(c->counts, 0, nb * sizeof(*c->counts));
    for ( d = 0; d < r->nr_domains; d++ )
    {
        const struct sim_dom_result *dr = &r->domains[d];

        used += dr->cpu_ns;
        due += dr->entitled_ns;
        sim_wake_counts(sim, d, c->counts, max);
        if ( dr->wake_latency.count >= CMP_MIN_WAKES )
        {
            double p99 = (double)dr->wake_latency.p99 / 1e3;

            if ( !f->has_wake || p99 > f->wake_p99_us )
                f->wake_p99_us = p99;
            f->has_wake = true;
        }
        if ( dr->cap_pct )
        {
            double over = dr->cap_window_max_pct / dr->cap_pct - 1.0;

            if ( !f->has_cap || over > f->cap_over )
                f->cap_over = over;
            f->has_cap = true;
        }
    }
    if ( f->has_cap && f->cap_over < 0 )
        f->cap_over = 0;        /* under the cap everywhere: not over */
    f->work = due ? (double)used / (double)due : NAN;
}

/*
 * Run scenario @s under policy @p; its figures into c->fig, its lines
 * into the picture's data: @served (least served per span) and @wake
 * (the pooled CDF).  0, or -ENOMEM with c->err set.
 */
static int cmp_run(struct cmp_ctx *c, unsigned int s, unsigned int p,
                   FILE *served, FILE *wake)
{
    struct sim_scenario *sc = &c->sc[s];
    struct cmp_fig *f = cmp_fig(c, s, p);
    sch_time_t t = 0, step, max = 0, duration = sc->duration_ns;
    unsigned int nb = sim_hist_nr_buckets(), b, d, span;
    double last = INFINITY, end_s = 0;
    struct sim_result r;
    struct sim *sim;
    uint64_t n = 0;

    if ( c->o->max_duration_ns && duration > c->o->max_duration_ns )
        duration = c->o->max_duration_ns;
    cmp_progress(c, s, p, 0);
    f->refused[0] = '\0';
    sim = sim_alloc(sc, c->o->policies[p], f->refused, sizeof(f->refused));
    if ( !sim )
    {
        if ( !f->refused[0] )
        {
            snprintf(c->err, c->errlen, "out of memory");
            return -ENOMEM;
        }
        cmp_progress(c, s, p, 1000000);
        return 0;               /* the report says why */
    }
    step = duration / CMP_STEPS > 0 ? duration / CMP_STEPS : 1;
    while ( t < duration )
    {
        t = duration - t > step ? t + step : duration;
        sim_run_until(sim, t);
        cmp_progress(c, s, p, (unsigned int)(t * 1000000 / duration));
    }
    if ( sim_result(sim, &r) )
    {
        sim_free(sim);
        snprintf(c->err, c->errlen, "out of memory");
        return -ENOMEM;
    }
    f->ran = true;
    cmp_figures(c, sim, &r, f, &max);

    for ( span = 0; span < r.nr_windows / CMP_SPAN_WINDOWS; span++ )
    {
        double least = INFINITY, at_s = (double)(span * CMP_SPAN_WINDOWS) *
                                         (double)r.window_ns / 1e9;

        for ( d = 0; d < r.nr_domains; d++ )
        {
            double v, e;

            if ( sim_span_served(&r, CMP_SPAN_WINDOWS, d, span, &v, &e) &&
                 v < least )
                least = v;
        }
        if ( isfinite(least) )
        {
            fprintf(served, "%u,%.3f,%.6f\n", p + 1, at_s, 100.0 * least);
            last = least;
            end_s = at_s + CMP_SPAN_WINDOWS * (double)r.window_ns / 1e9;
        }
    }
    /* Steps are drawn from one row to the next: the last span's end,
     * repeating its figure, draws its step too. */
    if ( isfinite(last) )
        fprintf(served, "%u,%.3f,%.6f\n", p + 1, end_s, 100.0 * last);
    for ( b = 0; b < nb; b++ )
        n += c->counts[b];
    if ( n )
    {
        sim__cdf_rows(wake, p + 1, c->counts, n, max, CMP_CDF_STEP);
        f->pooled_p99_us = (double)sim__counts_quantile(c->counts, n, max,
                                                        0.99) / 1e3;
        f->pooled_p999_us = (double)sim__counts_quantile(c->counts, n, max,
                                                         0.999) / 1e3;
    }
    sim_free(sim);
    return 0;
}

/* The picture of scenario @s, from the two files cmp_scenario wrote. */
static int cmp_picture(struct cmp_ctx *c, unsigned int s, const char *stem)
{
    const struct sim_compare_opts *o = c->o;
    char *buf = NULL, png[80];
    double xmax = 0, xall = 0;
    size_t len = 0;
    unsigned int p, drawn = 0;
    FILE *gp = open_memstream(&buf, &len);
    int rc;

    if ( !gp )
        return -ENOMEM;
    /* The latency axis ends at the largest p99.9 of the policies that
     * starve no one: a starving policy's tail would flatten the others
     * against the axis, and its row of the table already fails it. */
    for ( p = 0; p < o->nr_policies; p++ )
    {
        const struct cmp_fig *f = cmp_fig(c, s, p);

        if ( !f->ran )
            continue;
        xall = fmax(xall, f->pooled_p999_us);
        if ( !f->starves )
            xmax = fmax(xmax, f->pooled_p999_us);
    }
    if ( xmax <= 0 )
        xmax = xall;
    snprintf(png, sizeof(png), "%s.png", stem);
    sim__gp_begin(gp, CMP_PNG_W, CMP_PNG_H, png);
    fprintf(gp, "set termoption font 'DejaVu Sans,9'\n"
            "set multiplot layout 1,2 title ");
    sim__gp_str(gp, cmp_base(c->sc[s].path));
    fprintf(gp, " . ': %u pCPU%s, %u domain%s'\n", c->sc[s].pcpus,
            c->sc[s].pcpus == 1 ? "" : "s", c->sc[s].nr_domains,
            c->sc[s].nr_domains == 1 ? "" : "s");
    fprintf(gp, "set key bottom right inside opaque box\n"
            "set title 'Least served domain per 1 s span (100: all got "
            "their due)'\nset xlabel 'simulated time (s)'\n"
            "set ylabel '%% of its entitlement'\nset yrange [0:*]\n"
            "set xrange [0:*]\n");
    for ( p = 0; p < o->nr_policies; p++ )
    {
        if ( !cmp_fig(c, s, p)->ran || !isfinite(cmp_fig(c, s, p)->least) )
            continue;
        fprintf(gp, "%s'%s-served.csv' skip 1 using 2:($1==%u?$3:NaN) "
                "with steps lt %u title '%s'", drawn++ ? ", " : "plot ",
                stem, p + 1, p % SIM_PLOT_MAX_SERIES + 1,
                o->policies[p]->opt_name);
    }
    fprintf(gp, "%s\n", drawn ? "" : "plot NaN notitle");
    fprintf(gp, "set title 'Wake-up latency CDF, all domains pooled'\n"
            "set xlabel 'wake-up latency (us)'\n"
            "set ylabel 'fraction of wake-ups at or below'\n"
            "set xrange [0:%.3f]\nset yrange [0:1.02]\n",
            xmax > 0 ? xmax * 1.1 : 1.0);
    drawn = 0;
    for ( p = 0; p < o->nr_policies; p++ )
    {
        const struct cmp_fig *f = cmp_fig(c, s, p);

        if ( !f->ran )
            continue;
        fprintf(gp, "%s'%s-wake.csv' skip 1 using 2:($1==%u?$4:NaN) "
                "with steps lt %u title '%s: p99 %.1f us%s'",
                drawn++ ? ", " : "plot ", stem, p + 1,
                p % SIM_PLOT_MAX_SERIES + 1, o->policies[p]->opt_name,
                f->pooled_p99_us, f->starves ? ", starves" : "");
    }
    fprintf(gp, "%s\nunset multiplot\n", drawn ? "" : "plot NaN notitle");
    if ( fclose(gp) || !buf )
    {
        free(buf);
        return -ENOMEM;
    }
    rc = sim__gnuplot(o->out_dir, buf, len, c->err, c->errlen);
    free(buf);
    return rc;
}

/* Scenario @s under every policy, and its picture. */
static int cmp_scenario(struct cmp_ctx *c, unsigned int s)
{
    char stem[64], name[96];
    FILE *served, *wake;
    unsigned int p;
    int rc = 0;

    cmp_stem(stem, sizeof(stem), s, c->sc[s].path);
    snprintf(name, sizeof(name), "%s-served.csv", stem);
    served = sim__file_open(c->o->out_dir, name, c->err, c->errlen);
    if ( !served )
        return -EIO;
    snprintf(name, sizeof(name), "%s-wake.csv", stem);
    wake = sim__file_open(c->o->out_dir, name, c->err, c->errlen);
    if ( !wake )
    {
        fclose(served);
        return -EIO;
    }
    fprintf(served, "policy,time_s,least_served_pct\n");
    fprintf(wake, "policy,latency_us,wakes_le,fraction\n");
    for ( p = 0; p < c->o->nr_policies && !rc; p++, c->run++ )
        rc = cmp_run(c, s, p, served, wake);
    if ( rc )
    {
        fclose(served);
        fclose(wake);
        return rc;
    }
    snprintf(name, sizeof(name), "%s-served.csv", stem);
    rc = sim__file_close(served, name, c->err, c->errlen);
    snprintf(name, sizeof(name), "%s-wake.csv", stem);
    if ( rc )
        fclose(wake);
    else
        rc = sim__file_close(wake, name, c->err, c->errlen);
    if ( !rc )
        rc = cmp_picture(c, s, stem);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Winners                                                            */

/* Whether policy @p wins measure @m in scenario @s; false for all when
 * the measure applies to none that may win. */
static bool cmp_wins(struct cmp_ctx *c, unsigned int s, unsigned int m,
                     unsigned int p)
{
    const struct cmp_measure *me = &cmp_measures[m];
    const struct cmp_fig *f = cmp_fig(c, s, p);
    double best = NAN, v;
    unsigned int q;

    for ( q = 0; q < c->o->nr_policies; q++ )
    {
        const struct cmp_fig *g = cmp_fig(c, s, q);

        if ( !g->ran || g->starves || !me->get(g, &v) )
            continue;
        if ( isnan(best) || (me->lower_better ? v < best : v > best) )
            best = v;
    }
    if ( isnan(best) || !f->ran || f->starves || !me->get(f, &v) )
        return false;
    return cmp_ties(me, v, best);
}

struct cmp_score {
    unsigned int wins, starves, refused;
};

static void cmp_scores(struct cmp_ctx *c, struct cmp_score *sc)
{
    unsigned int s, m, p;

    for ( p = 0; p < c->o->nr_policies; p++ )
    {
        memset(&sc[p], 0, sizeof(sc[p]));
        for ( s = 0; s < c->o->nr_scenarios; s++ )
        {
            const struct cmp_fig *f = cmp_fig(c, s, p);

            sc[p].refused += !f->ran;
            sc[p].starves += f->ran && f->starves;
            for ( m = 0; m < CMP_NR_MEASURES; m++ )
                sc[p].wins += cmp_wins(c, s, m, p);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Writing the report                                                 */

static int cmp_results_csv(struct cmp_ctx *c)
{
    const struct sim_compare_opts *o = c->o;
    unsigned int s, m, p;
    FILE *f = sim__file_open(o->out_dir, "results.csv", c->err, c->errlen);

    if ( !f )
        return -EIO;
    fprintf(f, "scenario,policy,measure,value,unit,wins,starves\n");
    for ( s = 0; s < o->nr_scenarios; s++ )
        for ( p = 0; p < o->nr_policies; p++ )
            for ( m = 0; m < CMP_NR_MEASURES; m++ )
            {
                const struct cmp_fig *g = cmp_fig(c, s, p);
                double v;

                txt_csv_str(f, cmp_base(c->sc[s].path), false);
                fprintf(f, ",%s,%s,", o->policies[p]->opt_name,
                        cmp_measures[m].key);
                if ( g->ran && cmp_measures[m].get(g, &v) )
                    fprintf(f, "%.3f", v);
                fprintf(f, ",%s,%d,", cmp_measures[m].unit,
                        cmp_wins(c, s, m, p));
                txt_csv_str(f, g->starves ? g->starved : "", false);
                fputc('\n', f);
            }
    return sim__file_close(f, "results.csv", c->err, c->errlen);
}

/* @s as HTML text: escaped for a terminal first (no control character,
 * no stray byte), then & < > " ' as entities. */
static void html_str(FILE *f, const char *s)
{
    size_t len = txt_escape_size(s);
    char *esc = malloc(len);
    const char *p;

    if ( !esc || txt_escape(esc, len, s, true) )
    {
        fputs("?", f);
        free(esc);
        return;
    }
    for ( p = esc; *p; p++ )
        switch ( *p )
        {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f);
        }
    free(esc);
}

static const char cmp_style[] =
    "body{font-family:sans-serif;max-width:1150px;margin:1em auto;"
    "color:#222}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}\n"
    "td.l,th.l{text-align:left}\n"
    "td.win{background:#c8ecc8;font-weight:bold}\n"
    "td.starve{background:#f6c6c6}\n"
    "td.na{color:#999}\n"
    "img{max-width:100%}\n";

/* Who wins where: a row per scenario, a column per measure, the
 * winners' names in each cell. */
static void cmp_html_grid(struct cmp_ctx *c, FILE *f)
{
    const struct sim_compare_opts *o = c->o;
    unsigned int s, m, p;
    char stem[64];

    fprintf(f, "<h2>Who wins where</h2>\n<table>\n<tr>"
            "<th class=\"l\">scenario</th>");
    for ( m = 0; m < CMP_NR_MEASURES; m++ )
        fprintf(f, "<th>%s</th>", cmp_measures[m].key);
    fprintf(f, "<th class=\"l\">starves a domain</th></tr>\n");
    for ( s = 0; s < o->nr_scenarios; s++ )
    {
        unsigned int any = 0;

        cmp_stem(stem, sizeof(stem), s, c->sc[s].path);
        fprintf(f, "<tr><td class=\"l\"><a href=\"#%s\">", stem);
        html_str(f, cmp_base(c->sc[s].path));
        fprintf(f, "</a></td>");
        for ( m = 0; m < CMP_NR_MEASURES; m++ )
        {
            unsigned int won = 0;

            fprintf(f, "<td class=\"l\">");
            for ( p = 0; p < o->nr_policies; p++ )
                if ( cmp_wins(c, s, m, p) )
                    fprintf(f, "%s%s", won++ ? ", " : "",
                            o->policies[p]->opt_name);
            fprintf(f, "%s</td>", won ? "" : "-");
        }
        fprintf(f, "<td class=\"l\">");
        for ( p = 0; p < o->nr_policies; p++ )
            if ( cmp_fig(c, s, p)->ran && cmp_fig(c, s, p)->starves )
                fprintf(f, "%s%s", any++ ? ", " : "",
                        o->policies[p]->opt_name);
        fprintf(f, "%s</td></tr>\n", any ? "" : "-");
    }
    fprintf(f, "</table>\n");
}

static void cmp_html_head(struct cmp_ctx *c, FILE *f,
                          const struct cmp_score *sc)
{
    const struct sim_compare_opts *o = c->o;
    unsigned int p, m;

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
            "<meta charset=\"utf-8\">\n<title>xenos-sim compare</title>\n"
            "<style>\n%s</style>\n</head>\n<body>\n", cmp_style);
    fprintf(f, "<h1>Scheduling policies compared</h1>\n<p>%u scenario%s "
            "under %u polic%s, each run ", o->nr_scenarios,
            o->nr_scenarios == 1 ? "" : "s", o->nr_policies,
            o->nr_policies == 1 ? "y" : "ies");
    if ( o->max_duration_ns )
        fprintf(f, "for its own duration or %.0f s of simulated time, "
                "whichever is less", (double)o->max_duration_ns / 1e9);
    else
        fprintf(f, "for its own duration");
    fprintf(f, ", by <code>xenos-sim compare</code>. Every figure is "
            "judged against what each domain was entitled to (weighted "
            "max-min fair shares under its demand, cap and affinity: "
            "docs/simulator.md). In each row the best policy is green, "
            "with any within 1%% of it (or the row's tolerance). A policy "
            "that gave some domain under %.0f%% of its due over a whole "
            "second <b>starves</b> it: red, and it wins nothing in that "
            "scenario.</p>\n", 100.0 * CMP_STARVED);
    fprintf(f, "<h2>Score</h2>\n<table>\n<tr><th class=\"l\">policy</th>"
            "<th>rows won</th><th>scenarios where it starves a domain</th>"
            "<th>scenarios it refused</th></tr>\n");
    for ( p = 0; p < o->nr_policies; p++ )
        fprintf(f, "<tr><td class=\"l\">%s</td><td>%u</td><td%s>%u</td>"
                "<td>%u</td></tr>\n", o->policies[p]->opt_name, sc[p].wins,
                sc[p].starves ? " class=\"starve\"" : "", sc[p].starves,
                sc[p].refused);
    fprintf(f, "</table>\n");
    cmp_html_grid(c, f);
    fprintf(f, "<p>The measures (per scenario):</p>\n<ul>\n");
    for ( m = 0; m < CMP_NR_MEASURES; m++ )
        fprintf(f, "<li><code>%s</code>: %s, in %s; %s is better.</li>\n",
                cmp_measures[m].key, cmp_measures[m].name,
                cmp_measures[m].unit,
                cmp_measures[m].lower_better ? "lower" : "higher");
    fprintf(f, "</ul>\n<p>The wake-up p99 counts domains with at least %u "
            "wake-ups; the cap row only scenarios with a capped domain. "
            "Every figure is also in <a href=\"results.csv\">results.csv"
            "</a>, each picture's data beside it.</p>\n", CMP_MIN_WAKES);
}

static void cmp_html_scenario(struct cmp_ctx *c, FILE *f, unsigned int s)
{
    const struct sim_compare_opts *o = c->o;
    const struct sim_scenario *sc = &c->sc[s];
    sch_time_t dur = sc->duration_ns;
    unsigned int p, m;
    char stem[64];

    if ( o->max_duration_ns && dur > o->max_duration_ns )
        dur = o->max_duration_ns;
    cmp_stem(stem, sizeof(stem), s, sc->path);
    fprintf(f, "<h2 id=\"%s\">", stem);
    html_str(f, cmp_base(sc->path));
    fprintf(f, "</h2>\n<p>%u pCPU%s, %u domain%s, %.1f s simulated.</p>\n"
            "<table>\n<tr><th class=\"l\">measure</th>", sc->pcpus,
            sc->pcpus == 1 ? "" : "s", sc->nr_domains,
            sc->nr_domains == 1 ? "" : "s", (double)dur / 1e9);
    for ( p = 0; p < o->nr_policies; p++ )
        fprintf(f, "<th>%s</th>", o->policies[p]->opt_name);
    fprintf(f, "</tr>\n");
    for ( m = 0; m < CMP_NR_MEASURES; m++ )
    {
        const struct cmp_measure *me = &cmp_measures[m];

        fprintf(f, "<tr><td class=\"l\">%s (%s)</td>", me->key, me->unit);
        for ( p = 0; p < o->nr_policies; p++ )
        {
            const struct cmp_fig *g = cmp_fig(c, s, p);
            double v;

            if ( !g->ran || !me->get(g, &v) )
                fprintf(f, "<td class=\"na\">-</td>");
            else
                fprintf(f, "<td%s>%.1f</td>",
                        cmp_wins(c, s, m, p) ? " class=\"win\""
                        : g->starves ? " class=\"starve\"" : "", v);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
    for ( p = 0; p < o->nr_policies; p++ )
    {
        const struct cmp_fig *g = cmp_fig(c, s, p);

        if ( !g->ran )
        {
            fprintf(f, "<p>%s refused it: ", o->policies[p]->opt_name);
            html_str(f, g->refused);
            fprintf(f, "</p>\n");
        }
        else if ( g->starves )
        {
            fprintf(f, "<p>%s starves <b>", o->policies[p]->opt_name);
            html_str(f, g->starved);
            fprintf(f, "</b>: %.1f%% of its due over a second.</p>\n",
                    100.0 * g->least);
        }
    }
    fprintf(f, "<p><img src=\"%s.png\" alt=\"least served domain per "
            "second and wake-up latency CDF of each policy\"></p>\n", stem);
}

static int cmp_html(struct cmp_ctx *c)
{
    const struct sim_compare_opts *o = c->o;
    struct cmp_score *sc = calloc(o->nr_policies, sizeof(*sc));
    unsigned int s;
    FILE *f;

    if ( !sc )
        return -ENOMEM;
    f = sim__file_open(o->out_dir, "index.html", c->err, c->errlen);
    if ( !f )
    {
        free(sc);
        return -EIO;
    }
    cmp_scores(c, sc);
    cmp_html_head(c, f, sc);
    for ( s = 0; s < o->nr_scenarios; s++ )
        cmp_html_scenario(c, f, s);
    fprintf(f, "</body>\n</html>\n");
    free(sc);
    return sim__file_close(f, "index.html", c->err, c->errlen);
}

int sim_compare(const struct sim_compare_opts *o, char *err, size_t errlen)
{
    struct cmp_ctx c = { .o = o, .err = err, .errlen = errlen };
    unsigned int s;
    int rc;

    c.sc = calloc(o->nr_scenarios ? o->nr_scenarios : 1, sizeof(*c.sc));
    c.fig = calloc((size_t)o->nr_scenarios * o->nr_policies + 1,
                   sizeof(*c.fig));
    c.counts = calloc(sim_hist_nr_buckets(), sizeof(*c.counts));
    if ( !c.sc || !c.fig || !c.counts )
    {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out_free;
    }
    for ( ; c.loaded < o->nr_scenarios; c.loaded++ )
        if ( sim_scenario_load(o->scenarios[c.loaded], &c.sc[c.loaded],
                               err, errlen) )
        {
            rc = -EINVAL;
            goto out_free;
        }
    rc = sim__mkdirs(o->out_dir);
    if ( rc )
    {
        snprintf(err, errlen, "%s", strerror(-rc));
        goto out_free;
    }
    for ( s = 0; s < o->nr_scenarios && !rc; s++ )
        rc = cmp_scenario(&c, s);
    if ( !rc )
        rc = cmp_results_csv(&c);
    if ( !rc )
        rc = cmp_html(&c);
    if ( rc == -ENOMEM )
        snprintf(err, errlen, "out of memory");
 out_free:
    for ( s = 0; s < c.loaded; s++ )
        sim_scenario_free(&c.sc[s]);
    free(c.counts);
    free(c.fig);
    free(c.sc);
    return rc;
}
