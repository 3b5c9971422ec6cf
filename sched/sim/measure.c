/*
 * measure.c: figures derived from a run's result, shared by the tests,
 * the comparison table and the reports, so each is computed one way.
 */
#include <math.h>

#include <xenos/sim.h>

/* Below this fraction of the host's time over a span, a domain is
 * entitled to nothing there: it did not exist, or wanted nothing. */
#define SPAN_NOTHING    1e-6

double sim_worst_span_error(const struct sim_result *r, unsigned int k)
{
    double worst = 0, span_ns = (double)k * (double)r->window_ns * r->pcpus;
    unsigned int d, w, i;

    if ( k == 0 )
        return 0;
    for ( d = 0; d < r->nr_domains; d++ )
    {
        /* Whole spans only: the last, partial window is left out. */
        for ( w = 0; (sch_time_t)(w + k) * r->window_ns <= r->sim_ns;
              w += k )
        {
            sch_time_t used = 0, ent = 0;
            double err;

            for ( i = w; i < w + k && i < r->nr_windows; i++ )
            {
                used += r->window_cpu_ns[(size_t)d * r->nr_windows + i];
                ent += r->window_entitled_ns[(size_t)d * r->nr_windows + i];
            }
            if ( (double)ent < SPAN_NOTHING * span_ns )
                continue;
            err = fabs((double)(used - ent)) / (double)ent;
            if ( err > worst )
                worst = err;
        }
    }
    return worst;
}
