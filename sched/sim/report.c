/*
 * report.c: a run's results as a table for people, one JSON object for
 * programs, and CSV files for spreadsheets and plots.
 *
 * Design: every writer goes through struct rep_out, which keeps the first
 * write error, so a report is checked once at the end (after a flush)
 * instead of after every fprintf, and a full disk is an error rather than
 * a short file.  Numbers have fixed formats ("%.6f", integers in full) so
 * the same run gives the same bytes.
 *
 * Domain names are bytes from a scenario and may be anything: each format
 * quotes them its own way.  The table escapes control characters (a name
 * must not move the cursor or break a row); JSON escapes per RFC 8259 and
 * replaces bytes that are not UTF-8 with U+FFFD, so the output always
 * parses; CSV quotes per RFC 4180 and keeps the bytes exactly.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xenos/text.h>
#include <xenos/sim.h>

#include "private.h"

/* ------------------------------------------------------------------ */
/* Output with the first error kept                                   */

struct rep_out {
    FILE *f;
    int err;                    /* first failure, negative errno */
};

static void rep_fail(struct rep_out *o)
{
    if ( !o->err )
        o->err = errno ? -errno : -EIO;
}

static void __attribute__((format(printf, 2, 3)))
rep_printf(struct rep_out *o, const char *fmt, ...)
{
    va_list ap;

    if ( o->err )
        return;
    errno = 0;
    va_start(ap, fmt);
    if ( vfprintf(o->f, fmt, ap) < 0 )
        rep_fail(o);
    va_end(ap);
}

static void rep_write(struct rep_out *o, const char *s, size_t n)
{
    if ( o->err || !n )
        return;
    errno = 0;
    if ( fwrite(s, 1, n, o->f) != n )
        rep_fail(o);
}

static void rep_puts(struct rep_out *o, const char *s)
{
    rep_write(o, s, strlen(s));
}

