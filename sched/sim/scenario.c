/*
 * scenario.c: simulator scenarios, from YAML to struct sim_scenario.
 *
 * Design: libcyaml (through common/cfg) checks the shape of the file: which
 * keys exist, which are required, what is a mapping and what a list.  Every
 * scalar is loaded as a string and parsed here with num_parse_int() and
 * num_parse_fixed(), because libcyaml 1.3's number readers take "10s" for
 * 10 and "1.5" for 1 without a word; parsing here also lets each message
 * give the allowed range.  The values are then checked in file order and
 * the first problem is reported as "FILE:LINE: FIELD: reason", its line
 * found by cfg_invalid().
 *
 * Times: keys ending in _us or _ms take decimals down to the nanosecond
 * ("0.5" microseconds), converted exactly, without floating point.
 *
 * The key names are an interface: scenario files, scripts and the tenant
 * tools use them.  Add keys; do not rename them.
 *
 *   pcpus               1..256, required
 *   duration_ms         1..86400000, required
 *   seed                default 1
 *   policy              default: the caller's choice (xenos-sim: credit)
 *   context_switch_us   0..1000000, default 0
 *   idle_audit_us       0..1000000, default 0 (off); see sim.h
 *   sched:              each optional, absent = the policy's default
 *                       (SCH_PARAM_UNCHANGED); the policy checks ranges
 *     tslice_us, ratelimit_us, period_us, latency_us,
 *     runq_cpus                                        0..100000000
 *     boost             1/0, true/false, on/off, yes/no
 *   domains:            one or more, names unique and non-empty
 *     - name            any string (kept byte for byte)
 *       vcpus           1..1024, default 1
 *       weight          1..65535, default 256
 *       cap_pct         0..100 * pcpus, default 0 (no cap)
 *       affinity        list of pCPUs < pcpus, default all
 *       uuid            default: derived from the name (sim_uuid_from_name);
 *                       unique, any case, kept lower-cased
 *       tenant          the host's tenant key (any non-empty string)
 *       memory_mb       1..16777216, default 512
 *       maxmem_mb       memory_mb..16777216, default memory_mb
 *       start_ms        created then, default 0
 *       reboot_ms       list, each after start_ms and the one before
 *       migrate_ms      leaves the host then, after every reboot...
 *       destroy_ms      ...or is destroyed then (not both)
 *       repin:          list of run-time affinity changes (xl vcpu-pin)
 *         - at_ms       > 0, before duration_ms, after the one before
 *           affinity    list of pCPUs < pcpus, at least one: the hard
 *                       affinity of every vCPU from then on
 *       workload:       required, one of
 *         {type: cpu}
 *         {type: io, run_us: R, block_us: B}
 *         {type: bursty, on_ms: ON, off_ms: OFF}   optional phase_us: P,
 *                                  when the first on-phase starts
 *         {type: request, rate_hz: HZ, service_us: S}
 *         {type: trace, file: F}   F relative to the scenario's directory;
 *                                  lines "run_us,block_us", # comments
 * Every time and rate given must be > 0 (a trace's block_us, phase_us,
 * context_switch_us, idle_audit_us and start_ms may be 0).  Lifecycle
 * times are not bound to duration_ms, since xenos-sim --duration-ms may
 * run a scenario for longer: what comes after the end never happens.
 * Re-pins are: one after the run's end is surely a slip, and with a
 * longer --duration-ms the last affinity simply holds on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xenos/cfg.h>
#include <xenos/num.h>
#include <xenos/sim.h>

#define SCN_VCPUS_MAX           1024
#define SCN_DURATION_MS_MAX     86400000        /* a day of simulated time */
#define SCN_CSWITCH_US_MAX      1000000         /* a second per switch */
#define SCN_AUDIT_US_MAX        1000000         /* a second */
#define SCN_BURST_US_MAX        3600000000ll    /* an hour */
#define SCN_PHASE_MS_MAX        3600000         /* an hour */
#define SCN_RATE_HZ_MAX         1000000
#define SCN_MEMORY_MB_MAX       16777216        /* 16 TiB */
/* Below SCH_PARAM_UNCHANGED, which the engine passes for "keep". */
#define SCN_TRACE_LINE_MAX      1024            /* "run_us,block_us" */
#define SCN_TRACE_MAX_BYTES     (64u << 20)
#define SCN_TUNABLE_US_MAX      100000000       /* 100 s */

