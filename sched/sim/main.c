/*
 * main.c: xenos-sim, the simulator's command line.
 *
 * Loads a scenario, picks the policy (--policy, else the scenario's, else
 * credit), runs the simulated host to the end of the scenario and prints
 * what each domain got: a table, or one JSON object with --json; --csv DIR
 * also writes domains.csv and windows.csv, --plot DIR pictures (plot.c).
 * `xenos-sim compare` runs policies over scenarios into one report
 * (compare.c).
 *
 * The run goes in steps of 1% of its duration, so a long one can draw a
 * progress bar.  The bar goes to stderr, only when that is a terminal and
 * only once the run has taken a second, so pipes, logs and quick runs see
 * nothing of it, and stdout holds the report alone.
 *
 * --from-xentrace FILE --domain N --out DIR instead turns an xentrace
 * recording of a real host into a scenario that replays domain N
 * (xentrace.c) and prints the recording's figures as JSON.
 *
 * Exit status: 0 done; 1 the run or its output failed; 2 bad usage, bad
 * scenario, unknown policy or bad recording (nothing is written to stdout
 * then).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenos/cfg.h>
#include <xenos/cli.h>
#include <xenos/num.h>
#include <xenos/plot.h>
#include <xenos/sched.h>
#include <xenos/sim.h>
#include <stdint.h>
#include <xenos/xentrace.h>

#define XS_EXIT_FAIL    1
#define XS_EXIT_USAGE   2

#define XS_DEFAULT_POLICY   "credit"
#define XS_STEPS            100         /* progress granularity: 1% */
#define XS_BAR_AFTER_NS     1000000000  /* wall time before a bar shows */
#define XS_BAR_WIDTH        40
/* Same bound as a scenario's duration_ms: a day of simulated time. */
#define XS_DURATION_MS_MAX  86400000

struct xs_opts {
    const char *scenario;
    const char *policy;
    const char *csv_dir;
    const char *plot_dir;
    const char *duration_arg;
    const char *seed_arg;
    const char *xentrace, *domain_arg, *out_dir, *tsc_khz_arg;
    bool json;
};

static void xs_usage(FILE *f)
{
    fprintf(f,
            "usage: xenos-sim SCENARIO [options]\n"
            "       xenos-sim compare --out DIR [--policies P,Q,...]\n"
            "                 [--max-duration-ms N] SCENARIO...\n"
            "       xenos-sim --from-xentrace FILE --domain N --out DIR "
            "[--tsc-khz K]\n"
            "Run a scenario (YAML) on a simulated Xen host and report what\n"
            "each domain got; compare: run each scenario under each policy"
            "\ninto one report, DIR/index.html (compare --help); or turn an\n"
            "xentrace recording of a real host into a scenario that replays\n"
            "domain N (DIR/scenario.yaml) and print the recording's figures\n"
            "as JSON.\n"
            "\n"
            "  --policy P        scheduling policy (default: the scenario's,"
            " else %s)\n"
            "  --duration-ms N   simulated time, overriding the scenario's\n"
            "  --seed N          random seed, overriding the scenario's\n"
            "  --json            print one JSON object instead of a table\n"
            "  --csv DIR         also write DIR/domains.csv, "
            "DIR/windows.csv\n"
            "  --plot DIR        also draw DIR/share.png, wake-cdf.png and"
            " cap.png\n"
            "  --list-policies   list the policies, one a line, and exit\n"
            "  --from-xentrace FILE  the raw file xentrace wrote\n"
            "  --domain N        the domain (domid) to replay\n"
            "  --out DIR         where the scenario and its traces go\n"
            "  --tsc-khz K       the recording's TSC rate (default: measured"
            "\n"
            "                    from its switch-out records)\n"
            "  --version         print the version and exit\n"
            "  --help            show this and exit\n"
            "\n"
            "Exit status: 0 done, 1 run or output failed, 2 bad usage,\n"
            "scenario, policy or recording.\n", XS_DEFAULT_POLICY);
}

