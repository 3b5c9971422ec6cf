/*
 * test_usage.c: the usage ledger's promise, every interval's usage in
 * exactly one record, readable by us and by protoc: round trip, sequence
 * numbers across restarts, a crash between the records and the state, torn
 * tails, damage in the middle, empty files, a full disk, and xenos-usage's
 * sums.
 *
 * Most tests use a hand-filled struct acct_snapshot: the writer reads
 * only its domains' totals and levels, and setting those directly makes
 * every expected figure exact.  test_usage_with_real_collector runs the
 * real collector (samples, a reboot, a late domain) into the ledger.
 * The full-disk test mounts a 64 KiB tmpfs (root only; it says SKIPPED
 * otherwise).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenos/exp_usage.h>

/* The collector as the exporters see it (acct_snapshot). */
#define SNAP(c) acct_snap((c), &(struct acct_snapshot){ 0 })

#define NS              1000000000ull
#define T0_S            1764057600ull   /* 2025-11-25T08:00:00Z */
#define NDOM            3
#define MAX_RECS        4096

static char dir[] = "/tmp/xenos-usage-XXXXXX";
static char ldir[64];                  /* the ledger directory */
static struct acct_dom doms[NDOM];
static struct acct_snapshot snap;
static char names[NDOM][64];
static char tenants[NDOM][64];

static void setup(void)
{
    uint32_t i;

    ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/xenos-usage-XXXXXX")));
    snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    memset(doms, 0, sizeof(doms));
    memset(&snap, 0, sizeof(snap));
    snap.doms = doms;
    snap.nr_doms = NDOM;
    for ( i = 0; i < NDOM; i++ )
    {
        snprintf(doms[i].uuid, sizeof(doms[i].uuid),
                 "00000000-0000-0000-0000-00000000000%" PRIu32, i + 1);
        snprintf(names[i], sizeof(names[i]), "vm%" PRIu32, i);
        snprintf(tenants[i], sizeof(tenants[i]), "%s",
                 i == 2 ? "beta" : "acme");
        doms[i].name = names[i];
        doms[i].tenant = tenants[i];
        doms[i].present = true;
        doms[i].online_vcpus = i + 1;
        doms[i].mem_cur_bytes = (i + 1) << 20;
        doms[i].weight = 256;
        doms[i].cap_pct = 50 * i;
    }
    /* Hostile: quote, comma, newline, backslash, invalid UTF-8. */
    snprintf(names[1], sizeof(names[1]), "we\"ird,\nname\\\xff");
}

static void teardown(void)
{
    char cmd[700];

    umount2(ldir, MNT_DETACH);          /* the full-disk tmpfs, if left */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A sample at @t_s: domain i ran (i + 1) * @cpu ns since the last;
 * @stopping: the daemon's last. */
static int tick_ex(struct exp_usage *w, uint64_t t_s, uint64_t cpu,
                   bool stopping)
{
    struct exp_info info = { .host = "h1", .sample_unix_ns = t_s * NS,
                             .stopping = stopping };
    uint32_t i;

    for ( i = 0; i < NDOM; i++ )
    {
        struct acct_usage *u = &doms[i].delta;

        memset(u, 0, sizeof(*u));
        u->cpu_ns = (i + 1) * cpu;
        u->memory_byte_seconds = 5 * doms[i].mem_cur_bytes;
        u->vbd_read_bytes = 4096;
        u->vif_tx_bytes = 100 * (i + 1);
        doms[i].total.cpu_ns += u->cpu_ns;
        doms[i].total.memory_byte_seconds += u->memory_byte_seconds;
        doms[i].total.vbd_read_bytes += u->vbd_read_bytes;
        doms[i].total.vif_tx_bytes += u->vif_tx_bytes;
    }
    return exp_usage_update(w, &snap, &info);
}

static int tick(struct exp_usage *w, uint64_t t_s, uint64_t cpu)
{
    return tick_ex(w, t_s, cpu, false);
}

static struct exp_usage *open_w(uint32_t interval_s, uint32_t rotate_s)
{
    struct exp_usage *w;
    char err[512];
    int rc = exp_usage_open(&w, ldir, "h1", interval_s, rotate_s, err,
                            sizeof(err));

    ck_assert_msg(rc == 0, "open: %d %s", rc, err);
    return w;
}

/* What the tests read back. */
struct rec {
    uint64_t seq, start, end, cpu, off, span_a, span_b;
    char uuid[40], name[64], tenant[64];
    uint32_t vcpus;
};

struct got {
    struct rec r[MAX_RECS];
    unsigned int n, damage;
    uint64_t damage_off[16];
};

static int got_rec(void *ctx, const struct exp_usage_rec *r, uint64_t off)
{
    struct got *g = ctx;
    struct rec *x = &g->r[g->n++];

    ck_assert_uint_lt(g->n, MAX_RECS);
    x->seq = r->seq;
    x->start = r->start_unix_ns;
    x->end = r->end_unix_ns;
    x->span_a = r->span_start_unix_ns;
    x->span_b = r->span_end_unix_ns;
    x->cpu = r->cpu_ns;
    x->off = off;
    x->vcpus = r->vcpus;
    snprintf(x->uuid, sizeof(x->uuid), "%s", r->uuid);
    snprintf(x->name, sizeof(x->name), "%s", r->name);
    snprintf(x->tenant, sizeof(x->tenant), "%s", r->tenant);
    return 0;
}

static void got_damage(void *ctx, uint64_t off, uint64_t len,
                       const char *why)
{
    struct got *g = ctx;

    (void)len;
    (void)why;
    if ( g->damage < 16 )
        g->damage_off[g->damage] = off;
    g->damage++;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ledger files, sorted, into @out (caller frees each); their count. */
static unsigned int list_files(char out[][128], unsigned int max)
{
    char *names_[64];
    unsigned int n = 0, i;
    struct dirent *de;
    DIR *d = opendir(ldir);

    ck_assert_ptr_nonnull(d);
    while ( (de = readdir(d)) )
        if ( !strncmp(de->d_name, "usage-", 6) && n < 64 )
            names_[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names_, n, sizeof(names_[0]), name_cmp);
    ck_assert_uint_le(n, max);
    for ( i = 0; i < n; i++ )
    {
        snprintf(out[i], 128, "%s/%s", ldir, names_[i]);
        free(names_[i]);
    }
    return n;
}

/* Every record of every file; damage counted.  Returns the number of
 * files. */
static unsigned int read_all(struct got *g)
{
    char files[64][128];
    unsigned int n = list_files(files, 64), i;

    memset(g, 0, sizeof(*g));
    for ( i = 0; i < n; i++ )
    {
        int rc = exp_usage_read(files[i], got_rec, got_damage, g, NULL);

        ck_assert(rc == 0 || rc == -EBADMSG);
    }
    return n;
}

/* Sequence numbers 1..n in order, and per domain, the CPU in the records
 * is @want[i]. */
static void check_exact(const struct got *g, const uint64_t *want)
{
    uint64_t cpu[NDOM] = { 0 };
    unsigned int i, j;

    for ( i = 0; i < g->n; i++ )
    {
        ck_assert_uint_eq(g->r[i].seq, i + 1);
        if ( i )
            ck_assert(g->r[i].start >= g->r[i - 1].start);
        for ( j = 0; j < NDOM; j++ )
            if ( !strcmp(g->r[i].uuid, doms[j].uuid) )
                cpu[j] += g->r[i].cpu;
    }
    for ( j = 0; j < NDOM; j++ )
        ck_assert_uint_eq(cpu[j], want[j]);
}

static void cpu_since(const uint64_t *base, uint64_t *want)
{
    uint32_t i;

    for ( i = 0; i < NDOM; i++ )
        want[i] = doms[i].total.cpu_ns - base[i];
}

static void cpu_now(uint64_t *out)
{
    uint32_t i;

    for ( i = 0; i < NDOM; i++ )
        out[i] = doms[i].total.cpu_ns;
}

/* ------------------------------------------------------------------ */

START_TEST(test_usage_round_trip)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    uint64_t base[NDOM], want[NDOM], t;
    unsigned int i;

    /* The first update only takes the bases; intervals close each
     * minute at the first sample at or past it. */
    ck_assert_int_eq(tick(w, T0_S + 5, 1000), 0);
    cpu_now(base);
    for ( t = T0_S + 10; t <= T0_S + 180; t += 5 )
        ck_assert_int_eq(tick(w, t, 1000), 0);
    cpu_since(base, want);
    ck_assert_int_eq(exp_usage_close(w), 0);

    ck_assert_uint_eq(read_all(&g), 1);
    ck_assert_uint_eq(g.damage, 0);
    ck_assert_uint_eq(g.n, 3 * NDOM);  /* 3 closed intervals */
    check_exact(&g, want);
    for ( i = 0; i < g.n; i++ )
    {
        ck_assert_uint_eq(g.r[i].start, (T0_S + 60 * (i / NDOM)) * NS);
        ck_assert_uint_eq(g.r[i].end, g.r[i].start + 60 * NS);
    }
    /* [T0, T0+60): samples 10..60 (11 of them): 11,000 ns for vm0. */
    ck_assert_uint_eq(g.r[0].cpu, 11000);
    ck_assert_uint_eq(g.r[3].cpu, 12000);
    ck_assert_str_eq(g.r[1].name, names[1]);
    ck_assert_str_eq(g.r[2].tenant, "beta");
    ck_assert_uint_eq(g.r[2].vcpus, 3);
}
END_TEST

START_TEST(test_usage_seq_continues_across_reopen)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    struct exp_usage_stats st;
    uint64_t base[NDOM], want[NDOM], t;
    int round;

    ck_assert_int_eq(tick(w, T0_S + 1, 7), 0);
    cpu_now(base);
    for ( round = 0, t = T0_S + 2; round < 3; round++ )
    {
        uint64_t stop = t + 150;

        for ( ; t < stop; t += 7 )
            ck_assert_int_eq(tick(w, t, 7), 0);
        ck_assert_int_eq(exp_usage_close(w), 0);
        w = open_w(60, 3600);
    }
    /* The usage since the last record is not lost over the restarts. */
    ck_assert_int_eq(tick(w, t + 120, 7), 0);
    cpu_since(base, want);
    exp_usage_get_stats(w, &st);
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    ck_assert_uint_eq(g.damage, 0);
    ck_assert_uint_eq(st.next_seq, g.n + 1);
    check_exact(&g, want);
}
END_TEST

