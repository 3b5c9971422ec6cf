/*
 * rrd_graph.c: the panels of `xenosctl graph` (exp_rrd.h): which series
 * each draws from an RRD file and in which unit, as numbers (rrd_xport)
 * and as a PNG (rrd_graph_v).  Reading only, as rrd_find.c.
 *
 * Design: one table (rrdx_panels) says, for each panel, its series: the
 * data source each reads and the RPN that turns it into what is shown.
 * The numbers and the drawing both take their DEF and CDEF arguments
 * from it through one function (rrdx_defs), so what exp_rrd_xport reads
 * back (and the tests check) is what the PNG shows.  A PNG is made in
 * two passes: the numbers first, to choose the binary unit that suits
 * the largest value and to know whether any cap was in force; then the
 * graph, each series divided into that unit.  Every panel has a linear
 * axis from 0 in its own unit, so a series at 0 is a line on the axis
 * and its legend (last, average, maximum) still reads 0.
 *
 * librrd takes its arguments as argv (a ':' or '\' in the file name
 * escaped); they are built in one txt_buf (struct rrdx_args).
 *
 * Locking: none; librrd's error text is per thread.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>

#include <xenos/exp_rrd.h>
#include <xenos/text.h>

#include "rrd_impl.h"

#define RRDX_SERIES_MAX         3       /* of a panel */
#define RRDX_ARGS_MAX           64      /* librrd arguments of a call */
#define RRDX_FILL_ALPHA         "33"    /* of the area under a line */
#define RRDX_HEADROOM           1.1     /* top: largest value x this */
#define RRDX_FOOTROOM           0.03    /* below 0: the top x this */

struct rrdx_series {
    const char *name;                   /* vname; exp_rrd_xport's name */
    const char *ds;                     /* read as DEF d_<ds> */
    const char *rpn;                    /* CDEF: d_<ds> in the panel's
                                         * unit */
    const char *color;                  /* NULL: in the legend only */
    const char *legend;
    bool fill;                          /* an area under the line */
    bool dashed;
    const char *none;                   /* no value in the whole range:
                                         * this in the legend, no line */
};

struct rrdx_panel {
    const char *title;                  /* after the view's title */
    const char *unit;                   /* "%"; "B" or "B/s": binary
                                         * prefixes */
    struct rrdx_series s[RRDX_SERIES_MAX];  /* up to name NULL */
};

const char *const exp_rrd_panel_names[EXP_RRD_NR_PANELS] = {
    [EXP_RRD_PANEL_CPU] = "cpu",
    [EXP_RRD_PANEL_MEM] = "memory",
    [EXP_RRD_PANEL_DISK] = "disk",
    [EXP_RRD_PANEL_NET] = "network",
};

/* The cap's CDEF hides a cap of 0 ("none"): no line, rather than one on
 * the axis that would read as "capped at nothing". */
static const struct rrdx_panel rrdx_panels[EXP_RRD_NR_PANELS] = {
    [EXP_RRD_PANEL_CPU] = { "CPU, % of one pCPU", "%", {
        { .name = "used", .ds = "cpu", .rpn = "d_cpu,100,*",
          .color = "#1f77b4", .legend = "CPU used", .fill = true },
        { .name = "cap", .ds = RRDX_DS_CAP,
          .rpn = "d_cap,0,GT,d_cap,UNKN,IF", .color = "#d62728",
          .legend = "cap in force", .dashed = true,
          .none = "no cap in force" },
        { .name = "weight", .ds = RRDX_DS_WEIGHT, .rpn = "d_weight",
          .legend = "weight" },
    } },
    [EXP_RRD_PANEL_MEM] = { "memory", "B", {
        { .name = "memory", .ds = "mem", .rpn = "d_mem",
          .color = "#9467bd", .legend = "memory held", .fill = true },
    } },
    [EXP_RRD_PANEL_DISK] = { "disk, all VBDs", "B/s", {
        { .name = "read", .ds = "disk_rd", .rpn = "d_disk_rd",
          .color = "#2ca02c", .legend = "read" },
        { .name = "written", .ds = "disk_wr", .rpn = "d_disk_wr",
          .color = "#ff7f0e", .legend = "written" },
    } },
    [EXP_RRD_PANEL_NET] = { "network, all VIFs", "B/s", {
        { .name = "received", .ds = "net_rx", .rpn = "d_net_rx",
          .color = "#1f77b4", .legend = "received" },
        { .name = "sent", .ds = "net_tx", .rpn = "d_net_tx",
          .color = "#ff7f0e", .legend = "sent" },
    } },
};

