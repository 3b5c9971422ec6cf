/*
 * test_rrd.c: the RRD exporter as its readers see it: `rrdtool info` shows
 * our DS, RRAs and step; `rrdtool fetch` reads back the rates we fed
 * through a real collector; hostile tenant and domain names make safe,
 * findable files; updates through a real rrdcached (BATCH) are seen after
 * a flush; `xenosctl graph` draws a PNG.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include <xenos/acct.h>
#include <xenos/exp_rrd.h>

/* The collector as the exporters see it (acct_snapshot). */
#define SNAP(c) acct_snap((c), &(struct acct_snapshot){ 0 })

#define SEC     1000000000ull
#define U1      "00000000-0000-0000-0000-00000000000a"
#define U2      "00000000-0000-0000-0000-00000000000b"
#define GIB     (1ull << 30)

static char dir[64];
static char rdir[128];
static char ckpt[128];
static uint64_t t0_s;           /* first sample, on a 5 s boundary */

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/xenos-rrd-XXXXXX")));
    snprintf(rdir, sizeof(rdir), "%s/rrd", dir);
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", dir);
    /* Recent enough for `graph --since 1h` to show the points. */
    t0_s = ((uint64_t)time(NULL) - 600) / 5 * 5;
}

static bool start_rrdcached(const char *sock);
static void stop_rrdcached(void);

static void teardown(void)
{
    char cmd[128];

    stop_rrdcached();
    if ( getenv("KEEP") ) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Output of @cmd (exit status 0 required) into a static buffer. */
static char *run(const char *cmd)
{
    static char out[1 << 20];
    size_t n = 0, got;
    FILE *p = popen(cmd, "r");

    ck_assert_ptr_nonnull(p);
    while ( (got = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0 )
        n += got;
    out[n] = '\0';
    ck_assert_msg(pclose(p) == 0, "%s failed:\n%s", cmd, out);
    return out;
}

struct dom_in {
    const char *uuid;
    const char *name;
    const char *tenant;
    uint64_t cpu_ns, rd_sectors, rx_bytes, mem_bytes;
    uint32_t weight, cap_pct;           /* set by "xenosd"; 0: not */
    uint32_t t_weight, t_cap_pct;       /* its tenant's; 0: not set */
};

/* The scheduler's counters of the domains feed() is given, when a test
 * sets it (per domain, as in[]); NULL: the host does not count them. */
static const struct sched_in {
    bool sched_stats;
    uint64_t wait_ns, throttled_ns;
    uint32_t cap_pct;                   /* the cap the windows are under */
    uint64_t windows[ACCT_NR_WINDOWS];  /* the histogram, cumulative */
} *feed_sched;

static const char *tenant_of(void *ctx, const struct acct_domain *d)
{
    (void)ctx;
    return d->tenant_key;
}

/* One sample of @in at @t_s through the collector, then into the RRDs. */
static void feed(struct acct_collector *c, struct acct_sample *s,
                 struct exp_rrd *r, uint64_t t_s, const struct dom_in *in,
                 unsigned int n)
{
    struct exp_info info = { .host = "test", .backend = "sim",
                             .interval_ms = 5000 };
    unsigned int i;

    acct_sample_reset(s);
    s->time_ns = t_s * SEC;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d = acct_sample_add(s);

        ck_assert_ptr_nonnull(d);
        snprintf(d->uuid, sizeof(d->uuid), "%s", in[i].uuid);
        d->domid = i + 1;
        d->name = acct_sample_str(s, in[i].name, strlen(in[i].name));
        d->tenant_key = in[i].tenant
            ? acct_sample_str(s, in[i].tenant, strlen(in[i].tenant)) : NULL;
        d->cpu_ns = in[i].cpu_ns;
        d->nr_vcpus = d->online_vcpus = 1;
        d->vcpus = acct_sample_array(s, 1, sizeof(*d->vcpus));
        d->vcpus[0].cpu_ns = in[i].cpu_ns;
        d->vcpus[0].online = true;
        d->mem_cur_bytes = in[i].mem_bytes;
        d->nr_vbds = d->nr_vifs = 1;
        d->vbds = acct_sample_array(s, 1, sizeof(*d->vbds));
        d->vbds[0].rd_sectors = in[i].rd_sectors;
        d->vifs = acct_sample_array(s, 1, sizeof(*d->vifs));
        d->vifs[0].rx_bytes = in[i].rx_bytes;
        if ( feed_sched )
        {
            d->sched_stats = feed_sched[i].sched_stats;
            d->wait_ns = feed_sched[i].wait_ns;
            d->throttled_ns = feed_sched[i].throttled_ns;
            d->sched_cap_pct = feed_sched[i].cap_pct;
            memcpy(d->windows, feed_sched[i].windows, sizeof(d->windows));
        }
    }
    ck_assert_int_eq(acct_collector_update(c, s, tenant_of, NULL), 0);
    for ( i = 0; i < n; i++ )
    {
        if ( in[i].weight )
            ck_assert_int_eq(acct_collector_set_sched(c, in[i].uuid,
                                                      in[i].weight,
                                                      in[i].cap_pct), 0);
        if ( in[i].t_weight )
            ck_assert_int_eq(acct_collector_set_tenant_sched(
                                 c, in[i].tenant, in[i].t_weight,
                                 in[i].t_cap_pct), 0);
    }
    info.sample_unix_ns = t_s * SEC;
    info.intervals = SNAP(c)->intervals;
    ck_assert_int_eq(exp_rrd_update(r, SNAP(c), &info), 0);
}

/*
 * Four samples 5 s apart: each interval dom A burns 2.5 s of CPU (0.5 of
 * a pCPU), reads 1000 sectors (102400 B/s) and receives 50000 bytes
 * (10000 B/s); dom B burns 1 s (0.2).  Both in tenant "acme".
 */
static void feed_four(struct exp_rrd *r)
{
    struct acct_collector *c;
    struct acct_sample s;
    char err[256] = "";
    struct dom_in in[2] = {
        { U1, "web-1", "acme", 100 * SEC, 5000, 1000000, GIB, 0, 0, 0, 0 },
        { U2, "db-1", "acme", 10 * SEC, 0, 0, 2 * GIB, 0, 0, 0, 0 },
    };
    unsigned int k;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    for ( k = 0; k < 4; k++ )
    {
        feed(c, &s, r, t0_s + 5 * k, in, 2);
        in[0].cpu_ns += 2500000000ull;
        in[0].rd_sectors += 1000;
        in[0].rx_bytes += 50000;
        in[1].cpu_ns += SEC;
    }
    acct_collector_free(c);
    acct_sample_free(&s);
}

/* The value of @ds at @t_s in `rrdtool fetch` output @out (NAN if none). */
static double fetched(const char *out, const char *ds, uint64_t t_s)
{
    char hdr[512], key[32];
    const char *line;
    int col = -1, i = 0;
    char *tok, *save = NULL;

    snprintf(hdr, sizeof(hdr), "%.*s", (int)strcspn(out, "\n"), out);
    for ( tok = strtok_r(hdr, " ", &save); tok;
          tok = strtok_r(NULL, " ", &save), i++ )
        if ( !strcmp(tok, ds) )
            col = i;
    ck_assert_int_ge(col, 0);
    snprintf(key, sizeof(key), "\n%llu:", (unsigned long long)t_s);
    line = strstr(out, key);
    if ( !line )
        return NAN;
    line += strlen(key);
    for ( i = 0; i <= col; i++ )
    {
        char *end;
        double v = strtod(line, &end);

        if ( end == line )
            return NAN;
        if ( i == col )
            return v;
        line = end;
    }
    return NAN;
}

/* `rrdtool fetch` of @file from t0_s to @secs after it. */
static char *fetch_for(const char *file, const char *daemon, unsigned secs)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rrdtool fetch %s%s %s AVERAGE -s %llu "
             "-e %llu", daemon ? "--daemon " : "", daemon ? daemon : "",
             file, (unsigned long long)t0_s,
             (unsigned long long)t0_s + secs);
    return run(cmd);
}

