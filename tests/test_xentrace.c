/*
 * test_xentrace.c: xentrace recordings into trace workloads
 * (sched/sim/xentrace.c, xenos-sim --from-xentrace).
 *
 * Each recording is built here, record by record, in the layout Xen
 * 4.17's xentrace writes (a TRC_TRACE_CPU_CHANGE record opening each
 * pCPU's window of records), from a known list of cycles: so the cycles
 * the converter finds, the trace file it writes and the figures it
 * reports can be checked to the nanosecond, bad files can be cut at
 * known bytes, and the replay of the workload in the simulator can be
 * held to the recording's figures.  A real recording is replayed by
 * `make xen-test` (tests/xen/run, docs/xen.md).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <xenos/sched.h>
#include <xenos/sim.h>
#include <xenos/xentrace.h>

#include "tmptree.h"

#define DOM             5u
#define KHZ             2000000u        /* 2 GHz: 2 cycles a ns */
#define WAKE_LAT_NS     20000           /* runnable before it runs */
#define PREEMPT_NS      30000           /* cycle 1 waits this mid-burst */
#define NCYC            300u

/* Xen's event numbers (xen/include/public/trace.h), written out again so
 * that the test does not take them from the code under test. */
#define CPU_CHANGE      0x0001f003u
#define LOST            0x0001f001u
#define WRAP            0x0001f002u
#define RUNSTATE        0x00021001u
#define INFPREV         0x0002800eu
#define SWITCH          0x0002800au
#define RUNNING         0u
#define RUNNABLE        1u
#define BLOCKED         2u

static char tmpdir[256];
static bool lost_untimed;      /* build's TRC_LOST_RECORDS has no TSC */

static void tmp_setup(void)
{
    tmptree_make(tmpdir, sizeof(tmpdir), "xentrace");
    lost_untimed = false;
}

static void tmp_teardown(void)
{
    tmptree_remove(tmpdir);
}

/* ------------------------------------------------------------------ */
/* Building a recording                                               */

struct buf {
    unsigned char b[1 << 20];
    size_t n;
};

/* Two pCPUs' windows, filled apart, written one after the other. */
static struct buf win[2], file;

static void put32(struct buf *b, uint32_t v)
{
    ck_assert_uint_le(b->n + 4, sizeof(b->b));
    b->b[b->n++] = v & 0xff;
    b->b[b->n++] = (v >> 8) & 0xff;
    b->b[b->n++] = (v >> 16) & 0xff;
    b->b[b->n++] = v >> 24;
}

/* A record with a TSC (@tsc != 0) or without, and @n data words. */
static void rec(struct buf *b, uint32_t ev, uint64_t tsc, unsigned int n,
                const uint32_t *d)
{
    unsigned int i;

    put32(b, ev | n << 28 | (tsc ? 1u << 31 : 0));
    if ( tsc )
    {
        put32(b, (uint32_t)tsc);
        put32(b, (uint32_t)(tsc >> 32));
    }
    for ( i = 0; i < n; i++ )
        put32(b, d[i]);
}

static void runstate(struct buf *b, uint64_t ns, uint32_t dom,
                     uint32_t vcpu, uint32_t from, uint32_t to)
{
    uint32_t d = dom << 16 | vcpu;

    rec(b, RUNSTATE | from << 8 | to << 4, ns * 2, 1, &d);
}

static void infprev(struct buf *b, uint64_t ns, uint32_t dom, uint32_t vcpu,
                    uint32_t ran_ns)
{
    uint32_t d[3] = { dom, vcpu, ran_ns };

    rec(b, INFPREV, ns * 2, 3, d);
}

static void window(struct buf *out, uint32_t cpu, const struct buf *w)
{
    uint32_t d[2] = { cpu, (uint32_t)w->n };

    rec(out, CPU_CHANGE, 0, 2, d);
    memcpy(out->b + out->n, w->b, w->n);
    out->n += w->n;
}

/* Cycle @i: its CPU time and how long it then blocks, in ns. */
static int64_t run_of(unsigned int i)
{
    return 100000 + 50000 * (int64_t)(i % 3);
}

static int64_t block_of(unsigned int i)
{
    return 1000000 + 500000 * (int64_t)(i % 3);
}

/*
 * The recording: domain DOM's vCPU 0 runs NCYC cycles (wake, WAKE_LAT_NS
 * runnable, its run, blocked), even ones on pCPU 1, odd ones on pCPU 2,
 * so that the windows interleave in time; cycle 1 is preempted once for
 * PREEMPT_NS; a last wake and run close the last cycle.  Domain 7 and
 * records of other kinds (a switch, a wrap) are around it.  @lost_at: a
 * TRC_LOST_RECORDS in that cycle's burst (or none if NCYC).  @calibrate:
 * with the INFPREV records the TSC rate is measured from.
 */