/* ------------------------------------------------------------------ */
/* librrd's argv                                                       */

struct rrdx_args {
    struct txt_buf b;                   /* each argument NUL-terminated */
    size_t off[RRDX_ARGS_MAX];
    int n;
    bool full;                          /* more than RRDX_ARGS_MAX */
    char *argv[RRDX_ARGS_MAX + 1];
};

static void __attribute__((format(printf, 2, 3)))
rrdx_arg(struct rrdx_args *a, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if ( len < 0 || a->n == RRDX_ARGS_MAX )
    {
        a->full = true;
        return;
    }
    p = txt_reserve(&a->b, (size_t)len + 1);
    if ( !p )
        return;                         /* a->b.oom says it */
    va_start(ap, fmt);
    vsnprintf(p, (size_t)len + 1, fmt, ap);
    va_end(ap);
    a->off[a->n++] = a->b.len;
    a->b.len += (size_t)len + 1;
}

/* The arguments as librrd's argv (valid until the next rrdx_arg), or
 * NULL when they did not fit in memory or in RRDX_ARGS_MAX. */
static char **rrdx_argv(struct rrdx_args *a)
{
    int i;

    if ( a->b.oom || a->full )
        return NULL;
    for ( i = 0; i < a->n; i++ )
        a->argv[i] = a->b.p + a->off[i];
    a->argv[a->n] = NULL;
    return a->argv;
}

/* ------------------------------------------------------------------ */
/* What a panel reads                                                  */

/* A panel of one file: its series, which of them the file has, and the
 * file's name escaped for DEF. */
struct rrdx_prep {
    const struct rrdx_panel *p;
    bool has[RRDX_SERIES_MAX];
    char efile[2 * PATH_MAX];
};

static unsigned int rrdx_nr_series(const struct rrdx_panel *p)
{
    unsigned int n = 0;

    while ( n < RRDX_SERIES_MAX && p->s[n].name )
        n++;
    return n;
}

static int rrdx_prepare(struct rrdx_prep *pp, const char *file,
                        enum exp_rrd_panel panel, char *err, size_t errlen)
{
    const char *ds[RRDX_SERIES_MAX];
    unsigned int i, n;
    size_t j;

    if ( (unsigned int)panel >= EXP_RRD_NR_PANELS )
    {
        snprintf(err, errlen, "no panel %d", (int)panel);
        return -EINVAL;
    }
    pp->p = &rrdx_panels[panel];
    n = rrdx_nr_series(pp->p);
    for ( i = 0; i < n; i++ )
        ds[i] = pp->p->s[i].ds;
    if ( rrdx__has_ds(file, ds, n, pp->has) )
    {
        snprintf(err, errlen, "%s: not an RRD librrd can read", file);
        return -EIO;
    }
    for ( i = j = 0; file[i]; i++ )
    {
        if ( j + 3 > sizeof(pp->efile) )
        {
            snprintf(err, errlen, "%s: path too long", file);
            return -ENAMETOOLONG;
        }
        if ( file[i] == ':' || file[i] == '\\' )
            pp->efile[j++] = '\\';
        pp->efile[j++] = file[i];
    }
    pp->efile[j] = '\0';
    return 0;
}