static char *fetch(const char *file, const char *daemon)
{
    return fetch_for(file, daemon, 20);
}

static void assert_rates(const char *dom_a, const char *tenant, int row)
{
    uint64_t t = t0_s + 5 * (uint64_t)row;

    ck_assert_double_eq_tol(fetched(dom_a, "cpu", t), 0.5, 1e-9);
    ck_assert_double_eq_tol(fetched(dom_a, "cpu_ns", t), 5e8, 1e-3);
    ck_assert_double_eq_tol(fetched(dom_a, "disk_rd", t), 102400, 1e-6);
    ck_assert_double_eq_tol(fetched(dom_a, "net_rx", t), 10000, 1e-6);
    ck_assert_double_eq_tol(fetched(dom_a, "disk_wr", t), 0, 1e-9);
    ck_assert_double_eq_tol(fetched(dom_a, "mem", t), (double)GIB, 1);
    ck_assert_double_eq_tol(fetched(tenant, "cpu", t), 0.7, 1e-9);
    ck_assert_double_eq_tol(fetched(tenant, "mem", t), 3.0 * GIB, 1);
}

/* `rrdtool info`: the step, the DS and xcp-rrdd's archives. */
START_TEST(test_rrd_info_layout)
{
    struct exp_rrd *r;
    char err[256] = "", cmd[512], *out;
    static const char *const want[] = {
        "step = 5\n",
        "ds[cpu_ns].type = \"DERIVE\"", "ds[cpu_ns].minimal_heartbeat = 15",
        "ds[cpu].type = \"COMPUTE\"", "ds[mem].type = \"GAUGE\"",
        "ds[disk_rd].type = \"DERIVE\"", "ds[disk_wr].type = \"DERIVE\"",
        "ds[net_rx].type = \"DERIVE\"", "ds[net_tx].type = \"DERIVE\"",
        "ds[cap].type = \"GAUGE\"", "ds[cap].minimal_heartbeat = 15",
        "ds[weight].type = \"GAUGE\"",
        "ds[wait_ns].type = \"DERIVE\"", "ds[throttled_ns].type = \"DERIVE\"",
        "ds[peak_window_pct].type = \"GAUGE\"",
        "ds[capped_windows].type = \"DERIVE\"",
        "ds[over_cap_windows].type = \"DERIVE\"",
        "ds[over_cap_windows].min = 0",
        "rra[0].cf = \"AVERAGE\"", "rra[0].rows = 120",
        "rra[0].pdp_per_row = 1", "rra[1].cf = \"MAX\"",
        "rra[2].pdp_per_row = 12", "rra[2].rows = 120",
        "rra[4].pdp_per_row = 720", "rra[4].rows = 168",
        "rra[6].pdp_per_row = 17280", "rra[6].rows = 366",
        "rra[7].cf = \"MAX\"", "rra[7].pdp_per_row = 17280",
    };
    unsigned int i;

    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    feed_four(r);
    exp_rrd_close(r);
    snprintf(cmd, sizeof(cmd), "rrdtool info %s/dom-%s.rrd", rdir, U1);
    out = run(cmd);
    for ( i = 0; i < sizeof(want) / sizeof(want[0]); i++ )
        ck_assert_msg(strstr(out, want[i]), "no '%s' in:\n%s", want[i], out);
    ck_assert_ptr_null(strstr(out, "rra[8]"));
    ck_assert_ptr_null(strstr(out, "ds[vcpus]"));
}
END_TEST

/* `rrdtool fetch` reads back the rates of what we fed, per domain and
 * per tenant; files are created once and reopened, not recreated. */
START_TEST(test_rrd_fetch_reads_rates)
{
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    char err[256] = "", fa[256], ft[256], a[1 << 14], t[1 << 14];
    int row;

    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    feed_four(r);
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.created, 3);       /* 2 domains + tenant acme */
    ck_assert_uint_eq(st.updates, 12);
    ck_assert_uint_eq(st.update_errors + st.create_errors, 0);
    exp_rrd_close(r);
    snprintf(fa, sizeof(fa), "%s/dom-%s.rrd", rdir, U1);
    snprintf(ft, sizeof(ft), "%s/tenant-acme.rrd", rdir);
    snprintf(a, sizeof(a), "%s", fetch(fa, NULL));
    snprintf(t, sizeof(t), "%s", fetch(ft, NULL));
    for ( row = 1; row <= 3; row++ )
        assert_rates(a, t, row);
    /* Reopened: nothing created again, and past points are skipped. */
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    feed_four(r);
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.created, 0);
    ck_assert_uint_eq(st.update_errors, 0);
    exp_rrd_close(r);
}
END_TEST