/* Flush, and return the first error of the whole report. */
static int rep_finish(struct rep_out *o)
{
    errno = 0;
    if ( fflush(o->f) || ferror(o->f) )
        rep_fail(o);
    return o->err;
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                       */

/* @s as a JSON string, quotes included; NULL becomes null. */
static void rep_json_str(struct rep_out *o, const char *s)
{
    if ( o->err )
        return;
    errno = 0;
    txt_json_str(o->f, s);
    if ( ferror(o->f) )
        rep_fail(o);
}

/* A fraction or percentage: fixed decimals; JSON has no NaN or inf. */
static void rep_json_num(struct rep_out *o, double v)
{
    if ( isfinite(v) )
        rep_printf(o, "%.6f", v);
    else
        rep_puts(o, "null");
}

/* One CSV cell (txt_csv_str): quoted where RFC 4180 needs it, formulas
 * neutralised, bytes that are not UTF-8 as U+FFFD. */
static void rep_csv_str(struct rep_out *o, const char *s)
{
    if ( o->err )
        return;
    errno = 0;
    txt_csv_str(o->f, s, false);
    if ( ferror(o->f) )
        rep_fail(o);
}

/* Width on a terminal, taking each UTF-8 character as one column. */
static size_t rep_width(const char *s)
{
    size_t w = 0;

    for ( ; *s; s++ )
        if ( ((unsigned char)*s & 0xc0) != 0x80 )
            w++;
    return w;
}

/* @s escaped for one table cell (txt_escape); NULL when out of memory. */
static char *rep_cell(const char *s)
{
    size_t len = txt_escape_size(s ? s : "");
    char *buf = malloc(len);

    if ( buf )
        txt_escape(buf, len, s ? s : "", true);
    return buf;
}

static double rep_us(sch_time_t ns)
{
    return (double)ns / 1000.0;
}

/* ------------------------------------------------------------------ */
/* Table                                                              */

/*
 * A header line (policy, pCPUs, simulated time, events, seed, and the
 * idle-while-waiting time when it is not 0), a line of
 * column names, then one aligned row per domain: vcpus, weight, cap (- for
 * none), share and entitlement in % of the host, wake-up latency p50, p99
 * and max in us, response-time p99 in us (- unless a request workload),
 * the busiest 100 ms window in % of one pCPU, context switches.  Names are
 * escaped (txt_escape), so each domain is exactly one line.
 * Returns 0, -ENOMEM, or the first write error as a negative errno.
 */
int sim_report_table(FILE *f, const struct sim_result *r)
{
    struct rep_out o = { .f = f };
    char **names;
    size_t w = strlen("domain"), i;
    int rc = 0;

    names = calloc(r->nr_domains ? r->nr_domains : 1, sizeof(*names));
    if ( !names )
        return -ENOMEM;
    for ( i = 0; i < r->nr_domains; i++ )
    {
        size_t dw;

        names[i] = rep_cell(r->domains[i].name);
        if ( !names[i] )
        {
            rc = -ENOMEM;
            goto out_free;
        }
        dw = rep_width(names[i]);
        if ( dw > w )
            w = dw;
    }

    rep_printf(&o, "policy %s, %u pCPU%s, %.3f s simulated, %" PRIu64
               " events, seed %" PRIu64, r->policy ? r->policy : "?",
               r->pcpus, r->pcpus == 1 ? "" : "s", (double)r->sim_ns / 1e9,
               r->events, r->seed);
    /* Only measured when the scenario asks (idle_audit_us). */
    if ( r->idle_while_waiting_ns )
        rep_printf(&o, ", idle while waiting %.3f ms",
                   (double)r->idle_while_waiting_ns / 1e6);
    rep_puts(&o, "\n");
    rep_printf(&o, "%-*s %5s %6s %5s %7s %9s %11s %11s %11s %11s %8s %9s\n",
               (int)w, "domain", "vcpus", "weight", "cap%", "share%",
               "entitled%", "wake_p50_us", "wake_p99_us", "wake_max_us",
               "resp_p99_us", "win_max%", "switches");
    for ( i = 0; i < r->nr_domains; i++ )
    {
        const struct sim_dom_result *d = &r->domains[i];
        char cap[16], resp[32];

        if ( d->cap_pct )
            snprintf(cap, sizeof(cap), "%u", d->cap_pct);
        else
            snprintf(cap, sizeof(cap), "-");
        if ( d->response.count )
            snprintf(resp, sizeof(resp), "%.1f", rep_us(d->response.p99));
        else
            snprintf(resp, sizeof(resp), "-");

        rep_puts(&o, names[i]);
        /* Pad by hand: printf's width counts bytes, not characters. */
        rep_printf(&o, "%*s", (int)(w - rep_width(names[i])), "");
        rep_printf(&o, " %5u %6u %5s %7.2f %9.2f %11.1f %11.1f %11.1f "
                   "%11s %8.1f %9" PRIu64 "\n",
                   d->vcpus, d->weight, cap, 100.0 * d->share,
                   100.0 * d->entitled_share, rep_us(d->wake_latency.p50),
                   rep_us(d->wake_latency.p99), rep_us(d->wake_latency.max),
                   resp, d->cap_window_max_pct, d->context_switches);
    }
    rc = rep_finish(&o);
 out_free:
    for ( i = 0; i < r->nr_domains; i++ )
        free(names[i]);
    free(names);
    return rc;
}

/* ------------------------------------------------------------------ */
/* JSON                                                               */

static void rep_json_pct(struct rep_out *o, const char *key,
                         const struct sim_percentiles *p)
{
    rep_printf(o, ",\"%s\":{\"p50\":%" PRId64 ",\"p99\":%" PRId64
               ",\"p999\":%" PRId64 ",\"max\":%" PRId64 ",\"count\":%"
               PRIu64 "}", key, p->p50, p->p99, p->p999, p->max, p->count);
}

static void rep_json_spread(struct rep_out *o, const char *key,
                            const struct sim_spread *p)
{
    rep_printf(o, ",\"%s\":{\"count\":%" PRIu64 ",\"mean\":%" PRId64
               ",\"p50\":%" PRId64 ",\"p90\":%" PRId64 ",\"max\":%" PRId64
               "}", key, p->count, p->mean, p->p50, p->p90, p->max);
}

/*
 * One JSON object on one line: policy, seed, pcpus, events, sim_ns,
 * idle_while_waiting_ns (0 unless the scenario set idle_audit_us),
 * window_ns and domains[], each with name, vcpus, weight, cap_pct, cpu_ns,
 * share, entitled_share, wake_latency_ns {p50, p99, p999, max, count},
 * response_time_ns (same keys, only when it counted any), cap_window_max_pct
 * and context_switches, and bursts_ns and sleeps_ns {count, mean, p50,
 * p90, max} (trace workloads that blocked).  Times are integer ns; fractions "%.6f"; a value
 * that is not finite is null.  Returns 0 or the first write error.
 */
int sim_report_json(FILE *f, const struct sim_result *r)
{
    struct rep_out o = { .f = f };
    unsigned int i;

    rep_puts(&o, "{\"policy\":");
    rep_json_str(&o, r->policy);
    rep_printf(&o, ",\"seed\":%" PRIu64 ",\"pcpus\":%u,\"events\":%" PRIu64
               ",\"sim_ns\":%" PRId64 ",\"idle_while_waiting_ns\":%" PRId64
               ",\"window_ns\":%" PRId64 ",\"domains\":[", r->seed,
               r->pcpus, r->events, r->sim_ns, r->idle_while_waiting_ns,
               r->window_ns);
    for ( i = 0; i < r->nr_domains; i++ )
    {
        const struct sim_dom_result *d = &r->domains[i];

        rep_puts(&o, i ? ",{\"name\":" : "{\"name\":");
        rep_json_str(&o, d->name);
        rep_printf(&o, ",\"vcpus\":%u,\"weight\":%u,\"cap_pct\":%u"
                   ",\"cpu_ns\":%" PRId64 ",\"share\":", d->vcpus,
                   d->weight, d->cap_pct, d->cpu_ns);
        rep_json_num(&o, d->share);
        rep_puts(&o, ",\"entitled_share\":");
        rep_json_num(&o, d->entitled_share);
        rep_json_pct(&o, "wake_latency_ns", &d->wake_latency);
        if ( d->response.count )
            rep_json_pct(&o, "response_time_ns", &d->response);
        rep_puts(&o, ",\"cap_window_max_pct\":");
        rep_json_num(&o, d->cap_window_max_pct);
        rep_puts(&o, ",\"vcpu_spread\":");
        rep_json_num(&o, d->vcpu_spread);
        rep_printf(&o, ",\"context_switches\":%" PRIu64,
                   d->context_switches);
        if ( d->bursts.count || d->sleeps.count )
        {
            rep_json_spread(&o, "bursts_ns", &d->bursts);
            rep_json_spread(&o, "sleeps_ns", &d->sleeps);
        }
        rep_puts(&o, "}");
    }
    rep_puts(&o, "]}\n");
    return rep_finish(&o);
}

/* ------------------------------------------------------------------ */
/* CSV                                                                */

/* mkdir -p: every missing directory on the way to @dir (private.h). */
int sim__mkdirs(const char *dir)
{
    char *p, *s;
    int rc = 0;

    if ( !*dir )
        return -ENOENT;     /* as mkdir("") would say */
    p = strdup(dir);
    if ( !p )
        return -ENOMEM;
    for ( s = p + 1; *s && !rc; s++ )
    {
        if ( *s != '/' )
            continue;
        *s = '\0';
        if ( mkdir(p, 0777) && errno != EEXIST )
            rc = -errno;
        *s = '/';
    }
    if ( !rc && mkdir(p, 0777) && errno != EEXIST )
        rc = -errno;
    free(p);
    return rc;
}

typedef void (*rep_csv_cb)(struct rep_out *o, const struct sim_result *r);

static void rep_domains_csv(struct rep_out *o, const struct sim_result *r)
{
    unsigned int i;

    rep_puts(o, "domain,vcpus,weight,cap_pct,cpu_ns,share,entitled_share,"
             "wake_p50_ns,wake_p99_ns,wake_p999_ns,wake_max_ns,wake_count,"
             "response_p50_ns,response_p99_ns,response_p999_ns,"
             "response_max_ns,response_count,cap_window_max_pct,"
             "context_switches\n");
    for ( i = 0; i < r->nr_domains; i++ )
    {
        const struct sim_dom_result *d = &r->domains[i];
        const struct sim_percentiles *w = &d->wake_latency, *q = &d->response;

        rep_csv_str(o, d->name);
        rep_printf(o, ",%u,%u,%u,%" PRId64 ",%.6f,%.6f"
                   ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                   ",%" PRIu64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                   ",%" PRId64 ",%" PRIu64 ",%.6f,%" PRIu64 "\n",
                   d->vcpus, d->weight, d->cap_pct, d->cpu_ns, d->share,
                   d->entitled_share, w->p50, w->p99, w->p999, w->max,
                   w->count, q->p50, q->p99, q->p999, q->max, q->count,
                   d->cap_window_max_pct, d->context_switches);
    }
}

static void rep_windows_csv(struct rep_out *o, const struct sim_result *r)
{
    unsigned int w, d;

    rep_puts(o, "window_start_ns,domain,cpu_ns,entitled_ns\n");
    for ( w = 0; w < r->nr_windows; w++ )
        for ( d = 0; d < r->nr_domains; d++ )
        {
            size_t at = (size_t)d * r->nr_windows + w;

            rep_printf(o, "%" PRId64 ",", (sch_time_t)w * r->window_ns);
            rep_csv_str(o, r->domains[d].name);
            /* A result put together by hand may have no entitlement. */
            rep_printf(o, ",%" PRId64 ",%" PRId64 "\n", r->window_cpu_ns[at],
                       r->window_entitled_ns ? r->window_entitled_ns[at]
                                             : 0);
        }
}

static int rep_csv_file(const char *dir, const char *name, rep_csv_cb fn,
                        const struct sim_result *r)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    struct rep_out o = { 0 };
    char *path = malloc(len);
    int rc;

    if ( !path )
        return -ENOMEM;
    snprintf(path, len, "%s/%s", dir, name);
    o.f = fopen(path, "w");
    free(path);
    if ( !o.f )
        return -errno;
    fn(&o, r);
    rc = rep_finish(&o);
    /* fclose reports what the last write-back found (NFS, quota). */
    if ( fclose(o.f) && !rc )
        rc = -errno;
    return rc;
}

/*
 * @dir (made, with its parents, if missing) gets domains.csv, one row per
 * domain with the JSON's fields flattened (wake_p50_ns, ..., response_count),
 * and windows.csv, rows of window_start_ns,domain,cpu_ns,entitled_ns for
 * every window and domain.  Both start with a header row; lines end in LF;
 * names are quoted per RFC 4180 when they need it and otherwise
 * byte-exact.  Existing files are replaced.  Returns 0 or a negative errno
 * (from mkdir, fopen, a write, or fclose); a file may be left incomplete
 * on error.
 */
int sim_report_csv(const char *dir, const struct sim_result *r)
{
    int rc = sim__mkdirs(dir);

    if ( !rc )
        rc = rep_csv_file(dir, "domains.csv", rep_domains_csv, r);
    if ( !rc )
        rc = rep_csv_file(dir, "windows.csv", rep_windows_csv, r);
    return rc;
}
