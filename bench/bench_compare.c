/*
 * bench_compare.c: policies side by side on the comparison table's rows
 * (sched/sim/judge.c: the classes cpu, scale, caps, latency and basics),
 * each judged against the run's entitlement, printed as one Markdown
 * table for docs/schedulers.md.  tests/test_fairness.c holds fcredit to
 * every row.
 *
 * Usage: bench_compare [SCENARIO_DIR] [POLICY...]
 *   default: sched/sim/scenarios credit fcredit
 */
#include <stdio.h>

#include <xenos/judge.h>

#define MAX_POLICIES 8

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "sched/sim/scenarios";
    const char *names[MAX_POLICIES] = { "credit", "fcredit" };
    const struct sch_ops *ops[MAX_POLICIES];
    unsigned int np = 2, i, p, missed[MAX_POLICIES] = { 0 };

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

    printf("| class | scenario | target |");
    for ( p = 0; p < np; p++ )
        printf(" %s |", names[p]);
    printf("\n|---|---|---|");
    for ( p = 0; p < np; p++ )
        printf("---|");
    printf("\n");
    for ( i = 0; i < sim_judge_nr_rows; i++ )
    {
        const struct sim_judge_row *row = &sim_judge_rows[i];

        printf("| %s | %s | %s |", row->klass, row->what, row->target);
        for ( p = 0; p < np; p++ )
        {
            char buf[160], err[512];
            bool met;

            if ( sim_judge(dir, row, ops[p], buf, sizeof(buf), &met, err,
                           sizeof(err)) )
            {
                fprintf(stderr, "bench_compare: %s\n", err);
                return 1;
            }
            printf(" %s %s |", buf, met ? "(met)" : "(**missed**)");
            missed[p] += !met;
        }
        printf("\n");
        fflush(stdout);
    }
    printf("\nRows missed:");
    for ( p = 0; p < np; p++ )
        printf(" %s %u of %u%s", names[p], missed[p], sim_judge_nr_rows,
               p + 1 < np ? "," : "\n");
    return 0;
}