/* 25 s of the files of domains U1 and U2, tenant acme and the unassigned
 * tenant "-", fetched into @a, @b, @t, @u (1 << 14 bytes each). */
static void fetch_four(char *a, char *b, char *t, char *u)
{
    static const char *const names[4] = {
        "dom-" U1, "dom-" U2, "tenant-acme", "tenant--",
    };
    char *const out[4] = { a, b, t, u };
    char f[256];
    unsigned int i;

    for ( i = 0; i < 4; i++ )
    {
        snprintf(f, sizeof(f), "%s/%s.rrd", rdir, names[i]);
        snprintf(out[i], 1 << 14, "%s", fetch_for(f, NULL, 25));
    }
}

/*
 * The cap in force and the weight, per domain and per tenant, as xenosd
 * set them: a cap lifted reads 0 (none); a domain xenosd has not set, and
 * the unassigned tenant "-" (whose defaults are per domain), unknown.
 */
START_TEST(test_rrd_cap_and_weight_stored)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    char err[256] = "", a[1 << 14], b[1 << 14], t[1 << 14];
    char u[1 << 14];
    struct dom_in in[3] = {
        { U1, "web-1", "acme", SEC, 0, 0, GIB, 256, 50, 512, 150 },
        { U2, "db-1", "acme", SEC, 0, 0, GIB, 0, 0, 512, 150 },
        { "00000000-0000-0000-0000-00000000000c", "lone", NULL, SEC, 0, 0,
          GIB, 128, 30, 0, 0 },
    };
    unsigned int k;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    for ( k = 0; k < 6; k++ )
    {
        /* web-1's cap is lifted from the fourth sample on */
        in[0].cap_pct = k < 3 ? 50 : 0;
        feed(c, &s, r, t0_s + 5 * k, in, 3);
    }
    exp_rrd_close(r);
    acct_collector_free(c);
    acct_sample_free(&s);
    fetch_four(a, b, t, u);
    for ( k = 1; k <= 5; k++ )
    {
        uint64_t ts = t0_s + 5 * k;

        ck_assert_double_eq_tol(fetched(a, "cap", ts), k < 3 ? 50 : 0, 1e-9);
        ck_assert_double_eq_tol(fetched(a, "weight", ts), 256, 1e-9);
        ck_assert(isnan(fetched(b, "cap", ts)));
        ck_assert(isnan(fetched(b, "weight", ts)));
        ck_assert_double_eq_tol(fetched(t, "cap", ts), 150, 1e-9);
        ck_assert_double_eq_tol(fetched(t, "weight", ts), 512, 1e-9);
        ck_assert(isnan(fetched(u, "cap", ts)));
    }
}
END_TEST

/*
 * Waiting and throttled time as rates (ns per s), per domain and tenant,
 * where the host counts them; so is conformance: a domain's peak window
 * (% of one pCPU) and its windows under a cap and over it as rates
 * (windows per s), and the tenant's windows, but no tenant peak (a sum or
 * max of its domains' would not be one).  All unknown, not 0, for a
 * domain whose host does not count (and for a tenant none of whose
 * domains does).
 */
START_TEST(test_rrd_contention_stored)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    char err[256] = "", a[1 << 14], b[1 << 14], t[1 << 14];
    char u[1 << 14];
    struct dom_in in[2] = {
        { U1, "web-1", "acme", SEC, 0, 0, GIB, 0, 0, 0, 0 },
        { U2, "stock", NULL, SEC, 0, 0, GIB, 0, 0, 0, 0 },
    };
    struct sched_in sched[2] = { { true, SEC, 0, 30, { 0 } },
                                 { false, 0, 0, 0, { 0 } } };
    unsigned int k;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    for ( k = 0; k < 6; k++ )
    {
        feed_sched = sched;
        feed(c, &s, r, t0_s + 5 * k, in, 2);
        feed_sched = NULL;
        sched[0].wait_ns += 1000000000ull;      /* 0.2 s a second */
        sched[0].throttled_ns += 3500000000ull; /* 0.7 s a second */
        /* each 5 s at cap 30: 40 windows at most 100% of it and 10 at
         * most 105% (31.5% of a pCPU: 32), those 10 over the cap */
        sched[0].windows[5] += 40;
        sched[0].windows[7] += 10;
    }
    exp_rrd_close(r);
    acct_collector_free(c);
    acct_sample_free(&s);
    fetch_four(a, b, t, u);
    for ( k = 2; k <= 5; k++ )
    {
        /* file, DS, value (NAN: unknown) */
        const struct {
            const char *out, *ds;
            double want;
        } want[] = {
            { a, "wait_ns", 2e8 }, { a, "throttled_ns", 7e8 },
            { t, "wait_ns", 2e8 }, { b, "cpu", 0 },
            { a, "peak_window_pct", 32 }, { a, "capped_windows", 10 },
            { a, "over_cap_windows", 2 }, { t, "capped_windows", 10 },
            { t, "over_cap_windows", 2 }, { t, "peak_window_pct", NAN },
            { b, "wait_ns", NAN }, { b, "throttled_ns", NAN },
            { b, "peak_window_pct", NAN }, { b, "capped_windows", NAN },
            { b, "over_cap_windows", NAN }, { u, "wait_ns", NAN },
            { u, "over_cap_windows", NAN },
        };
        uint64_t ts = t0_s + 5 * k;
        unsigned int i;

        for ( i = 0; i < sizeof(want) / sizeof(want[0]); i++ )
        {
            double got = fetched(want[i].out, want[i].ds, ts);

            ck_assert_msg(isnan(want[i].want) ? isnan(got)
                                              : fabs(got - want[i].want) <
                                                1e-3,
                          "%s of file %c at +%us: %g, not %g", want[i].ds,
                          want[i].out == a ? 'a' : want[i].out == b ? 'b'
                          : want[i].out == t ? 't' : 'u', 5 * k, got,
                          want[i].want);
        }
    }
}
END_TEST