/* ------------------------------------------------------------------ */
/* The file as libcyaml loads it: strings, NULL where a key is absent. */

struct scn_raw_sched {
    char *tslice_us, *ratelimit_us, *period_us, *boost, *latency_us;
    char *runq_cpus;
};

struct scn_raw_workload {
    char *type;
    char *run_us, *block_us;
    char *on_ms, *off_ms, *phase_us;
    char *rate_hz, *service_us;
    char *file;
};

struct scn_raw_repin {
    char *at_ms;
    char **affinity;
    unsigned int affinity_count;
};

struct scn_raw_domain {
    char *name;
    char *vcpus, *weight, *cap_pct;
    char **affinity;
    unsigned int affinity_count;
    struct scn_raw_workload *workload;
    char *uuid, *tenant, *memory_mb, *maxmem_mb;
    char *start_ms, *migrate_ms, *destroy_ms;
    char **reboot_ms;
    unsigned int reboot_ms_count;
    struct scn_raw_repin *repin;
    unsigned int repin_count;
};

struct scn_raw {
    char *pcpus, *duration_ms, *seed, *policy, *context_switch_us;
    char *idle_audit_us;
    struct scn_raw_sched *sched;
    struct scn_raw_domain *domains;
    unsigned int domains_count;
};

#define SCN_STR(key, flags, type, member)                               \
    CYAML_FIELD_STRING_PTR(key, (flags), type, member, 0, CYAML_UNLIMITED)
#define SCN_OPT CYAML_FLAG_OPTIONAL
#define SCN_REQ CYAML_FLAG_DEFAULT

static const cyaml_schema_field_t scn_sched_fields[] = {
    SCN_STR("tslice_us", SCN_OPT, struct scn_raw_sched, tslice_us),
    SCN_STR("ratelimit_us", SCN_OPT, struct scn_raw_sched, ratelimit_us),
    SCN_STR("period_us", SCN_OPT, struct scn_raw_sched, period_us),
    SCN_STR("boost", SCN_OPT, struct scn_raw_sched, boost),
    SCN_STR("latency_us", SCN_OPT, struct scn_raw_sched, latency_us),
    SCN_STR("runq_cpus", SCN_OPT, struct scn_raw_sched, runq_cpus),
    CYAML_FIELD_END
};

static const cyaml_schema_field_t scn_workload_fields[] = {
    SCN_STR("type", SCN_REQ, struct scn_raw_workload, type),
    SCN_STR("run_us", SCN_OPT, struct scn_raw_workload, run_us),
    SCN_STR("block_us", SCN_OPT, struct scn_raw_workload, block_us),
    SCN_STR("on_ms", SCN_OPT, struct scn_raw_workload, on_ms),
    SCN_STR("off_ms", SCN_OPT, struct scn_raw_workload, off_ms),
    SCN_STR("phase_us", SCN_OPT, struct scn_raw_workload, phase_us),
    SCN_STR("rate_hz", SCN_OPT, struct scn_raw_workload, rate_hz),
    SCN_STR("service_us", SCN_OPT, struct scn_raw_workload, service_us),
    SCN_STR("file", SCN_OPT, struct scn_raw_workload, file),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t scn_string_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t scn_repin_fields[] = {
    SCN_STR("at_ms", SCN_REQ, struct scn_raw_repin, at_ms),
    CYAML_FIELD_SEQUENCE("affinity", CYAML_FLAG_POINTER, struct scn_raw_repin,
                         affinity, &scn_string_entry, 1, CYAML_UNLIMITED),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t scn_repin_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct scn_raw_repin,
                        scn_repin_fields),
};

