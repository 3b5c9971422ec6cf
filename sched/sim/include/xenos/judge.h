/*
 * judge.h: the comparison table's rows, each a scenario file and a target
 * a policy meets or misses there, judged against the run's entitlement
 * (sim_result's entitled figures), so a policy that starves a domain
 * cannot pass a row by the figures of the domain it starves.
 *
 * bench_compare prints the rows for several policies side by side;
 * tests/test_fairness.c holds fcredit to every row and a starving policy
 * to failing the ones it must fail.
 */
#ifndef XENOS_JUDGE_H
#define XENOS_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include <xenos/sim.h>

/* What a row's judge sees: the finished run. */
struct sim_judge_run {
    struct sim *sim;
    const struct sim_scenario *sc;
    const struct sim_result *r;
};

struct sim_judge_row {
    const char *klass;          /* the class: "cpu", "scale", ... */
    const char *what;           /* the row's name */
    const char *file;           /* under the scenario directory */
    const char *target;         /* the target, as text */
    unsigned int runq_cpus;     /* sched.runq_cpus to run with; 0: file's */
    unsigned int duration_ms;   /* 0: the file's */
    /* Writes the figure into @buf; returns whether it meets the target. */
    bool (*judge)(const struct sim_judge_run *j, char *buf, size_t len);
};

extern const struct sim_judge_row sim_judge_rows[];
extern const unsigned int sim_judge_nr_rows;

/*
 * Run @row of the scenarios in @dir under @ops: 0 with the figure in @buf
 * and *@met set, or a negative errno with a message in @err (a scenario
 * that does not load, a policy that refuses it, no memory).
 */
int sim_judge(const char *dir, const struct sim_judge_row *row,
              const struct sch_ops *ops, char *buf, size_t len, bool *met,
              char *err, size_t errlen);

/*
 * The @q quantile (0 < q < 1) of the response time, in ns, of an M/D/1
 * queue: Poisson arrivals at @rate_hz, each served @service_ns, alone on
 * a server.  Erlang's waiting-time distribution, summed exactly; the
 * quantile by bisection to 1 ns.  -1 if the load rate x service is 1 or
 * more (no steady state).
 */
double sim_md1_response(double rate_hz, sch_time_t service_ns, double q);

#endif /* XENOS_JUDGE_H */