/* An RRD as xenos wrote them before the cap (seven DS), or with @sched
 * as before the conformance DS (eleven: cap 60, weight 128, no
 * contention), with four points of 0.5 pCPU and 100 KiB/s read. */
static void make_old_rrd(const char *file, const char *daemon, bool sched)
{
    char cmd[1024];
    unsigned int k;

    snprintf(cmd, sizeof(cmd), "rrdtool create %s --step 5 --start %llu "
             "DS:cpu_ns:DERIVE:15:0:U "
             "DS:cpu:COMPUTE:cpu_ns,1000,/,1000,/,1000,/ "
             "DS:mem:GAUGE:15:0:U DS:disk_rd:DERIVE:15:0:U "
             "DS:disk_wr:DERIVE:15:0:U DS:net_rx:DERIVE:15:0:U "
             "DS:net_tx:DERIVE:15:0:U %s RRA:AVERAGE:0.5:1:120 "
             "RRA:MAX:0.5:1:120 RRA:AVERAGE:0.5:12:120 RRA:MAX:0.5:12:120",
             file, (unsigned long long)t0_s - 1,
             sched ? "DS:cap:GAUGE:15:0:U DS:weight:GAUGE:15:0:U "
                     "DS:wait_ns:DERIVE:15:0:U DS:throttled_ns:DERIVE:15:0:U"
                   : "");
    run(cmd);
    for ( k = 0; k < 4; k++ )
    {
        snprintf(cmd, sizeof(cmd), "rrdtool update %s%s %s "
                 "%llu:%llu:%llu:%u:0:0:0%s", daemon ? "--daemon " : "",
                 daemon ? daemon : "", file,
                 (unsigned long long)t0_s + 5 * k,
                 100 * SEC + k * 2500000000ull, GIB, k * 512000,
                 sched ? ":60:128:U:U" : "");
        run(cmd);
    }
}

/*
 * An RRD of an older xenos gets the DS it lacks when the store first
 * writes it: its rows are all still there, the new points carry the cap
 * and the conformance.  Through rrdcached (_i 1), its pending points of
 * the old shape are flushed into the file first, not lost or refused.
 * _i 2: a file of the version before the conformance DS, whose cap and
 * weight rows are kept as they were.
 */
START_TEST(test_rrd_old_file_gets_cap)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    char err[256] = "", file[256], sock[128], addr[160], *daemon = NULL;
    char *out, cmd[512];
    struct dom_in in = { U1, "web-1", "acme", 110 * SEC, 0, 0, GIB, 256,
                         75, 0, 0 };
    struct sched_in sched = { true, 0, 0, 75, { 0 } };
    unsigned int k;

    ck_assert_int_eq(mkdir(rdir, 0750), 0);
    snprintf(file, sizeof(file), "%s/dom-%s.rrd", rdir, U1);
    if ( _i == 1 )
    {
        snprintf(sock, sizeof(sock), "%s/rrdcached.sock", dir);
        snprintf(addr, sizeof(addr), "unix:%s", sock);
        if ( !start_rrdcached(sock) )
            return;
        daemon = addr;
    }
    make_old_rrd(file, daemon, _i == 2);
    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, daemon, 5, err, sizeof(err)),
                     0);
    for ( k = 4; k < 9; k++ )
    {
        feed_sched = &sched;
        feed(c, &s, r, t0_s + 5 * k, &in, 1);
        feed_sched = NULL;
        in.cpu_ns += 2500000000ull;
        sched.windows[5] += 50;         /* all 50 held the cap of 75 */
    }
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.upgraded, 1);
    ck_assert_uint_eq(st.update_errors + st.create_errors, 0);
    ck_assert_int_eq(exp_rrd_flush(r), 0);
    exp_rrd_close(r);
    acct_collector_free(c);
    acct_sample_free(&s);
    snprintf(cmd, sizeof(cmd), "rrdtool info %s", file);
    out = run(cmd);
    ck_assert_ptr_nonnull(strstr(out, "ds[cap].type = \"GAUGE\""));
    ck_assert_ptr_nonnull(strstr(out, "ds[weight].type = \"GAUGE\""));
    ck_assert_ptr_nonnull(strstr(out, "ds[throttled_ns].type = \"DERIVE\""));
    ck_assert_ptr_nonnull(strstr(out, "ds[peak_window_pct].type = \"GAUGE\""));
    ck_assert_ptr_nonnull(strstr(out,
                                 "ds[over_cap_windows].type = \"DERIVE\""));
    out = fetch_for(file, daemon, 40);
    for ( k = 1; k <= 3; k++ )
    {
        uint64_t ts = t0_s + 5 * k;

        ck_assert_double_eq_tol(fetched(out, "cpu", ts), 0.5, 1e-9);
        ck_assert_double_eq_tol(fetched(out, "disk_rd", ts), 102400, 1e-6);
        ck_assert_double_eq_tol(fetched(out, "mem", ts), (double)GIB, 1);
        if ( _i == 2 )
            ck_assert_double_eq_tol(fetched(out, "cap", ts), 60, 1e-9);
        else
            ck_assert(isnan(fetched(out, "cap", ts)));
        ck_assert(isnan(fetched(out, "peak_window_pct", ts)));
    }
    /* the collector's first total reads as a step back (unknown) */
    for ( k = 6; k <= 8; k++ )
    {
        uint64_t ts = t0_s + 5 * k;

        ck_assert_double_eq_tol(fetched(out, "cpu", ts), 0.5, 1e-9);
        ck_assert_double_eq_tol(fetched(out, "cap", ts), 75, 1e-9);
        ck_assert_double_eq_tol(fetched(out, "weight", ts), 256, 1e-9);
        ck_assert_double_eq_tol(fetched(out, "peak_window_pct", ts), 75,
                                1e-9);
        ck_assert_double_eq_tol(fetched(out, "capped_windows", ts), 10,
                                1e-9);
        ck_assert_double_eq_tol(fetched(out, "over_cap_windows", ts), 0,
                                1e-9);
    }
}
END_TEST