static const cyaml_schema_field_t scn_domain_fields[] = {
    SCN_STR("name", SCN_REQ, struct scn_raw_domain, name),
    SCN_STR("vcpus", SCN_OPT, struct scn_raw_domain, vcpus),
    SCN_STR("weight", SCN_OPT, struct scn_raw_domain, weight),
    SCN_STR("cap_pct", SCN_OPT, struct scn_raw_domain, cap_pct),
    CYAML_FIELD_SEQUENCE("affinity", CYAML_FLAG_POINTER | SCN_OPT,
                         struct scn_raw_domain, affinity, &scn_string_entry,
                         1, CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING_PTR("workload", SCN_REQ, struct scn_raw_domain,
                            workload, scn_workload_fields),
    SCN_STR("uuid", SCN_OPT, struct scn_raw_domain, uuid),
    SCN_STR("tenant", SCN_OPT, struct scn_raw_domain, tenant),
    SCN_STR("memory_mb", SCN_OPT, struct scn_raw_domain, memory_mb),
    SCN_STR("maxmem_mb", SCN_OPT, struct scn_raw_domain, maxmem_mb),
    SCN_STR("start_ms", SCN_OPT, struct scn_raw_domain, start_ms),
    CYAML_FIELD_SEQUENCE("reboot_ms", CYAML_FLAG_POINTER | SCN_OPT,
                         struct scn_raw_domain, reboot_ms, &scn_string_entry,
                         0, CYAML_UNLIMITED),
    SCN_STR("migrate_ms", SCN_OPT, struct scn_raw_domain, migrate_ms),
    SCN_STR("destroy_ms", SCN_OPT, struct scn_raw_domain, destroy_ms),
    CYAML_FIELD_SEQUENCE("repin", CYAML_FLAG_POINTER | SCN_OPT,
                         struct scn_raw_domain, repin, &scn_repin_entry, 0,
                         CYAML_UNLIMITED),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t scn_domain_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct scn_raw_domain,
                        scn_domain_fields),
};

static const cyaml_schema_field_t scn_fields[] = {
    SCN_STR("pcpus", SCN_REQ, struct scn_raw, pcpus),
    SCN_STR("duration_ms", SCN_REQ, struct scn_raw, duration_ms),
    SCN_STR("seed", SCN_OPT, struct scn_raw, seed),
    SCN_STR("policy", SCN_OPT, struct scn_raw, policy),
    SCN_STR("context_switch_us", SCN_OPT, struct scn_raw, context_switch_us),
    SCN_STR("idle_audit_us", SCN_OPT, struct scn_raw, idle_audit_us),
    CYAML_FIELD_MAPPING_PTR("sched", SCN_OPT, struct scn_raw, sched,
                            scn_sched_fields),
    CYAML_FIELD_SEQUENCE("domains", CYAML_FLAG_POINTER, struct scn_raw,
                         domains, &scn_domain_entry, 1, CYAML_UNLIMITED),
    CYAML_FIELD_END
};

static const cyaml_schema_value_t scn_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct scn_raw, scn_fields),
};

/* ------------------------------------------------------------------ */
/* Parsing values, with messages                                      */

/* Where we are: file, error buffer, current domain and entry as text. */
struct scn {
    const char *path;
    char *err;
    size_t errlen;
    char dom[16];
    char entry[16];
};

/* A path literal and its length, for cfg_invalid() and the helpers. */
#define SCN_PATH(...)                                                   \
    (const char *const[]){ __VA_ARGS__ },                               \
    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

/* @s made fit for a message (quoted by the caller). */
static const char *scn_esc(char *buf, size_t len, const char *s)
{
    cfg_escape_msg(buf, len, s);        /* a long value is shown cut */
    return buf;
}

static int scn_int(const struct scn *c, const char *s,
                   const char *const *keys, size_t nkeys,
                   int64_t min, int64_t max, int64_t *out)
{
    char esc[64];
    int rc = num_parse_int(s, min, max, out);

    if ( rc == -EINVAL )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be an integer, not '%s'",
                           scn_esc(esc, sizeof(esc), s));
    if ( rc )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be %lld..%lld, not %s", (long long)min,
                           (long long)max, scn_esc(esc, sizeof(esc), s));
    return 0;
}

/*
 * A time in microseconds (@decimals 3) or milliseconds (@decimals 6),
 * returned in ns: at least 1 ns if @positive (else at least 0), at most
 * @max in the file's unit.  Also reads hertz (@decimals 6: micro-hertz).
 */
