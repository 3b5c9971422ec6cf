/*
 * scenario_impl.h: for the scenario loader's two files only, scenario.c
 * (the schema, the domains, the whole scenario) and scenario_workload.c
 * (a domain's workload and its trace file): the file as libcyaml loads
 * it, where a message points, and the value parsers they share.
 */
#ifndef XENOS_SIM_SCENARIO_IMPL_H
#define XENOS_SIM_SCENARIO_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/sim.h>

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

/* @s made fit for a message (quoted by the caller): escaped into @buf of
 * @len bytes, a long value cut.  Returns @buf. */
const char *scn__esc(char *buf, size_t len, const char *s);

/*
 * An integer in @min..@max into @out: 0, or -EINVAL with the message
 * "FILE:LINE: FIELD: reason" in c->err, FIELD named by @keys (@nkeys of
 * them).
 */
int scn__int(const struct scn *c, const char *s, const char *const *keys,
             size_t nkeys, int64_t min, int64_t max, int64_t *out);

/*
 * A time in microseconds (@decimals 3) or milliseconds (@decimals 6),
 * returned in ns: at least 1 ns if @positive (else at least 0), at most
 * @max in the file's unit.  Also reads hertz (@decimals 6: micro-hertz).
 * A bad value is reported as by scn__int().
 */
int scn__time(const struct scn *c, const char *s, const char *const *keys,
              size_t nkeys, unsigned int decimals, bool positive,
              int64_t max, sch_time_t *out);

/*
 * The workload of domain c->dom from @r into @w, its trace file read if
 * it has one (scenario_workload.c).  0; -ENOMEM; or a negative errno
 * with the message in c->err, as by scn__int() (-EINVAL for a bad value,
 * the open's or read's error for a trace that cannot be read).  On
 * failure @w may hold a file name and a trace: sim_scenario_free() frees
 * them.
 */
int scn__workload(const struct scn *c, const struct scn_raw_workload *r,
                  struct sim_workload *w);

#endif /* XENOS_SIM_SCENARIO_IMPL_H */