/* Lazy creation under a budget: a burst of new domains is created over
 * several calls, each file once; the others wait (deferred), no error. */
START_TEST(test_rrd_creation_budget_spreads)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    struct dom_in in[50];
    char err[256] = "", uuids[50][40];
    unsigned int i, k;

    for ( i = 0; i < 50; i++ )
    {
        snprintf(uuids[i], sizeof(uuids[i]),
                 "00000000-0000-0000-0000-%012u", i + 500);
        in[i] = (struct dom_in){ uuids[i], "vm", "t", SEC, 0, 0, GIB, 0, 0,
                                 0, 0 };
    }
    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    exp_rrd_set_create_budget(r, 1);
    feed(c, &s, r, t0_s, in, 50);
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_gt(st.deferred, 0);
    ck_assert_uint_lt(st.created, 51);
    for ( k = 1; k < 200 && st.created < 51; k++ )
    {
        feed(c, &s, r, t0_s + 5 * k, in, 50);
        exp_rrd_get_stats(r, &st);
    }
    ck_assert_uint_eq(st.created, 51);          /* 50 domains, tenant t */
    ck_assert_uint_eq(st.create_errors + st.update_errors, 0);
    feed(c, &s, r, t0_s + 5 * k, in, 50);
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.created, 51);
    exp_rrd_close(r);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

static const char *const hostile[] = {
    "../../etc/passwd", "a/b", ".", "..", "", "-", "x y\n\tz", "%41",
    "caf\xc3\xa9 \xe2\x98\x83", "tenant-acme.rrd", "\"';$(reboot)`",
    /* longer than a file name can encode: hashed */
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789",
};
#define NR_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/* Hostile tenant and domain names: every file stays in the directory
 * with a plain name, and each is found again by its name. */
START_TEST(test_rrd_hostile_names_safe_and_found)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    struct dom_in in[NR_HOSTILE];
    char err[512] = "", uuids[NR_HOSTILE][40], path[4096], title[512];
    char name[256];
    unsigned int i, files = 0;
    struct dirent *de;
    DIR *d;

    for ( i = 0; i < NR_HOSTILE; i++ )
    {
        snprintf(uuids[i], sizeof(uuids[i]),
                 "00000000-0000-0000-0000-%012u", i + 100);
        in[i] = (struct dom_in){ uuids[i], hostile[i], hostile[i],
                                 SEC, 0, 0, GIB, 0, 0, 0, 0 };
    }
    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    feed(c, &s, r, t0_s, in, NR_HOSTILE);
    feed(c, &s, r, t0_s + 5, in, NR_HOSTILE);
    exp_rrd_close(r);
    /* nothing outside the RRD directory: its parent holds only it */
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    while ( (de = readdir(d)) )
        ck_assert_msg(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")
                      || !strcmp(de->d_name, "rrd") ||
                      !strncmp(de->d_name, "checkpoint", 10),
                      "%s/%s written", dir, de->d_name);
    closedir(d);
    d = opendir(rdir);
    ck_assert_ptr_nonnull(d);
    while ( (de = readdir(d)) )
    {
        const char *p;

        if ( !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
             !strcmp(de->d_name, "index") )
            continue;
        ck_assert_msg(!strncmp(de->d_name, "dom-", 4) ||
                      !strncmp(de->d_name, "tenant-", 7), "%s", de->d_name);
        for ( p = de->d_name; *p; p++ )
            ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                 "OPQRSTUVWXYZ0123456789_-%~.", *p),
                          "unsafe file name '%s'", de->d_name);
        ck_assert_int_le(strlen(de->d_name), 255);
        files++;
    }
    closedir(d);
    /* one per domain, one per distinct tenant ("-" is also unassigned) */
    ck_assert_uint_eq(files, 2 * NR_HOSTILE);
    for ( i = 0; i < NR_HOSTILE; i++ )
    {
        ck_assert_int_eq(exp_rrd_find(rdir, hostile[i], EXP_RRD_TENANT, path,
                                      sizeof(path), title, sizeof(title),
                                      err, sizeof(err)), 0);
        ck_assert_int_eq(exp_rrd_file_name(name, sizeof(name), true,
                                           hostile[i]), 0);
        ck_assert_str_eq(strrchr(path, '/') + 1, name);
        ck_assert_int_eq(exp_rrd_find(rdir, hostile[i], EXP_RRD_DOMAIN, path,
                                      sizeof(path), title, sizeof(title),
                                      err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(path, uuids[i]));
        /* both kinds match: ambiguous unless narrowed */
        ck_assert_int_eq(exp_rrd_find(rdir, hostile[i], EXP_RRD_ANY, path,
                                      sizeof(path), title, sizeof(title),
                                      err, sizeof(err)), -EEXIST);
    }
    ck_assert_int_eq(exp_rrd_find(rdir, "nobody", EXP_RRD_ANY, path,
                                  sizeof(path), title, sizeof(title), err,
                                  sizeof(err)), -ENOENT);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* rrdcached                                                           */

static pid_t cached_pid = -1;

/* Start rrdcached in the foreground on @sock; false if not installed. */
/* Does something accept connections on the UNIX socket @path? */
static bool listening(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    ck_assert_int_ge(fd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return ok;
}

static bool start_rrdcached(const char *sock)
{
    char jdir[128], listen[256], pidf[128];
    unsigned int i;

    if ( system("command -v rrdcached >/dev/null") )
    {
        fprintf(stderr, "test_rrd: SKIPPED rrdcached part: rrdcached is "
                "not installed (scripts/install-deps installs it)\n");
        return false;
    }
    snprintf(jdir, sizeof(jdir), "%s/journal", dir);
    ck_assert_int_eq(mkdir(jdir, 0700) && errno != EEXIST, 0);
    snprintf(listen, sizeof(listen), "unix:%s", sock);
    snprintf(pidf, sizeof(pidf), "%s/rrdcached.pid", dir);
    unlink(pidf);
    cached_pid = fork();
    ck_assert_int_ge(cached_pid, 0);
    if ( !cached_pid )
    {
        /* it dies with the test, even one that fails half-way */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* -w 3600: nothing reaches the file until a flush; -p: its own
         * pid file, not the system's */
        execlp("rrdcached", "rrdcached", "-g", "-l", listen, "-j", jdir,
               "-p", pidf, "-b", dir, "-B", "-w", "3600", "-z", "1", "-f",
               "7200", (char *)NULL);
        _exit(127);
    }
    /* Listening, not only bound: the socket file appears at bind(), a
     * moment before listen(), and a connection then is refused. */
    for ( i = 0; i < 500 && !listening(sock); i++ )
        usleep(10000);
    ck_assert_msg(i < 500, "rrdcached did not listen on %s", sock);
    return true;
}

static void stop_rrdcached(void)
{
    int st, i;

    if ( cached_pid <= 0 )
        return;
    kill(cached_pid, SIGTERM);
    for ( i = 0; i < 500 && waitpid(cached_pid, &st, WNOHANG) == 0; i++ )
        usleep(10000);
    if ( i == 500 )
    {
        kill(cached_pid, SIGKILL);
        waitpid(cached_pid, &st, 0);
    }
    cached_pid = -1;
}

/* Through rrdcached: points wait in the cache (the file has none), a
 * fetch via --daemon sees them, and after FLUSHALL the file has them. */
START_TEST(test_rrd_rrdcached_batch)
{
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    char err[256] = "", sock[128], addr[160], fa[256], ft[256];
    char a[1 << 14], t[1 << 14];
    int row;

    snprintf(sock, sizeof(sock), "%s/rrdcached.sock", dir);
    if ( !start_rrdcached(sock) )
        return;
    snprintf(addr, sizeof(addr), "unix:%s", sock);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, addr, 5, err, sizeof(err)), 0);
    feed_four(r);
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.updates, 12);
    ck_assert_uint_eq(st.update_errors + st.io_errors, 0);
    snprintf(fa, sizeof(fa), "%s/dom-%s.rrd", rdir, U1);
    snprintf(ft, sizeof(ft), "%s/tenant-acme.rrd", rdir);
    /* still in the cache: the file alone has no rate yet */
    ck_assert(isnan(fetched(fetch(fa, NULL), "cpu", t0_s + 10)));
    /* rrdtool fetch --daemon flushes the file first */
    snprintf(a, sizeof(a), "%s", fetch(fa, addr));
    snprintf(t, sizeof(t), "%s", fetch(ft, addr));
    for ( row = 1; row <= 3; row++ )
        assert_rates(a, t, row);
    /* FLUSHALL: rrdcached writes in the background; wait (bounded) */
    ck_assert_int_eq(exp_rrd_flush(r), 0);
    exp_rrd_close(r);
    for ( row = 0; row < 500; row++ )
    {
        snprintf(a, sizeof(a), "%s", fetch(fa, NULL));
        if ( !isnan(fetched(a, "cpu", t0_s + 15)) )
            break;
        usleep(10000);
    }
    ck_assert_double_eq_tol(fetched(a, "cpu", t0_s + 15), 0.5, 1e-9);
    stop_rrdcached();
}
END_TEST

