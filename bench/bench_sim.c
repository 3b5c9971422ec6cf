/*
 * bench_sim.c: simulator throughput, events per second of wall time on one
 * core, for a scenario and a policy.  Best of 5 runs.  Then what
 * sim_result costs at the end of the run (the entitlement is computed
 * there), best of 5 calls.
 *
 * Usage: bench_sim SCENARIO [POLICY [DURATION_MS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <xenos/sim.h>

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct sim_scenario sc;
    const struct sch_ops *ops;
    char err[512];
    double best = 0, best_res = 0;
    uint64_t events = 0;
    unsigned int units = 0, i;
    int rep;

    if ( argc < 2 || argc > 4 )
    {
        fprintf(stderr, "usage: bench_sim SCENARIO [POLICY [DURATION_MS]]\n");
        return 2;
    }
    if ( sim_scenario_load(argv[1], &sc, err, sizeof(err)) )
    {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if ( argc > 3 )
        sc.duration_ns = SCH_MSEC(strtoll(argv[3], NULL, 10));
    ops = sch_policy_find(argc > 2 ? argv[2] : sc.policy ? sc.policy
                                                          : "credit");
    if ( !ops )
    {
        fprintf(stderr, "bench_sim: unknown policy\n");
        return 2;
    }
    for ( i = 0; i < sc.nr_domains; i++ )
        units += sc.domains[i].vcpus;
    for ( rep = 0; rep < 5; rep++ )
    {
        struct sim *sim = sim_alloc(&sc, ops, err, sizeof(err));
        double t0, t1;

        if ( !sim )
        {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        t0 = now_sec();
        sim_run_until(sim, sc.duration_ns);
        t1 = now_sec();
        events = sim_events(sim);
        if ( rep == 0 || t1 - t0 < best )
            best = t1 - t0;
        if ( rep == 4 )
        {
            struct sim_result r;
            int k;

            for ( k = 0; k < 5; k++ )
            {
                t0 = now_sec();
                if ( sim_result(sim, &r) )
                {
                    fprintf(stderr, "bench_sim: sim_result: out of memory\n");
                    return 1;
                }
                t1 = now_sec();
                if ( k == 0 || t1 - t0 < best_res )
                    best_res = t1 - t0;
            }
        }
        sim_free(sim);
    }
    printf("%-8s %u pCPUs %u vCPUs: %llu events, %.1f s simulated in %.3f s"
           " = %.2f M events/s\n", ops->opt_name, sc.pcpus, units,
           (unsigned long long)events, (double)sc.duration_ns / 1e9, best,
           (double)events / best / 1e6);
    printf("%-8s sim_result at the end: %.3f ms\n", ops->opt_name,
           best_res * 1e3);
    sim_scenario_free(&sc);
    return 0;
}