static int scn_time(const struct scn *c, const char *s,
                    const char *const *keys, size_t nkeys,
                    unsigned int decimals, bool positive, int64_t max,
                    sch_time_t *out)
{
    char esc[64];
    int64_t v, scale = 1;
    unsigned int i;
    int rc;

    for ( i = 0; i < decimals; i++ )
        scale *= 10;
    rc = num_parse_fixed(s, decimals, &v);
    if ( rc == -EINVAL )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be a number with at most %u decimals, "
                           "not '%s'", decimals,
                           scn_esc(esc, sizeof(esc), s));
    if ( !rc && positive && v <= 0 )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be > 0, not %s",
                           scn_esc(esc, sizeof(esc), s));
    if ( !rc && v < 0 )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be >= 0, not %s",
                           scn_esc(esc, sizeof(esc), s));
    if ( rc || v > max * scale )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be at most %lld, not %s", (long long)max,
                           scn_esc(esc, sizeof(esc), s));
    *out = v;
    return 0;
}

/* A tunable under sched:, when given; the policy judges its value. */
static int scn_tunable(const struct scn *c, const char *s, const char *key,
                       uint32_t *out)
{
    int64_t v;
    int rc;

    if ( !s )
        return 0;
    rc = scn_int(c, s, SCN_PATH("sched", key), 0, SCN_TUNABLE_US_MAX, &v);
    if ( !rc )
        *out = (uint32_t)v;
    return rc;
}

static int scn_bool(const struct scn *c, const char *s, const char *key,
                    uint32_t *out)
{
    static const char *const yes[] = { "1", "true", "on", "yes" };
    static const char *const no[] = { "0", "false", "off", "no" };
    char esc[64];
    size_t i;

    if ( !s )
        return 0;
    for ( i = 0; i < sizeof(yes) / sizeof(yes[0]); i++ )
    {
        if ( !strcmp(s, yes[i]) )
        {
            *out = 1;
            return 0;
        }
        if ( !strcmp(s, no[i]) )
        {
            *out = 0;
            return 0;
        }
    }
    return cfg_invalid(c->err, c->errlen, c->path, SCN_PATH("sched", key),
                       "must be 1 or 0 (true or false), not '%s'",
                       scn_esc(esc, sizeof(esc), s));
}

/* ------------------------------------------------------------------ */
/* Workloads                                                          */

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
    scn_esc(esc, sizeof(esc), w->file);
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
                             lineno, scn_esc(lesc, sizeof(lesc), l));
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