/*
 * rrdcached restarts and a file was removed meanwhile: the call that
 * finds the connection broken fails (counted), the next dials again, and
 * there rrdcached refuses the missing file (counted, with its name) while
 * the other files of the same batch are written.
 */
START_TEST(test_rrd_rrdcached_restart_and_refused)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    char err[256] = "", sock[128], addr[160], fa[256], fb[256];
    struct dom_in in[2] = {
        { U1, "web-1", "acme", 100 * SEC, 0, 0, GIB, 0, 0, 0, 0 },
        { U2, "db-1", "acme", 10 * SEC, 0, 0, 2 * GIB, 0, 0, 0, 0 },
    };
    unsigned int k;

    snprintf(sock, sizeof(sock), "%s/rrdcached.sock", dir);
    if ( !start_rrdcached(sock) )
        return;
    snprintf(addr, sizeof(addr), "unix:%s", sock);
    snprintf(fa, sizeof(fa), "%s/dom-%s.rrd", rdir, U1);
    snprintf(fb, sizeof(fb), "%s/dom-%s.rrd", rdir, U2);
    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, addr, 5, err, sizeof(err)), 0);
    for ( k = 0; k < 4; k++ )
    {
        if ( k == 1 )
        {
            stop_rrdcached();
            ck_assert_int_eq(unlink(fa), 0);
            start_rrdcached(sock);
        }
        if ( k == 1 )
        {
            struct exp_info info = { .sample_unix_ns =
                                     (t0_s + 5 * k) * SEC };

            /* the old connection is dead: this call fails, counted */
            ck_assert_int_lt(exp_rrd_update(r, SNAP(c), &info), 0);
        }
        else
            feed(c, &s, r, t0_s + 5 * k, in, 2);
        in[0].cpu_ns += SEC;
        in[1].cpu_ns += 2 * SEC;
    }
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.io_errors, 1);
    ck_assert_uint_eq(st.update_errors, 2);     /* dom A at k = 2, 3 */
    ck_assert_ptr_nonnull(strstr(st.last_error, fa));
    exp_rrd_close(r);
    /* dom B went on: 2 s of CPU per 5 s after the restart */
    ck_assert_double_eq_tol(fetched(fetch(fb, addr), "cpu", t0_s + 15),
                            0.4, 1e-9);
    acct_collector_free(c);
    acct_sample_free(&s);
}
END_TEST

/* rrdcached gone: the update fails with an error, counted; nothing
 * crashes, and the next call dials again. */
