/*
 * bench_rrd.c: the RRD exporter's cost per interval (the target: 10,000
 * domain files updated within one 5 s interval, through rrdcached).
 *
 * A collector is fed hand-made samples of N domains in 20 tenants (one
 * vCPU, one VBD, one VIF each; every counter grows each interval).  What
 * is timed is exp_rrd_update, the call xenosd makes after each interval,
 * in wall time:
 *   create   the first call, which creates every file (lazy creation,
 *            budget lifted for the measurement)
 *   update   the following calls: one point to every file, as one
 *            rrdcached BATCH (or, with --direct, rrd_updatex_r per file)
 *   flush    rrdcached's FLUSHALL afterwards (rrdcached's own disk work,
 *            which it normally does in the background)
 *   rrdc     for comparison, in the same run: the same points sent with
 *            librrd's rrdc_update, one round trip per file
 * Median and worst of --rounds calls.  The rrdcached is started by the
 * bench on a temporary unix socket, and stopped at the end.
 *
 * Usage: bench_rrd [--domains N] [--rounds R] [--direct] [--dir D]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include <xenos/acct.h>
#include <xenos/exp_rrd.h>

/* The collector as the exporters see it (acct_snapshot). */
#define SNAP(c) acct_snap((c), &(struct acct_snapshot){ 0 })

#define NR_TENANTS      20
#define SEC             1000000000ull

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static const char *tenant_of(void *ctx, const struct acct_domain *d)
{
    (void)ctx;
    return d->tenant_key;
}

/* Interval @k of @n domains. */
static int fill(struct acct_sample *s, unsigned int n, unsigned int k)
{
    static char tenants[NR_TENANTS][16];
    unsigned int i;
    char name[32];

    acct_sample_reset(s);
    s->time_ns = (uint64_t)(k + 1) * 5 * SEC;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d = acct_sample_add(s);

        if ( !d )
            return -ENOMEM;
        snprintf(d->uuid, sizeof(d->uuid), "%08x-0000-4000-8000-%012x",
                 i, i);
        d->domid = i + 1;
        snprintf(name, sizeof(name), "vm-%u", i);
        d->name = acct_sample_str(s, name, strlen(name));
        snprintf(tenants[i % NR_TENANTS], 16, "tenant%u", i % NR_TENANTS);
        d->tenant_key = tenants[i % NR_TENANTS];
        d->cpu_ns = (uint64_t)k * (SEC + i * 1000u);
        d->nr_vcpus = d->online_vcpus = 1;
        d->vcpus = acct_sample_array(s, 1, sizeof(*d->vcpus));
        d->nr_vbds = d->nr_vifs = 1;
        d->vbds = acct_sample_array(s, 1, sizeof(*d->vbds));
        d->vifs = acct_sample_array(s, 1, sizeof(*d->vifs));
        if ( !d->name || !d->vcpus || !d->vbds || !d->vifs )
            return -ENOMEM;
        d->vcpus[0].cpu_ns = d->cpu_ns;
        d->vcpus[0].online = true;
        d->mem_cur_bytes = (1ull << 30) + i;
        d->vbds[0].rd_sectors = (uint64_t)k * 100 * (i % 7 + 1);
        d->vbds[0].wr_sectors = (uint64_t)k * 50;
        d->vifs[0].rx_bytes = (uint64_t)k * 100000;
        d->vifs[0].tx_bytes = (uint64_t)k * 20000;
    }
    return 0;
}

/* Rounds of librrd's rrdc_update, one call per domain file, after @k0;
 * median wall ms into *@med, worst into *@worst.  0 or -1. */
static int rrdc_rounds(const char *addr, const char *rdir, unsigned int n,
                       unsigned int rounds, uint64_t t_s, double *ms,
                       double *med, double *worst)
{
    char path[1024], val[128], name[256];
    const char *v[1] = { val };
    unsigned int i, k;

    if ( rrdc_connect(addr) )
        return -1;
    for ( k = 0; k < rounds; k++ )
    {
        double t = now_ms();

        for ( i = 0; i < n; i++ )
        {
            char uuid[40];

            snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", i, i);
            exp_rrd_file_name(name, sizeof(name), false, uuid);
            snprintf(path, sizeof(path), "%s/%s", rdir, name);
            snprintf(val, sizeof(val), "%llu:%llu:%u:%u:%u:%u:%u",
                     (unsigned long long)(t_s + 5 * k),
                     (unsigned long long)(k + 1000) * SEC, 1 << 30, k, k,
                     k, k);
            if ( rrdc_update(path, 1, v) )
                return -1;
        }
        ms[k] = now_ms() - t;
    }
    rrdc_disconnect();
    qsort(ms, rounds, sizeof(*ms), cmp_dbl);
    *med = ms[rounds / 2];
    *worst = ms[rounds - 1];
    return 0;
}

