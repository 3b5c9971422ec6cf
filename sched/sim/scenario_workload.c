/*
 * scenario_workload.c: a scenario domain's workload, from its YAML keys to
 * struct sim_workload, and the trace file a trace workload replays.  The
 * keys and their ranges are listed at the top of scenario.c, which reads
 * the rest of the scenario and calls scn__workload() for each domain.
 *
 * Design: the schema lets every workload key but type through as an
 * optional string; which of them a type needs, and which it must not be
 * given, is checked here from one table (scn_wl_keys), so a key of
 * another type is an error, not ignored.  Values are parsed and reported
 * as every value of a scenario is (scenario_impl.h).  A trace file is
 * read whole at load time, bounded like every input, so running a
 * scenario never reads a file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xenos/cfg.h>
#include <xenos/num.h>
#include <xenos/sim.h>

#include "scenario_impl.h"

#define SCN_BURST_US_MAX        3600000000ll    /* an hour */
#define SCN_PHASE_MS_MAX        3600000         /* an hour */
#define SCN_RATE_HZ_MAX         1000000
#define SCN_TRACE_LINE_MAX      1024            /* "run_us,block_us" */
#define SCN_TRACE_MAX_BYTES     (64u << 20)

static const char *const scn_wl_names[] = {
    [SIM_WL_CPU] = "cpu",
    [SIM_WL_IO] = "io",
    [SIM_WL_BURSTY] = "bursty",
    [SIM_WL_REQUEST] = "request",
    [SIM_WL_TRACE] = "trace",
};

#define SCN_WL(t) (1u << (t))

/* Which workload keys each type needs (or, if optional, allows); a key
 * of another type is an error, so "run_us" under "type: cpu" does not go
 * unnoticed. */
static const struct {
    const char *key;
    size_t off;
    unsigned int types;
    bool optional;
} scn_wl_keys[] = {
#define SCN_WL_KEY(k, t, opt)                                           \
    { .key = #k, .off = offsetof(struct scn_raw_workload, k),           \
      .types = SCN_WL(t), .optional = (opt) }
    SCN_WL_KEY(run_us, SIM_WL_IO, false),
    SCN_WL_KEY(block_us, SIM_WL_IO, false),
    SCN_WL_KEY(on_ms, SIM_WL_BURSTY, false),
    SCN_WL_KEY(off_ms, SIM_WL_BURSTY, false),
    SCN_WL_KEY(phase_us, SIM_WL_BURSTY, true),
    SCN_WL_KEY(rate_hz, SIM_WL_REQUEST, false),
    SCN_WL_KEY(service_us, SIM_WL_REQUEST, false),
    SCN_WL_KEY(file, SIM_WL_TRACE, false),
#undef SCN_WL_KEY
};

/* @file relative to the scenario's directory, unless absolute. */
static char *scn_trace_path(const char *scenario, const char *file)
{
    const char *slash = strrchr(scenario, '/');
    size_t dirlen = slash ? (size_t)(slash - scenario) + 1 : 0;
    size_t flen = strlen(file);
    char *p;

    if ( file[0] == '/' )
        dirlen = 0;
    p = malloc(dirlen + flen + 1);
    if ( !p )
        return NULL;
    memcpy(p, scenario, dirlen);
    memcpy(p + dirlen, file, flen + 1);
    return p;
}

static char *scn_trim(char *s)
{
    char *e;

    while ( *s == ' ' || *s == '\t' )
        s++;
    e = s + strlen(s);
    while ( e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                      e[-1] == '\n') )
        *--e = '\0';
    return s;
}

/* One "run_us,block_us" line into @pair; -EINVAL on a bad line. */
static int scn_trace_line(char *line, sch_time_t pair[2])
{
    char *comma = strchr(line, ',');

    if ( !comma || strchr(comma + 1, ',') )
        return -EINVAL;
    *comma = '\0';
    if ( num_parse_fixed(scn_trim(line), 3, &pair[0]) ||
         num_parse_fixed(scn_trim(comma + 1), 3, &pair[1]) )
        return -EINVAL;
    /* A burst of no CPU time would be no burst; no block is fine. */
    return pair[0] > 0 && pair[1] >= 0 ? 0 : -ERANGE;
}

/*
 * Read the trace file of domain c->dom: lines "run_us,block_us", '#'
 * comments, blank lines, and a "run_us,block_us" header are allowed.
 * Bounded like every input: a regular file (not /dev/zero, not a FIFO) of
 * at most SCN_TRACE_MAX_BYTES, lines of at most SCN_TRACE_LINE_MAX.
 */