START_TEST(test_rrd_rrdcached_down)
{
    struct exp_rrd *r;
    struct exp_rrd_stats st;
    char err[256] = "", sock[128], addr[160];

    snprintf(sock, sizeof(sock), "%s/rrdcached.sock", dir);
    snprintf(addr, sizeof(addr), "unix:%s", sock);
    ck_assert_int_lt(exp_rrd_open(&r, rdir, addr, 5, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, sock));
    if ( !start_rrdcached(sock) )
        return;
    ck_assert_int_eq(exp_rrd_open(&r, rdir, addr, 5, err, sizeof(err)), 0);
    stop_rrdcached();
    {
        struct acct_collector *c;
        struct acct_sample s;
        struct exp_info info = { .sample_unix_ns = t0_s * SEC };
        struct acct_domain *d;

        acct_sample_init(&s);
        ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)),
                         0);
        /* One domain, so that there is a tenant ("-") to write. */
        d = acct_sample_add(&s);
        ck_assert_ptr_nonnull(d);
        snprintf(d->uuid, sizeof(d->uuid), "%s",
                 "00000000-0000-4000-8000-000000000001");
        d->domid = 1;
        d->name = "vm";
        ck_assert_int_eq(acct_collector_update(c, &s, NULL, NULL), 0);
        ck_assert_ptr_nonnull(acct_collector_find_tenant(c, NULL));
        ck_assert_int_lt(exp_rrd_update(r, SNAP(c), &info), 0);
        exp_rrd_get_stats(r, &st);
        ck_assert_uint_eq(st.io_errors, 1);
        ck_assert_str_ne(st.last_error, "");
        acct_collector_free(c);
        acct_sample_free(&s);
    }
    exp_rrd_close(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* xenosctl graph                                                      */

/* The end of feed_wave's ten minutes (its last sample), a Unix time. */
static uint64_t wave_end_s;

/* Ten minutes up to now of changing load in tenant "wave" (capped at 60 %
 * of a pCPU, weight 384): its domain is capped at 50 % for the first half
 * and uncapped after; it never writes to disk nor sends. */
static void feed_wave(void)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_rrd *r;
    char err[256] = "";
    uint64_t now_s = (uint64_t)time(NULL) / 5 * 5;
    struct dom_in in = { U2, "wave-1", "wave", 0, 0, 0, GIB, 256, 50, 384,
                         60 };
    unsigned int k;

    acct_sample_init(&s);
    ck_assert_int_eq(acct_collector_alloc(&c, ckpt, err, sizeof(err)), 0);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    for ( k = 0; k < 120; k++ )
    {
        in.cap_pct = k < 60 ? 50 : 0;
        feed(c, &s, r, now_s - 600 + 5 * k, &in, 1);
        /* CPU 4..80 % of a pCPU in a saw tooth; disk and net follow */
        in.cpu_ns += (k % 20 + 1) * SEC / 5;
        in.rd_sectors += (k % 10) * 2000;
        in.rx_bytes += (20 - k % 20) * 100000;
        in.mem_bytes = GIB + (k % 30) * (GIB / 64);
    }
    wave_end_s = now_s - 5;
    exp_rrd_close(r);
    acct_collector_free(c);
    acct_sample_free(&s);
}

/* @path is a PNG of a sane size. */
static void assert_png(const char *path)
{
    unsigned char magic[8];
    struct stat sb;
    FILE *f;

    ck_assert_msg(stat(path, &sb) == 0, "no %s", path);
    ck_assert_int_gt(sb.st_size, 2000);
    ck_assert_int_lt(sb.st_size, 200 * 1024);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    ck_assert_int_eq(memcmp(magic, "\x89PNG\r\n\x1a\n", 8), 0);
}

static const char *const panels[] = { "cpu", "memory", "disk", "network" };

/* `xenosctl graph`: a PNG per panel under predictable names, in a
 * directory or after a stem; one with --panel; names, uuids, errors. */
START_TEST(test_rrd_graph_png)
{
    struct exp_rrd *r;
    char err[256] = "", cmd[1024], png[256], *out;
    unsigned int p;
    int rc;

    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    feed_four(r);
    exp_rrd_close(r);
    feed_wave();
    snprintf(cmd, sizeof(cmd), "%s/xenosd/xenosctl --state-dir %s graph "
             "wave --since 15m -o %s/g", XENOS_BINARY_DIR, dir, dir);
    out = run(cmd);
    for ( p = 0; p < 4; p++ )
    {
        snprintf(png, sizeof(png), "%s/g/tenant-wave-%s.png", dir, panels[p]);
        assert_png(png);
        ck_assert_msg(strstr(out, png), "'%s' not said in:\n%s", png, out);
    }
    /* a domain by name, into a stem; by uuid, one panel */
    snprintf(cmd, sizeof(cmd), "%s/xenosd/xenosctl graph web-1 "
             "--rrd-dir %s --since 30m -o %s/web.png && %s/xenosd/"
             "xenosctl graph %s --rrd-dir %s --since 600 --panel cpu "
             "-o %s/u.png", XENOS_BINARY_DIR, rdir, dir, XENOS_BINARY_DIR,
             U2, rdir, dir);
    run(cmd);
    for ( p = 0; p < 4; p++ )
    {
        snprintf(png, sizeof(png), "%s/web-%s.png", dir, panels[p]);
        assert_png(png);
    }
    snprintf(png, sizeof(png), "%s/u.png", dir);
    assert_png(png);
    snprintf(png, sizeof(png), "%s/u-cpu.png", dir);
    ck_assert_int_ne(access(png, F_OK), 0);
    /* unknown names: exit 1, and a reason; an unknown panel: 2 */
    snprintf(cmd, sizeof(cmd), "%s/xenosd/xenosctl graph nobody "
             "--rrd-dir %s -o %s/n 2>/dev/null", XENOS_BINARY_DIR, rdir,
             dir);
    rc = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(rc), 1);
    snprintf(cmd, sizeof(cmd), "%s/xenosd/xenosctl graph wave --panel "
             "cpus --rrd-dir %s -o %s/n 2>/dev/null", XENOS_BINARY_DIR,
             rdir, dir);
    rc = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(rc), 2);
}
END_TEST

/*
 * What each panel draws (exp_rrd_xport: the PNG's own DEF and CDEF) is
 * what the file holds, as librrd's rrd_fetch reads it, in the panel's
 * unit: CPU in % of one pCPU, the cap line the cap in force while there
 * is one and nothing after, bytes and bytes/s as stored, zero series 0.
 * _i: the panel.
 */
static const struct {
    const char *series, *ds;
    double scale;
} panel_ds[4][3] = {
    { { "used", "cpu", 100 }, { "cap", "cap", 1 }, { "weight", "weight", 1 } },
    { { "memory", "mem", 1 } },
    { { "read", "disk_rd", 1 }, { "written", "disk_wr", 1 } },
    { { "received", "net_rx", 1 }, { "sent", "net_tx", 1 } },
};