/* The range of @v and rrdcached, as rrd_xport and rrd_graph take them. */
static void rrdx_range(struct rrdx_args *a, const struct exp_rrd_view *v)
{
    rrdx_arg(a, "--end");
    if ( v->end_s )
        rrdx_arg(a, "%" PRIu64, v->end_s);
    else
        rrdx_arg(a, "now");
    rrdx_arg(a, "--start");
    rrdx_arg(a, "end-%" PRIu64 "s", v->since_s);
    if ( v->rrdcached )
    {
        rrdx_arg(a, "--daemon");
        rrdx_arg(a, "%s", v->rrdcached);
    }
}

/* DEF and CDEF of each series of the panel that the file has. */
static void rrdx_defs(struct rrdx_args *a, const struct rrdx_prep *pp)
{
    unsigned int i, n = rrdx_nr_series(pp->p);

    for ( i = 0; i < n; i++ )
    {
        const struct rrdx_series *s = &pp->p->s[i];

        if ( !pp->has[i] )
            continue;
        rrdx_arg(a, "DEF:d_%s=%s:%s:AVERAGE", s->ds, pp->efile, s->ds);
        rrdx_arg(a, "CDEF:%s=%s", s->name, s->rpn);
    }
}

/* librrd's error after a failed call, into @err. */
static int rrdx_failed(const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "rrd %s: %s", what, rrd_get_error());
    rrd_clear_error();
    return -EIO;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */

/* exp_rrd_xport of a prepared panel. */
static int rrdx_xport(const struct rrdx_prep *pp,
                      const struct exp_rrd_view *view,
                      struct exp_rrd_xport *x, char *err, size_t errlen)
{
    struct rrdx_args a = { .n = 0 };
    unsigned int i, n = rrdx_nr_series(pp->p);
    time_t start, end;
    char **argv;
    int rc = -ENOMEM, xsize;

    memset(x, 0, sizeof(*x));
    txt_buf_init(&a.b);
    rrdx_arg(&a, "xport");
    rrdx_range(&a, view);
    rrdx_defs(&a, pp);
    for ( i = 0; i < n; i++ )
        if ( pp->has[i] )
            rrdx_arg(&a, "XPORT:%s:%s", pp->p->s[i].name, pp->p->s[i].name);
    argv = rrdx_argv(&a);
    if ( argv )
    {
        optind = 0;                     /* librrd parses with getopt */
        rrd_clear_error();
        rc = rrd_xport(a.n, argv, &xsize, &start, &end, &x->step_s,
                       &x->cols, &x->names, &x->v)
             ? rrdx_failed("xport", err, errlen) : 0;
    }
    txt_buf_free(&a.b);
    if ( rc )
        return rc;
    x->start_s = (uint64_t)start;
    x->rows = x->step_s ? (unsigned long)(end - start) / x->step_s : 0;
    return 0;
}

int exp_rrd_xport(const char *file, enum exp_rrd_panel panel,
                  const struct exp_rrd_view *view, struct exp_rrd_xport *x,
                  char *err, size_t errlen)
{
    struct rrdx_prep pp;
    int rc = rrdx_prepare(&pp, file, panel, err, errlen);

    memset(x, 0, sizeof(*x));
    return rc ? rc : rrdx_xport(&pp, view, x, err, errlen);
}

void exp_rrd_xport_free(struct exp_rrd_xport *x)
{
    unsigned long i;

    for ( i = 0; x->names && i < x->cols; i++ )
        free(x->names[i]);
    free(x->names);
    free(x->v);
    memset(x, 0, sizeof(*x));
}