static void copy_file(const char *from, const char *to)
{
    char cmd[1024];

    /* A cut command would copy the wrong file, or none. */
    ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to),
                     (int)sizeof(cmd));
    ck_assert_int_eq(system(cmd), 0);
}

/* Loop: the state saved after each interval (1), or lagging (1000). */
static const uint32_t state_every[] = { 1, 1000 };

START_TEST(test_usage_crash_before_state)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    char st[400], saved[400];
    uint64_t base[NDOM], want[NDOM], t;

    snprintf(st, sizeof(st), "%s/" EXP_USAGE_STATE_FILE, ldir);
    snprintf(saved, sizeof(saved), "%s/state.saved", dir);
    ck_assert_int_eq(exp_usage_set_state_every(w, state_every[_i]), 0);
    ck_assert_int_eq(tick(w, T0_S + 3, 11), 0);
    cpu_now(base);
    for ( t = T0_S + 6; t <= T0_S + 60; t += 3 )
        ck_assert_int_eq(tick(w, t, 11), 0);
    copy_file(st, saved);               /* after interval 1 */
    for ( ; t <= T0_S + 200; t += 3 )
        ck_assert_int_eq(tick(w, t, 11), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    /* The crash: records of intervals 2 and 3 on disk, the state still
     * that of interval 1. */
    copy_file(saved, st);

    w = open_w(60, 3600);
    ck_assert_int_eq(exp_usage_set_state_every(w, state_every[_i]), 0);
    for ( ; t <= T0_S + 300; t += 3 )
        ck_assert_int_eq(tick(w, t, 11), 0);
    cpu_since(base, want);
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    ck_assert_uint_eq(g.damage, 0);
    ck_assert_uint_eq(g.n, 5 * NDOM);
    check_exact(&g, want);              /* no gap, no duplicate */
}
END_TEST

static uint64_t file_size(const char *p)
{
    struct stat sb;

    ck_assert_int_eq(stat(p, &sb), 0);
    return (uint64_t)sb.st_size;
}