START_TEST(test_rrd_xport_is_what_is_stored)
{
    struct exp_rrd_view v = { .title = "t", .since_s = 600 };
    struct exp_rrd_xport x;
    char err[512] = "", file[256], **names;
    time_t start, end;
    unsigned long step, nds, row, matched = 0, capped = 0, uncapped = 0;
    rrd_value_t *data;
    unsigned int k;

    feed_wave();
    v.end_s = wave_end_s;
    snprintf(file, sizeof(file), "%s/tenant-wave.rrd", rdir);
    /* the tenant's and the domain's: the tenant's cap stays */
    for ( k = 0; k < 2; k++ )
    {
        if ( k )
            snprintf(file, sizeof(file), "%s/dom-%s.rrd", rdir, U2);
        ck_assert_msg(exp_rrd_xport(file, (enum exp_rrd_panel)_i, &v, &x,
                                    err, sizeof(err)) == 0, "%s", err);
        start = (time_t)(wave_end_s - 600);
        end = (time_t)wave_end_s;
        step = 5;
        ck_assert_int_eq(rrd_fetch_r(file, "AVERAGE", &start, &end, &step,
                                     &nds, &names, &data), 0);
        ck_assert_uint_eq(x.step_s, step);
        for ( row = 0; row < x.rows; row++ )
        {
            uint64_t t = x.start_s + (row + 1) * x.step_s;
            unsigned long frow;
            unsigned int si;

            if ( t <= (uint64_t)start || t > (uint64_t)end )
                continue;
            frow = (unsigned long)((t - (uint64_t)start) / step) - 1;
            for ( si = 0; si < 3 && panel_ds[_i][si].series; si++ )
            {
                int col = exp_rrd_xport_col(&x, panel_ds[_i][si].series);
                unsigned long d;
                double want, got;

                ck_assert_msg(col >= 0, "no series %s",
                              panel_ds[_i][si].series);
                for ( d = 0; d < nds && strcmp(names[d],
                                               panel_ds[_i][si].ds); d++ )
                    ;
                ck_assert_uint_lt(d, nds);
                want = data[frow * nds + d] * panel_ds[_i][si].scale;
                got = x.v[row * x.cols + (unsigned long)col];
                if ( !strcmp(panel_ds[_i][si].series, "cap") &&
                     want == 0 )
                {
                    /* no cap in force: no line */
                    ck_assert(isnan(got));
                    uncapped++;
                    continue;
                }
                if ( isnan(want) )
                {
                    ck_assert(isnan(got));
                    continue;
                }
                ck_assert_double_eq_tol(got, want, 1e-9 * (1 + want));
                matched++;
                if ( !strcmp(panel_ds[_i][si].series, "cap") )
                {
                    ck_assert_double_eq_tol(got, k ? 50 : 60, 1e-9);
                    capped++;
                }
                /* the wave never writes or sends: a line at 0 */
                if ( !strcmp(panel_ds[_i][si].series, "written") ||
                     !strcmp(panel_ds[_i][si].series, "sent") )
                    ck_assert_double_eq_tol(got, 0, 1e-12);
            }
        }
        ck_assert_uint_gt(matched, 100);
        for ( row = 0; row < nds; row++ )
            free(names[row]);
        free(names);
        free(data);
        exp_rrd_xport_free(&x);
    }
    if ( _i == 0 )
    {
        /* the tenant capped all along, the domain for the first half */
        ck_assert_uint_gt(capped, 150);
        ck_assert_uint_gt(uncapped, 50);
    }
}
END_TEST

/* An RRD of an older xenos, never written since: drawn and exported
 * all the same, without the cap series. */
START_TEST(test_rrd_graph_old_file)
{
    struct exp_rrd_view v = { .title = "old", .since_s = 600 };
    struct exp_rrd_xport x;
    char err[512] = "", file[256], png[256];
    unsigned int p;

    ck_assert_int_eq(mkdir(rdir, 0750), 0);
    snprintf(file, sizeof(file), "%s/dom-%s.rrd", rdir, U1);
    make_old_rrd(file, NULL, false);
    v.end_s = t0_s + 30;
    ck_assert_int_eq(exp_rrd_xport(file, EXP_RRD_PANEL_CPU, &v, &x, err,
                                   sizeof(err)), 0);
    ck_assert_int_ge(exp_rrd_xport_col(&x, "used"), 0);
    ck_assert_int_lt(exp_rrd_xport_col(&x, "cap"), 0);
    exp_rrd_xport_free(&x);
    for ( p = 0; p < EXP_RRD_NR_PANELS; p++ )
    {
        snprintf(png, sizeof(png), "%s/old-%s.png", dir,
                 exp_rrd_panel_names[p]);
        ck_assert_msg(exp_rrd_graph(file, p, &v, png, err,
                                    sizeof(err)) == 0, "%s", err);
        assert_png(png);
    }
}
END_TEST

static Suite *rrd_suite(void)
{
    Suite *s = suite_create("rrd");
    TCase *tc = tcase_create("rrd");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rrd_info_layout);
    tcase_add_test(tc, test_rrd_fetch_reads_rates);
    tcase_add_test(tc, test_rrd_cap_and_weight_stored);
    tcase_add_test(tc, test_rrd_contention_stored);
    tcase_add_loop_test(tc, test_rrd_old_file_gets_cap, 0, 3);
    tcase_add_test(tc, test_rrd_creation_budget_spreads);
    tcase_add_test(tc, test_rrd_hostile_names_safe_and_found);
    tcase_add_test(tc, test_rrd_rrdcached_batch);
    tcase_add_test(tc, test_rrd_rrdcached_restart_and_refused);
    tcase_add_test(tc, test_rrd_rrdcached_down);
    tcase_add_test(tc, test_rrd_graph_png);
    tcase_add_loop_test(tc, test_rrd_xport_is_what_is_stored, 0, 4);
    tcase_add_test(tc, test_rrd_graph_old_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rrd_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    stop_rrdcached();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