int exp_rrd_xport_col(const struct exp_rrd_xport *x, const char *name)
{
    unsigned long c;

    for ( c = 0; c < x->cols; c++ )
        if ( !strcmp(x->names[c], name) )
            return (int)c;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Drawing                                                             */

/* The largest known value of the drawn series of @x, 0 if none. */
static double rrdx_max(const struct exp_rrd_xport *x,
                       const struct rrdx_panel *p)
{
    unsigned int i, n = rrdx_nr_series(p);
    double max = 0;

    for ( i = 0; i < n; i++ )
    {
        int c = p->s[i].color ? exp_rrd_xport_col(x, p->s[i].name) : -1;
        unsigned long r;

        for ( r = 0; c >= 0 && r < x->rows; r++ )
        {
            double v = x->v[r * x->cols + (unsigned long)c];

            if ( !isnan(v) && v > max )
                max = v;
        }
    }
    return max;
}

/* The last known value of series @name in @x, NAN if none. */
static double rrdx_last(const struct exp_rrd_xport *x, const char *name)
{
    int c = exp_rrd_xport_col(x, name);
    unsigned long r;

    for ( r = x->rows; c >= 0 && r-- > 0; )
        if ( !isnan(x->v[r * x->cols + (unsigned long)c]) )
            return x->v[r * x->cols + (unsigned long)c];
    return NAN;
}

/* "10 min", "1 h", "2 d", "90 s": the range in a title. */
static void rrdx_span(char *buf, size_t len, uint64_t s)
{
    static const struct {
        uint64_t s;
        const char *unit;
    } units[] = { { 7 * 86400, "w" }, { 86400, "d" }, { 3600, "h" },
                  { 60, "min" } };
    unsigned int i;

    for ( i = 0; i < sizeof(units) / sizeof(units[0]); i++ )
        if ( s >= units[i].s && s % units[i].s == 0 )
        {
            snprintf(buf, len, "%" PRIu64 " %s", s / units[i].s,
                     units[i].unit);
            return;
        }
    snprintf(buf, len, "%" PRIu64 " s", s);
}

/*
 * The unit of @p for values up to @max: the divisor into *@div and its
 * name into @unit ("%%" for the legend's printf), so that @max reads
 * below 1024 of it.
 */
static void rrdx_unit(const struct rrdx_panel *p, double max, double *div,
                      char *unit, size_t len)
{
    static const char *const prefix[] = { "", "Ki", "Mi", "Gi", "Ti" };
    unsigned int k = 0;

    *div = 1;
    if ( !strcmp(p->unit, "%") )
    {
        snprintf(unit, len, "%%%%");
        return;
    }
    while ( max / *div >= 1024 && k + 1 < sizeof(prefix) / sizeof(*prefix) )
    {
        *div *= 1024;
        k++;
    }
    snprintf(unit, len, "%s%s", prefix[k], p->unit);
}

/* Line, area and legend of series @s, shown as vname @v in @unit. */
static void rrdx_draw(struct rrdx_args *a, const struct rrdx_series *s,
                      const char *v, const char *unit)
{
    if ( s->fill )
        rrdx_arg(a, "AREA:%s%s" RRDX_FILL_ALPHA, v, s->color);
    rrdx_arg(a, "LINE2:%s%s:%-13s%s", v, s->color, s->legend,
             s->dashed ? ":dashes" : "");
    rrdx_arg(a, "GPRINT:%s:LAST:last %%8.2lf %s", v, unit);
    rrdx_arg(a, "GPRINT:%s:AVERAGE:avg %%8.2lf %s", v, unit);
    rrdx_arg(a, "GPRINT:%s:MAX:max %%8.2lf %s\\n", v, unit);
}

/* The title, printable: it may carry a name from the index. */
static void rrdx_title(struct rrdx_args *a, const struct exp_rrd_view *v,
                       const struct rrdx_panel *p)
{
    char t[512], span[32];
    size_t i;

    snprintf(t, sizeof(t), "%s", v->title ? v->title : "");
    for ( i = 0; t[i]; i++ )
        if ( (unsigned char)t[i] < 32 )
            t[i] = '?';
    rrdx_span(span, sizeof(span), v->since_s);
    rrdx_arg(a, "--title");
    rrdx_arg(a, "%s%s%s, last %s", t, t[0] ? ": " : "", p->title, span);
}

int exp_rrd_graph(const char *file, enum exp_rrd_panel panel,
                  const struct exp_rrd_view *view, const char *png_out,
                  char *err, size_t errlen)
{
    struct exp_rrd_xport x;
    struct rrdx_prep pp;
    struct rrdx_args a = { .n = 0 };
    char unit[16], **argv;
    unsigned int i, n;
    rrd_info_t *info;
    double max, div, top;
    int rc;

    rc = rrdx_prepare(&pp, file, panel, err, errlen);
    if ( !rc )
        rc = rrdx_xport(&pp, view, &x, err, errlen);
    if ( rc )
        return rc;
    max = rrdx_max(&x, pp.p);
    rrdx_unit(pp.p, max, &div, unit, sizeof(unit));
    top = max > 0 ? max / div * RRDX_HEADROOM : 1;
    txt_buf_init(&a.b);
    rrdx_arg(&a, "graph");
    rrdx_arg(&a, "%s", png_out);
    rrdx_arg(&a, "--imgformat");
    rrdx_arg(&a, "PNG");
    rrdx_range(&a, view);
    rrdx_arg(&a, "--width");
    rrdx_arg(&a, "%u", view->width ? view->width : EXP_RRD_GRAPH_WIDTH);
    rrdx_arg(&a, "--height");
    rrdx_arg(&a, "%u", view->height ? view->height : EXP_RRD_GRAPH_HEIGHT);
    rrdx_title(&a, view, pp.p);
    rrdx_arg(&a, "--vertical-label");
    rrdx_arg(&a, "%s", strcmp(pp.p->unit, "%") ? unit : "% of one pCPU");
    /* Linear, in our unit (no SI prefix of rrdtool's own), fixed: 0 a
     * little above the bottom, so that a line at 0 is not hidden by the
     * axis, and the top a little above the largest value (the cap) so
     * that no line runs along the frame. */
    rrdx_arg(&a, "--lower-limit");
    rrdx_arg(&a, "%g", -top * RRDX_FOOTROOM);
    rrdx_arg(&a, "--upper-limit");
    rrdx_arg(&a, "%g", top);
    rrdx_arg(&a, "--rigid");
    rrdx_arg(&a, "--units-exponent");
    rrdx_arg(&a, "0");
    rrdx_defs(&a, &pp);
    n = rrdx_nr_series(pp.p);
    for ( i = 0; i < n; i++ )
    {
        const struct rrdx_series *s = &pp.p->s[i];
        double last = pp.has[i] ? rrdx_last(&x, s->name) : NAN;
        char v[64];

        if ( !s->color )
        {
            /* the weight: a figure in the legend, not a line */
            if ( !isnan(last) )
                rrdx_arg(&a, "COMMENT:%s %.0f\\n", s->legend, last);
            continue;
        }
        if ( !pp.has[i] )
        {
            rrdx_arg(&a, "COMMENT:%s\\: not recorded (an RRD of an older "
                     "xenos)\\n", s->legend);
            continue;
        }
        if ( s->none && isnan(last) )
        {
            rrdx_arg(&a, "COMMENT:%s\\n", s->none);
            continue;
        }
        snprintf(v, sizeof(v), "%s", s->name);
        if ( div > 1 )
        {
            snprintf(v, sizeof(v), "%s_u", s->name);
            rrdx_arg(&a, "CDEF:%s=%s,%.0f,/", v, s->name, div);
        }
        rrdx_draw(&a, s, v, unit);
    }
    argv = rrdx_argv(&a);
    rc = -ENOMEM;
    if ( argv )
    {
        optind = 0;                     /* librrd parses with getopt */
        rrd_clear_error();
        info = rrd_graph_v(a.n, argv);
        rc = !info || rrd_test_error() ? rrdx_failed("graph", err, errlen)
                                       : 0;
        if ( info )
            rrd_info_free(info);
    }
    txt_buf_free(&a.b);
    exp_rrd_xport_free(&x);
    return rc;
}