static int scn_workload(const struct scn *c, const struct scn_raw_workload *r,
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
                           scn_esc(esc, sizeof(esc), r->type));
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
        rc = scn_time(c, r->run_us,
                      SCN_PATH("domains", d, "workload", "run_us"), 3, true,
                      SCN_BURST_US_MAX, &w->run_ns);
        if ( !rc )
            rc = scn_time(c, r->block_us,
                          SCN_PATH("domains", d, "workload", "block_us"), 3,
                          true, SCN_BURST_US_MAX, &w->block_ns);
        break;
    case SIM_WL_BURSTY:
        rc = scn_time(c, r->on_ms,
                      SCN_PATH("domains", d, "workload", "on_ms"), 6, true,
                      SCN_PHASE_MS_MAX, &w->on_ns);
        if ( !rc )
            rc = scn_time(c, r->off_ms,
                          SCN_PATH("domains", d, "workload", "off_ms"), 6,
                          true, SCN_PHASE_MS_MAX, &w->off_ns);
        if ( !rc && r->phase_us )
        {
            rc = scn_time(c, r->phase_us,
                          SCN_PATH("domains", d, "workload", "phase_us"), 3,
                          false, SCN_PHASE_MS_MAX * 1000ll, &w->phase_ns);
            w->phase_set = !rc;
        }
        break;
    case SIM_WL_REQUEST:
        /* micro-hertz: exact decimal parsing, no strtod and its locale */
        rc = scn_time(c, r->rate_hz,
                      SCN_PATH("domains", d, "workload", "rate_hz"), 6, true,
                      SCN_RATE_HZ_MAX, &uhz);
        if ( !rc )
            rc = scn_time(c, r->service_us,
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

/* ------------------------------------------------------------------ */
/* Domains and the whole scenario                                     */

/* uuid, tenant and memory: the domain as the host shows it. */
static int scn_host_view(struct scn *c, const struct scn_raw_domain *r,
                         struct sim_domain_spec *d)
{
    const char *i = c->dom;
    char esc[64];
    int64_t v;
    int rc;

    if ( r->uuid && sim_uuid_parse(r->uuid, d->uuid) )
        return cfg_invalid(c->err, c->errlen, c->path,
                           SCN_PATH("domains", i, "uuid"),
                           "must be a uuid (8-4-4-4-12 hex digits), not "
                           "'%s'", scn_esc(esc, sizeof(esc), r->uuid));
    if ( !r->uuid )
        sim_uuid_from_name(d->name, d->uuid);
    if ( r->tenant )
    {
        if ( !r->tenant[0] )
            return cfg_invalid(c->err, c->errlen, c->path,
                               SCN_PATH("domains", i, "tenant"),
                               "must not be empty (leave it out for none)");
        d->tenant = strdup(r->tenant);
        if ( !d->tenant )
            return -ENOMEM;
    }
    d->memory_mb = SIM_MEMORY_MB_DEFAULT;
    if ( r->memory_mb )
    {
        rc = scn_int(c, r->memory_mb, SCN_PATH("domains", i, "memory_mb"), 1,
                     SCN_MEMORY_MB_MAX, &v);
        if ( rc )
            return rc;
        d->memory_mb = (uint64_t)v;
    }
    d->maxmem_mb = d->memory_mb;
    if ( r->maxmem_mb )
    {
        rc = scn_int(c, r->maxmem_mb, SCN_PATH("domains", i, "maxmem_mb"),
                     (int64_t)d->memory_mb, SCN_MEMORY_MB_MAX, &v);
        if ( rc )
            return rc;
        d->maxmem_mb = (uint64_t)v;
    }
    return 0;
}

/* A lifecycle time in ms (decimals to the ns), later than @after_ns
 * unless that is negative; @what names @after_ns in the message. */
static int scn_life_time(struct scn *c, const char *s,
                         const char *const *keys, size_t nkeys,
                         sch_time_t after_ns, const char *what,
                         sch_time_t *out)
{
    int rc = scn_time(c, s, keys, nkeys, 6, false, SCN_DURATION_MS_MAX, out);
    char ms[32];
    int n;

    if ( rc || after_ns < 0 || *out > after_ns )
        return rc;
    /* after_ns in ms as the file would write it: "1500", "0.25" */
    n = snprintf(ms, sizeof(ms), "%lld.%06lld",
                 (long long)(after_ns / 1000000),
                 (long long)(after_ns % 1000000));
    while ( n > 0 && ms[n - 1] == '0' )
        ms[--n] = '\0';
    if ( n > 0 && ms[n - 1] == '.' )
        ms[--n] = '\0';
    return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                       "must be after %s (%s), not %s", what, ms, s);
}

/* start_ms, reboot_ms, and migrate_ms or destroy_ms. */
static int scn_lifecycle(struct scn *c, const struct scn_raw_domain *r,
                         struct sim_domain_spec *d)
{
    const char *i = c->dom;
    sch_time_t last;
    unsigned int j;
    int rc;

    if ( r->start_ms )
    {
        rc = scn_life_time(c, r->start_ms, SCN_PATH("domains", i, "start_ms"),
                           -1, "", &d->start_ns);
        if ( rc )
            return rc;
    }
    last = d->start_ns;
    if ( r->reboot_ms && r->reboot_ms_count )
    {
        d->reboot_ns = calloc(r->reboot_ms_count, sizeof(*d->reboot_ns));
        if ( !d->reboot_ns )
            return -ENOMEM;
    }
    for ( j = 0; r->reboot_ms && j < r->reboot_ms_count; j++ )
    {
        snprintf(c->entry, sizeof(c->entry), "%u", j);
        rc = scn_life_time(c, r->reboot_ms[j],
                           SCN_PATH("domains", i, "reboot_ms", c->entry),
                           last, j ? "the reboot before" : "start_ms",
                           &d->reboot_ns[j]);
        if ( rc )
            return rc;
        last = d->reboot_ns[j];
        d->nr_reboots++;
    }
    if ( r->migrate_ms && r->destroy_ms )
        return cfg_invalid(c->err, c->errlen, c->path,
                           SCN_PATH("domains", i, "destroy_ms"),
                           "a domain that migrates away is not also "
                           "destroyed: give migrate_ms or destroy_ms");
    if ( r->migrate_ms || r->destroy_ms )
    {
        const char *key = r->migrate_ms ? "migrate_ms" : "destroy_ms";

        d->end = r->migrate_ms ? SIM_END_MIGRATE : SIM_END_DESTROY;
        rc = scn_life_time(c, r->migrate_ms ? r->migrate_ms : r->destroy_ms,
                           SCN_PATH("domains", i, key), last,
                           d->nr_reboots ? "the last reboot" : "start_ms",
                           &d->end_ns);
        if ( rc )
            return rc;
    }
    return 0;
}

