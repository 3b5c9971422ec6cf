/*
 * bench_compare.c: fcredit beside credit (or any policies) on the rows of
 * issue 3's table, one run each, printed as one Markdown table for
 * docs/schedulers.md.  The scenarios are files in sched/sim/scenarios/, the
 * same ones tests/test_fcredit.c checks.
 *
 * Usage: bench_compare [SCENARIO_DIR] [POLICY...]
 *   default: sched/sim/scenarios credit fcredit
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <xenos/sim.h>

#define MAX_POLICIES 8

struct row {
    const char *what;           /* the row's name */
    const char *file;           /* under the scenario dir */
    const char *target;
    /* Figure for @r; writes its text into @buf.  Returns whether it meets
     * the target. */
    bool (*figure)(struct sim *sim, const struct sim_scenario *sc,
                   const struct sim_result *r, char *buf, size_t len);
};

static bool fig_weights(struct sim *sim, const struct sim_scenario *sc,
                        const struct sim_result *r, char *buf, size_t len)
{
    double span = sim_worst_span_error(r, 10), whole = 0;
    unsigned int d;

    (void)sim;
    (void)sc;
    for ( d = 0; d < r->nr_domains; d++ )
        whole = fmax(whole, fabs(r->domains[d].share -
                                 r->domains[d].entitled_share) /
                            r->domains[d].entitled_share);
    snprintf(buf, len, "%.2f%% (whole run %.2f%%)", span * 100, whole * 100);
    return span <= 0.01;
}

static bool fig_cap(struct sim *sim, const struct sim_scenario *sc,
                    const struct sim_result *r, char *buf, size_t len)
{
    const struct sim_dom_result *d = &r->domains[0];
    double err = d->share * 100 * sc->pcpus - d->cap_pct;

    (void)sim;
    snprintf(buf, len, "%+.2f pt, max %.1f%%", err, d->cap_window_max_pct);
    return fabs(err) <= 1 && d->cap_window_max_pct <= d->cap_pct + 2;
}

static bool fig_wake(struct sim *sim, const struct sim_scenario *sc,
                     const struct sim_result *r, char *buf, size_t len)
{
    const struct sim_percentiles *p = &r->domains[0].wake_latency;

    (void)sim;
    (void)sc;
    snprintf(buf, len, "%.1f us (p50 %.1f)", p->p99 / 1e3, p->p50 / 1e3);
    return p->p99 <= SCH_USEC(100);
}

static bool fig_idle(struct sim *sim, const struct sim_scenario *sc,
                     const struct sim_result *r, char *buf, size_t len)
{
    (void)sim;
    snprintf(buf, len, "%.3f ms (ratelimit %lld us)",
             r->idle_while_waiting_ns / 1e6,
             (long long)(sc->idle_audit_ns / 1000));
    return r->idle_while_waiting_ns == 0;
}

static bool fig_gain(struct sim *sim, const struct sim_scenario *sc,
                     const struct sim_result *r, char *buf, size_t len)
{
    const struct sim_dom_result *d = &r->domains[0];
    double over = (d->share - d->entitled_share) * 100 * sc->pcpus;

    (void)sim;
    snprintf(buf, len, "%.1f%% of %.1f%% (%+.1f pt)",
             d->share * 100 * sc->pcpus, d->entitled_share * 100 * sc->pcpus,
             over);
    return over <= 0.5;
}

static const struct row rows[] = {
    { "weights 1:2:4, 1 pCPU, worst 1 s window", "weights.yaml",
      "<= 1% (relative)", fig_weights },
    { "cap 25 alone: error, worst 100 ms", "compare/cap25.yaml",
      "+-1 pt, <= 27%", fig_cap },
    { "cap 50 alone: error, worst 100 ms", "compare/cap50.yaml",
      "+-1 pt, <= 52%", fig_cap },
    { "cap 75 alone: error, worst 100 ms", "compare/cap75.yaml",
      "+-1 pt, <= 77%", fig_cap },
    { "io 100/900 us + 4 hogs: wake p99", "io-latency.yaml",
      "<= 100 us", fig_wake },
    { "8 pCPUs, 32 mixed: idle while a unit waits > ratelimit",
      "compare/mixed-8.yaml", "0", fig_idle },
    { "tick dodger (asleep at every 10 ms mark) vs hog",
      "compare/tick-dodger.yaml", "<= its share", fig_gain },
    { "frequent waker (50 us run, 10 us sleep) vs hog",
      "compare/frequent-waker.yaml", "<= its share", fig_gain },
};

static int run_row(const char *dir, const struct row *row,
                   const struct sch_ops *ops, char *buf, size_t len,
                   bool *met)
{
    struct sim_scenario sc;
    struct sch_global_params g = { .cmd = SCH_PARAM_GET };
    struct sim_result r;
    struct sim *sim;
    char path[1024], err[512];

    snprintf(path, sizeof(path), "%s/%s", dir, row->file);
    if ( sim_scenario_load(path, &sc, err, sizeof(err)) )
    {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    sim = sim_alloc(&sc, ops, err, sizeof(err));
    if ( !sim )
    {
        fprintf(stderr, "%s\n", err);
        sim_scenario_free(&sc);
        return -1;
    }
    /* Work conservation is judged against each policy's own ratelimit. */
    if ( sc.idle_audit_ns && ops->adjust_global &&
         !ops->adjust_global(sim_sched(sim), &g) && g.ratelimit_us )
        sc.idle_audit_ns = SCH_USEC(g.ratelimit_us);
    sim_run_until(sim, sc.duration_ns);
    if ( sim_result(sim, &r) )
    {
        sim_free(sim);
        sim_scenario_free(&sc);
        return -1;
    }
    *met = row->figure(sim, &sc, &r, buf, len);
    sim_free(sim);
    sim_scenario_free(&sc);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "sched/sim/scenarios";
    const char *names[MAX_POLICIES] = { "credit", "fcredit" };
    const struct sch_ops *ops[MAX_POLICIES];
    unsigned int np = 2, i, p;

    if ( argc > 2 )
    {
        np = 0;
        for ( i = 2; i < (unsigned int)argc && np < MAX_POLICIES; i++ )
            names[np++] = argv[i];
    }
    for ( p = 0; p < np; p++ )
    {
        ops[p] = sch_policy_find(names[p]);
        if ( !ops[p] )
        {
            fprintf(stderr, "bench_compare: unknown policy %s\n", names[p]);
            return 2;
        }
    }

    printf("| scenario | target |");
    for ( p = 0; p < np; p++ )
        printf(" %s |", names[p]);
    printf("\n|---|---|");
    for ( p = 0; p < np; p++ )
        printf("---|");
    printf("\n");
    for ( i = 0; i < sizeof(rows) / sizeof(rows[0]); i++ )
    {
        printf("| %s | %s |", rows[i].what, rows[i].target);
        for ( p = 0; p < np; p++ )
        {
            char buf[128];
            bool met;

            if ( run_row(dir, &rows[i], ops[p], buf, sizeof(buf), &met) )
                return 1;
            printf(" %s %s |", buf, met ? "(met)" : "(**missed**)");
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
