/*
 * measure.c: figures derived from a run's result, shared by the tests,
 * the comparison table and the reports, so each is computed one way.
 */
#include <math.h>

#include <xenos/sim.h>

double sim_worst_span_error(const struct sim_result *r, unsigned int k)
{
    double worst = 0, span_ns = (double)k * (double)r->window_ns * r->pcpus;
    unsigned int d, w, i;

    if ( k == 0 )
        return 0;
    for ( d = 0; d < r->nr_domains; d++ )
    {
        const struct sim_dom_result *dr = &r->domains[d];

        if ( dr->entitled_share <= 0 )
            continue;
        /* Whole spans only: the last, partial window is left out. */
        for ( w = 0; (sch_time_t)(w + k) * r->window_ns <= r->sim_ns;
              w += k )
        {
            sch_time_t sum = 0;
            double err;

            for ( i = w; i < w + k && i < r->nr_windows; i++ )
                sum += r->window_cpu_ns[(size_t)d * r->nr_windows + i];
            err = fabs((double)sum / span_ns - dr->entitled_share) /
                  dr->entitled_share;
            if ( err > worst )
                worst = err;
        }
    }
    return worst;
}
