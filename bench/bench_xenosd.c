/*
 * bench_xenosd.c: xenosd's own work per interval, and its memory, at 100,
 * 1,000 and 10,000 domains (4 vCPUs, 2 VBDs, 2 VIFs each).
 *
 * The backend's work (reading the host) is not timed: the sample is
 * filled in memory, and set_sched goes to a backend that only counts.
 * What is timed is xd_account(), the very function xenosd runs each
 * interval: accounting, the tenant policy (20 tenants matched by name
 * glob, a cap on each) and the checkpoint with its fsync.  Rendering the
 * status, done only when a client asks, is timed on its own.  The figure
 * is CPU time (the process's, user + system), which is what the target is
 * about; wall time is shown too, since it also waits for the
 * checkpoint's fsync to reach the disk.  Median and worst of
 * 20 intervals after 3 warm-ups; RSS is the process's peak (getrusage),
 * one process per size.
 *
 * Usage: bench_xenosd [DOMAINS]   (none: 100, 1000 and 10000, forked)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define NR_TENANTS      20
#define INTERVALS       20
#define WARMUP          3

static unsigned long set_calls;

static int be_set(void *st, const char *uuid, uint32_t w, uint32_t c)
{
    (void)st;
    (void)uuid;
    (void)w;
    (void)c;
    set_calls++;
    return 0;
}

static const struct acct_backend_ops bench_be = {
    .version = ACCT_BACKEND_V1,
    .name = "bench",
    .set_sched = be_set,
};

/* Interval @k of a host of @n domains: every counter grows. */
static void fill(struct acct_sample *s, unsigned int n, unsigned int k)
{
    unsigned int i, j;
    char name[64];

    acct_sample_reset(s);
    s->time_ns = (uint64_t)(k + 1) * 5000000000ull;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d = acct_sample_add(s);
        uint64_t base = (uint64_t)k * (i % 7 + 1);

        snprintf(d->uuid, sizeof(d->uuid),
                 "%08x-0000-4000-8000-%012x", i, i);
        d->domid = i + 1;
        snprintf(name, sizeof(name), "t%02u-dom%u", i % NR_TENANTS, i);
        d->name = acct_sample_str(s, name, strlen(name));
        d->nr_vcpus = d->online_vcpus = 4;
        d->vcpus = acct_sample_array(s, 4, sizeof(*d->vcpus));
        for ( j = 0; j < 4; j++ )
        {
            d->vcpus[j].cpu_ns = base * 250000000ull;
            d->vcpus[j].online = true;
        }
        d->cpu_ns = base * 1000000000ull;
        d->mem_cur_bytes = d->mem_max_bytes = d->mem_target_bytes = 1 << 30;
        d->nr_vbds = d->nr_vifs = 2;
        d->vbds = acct_sample_array(s, 2, sizeof(*d->vbds));
        d->vifs = acct_sample_array(s, 2, sizeof(*d->vifs));
        for ( j = 0; j < 2; j++ )
        {
            d->vbds[j].id = 51712 + j * 16;
            d->vbds[j].rd_reqs = d->vbds[j].wr_reqs = base * 100;
            d->vbds[j].rd_sectors = d->vbds[j].wr_sectors = base * 800;
            d->vifs[j].id = j;
            d->vifs[j].rx_bytes = d->vifs[j].tx_bytes = base * 1000000;
            d->vifs[j].rx_pkts = d->vifs[j].tx_pkts = base * 1000;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int run(unsigned int n)
{
    static struct xd xd;
    char dir[] = "/tmp/xenos-bench-XXXXXX", path[256], err[512] = "";
    double ms[INTERVALS], cpu[INTERVALS], render_ms;
    struct rusage ru;
    unsigned int k, t;
    FILE *f;

    if ( !mkdtemp(dir) )
        return 1;
    snprintf(path, sizeof(path), "%s/tenants.yaml", dir);
    f = fopen(path, "w");
    if ( !f )
        return 1;
    fprintf(f, "defaults: {weight: 256, cap_pct: 0}\ntenants:\n");
    for ( t = 0; t < NR_TENANTS; t++ )
        fprintf(f, "  - name: t%02u\n    weight: %u\n    cap_pct: %u\n"
                "    match: {names: [\"t%02u-*\"]}\n", t, 256 * (t % 4 + 1),
                100 * (t % 3 + 1), t);
    fclose(f);

    memset(&xd, 0, sizeof(xd));
    xd.o.policy_file = path;
    xd.o.state_dir = dir;
    xd.o.interval_ms = 5000;
    xd.be = &bench_be;
    if ( xd_load_policy(&xd) )
        return 1;
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    if ( acct_collector_alloc(&xd.col, path, err, sizeof(err)) )
    {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    acct_sample_init(&xd.sample);
    for ( k = 0; k < WARMUP + INTERVALS; k++ )
    {
        uint64_t t0, c0;

        fill(&xd.sample, n, k);
        t0 = xd_clock_ns(CLOCK_MONOTONIC);
        c0 = xd_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        if ( xd_account(&xd) )
            return 1;
        if ( k >= WARMUP )
        {
            ms[k - WARMUP] = (double)(xd_clock_ns(CLOCK_MONOTONIC) - t0) /
                             1e6;
            cpu[k - WARMUP] = (double)(xd_clock_ns(CLOCK_PROCESS_CPUTIME_ID)
                                       - c0) / 1e6;
        }
    }
    {
        /* What a control client's request then costs, once. */
        uint64_t c0 = xd_clock_ns(CLOCK_PROCESS_CPUTIME_ID);

        xd_render(&xd);
        render_ms = (double)(xd_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) /
                    1e6;
    }
    getrusage(RUSAGE_SELF, &ru);
    qsort(ms, INTERVALS, sizeof(ms[0]), cmp_double);
    qsort(cpu, INTERVALS, sizeof(cpu[0]), cmp_double);
    printf("%6u domains: CPU per interval median %6.2f ms, worst %6.2f ms;"
           " wall median %6.2f ms; peak RSS %5.1f MiB; a status request "
           "%6.2f ms (%zu bytes)\n", n, cpu[INTERVALS / 2],
           cpu[INTERVALS - 1], ms[INTERVALS / 2], ru.ru_maxrss / 1024.0,
           render_ms, xd.status_len);
    fflush(stdout);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    return system(path) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const unsigned int sizes[] = { 100, 1000, 10000 };
    unsigned int i;

    if ( argc > 1 )
        return run((unsigned int)strtoul(argv[1], NULL, 10));
    /* A process per size, so each RSS is its own. */
    for ( i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++ )
    {
        pid_t pid = fork();
        int st;

        if ( pid == 0 )
            _exit(run(sizes[i]));
        if ( pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
             WEXITSTATUS(st) )
            return 1;
    }
    return 0;
}
