/*
 * judge.c: the comparison table's rows and how each is judged (judge.h).
 *
 * Every figure is measured against the run's entitlement (entitle.c:
 * weighted max-min fair, weight per vCPU, following the run), never
 * against a fixed number, and a latency row also asks that the domain get
 * what it is entitled to: a policy that starves a domain has it wake
 * seldom or never, and its wake-ups look fast.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/judge.h>

#define Q99     0.99

/* Domains entitled to less than this share of the host are left out of
 * relative errors: nothing to be relatively wrong about. */
#define NOTHING 1e-6

static double rel_err(const struct sim_dom_result *d)
{
    return (d->share - d->entitled_share) / d->entitled_share;
}

static const struct sim_dom_result *dom_named(const struct sim_result *r,
                                              const char *name)
{
    unsigned int d;

    for ( d = 0; d < r->nr_domains; d++ )
        if ( !strcmp(r->domains[d].name, name) )
            return &r->domains[d];
    return NULL;
}

/* Largest |relative error| of any domain over the whole run. */
static double worst_whole(const struct sim_result *r)
{
    double worst = 0;
    unsigned int d;

    for ( d = 0; d < r->nr_domains; d++ )
        if ( r->domains[d].entitled_share > NOTHING )
            worst = fmax(worst, fabs(rel_err(&r->domains[d])));
    return worst;
}

/* Largest spread between the vCPUs of a CPU-bound domain (sim.h:
 * vcpu_spread): its vCPUs are alike, and each is due the same.  A policy
 * fair between domains may still starve a vCPU inside one (a guest then
 * sees one of its CPUs stop). */
static double worst_vcpus(const struct sim_judge_run *j)
{
    double worst = 0;
    unsigned int d;

    for ( d = 0; d < j->r->nr_domains && d < j->sc->nr_domains; d++ )
        if ( j->sc->domains[d].workload.type == SIM_WL_CPU )
            worst = fmax(worst, j->r->domains[d].vcpu_spread);
    return worst;
}

#define VCPUS_MAX   0.02

/* ------------------------------------------------------------------ */
/* Judges                                                              */

/* CPU-bound shapes: each domain within 1% of its share over the run and
 * every 1 s window within 5%, and its vCPUs within 2% of each other. */