#define SCN_KEYS_MAX 8

/*
 * The pCPU numbers in @list into @mask (added to what it holds).  @keys
 * (@nkeys of them, fewer than SCN_KEYS_MAX) name the list; a message
 * adds the entry's index.
 */
static int scn_cpus(const struct scn *c, const struct sim_scenario *sc,
                    char *const *list, unsigned int count,
                    const char *const *keys, size_t nkeys,
                    struct sch_cpumask *mask)
{
    const char *k[SCN_KEYS_MAX];
    char entry[16];
    unsigned int j;
    int64_t v;
    int rc;

    memcpy(k, keys, nkeys * sizeof(*k));
    k[nkeys] = entry;
    for ( j = 0; j < count; j++ )
    {
        snprintf(entry, sizeof(entry), "%u", j);
        rc = scn_int(c, list[j], k, nkeys + 1, 0,
                     (int64_t)sc->pcpus - 1, &v);
        if ( rc )
            return rc;
        sch_cpumask_set(mask, (unsigned int)v);
    }
    return 0;
}

/* repin: each at a time within the run, after the one before, to a
 * non-empty set of pCPUs of the host. */
static int scn_repins(struct scn *c, const struct sim_scenario *sc,
                      const struct scn_raw_domain *r,
                      struct sim_domain_spec *d)
{
    const char *keys[5] = { "domains", c->dom, "repin", c->entry };
    sch_time_t last = 0;
    unsigned int j;
    int rc;

    if ( !r->repin || !r->repin_count )
        return 0;
    d->repin = calloc(r->repin_count, sizeof(*d->repin));
    if ( !d->repin )
        return -ENOMEM;
    for ( j = 0; j < r->repin_count; j++ )
    {
        const struct scn_raw_repin *rp = &r->repin[j];
        struct sim_repin *p = &d->repin[j];

        snprintf(c->entry, sizeof(c->entry), "%u", j);
        keys[4] = "at_ms";
        rc = scn_life_time(c, rp->at_ms, keys, 5, last,
                           j ? "the re-pin before" : "the start of the run",
                           &p->at_ns);
        if ( rc )
            return rc;
        if ( p->at_ns >= sc->duration_ns )
            return cfg_invalid(c->err, c->errlen, c->path, keys, 5,
                               "must be before the end of the run "
                               "(duration_ms %lld), not %s",
                               (long long)(sc->duration_ns / SCH_MSEC(1)),
                               rp->at_ms);
        keys[4] = "affinity";
        rc = scn_cpus(c, sc, rp->affinity, rp->affinity_count, keys, 5,
                      &p->affinity);
        if ( rc )
            return rc;
        last = p->at_ns;
        d->nr_repins++;
    }
    return 0;
}

static int scn_domain(struct scn *c, const struct sim_scenario *sc,
                      const struct scn_raw_domain *r,
                      struct sim_domain_spec *d)
{
    const char *const aff_keys[] = { "domains", c->dom, "affinity" };
    const char *i = c->dom;
    int64_t v;
    unsigned int j;
    int rc;

    if ( !r->name[0] )
        return cfg_invalid(c->err, c->errlen, c->path,
                           SCN_PATH("domains", i, "name"),
                           "must not be empty");
    d->name = strdup(r->name);
    if ( !d->name )
        return -ENOMEM;

    d->vcpus = 1;
    if ( r->vcpus )
    {
        rc = scn_int(c, r->vcpus, SCN_PATH("domains", i, "vcpus"), 1,
                     SCN_VCPUS_MAX, &v);
        if ( rc )
            return rc;
        d->vcpus = (unsigned int)v;
    }
    d->weight = SCH_WEIGHT_DEFAULT;
    if ( r->weight )
    {
        rc = scn_int(c, r->weight, SCN_PATH("domains", i, "weight"),
                     SCH_WEIGHT_MIN, SCH_WEIGHT_MAX, &v);
        if ( rc )
            return rc;
        d->weight = (unsigned int)v;
    }
    if ( r->cap_pct )
    {
        rc = scn_int(c, r->cap_pct, SCN_PATH("domains", i, "cap_pct"), 0,
                     100 * (int64_t)sc->pcpus, &v);
        if ( rc )
            return rc;
        d->cap_pct = (unsigned int)v;
    }