static int scn_trace(const struct scn *c, struct sim_workload *w)
{
    const char *const keys[] = { "domains", c->dom, "workload", "file" };
    char *path, *line = NULL, esc[256], lesc[64];
    size_t cap = 0, linecap = 0;
    unsigned int lineno = 0;
    ssize_t n;
    FILE *f;
    int rc = 0;

    path = scn_trace_path(c->path, w->file);
    if ( !path )
        return -ENOMEM;
    scn__esc(esc, sizeof(esc), w->file);
    f = fopen(path, "r");
    if ( !f )
    {
        rc = -errno;
        cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                    "cannot open trace '%s': %s", esc, strerror(-rc));
        goto out_free_path;
    }
    {
        struct stat sb;

        if ( fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) ||
             sb.st_size > (off_t)SCN_TRACE_MAX_BYTES )
        {
            rc = cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                             "trace '%s' must be a regular file of at most "
                             "%u MiB", esc, SCN_TRACE_MAX_BYTES >> 20);
            goto out_close;
        }
    }
    errno = 0;
    while ( (n = getline(&line, &linecap, f)) >= 0 )
    {
        sch_time_t pair[2];
        char *l;

        lineno++;
        if ( n > SCN_TRACE_LINE_MAX )
        {
            rc = cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                             "%s:%u: line longer than %u bytes", esc, lineno,
                             SCN_TRACE_LINE_MAX);
            goto out_close;
        }
        if ( (size_t)n != strlen(line) )
        {
            rc = cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                             "%s:%u: holds a NUL byte", esc, lineno);
            goto out_close;
        }
        l = scn_trim(line);
        if ( !*l || *l == '#' ||
             (!w->trace_len && !strcmp(l, "run_us,block_us")) )
            continue;
        rc = scn_trace_line(l, pair);
        if ( rc )
        {
            rc = cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                             "%s:%u: expected 'run_us,block_us' with "
                             "run_us > 0 and block_us >= 0, not '%s'", esc,
                             lineno, scn__esc(lesc, sizeof(lesc), l));
            goto out_close;
        }
        if ( w->trace_len + 2 > cap )
        {
            sch_time_t *t;

            cap = cap ? cap * 2 : 64;
            t = realloc(w->trace, cap * sizeof(*t));
            if ( !t )
            {
                rc = -ENOMEM;
                goto out_close;
            }
            w->trace = t;
        }
        w->trace[w->trace_len++] = pair[0];
        w->trace[w->trace_len++] = pair[1];
    }
    if ( ferror(f) || errno == ENOMEM )
    {
        rc = errno ? -errno : -EIO;
        cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                    "cannot read trace '%s': %s", esc, strerror(-rc));
    }
    else if ( !w->trace_len )
        rc = cfg_invalid(c->err, c->errlen, c->path, keys, 4,
                         "trace '%s' holds no run_us,block_us lines", esc);
 out_close:
    fclose(f);
    free(line);
 out_free_path:
    free(path);
    return rc;
}

int scn__workload(const struct scn *c, const struct scn_raw_workload *r,
                  struct sim_workload *w)
{
    const char *d = c->dom;
    char esc[64];
    int64_t uhz;
    unsigned int t;
    size_t i;
    int rc = 0;

    for ( t = 0; t < sizeof(scn_wl_names) / sizeof(scn_wl_names[0]); t++ )
        if ( !strcmp(r->type, scn_wl_names[t]) )
            break;
    if ( t == sizeof(scn_wl_names) / sizeof(scn_wl_names[0]) )
        return cfg_invalid(c->err, c->errlen, c->path,
                           SCN_PATH("domains", d, "workload", "type"),
                           "unknown workload type '%s' (cpu, io, bursty, "
                           "request or trace)",
                           scn__esc(esc, sizeof(esc), r->type));
    w->type = (enum sim_workload_type)t;

    for ( i = 0; i < sizeof(scn_wl_keys) / sizeof(scn_wl_keys[0]); i++ )
    {
        const char *v = *(char *const *)((const char *)r +
                                         scn_wl_keys[i].off);
        bool needed = scn_wl_keys[i].types & SCN_WL(t);

        if ( v && !needed )
            return cfg_invalid(c->err, c->errlen, c->path,
                               SCN_PATH("domains", d, "workload",
                                        scn_wl_keys[i].key),
                               "not used by workload type '%s'",
                               scn_wl_names[t]);
        if ( !v && needed && !scn_wl_keys[i].optional )
            return cfg_invalid(c->err, c->errlen, c->path,
                               SCN_PATH("domains", d, "workload",
                                        scn_wl_keys[i].key),
                               "required for workload type '%s'",
                               scn_wl_names[t]);
    }

    switch ( w->type )
    {
    case SIM_WL_CPU:
        break;
    case SIM_WL_IO:
        rc = scn__time(c, r->run_us,
                      SCN_PATH("domains", d, "workload", "run_us"), 3, true,
                      SCN_BURST_US_MAX, &w->run_ns);
        if ( !rc )
            rc = scn__time(c, r->block_us,
                          SCN_PATH("domains", d, "workload", "block_us"), 3,
                          true, SCN_BURST_US_MAX, &w->block_ns);
        break;
    case SIM_WL_BURSTY:
        rc = scn__time(c, r->on_ms,
                      SCN_PATH("domains", d, "workload", "on_ms"), 6, true,
                      SCN_PHASE_MS_MAX, &w->on_ns);
        if ( !rc )
            rc = scn__time(c, r->off_ms,
                          SCN_PATH("domains", d, "workload", "off_ms"), 6,
                          true, SCN_PHASE_MS_MAX, &w->off_ns);
        if ( !rc && r->phase_us )
        {
            rc = scn__time(c, r->phase_us,
                          SCN_PATH("domains", d, "workload", "phase_us"), 3,
                          false, SCN_PHASE_MS_MAX * 1000ll, &w->phase_ns);
            w->phase_set = !rc;
        }
        break;
    case SIM_WL_REQUEST:
        /* micro-hertz: exact decimal parsing, no strtod and its locale */
        rc = scn__time(c, r->rate_hz,
                      SCN_PATH("domains", d, "workload", "rate_hz"), 6, true,
                      SCN_RATE_HZ_MAX, &uhz);
        if ( !rc )
            rc = scn__time(c, r->service_us,
                          SCN_PATH("domains", d, "workload", "service_us"),
                          3, true, SCN_BURST_US_MAX, &w->service_ns);
        if ( !rc )
            w->rate_hz = (double)uhz / 1e6;
        break;
    case SIM_WL_TRACE:
        w->file = strdup(r->file);
        rc = w->file ? scn_trace(c, w) : -ENOMEM;
        break;
    }
    return rc;
}