static void build(unsigned int lost_at, bool calibrate)
{
    uint64_t t = 1000000;
    unsigned int i;

    memset(win, 0, sizeof(win));
    file.n = 0;
    for ( i = 0; i <= NCYC; i++ )
    {
        struct buf *b = &win[i % 2];
        uint64_t run = (uint64_t)run_of(i);
        uint32_t sw[4] = { 0x7fff, i % 2 + 1, DOM, 0 };

        runstate(b, t, DOM, 0, BLOCKED, RUNNABLE);
        t += WAKE_LAT_NS;
        rec(b, SWITCH, t, 4, sw);
        runstate(b, t, DOM, 0, RUNNABLE, RUNNING);
        if ( i == NCYC )
            break;
        runstate(b, t + 10, 7, 0, RUNNING, BLOCKED);
        if ( i == 1 )
        {
            t += 50000;
            if ( calibrate )
                infprev(b, t, DOM, 0, 50000);
            runstate(b, t, DOM, 0, RUNNING, RUNNABLE);
            t += PREEMPT_NS;
            runstate(b, t, DOM, 0, RUNNABLE, RUNNING);
            run -= 50000;
        }
        if ( i == lost_at )
        {
            uint32_t n = 3;

            rec(b, LOST, lost_untimed ? 0 : (t + run / 2) * 2, 1, &n);
        }
        t += run;
        if ( calibrate )
            infprev(b, t, DOM, 0, (uint32_t)run);
        runstate(b, t, DOM, 0, RUNNING, BLOCKED);
        t += (uint64_t)block_of(i);
    }
    /* the padding Xen puts at its buffer's end: 12 bytes of nothing */
    {
        uint32_t pad[2] = { 0, 0 };

        rec(&win[0], WRAP, 0, 2, pad);
    }
    window(&file, 1, &win[0]);
    window(&file, 2, &win[1]);
}