static void append_bytes(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "ab");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_usage_torn_tail_repaired)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    char files[4][128];
    uint64_t base[NDOM], want[NDOM], t, good;
    /* A frame cut short: length 100, then 6 bytes of it. */
    static const uint8_t torn[] = { 100, 0, 0, 0, 8, 1, 18, 2, 104, 49 };

    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    cpu_now(base);
    for ( t = T0_S + 2; t <= T0_S + 125; t += 5 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    good = file_size(files[0]);
    append_bytes(files[0], torn, sizeof(torn));

    /* Readers see the tear and where it is. */
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, got_damage, &g,
                                    NULL), -EBADMSG);
    ck_assert_uint_eq(g.damage, 1);
    ck_assert_uint_eq(g.damage_off[0], good);
    ck_assert_uint_eq(g.n, 2 * NDOM);

    /* The writer cuts it off and goes on. */
    w = open_w(60, 3600);
    ck_assert_uint_eq(file_size(files[0]), good);
    for ( ; t <= T0_S + 250; t += 5 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(tick(w, T0_S + 300, 5), 0);    /* closes [240, 300) */
    cpu_since(base, want);
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    ck_assert_uint_eq(g.damage, 0);
    check_exact(&g, want);
}
END_TEST

/* Run a shell command, its stdout and stderr into @out. */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    size_t n;

    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    return pclose(p);
}

START_TEST(test_usage_corrupt_record_skipped)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g, g2;
    char files[4][128], cmd[800], out[8192], want_msg[400];
    uint64_t t;
    unsigned int i;
    FILE *f;
    int st;

    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    for ( t = T0_S + 2; t <= T0_S + 200; t += 5 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, NULL, &g, NULL), 0);
    ck_assert_uint_eq(g.n, 9);

    /* One byte of record 5's payload flipped. */
    f = fopen(files[0], "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, (long)g.r[4].off + 10, SEEK_SET), 0);
    st = fgetc(f);
    ck_assert_int_eq(fseek(f, (long)g.r[4].off + 10, SEEK_SET), 0);
    fputc(st ^ 0x40, f);
    ck_assert_int_eq(fclose(f), 0);

    memset(&g2, 0, sizeof(g2));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, got_damage, &g2,
                                    NULL), -EBADMSG);
    ck_assert_uint_eq(g2.damage, 1);
    ck_assert_uint_eq(g2.damage_off[0], g.r[4].off);
    ck_assert_uint_eq(g2.n, 8);
    for ( i = 0; i < 8; i++ )
        ck_assert_uint_eq(g2.r[i].seq, i < 4 ? i + 1 : i + 2);

    /* The CLI names file and byte, and still prints the other 8. */
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage dump --format csv "
             "'%s' 2>&1", XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    snprintf(want_msg, sizeof(want_msg), "%s: byte %" PRIu64 ": CRC-32C "
             "mismatch", files[0], g.r[4].off);
    ck_assert_msg(strstr(out, want_msg), "no '%s' in:\n%s", want_msg, out);
    ck_assert_ptr_nonnull(strstr(out, "\n9,\"h1\""));
    ck_assert_ptr_null(strstr(out, "\n5,\"h1\""));
}
END_TEST

/*
 * Damage crafted against the resync: 1 MiB whose every fourth offset
 * claims a frame of 768 KiB (and the others 3 KiB, or more than is left),
 * between good records.  The reader reports it as one damaged stretch and
 * reads every good record, before and after it, in order.  (Hashing each
 * candidate afresh made this file cost ~10 s of CPU, so before the fix the
 * test ran into its timeout; what it asserts is the outcome.)
 */
START_TEST(test_usage_crafted_resync)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g, g2;
    static const uint8_t pat[4] = { 0x00, 0x00, 0x0c, 0x00 };
    const size_t junk = 1u << 20;
    char files[4][128];
    uint8_t *buf, *out;
    size_t len, cut, i;
    uint64_t t;
    FILE *f;

    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    for ( t = T0_S + 2; t <= T0_S + 200; t += 5 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, NULL, &g, NULL), 0);
    ck_assert_uint_eq(g.n, 9);

    /* The file with the junk put in before record 5. */
    f = fopen(files[0], "rb");
    ck_assert_ptr_nonnull(f);
    buf = malloc(1 << 16);
    len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    cut = (size_t)g.r[4].off;
    out = malloc(len + junk);
    ck_assert_ptr_nonnull(out);
    memcpy(out, buf, cut);
    for ( i = 0; i < junk; i++ )
        out[cut + i] = pat[i % 4];
    memcpy(out + cut + junk, buf + cut, len - cut);
    f = fopen(files[0], "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(out, 1, len + junk, f), len + junk);
    ck_assert_int_eq(fclose(f), 0);

    memset(&g2, 0, sizeof(g2));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, got_damage, &g2,
                                    NULL), -EBADMSG);
    ck_assert_uint_eq(g2.damage, 1);
    ck_assert_uint_eq(g2.damage_off[0], cut);
    ck_assert_uint_eq(g2.n, 9);
    for ( i = 0; i < 9; i++ )
    {
        ck_assert_uint_eq(g2.r[i].seq, i + 1);
        ck_assert_uint_eq(g2.r[i].off, g.r[i].off + (i >= 4 ? junk : 0));
    }
    free(buf);
    free(out);
}
END_TEST

START_TEST(test_usage_zero_length_file)
{
    static struct got g;
    char p[400], cmd[800], out[4096];
    int st;

    ck_assert_int_eq(mkdir(ldir, 0750), 0);
    snprintf(p, sizeof(p), "%s/usage-20251125T080000Z.xul", ldir);
    append_bytes(p, "", 0);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(exp_usage_read(p, got_rec, got_damage, &g, NULL),
                     -EBADMSG);
    ck_assert_uint_eq(g.damage, 1);
    ck_assert_uint_eq(g.n, 0);
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage sum --by tenant "
             "'%s' 2>&1", XENOS_BINARY_DIR, p);
    st = run(cmd, out, sizeof(out));
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert_msg(strstr(out, "byte 0: empty file (zero length"), "%s", out);

    /* The writer takes it for a torn creation and starts it afresh. */
    {
        struct exp_usage *w = open_w(60, 3600);

        ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
        ck_assert_int_eq(tick(w, T0_S + 61, 5), 0);
        ck_assert_int_eq(exp_usage_close(w), 0);
    }
    ck_assert_int_eq(exp_usage_read(p, got_rec, got_damage, &g, NULL), 0);
    ck_assert_uint_eq(g.n, NDOM);
}
END_TEST

