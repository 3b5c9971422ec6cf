/*
 * bench_prom.c: the Prometheus exporter at scale: render time and size at
 * N domains (default 1,000), gzip time and ratio, exp_prom_update() in
 * all, then scrape throughput with wrk on loopback, plain and gzip, while
 * the main thread keeps updating once a second as xenosd would (its
 * update times show whether scrapes disturb sampling).
 *
 *   bench_prom [--domains N] [--seconds S] [--connections C] [--sched]
 *              [--dump]
 * --dump writes the text to stdout instead (to look at, or for promtool).
 * --sched: the domains' scheduler counts (fcredit's host: waiting and
 * throttled time, every other domain capped, its 100 ms windows), and
 * the render is timed against the same domains without, in the same run.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <xenos/acct.h>
#include <xenos/exp_prom.h>

/* The collector as the exporters see it (acct_snapshot). */
#define SNAP(c) acct_snap((c), &(struct acct_snapshot){ 0 })

#define SEC 1000000000ull

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t rusage_ns(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
           SEC + ((uint64_t)ru.ru_utime.tv_usec +
                  (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static const char *tenant_of(void *ctx, const struct acct_domain *d)
{
    static const char *const t[] = { "acme", "globex", "initech", "umbrella",
                                     "hooli", "-", "stark", "wayne" };

    (void)ctx;
    return t[d->domid % 8][0] == '-' ? NULL : t[d->domid % 8];
}

/* @n domains like a busy host's: 2..5 vCPUs, a disk, a NIC; with
 * @sched, the counters of a scheduler that counts (fcredit's). */
static void make_sample(struct acct_sample *s, unsigned int n, uint64_t t,
                        bool sched)
{
    unsigned int i, v;
    char name[64];

    acct_sample_reset(s);
    s->time_ns = t;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d = acct_sample_add(s);
        uint64_t cpu = t / 3 * (i % 7 + 1) + i;

        snprintf(d->uuid, sizeof(d->uuid), "%08x-5b1c-4e8a-9f3d-%012x",
                 i * 2654435761u, i);
        d->domid = i + 1;
        snprintf(name, sizeof(name), "customer-vm-%05u.example.net", i);
        d->name = acct_sample_str(s, name, strlen(name));
        d->state = ACCT_DOM_RUNNING;
        d->cpu_ns = cpu;
        d->nr_vcpus = d->online_vcpus = 2 + i % 4;
        d->vcpus = acct_sample_array(s, d->nr_vcpus, sizeof(*d->vcpus));
        for ( v = 0; v < d->nr_vcpus; v++ )
            d->vcpus[v].cpu_ns = cpu / d->nr_vcpus;
        d->mem_cur_bytes = d->mem_target_bytes = (1ull + i % 16) << 30;
        d->mem_max_bytes = 32ull << 30;
        d->nr_vbds = d->nr_vifs = 1;
        d->vbds = acct_sample_array(s, 1, sizeof(*d->vbds));
        d->vifs = acct_sample_array(s, 1, sizeof(*d->vifs));
        d->vbds[0].rd_reqs = cpu / 4096;
        d->vbds[0].wr_reqs = cpu / 8192;
        d->vbds[0].rd_sectors = cpu / 512;
        d->vbds[0].wr_sectors = cpu / 1024;
        d->vifs[0].rx_bytes = cpu * 3;
        d->vifs[0].tx_bytes = cpu * 2;
        d->vifs[0].rx_pkts = cpu / 1000;
        d->vifs[0].tx_pkts = cpu / 1500;
        if ( !sched )
            continue;
        d->sched_stats = true;
        d->wait_ns = cpu / 5;
        d->throttled_ns = i % 2 ? cpu / 3 : 0;
        d->sched_cap_pct = i % 2 ? 50 : 0;
        /* a window every 100 ms since boot, most at the cap, some over */
        d->windows[5] = t / 100000000u - i % 3;
        d->windows[7] = i % 3;
    }
}

/* Best of 10 renderings of @c into @b, ns. */
static uint64_t best_render_ns(struct txt_buf *b, struct acct_collector *c,
                               const struct exp_info *info)
{
    uint64_t best = UINT64_MAX;
    unsigned int i;

    for ( i = 0; i < 10; i++ )
    {
        uint64_t t0 = clock_ns(CLOCK_MONOTONIC), t;

        txt_buf_reset(b);
        exp_prom_render(b, SNAP(c), info);
        t = clock_ns(CLOCK_MONOTONIC) - t0;
        best = t < best ? t : best;
    }
    return best;
}

/* Series (lines that are no comment) in @b. */
static size_t series_of(const struct txt_buf *b)
{
    size_t i, n = 0;

    for ( i = 0; i < b->len; i++ )
        n += b->p[i] == '\n' && i + 1 < b->len && b->p[i + 1] != '#';
    return n;
}

/* A collector of @n domains through two samples, its checkpoint at
 * @ckpt; NULL (said) on failure. */
static struct acct_collector *collect(struct acct_sample *s, unsigned int n,
                                      const char *ckpt, bool sched)
{
    struct acct_collector *c;
    char err[256] = "";
    unsigned int i;

    if ( acct_collector_alloc(&c, ckpt, err, sizeof(err)) )
    {
        fprintf(stderr, "bench_prom: %s\n", err);
        return NULL;
    }
    for ( i = 0; i < 2; i++ )
    {
        make_sample(s, n, (100 + 5 * i) * SEC, sched);
        acct_collector_update(c, s, tenant_of, NULL);
    }
    return c;
}

struct wrk_result {
    double rps;
    char transfer[32];
    char latency[32];
    uint64_t requests;
    uint64_t server_cpu_ns;             /* process CPU minus main thread */
    uint64_t upd_max_ns, upd_sum_ns, nr_upd, late_max_ns;
};

/*
 * Run wrk for @seconds against @url; meanwhile update @p once a second
 * from the main thread.  Fills @res; -errno when wrk cannot run.
 */
static int run_wrk(struct exp_prom *p, struct acct_collector *c,
                   struct exp_info *info, const char *url, bool gzip,
                   unsigned int seconds, unsigned int conns,
                   struct wrk_result *res)
{
    char out[] = "/tmp/xenos-bench-prom-XXXXXX", dur[16], cn[16], line[256];
    uint64_t cpu0, th0, next;
    int fd, st;
    pid_t pid;
    FILE *f;

    memset(res, 0, sizeof(*res));
    fd = mkstemp(out);
    if ( fd < 0 )
        return -errno;
    snprintf(dur, sizeof(dur), "%us", seconds);
    snprintf(cn, sizeof(cn), "%u", conns);
    cpu0 = rusage_ns();
    th0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pid = fork();
    if ( pid < 0 )
        return -errno;
    if ( pid == 0 )
    {
        dup2(fd, 1);
        if ( gzip )
            execlp("wrk", "wrk", "-t1", "-c", cn, "-d", dur,
                   "-H", "Accept-Encoding: gzip", url, (char *)NULL);
        else
            execlp("wrk", "wrk", "-t1", "-c", cn, "-d", dur, url,
                   (char *)NULL);
        _exit(127);
    }
    next = clock_ns(CLOCK_MONOTONIC) + SEC;
    while ( waitpid(pid, &st, WNOHANG) == 0 )
    {
        uint64_t now = clock_ns(CLOCK_MONOTONIC), t0, d;

        if ( now < next )
        {
            usleep((useconds_t)((next - now) / 1000 < 20000
                                ? (next - now) / 1000 : 20000));
            continue;
        }
        if ( now - next > res->late_max_ns )
            res->late_max_ns = now - next;
        t0 = now;
        info->intervals++;
        info->sample_unix_ns = clock_ns(CLOCK_REALTIME);
        exp_prom_update(p, SNAP(c), info);
        d = clock_ns(CLOCK_MONOTONIC) - t0;
        res->upd_sum_ns += d;
        res->nr_upd++;
        if ( d > res->upd_max_ns )
            res->upd_max_ns = d;
        next += SEC;
    }
    res->server_cpu_ns = (rusage_ns() - cpu0) -
                         (clock_ns(CLOCK_THREAD_CPUTIME_ID) - th0);
    f = fdopen(fd, "r");
    if ( !f )
        return -errno;
    rewind(f);
    while ( fgets(line, sizeof(line), f) )
    {
        unsigned long long n;

        sscanf(line, "Requests/sec: %lf", &res->rps);
        sscanf(line, "Transfer/sec: %31s", res->transfer);
        sscanf(line, " Latency %31s", res->latency);
        if ( sscanf(line, " %llu requests in", &n) == 1 )
            res->requests = n;
    }
    fclose(f);
    unlink(out);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && res->requests ? 0 : -EIO;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "domains", required_argument, NULL, 'n' },
        { "seconds", required_argument, NULL, 's' },
        { "connections", required_argument, NULL, 'c' },
        { "dump", no_argument, NULL, 'd' },
        { "sched", no_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    unsigned int n = 1000, seconds = 5, conns = 4;
    size_t i;
    struct exp_info info = { .host = "bench", .backend = "sim",
                             .interval_ms = 1000, .intervals = 2,
                             .sample_duration_ns = 1000000 };
    char dir[] = "/tmp/xenos-bench-prom-XXXXXX", ckpt[64], err[256] = "";
    uint64_t best_render = UINT64_MAX, best_gz = UINT64_MAX, base_render;
    uint64_t best_upd = UINT64_MAX;
    struct acct_collector *c;
    struct acct_sample s;
    struct txt_buf b;
    struct exp_prom *p;
    size_t gz_len = 0, series = 0, base_series;
    bool dump = false, sched = false;
    int opt;

    while ( (opt = getopt_long(argc, argv, "", opts, NULL)) != -1 )
    {
        if ( opt == 'n' )
            n = (unsigned int)atoi(optarg);
        else if ( opt == 's' )
            seconds = (unsigned int)atoi(optarg);
        else if ( opt == 'c' )
            conns = (unsigned int)atoi(optarg);
        else if ( opt == 'd' )
            dump = true;
        else if ( opt == 'S' )
            sched = true;
        else
            return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if ( !mkdtemp(dir) )
        return 1;
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", dir);
    acct_sample_init(&s);
    info.sample_unix_ns = clock_ns(CLOCK_REALTIME);
    txt_buf_init(&b);
    if ( sched && !dump )
    {
        /* the baseline: the same domains on a stock scheduler */
        c = collect(&s, n, ckpt, false);
        if ( !c )
            return 1;
        best_render = best_render_ns(&b, c, &info);
        series = series_of(&b);
        acct_collector_free(c);
        unlink(ckpt);
        printf("baseline, no scheduler counters: %zu series, render %.2f ms "
               "(best of 10)\n", series, best_render / 1e6);
    }
    c = collect(&s, n, ckpt, sched);
    if ( !c )
        return 1;
    base_render = best_render;
    best_render = best_render_ns(&b, c, &info);
    for ( i = 0; i < 5; i++ )
    {
        uLongf len = compressBound((uLong)b.len) + 32;
        Bytef *gz = malloc(len);
        z_stream zs = { 0 };
        uint64_t t0 = clock_ns(CLOCK_MONOTONIC), t;

        /* what exp_prom_update does: gzip wrapper, level 1 */
        deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)b.p;
        zs.avail_in = (uInt)b.len;
        zs.next_out = gz;
        zs.avail_out = (uInt)len;
        deflate(&zs, Z_FINISH);
        gz_len = zs.total_out;
        deflateEnd(&zs);
        t = clock_ns(CLOCK_MONOTONIC) - t0;
        best_gz = t < best_gz ? t : best_gz;
        free(gz);
    }
    if ( dump )
    {
        fwrite(b.p, 1, b.len, stdout);
        goto out;
    }
    base_series = series;
    series = series_of(&b);
    printf("domains %u: text %zu bytes (%zu series), render %.2f ms "
           "(best of 10)\n", n, b.len, series, best_render / 1e6);
    if ( sched )
        printf("scheduler counters: %zu series more (x%.3f), render "
               "x%.3f the baseline's\n", series - base_series,
               (double)series / (double)base_series,
               (double)best_render / (double)base_render);
    printf("gzip level 1: %zu bytes (ratio %.1f), %.2f ms (best of 5)\n",
           gz_len, (double)b.len / (double)gz_len, best_gz / 1e6);

    if ( exp_prom_start(&p, "127.0.0.1:0", err, sizeof(err)) )
    {
        fprintf(stderr, "bench_prom: %s\n", err);
        return 1;
    }
    for ( i = 0; i < 5; i++ )
    {
        uint64_t t0 = clock_ns(CLOCK_MONOTONIC), t;

        exp_prom_update(p, SNAP(c), &info);
        t = clock_ns(CLOCK_MONOTONIC) - t0;
        best_upd = t < best_upd ? t : best_upd;
    }
    printf("exp_prom_update (render + gzip + swap): %.2f ms (best of 5)\n",
           best_upd / 1e6);

    if ( system("command -v wrk >/dev/null 2>&1") )
        printf("wrk not installed (scripts/install-deps): no scrape "
               "figures\n");
    else
    {
        char url[64];
        int gz;

        snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics",
                 exp_prom_port(p));
        for ( gz = 0; gz < 2; gz++ )
        {
            struct wrk_result r;

            if ( run_wrk(p, c, &info, url, gz, seconds, conns, &r) )
            {
                printf("wrk failed\n");
                continue;
            }
            printf("wrk -t1 -c%u -d%us%s: %.0f scrapes/s, %s/s, latency "
                   "avg %s; server CPU %.3f ms per scrape; updates "
                   "meanwhile: %llu, avg %.1f ms, max %.1f ms, max late "
                   "%.1f ms\n", conns, seconds,
                   gz ? " -H 'Accept-Encoding: gzip'" : "", r.rps,
                   r.transfer, r.latency,
                   r.server_cpu_ns / 1e6 / (double)r.requests,
                   (unsigned long long)r.nr_upd,
                   r.nr_upd ? r.upd_sum_ns / 1e6 / (double)r.nr_upd : 0,
                   r.upd_max_ns / 1e6, r.late_max_ns / 1e6);
        }
    }
    exp_prom_stop(p);
 out:
    txt_buf_free(&b);
    acct_collector_free(c);
    acct_sample_free(&s);
    snprintf(err, sizeof(err), "rm -rf '%s'", dir);
    return system(err) ? 1 : 0;
}
