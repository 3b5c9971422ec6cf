/*
 * plot.h: pictures of simulated runs, drawn by gnuplot (docs/simulator.md,
 * "Pictures"): one run's (xenos-sim --plot DIR) and a comparison of
 * policies over scenarios (xenos-sim compare).
 *
 * Every picture is drawn from CSV files written beside it, and only from
 * them, so what a picture shows can be checked against the simulator's
 * other outputs.  gnuplot must be installed (Debian: gnuplot-nox); without
 * it these return -ENOENT and say so.
 */
#ifndef XENOS_PLOT_H
#define XENOS_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include <xenos/sched.h>
#include <xenos/sim.h>

/* Most lines a picture draws: past it, domains are grouped (by tenant,
 * else the first ones by entitlement and the rest summed). */
#define SIM_PLOT_MAX_SERIES 8

/*
 * Pictures of the run of @sim, whose result is @r, of scenario @sc, into
 * @dir (made, with its parents, if missing; files there replaced):
 *   share.png    each domain's share of the host per 100 ms window against
 *                its entitlement there (share.csv);
 *   wake-cdf.png the wake-up latency CDF of each (wake-cdf.csv);
 *   cap.png      each capped domain's CPU per 100 ms window against its
 *                cap (cap.csv); only when a domain is capped;
 *   series.csv   which line of which picture is which domain or group.
 * Titles name the scenario by its file name.  Returns 0, or a negative
 * errno with a message in @err: -ENOENT if gnuplot is missing, -EIO if it
 * failed, or what writing a file failed with.
 */
int sim_plot(struct sim *sim, const struct sim_result *r,
             const struct sim_scenario *sc, const char *dir, char *err,
             size_t errlen);

/*
 * Called as a comparison goes: run @run (0-based) of @nr_runs, of
 * scenario file @scenario under @policy, is @done_ppm millionths done.
 * Each run is reported at 0 first and at 1000000 last.
 */
typedef void (*sim_compare_progress_cb)(void *arg, unsigned int run,
                                        unsigned int nr_runs,
                                        const char *scenario,
                                        const char *policy,
                                        unsigned int done_ppm);

struct sim_compare_opts {
    const char *const *scenarios;       /* files */
    unsigned int nr_scenarios;
    const struct sch_ops *const *policies;
    unsigned int nr_policies;
    sch_time_t max_duration_ns;         /* longer scenarios are cut; 0 no */
    const char *out_dir;
    sim_compare_progress_cb progress;   /* may be NULL */
    void *arg;
};

/*
 * Run every scenario under every policy and write the report into
 * @o->out_dir (made if missing): index.html (a table of who wins what,
 * then a section per scenario with its figures and picture), results.csv
 * (every figure, with its winners), a picture NN-NAME.png per scenario
 * and the CSV files it is drawn from (docs/simulator.md, "Comparing
 * policies").  Every scenario is loaded before any runs, so a bad one
 * fails at once.  Returns 0, or a negative errno with a message in @err:
 * -EINVAL for a scenario that does not load, else as sim_plot.  A policy
 * that refuses a scenario is not an error: the report says so.
 */
int sim_compare(const struct sim_compare_opts *o, char *err, size_t errlen);

#endif /* XENOS_PLOT_H */