/* Record @k of @g, read from @file, decoded by protoc into @out. */
static void protoc_decode(const char *file, const struct got *g,
                          unsigned int k, char *out, size_t outlen)
{
    char pl[400], cmd[1200];
    uint8_t *buf = malloc(1 << 20);
    uint64_t off = g->r[k].off;
    uint32_t len;
    size_t n;
    FILE *f = fopen(file, "rb");
    int st;

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(buf);
    n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    ck_assert_uint_lt(off + 4, n);
    len = buf[off] | buf[off + 1] << 8 | buf[off + 2] << 16 |
          (uint32_t)buf[off + 3] << 24;
    snprintf(pl, sizeof(pl), "%s/payload.bin", dir);
    f = fopen(pl, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf + off + 4, 1, len, f), len);
    fclose(f);
    free(buf);
    snprintf(cmd, sizeof(cmd), "protoc --decode=xenos.UsageRecord "
             "-I'%s/exporter' '%s/exporter/usage.proto' < '%s' 2>&1",
             XENOS_SOURCE_DIR, XENOS_SOURCE_DIR, pl);
    st = run(cmd, out, outlen);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
}

START_TEST(test_usage_protoc_decodes_our_record)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    char files[4][128], out[8192];

    if ( system("command -v protoc >/dev/null 2>&1") )
        ck_abort_msg("protoc not found: install Debian protobuf-compiler "
                     "(scripts/install-deps)");
    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    ck_assert_int_eq(tick(w, T0_S + 61, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, NULL, &g, NULL), 0);

    /* Record 2 (the hostile name), by the frame layout of
     * docs/usage-format.md. */
    protoc_decode(files[0], &g, 1, out, sizeof(out));
    ck_assert_msg(strstr(out, "seq: 2\n"), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "host: \"h1\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "tenant: \"acme\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "uuid: \"00000000-0000-0000-0000-"
                                      "000000000002\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "name: \"we\\\"ird,\\nname\\\\\\377\""));
    ck_assert_ptr_nonnull(strstr(out, "cpu_ns: 10\n"));
    ck_assert_ptr_nonnull(strstr(out, "start_unix_ns: 1764057600000000000\n"));
    ck_assert_ptr_nonnull(strstr(out, "cap_pct: 50\n"));
}
END_TEST

/* The value of "@key: N" in protoc's text, 0 if absent (proto3). */
static uint64_t text_u64(const char *text, const char *key)
{
    char k[64];
    const char *p;

    snprintf(k, sizeof(k), "\n%s: ", key);
    p = strstr(text, k);
    return p ? strtoull(p + strlen(k), NULL, 10) : 0;
}

/*
 * The scheduler's waiting and throttled time in the records (fields 22-24):
 * each interval's growth once, across a crash between the records and the
 * state (the bases of usage.state, fields 10 and 11 of UsageBase, and the
 * records after them), so the records add up exactly to the growth; a
 * domain whose host does not count them has sched_stats false and none.
 * Each record's peak window is the most of its interval's samples'.
 */
START_TEST(test_usage_contention_exactly_once)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    char files[4][128], st[400], saved[400], out[8192];
    uint64_t base_w[NDOM], base_t[NDOM], sum_w[NDOM] = { 0 };
    uint64_t sum_t[NDOM] = { 0 }, t;
    unsigned int i, k;

    doms[0].sched_stats = doms[1].sched_stats = true;
    snprintf(st, sizeof(st), "%s/" EXP_USAGE_STATE_FILE, ldir);
    snprintf(saved, sizeof(saved), "%s/state.saved", dir);
    ck_assert_int_eq(tick(w, T0_S + 3, 11), 0);
    for ( i = 0; i < NDOM; i++ )
    {
        base_w[i] = doms[i].total.wait_ns;
        base_t[i] = doms[i].total.throttled_ns;
    }
    for ( t = T0_S + 6; t <= T0_S + 300; t += 3 )
    {
        for ( i = 0; i < 2; i++ )
        {
            doms[i].total.wait_ns += 7 * (i + 1);
            doms[i].total.throttled_ns += 1000 + i;
        }
        /* one sample a minute (every interval has one) saw a window of
         * 33%, the others 30 */
        doms[0].peak_window_pct = (t - T0_S) % 60 == 30 ? 33 : 30;
        if ( t == T0_S + 63 )
            copy_file(st, saved);           /* after interval 1 */
        if ( t == T0_S + 201 )
        {
            /* the crash: records of intervals 2, 3 on disk, the state
             * that of interval 1 */
            ck_assert_int_eq(exp_usage_close(w), 0);
            copy_file(saved, st);
            w = open_w(60, 3600);
        }
        ck_assert_int_eq(tick(w, t, 11), 0);
    }
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(exp_usage_read(files[0], got_rec, NULL, &g, NULL), 0);
    ck_assert_uint_eq(g.n, 5 * NDOM);
    for ( k = 0; k < g.n; k++ )
    {
        protoc_decode(files[0], &g, k, out, sizeof(out));
        for ( i = 0; i < NDOM && strcmp(g.r[k].uuid, doms[i].uuid); i++ )
            ;
        ck_assert_uint_lt(i, NDOM);
        ck_assert_msg(!strstr(out, "sched_stats: true") == (i == 2),
                      "%u: %s", i, out);
        ck_assert_msg(text_u64(out, "peak_window_pct") == (i == 0 ? 33 : 0),
                      "%u: %s", i, out);
        sum_w[i] += text_u64(out, "wait_ns");
        sum_t[i] += text_u64(out, "throttled_ns");
    }
    for ( i = 0; i < NDOM; i++ )
    {
        ck_assert_uint_eq(sum_w[i], doms[i].total.wait_ns - base_w[i]);
        ck_assert_uint_eq(sum_t[i], doms[i].total.throttled_ns - base_t[i]);
    }
    ck_assert_uint_gt(sum_t[1], 0);
}
END_TEST

START_TEST(test_usage_rotates_by_start_time)
{
    struct exp_usage *w = open_w(60, 120);
    static struct got g;
    char files[8][128];
    uint64_t t;

    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    for ( t = T0_S + 10; t <= T0_S + 360; t += 10 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 8), 3);
    ck_assert_ptr_nonnull(strstr(files[0], "/usage-20251125T080000Z.xul"));
    ck_assert_ptr_nonnull(strstr(files[1], "/usage-20251125T080200Z.xul"));
    ck_assert_ptr_nonnull(strstr(files[2], "/usage-20251125T080400Z.xul"));
    read_all(&g);
    ck_assert_uint_eq(g.n, 6 * NDOM);
    ck_assert_uint_eq(g.damage, 0);
}
END_TEST

