/*
 * test_scenario.c: scenario files, good and bad.
 *
 * Every example scenario shipped must load with the host it describes; a
 * table of broken files must each fail with a message a person can act
 * on: the file's name, the right line, the field, and why.  Bad files are
 * written from here into a fresh temporary directory, so each case reads
 * as the YAML it tests, next to the line it expects.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <xenos/sim.h>

#include "tmptree.h"

#define SCENARIOS XENOS_SOURCE_DIR "/sched/sim/scenarios"

/* Per test: a temporary directory (tmptree.h), removed with what is in
 * it. */
static char tmpdir[256];

static void tmp_setup(void)
{
    tmptree_make(tmpdir, sizeof(tmpdir), "scenario");
}

static void tmp_teardown(void)
{
    tmptree_remove(tmpdir);
}

/* Write @text (length @len) to @name in the temporary directory; @path
 * receives the full name. */
static void put_file_len(const char *name, const char *text, size_t len,
                         char *path, size_t pathlen)
{
    FILE *f;

    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void put_file(const char *name, const char *text, char *path,
                     size_t pathlen)
{
    put_file_len(name, text, strlen(text), path, pathlen);
}

/* ------------------------------------------------------------------ */
/* The examples                                                       */

static const struct example {
    const char *file;
    unsigned int pcpus;
    unsigned int domains;
    unsigned int vcpus;         /* all domains together */
} examples[] = {
    { "weights.yaml", 1, 3, 3 },
    { "caps.yaml", 2, 4, 5 },
    { "noisy-neighbour.yaml", 2, 3, 7 },
    { "io-latency.yaml", 1, 5, 5 },
    { "many-tenants.yaml", 8, 32, 56 },
    { "trace-replay.yaml", 2, 3, 4 },
    { "bench-64.yaml", 64, 256, 2048 },
    { "lifecycle.yaml", 4, 9, 13 },
    { "hostile-names.yaml", 2, 10, 10 },
    { "demo-host.yaml", 8, 33, 58 },
    { "repin.yaml", 2, 3, 4 },
};

START_TEST(test_scenario_example_loads)
{
    const struct example *ex = &examples[_i];
    struct sim_scenario sc;
    char path[512], err[512];
    unsigned int i, vcpus = 0;

    snprintf(path, sizeof(path), "%s/%s", SCENARIOS, ex->file);
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(sc.pcpus, ex->pcpus);
    ck_assert_uint_eq(sc.nr_domains, ex->domains);
    for ( i = 0; i < sc.nr_domains; i++ )
        vcpus += sc.domains[i].vcpus;
    ck_assert_uint_eq(vcpus, ex->vcpus);
    ck_assert_int_gt(sc.duration_ns, 0);
    sim_scenario_free(&sc);
}
END_TEST

/* A new example must be added to the table above, so it is tested. */
START_TEST(test_scenario_every_example_listed)
{
    glob_t g;
    size_t i, j;

    ck_assert_int_eq(glob(SCENARIOS "/*.yaml", 0, NULL, &g), 0);
    ck_assert_uint_eq(g.gl_pathc, sizeof(examples) / sizeof(examples[0]));
    for ( i = 0; i < g.gl_pathc; i++ )
    {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;

        for ( j = 0; j < sizeof(examples) / sizeof(examples[0]); j++ )
            if ( !strcmp(base, examples[j].file) )
                break;
        ck_assert_msg(j < sizeof(examples) / sizeof(examples[0]),
                      "%s is not in the examples table", base);
    }
    globfree(&g);
}
END_TEST

/* The policy-comparison scenarios (scenarios/compare/) load as well. */
START_TEST(test_scenario_compare_scenarios_load)
{
    struct sim_scenario sc;
    char err[512];
    glob_t g;
    size_t i;

    ck_assert_int_eq(glob(SCENARIOS "/compare/*.yaml", 0, NULL, &g), 0);
    ck_assert_uint_gt(g.gl_pathc, 0);
    for ( i = 0; i < g.gl_pathc; i++ )
    {
        ck_assert_msg(sim_scenario_load(g.gl_pathv[i], &sc, err,
                                        sizeof(err)) == 0, "%s", err);
        ck_assert_uint_gt(sc.nr_domains, 0);
        sim_scenario_free(&sc);
    }
    globfree(&g);
}
END_TEST

START_TEST(test_scenario_many_tenants_has_every_workload)
{
    struct sim_scenario sc;
    char err[512];
    unsigned int i, seen = 0;

    ck_assert_msg(sim_scenario_load(SCENARIOS "/many-tenants.yaml", &sc,
                                    err, sizeof(err)) == 0, "%s", err);
    for ( i = 0; i < sc.nr_domains; i++ )
        seen |= 1u << sc.domains[i].workload.type;
    ck_assert_uint_eq(seen, (1u << SIM_WL_CPU) | (1u << SIM_WL_IO) |
                            (1u << SIM_WL_BURSTY) | (1u << SIM_WL_REQUEST) |
                            (1u << SIM_WL_TRACE));
    sim_scenario_free(&sc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Values and defaults                                                */

START_TEST(test_scenario_values_converted)
{
    static const char yaml[] =
        "pcpus: 4\n"
        "duration_ms: 2500\n"
        "seed: 42\n"
        "policy: rr\n"
        "context_switch_us: 1.5\n"
        "idle_audit_us: 250\n"
        "sched: {tslice_us: 30000, ratelimit_us: 1000, period_us: 10000,\n"
        "        boost: true, latency_us: 100}\n"
        "domains:\n"
        "  - name: web\n"
        "    vcpus: 3\n"
        "    weight: 512\n"
        "    cap_pct: 150\n"
        "    affinity: [1, 3]\n"
        "    workload: {type: io, run_us: 200, block_us: 800.25}\n"
        "  - name: burst\n"
        "    workload: {type: bursty, on_ms: 1.5, off_ms: 150, phase_us: 0}\n"
        "  - name: req\n"
        "    workload: {type: request, rate_hz: 100.5, service_us: 300}\n"
        "  - name: tr\n"
        "    workload: {type: trace, file: t.csv}\n";
    struct sim_scenario sc;
    char path[512], tpath[512], err[512];
    const struct sim_domain_spec *d;

    /* Relative to the scenario's directory, not the test's cwd. */
    put_file("t.csv", "# comment\nrun_us,block_us\n10,20\n\n 0.5 , 0\n",
             tpath, sizeof(tpath));
    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);

    ck_assert_str_eq(sc.path, path);
    ck_assert_uint_eq(sc.pcpus, 4);
    ck_assert_int_eq(sc.duration_ns, SCH_MSEC(2500));
    ck_assert_uint_eq(sc.seed, 42);
    ck_assert_str_eq(sc.policy, "rr");
    ck_assert_int_eq(sc.context_switch_ns, 1500);
    ck_assert_int_eq(sc.idle_audit_ns, 250000);
    ck_assert_uint_eq(sc.sched.tslice_us, 30000);
    ck_assert_uint_eq(sc.sched.ratelimit_us, 1000);
    ck_assert_uint_eq(sc.sched.period_us, 10000);
    ck_assert_uint_eq(sc.sched.boost, 1);
    ck_assert_uint_eq(sc.sched.latency_us, 100);
    ck_assert_uint_eq(sc.nr_domains, 4);

    d = &sc.domains[0];
    ck_assert_str_eq(d->name, "web");
    ck_assert_uint_eq(d->vcpus, 3);
    ck_assert_uint_eq(d->weight, 512);
    ck_assert_uint_eq(d->cap_pct, 150);
    ck_assert(!sch_cpumask_test(&d->affinity, 0));
    ck_assert(sch_cpumask_test(&d->affinity, 1));
    ck_assert(!sch_cpumask_test(&d->affinity, 2));
    ck_assert(sch_cpumask_test(&d->affinity, 3));
    ck_assert_int_eq(d->workload.type, SIM_WL_IO);
    ck_assert_int_eq(d->workload.run_ns, 200000);
    ck_assert_int_eq(d->workload.block_ns, 800250);

    d = &sc.domains[1];
    ck_assert_int_eq(d->workload.type, SIM_WL_BURSTY);
    ck_assert_int_eq(d->workload.on_ns, 1500000);
    ck_assert_int_eq(d->workload.off_ns, 150000000);
    ck_assert(d->workload.phase_set);   /* 0 is a phase, not "none" */
    ck_assert_int_eq(d->workload.phase_ns, 0);

    d = &sc.domains[2];
    ck_assert_int_eq(d->workload.type, SIM_WL_REQUEST);
    ck_assert_double_eq_tol(d->workload.rate_hz, 100.5, 1e-9);
    ck_assert_int_eq(d->workload.service_ns, 300000);

    d = &sc.domains[3];
    ck_assert_int_eq(d->workload.type, SIM_WL_TRACE);
    ck_assert_str_eq(d->workload.file, "t.csv");
    ck_assert_uint_eq(d->workload.trace_len, 4);
    ck_assert_int_eq(d->workload.trace[0], 10000);
    ck_assert_int_eq(d->workload.trace[1], 20000);
    ck_assert_int_eq(d->workload.trace[2], 500);
    ck_assert_int_eq(d->workload.trace[3], 0);
    sim_scenario_free(&sc);
    ck_assert_ptr_null(sc.domains);
}
END_TEST

START_TEST(test_scenario_defaults)
{
    static const char yaml[] =
        "pcpus: 3\n"
        "duration_ms: 10\n"
        "domains:\n"
        "  - name: only\n"
        "    workload: {type: cpu}\n";
    struct sim_scenario sc;
    char path[512], err[512];
    const struct sim_domain_spec *d;
    unsigned int cpu;

    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(sc.seed, 1);
    ck_assert_ptr_null(sc.policy);
    ck_assert_int_eq(sc.context_switch_ns, 0);
    ck_assert_int_eq(sc.idle_audit_ns, 0);
    /* absent tunables keep the policy's defaults */
    ck_assert_uint_eq(sc.sched.tslice_us, SCH_PARAM_UNCHANGED);
    ck_assert_uint_eq(sc.sched.ratelimit_us, SCH_PARAM_UNCHANGED);
    ck_assert_uint_eq(sc.sched.period_us, SCH_PARAM_UNCHANGED);
    ck_assert_uint_eq(sc.sched.boost, SCH_PARAM_UNCHANGED);
    ck_assert_uint_eq(sc.sched.latency_us, SCH_PARAM_UNCHANGED);
    d = &sc.domains[0];
    ck_assert_uint_eq(d->vcpus, 1);
    ck_assert_uint_eq(d->weight, SCH_WEIGHT_DEFAULT);
    ck_assert_uint_eq(d->cap_pct, 0);
    for ( cpu = 0; cpu < SCH_MAX_CPUS; cpu++ )
        ck_assert_int_eq(sch_cpumask_test(&d->affinity, cpu), cpu < 3);
    sim_scenario_free(&sc);
}
END_TEST

/* 0 is a setting (boost off, no rate limit), not "keep the default". */
START_TEST(test_scenario_zero_tunables_kept)
{
    static const char yaml[] =
        "pcpus: 1\n"
        "duration_ms: 10\n"
        "sched: {ratelimit_us: 0, boost: off}\n"
        "domains:\n"
        "  - name: only\n"
        "    workload: {type: cpu}\n";
    struct sim_scenario sc;
    char path[512], err[512];

    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(sc.sched.ratelimit_us, 0);
    ck_assert_uint_eq(sc.sched.boost, 0);
    ck_assert_uint_eq(sc.sched.tslice_us, SCH_PARAM_UNCHANGED);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_scenario_hostile_names_byte_exact)
{
    static const char yaml[] =
        "pcpus: 1\n"
        "duration_ms: 10\n"
        "domains:\n"
        "  - {name: \"quote\\\" back\\\\slash\", workload: {type: cpu}}\n"
        "  - {name: \"new\\nline\\ttab\\r\", workload: {type: cpu}}\n"
        "  - {name: 'single '' quote', workload: {type: cpu}}\n"
        "  - {name: \"\\x1b[31mred\\u2028\", workload: {type: cpu}}\n"
        "  - {name: \"\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe6\x97\xa5"
        "\", workload: {type: cpu}}\n"
        "  - {name: \"  spaces, commas  \", workload: {type: cpu}}\n"
        "  - name: |-\n"
        "      two\n"
        "      lines\n"
        "    workload: {type: cpu}\n";
    static const char *const want[] = {
        "quote\" back\\slash",
        "new\nline\ttab\r",
        "single ' quote",
        "\x1b[31mred\xe2\x80\xa8",
        "\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe6\x97\xa5",
        "  spaces, commas  ",
        "two\nlines",
    };
    struct sim_scenario sc;
    char path[512], err[512];
    unsigned int i;

    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(sc.nr_domains, sizeof(want) / sizeof(want[0]));
    for ( i = 0; i < sc.nr_domains; i++ )
        ck_assert_mem_eq(sc.domains[i].name, want[i], strlen(want[i]) + 1);
    sim_scenario_free(&sc);
}
END_TEST

/* Host view and lifecycle keys: converted exactly, and their defaults
 * (a domain created at 0 that lives for the whole run). */
START_TEST(test_scenario_lifecycle_values)
{
    static const char yaml[] =
        "pcpus: 2\n"
        "duration_ms: 100\n"
        "domains:\n"
        "  - name: web\n"
        "    workload: {type: cpu}\n"
        "  - name: db\n"
        "    uuid: 0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F0\n"
        "    tenant: \"acme \\\"corp\\\"\"\n"
        "    memory_mb: 2048\n"
        "    maxmem_mb: 4096\n"
        "    start_ms: 10.5\n"
        "    reboot_ms: [20, 30.000001]\n"
        "    migrate_ms: 40\n"
        "    workload: {type: cpu}\n"
        "  - name: tmp\n"
        "    memory_mb: 256\n"
        "    destroy_ms: 50\n"
        "    workload: {type: cpu}\n";
    struct sim_scenario sc;
    char path[512], err[512];
    const struct sim_domain_spec *d;

    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);
    d = &sc.domains[0];
    /* uuid5(uuid5(NAMESPACE_DNS, "sim.xenos"), "web"), from Python */
    ck_assert_str_eq(d->uuid, "23b0236f-7706-5d5b-9727-a0d8ce3d418e");
    ck_assert_ptr_null(d->tenant);
    ck_assert_uint_eq(d->memory_mb, SIM_MEMORY_MB_DEFAULT);
    ck_assert_uint_eq(d->maxmem_mb, SIM_MEMORY_MB_DEFAULT);
    ck_assert_int_eq(d->start_ns, 0);
    ck_assert_uint_eq(d->nr_reboots, 0);
    ck_assert_int_eq(d->end, SIM_END_NONE);

    d = &sc.domains[1];
    ck_assert_str_eq(d->uuid, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0");
    ck_assert_str_eq(d->tenant, "acme \"corp\"");
    ck_assert_uint_eq(d->memory_mb, 2048);
    ck_assert_uint_eq(d->maxmem_mb, 4096);
    ck_assert_int_eq(d->start_ns, 10500000);
    ck_assert_uint_eq(d->nr_reboots, 2);
    ck_assert_int_eq(d->reboot_ns[0], SCH_MSEC(20));
    ck_assert_int_eq(d->reboot_ns[1], SCH_MSEC(30) + 1);
    ck_assert_int_eq(d->end, SIM_END_MIGRATE);
    ck_assert_int_eq(d->end_ns, SCH_MSEC(40));

    d = &sc.domains[2];
    ck_assert_uint_eq(d->memory_mb, 256);
    ck_assert_uint_eq(d->maxmem_mb, 256);
    ck_assert_int_eq(d->end, SIM_END_DESTROY);
    ck_assert_int_eq(d->end_ns, SCH_MSEC(50));
    sim_scenario_free(&sc);
}
END_TEST

/* How many pCPUs @m holds. */
static unsigned int nr_cpus(const struct sch_cpumask *m)
{
    unsigned int cpu, n = 0;

    for ( cpu = 0; cpu < SCH_MAX_CPUS; cpu++ )
        n += sch_cpumask_test(m, cpu);
    return n;
}

/* Re-pins: times exact to the ns, masks as written, none by default. */
START_TEST(test_scenario_repin_values)
{
    static const char yaml[] =
        "pcpus: 4\n"
        "duration_ms: 2000\n"
        "domains:\n"
        "  - name: a\n"
        "    affinity: [0]\n"
        "    workload: {type: cpu}\n"
        "    repin:\n"
        "      - {at_ms: 500, affinity: [1]}\n"
        "      - at_ms: 1500.000001\n"
        "        affinity: [3, 0, 3]\n"
        "  - name: b\n"
        "    workload: {type: cpu}\n";
    struct sim_scenario sc;
    char path[512], err[512];
    const struct sim_domain_spec *d;

    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0,
                  "%s", err);
    d = &sc.domains[0];
    ck_assert_uint_eq(d->nr_repins, 2);
    ck_assert_int_eq(d->repin[0].at_ns, SCH_MSEC(500));
    ck_assert_uint_eq(nr_cpus(&d->repin[0].affinity), 1);
    ck_assert(sch_cpumask_test(&d->repin[0].affinity, 1));
    ck_assert_int_eq(d->repin[1].at_ns, SCH_MSEC(1500) + 1);
    ck_assert_uint_eq(nr_cpus(&d->repin[1].affinity), 2);
    ck_assert(sch_cpumask_test(&d->repin[1].affinity, 0));
    ck_assert(sch_cpumask_test(&d->repin[1].affinity, 3));
    /* The boot-time affinity is untouched by the re-pins. */
    ck_assert_uint_eq(nr_cpus(&d->affinity), 1);
    ck_assert(sch_cpumask_test(&d->affinity, 0));
    ck_assert_uint_eq(sc.domains[1].nr_repins, 0);
    ck_assert_ptr_null(sc.domains[1].repin);
    sim_scenario_free(&sc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad files                                                          */

#define HEAD "pcpus: 2\nduration_ms: 100\ndomains:\n"   /* lines 1-3 */
#define CPU  "    workload: {type: cpu}\n"
#define X50  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X500 X50 X50 X50 X50 X50 X50 X50 X50 X50 X50
#define LONG_1100 X500 X500 X50 X50                  /* a trace line */

static const struct bad_case {
    const char *file;
    const char *yaml;           /* NULL: the file does not exist */
    int rc;
    unsigned int line;          /* 0: the message has no line */
    const char *field;          /* must be in the message, if not NULL */
    const char *why;            /* must be in the message too */
    const char *aux, *aux_text; /* another file the scenario refers to */
} bad_cases[] = {
    { "syntax.yaml", "pcpus: 2\nduration_ms: 100: 5\ndomains: []\n",
      -EINVAL, 2, NULL, "YAML syntax error", NULL, NULL },
    { "syntax-flow.yaml", HEAD "  - name: a\n    workload: {type: cpu\n",
      -EINVAL, 6, NULL, "flow mapping at line 5", NULL, NULL },
    { "unknown-key.yaml", "pcpus: 2\nduration_ms: 100\npcpu: 3\n"
      "domains:\n  - name: a\n" CPU,
      -EINVAL, 3, "pcpu", "unexpected key 'pcpu'", NULL, NULL },
    { "unknown-domain-key.yaml", HEAD "  - name: a\n    wieght: 3\n" CPU,
      -EINVAL, 5, "domains[0]", "unexpected key 'wieght'", NULL, NULL },
    { "missing-pcpus.yaml", "# a comment\nduration_ms: 100\n"
      "domains:\n  - name: a\n" CPU,
      -EINVAL, 2, "pcpus", "missing required key", NULL, NULL },
    { "missing-workload.yaml", HEAD "  - name: a\n  - name: b\n" CPU,
      -EINVAL, 4, "domains[0]", "missing required key 'workload'",
      NULL, NULL },
    { "pcpus-zero.yaml", "pcpus: 0\nduration_ms: 100\n"
      "domains:\n  - name: a\n" CPU,
      -EINVAL, 1, "pcpus", "must be 1..256, not 0", NULL, NULL },
    { "duration-unit.yaml", "pcpus: 1\nduration_ms: 10s\n"
      "domains:\n  - name: a\n" CPU,
      -EINVAL, 2, "duration_ms", "must be an integer, not '10s'",
      NULL, NULL },
    { "weight-zero.yaml", HEAD "  - name: a\n" CPU
      "  - name: b\n    weight: 0\n" CPU,
      -EINVAL, 7, "domains[1].weight", "must be 1..65535, not 0",
      NULL, NULL },
    { "weight-big.yaml", HEAD "  - name: a\n    weight: 70000\n" CPU,
      -EINVAL, 5, "domains[0].weight", "must be 1..65535, not 70000",
      NULL, NULL },
    { "weight-float.yaml", HEAD "  - name: a\n    weight: 1.5\n" CPU,
      -EINVAL, 5, "domains[0].weight", "must be an integer", NULL, NULL },
    { "cap-negative.yaml", HEAD "  - name: a\n    cap_pct: -5\n" CPU,
      -EINVAL, 5, "domains[0].cap_pct", "must be 0..200, not -5",
      NULL, NULL },
    { "cap-big.yaml", HEAD "  - name: a\n    cap_pct: 201\n" CPU,
      -EINVAL, 5, "domains[0].cap_pct", "must be 0..200, not 201",
      NULL, NULL },
    { "vcpus-zero.yaml", HEAD "  - name: a\n    vcpus: 0\n" CPU,
      -EINVAL, 5, "domains[0].vcpus", "must be 1..1024", NULL, NULL },
    { "duplicate-name.yaml", HEAD "  - name: a\n" CPU "  - name: b\n" CPU
      "  - name: a\n" CPU,
      -EINVAL, 8, "domains[2].name",
      "duplicate domain name 'a' (first at line 4)", NULL, NULL },
    { "empty-name.yaml", HEAD "  - name: ''\n" CPU,
      -EINVAL, 4, "domains[0].name", "must not be empty", NULL, NULL },
    { "nul-in-name.yaml", HEAD "  - name: \"a\\0b\"\n" CPU,
      -EINVAL, 4, NULL, "NUL byte", NULL, NULL },
    { "key-twice.yaml", HEAD "  - name: a\n    weight: 1\n    weight: 2\n"
      CPU, -EINVAL, 6, "domains[0].weight", "given twice", NULL, NULL },
    { "workload-type.yaml", HEAD "  - name: a\n" CPU "  - name: b\n"
      "    workload: {type: cpux}\n",
      -EINVAL, 7, "domains[1].workload.type",
      "unknown workload type 'cpux'", NULL, NULL },
    { "io-no-block.yaml", HEAD "  - name: a\n    workload:\n"
      "      type: io\n      run_us: 100\n",
      -EINVAL, 5, "domains[0].workload.block_us",
      "required for workload type 'io'", NULL, NULL },
    { "io-zero-run.yaml", HEAD "  - name: a\n    workload:\n"
      "      type: io\n      run_us: 0\n      block_us: 5\n",
      -EINVAL, 7, "domains[0].workload.run_us", "must be > 0", NULL, NULL },
    { "cpu-with-run.yaml", HEAD "  - name: a\n    workload:\n"
      "      type: cpu\n      run_us: 100\n",
      -EINVAL, 7, "domains[0].workload.run_us",
      "not used by workload type 'cpu'", NULL, NULL },
    { "io-with-phase.yaml", HEAD "  - name: a\n    workload: {type: io,"
      " run_us: 1, block_us: 1, phase_us: 5}\n",
      -EINVAL, 5, "domains[0].workload.phase_us",
      "not used by workload type 'io'", NULL, NULL },
    { "request-no-rate.yaml", HEAD "  - name: a\n"
      "    workload: {type: request, service_us: 5}\n",
      -EINVAL, 5, "domains[0].workload.rate_hz", "required", NULL, NULL },
    { "bursty-precision.yaml", HEAD "  - name: a\n"
      "    workload: {type: bursty, on_ms: 0.0000001, off_ms: 5}\n",
      -EINVAL, 5, "domains[0].workload.on_ms", "at most 6 decimals",
      NULL, NULL },
    { "affinity-range.yaml", HEAD "  - name: a\n    affinity:\n"
      "      - 0\n      - 2\n" CPU,
      -EINVAL, 7, "domains[0].affinity[1]", "must be 0..1, not 2",
      NULL, NULL },
    { "affinity-empty.yaml", HEAD "  - name: a\n    affinity: []\n" CPU,
      -EINVAL, 5, "domains[0].affinity", "at least 1 entry", NULL, NULL },
    { "trace-missing.yaml", HEAD "  - name: a\n"
      "    workload: {type: trace, file: nope.csv}\n",
      -ENOENT, 5, "domains[0].workload.file", "cannot open trace 'nope.csv'",
      NULL, NULL },
    { "trace-bad-line.yaml", HEAD "  - name: a\n"
      "    workload: {type: trace, file: bad.csv}\n",
      -EINVAL, 5, "domains[0].workload.file", "bad.csv:3:",
      "bad.csv", "# run,block\n100,50\n100;50\n" },
    { "trace-dev-zero.yaml", HEAD "  - name: a\n"
      "    workload: {type: trace, file: /dev/zero}\n",
      -EINVAL, 5, "domains[0].workload.file",
      "trace '/dev/zero' must be a regular file of at most 64 MiB",
      NULL, NULL },
    { "trace-long-line.yaml", HEAD "  - name: a\n"
      "    workload: {type: trace, file: long.csv}\n",
      -EINVAL, 5, "domains[0].workload.file",
      "long.csv:2: line longer than 1024 bytes", "long.csv",
      "100,50\n#" LONG_1100 "\n" },
    { "trace-empty.yaml", HEAD "  - name: a\n"
      "    workload: {type: trace, file: empty.csv}\n",
      -EINVAL, 5, "domains[0].workload.file", "no run_us,block_us lines",
      "empty.csv", "# nothing\n\n" },
    { "no-domains.yaml", "pcpus: 2\nduration_ms: 100\ndomains: []\n",
      -EINVAL, 3, "domains", "at least 1 entry", NULL, NULL },
    { "domains-scalar.yaml", "pcpus: 2\nduration_ms: 100\ndomains: 5\n",
      -EINVAL, 3, "domains", "expected a list", NULL, NULL },
    { "sched-scalar.yaml", "pcpus: 2\nduration_ms: 100\nsched: 5\n"
      "domains:\n  - name: a\n" CPU,
      -EINVAL, 3, "sched", "expected a mapping", NULL, NULL },
    { "tslice-negative.yaml", "pcpus: 2\nduration_ms: 100\n"
      "sched: {tslice_us: -1}\ndomains:\n  - name: a\n" CPU,
      -EINVAL, 3, "sched.tslice_us", "must be 0..100000000, not -1",
      NULL, NULL },
    { "boost.yaml", "pcpus: 2\nduration_ms: 100\nsched:\n  boost: maybe\n"
      "domains:\n  - name: a\n" CPU,
      -EINVAL, 4, "sched.boost", "not 'maybe'", NULL, NULL },
    { "uuid-bad.yaml", HEAD "  - name: a\n    uuid: 1234\n" CPU,
      -EINVAL, 5, "domains[0].uuid", "must be a uuid", NULL, NULL },
    { "uuid-twice.yaml", HEAD "  - name: a\n"
      "    uuid: 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0\n" CPU
      "  - name: b\n    uuid: 0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F0\n" CPU,
      -EINVAL, 8, "domains[1].uuid",
      "duplicate uuid 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 (first at line "
      "5)", NULL, NULL },
    { "tenant-empty.yaml", HEAD "  - name: a\n    tenant: ''\n" CPU,
      -EINVAL, 5, "domains[0].tenant", "must not be empty", NULL, NULL },
    { "memory-zero.yaml", HEAD "  - name: a\n    memory_mb: 0\n" CPU,
      -EINVAL, 5, "domains[0].memory_mb", "must be 1..16777216, not 0",
      NULL, NULL },
    { "maxmem-small.yaml", HEAD "  - name: a\n    memory_mb: 1024\n"
      "    maxmem_mb: 512\n" CPU,
      -EINVAL, 6, "domains[0].maxmem_mb", "must be 1024..16777216, not 512",
      NULL, NULL },
    { "start-negative.yaml", HEAD "  - name: a\n    start_ms: -1\n" CPU,
      -EINVAL, 5, "domains[0].start_ms", "must be >= 0", NULL, NULL },
    { "reboot-before-start.yaml", HEAD "  - name: a\n    start_ms: 50\n"
      "    reboot_ms: [50]\n" CPU,
      -EINVAL, 6, "domains[0].reboot_ms[0]",
      "must be after start_ms (50), not 50", NULL, NULL },
    { "reboot-order.yaml", HEAD "  - name: a\n"
      "    reboot_ms: [10, 30.5, 20]\n" CPU,
      -EINVAL, 5, "domains[0].reboot_ms[2]",
      "must be after the reboot before (30.5), not 20", NULL, NULL },
    { "reboot-scalar.yaml", HEAD "  - name: a\n    reboot_ms: 10\n" CPU,
      -EINVAL, 5, "domains[0].reboot_ms", "expected a list", NULL, NULL },
    { "migrate-and-destroy.yaml", HEAD "  - name: a\n    migrate_ms: 10\n"
      "    destroy_ms: 20\n" CPU,
      -EINVAL, 6, "domains[0].destroy_ms", "give migrate_ms or destroy_ms",
      NULL, NULL },
    { "destroy-before-reboot.yaml", HEAD "  - name: a\n"
      "    reboot_ms: [40]\n    destroy_ms: 40\n" CPU,
      -EINVAL, 6, "domains[0].destroy_ms",
      "must be after the last reboot (40), not 40", NULL, NULL },
    { "migrate-unit.yaml", HEAD "  - name: a\n    migrate_ms: 10s\n" CPU,
      -EINVAL, 5, "domains[0].migrate_ms", "must be a number", NULL, NULL },
    { "repin-zero.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 0, affinity: [1]}\n",
      -EINVAL, 7, "domains[0].repin[0].at_ms",
      "must be after the start of the run (0), not 0", NULL, NULL },
    { "repin-negative.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: -5, affinity: [1]}\n",
      -EINVAL, 7, "domains[0].repin[0].at_ms", "must be >= 0, not -5",
      NULL, NULL },
    { "repin-at-end.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 10, affinity: [1]}\n"
      "      - {at_ms: 100, affinity: [0]}\n",
      -EINVAL, 8, "domains[0].repin[1].at_ms",
      "must be before the end of the run (duration_ms 100), not 100",
      NULL, NULL },
    { "repin-order.yaml", HEAD "  - name: a\n" CPU "  - name: b\n" CPU
      "    repin:\n      - at_ms: 50.5\n        affinity: [1]\n"
      "      - at_ms: 40\n        affinity: [0]\n",
      -EINVAL, 11, "domains[1].repin[1].at_ms",
      "must be after the re-pin before (50.5), not 40", NULL, NULL },
    { "repin-same-time.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 50, affinity: [1]}\n"
      "      - {at_ms: 50, affinity: [0]}\n",
      -EINVAL, 8, "domains[0].repin[1].at_ms",
      "must be after the re-pin before (50), not 50", NULL, NULL },
    { "repin-unit.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 5s, affinity: [1]}\n",
      -EINVAL, 7, "domains[0].repin[0].at_ms", "must be a number",
      NULL, NULL },
    { "repin-cpu-range.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - at_ms: 5\n        affinity:\n"
      "          - 1\n          - 2\n",
      -EINVAL, 10, "domains[0].repin[0].affinity[1]", "must be 0..1, not 2",
      NULL, NULL },
    { "repin-cpu-word.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 5, affinity: [one]}\n",
      -EINVAL, 7, "domains[0].repin[0].affinity[0]",
      "must be an integer, not 'one'", NULL, NULL },
    { "repin-affinity-empty.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 5, affinity: []}\n",
      -EINVAL, 7, "domains[0].repin[0].affinity", "at least 1 entry",
      NULL, NULL },
    { "repin-no-affinity.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 5}\n",
      -EINVAL, 7, "domains[0].repin[0]", "missing required key 'affinity'",
      NULL, NULL },
    { "repin-no-time.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - affinity: [1]\n",
      -EINVAL, 7, "domains[0].repin[0]", "missing required key 'at_ms'",
      NULL, NULL },
    { "repin-unknown-key.yaml", HEAD "  - name: a\n" CPU
      "    repin:\n      - {at_ms: 5, afinity: [1]}\n",
      -EINVAL, 7, "domains[0].repin[0]", "unexpected key 'afinity'",
      NULL, NULL },
    { "repin-scalar.yaml", HEAD "  - name: a\n" CPU "    repin: 5\n",
      -EINVAL, 6, "domains[0].repin", "expected a list", NULL, NULL },
    { "top-scalar.yaml", "hello\n",
      -EINVAL, 1, NULL, "expected a mapping", NULL, NULL },
    { "not-utf8.yaml", HEAD "  - name: a\xff\n" CPU,
      -EINVAL, 4, NULL, "not valid UTF-8", NULL, NULL },
    { "empty.yaml", "", -EINVAL, 0, NULL, "empty file", NULL, NULL },
    { "comments.yaml", "# just a comment\n", -EINVAL, 0, NULL,
      "empty file", NULL, NULL },
    { "nonexistent.yaml", NULL, -ENOENT, 0, NULL,
      "No such file or directory", NULL, NULL },
};

START_TEST(test_scenario_bad_file_rejected)
{
    const struct bad_case *bc = &bad_cases[_i];
    struct sim_scenario sc;
    char path[512], aux[512], err[1024], prefix[600];
    int rc;

    if ( bc->aux )
        put_file(bc->aux, bc->aux_text, aux, sizeof(aux));
    if ( bc->yaml )
        put_file(bc->file, bc->yaml, path, sizeof(path));
    else
        snprintf(path, sizeof(path), "%s/%s", tmpdir, bc->file);

    memset(&sc, 0xa5, sizeof(sc));
    err[0] = '\0';
    rc = sim_scenario_load(path, &sc, err, sizeof(err));
    ck_assert_msg(rc == bc->rc, "%s: rc %d, want %d (%s)", bc->file, rc,
                  bc->rc, err);

    /* "FILE:LINE: " with the right line, or "FILE: " when none. */
    if ( bc->line )
        snprintf(prefix, sizeof(prefix), "%s:%u: ", path, bc->line);
    else
        snprintf(prefix, sizeof(prefix), "%s: ", path);
    ck_assert_msg(!strncmp(err, prefix, strlen(prefix)),
                  "%s: message '%s' does not start with '%s'", bc->file,
                  err, prefix);
    if ( bc->field )
        ck_assert_msg(strstr(err + strlen(prefix), bc->field),
                      "%s: no field '%s' in '%s'", bc->file, bc->field,
                      err);
    ck_assert_msg(strstr(err, bc->why), "%s: no '%s' in '%s'", bc->file,
                  bc->why, err);
    ck_assert_msg(!strchr(err, '\n'), "%s: message spans lines", bc->file);

    /* Nothing allocated, nothing left to free. */
    ck_assert_ptr_null(sc.domains);
    ck_assert_ptr_null(sc.path);
    ck_assert_uint_eq(sc.nr_domains, 0);
    sim_scenario_free(&sc);
}
END_TEST

/* A hostile key must not break the message onto two lines or reach the
 * terminal raw. */
START_TEST(test_scenario_error_escapes_file_text)
{
    static const char yaml[] =
        HEAD "  - name: a\n    \"x\\ny\\e[2J\": 1\n" CPU;
    struct sim_scenario sc;
    char path[512], err[1024];

    put_file("s.yaml", yaml, path, sizeof(path));
    ck_assert_int_eq(sim_scenario_load(path, &sc, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unexpected key 'x\\ny\\x1b[2J'"));
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_ptr_null(strchr(err, '\x1b'));
}
END_TEST

/* A small buffer gets a cut, terminated message, and the error stands. */
START_TEST(test_scenario_small_error_buffer)
{
    struct sim_scenario sc;
    char path[512], err[16];

    put_file("s.yaml", HEAD "  - name: a\n    weight: 0\n" CPU, path,
             sizeof(path));
    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(sim_scenario_load(path, &sc, err, sizeof(err)),
                     -EINVAL);
    ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
    ck_assert_int_eq(sim_scenario_load(path, &sc, NULL, 0), -EINVAL);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("examples");

    tcase_add_loop_test(tc, test_scenario_example_loads, 0,
                        sizeof(examples) / sizeof(examples[0]));
    tcase_add_test(tc, test_scenario_every_example_listed);
    tcase_add_test(tc, test_scenario_compare_scenarios_load);
    tcase_add_test(tc, test_scenario_many_tenants_has_every_workload);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_scenario_values_converted);
    tcase_add_test(tc, test_scenario_defaults);
    tcase_add_test(tc, test_scenario_zero_tunables_kept);
    tcase_add_test(tc, test_scenario_hostile_names_byte_exact);
    tcase_add_test(tc, test_scenario_lifecycle_values);
    tcase_add_test(tc, test_scenario_repin_values);
    tcase_add_loop_test(tc, test_scenario_bad_file_rejected, 0,
                        sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_scenario_error_escapes_file_text);
    tcase_add_test(tc, test_scenario_small_error_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scenario_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