    sch_cpumask_clear_all(&d->affinity);
    if ( !r->affinity )
        for ( j = 0; j < sc->pcpus; j++ )
            sch_cpumask_set(&d->affinity, j);
    else
    {
        rc = scn_cpus(c, sc, r->affinity, r->affinity_count, aff_keys, 3,
                      &d->affinity);
        if ( rc )
            return rc;
    }
    rc = scn_workload(c, r->workload, &d->workload);
    if ( !rc )
        rc = scn_host_view(c, r, d);
    if ( !rc )
        rc = scn_lifecycle(c, r, d);
    if ( !rc )
        rc = scn_repins(c, sc, r, d);
    return rc;
}

/* Names must be unique: reports are keyed by them. */
static int scn_unique(struct scn *c, const struct sim_scenario *sc)
{
    unsigned int line = 0;
    size_t first, dup;
    char esc[128];
    int rc;

    rc = cfg_first_dup(sc->domains, sc->nr_domains, sizeof(sc->domains[0]),
                       offsetof(struct sim_domain_spec, name), &first, &dup);
    if ( rc <= 0 )
        return rc;
    snprintf(c->dom, sizeof(c->dom), "%zu", first);
    cfg_locate(c->path, SCN_PATH("domains", c->dom, "name"), &line);
    snprintf(c->dom, sizeof(c->dom), "%zu", dup);
    return cfg_invalid(c->err, c->errlen, c->path,
                       SCN_PATH("domains", c->dom, "name"),
                       "duplicate domain name '%s' (first at line %u)",
                       scn_esc(esc, sizeof(esc), sc->domains[dup].name),
                       line);
}

static int scn_uuid_cmp(const void *a, const void *b, void *arg)
{
    const struct sim_scenario *sc = arg;
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    int r = strcmp(sc->domains[x].uuid, sc->domains[y].uuid);

    return r ? r : (x > y) - (x < y);
}

/* uuids must be unique too: the host and its accounting key by them.
 * Only a given uuid can repeat another (derived ones differ by name). */
static int scn_unique_uuid(struct scn *c, const struct sim_scenario *sc)
{
    unsigned int i, dup = UINT32_MAX, first = 0, line = 0, *v;

    v = malloc(sc->nr_domains * sizeof(*v));
    if ( !v )
        return -ENOMEM;
    for ( i = 0; i < sc->nr_domains; i++ )
        v[i] = i;
    qsort_r(v, sc->nr_domains, sizeof(*v), scn_uuid_cmp, (void *)sc);
    for ( i = 1; i < sc->nr_domains; i++ )
        if ( !strcmp(sc->domains[v[i - 1]].uuid, sc->domains[v[i]].uuid) &&
             v[i] < dup )
        {
            dup = v[i];
            first = v[i - 1];
        }
    free(v);
    if ( dup == UINT32_MAX )
        return 0;

    snprintf(c->dom, sizeof(c->dom), "%u", first);
    if ( cfg_locate(c->path, SCN_PATH("domains", c->dom, "uuid"), &line) )
        cfg_locate(c->path, SCN_PATH("domains", c->dom, "name"), &line);
    snprintf(c->dom, sizeof(c->dom), "%u", dup);
    return cfg_invalid(c->err, c->errlen, c->path,
                       SCN_PATH("domains", c->dom, "uuid"),
                       "duplicate uuid %s (first at line %u)",
                       sc->domains[dup].uuid, line);
}

static int scn_convert(struct scn *c, const struct scn_raw *r,
                       struct sim_scenario *sc)
{
    int64_t v;
    unsigned int i;
    int rc;

    sc->path = strdup(c->path);
    if ( !sc->path )
        return -ENOMEM;