START_TEST(test_usage_sum_exact)
{
    struct exp_usage *w = open_w(60, 3600);
    char cmd[800], out[4096], files[4][128], expect[1024];
    uint64_t t;
    int st;

    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    for ( t = T0_S + 2; t <= T0_S + 250; t += 2 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);

    /*
     * Intervals [0,60) .. [180,240) closed, at samples 60, 120, 180, 240:
     * samples 2..240 are 120 of them.  acme: vm0 and vm1 (1x and 2x 5 ns
     * per sample), beta: vm2 (3x).  --from 60 --to 180 takes the two
     * middle intervals: 60 samples each... (62..120 is 30, 122..180 30).
     */
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage sum --by tenant "
             "--format csv '%s' 2>&1", XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    snprintf(expect, sizeof(expect),
             "tenant,records,cpu_ns,memory_byte_seconds,vbd_read_bytes,vbd_write_bytes,"
             "vbd_read_ops,vbd_write_ops,vif_rx_bytes,vif_tx_bytes,wait_ns,"
             "throttled_ns,peak_window_pct\n"
             "\"acme\",8,%u,%llu,%u,0,0,0,0,%u,,,\n"
             "\"beta\",4,%u,%llu,%u,0,0,0,0,%u,,,\n",
             120 * 15, 120ull * 5 * (1 + 2) << 20, 120 * 4096 * 2,
             120 * 300, 120 * 15, 120ull * 5 * 3 << 20, 120 * 4096,
             120 * 300);
    ck_assert_str_eq(out, expect);

    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage sum --by tenant "
             "--from 2025-11-25T08:01:00Z --to %llu --format csv '%s' 2>&1",
             XENOS_BINARY_DIR, T0_S + 180, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(strstr(out, "\"acme\",4,900,"), "%s", out);
    ck_assert_msg(strstr(out, "\"beta\",2,900,"), "%s", out);

    /* JSON and table escape the hostile name. */
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage sum --by domain "
             "--format json '%s' 2>&1", XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(strstr(out, "\"name\":\"we\\\"ird,\\nname\\\\\\ufffd\""),
                  "%s", out);
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage dump '%s' 2>&1",
             XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(!strstr(out, "ird,\nname"), "%s", out);
}
END_TEST

/* CSV cells a spreadsheet would run as formulas get a ' in front, and
 * bytes that are not UTF-8 become U+FFFD: for every string column. */