/* Names only, one a line: scripts loop over them (bench/run). */
static void xs_list_policies(FILE *f)
{
    const struct sch_ops *const *p;

    for ( p = sch_policies; *p; p++ )
        fprintf(f, "%s\n", (*p)->opt_name);
}

/* "credit, rr": for a message about an unknown policy. */
static void xs_known_policies(FILE *f)
{
    const struct sch_ops *const *p;

    for ( p = sch_policies; *p; p++ )
        fprintf(f, "%s%s", p == sch_policies ? "" : ", ", (*p)->opt_name);
}

/* Returns -1 to go on, or the exit status. */
static int xs_parse_args(int argc, char **argv, struct xs_opts *o)
{
    enum {
        OPT_POLICY = 256, OPT_DURATION, OPT_SEED, OPT_JSON, OPT_CSV,
        OPT_PLOT, OPT_LIST, OPT_HELP, OPT_XENTRACE, OPT_DOMAIN, OPT_OUT,
        OPT_TSC,
    };
    static const struct option longopts[] = {
        { "policy", required_argument, NULL, OPT_POLICY },
        { "duration-ms", required_argument, NULL, OPT_DURATION },
        { "seed", required_argument, NULL, OPT_SEED },
        { "json", no_argument, NULL, OPT_JSON },
        { "csv", required_argument, NULL, OPT_CSV },
        { "plot", required_argument, NULL, OPT_PLOT },
        { "list-policies", no_argument, NULL, OPT_LIST },
        { "from-xentrace", required_argument, NULL, OPT_XENTRACE },
        { "domain", required_argument, NULL, OPT_DOMAIN },
        { "out", required_argument, NULL, OPT_OUT },
        { "tsc-khz", required_argument, NULL, OPT_TSC },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, CLI_OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ( (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1 )
    {
        switch ( c )
        {
        case OPT_POLICY:
            o->policy = optarg;
            break;
        case OPT_DURATION:
            o->duration_arg = optarg;
            break;
        case OPT_SEED:
            o->seed_arg = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_CSV:
            o->csv_dir = optarg;
            break;
        case OPT_PLOT:
            o->plot_dir = optarg;
            break;
        case OPT_XENTRACE:
            o->xentrace = optarg;
            break;
        case OPT_DOMAIN:
            o->domain_arg = optarg;
            break;
        case OPT_OUT:
            o->out_dir = optarg;
            break;
        case OPT_TSC:
            o->tsc_khz_arg = optarg;
            break;
        case OPT_LIST:
            xs_list_policies(stdout);
            return fflush(stdout) ? XS_EXIT_FAIL : 0;
        case 'h':
        case OPT_HELP:
            xs_usage(stdout);
            return fflush(stdout) ? XS_EXIT_FAIL : 0;
        case CLI_OPT_VERSION:
            return cli_version("xenos-sim");
        default:
            return cli_bad_option("xenos-sim", c, argv);
        }
    }
    if ( o->xentrace || o->domain_arg || o->out_dir || o->tsc_khz_arg )
    {
        if ( !o->xentrace || !o->domain_arg || !o->out_dir )
            return cli_usage_error("xenos-sim", "--from-xentrace, --domain "
                                   "and --out go together");
        if ( optind != argc )
            return cli_usage_error("xenos-sim", "no SCENARIO with "
                                   "--from-xentrace");
        return -1;
    }
    if ( optind != argc - 1 )
        return cli_usage_error("xenos-sim", "%s", optind == argc
                               ? "no SCENARIO given" : "one SCENARIO only");
    o->scenario = argv[optind];
    return -1;
}

static int xs_number(const char *opt, const char *arg, int64_t min,
                     int64_t max, int64_t *out)
{
    char esc[64];
    int rc = num_parse_int(arg, min, max, out);

    if ( !rc )
        return 0;
    cfg_escape_msg(esc, sizeof(esc), arg);
    if ( rc == -EINVAL )
        fprintf(stderr, "xenos-sim: %s: must be an integer, not '%s'\n",
                opt, esc);
    else
        fprintf(stderr, "xenos-sim: %s: must be %" PRId64 "..%" PRId64
                ", not %s\n", opt, min, max, esc);
    return -EINVAL;
}

/* The policy to run, or NULL after saying why not. */
static const struct sch_ops *xs_policy(const struct xs_opts *o,
                                       const struct sim_scenario *sc)
{
    const char *name = o->policy ? o->policy
                     : sc->policy ? sc->policy : XS_DEFAULT_POLICY;
    const struct sch_ops *ops = sch_policy_find(name);
    const char *const keys[] = { "policy" };
    char esc[128];
    unsigned int line;

    if ( ops )
        return ops;
    cfg_escape_msg(esc, sizeof(esc), name);
    fprintf(stderr, "xenos-sim: ");
    /* Named by the scenario: point at the line, as for any bad value. */
    if ( !o->policy )
    {
        cfg_escape_msg(esc, sizeof(esc), sc->path);
        fprintf(stderr, "%s", esc);
        if ( cfg_locate(sc->path, keys, 1, &line) == 0 )
            fprintf(stderr, ":%u", line);
        fprintf(stderr, ": policy: ");
        cfg_escape_msg(esc, sizeof(esc), name);
    }
    fprintf(stderr, "unknown policy '%s' (known: ", esc);
    xs_known_policies(stderr);
    fprintf(stderr, ")\n");
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Progress                                                           */

struct xs_progress {
    bool tty;
    bool shown;
    struct timespec start;
};

static int64_t xs_wall_ns(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - since->tv_sec) * 1000000000 +
           (now.tv_nsec - since->tv_nsec);
}

static void xs_progress_init(struct xs_progress *p)
{
    p->tty = isatty(STDERR_FILENO);
    p->shown = false;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

/* A bar of XS_BAR_WIDTH characters, @ppm millionths of it filled. */
static void xs_bar(char bar[XS_BAR_WIDTH + 1], uint64_t ppm)
{
    int fill = (int)(ppm * XS_BAR_WIDTH / 1000000);

    memset(bar, '#', (size_t)fill);
    memset(bar + fill, ' ', (size_t)(XS_BAR_WIDTH - fill));
    bar[XS_BAR_WIDTH] = '\0';
}

static void xs_progress(struct xs_progress *p, sch_time_t done,
                        sch_time_t total)
{
    char bar[XS_BAR_WIDTH + 1];

    if ( !p->tty || (!p->shown && xs_wall_ns(&p->start) < XS_BAR_AFTER_NS) )
        return;
    p->shown = true;
    xs_bar(bar, (uint64_t)(done * 1000000 / total));
    fprintf(stderr, "\r[%s] %3d%%  %.1f/%.1f s simulated", bar,
            (int)(done * 100 / total), (double)done / 1e9,
            (double)total / 1e9);
    fflush(stderr);
}

/* Wipe the bar, so the terminal holds only the report. */
static void xs_progress_end(struct xs_progress *p)
{
    if ( p->shown )
        fprintf(stderr, "\r%*s\r", XS_BAR_WIDTH + 40, "");
}

/* ------------------------------------------------------------------ */
/* xenos-sim compare                                                  */

#define XS_CMP_MAX_MS_DEFAULT   60000   /* demo-host runs a day */

static void xs_cmp_usage(FILE *f)
{
    fprintf(f,
            "usage: xenos-sim compare -o DIR [options] SCENARIO...\n"
            "Run each scenario under each policy and write one report:\n"
            "DIR/index.html (who wins what, with a picture per scenario)\n"
            "and DIR/results.csv.\n"
            "\n"
            "  -o, --out DIR          where the report goes (made if "
            "missing)\n"
            "  --policies P,Q,...     the policies (default: every one, "
            "as\n"
            "                         --list-policies names them)\n"
            "  --max-duration-ms N    cut longer scenarios there (default"
            " %d;\n"
            "                         0: run each for its own duration)\n"
            "  --help                 show this and exit\n"
            "\n"
            "A progress bar goes to stderr when it is a terminal, a line "
            "per run\notherwise. Exit status: 0 done, 1 a run or the "
            "report failed,\n2 bad usage, scenario or policy.\n",
            XS_CMP_MAX_MS_DEFAULT);
}

struct xs_cmp_prog {
    bool tty;
};

static void xs_cmp_progress(void *arg, unsigned int run, unsigned int nr,
                            const char *scenario, const char *policy,
                            unsigned int ppm)
{
    const struct xs_cmp_prog *p = arg;
    char bar[XS_BAR_WIDTH + 1], esc[48];

    cfg_escape_msg(esc, sizeof(esc), scenario);
    if ( !p->tty )
    {
        /* A log gets a line per run, not a hundred. */
        if ( ppm == 0 )
            fprintf(stderr, "xenos-sim compare: run %u/%u: %s under %s\n",
                    run + 1, nr, esc, policy);
        return;
    }
    xs_bar(bar, ((uint64_t)run * 1000000 + ppm) / nr);
    fprintf(stderr, "\r[%s] %u/%u %-28.28s %-8.8s %3u%%", bar, run + 1, nr,
            esc, policy, ppm / 10000);
    if ( run + 1 == nr && ppm == 1000000 )
        fprintf(stderr, "\r%*s\r", XS_BAR_WIDTH + 60, "");
    fflush(stderr);
}

/* The policies of "a,b,c" into @ops (room for every registered one). */
static int xs_cmp_policies(const char *list, const struct sch_ops **ops,
                           unsigned int *nr)
{
    const struct sch_ops *const *p;
    char name[64], esc[128];
    const char *s = list;

    *nr = 0;
    if ( !list )
    {
        for ( p = sch_policies; *p; p++ )
            ops[(*nr)++] = *p;
        return 0;
    }
    if ( !*s )
    {
        fprintf(stderr, "xenos-sim compare: --policies: no policy named "
                "(known: ");
        xs_known_policies(stderr);
        fprintf(stderr, ")\n");
        return -EINVAL;
    }
    while ( *s )
    {
        size_t n = strcspn(s, ",");
        unsigned int i;

        snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), s);
        ops[*nr] = sch_policy_find(name);
        cfg_escape_msg(esc, sizeof(esc), name);
        if ( !ops[*nr] || n >= sizeof(name) )
        {
            fprintf(stderr, "xenos-sim compare: --policies: unknown "
                    "policy '%s' (known: ", esc);
            xs_known_policies(stderr);
            fprintf(stderr, ")\n");
            return -EINVAL;
        }
        for ( i = 0; i < *nr; i++ )
            if ( ops[i] == ops[*nr] )
            {
                fprintf(stderr, "xenos-sim compare: --policies: '%s' "
                        "twice\n", esc);
                return -EINVAL;
            }
        (*nr)++;
        s += n;
        if ( *s == ',' && *++s == '\0' )
        {
            fprintf(stderr, "xenos-sim compare: --policies: ends in a "
                    "comma\n");
            return -EINVAL;
        }
    }
    return 0;
}

static int xs_compare(int argc, char **argv)
{
    enum { OPT_POLICIES = 256, OPT_MAX, OPT_HELP };
    static const struct option longopts[] = {
        { "out", required_argument, NULL, 'o' },
        { "policies", required_argument, NULL, OPT_POLICIES },
        { "max-duration-ms", required_argument, NULL, OPT_MAX },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const struct sch_ops *const *p;
    const struct sch_ops **ops;
    const char *policies = NULL, *max_arg = NULL;
    struct sim_compare_opts o = { 0 };
    struct xs_cmp_prog prog;
    char err[1024], esc[256];
    int64_t max_ms = XS_CMP_MAX_MS_DEFAULT;
    int c;

    opterr = 0;
    optind = 1;
    while ( (c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1 )
    {
        switch ( c )
        {
        case 'o':
            o.out_dir = optarg;
            break;
        case OPT_POLICIES:
            policies = optarg;
            break;
        case OPT_MAX:
            max_arg = optarg;
            break;
        case 'h':
        case OPT_HELP:
            xs_cmp_usage(stdout);
            return fflush(stdout) ? XS_EXIT_FAIL : 0;
        default:
            return cli_bad_option("xenos-sim compare", c, argv);
        }
    }
    if ( !o.out_dir )
        return cli_usage_error("xenos-sim compare", "%s",
                               "no -o DIR given");
    if ( optind == argc )
        return cli_usage_error("xenos-sim compare", "%s",
                               "no SCENARIO given");
    if ( max_arg && xs_number("--max-duration-ms", max_arg, 0,
                              XS_DURATION_MS_MAX, &max_ms) )
        return XS_EXIT_USAGE;
    for ( p = sch_policies; *p; p++ )
        ;
    /* Room for each once: --policies refuses a repeat. */
    ops = calloc((size_t)(p - sch_policies) + 1, sizeof(*ops));
    if ( !ops )
    {
        fprintf(stderr, "xenos-sim compare: out of memory\n");
        return XS_EXIT_FAIL;
    }
    if ( xs_cmp_policies(policies, ops, &o.nr_policies) )
    {
        free(ops);
        return XS_EXIT_USAGE;
    }

    prog.tty = isatty(STDERR_FILENO);
    o.scenarios = (const char *const *)argv + optind;
    o.nr_scenarios = (unsigned int)(argc - optind);
    o.policies = ops;
    o.max_duration_ns = SCH_MSEC(max_ms);
    o.progress = xs_cmp_progress;
    o.arg = &prog;
    c = sim_compare(&o, err, sizeof(err));
    free(ops);
    if ( c )
    {
        cfg_escape_msg(esc, sizeof(esc), o.out_dir);
        if ( c == -EINVAL )
            fprintf(stderr, "xenos-sim compare: %s\n", err);
        else
            fprintf(stderr, "xenos-sim compare: writing the report into "
                    "%s: %s\n", esc, err);
        return c == -EINVAL ? XS_EXIT_USAGE : XS_EXIT_FAIL;
    }
    printf("%s/index.html\n", o.out_dir);
    return 0;
}

/* ------------------------------------------------------------------ */

static int xs_run(const struct xs_opts *o, struct sim_scenario *sc)
{
    const struct sch_ops *ops;
    struct xs_progress prog;
    struct sim_result res;
    char err[512];
    struct sim *sim;
    sch_time_t t = 0, step;
    int64_t v;
    int rc, status = 0;

    if ( o->duration_arg )
    {
        if ( xs_number("--duration-ms", o->duration_arg, 1,
                       XS_DURATION_MS_MAX, &v) )
            return XS_EXIT_USAGE;
        sc->duration_ns = SCH_MSEC(v);
    }
    if ( o->seed_arg )
    {
        if ( xs_number("--seed", o->seed_arg, 0, INT64_MAX, &v) )
            return XS_EXIT_USAGE;
        sc->seed = (uint64_t)v;
    }
    ops = xs_policy(o, sc);
    if ( !ops )
        return XS_EXIT_USAGE;

    err[0] = '\0';
    sim = sim_alloc(sc, ops, err, sizeof(err));
    if ( !sim )
    {
        fprintf(stderr, "xenos-sim: %s\n", err[0] ? err : "out of memory");
        return XS_EXIT_FAIL;
    }

    step = sc->duration_ns / XS_STEPS;
    if ( step < 1 )
        step = 1;
    xs_progress_init(&prog);
    while ( t < sc->duration_ns )
    {
        t = sc->duration_ns - t > step ? t + step : sc->duration_ns;
        sim_run_until(sim, t);
        xs_progress(&prog, t, sc->duration_ns);
    }
    xs_progress_end(&prog);

    rc = sim_result(sim, &res);
    if ( rc )
    {
        fprintf(stderr, "xenos-sim: results: %s\n", strerror(-rc));
        status = XS_EXIT_FAIL;
        goto out_free_sim;
    }
    rc = o->json ? sim_report_json(stdout, &res)
                 : sim_report_table(stdout, &res);
    if ( rc )
    {
        fprintf(stderr, "xenos-sim: writing the report: %s\n",
                strerror(-rc));
        status = XS_EXIT_FAIL;
    }
    if ( o->csv_dir )
    {
        rc = sim_report_csv(o->csv_dir, &res);
        if ( rc )
        {
            cfg_escape_msg(err, sizeof(err), o->csv_dir);
            fprintf(stderr, "xenos-sim: writing CSV to %s: %s\n", err,
                    strerror(-rc));
            status = XS_EXIT_FAIL;
        }
    }
    if ( o->plot_dir && sim_plot(sim, &res, sc, o->plot_dir, err,
                                 sizeof(err)) )
    {
        char where[256];

        cfg_escape_msg(where, sizeof(where), o->plot_dir);
        fprintf(stderr, "xenos-sim: plotting into %s: %s\n", where, err);
        status = XS_EXIT_FAIL;
    }
 out_free_sim:
    sim_free(sim);
    return status;
}

/* --from-xentrace: the recording into DIR, its figures on stdout. */
static int xs_from_xentrace(const struct xs_opts *o)
{
    struct xt_recording rec;
    int64_t dom, khz = 0;
    char err[1024];
    int rc;

    if ( xs_number("--domain", o->domain_arg, 0, 0x7fef, &dom) ||
         (o->tsc_khz_arg &&
          xs_number("--tsc-khz", o->tsc_khz_arg, 1, 100000000, &khz)) )
        return XS_EXIT_USAGE;
    err[0] = '\0';
    rc = xt_load(o->xentrace, (uint32_t)dom, (uint64_t)khz, &rec, err,
                 sizeof(err));
    if ( rc )
    {
        fprintf(stderr, "xenos-sim: %s\n", err[0] ? err : strerror(-rc));
        return rc == -ENOMEM ? XS_EXIT_FAIL : XS_EXIT_USAGE;
    }
    rc = xt_write_scenario(&rec, o->out_dir, err, sizeof(err));
    if ( rc )
        fprintf(stderr, "xenos-sim: %s\n", err[0] ? err : strerror(-rc));
    else if ( xt_report_json(stdout, &rec) )
        rc = -EIO;
    xt_free(&rec);
    return rc ? XS_EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
    struct xs_opts o = { 0 };
    struct sim_scenario sc;
    char err[1024];
    int status;

    /* A subcommand first: `xenos-sim compare ...`; a scenario file named
     * "compare" is still ./compare. */
    if ( argc > 1 && !strcmp(argv[1], "compare") )
    {
        status = xs_compare(argc - 1, argv + 1);
        if ( fclose(stdout) && !status )
            status = XS_EXIT_FAIL;
        return status;
    }
    status = xs_parse_args(argc, argv, &o);
    if ( status >= 0 )
        return status;

    if ( o.xentrace )
        status = xs_from_xentrace(&o);
    else if ( sim_scenario_load(o.scenario, &sc, err, sizeof(err)) )
    {
        fprintf(stderr, "xenos-sim: %s\n", err);
        return XS_EXIT_USAGE;
    }
    else
    {
        status = xs_run(&o, &sc);
        sim_scenario_free(&sc);
    }
    /* A report cut short by a closed pipe or a full disk is a failure. */
    if ( fclose(stdout) && !status )
    {
        fprintf(stderr, "xenos-sim: writing the report: %s\n",
                strerror(errno));
        status = XS_EXIT_FAIL;
    }
    return status;
}
