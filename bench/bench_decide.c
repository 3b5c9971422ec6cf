/*
 * bench_decide.c: what one scheduling decision costs a policy, by the
 * number of runnable units on one pCPU.
 *
 * A decision here is the churn of an I/O-heavy pCPU: the running unit
 * blocks (sleep), the pCPU picks the next one (do_schedule, context_saved),
 * and the blocked unit wakes again (wake), so the runnable count stays N.
 * That is more than "wake + do_schedule", never less.  Simulated time
 * moves 50 us per decision.  Weights vary (256..1024) so an ordered
 * runqueue is not trivially sorted.  Timers never fire (bench/host.c), so
 * periodic accounting is not part of the figure.  --cap 100 caps every
 * domain at one pCPU: none is ever throttled, so the loop still has N
 * runnable, and the figure adds what keeping caps costs a decision.
 *
 * Usage: bench_decide [--policy P] [--units N] [--iterations K] [--cap PCT]
 *                     [--quiet]
 * With no --units: 10, 100, 1000, 10000 for every policy (or just P).
 * bench/run also runs it under callgrind (decide_loop is toggled) for
 * instructions per decision.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenos/sched.h>

#define STEP_NS SCH_USEC(50)

struct bench {
    struct sch_sched s;
    struct sch_resource res;
    struct sch_lock lock;
    struct sch_unit idle;
    struct sch_domain *doms;
    struct sch_unit *units;
    struct sch_unit **unitp;
    unsigned int n;
    sch_time_t now;
};

static void die(const char *what)
{
    fprintf(stderr, "bench_decide: %s\n", what);
    exit(1);
}

static void switch_to(struct bench *b, struct sch_unit *prev,
                      const struct sch_slice *out)
{
    if ( out->task == prev )
        return;
    prev->is_running = false;
    out->task->is_running = true;
    b->res.curr = out->task;
    if ( b->s.ops->context_saved && !prev->is_idle )
        b->s.ops->context_saved(&b->s, prev, b->now);
}

static void schedule(struct bench *b)
{
    struct sch_slice out = { NULL, -1, false };
    struct sch_unit *prev = b->res.curr;

    b->s.ops->do_schedule(&b->s, prev, 0, b->now, false, &out);
    switch_to(b, prev, &out);
}

static void bench_init(struct bench *b, const struct sch_ops *ops,
                       unsigned int n, uint32_t cap_pct)
{
    unsigned int i;

    memset(b, 0, sizeof(*b));
    b->n = n;
    b->s.ops = ops;
    b->s.nr_cpus = 1;
    sch_cpumask_set(&b->s.cpus, 0);
    b->s.res = &b->res;
    b->res.lock = &b->lock;
    b->idle.is_idle = b->idle.is_running = true;
    sch_cpumask_set(&b->idle.hard_affinity, 0);
    b->res.curr = b->res.idle = &b->idle;
    if ( ops->init(&b->s) )
        die("init failed");
    if ( ops->alloc_pdata && !(b->res.priv = ops->alloc_pdata(&b->s, 0)) )
        die("out of memory");
    if ( ops->pcpu_lock )
        b->res.lock = ops->pcpu_lock(&b->s, 0);
    if ( ops->alloc_udata &&
         !(b->idle.priv = ops->alloc_udata(&b->s, &b->idle, NULL)) )
        die("out of memory");
    b->doms = calloc(n, sizeof(*b->doms));
    b->units = calloc(n, sizeof(*b->units));
    b->unitp = calloc(n, sizeof(*b->unitp));
    if ( !b->doms || !b->units || !b->unitp )
        die("out of memory");
    for ( i = 0; i < n; i++ )
    {
        struct sch_domain *d = &b->doms[i];
        struct sch_unit *u = &b->units[i];
        struct sch_dom_params p = { SCH_PARAM_PUT, 256 * (1 + i % 4),
                                    cap_pct };

        d->id = i + 1;
        d->nr_units = 1;
        d->units = &b->unitp[i];
        b->unitp[i] = u;
        u->domain = d;
        sch_cpumask_set(&u->hard_affinity, 0);
        sch_cpumask_set(&u->soft_affinity, 0);
        if ( ops->alloc_domdata &&
             !(d->priv = ops->alloc_domdata(&b->s, d)) )
            die("out of memory");
        if ( ops->alloc_udata &&
             !(u->priv = ops->alloc_udata(&b->s, u, d->priv)) )
            die("out of memory");
        if ( ops->insert_unit )
            ops->insert_unit(&b->s, u);
        if ( ops->adjust && ops->adjust(&b->s, d, &p, 0) )
            die("adjust failed");
    }
    for ( i = 0; i < n; i++ )
    {
        b->units[i].runnable = true;
        ops->wake(&b->s, &b->units[i], b->now);
    }
    schedule(b);
}

static void bench_fini(struct bench *b)
{
    const struct sch_ops *ops = b->s.ops;
    unsigned int i;

    for ( i = 0; i < b->n; i++ )
    {
        struct sch_unit *u = &b->units[i];

        if ( u->runnable && ops->sleep )
        {
            u->runnable = false;
            ops->sleep(&b->s, u, b->now);
        }
        if ( ops->remove_unit )
            ops->remove_unit(&b->s, u);
        if ( ops->free_udata )
            ops->free_udata(&b->s, u->priv);
        if ( ops->free_domdata )
            ops->free_domdata(&b->s, b->doms[i].priv);
    }
    if ( ops->free_udata )
        ops->free_udata(&b->s, b->idle.priv);
    if ( ops->free_pdata )
        ops->free_pdata(&b->s, b->res.priv, 0);
    ops->deinit(&b->s);
    free(b->doms);
    free(b->units);
    free(b->unitp);
}

/* The measured loop; bench/run points callgrind's --toggle-collect here. */
__attribute__((noinline)) void decide_loop(struct bench *b, unsigned long k);
__attribute__((noinline)) void decide_loop(struct bench *b, unsigned long k)
{
    const struct sch_ops *ops = b->s.ops;

    while ( k-- )
    {
        struct sch_unit *u = b->res.curr;

        b->now += STEP_NS;
        if ( u->is_idle )
            die("nothing runnable");
        u->runnable = false;
        if ( ops->sleep )
            ops->sleep(&b->s, u, b->now);
        schedule(b);
        u->runnable = true;
        ops->wake(&b->s, u, b->now);
    }
}

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_one(const struct sch_ops *ops, unsigned int n,
                    unsigned long iters, uint32_t cap_pct, bool quiet)
{
    struct bench b;
    double t0, t1, best = 0;
    int rep;

    bench_init(&b, ops, n, cap_pct);
    decide_loop(&b, iters / 10 + 1);           /* warm the caches */
    for ( rep = 0; rep < 3; rep++ )
    {
        t0 = now_sec();
        decide_loop(&b, iters);
        t1 = now_sec();
        if ( rep == 0 || t1 - t0 < best )
            best = t1 - t0;
    }
    if ( !quiet )
        printf("%-8s %7u %10.1f\n", ops->opt_name, n,
               best * 1e9 / (double)iters);
    bench_fini(&b);
}

