/*
 * measure.c: figures derived from a run's result, shared by the tests,
 * the comparison table and the reports, so each is computed one way.
 */
#include <math.h>

#include <xenos/sim.h>

/* Below this fraction of the host's time over a span, a domain is
 * entitled to nothing there: it did not exist, or wanted nothing. */
#define SPAN_NOTHING    1e-6

bool sim_span_served(const struct sim_result *r, unsigned int k,
                     unsigned int d, unsigned int s, double *served,
                     double *err)
{
    double span_ns = (double)k * (double)r->window_ns * r->pcpus;
    sch_time_t used = 0, ent = 0;
    unsigned int w0 = s * k, i;

    /* Whole spans only: the last, partial window is left out. */
    if ( k == 0 || (sch_time_t)(w0 + k) * r->window_ns > r->sim_ns )
        return false;
    for ( i = w0; i < w0 + k && i < r->nr_windows; i++ )
    {
        used += r->window_cpu_ns[(size_t)d * r->nr_windows + i];
        ent += r->window_entitled_ns[(size_t)d * r->nr_windows + i];
    }
    if ( (double)ent < SPAN_NOTHING * span_ns )
        return false;
    *served = (double)used / (double)ent;
    *err = fabs((double)(used - ent)) / (double)ent;
    return true;
}

void sim_span_stats(const struct sim_result *r, unsigned int k,
                    struct sim_span_stats *out)
{
    unsigned int d, s, nr_spans = k ? r->nr_windows / k : 0;

    out->worst_error = 0;
    out->worst_dom = -1;
    out->least_served = INFINITY;
    out->least_dom = -1;
    out->least_at_ns = 0;
    for ( d = 0; d < r->nr_domains; d++ )
        for ( s = 0; s < nr_spans; s++ )
        {
            double served, err;

            if ( !sim_span_served(r, k, d, s, &served, &err) )
                continue;
            if ( err > out->worst_error )
            {
                out->worst_error = err;
                out->worst_dom = (int)d;
            }
            /* Ties keep the earliest span of the first domain: the
             * report names one, and the same one every run. */
            if ( served < out->least_served )
            {
                out->least_served = served;
                out->least_dom = (int)d;
                out->least_at_ns = (sch_time_t)s * k * r->window_ns;
            }
        }
}

double sim_worst_span_error(const struct sim_result *r, unsigned int k)
{
    struct sim_span_stats st;

    sim_span_stats(r, k, &st);
    return st.worst_error;
}