    rc = scn_int(c, r->pcpus, SCN_PATH("pcpus"), 1, SCH_MAX_CPUS, &v);
    if ( rc )
        return rc;
    sc->pcpus = (unsigned int)v;
    rc = scn_int(c, r->duration_ms, SCN_PATH("duration_ms"), 1,
                 SCN_DURATION_MS_MAX, &v);
    if ( rc )
        return rc;
    sc->duration_ns = SCH_MSEC(v);
    sc->seed = 1;
    if ( r->seed )
    {
        rc = scn_int(c, r->seed, SCN_PATH("seed"), 0, INT64_MAX, &v);
        if ( rc )
            return rc;
        sc->seed = (uint64_t)v;
    }
    if ( r->policy )
    {
        if ( !r->policy[0] )
            return cfg_invalid(c->err, c->errlen, c->path,
                               SCN_PATH("policy"), "must not be empty");
        sc->policy = strdup(r->policy);
        if ( !sc->policy )
            return -ENOMEM;
    }
    if ( r->context_switch_us )
    {
        rc = scn_time(c, r->context_switch_us, SCN_PATH("context_switch_us"),
                      3, false, SCN_CSWITCH_US_MAX, &sc->context_switch_ns);
        if ( rc )
            return rc;
    }
    /* Absent tunables keep the policy's defaults. */
    sc->sched = SCH_GLOBAL_PARAMS_KEEP;
    if ( r->idle_audit_us )
    {
        rc = scn_time(c, r->idle_audit_us, SCN_PATH("idle_audit_us"), 3,
                      false, SCN_AUDIT_US_MAX, &sc->idle_audit_ns);
        if ( rc )
            return rc;
    }
    if ( r->sched )
    {
        const struct scn_raw_sched *s = r->sched;

        rc = scn_tunable(c, s->tslice_us, "tslice_us",
                         &sc->sched.tslice_us);
        if ( !rc )
            rc = scn_tunable(c, s->ratelimit_us, "ratelimit_us",
                             &sc->sched.ratelimit_us);
        if ( !rc )
            rc = scn_tunable(c, s->period_us, "period_us",
                             &sc->sched.period_us);
        if ( !rc )
            rc = scn_bool(c, s->boost, "boost", &sc->sched.boost);
        if ( !rc )
            rc = scn_tunable(c, s->latency_us, "latency_us",
                             &sc->sched.latency_us);
        if ( !rc )
            rc = scn_tunable(c, s->runq_cpus, "runq_cpus",
                             &sc->sched.runq_cpus);
        if ( rc )
            return rc;
    }

    sc->domains = calloc(r->domains_count, sizeof(*sc->domains));
    if ( !sc->domains )
        return -ENOMEM;
    sc->nr_domains = r->domains_count;
    for ( i = 0; i < r->domains_count; i++ )
    {
        snprintf(c->dom, sizeof(c->dom), "%u", i);
        rc = scn_domain(c, sc, &r->domains[i], &sc->domains[i]);
        if ( rc )
            return rc;
    }
    rc = scn_unique(c, sc);
    return rc ? rc : scn_unique_uuid(c, sc);
}

int sim_scenario_load(const char *path, struct sim_scenario *out,
                      char *err, size_t errlen)
{
    struct sim_scenario sc;
    struct scn c = {
        .path = path,
        .err = err,
        .errlen = errlen,
    };
    void *data = NULL;
    int rc;

    memset(&sc, 0, sizeof(sc));
    memset(out, 0, sizeof(*out));
    rc = cfg_load(path, &scn_schema, &data, err, errlen);
    if ( rc )
        return rc;
    /* NULL only for a mapping without keys, and pcpus is required. */
    if ( !data )
        return cfg_invalid(err, errlen, path, NULL, 0,
                           "missing required key 'pcpus'");

    rc = scn_convert(&c, data, &sc);
    cfg_free(&scn_schema, data);
    if ( rc == -ENOMEM && errlen )
        snprintf(err, errlen, "%s: out of memory", path);
    if ( rc )
    {
        sim_scenario_free(&sc);
        return rc;
    }
    *out = sc;
    return 0;
}

void sim_scenario_free(struct sim_scenario *sc)
{
    unsigned int i;

    if ( !sc )
        return;
    for ( i = 0; sc->domains && i < sc->nr_domains; i++ )
    {
        free(sc->domains[i].name);
        free(sc->domains[i].tenant);
        free(sc->domains[i].reboot_ns);
        free(sc->domains[i].repin);
        free(sc->domains[i].workload.file);
        free(sc->domains[i].workload.trace);
    }
    free(sc->domains);
    free(sc->path);
    free(sc->policy);
    memset(sc, 0, sizeof(*sc));
}
