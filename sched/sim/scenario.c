/*
 * scenario.c: simulator scenarios, from YAML to struct sim_scenario: the
 * schema, the values, the domains and the whole scenario.  A domain's
 * workload, and the trace file it may replay, is read in
 * scenario_workload.c; what the two share is in scenario_impl.h.
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

#include <xenos/cfg.h>
#include <xenos/num.h>
#include <xenos/sim.h>

#include "scenario_impl.h"

#define SCN_VCPUS_MAX           1024
#define SCN_DURATION_MS_MAX     86400000        /* a day of simulated time */
#define SCN_CSWITCH_US_MAX      1000000         /* a second per switch */
#define SCN_AUDIT_US_MAX        1000000         /* a second */
#define SCN_MEMORY_MB_MAX       16777216        /* 16 TiB */
/* Below SCH_PARAM_UNCHANGED, which the engine passes for "keep". */
#define SCN_TUNABLE_US_MAX      100000000       /* 100 s */

/* ------------------------------------------------------------------ */
/* The schema: the file's shape, into scenario_impl.h's raw structs    */

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
/* Parsing values, with messages (contracts in scenario_impl.h)       */

const char *scn__esc(char *buf, size_t len, const char *s)
{
    cfg_escape_msg(buf, len, s);        /* a long value is shown cut */
    return buf;
}

int scn__int(const struct scn *c, const char *s, const char *const *keys,
             size_t nkeys, int64_t min, int64_t max, int64_t *out)
{
    char esc[64];
    int rc = num_parse_int(s, min, max, out);

    if ( rc == -EINVAL )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be an integer, not '%s'",
                           scn__esc(esc, sizeof(esc), s));
    if ( rc )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be %lld..%lld, not %s", (long long)min,
                           (long long)max, scn__esc(esc, sizeof(esc), s));
    return 0;
}

int scn__time(const struct scn *c, const char *s, const char *const *keys,
              size_t nkeys, unsigned int decimals, bool positive,
              int64_t max, sch_time_t *out)
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
                           scn__esc(esc, sizeof(esc), s));
    if ( !rc && positive && v <= 0 )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be > 0, not %s",
                           scn__esc(esc, sizeof(esc), s));
    if ( !rc && v < 0 )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be >= 0, not %s",
                           scn__esc(esc, sizeof(esc), s));
    if ( rc || v > max * scale )
        return cfg_invalid(c->err, c->errlen, c->path, keys, nkeys,
                           "must be at most %lld, not %s", (long long)max,
                           scn__esc(esc, sizeof(esc), s));
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
    rc = scn__int(c, s, SCN_PATH("sched", key), 0, SCN_TUNABLE_US_MAX, &v);
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
                       scn__esc(esc, sizeof(esc), s));
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
                           "'%s'", scn__esc(esc, sizeof(esc), r->uuid));
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
        rc = scn__int(c, r->memory_mb, SCN_PATH("domains", i, "memory_mb"), 1,
                     SCN_MEMORY_MB_MAX, &v);
        if ( rc )
            return rc;
        d->memory_mb = (uint64_t)v;
    }
    d->maxmem_mb = d->memory_mb;
    if ( r->maxmem_mb )
    {
        rc = scn__int(c, r->maxmem_mb, SCN_PATH("domains", i, "maxmem_mb"),
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
    int rc = scn__time(c, s, keys, nkeys, 6, false, SCN_DURATION_MS_MAX, out);
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
        rc = scn__int(c, list[j], k, nkeys + 1, 0,
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
        rc = scn__int(c, r->vcpus, SCN_PATH("domains", i, "vcpus"), 1,
                     SCN_VCPUS_MAX, &v);
        if ( rc )
            return rc;
        d->vcpus = (unsigned int)v;
    }
    d->weight = SCH_WEIGHT_DEFAULT;
    if ( r->weight )
    {
        rc = scn__int(c, r->weight, SCN_PATH("domains", i, "weight"),
                     SCH_WEIGHT_MIN, SCH_WEIGHT_MAX, &v);
        if ( rc )
            return rc;
        d->weight = (unsigned int)v;
    }
    if ( r->cap_pct )
    {
        rc = scn__int(c, r->cap_pct, SCN_PATH("domains", i, "cap_pct"), 0,
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
    rc = scn__workload(c, r->workload, &d->workload);
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
                       scn__esc(esc, sizeof(esc), sc->domains[dup].name),
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

    rc = scn__int(c, r->pcpus, SCN_PATH("pcpus"), 1, SCH_MAX_CPUS, &v);
    if ( rc )
        return rc;
    sc->pcpus = (unsigned int)v;
    rc = scn__int(c, r->duration_ms, SCN_PATH("duration_ms"), 1,
                 SCN_DURATION_MS_MAX, &v);
    if ( rc )
        return rc;
    sc->duration_ns = SCH_MSEC(v);
    sc->seed = 1;
    if ( r->seed )
    {
        rc = scn__int(c, r->seed, SCN_PATH("seed"), 0, INT64_MAX, &v);
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
        rc = scn__time(c, r->context_switch_us, SCN_PATH("context_switch_us"),
                      3, false, SCN_CSWITCH_US_MAX, &sc->context_switch_ns);
        if ( rc )
            return rc;
    }
    /* Absent tunables keep the policy's defaults. */
    sc->sched = SCH_GLOBAL_PARAMS_KEEP;
    if ( r->idle_audit_us )
    {
        rc = scn__time(c, r->idle_audit_us, SCN_PATH("idle_audit_us"), 3,
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