int main(int argc, char **argv)
{
    static const unsigned int sizes[] = { 10, 100, 1000, 10000 };
    static const struct option opts[] = {
        { "policy", required_argument, NULL, 'p' },
        { "units", required_argument, NULL, 'n' },
        { "iterations", required_argument, NULL, 'k' },
        { "cap", required_argument, NULL, 'c' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    const char *policy = NULL;
    unsigned int units = 0, i;
    unsigned long iters = 200000;
    uint32_t cap_pct = 0;
    bool quiet = false;
    int c;

    while ( (c = getopt_long(argc, argv, "", opts, NULL)) != -1 )
    {
        switch ( c )
        {
        case 'p': policy = optarg; break;
        case 'n': units = (unsigned int)strtoul(optarg, NULL, 10); break;
        case 'k': iters = strtoul(optarg, NULL, 10); break;
        case 'c': cap_pct = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'q': quiet = true; break;
        default:
            fprintf(stderr, "usage: bench_decide [--policy P] [--units N] "
                    "[--iterations K] [--cap PCT] [--quiet]\n");
            return 2;
        }
    }
    if ( policy && !sch_policy_find(policy) )
        die("unknown policy");
    if ( !quiet )
        printf("%-8s %7s %10s\n", "policy", "units", "ns/decision");
    for ( i = 0; sch_policies[i]; i++ )
    {
        unsigned int j;

        if ( policy && strcmp(policy, sch_policies[i]->opt_name) )
            continue;
        for ( j = 0; j < SCH_ARRAY_SIZE(sizes); j++ )
            if ( !units || units == sizes[j] )
                run_one(sch_policies[i], sizes[j], iters, cap_pct, quiet);
        if ( units && units != 10 && units != 100 && units != 1000 &&
             units != 10000 )
            run_one(sch_policies[i], units, iters, cap_pct, quiet);
    }
    return 0;
}