START_TEST(test_usage_csv_neutralised)
{
    struct exp_usage *w;
    char files[4][128], cmd[800], out[16384];
    uint64_t t;
    int st;

    snprintf(names[0], sizeof(names[0]), "=HYPERLINK(\"http://x\",\"y\")");
    snprintf(names[2], sizeof(names[2]), "-2+3");
    snprintf(tenants[2], sizeof(tenants[2]), "@SUM(A1)");
    w = open_w(60, 3600);
    for ( t = T0_S + 1; t <= T0_S + 130; t += 5 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage dump --format csv "
             "'%s' 2>&1", XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(strstr(out, ",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","),
                  "%s", out);
    ck_assert_msg(strstr(out, ",\"'-2+3\","), "%s", out);
    ck_assert_msg(strstr(out, ",\"'@SUM(A1)\","), "%s", out);
    ck_assert_msg(strstr(out, ",\"we\"\"ird,\nname\\\xef\xbf\xbd\","),
                  "%s", out);
    ck_assert_ptr_null(strchr(out, '\xff'));

    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage sum --by tenant "
             "--format csv '%s' 2>&1", XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(strstr(out, "\n\"'@SUM(A1)\","), "%s", out);
}
END_TEST

/*
 * A full disk: a 64 KiB tmpfs, filled until writing fails.  The writer
 * returns the error, leaves every file whole, and once space is back
 * writes what was pending with no gap in the sequence numbers.
 */
START_TEST(test_usage_full_disk)
{
    static struct got g;
    struct exp_usage *w;
    struct exp_usage_stats st;
    char fill[400], cmd[500];
    uint64_t base[NDOM], want[NDOM], t;
    unsigned int fails = 0, i, nfiles;
    int rc;

    ck_assert_int_eq(mkdir(ldir, 0750), 0);
    /* mode: a tmpfs's root is 1777, and a ledger directory others may
     * write in is refused. */
    if ( mount("tmpfs", ldir, "tmpfs", 0, "size=64k,mode=0750") )
    {
        fprintf(stderr, "test_usage_full_disk: SKIPPED: cannot mount a "
                "tmpfs (%s): run as root to test a full disk\n",
                strerror(errno));
        return;
    }
    snprintf(fill, sizeof(fill), "%s/filler", ldir);
    w = open_w(60, 600);
    ck_assert_int_eq(tick(w, T0_S + 1, 5), 0);
    cpu_now(base);
    /* Leave about 4 KiB. */
    snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of='%s' bs=4096 count=13 "
             "2>/dev/null", fill);
    ck_assert_int_eq(system(cmd), 0);
    for ( t = T0_S + 10; t <= T0_S + 3600; t += 10 )
    {
        rc = tick(w, t, 5);
        ck_assert(rc == 0 || rc == -ENOSPC);
        fails += rc != 0;
        /* No file is ever damaged, full disk or not. */
        if ( rc && fails == 1 )
        {
            read_all(&g);
            ck_assert_uint_eq(g.damage, 0);
        }
    }
    ck_assert_uint_gt(fails, 0);
    exp_usage_get_stats(w, &st);
    ck_assert_uint_gt(st.pending, 0);
    read_all(&g);
    ck_assert_uint_eq(g.damage, 0);
    for ( i = 0; i < g.n; i++ )
        ck_assert_uint_eq(g.r[i].seq, i + 1);

    /* Space is back: everything pending goes out. */
    ck_assert_int_eq(unlink(fill), 0);
    ck_assert_int_eq(tick(w, T0_S + 3660, 5), 0);  /* closes [3600, 3660) */
    cpu_since(base, want);
    exp_usage_get_stats(w, &st);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    nfiles = read_all(&g);
    ck_assert_uint_gt(nfiles, 1);
    ck_assert_uint_eq(g.damage, 0);
    check_exact(&g, want);
    ck_assert_uint_eq(g.n, 61 * NDOM);

    /* And a restart finds it all consistent. */
    w = open_w(60, 600);
    exp_usage_get_stats(w, &st);
    ck_assert_uint_eq(st.next_seq, g.n + 1);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_int_eq(umount(ldir), 0);
}
END_TEST

START_TEST(test_usage_damaged_state_no_double_count)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    struct exp_usage_stats st;
    char sp[200], err[512], aside[220];
    uint64_t base[NDOM], want[NDOM], mid[NDOM], t;
    unsigned int j;
    int rc;

    ck_assert_int_eq(tick(w, T0_S + 1, 3), 0);
    cpu_now(base);
    for ( t = T0_S + 2; t <= T0_S + 125; t += 4 )
        ck_assert_int_eq(tick(w, t, 3), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    cpu_since(base, mid);               /* up to t = 122: 2 intervals */
    snprintf(sp, sizeof(sp), "%s/" EXP_USAGE_STATE_FILE, ldir);
    append_bytes(sp, "x", 1);           /* no longer whole */

    rc = exp_usage_open(&w, ldir, "h1", 60, 3600, err, sizeof(err));
    ck_assert_int_eq(rc, -EBADMSG);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(strstr(err, "damaged, moved aside"));
    snprintf(aside, sizeof(aside), "%s.corrupt", sp);
    ck_assert_int_eq(access(aside, F_OK), 0);
    exp_usage_get_stats(w, &st);
    ck_assert_uint_eq(st.next_seq, g.n + 1);
    /* Usage up to the first update after the loss is not billed; from
     * there on it is, once. */
    ck_assert_int_eq(tick(w, T0_S + 150, 3), 0);
    for ( j = 0; j < NDOM; j++ )
        base[j] = doms[j].total.cpu_ns - mid[j];
    ck_assert_int_eq(tick(w, T0_S + 180, 3), 0);
    cpu_since(base, want);
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    ck_assert_uint_eq(g.damage, 0);
    check_exact(&g, want);
}
END_TEST

START_TEST(test_usage_rebase_counts_from_zero)
{
    struct exp_usage *w = open_w(60, 3600);
    static struct got g;
    uint64_t base[NDOM], want[NDOM], t;
    unsigned int j;

    ck_assert_int_eq(tick(w, T0_S + 1, 9), 0);
    cpu_now(base);
    for ( t = T0_S + 2; t <= T0_S + 60; t += 2 )
        ck_assert_int_eq(tick(w, t, 9), 0);
    cpu_since(base, want);
    ck_assert_int_eq(exp_usage_close(w), 0);

    /* The collector lost its checkpoint: its totals start again at 0. */
    for ( j = 0; j < NDOM; j++ )
        memset(&doms[j].total, 0, sizeof(doms[j].total));
    w = open_w(60, 3600);
    ck_assert_int_eq(exp_usage_rebase(w), 0);
    for ( t = T0_S + 62; t <= T0_S + 120; t += 2 )
        ck_assert_int_eq(tick(w, t, 9), 0);
    for ( j = 0; j < NDOM; j++ )
        want[j] += doms[j].total.cpu_ns;
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    ck_assert_uint_eq(g.n, 2 * NDOM);
    check_exact(&g, want);
}
END_TEST

/*
 * With the real collector: samples in, records out; a reboot (new domid,
 * counters from zero) and a domain that appears later.  The records add
 * up to the collector's totals exactly.
 */
static void real_sample(struct acct_collector *c, struct acct_sample *s,
                        uint64_t t_s, const uint64_t *cpu,
                        const uint32_t *domid, unsigned int n)
{
    unsigned int i;

    acct_sample_reset(s);
    s->time_ns = t_s * NS;
    for ( i = 0; i < n; i++ )
    {
        struct acct_domain *d = acct_sample_add(s);

        ck_assert_ptr_nonnull(d);
        memcpy(d->uuid, doms[i].uuid, sizeof(d->uuid));
        d->domid = domid[i];
        d->name = acct_sample_str(s, names[i], strlen(names[i]));
        d->cpu_ns = cpu[i];
        d->mem_cur_bytes = 1 << 20;
        d->online_vcpus = d->nr_vcpus = 1;
        d->vcpus = acct_sample_array(s, 1, sizeof(*d->vcpus));
        d->vcpus[0].cpu_ns = cpu[i];
        d->vcpus[0].online = true;
    }
    ck_assert_int_eq(acct_collector_update(c, s, NULL, NULL), 0);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
}

START_TEST(test_usage_with_real_collector)
{
    struct acct_collector *c;
    struct acct_sample s;
    struct exp_usage *w = open_w(60, 3600);
    struct exp_info info = { .host = "h1" };
    static struct got g;
    char ck[200], err[256];
    uint64_t cpu[NDOM] = { 0 }, want[NDOM], t;
    uint32_t domid[NDOM] = { 1, 2, 3 };
    unsigned int n = 2, j, i;

    snprintf(ck, sizeof(ck), "%s/checkpoint", dir);
    ck_assert_int_eq(acct_collector_alloc(&c, ck, err, sizeof(err)), 0);
    acct_sample_init(&s);
    for ( t = T0_S + 5; t <= T0_S + 300; t += 5 )
    {
        for ( j = 0; j < n; j++ )
            cpu[j] += 1000 * (j + 1);
        if ( t == T0_S + 100 )
        {
            domid[1] = 7;               /* vm1 reboots */
            cpu[1] = 500;
        }
        if ( t == T0_S + 130 )
            n = 3;                      /* vm2 appears */
        real_sample(c, &s, t, cpu, domid, n);
        info.sample_unix_ns = t * NS;
        ck_assert_int_eq(exp_usage_update(w, SNAP(c), &info), 0);
    }
    for ( j = 0; j < NDOM; j++ )
        want[j] = acct_collector_find(c, doms[j].uuid)->total.cpu_ns;
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(&g);
    ck_assert_uint_eq(g.damage, 0);
    check_exact(&g, want);
    ck_assert_uint_gt(want[1], 0);
    for ( i = 0; i < g.n; i++ )
        ck_assert(strcmp(g.r[i].uuid, doms[2].uuid) ||
                  g.r[i].start >= (T0_S + 120) * NS);
    acct_sample_free(&s);
    acct_collector_free(c);
}
END_TEST

/* The span of (uuid of domain @d, interval starting at @start_s) is
 * [@a_s, @b_s]; @n: which of several such records (0: the first). */
static void check_span(const struct got *g, uint32_t d, uint64_t start_s,
                       unsigned int n, uint64_t a_s, uint64_t b_s)
{
    unsigned int i;

    for ( i = 0; i < g->n; i++ )
        if ( !strcmp(g->r[i].uuid, doms[d].uuid) &&
             g->r[i].start == start_s * NS && !n-- )
        {
            ck_assert_msg(g->r[i].span_a == a_s * NS &&
                          g->r[i].span_b == b_s * NS,
                          "vm%u, interval at +%" PRIu64 ": span [+%" PRIu64
                          ", +%" PRIu64 "], want [+%" PRIu64 ", +%" PRIu64
                          "]", d, (uint64_t)(start_s - T0_S),
                          (uint64_t)(g->r[i].span_a / NS - T0_S),
                          (uint64_t)(g->r[i].span_b / NS - T0_S),
                          (uint64_t)(a_s - T0_S), (uint64_t)(b_s - T0_S));
            return;
        }
    ck_abort_msg("no record of vm%u for the interval at +%" PRIu64, d,
                 (uint64_t)(start_s - T0_S));
}

/* Each record says the part of its interval xenosd observed: the first
 * interval from xenosd's first sample, a domain from the sample that first
 * saw it to the last, one away for a sample and back in two records, the
 * interval cut short by a stop, and after a restart from its first
 * sample; a full interval has span == interval, and nothing is lost or
 * counted twice on the way. */
START_TEST(test_usage_span_partial)
{
    uint64_t base[NDOM], want[NDOM], t;
    struct exp_usage *w = open_w(60, 3600);
    struct got *g = malloc(sizeof(*g));

    ck_assert_ptr_nonnull(g);
    doms[2].present = false;            /* appears at +45 */
    ck_assert_int_eq(tick(w, T0_S + 30, 7), 0);
    cpu_now(base);
    for ( t = T0_S + 35; t <= T0_S + 125; t += 5 )
    {
        doms[2].present = t >= T0_S + 45;
        doms[1].present = t <= T0_S + 50;   /* gone after +50 */
        /* vm0 away at +70 (migrated out and back): two records */
        doms[0].present = t != T0_S + 70;
        ck_assert_int_eq(tick(w, t, 7), 0);
        /* A failed sample after the close: xenosd exports the same one
         * again, which changes nothing. */
        if ( t == T0_S + 60 )
            ck_assert_int_eq(exp_usage_update(w, &snap, &(struct exp_info){
                .host = "h1", .sample_unix_ns = t * NS }), 0);
    }
    /* xenosd stops at +130: the open interval's records, partial. */
    ck_assert_int_eq(tick_ex(w, T0_S + 130, 7, true), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    /* It comes back at +140 (the collector counted the gap) and runs
     * past the interval's end. */
    w = open_w(60, 3600);
    ck_assert_int_eq(tick(w, T0_S + 140, 7), 0);
    ck_assert_int_eq(tick(w, T0_S + 190, 7), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(g);
    cpu_since(base, want);
    check_exact(g, want);
    check_span(g, 0, T0_S, 0, T0_S + 30, T0_S + 60);
    check_span(g, 1, T0_S, 0, T0_S + 30, T0_S + 50);
    check_span(g, 2, T0_S, 0, T0_S + 45, T0_S + 60);
    check_span(g, 0, T0_S + 60, 0, T0_S + 60, T0_S + 65);
    check_span(g, 0, T0_S + 60, 1, T0_S + 75, T0_S + 120);
    check_span(g, 2, T0_S + 60, 0, T0_S + 60, T0_S + 120);
    /* vm1 is gone, but its totals grew (as after a gap): the usage, with
     * an empty span, never a claim to have watched it. */
    check_span(g, 1, T0_S + 60, 0, T0_S + 60, T0_S + 60);
    check_span(g, 0, T0_S + 120, 0, T0_S + 120, T0_S + 130);
    check_span(g, 0, T0_S + 120, 1, T0_S + 140, T0_S + 180);
    free(g);
}
END_TEST

/*
 * A domain whose tenant changes inside an interval (created, then given
 * its tenant key: the toolstack writes it after xl create -p) is billed to
 * each tenant in turn, as the collector counts it: what it used up to the
 * sample before the change under the old tenant (here none), the rest
 * under the new, and the two spans meet.  Nothing lost or counted twice.
 */
START_TEST(test_usage_tenant_change_splits)
{
    uint64_t base[NDOM], want[NDOM], t, before = 0, after = 0;
    struct exp_usage *w = open_w(60, 3600);
    struct got *g = malloc(sizeof(*g));
    unsigned int i, n = 0;

    ck_assert_ptr_nonnull(g);
    doms[2].tenant = NULL;
    ck_assert_int_eq(tick(w, T0_S + 5, 7), 0);
    cpu_now(base);
    for ( t = T0_S + 10; t <= T0_S + 70; t += 5 )
    {
        if ( t == T0_S + 25 )
            doms[2].tenant = tenants[2];        /* "beta" from +25 on */
        ck_assert_int_eq(tick_ex(w, t, 7, t == T0_S + 70), 0);
    }
    ck_assert_int_eq(exp_usage_close(w), 0);
    read_all(g);
    cpu_since(base, want);
    check_exact(g, want);
    for ( i = 0; i < g->n; i++ )
    {
        if ( strcmp(g->r[i].uuid, doms[2].uuid) || g->r[i].start != T0_S * NS )
            continue;
        n++;
        if ( !g->r[i].tenant[0] )
        {
            before = g->r[i].cpu;
            ck_assert(g->r[i].span_b == (T0_S + 20) * NS);
        }
        else
        {
            ck_assert_str_eq(g->r[i].tenant, "beta");
            after = g->r[i].cpu;
            ck_assert(g->r[i].span_a == (T0_S + 20) * NS);
        }
    }
    ck_assert_uint_eq(n, 2);
    /* 3 x 7 ns a sample: +10, +15 and +20 without a tenant (+5 is the
     * base), +25 to +60 under beta (the sample at +60 closes it) */
    ck_assert_uint_eq(before, 3 * 3 * 7);
    ck_assert_uint_eq(after, 8 * 3 * 7);
    free(g);
}
END_TEST

/*
 * dump --format jsonl: one JSON object per record per line, under
 * usage.proto's field names, the contention counters null (unknown) when
 * sched_stats is false; --format csv: the documented header and empty
 * cells for them.  Python's json module is the judge of the JSON.
 */
START_TEST(test_usage_dump_jsonl_csv)
{
    static const char head[] =
        "seq,host,tenant,uuid,name,start_unix_ns,end_unix_ns,cpu_ns,vcpus,"
        "memory_byte_seconds,mem_max_bytes,vbd_read_bytes,vbd_write_bytes,"
        "vbd_read_ops,vbd_write_ops,vif_rx_bytes,vif_tx_bytes,weight,"
        "cap_pct,span_start_unix_ns,span_end_unix_ns,sched_stats,wait_ns,"
        "throttled_ns,peak_window_pct\n";
    struct exp_usage *w;
    struct got *g = malloc(sizeof(*g));
    char files[4][128], cmd[1200], out[16384], want[64];
    uint64_t t;
    int st;

    ck_assert_ptr_nonnull(g);
    w = open_w(60, 3600);
    for ( t = T0_S + 1; t <= T0_S + 130; t += 5 )
        ck_assert_int_eq(tick(w, t, 5), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    ck_assert_uint_eq(list_files(files, 4), 1);
    read_all(g);
    ck_assert_uint_eq(g->n, 2 * NDOM);
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage dump --format jsonl "
             "'%s' | python3 -c 'import json, sys\n"
             "rs = [json.loads(l) for l in sys.stdin]\n"
             "assert all(r[\"wait_ns\"] is None and r[\"throttled_ns\"] is None"
             " and r[\"peak_window_pct\"] is None and r[\"sched_stats\"] is"
             " False for r in rs), rs\n"
             "assert [r[\"seq\"] for r in rs] == list(range(1, len(rs) + 1))\n"
             "print(len(rs), sum(r[\"cpu_ns\"] for r in rs),"
             " rs[0][\"span_start_unix_ns\"])' 2>&1",
             XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    /* Every record, its CPU, and the first one's span from xenosd's first
     * sample. */
    snprintf(want, sizeof(want), "%u %" PRIu64 " %" PRIu64 "\n", g->n,
             g->r[0].cpu + g->r[1].cpu + g->r[2].cpu + g->r[3].cpu +
             g->r[4].cpu + g->r[5].cpu, (uint64_t)((T0_S + 1) * NS));
    ck_assert_str_eq(out, want);
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage dump --format csv "
             "'%s' 2>&1", XENOS_BINARY_DIR, files[0]);
    st = run(cmd, out, sizeof(out));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_msg(!strncmp(out, head, strlen(head)), "%s", out);
    ck_assert_msg(strstr(out, ",false,,,\n"), "%s", out);
    free(g);
}
END_TEST

/* What exp_usage_compare reported. */
struct diffs {
    unsigned int n;
    char line[16][160];
};

static void got_diff(void *ctx, const struct exp_usage_src *a,
                     const struct exp_usage_src *b, bool tenant,
                     const char *key, const char *name, const char *counter,
                     uint64_t va, uint64_t vb)
{
    struct diffs *d = ctx;

    ck_assert_uint_lt(d->n, 16);
    snprintf(d->line[d->n++], sizeof(d->line[0]), "%s/%s %s %s %s %s %"
             PRIu64 " %" PRIu64, a->what, b->what,
             tenant ? "tenant" : "domain", key, name ? name : "-", counter,
             va, vb);
}

/*
 * The comparison reconcile and any other source use: only counters both
 * sources know, a row missing on one side is zero there, domains and
 * tenants each in key order, the unassigned tenant "" apart from named
 * ones, and equal sources report nothing.
 */
START_TEST(test_usage_compare_sources)
{
    struct exp_usage_src a, b;
    struct diffs d = { 0 };
    uint64_t v1[EXP_USAGE_NR_COUNTERS] = { 100, 7 };
    uint64_t v2[EXP_USAGE_NR_COUNTERS] = { 100, 9 };
    uint64_t v3[EXP_USAGE_NR_COUNTERS] = { 40 };

    ck_assert_str_eq(exp_usage_counters[0], "cpu_ns");
    ck_assert_str_eq(exp_usage_counters[EXP_USAGE_NR_COUNTERS - 1],
                     "vif_tx_bytes");
    exp_usage_src_init(&a, "ledger", (1u << EXP_USAGE_NR_COUNTERS) - 1);
    exp_usage_src_init(&b, "host", 1u << 0);      /* CPU time only */
    ck_assert_int_eq(exp_usage_src_add(&a, "u2", "vm2", "acme", v1), 0);
    ck_assert_int_eq(exp_usage_src_add(&a, "u1", "vm1", "", v3), 0);
    ck_assert_int_eq(exp_usage_src_add(&b, "u2", "vm2", "acme", v2), 0);
    /* memory differs (7 and 9) but b does not know it: agree */
    ck_assert_int_eq(exp_usage_compare(&a, &b, got_diff, &d), 2);
    ck_assert_str_eq(d.line[0], "ledger/host domain u1 vm1 cpu_ns 40 0");
    ck_assert_str_eq(d.line[1], "ledger/host tenant  - cpu_ns 40 0");
    /* the same totals in b, arriving in two parts: nothing to say */
    ck_assert_int_eq(exp_usage_src_add(&b, "u1", NULL, "", v3), 0);
    d.n = 0;
    ck_assert_int_eq(exp_usage_compare(&a, &b, got_diff, &d), 0);
    ck_assert_int_eq(exp_usage_compare(&b, &a, got_diff, &d), 0);
    ck_assert_uint_eq(d.n, 0);
    /* every counter known on both sides: memory now differs */
    b.known = a.known;
    ck_assert_int_eq(exp_usage_compare(&a, &b, got_diff, &d), 2);
    ck_assert_str_eq(d.line[0],
                     "ledger/host domain u2 vm2 memory_byte_seconds 7 9");
    ck_assert_str_eq(d.line[1],
                     "ledger/host tenant acme - memory_byte_seconds 7 9");
    ck_assert_uint_eq(a.doms.rows[0].records, 1);
    exp_usage_src_deinit(&a);
    exp_usage_src_deinit(&b);
}
END_TEST

static Suite *usage_suite(void)
{
    Suite *s = suite_create("usage");
    TCase *tc = tcase_create("ledger");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_usage_round_trip);
    tcase_add_test(tc, test_usage_span_partial);
    tcase_add_test(tc, test_usage_tenant_change_splits);
    tcase_add_test(tc, test_usage_seq_continues_across_reopen);
    tcase_add_loop_test(tc, test_usage_crash_before_state, 0,
                        sizeof(state_every) / sizeof(state_every[0]));
    tcase_add_test(tc, test_usage_damaged_state_no_double_count);
    tcase_add_test(tc, test_usage_rebase_counts_from_zero);
    tcase_add_test(tc, test_usage_torn_tail_repaired);
    tcase_add_test(tc, test_usage_corrupt_record_skipped);
    tcase_add_test(tc, test_usage_crafted_resync);
    tcase_add_test(tc, test_usage_csv_neutralised);
    tcase_add_test(tc, test_usage_dump_jsonl_csv);
    tcase_add_test(tc, test_usage_compare_sources);
    tcase_add_test(tc, test_usage_zero_length_file);
    tcase_add_test(tc, test_usage_protoc_decodes_our_record);
    tcase_add_test(tc, test_usage_contention_exactly_once);
    tcase_add_test(tc, test_usage_rotates_by_start_time);
    tcase_add_test(tc, test_usage_sum_exact);
    tcase_add_test(tc, test_usage_with_real_collector);
    tcase_add_test(tc, test_usage_full_disk);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(usage_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