static bool j_fair(const struct sim_judge_run *j, char *buf, size_t len)
{
    double whole = worst_whole(j->r), span = sim_worst_span_error(j->r, 10);
    double vcpus = worst_vcpus(j);

    snprintf(buf, len, "%.2f%%, 1 s %.2f%%, vCPUs %.2f%%", whole * 100,
             span * 100, vcpus * 100);
    return whole <= 0.01 && span <= 0.05 && vcpus <= VCPUS_MAX;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Many domains: per-domain error p99 <= 5%, max <= 10%, and the mean
 * (signed) error of each weight within 2%. */
static bool j_scale(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_result *r = j->r;
    double *e = malloc((r->nr_domains ? r->nr_domains : 1) * sizeof(*e));
    double p99, max, worst_mean = 0;
    unsigned int d, n = 0, k;

    if ( !e )
    {
        snprintf(buf, len, "out of memory");
        return false;
    }
    for ( d = 0; d < r->nr_domains; d++ )
        if ( r->domains[d].entitled_share > NOTHING )
            e[n++] = fabs(rel_err(&r->domains[d]));
    qsort(e, n, sizeof(*e), dbl_cmp);
    p99 = n ? e[(size_t)ceil(Q99 * n) - 1] : 0;
    max = n ? e[n - 1] : 0;
    free(e);
    /* Weights in the scenario: the mean of each. */
    for ( d = 0; d < r->nr_domains; d++ )
    {
        double sum = 0;
        unsigned int w = r->domains[d].weight, cnt = 0, seen = 0;

        for ( k = 0; k < d; k++ )
            seen |= r->domains[k].weight == w;
        if ( seen )
            continue;
        for ( k = d; k < r->nr_domains; k++ )
            if ( r->domains[k].weight == w &&
                 r->domains[k].entitled_share > NOTHING )
            {
                sum += rel_err(&r->domains[k]);
                cnt++;
            }
        if ( cnt )
            worst_mean = fmax(worst_mean, fabs(sum / cnt));
    }
    snprintf(buf, len, "p99 %.2f%%, max %.2f%%, weight mean %.2f%%",
             p99 * 100, max * 100, worst_mean * 100);
    return p99 <= 0.05 && max <= 0.10 && worst_mean <= 0.02;
}

/* Caps beside uncapped domains: no 100 ms window above cap + 1 point,
 * every domain within 2% of its share (a capped one's is min(cap, fair)),
 * no pCPU idle while a unit waited over 1 ms (idle_audit_us), and the
 * vCPUs of each domain within 2% of each other. */
static bool j_caps(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_result *r = j->r;
    double over = -100, vcpus = worst_vcpus(j);
    unsigned int d;

    for ( d = 0; d < r->nr_domains; d++ )
        if ( r->domains[d].cap_pct )
            over = fmax(over, r->domains[d].cap_window_max_pct -
                              r->domains[d].cap_pct);
    snprintf(buf, len, "window %+.2f pt, %.2f%% off, idle %.3f ms, "
             "vCPUs %.2f%%", over, worst_whole(r) * 100,
             r->idle_while_waiting_ns / 1e6, vcpus * 100);
    return over <= 1 && worst_whole(r) <= 0.02 &&
           j->sc->idle_audit_ns && r->idle_while_waiting_ns == 0 &&
           vcpus <= VCPUS_MAX;
}

/* The domain a latency row is about: the first of the scenario. */
static const struct sim_dom_result *first(const struct sim_judge_run *j)
{
    return &j->r->domains[0];
}

/*
 * The domain gets what it is due (within 2%), and so does everyone else
 * (within 5% over the run): fast wake-ups bought by starving the others,
 * or by starving the domain itself so that it seldom wakes, do not count.
 */
static bool served(const struct sim_judge_run *j, const struct sim_dom_result *d)
{
    return d->entitled_share > NOTHING &&
           d->share >= 0.98 * d->entitled_share && worst_whole(j->r) <= 0.05;
}

/* A domain under its share beside hogs: wake p99 <= 1 ms, response p99
 * <= 2 x what M/D/1 gives it alone, and all it is due. */
static bool j_request(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_dom_result *d = first(j);
    const struct sim_workload *w = &j->sc->domains[0].workload;
    double md1 = sim_md1_response(w->rate_hz, w->service_ns, Q99);

    snprintf(buf, len, "wake %.1f us, response %.0f us (M/D/1 %.0f), "
             "%.1f%% of due", d->wake_latency.p99 / 1e3,
             d->response.p99 / 1e3, md1 / 1e3,
             d->entitled_share > 0 ? 100 * d->share / d->entitled_share
                                   : 0);
    return served(j, d) && d->wake_latency.count > 0 &&
           d->wake_latency.p99 <= SCH_MSEC(1) && d->response.count > 0 &&
           md1 > 0 && d->response.p99 <= 2 * md1;
}

/* An I/O domain (named "io") under its share beside hogs: wake p99 <= 1
 * ms, and all it is due. */
static bool j_io(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_dom_result *d = dom_named(j->r, "io");

    if ( !d )
    {
        snprintf(buf, len, "no domain io");
        return false;
    }
    snprintf(buf, len, "wake %.1f us, %.1f%% of due",
             d->wake_latency.p99 / 1e3,
             d->entitled_share > 0 ? 100 * d->share / d->entitled_share
                                   : 0);
    return served(j, d) && d->wake_latency.count > 0 &&
           d->wake_latency.p99 <= SCH_MSEC(1);
}

/* The basic rows (weights on one pCPU, caps alone, wake latency, idle
 * while waiting, two ways to game the tick), against the entitlement. */

static bool j_weights(const struct sim_judge_run *j, char *buf, size_t len)
{
    double span = sim_worst_span_error(j->r, 10);

    snprintf(buf, len, "%.2f%% (whole run %.2f%%)", span * 100,
             worst_whole(j->r) * 100);
    return span <= 0.01;
}

static bool j_cap(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_dom_result *d = first(j);
    double err = d->share * 100 * j->sc->pcpus - d->cap_pct;

    snprintf(buf, len, "%+.2f pt, max %.1f%%", err, d->cap_window_max_pct);
    return fabs(err) <= 1 && d->cap_window_max_pct <= d->cap_pct + 2;
}

static bool j_wake100(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_dom_result *d = first(j);

    snprintf(buf, len, "%.1f us (p50 %.1f), %.1f%% of due",
             d->wake_latency.p99 / 1e3, d->wake_latency.p50 / 1e3,
             d->entitled_share > 0 ? 100 * d->share / d->entitled_share
                                   : 0);
    return served(j, d) && d->wake_latency.count > 0 &&
           d->wake_latency.p99 <= SCH_USEC(100);
}

static bool j_idle(const struct sim_judge_run *j, char *buf, size_t len)
{
    snprintf(buf, len, "%.3f ms (ratelimit %lld us)",
             j->r->idle_while_waiting_ns / 1e6,
             (long long)(j->sc->idle_audit_ns / 1000));
    return j->r->idle_while_waiting_ns == 0;
}

/* Its share (within 0.5 point over, 2 under): no more for sleeping
 * cleverly, and no less (a policy that starves it is not safe from it). */
static bool gain(const struct sim_judge_run *j, char *buf, size_t len)
{
    const struct sim_dom_result *d = first(j);
    double over = (d->share - d->entitled_share) * 100 * j->sc->pcpus;

    snprintf(buf, len, "%.1f%% of %.1f%% (%+.1f pt)",
             d->share * 100 * j->sc->pcpus,
             d->entitled_share * 100 * j->sc->pcpus, over);
    return over <= 0.5 && over >= -2;
}

/* ------------------------------------------------------------------ */
/* The rows                                                            */

#define FAIR    "each <= 1% over the run, every 1 s window <= 5%, vCPUs <= 2% apart"
#define SCALE   "p99 <= 5%, max <= 10%, each weight's mean <= 2%"
#define CAPS    "no window > cap + 1 pt, all within 2%, idle 0, vCPUs <= 2% apart"
#define REQ     "wake p99 <= 1 ms, response p99 <= 2 x M/D/1; its due, all theirs"

const struct sim_judge_row sim_judge_rows[] = {
    { "cpu", "3 equal on 2 pCPUs", "compare/cpu-3on2.yaml", FAIR, 0, 0,
      j_fair },
    { "cpu", "7 equal on 4 pCPUs", "compare/cpu-7on4.yaml", FAIR, 0, 0,
      j_fair },
    { "cpu", "infeasible weight, 4 pCPUs", "compare/cpu-infeasible-4.yaml",
      FAIR, 0, 0, j_fair },
    { "cpu", "4 + 2 + 1 vCPUs on 3 pCPUs", "compare/cpu-vcpus-3.yaml", FAIR,
      0, 0, j_fair },
    { "cpu", "weights and vCPUs, 5 pCPUs", "compare/cpu-weights-5.yaml",
      FAIR, 0, 0, j_fair },
    { "cpu", "affinity {0}, {0,1}, {1}", "compare/cpu-overlap-2.yaml", FAIR,
      0, 0, j_fair },
    { "cpu", "overlapping affinity, 8 pCPUs", "compare/cpu-overlap-8.yaml",
      FAIR, 0, 0, j_fair },
    { "cpu", "3 equal on 2 pCPUs, a runqueue each",
      "compare/cpu-3on2.yaml", FAIR, 1, 0, j_fair },
    { "cpu", "affinity {0}, {0,1}, {1}, a runqueue each",
      "compare/cpu-overlap-2.yaml", FAIR, 1, 0, j_fair },
    { "cpu", "weights and vCPUs, 5 pCPUs, a runqueue each",
      "compare/cpu-weights-5.yaml", FAIR, 1, 0, j_fair },
    { "cpu", "overlapping affinity, 8 pCPUs, runqueues of 2",
      "compare/cpu-overlap-8.yaml", FAIR, 2, 0, j_fair },
    { "cpu", "mixed, 12 pCPUs, runqueues of 8 and 4",
      "compare/mixed-12-uneven.yaml", FAIR, 8, 0, j_fair },
    { "cpu", "3 re-pinned from pCPU 1 to 1-2, a runqueue each",
      "compare/repin-3on2.yaml", FAIR, 1, 0, j_fair },
    { "scale", "64 pCPUs, 2,048 vCPUs: bench-64 (10 s)", "bench-64.yaml",
      SCALE, 0, 10000, j_scale },
    { "scale", "64 pCPUs, 2,048 vCPUs: mixed, 13.7x over",
      "compare/mixed-64.yaml", SCALE, 0, 0, j_scale },
    { "scale", "64 pCPUs, 2,048 vCPUs: mixed, most under share",
      "compare/mixed-64-light.yaml", SCALE, 0, 0, j_scale },
    { "scale", "64 pCPUs in 4 nodes, guests pinned to 1, 2 or 4",
      "compare/numa-64.yaml", SCALE, 0, 0, j_scale },
    { "caps", "12 capped at 25 + a hog, 4 pCPUs", "compare/caps-hog-4.yaml",
      CAPS, 0, 0, j_caps },
    { "caps", "6 x 2 vCPUs capped at 50 + hogs", "compare/caps-vcpus-4.yaml",
      CAPS, 0, 0, j_caps },
    { "caps", "caps above the fair share", "compare/caps-loose-4.yaml", CAPS,
      0, 0, j_caps },
    { "caps", "12 capped at 25 + a hog, a runqueue each",
      "compare/caps-hog-4.yaml", CAPS, 1, 0, j_caps },
    { "caps", "2 x 2 vCPUs capped at 50 + a hog, 2 pCPUs",
      "compare/caps-step-2.yaml", CAPS, 0, 0, j_caps },
    { "caps", "3 vCPUs capped at 25 beside others, 1 pCPU",
      "compare/caps-turns-1.yaml", CAPS, 0, 0, j_caps },
    { "caps", "4 vCPUs capped at 50 beside heavier ones, 2 pCPUs",
      "compare/caps-heavy-2.yaml", CAPS, 0, 0, j_caps },
    { "caps", "8 vCPUs capped at 50 beside heavier ones, 2 pCPUs",
      "compare/caps-heavy-8v-2.yaml", CAPS, 0, 0, j_caps },
    { "latency", "request 40% beside a hog, 1 pCPU",
      "compare/request-1.yaml", REQ, 0, 0, j_request },
    { "latency", "request beside 7 hog vCPUs, 4 pCPUs",
      "compare/request-4.yaml", REQ, 0, 0, j_request },
    { "latency", "I/O 10% beside 7 hog vCPUs, 4 pCPUs",
      "compare/request-4.yaml", "wake p99 <= 1 ms; its due, all theirs", 0, 0,
      j_io },
    { "basics", "weights 1:2:4, 1 pCPU, worst 1 s window", "weights.yaml",
      "<= 1% (relative)", 0, 0, j_weights },
    { "basics", "cap 25 alone: error, worst 100 ms", "compare/cap25.yaml",
      "+-1 pt, <= 27%", 0, 0, j_cap },
    { "basics", "cap 50 alone: error, worst 100 ms", "compare/cap50.yaml",
      "+-1 pt, <= 52%", 0, 0, j_cap },
    { "basics", "cap 75 alone: error, worst 100 ms", "compare/cap75.yaml",
      "+-1 pt, <= 77%", 0, 0, j_cap },
    { "basics", "io 100/900 us + 4 hogs: wake p99", "io-latency.yaml",
      "<= 100 us; its due, all theirs", 0, 0, j_wake100 },
    { "basics", "8 pCPUs, 32 mixed: idle while a unit waits",
      "compare/mixed-8.yaml", "0", 0, 0, j_idle },
    { "basics", "tick dodger (asleep at every 10 ms mark) vs hog",
      "compare/tick-dodger.yaml", "its share, no more", 0, 0, gain },
    { "basics", "frequent waker (50 us run, 10 us sleep) vs hog",
      "compare/frequent-waker.yaml", "its share, no more", 0, 0, gain },
};

const unsigned int sim_judge_nr_rows =
    sizeof(sim_judge_rows) / sizeof(sim_judge_rows[0]);

int sim_judge(const char *dir, const struct sim_judge_row *row,
              const struct sch_ops *ops, char *buf, size_t len, bool *met,
              char *err, size_t errlen)
{
    struct sch_global_params g = { .cmd = SCH_PARAM_GET };
    struct sim_judge_run j;
    struct sim_scenario sc;
    struct sim_result r;
    struct sim *sim;
    char path[1024];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, row->file);
    if ( (rc = sim_scenario_load(path, &sc, err, errlen)) )
        return rc;
    if ( row->runq_cpus )
        sc.sched.runq_cpus = row->runq_cpus;
    if ( row->duration_ms )
        sc.duration_ns = SCH_MSEC(row->duration_ms);
    sim = sim_alloc(&sc, ops, err, errlen);
    if ( !sim )
    {
        sim_scenario_free(&sc);
        return -EINVAL;
    }
    /* Work conservation is judged against each policy's own ratelimit
     * for the basic row, against 1 ms for the caps (as the files say). */
    if ( row->judge == j_idle && sc.idle_audit_ns && ops->adjust_global &&
         !ops->adjust_global(sim_sched(sim), &g) && g.ratelimit_us )
        sc.idle_audit_ns = SCH_USEC(g.ratelimit_us);
    sim_run_until(sim, sc.duration_ns);
    rc = sim_result(sim, &r);
    if ( !rc )
    {
        j = (struct sim_judge_run){ sim, &sc, &r };
        *met = row->judge(&j, buf, len);
    }
    else
        snprintf(err, errlen, "%s: sim_result: %s", path, strerror(-rc));
    sim_free(sim);
    sim_scenario_free(&sc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* M/D/1                                                               */

/*
 * P(wait <= t) in M/D/1 (Erlang): with x_k = l (k D - t) <= 0,
 * (1 - l D) sum_{k = 0}^{floor(t / D)} x_k^k / k! e^(-x_k).  The terms
 * alternate in sign and grow like e^(l t); in doubles that is exact enough
 * for the t a p99 asks at loads up to about 0.9 (t / D under 60).
 */
static double md1_wait_cdf(double l, double d, double t)
{
    double sum = 0;
    unsigned int k, n = (unsigned int)floor(t / d);

    for ( k = 0; k <= n; k++ )
    {
        double x = l * (k * d - t);

        sum += pow(x, k) / tgamma(k + 1.0) * exp(-x);
    }
    return (1 - l * d) * sum;
}

double sim_md1_response(double rate_hz, sch_time_t service_ns, double q)
{
    double l = rate_hz / 1e9, d = (double)service_ns, lo = 0, hi = d;

    if ( !(l * d < 1) || service_ns <= 0 || !(q > 0 && q < 1) )
        return -1;
    while ( md1_wait_cdf(l, d, hi) < q )
        hi *= 2;
    while ( hi - lo > 1 )
    {
        double mid = (lo + hi) / 2;

        if ( md1_wait_cdf(l, d, mid) < q )
            lo = mid;
        else
            hi = mid;
    }
    return hi + d;
}