static pid_t start_rrdcached(const char *base, const char *sock)
{
    char jdir[1024], listen[1024], pidf[1024];
    unsigned int i;
    pid_t pid;

    snprintf(jdir, sizeof(jdir), "%s/journal", base);
    mkdir(jdir, 0700);
    snprintf(listen, sizeof(listen), "unix:%s", sock);
    snprintf(pidf, sizeof(pidf), "%s/rrdcached.pid", base);
    pid = fork();
    if ( pid < 0 )
        return -1;
    if ( !pid )
    {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* as a host would run it: journal on, writes spread over -w */
        execlp("rrdcached", "rrdcached", "-g", "-l", listen, "-j", jdir,
               "-p", pidf, "-b", base, "-B", "-w", "300", "-z", "150",
               "-f", "600", "-t", "2", (char *)NULL);
        _exit(127);
    }
    for ( i = 0; i < 500 && access(sock, F_OK); i++ )
        usleep(10000);
    if ( access(sock, F_OK) )
    {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void stop(pid_t pid)
{
    if ( pid > 0 )
    {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "domains", required_argument, NULL, 'n' },
        { "rounds", required_argument, NULL, 'r' },
        { "direct", no_argument, NULL, 'D' },
        { "dir", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    unsigned int n = 10000, rounds = 10, k;
    bool direct = false;
    const char *parent = "/var/tmp";
    char base[256], rdir[512], sock[512], addr[600], ckpt[512], err[512];
    char cmd[600];
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    struct exp_info info = { .host = "bench", .backend = "bench",
                             .interval_ms = 5000 };
    double t, create_ms, flush_ms = 0, *ms;
    uint64_t t0_s = ((uint64_t)time(NULL) - 86400) / 5 * 5;
    pid_t pid = -1;
    int o, rc = 1;

    while ( (o = getopt_long(argc, argv, "", opts, NULL)) != -1 )
    {
        switch ( o )
        {
        case 'n': n = (unsigned int)strtoul(optarg, NULL, 10); break;
        case 'r': rounds = (unsigned int)strtoul(optarg, NULL, 10); break;
        case 'D': direct = true; break;
        case 'd': parent = optarg; break;
        default:
            fprintf(stderr, "usage: bench_rrd [--domains N] [--rounds R] "
                    "[--direct] [--dir D]\n");
            return 2;
        }
    }
    if ( !n || !rounds )
        return 2;
    ms = calloc(2 * (size_t)rounds, sizeof(*ms));
    snprintf(base, sizeof(base), "%s/xenos-bench-rrd-XXXXXX", parent);
    if ( !ms || !mkdtemp(base) )
    {
        perror("bench_rrd");
        return 1;
    }
    snprintf(rdir, sizeof(rdir), "%s/rrd", base);
    snprintf(sock, sizeof(sock), "%s/rrdcached.sock", base);
    snprintf(addr, sizeof(addr), "unix:%s", sock);
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", base);
    if ( !direct && (pid = start_rrdcached(base, sock)) < 0 )
    {
        fprintf(stderr, "bench_rrd: cannot start rrdcached (installed?)\n");
        goto out;
    }
    acct_sample_init(&s);
    if ( acct_collector_alloc(&c, ckpt, err, sizeof(err)) ||
         exp_rrd_open(&r, rdir, direct ? NULL : addr, 5, err, sizeof(err)) )
    {
        fprintf(stderr, "bench_rrd: %s\n", err);
        goto out;
    }
    exp_rrd_set_create_budget(r, 0);

    /* k = 0: the collector's baseline; the exporter creates every file */
    if ( fill(&s, n, 0) || acct_collector_update(c, &s, tenant_of, NULL) )
        goto out_close;
    info.sample_unix_ns = t0_s * SEC;
    t = now_ms();
    if ( exp_rrd_update(r, SNAP(c), &info) )
        goto out_close;
    create_ms = now_ms() - t;
    for ( k = 1; k <= rounds; k++ )
    {
        if ( fill(&s, n, k) ||
             acct_collector_update(c, &s, tenant_of, NULL) )
            goto out_close;
        info.sample_unix_ns = (t0_s + 5 * k) * SEC;
        t = now_ms();
        if ( exp_rrd_update(r, SNAP(c), &info) )
        {
            exp_rrd_get_stats(r, &st);
            fprintf(stderr, "bench_rrd: %s\n", st.last_error);
            goto out_close;
        }
        ms[k - 1] = now_ms() - t;
    }
    if ( !direct )
    {
        t = now_ms();
        exp_rrd_flush(r);
        flush_ms = now_ms() - t;
    }
    exp_rrd_get_stats(r, &st);
    qsort(ms, rounds, sizeof(*ms), cmp_dbl);
    if ( !direct )
    {
        double med, worst;

        if ( rrdc_rounds(addr, rdir, n, rounds, t0_s + 5 * (rounds + 1),
                         ms + rounds, &med, &worst) )
            fprintf(stderr, "bench_rrd: rrdc_update: %s\n",
                    rrd_get_error());
        else
            printf("%-8s %6u domains: rrdc_update per file, median %7.1f ms,"
                   " worst %7.1f ms (%u rounds)\n", "rrdc", n, med, worst,
                   rounds);
    }
    printf("%-8s %6u domains + %u tenants: create %8.0f ms (%.2f ms a "
           "file); update median %7.1f ms, worst %7.1f ms (%u rounds)",
           direct ? "direct" : "rrdcached", n, NR_TENANTS, create_ms,
           create_ms / (n + NR_TENANTS), ms[rounds / 2], ms[rounds - 1],
           rounds);
    if ( !direct )
        printf("; FLUSHALL %.0f ms", flush_ms);
    printf("; errors %llu\n", (unsigned long long)(st.update_errors +
                                                    st.create_errors +
                                                    st.io_errors));
    rc = st.update_errors + st.create_errors + st.io_errors ? 1 : 0;
 out_close:
    exp_rrd_close(r);
    acct_collector_free(c);
    acct_sample_free(&s);
 out:
    stop(pid);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if ( system(cmd) )
        rc = 1;
    free(ms);
    return rc;
}