static void write_file(const char *name, const void *data, size_t len,
                       char *path, size_t pathlen)
{
    FILE *f;

    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void load(struct xt_recording *rec_out, uint64_t khz)
{
    char path[512], err[512] = "";

    write_file("rec.bin", file.b, file.n, path, sizeof(path));
    ck_assert_msg(xt_load(path, DOM, khz, rec_out, err, sizeof(err)) == 0,
                  "%s", err);
}

/* ------------------------------------------------------------------ */

/* Every cycle, to the ns: CPU time (without the wait when preempted) and
 * the time blocked; the rate from the recording. */
START_TEST(test_xentrace_known_cycles)
{
    struct xt_recording r;
    const struct xt_vcpu *v;
    int64_t run = 0, span = 0;
    unsigned int i;

    build(NCYC, true);
    load(&r, 0);
    ck_assert_uint_eq(r.tsc_khz, KHZ);
    ck_assert_int_eq(r.tsc_from_recording, 1);
    ck_assert_uint_eq(r.lost, 0);
    ck_assert_uint_eq(r.nr_vcpus, 1);
    v = &r.vcpus[0];
    ck_assert_uint_eq(v->vcpu, 0);
    ck_assert_uint_eq(v->nr_pairs, NCYC);
    for ( i = 0; i < NCYC; i++ )
    {
        ck_assert_int_eq(v->pairs[2 * i], run_of(i));
        ck_assert_int_eq(v->pairs[2 * i + 1], block_of(i));
        run += run_of(i);
        span += WAKE_LAT_NS + run_of(i) + block_of(i) +
                (i == 1 ? PREEMPT_NS : 0);
    }
    ck_assert_int_eq(v->run_ns, run);
    ck_assert_int_eq(v->span_ns, span);
    /* a burst is wall time, so cycle 1's holds its wait */
    ck_assert_uint_eq(v->nr_bursts, NCYC);
    ck_assert_uint_eq(v->nr_sleeps, NCYC);
    for ( i = 0; i < NCYC; i++ )
    {
        ck_assert_int_eq(v->bursts[i],
                         run_of(i) + (i == 1 ? PREEMPT_NS : 0));
        ck_assert_int_eq(v->sleeps[i], block_of(i) + WAKE_LAT_NS);
    }
    xt_free(&r);
}
END_TEST

/* A stated rate is the one used: at half the real rate every time
 * doubles. */
START_TEST(test_xentrace_stated_rate)
{
    struct xt_recording r;

    build(NCYC, false);
    load(&r, KHZ / 2);
    ck_assert_int_eq(r.tsc_from_recording, 0);
    ck_assert_uint_eq(r.vcpus[0].nr_pairs, NCYC);
    ck_assert_int_eq(r.vcpus[0].pairs[0], 2 * run_of(0));
    ck_assert_int_eq(r.vcpus[0].pairs[3], 2 * block_of(1));
    xt_free(&r);
}
END_TEST

/* Lost records cut the cycle they fall in: it is dropped, not guessed.
 * _i 1: the loss has no TSC, and cuts the same (its place in time is
 * that of the records around it on its pCPU). */
START_TEST(test_xentrace_lost_records)
{
    struct xt_recording r;
    const struct xt_vcpu *v;

    lost_untimed = _i;
    build(10, true);
    load(&r, 0);
    v = &r.vcpus[0];
    ck_assert_uint_eq(r.lost, 1);
    /* cycle 10 is gone; 9 before it, then 11.. */
    ck_assert_uint_eq(v->nr_pairs, NCYC - 1);
    ck_assert_int_eq(v->pairs[2 * 9], run_of(9));
    ck_assert_int_eq(v->pairs[2 * 10], run_of(11));
    ck_assert_int_eq(v->pairs[2 * 10 + 1], block_of(11));
    xt_free(&r);
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char text[1 << 16];
    size_t n;

    ck_assert_msg(f != NULL, "%s", path);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The workload written: the trace file line by line, and a scenario that
 * loads and replays it. */
START_TEST(test_xentrace_workload_file)
{
    struct xt_recording r;
    struct sim_scenario sc;
    char dir[300], path[400], err[512] = "", want[64], *text, *line;
    unsigned int i;

    build(NCYC, true);
    load(&r, 0);
    snprintf(dir, sizeof(dir), "%s", tmpdir);
    ck_assert_int_eq(xt_write_scenario(&r, dir, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/d%uv0.csv", dir, DOM);
    text = slurp(path);
    line = strstr(text, "run_us,block_us\n");
    ck_assert_ptr_nonnull(line);
    line += strlen("run_us,block_us\n");
    for ( i = 0; i < NCYC; i++ )
    {
        snprintf(want, sizeof(want), "%lld.000,%lld.000\n",
                 (long long)run_of(i) / 1000, (long long)block_of(i) / 1000);
        ck_assert_msg(!strncmp(line, want, strlen(want)),
                      "line %u: want %s", i, want);
        line += strlen(want);
    }
    ck_assert_str_eq(line, "");

    snprintf(path, sizeof(path), "%s/scenario.yaml", dir);
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_uint_eq(sc.pcpus, 1);
    ck_assert_uint_eq(sc.nr_domains, 1);
    ck_assert_int_eq(sc.domains[0].workload.type, SIM_WL_TRACE);
    ck_assert_uint_eq(sc.domains[0].workload.trace_len, 2 * NCYC);
    ck_assert_int_eq(sc.duration_ns,
                     (r.vcpus[0].span_ns + 500000) / 1000000 * 1000000);
    sim_scenario_free(&sc);
    xt_free(&r);
}
END_TEST

/*
 * The replay matches the recording, under every policy, alone on its
 * pCPU: its count of run bursts and the mean, p50 and p90 of its bursts
 * and sleeps within XT_TOL_PCT percent, its busy fraction within
 * XT_BUSY_PTS points (what tests/xen/run holds a real recording to).
 * The replay's sleeps lack the recording's 20 us waits to run (1-2% of
 * a sleep); its percentiles are histogram buckets (under 0.8% high).
 */
#define XT_TOL_PCT      5.0
#define XT_BUSY_PTS     2.0

static void near_pct(const char *what, const char *pol, double sim,
                     double rec_v)
{
    ck_assert_msg(rec_v > 0 && sim >= rec_v * (1 - XT_TOL_PCT / 100) &&
                  sim <= rec_v * (1 + XT_TOL_PCT / 100),
                  "%s: %s: replay %.0f, recording %.0f", pol, what, sim,
                  rec_v);
}

START_TEST(test_xentrace_replay_matches)
{
    const char *policy = sch_policies[_i]->opt_name;
    struct xt_recording r;
    struct sim_scenario sc;
    struct sim_result res;
    struct sim_spread rb, rs;
    struct xt_vcpu *v;
    struct sim *sim;
    char path[400], err[512] = "";
    double busy_rec, busy_sim;

    build(NCYC, true);
    load(&r, 0);
    ck_assert_int_eq(xt_write_scenario(&r, tmpdir, err, sizeof(err)), 0);
    v = &r.vcpus[0];
    xt_spread(v->bursts, v->nr_bursts, &rb);
    xt_spread(v->sleeps, v->nr_sleeps, &rs);
    busy_rec = (double)v->run_ns / (double)v->span_ns;

    snprintf(path, sizeof(path), "%s/scenario.yaml", tmpdir);
    ck_assert_msg(sim_scenario_load(path, &sc, err, sizeof(err)) == 0, "%s",
                  err);
    sim = sim_alloc(&sc, sch_policies[_i], err, sizeof(err));
    ck_assert_msg(sim != NULL, "%s", err);
    sim_run_until(sim, sc.duration_ns);
    ck_assert_int_eq(sim_result(sim, &res), 0);
    busy_sim = (double)res.domains[0].cpu_ns / (double)res.sim_ns;

    near_pct("run bursts", policy, (double)res.domains[0].bursts.count,
             (double)v->nr_pairs);
    near_pct("burst mean", policy, (double)res.domains[0].bursts.mean,
             (double)rb.mean);
    near_pct("burst p50", policy, (double)res.domains[0].bursts.p50,
             (double)rb.p50);
    near_pct("burst p90", policy, (double)res.domains[0].bursts.p90,
             (double)rb.p90);
    near_pct("sleep mean", policy, (double)res.domains[0].sleeps.mean,
             (double)rs.mean);
    near_pct("sleep p50", policy, (double)res.domains[0].sleeps.p50,
             (double)rs.p50);
    near_pct("sleep p90", policy, (double)res.domains[0].sleeps.p90,
             (double)rs.p90);
    ck_assert_msg(100 * busy_sim >= 100 * busy_rec - XT_BUSY_PTS &&
                  100 * busy_sim <= 100 * busy_rec + XT_BUSY_PTS,
                  "%s: busy %.4f, recording %.4f", policy, busy_sim,
                  busy_rec);
    sim_free(sim);
    sim_scenario_free(&sc);
    xt_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad input: the byte where it goes wrong, or why nothing can be done */

static void expect_error(const void *data, size_t len, uint32_t dom,
                         uint64_t khz, const char *want)
{
    struct xt_recording r;
    char path[512], err[512] = "";

    write_file("bad.bin", data, len, path, sizeof(path));
    ck_assert_int_ne(xt_load(path, dom, khz, &r, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, want) != NULL, "want '%s' in '%s'", want,
                  err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
                  "the message names the file: '%s'", err);
}

START_TEST(test_xentrace_bad_input)
{
    char want[128];
    size_t w0;

    build(NCYC, true);
    w0 = 12 + win[0].n;         /* where pCPU 2's window starts */

    expect_error(file.b, 0, DOM, 0, "empty");
    /* not a recording at all */
    expect_error("run_us,block_us\n100,200\n", 24, DOM, 0,
                 "byte 0: expected a TRC_TRACE_CPU_CHANGE record");
    /* cut inside pCPU 2's window */
    snprintf(want, sizeof(want), "byte %zu: pCPU 2's window", w0);
    expect_error(file.b, file.n - 5, DOM, 0, want);
    /* cut inside the opening record of pCPU 2's window */
    snprintf(want, sizeof(want), "byte %zu: truncated", w0);
    expect_error(file.b, w0 + 7, DOM, 0, want);
    /* a window that claims one byte less than its last record needs */
    {
        static struct buf b;
        size_t n;

        b = file;
        n = b.n;
        b.n = 8;                /* pCPU 1's window length: one byte less */
        put32(&b, (uint32_t)win[0].n - 1);
        b.n = n;
        snprintf(want, sizeof(want), "byte %zu: record 0x", w0 - 12);
        expect_error(b.b, b.n, DOM, 0, want);
    }
    /* a runstate change without its TSC */
    {
        static struct buf b, w;
        uint32_t d = DOM << 16;

        b.n = w.n = 0;
        rec(&w, RUNSTATE | BLOCKED << 8 | RUNNABLE << 4, 0, 1, &d);
        window(&b, 0, &w);
        expect_error(b.b, b.n, DOM, KHZ, "byte 12: runstate change");
    }
    expect_error(file.b, file.n, 9, 0, "domain 9 has no runstate change");
    /* no INFPREV: no rate but a stated one */
    build(NCYC, false);
    expect_error(file.b, file.n, DOM, 0, "to measure the TSC rate");
}
END_TEST

static Suite *xentrace_suite(void)
{
    Suite *s = suite_create("xentrace");
    TCase *tc = tcase_create("convert");
    unsigned int n = 0;

    while ( sch_policies[n] )
        n++;
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_xentrace_known_cycles);
    tcase_add_test(tc, test_xentrace_stated_rate);
    tcase_add_loop_test(tc, test_xentrace_lost_records, 0, 2);
    tcase_add_test(tc, test_xentrace_workload_file);
    tcase_add_loop_test(tc, test_xentrace_replay_matches, 0, (int)n);
    tcase_add_test(tc, test_xentrace_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xentrace_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
