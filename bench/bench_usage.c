/*
 * bench_usage.c: the usage ledger's throughput: records encoded (protobuf-c),
 * framed (length + CRC-32C), written and fsynced per second.
 *
 * A hand-filled collector of N domains (names and tenants of realistic
 * length, every counter growing) closes one interval per call of
 * exp_usage_update, the very call xenosd makes: N records in one write and
 * one fsync, then the state file (N totals) replaced with its own fsync
 * and the directory's.  The figure is records per second of wall time,
 * best of 3 runs of K intervals, in a fresh directory under DIR (default:
 * the current directory, so it is a real disk, not a tmpfs).
 *
 * STATE_EVERY (default 1) is exp_usage_set_state_every's: 1 saves the
 * state after every interval, more lets recovery replay the records.
 *
 * KEEP (a path): the last run's ledger is kept there, for bench/reader to
 * read back.
 *
 * Usage: bench_usage [DIR] [DOMAINS] [INTERVALS] [STATE_EVERY] [KEEP]
 *        (defaults: . 10000 50 1, nothing kept)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenos/exp_usage.h>

#define NS              1000000000ull
#define T0_S            1764057600ull
#define RUNS            3

static uint64_t now_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void grow(struct acct_dom *doms, uint32_t n, unsigned int k)
{
    uint32_t i;

    for ( i = 0; i < n; i++ )
    {
        struct acct_dom *d = &doms[i];

        d->total.cpu_ns += 30000000000ull + i + k;
        d->total.memory_byte_seconds += 60ull * d->mem_cur_bytes;
        d->total.vbd_read_bytes += 4096 * (i % 100);
        d->total.vbd_write_bytes += 8192 * (i % 50);
        d->total.vbd_read_ops += i % 100;
        d->total.vbd_write_ops += i % 50;
        d->total.vif_rx_bytes += 1500 * (i % 300);
        d->total.vif_tx_bytes += 1500 * (i % 200);
    }
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : ".";
    unsigned int n = argc > 2 ? (unsigned int)atoi(argv[2]) : 10000;
    unsigned int k = argc > 3 ? (unsigned int)atoi(argv[3]) : 50;
    unsigned int every = argc > 4 ? (unsigned int)atoi(argv[4]) : 1;
    struct acct_snapshot snap = { 0 };
    struct acct_dom *doms = calloc(n ? n : 1, sizeof(*doms));
    char *names = malloc((size_t)(n ? n : 1) * 32), err[512], dir[1024];
    double best = 0, bytes_per = 0;
    unsigned int i, run;

    if ( !doms || !names || !n || !k )
    {
        fprintf(stderr, "usage: bench_usage [DIR] [DOMAINS] [INTERVALS] "
                "[STATE_EVERY] [KEEP]\n");
        return 2;
    }
    for ( i = 0; i < n; i++ )
    {
        struct acct_dom *d = &doms[i];

        snprintf(d->uuid, sizeof(d->uuid),
                 "%08x-1111-2222-3333-%012x", i, i * 7919u);
        snprintf(names + 32 * (size_t)i, 32, "tenant%02u-web-%05u", i % 20,
                 i);
        d->name = names + 32 * (size_t)i;
        d->tenant = (char *)(i % 20 < 10 ? "acme-corp" : "globex");
        d->present = true;
        d->online_vcpus = 4;
        d->mem_cur_bytes = 4ull << 30;
        d->weight = 256;
        d->cap_pct = 200;
    }
    snap.doms = doms;
    snap.nr_doms = n;

    for ( run = 0; run < RUNS; run++ )
    {
        struct exp_info info = { .host = "bench" };
        struct exp_usage_stats st;
        struct exp_usage *w;
        uint64_t t0, c0, dt, dc;
        char cmd[4096];
        double rate;
        unsigned int j;
        bool keep;

        snprintf(dir, sizeof(dir), "%s/bench-usage.%d.%u", base,
                 (int)getpid(), run);
        if ( exp_usage_open(&w, dir, "bench", 60, 86400, err,
                            sizeof(err)) )
        {
            fprintf(stderr, "bench_usage: %s\n", err);
            return 1;
        }
        if ( exp_usage_set_state_every(w, every ? every : 1) )
            return 2;
        info.sample_unix_ns = T0_S * NS;
        grow(doms, n, 0);
        if ( exp_usage_update(w, &snap, &info) )
            return 1;
        t0 = now_ns(CLOCK_MONOTONIC);
        c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        for ( j = 1; j <= k; j++ )
        {
            grow(doms, n, j);
            info.sample_unix_ns = (T0_S + 60ull * j) * NS;
            if ( exp_usage_update(w, &snap, &info) )
            {
                fprintf(stderr, "bench_usage: update failed\n");
                return 1;
            }
        }
        dt = now_ns(CLOCK_MONOTONIC) - t0;
        dc = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
        exp_usage_get_stats(w, &st);
        exp_usage_close(w);
        rate = (double)st.records / ((double)dt / NS);
        if ( rate > best )
            best = rate;
        keep = argc > 5 && run == RUNS - 1;
        snprintf(cmd, sizeof(cmd), "du -sb '%s' | awk '{ print $1 }' > "
                 "'%s.size'%s'%s'", dir, dir, keep ? "; : " : "; rm -rf ",
                 dir);
        if ( system(cmd) == 0 )
        {
            char sp[1100];
            FILE *f;
            unsigned long long b = 0;

            snprintf(sp, sizeof(sp), "%s.size", dir);
            f = fopen(sp, "r");
            if ( f && fscanf(f, "%llu", &b) == 1 && st.records )
                bytes_per = (double)b / (double)st.records;
            if ( f )
                fclose(f);
            unlink(sp);
        }
        if ( keep && rename(dir, argv[5]) )
        {
            perror(argv[5]);
            return 1;
        }
        printf("run %u: %" PRIu64 " records in %.3f s wall (%.3f s CPU): "
               "%.2f M records/s (%.2f M/s of CPU)\n", run + 1, st.records,
               (double)dt / NS, (double)dc / NS, rate / 1e6,
               (double)st.records / ((double)dc / NS) / 1e6);
    }
    printf("usage ledger, %u domains x %u intervals, state every %u: "
           "best %.2f M records/s, %.0f bytes/record on disk\n", n, k,
           every ? every : 1, best / 1e6, bytes_per);
    free(doms);
    free(names);
    return 0;
}
