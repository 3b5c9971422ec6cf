/*
 * rrd.c: RRD archives per domain and tenant (exp_rrd.h): the store that
 * creates and updates them, and the rrd exporter of xenosd.  File names
 * and finding are rrd_find.c's, drawing rrd_graph.c's; the rrdcached
 * client is rrd_cached.c's.
 *
 * Design: a hash table (open addressing, keyed by kind and uuid or tenant
 * name) remembers every file this process has seen, whether it exists,
 * and the domain name last written to the index.  exp_rrd_update walks the
 * collector once: tenants first (their memory is the sum of their present
 * domains'), then domains.  A file is created at most once per key, on
 * first sight, with librrd (rrd_create_r2), under a time budget per call
 * so 10,000 new domains spread their creation over several intervals.
 * Points go either straight to librrd (rrd_updatex_r, one file at a
 * time) or, with rrdcached, as one BATCH of UPDATE lines per call over a
 * socket of our own: one round trip for all files (librrd's client has no
 * BATCH).  Counters are the collector's totals, which never go back, as
 * DERIVE with a minimum of 0 (a lost checkpoint reads as unknown, never as
 * a negative rate); the cap in force, the weight and the peak window
 * follow as gauges.  A file of an older xenos, without some of the DS
 * after the first seven, is given them on first sight (rrd_tune, which
 * rewrites it keeping every row), under the same budget.
 *
 * Files: librrd opens by path, so the directory is opened once and
 * checked (fio_dir_open: ours, not writable by others, not a symbolic
 * link, nobody else can swap it) and librrd is handed paths through that
 * descriptor, /proc/self/fd/N/<file>: a rename of a directory above cannot
 * move our writes elsewhere.  Each file is looked at (fstatat, no
 * following) before its first use: anything but a regular file with one
 * link is refused, never written through.  librrd creates a file as a
 * temporary with O_EXCL renamed over the name, so creation follows no
 * link either.  Through rrdcached the paths are absolute (rrdcached opens
 * them itself, with its own rights: -B keeps it to its base directory).
 * The index is read and written relative to the descriptor (fio_*).
 *
 * Locking: none; one exp_rrd is used by one thread at a time.  librrd's
 * error text is per thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include <xenos/exp_rrd.h>
#include <xenos/fileio.h>
#include <xenos/text.h>

#include "rrd_impl.h"

#define RRDX_HEARTBEAT_STEPS     3       /* one missed sample is no gap */
#define RRDX_XFF                 "0.5"
#define RRDX_LINE_MAX            4096    /* rrdcached's command line */

/* The archive tiers of xcp-rrdd: resolution and span, in seconds. */
static const struct {
    uint32_t res_s;
    uint32_t span_s;
} rrdx_tiers[] = {
    { 0, 600 },                         /* the step itself, 10 min */
    { 60, 7200 },                       /* 1 min for 2 h */
    { 3600, 7 * 86400 },                /* 1 h for a week */
    { 86400, 366 * 86400 },             /* 1 day for a year */
};

struct rrdx_ent {
    char *key;                          /* NULL: free slot */
    char *name;                         /* domain name in the index */
    uint32_t hash;
    bool tenant;
    bool exists;                        /* the file is there */
    uint64_t mem_bytes;                 /* tenant: this sample's sum */
};

static uint64_t rrdx_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The last error, for the caller's log (rrd_impl.h). */
void rrdx__set_error(struct exp_rrd *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->st.last_error, sizeof(r->st.last_error), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* The table of files                                                  */

static uint32_t rrdx_hash(bool tenant, const char *key)
{
    return (uint32_t)(rrdx__fnv64(key) >> 17) ^ (tenant ? 0x9e3779b9u : 0);
}

static struct rrdx_ent *rrdx_lookup(struct exp_rrd *r, bool tenant,
                                  const char *key)
{
    uint32_t h = rrdx_hash(tenant, key), i;

    if ( !r->cap_ents )
        return NULL;
    for ( i = h & (r->cap_ents - 1); r->ents[i].key;
          i = (i + 1) & (r->cap_ents - 1) )
        if ( r->ents[i].hash == h && r->ents[i].tenant == tenant &&
             !strcmp(r->ents[i].key, key) )
            return &r->ents[i];
    return NULL;
}

static int rrdx_grow(struct exp_rrd *r)
{
    uint32_t cap = r->cap_ents ? r->cap_ents * 2 : 256, i, j;
    struct rrdx_ent *n = calloc(cap, sizeof(*n));

    if ( !n )
        return -ENOMEM;
    for ( i = 0; i < r->cap_ents; i++ )
    {
        if ( !r->ents[i].key )
            continue;
        for ( j = r->ents[i].hash & (cap - 1); n[j].key;
              j = (j + 1) & (cap - 1) )
            ;
        n[j] = r->ents[i];
    }
    free(r->ents);
    r->ents = n;
    r->cap_ents = cap;
    return 0;
}

/* The entry for @key, added if new; NULL on ENOMEM. */
static struct rrdx_ent *rrdx_get(struct exp_rrd *r, bool tenant,
                               const char *key)
{
    struct rrdx_ent *e = rrdx_lookup(r, tenant, key);
    uint32_t h, i;

    if ( e )
        return e;
    if ( (r->nr_ents + 1) * 2 > r->cap_ents && rrdx_grow(r) )
        return NULL;
    h = rrdx_hash(tenant, key);
    for ( i = h & (r->cap_ents - 1); r->ents[i].key;
          i = (i + 1) & (r->cap_ents - 1) )
        ;
    e = &r->ents[i];
    e->key = strdup(key);
    if ( !e->key )
        return NULL;
    e->hash = h;
    e->tenant = tenant;
    r->nr_ents++;
    if ( tenant )
        r->index_dirty = true;
    return e;
}

/* ------------------------------------------------------------------ */
/* Index                                                               */

static void rrdx_index_load(struct exp_rrd *r)
{
    char *line = NULL;
    size_t cap = 0;
    FILE *f;
    int fd = fio_openat(r->dir_fd, EXP_RRD_INDEX, O_RDONLY, 0);

    if ( fd < 0 )
        return;
    f = fdopen(fd, "r");
    if ( !f )
    {
        close(fd);
        return;
    }
    while ( getline(&line, &cap, f) > 0 )
    {
        char *a, *b;
        struct rrdx_ent *e;

        if ( rrdx__split(line, &a, &b) || rrdx__decode(a) || rrdx__decode(b) )
            continue;
        if ( line[0] == 'T' )
        {
            /* a is the file; the key is the name */
            if ( !rrdx_get(r, true, b) )
                break;
            continue;
        }
        e = rrdx_get(r, false, a);
        if ( !e )
            break;
        free(e->name);
        e->name = strdup(b);
    }
    free(line);
    fclose(f);
    r->index_dirty = false;
}

/* Write the index whole to a temporary file and rename it over the old:
 * readers see the old or the new one.  0 or -errno. */
static int rrdx_index_write(struct exp_rrd *r)
{
    static const char tmp[] = "." EXP_RRD_INDEX ".tmp";
    char enc[3 * 4096 + 1], fname[NAME_MAX + 1];
    uint32_t i;
    FILE *f;
    int rc = 0, fd;

    if ( !r->index_dirty )
        return 0;
    fd = fio_create_tmp(r->dir_fd, tmp, 0640);
    if ( fd < 0 )
        return fd;
    f = fdopen(fd, "w");
    if ( !f )
    {
        rc = -errno;
        close(fd);
        unlinkat(r->dir_fd, tmp, 0);
        return rc;
    }
    for ( i = 0; i < r->cap_ents; i++ )
    {
        const struct rrdx_ent *e = &r->ents[i];

        if ( !e->key )
            continue;
        if ( e->tenant )
        {
            if ( exp_rrd_file_name(fname, sizeof(fname), true, e->key) ||
                 exp_rrd_encode(enc, sizeof(enc), e->key) )
                continue;
            fprintf(f, "T\t%s\t%s\n", fname, enc);
        }
        else if ( e->name && !exp_rrd_encode(enc, sizeof(enc), e->name) &&
                  !exp_rrd_encode(fname, sizeof(fname), e->key) )
            fprintf(f, "D\t%s\t%s\n", fname, enc);
    }
    if ( fflush(f) || ferror(f) )
        rc = -errno ? -errno : -EIO;
    if ( fclose(f) && !rc )
        rc = -errno;
    if ( !rc && renameat(r->dir_fd, tmp, r->dir_fd, EXP_RRD_INDEX) )
        rc = -errno;
    if ( rc )
        unlinkat(r->dir_fd, tmp, 0);
    else
        r->index_dirty = false;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */

/*
 * The counters in the archives, each under the data source name
 * counters.def gives it: those the archives were first created with, so
 * that older archives and graphs read the same.  cpu_ns comes first, with
 * cpu computed from it and mem (a level, not a counter) after them; the
 * others follow as rates (DERIVE), in the order of counters.def.
 */
static const struct rrdx_counter {
    const char *ds;                     /* NULL: not in the archives */
    size_t off;                         /* uint64_t in struct acct_usage */
} rrdx_counters[] = {
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help) \
    { rrd, offsetof(struct acct_usage, name) },
#include <xenos/counters.def>
#undef XENOS_COUNTER
};
#define RRDX_NR_COUNTERS (sizeof(rrdx_counters) / sizeof(rrdx_counters[0]))

/* Counter @i is one of the rates after mem. */
static bool rrdx_is_rate(unsigned int i)
{
    return rrdx_counters[i].ds &&
           rrdx_counters[i].off != offsetof(struct acct_usage, cpu_ns);
}

/*
 * Data sources after the rates, in the order they came to xenos: the cap
 * in force (% of one pCPU, 0 = none) and the weight, as gauges; then the
 * scheduler's waiting and throttled time (counters.def's SCHED counters,
 * in ns, as rates: ns per s); then the peak window of the interval (% of
 * one pCPU, a gauge) and the windows under a cap and over it (SCHED
 * counters, as rates: windows per s).  The scheduler's are unknown where
 * the host cannot count them.  Files of an older xenos lack some:
 * rrdx_upgrade adds them at the end, so the DS before keep their places
 * (and the COMPUTE DS its reference to cpu_ns).
 */
static const char *const rrdx_sched_ds[] = {
    RRDX_DS_CAP, RRDX_DS_WEIGHT, RRDX_DS_WAIT, RRDX_DS_THROTTLED,
    RRDX_DS_PEAK, RRDX_DS_CAPPED_WIN, RRDX_DS_OVER_CAP_WIN,
};
#define RRDX_NR_SCHED_DS (sizeof(rrdx_sched_ds) / sizeof(rrdx_sched_ds[0]))
#define RRDX_NR_DS       (7 + RRDX_NR_SCHED_DS)

/* "DS:NAME:TYPE:HB:0:U" of the i-th of rrdx_sched_ds into @buf. */
static void rrdx_sched_ds_spec(const struct exp_rrd *r, unsigned int i,
                               char *buf, size_t len)
{
    const char *ds = rrdx_sched_ds[i];
    bool gauge = !strcmp(ds, RRDX_DS_CAP) || !strcmp(ds, RRDX_DS_WEIGHT) ||
                 !strcmp(ds, RRDX_DS_PEAK);

    snprintf(buf, len, "DS:%s:%s:%u:0:U", ds, gauge ? "GAUGE" : "DERIVE",
             r->step_s * RRDX_HEARTBEAT_STEPS);
}

/*
 * Create @path with our DS and RRAs, the first point allowed after
 * @first_s.  librrd's argv is built on the stack: RRDX_NR_DS DS, 8 RRAs
 * at most.
 */
static int rrdx_create(struct exp_rrd *r, const char *path, time_t first_s)
{
    char ds[RRDX_NR_DS][64], rra[8][64];
    const char *argv[RRDX_NR_DS + 8];
    unsigned int hb = r->step_s * RRDX_HEARTBEAT_STEPS, i, n = 0, nr = 0;
    unsigned int nds;
    uint32_t pdp[4], rows[4];
    static const char *const cfs[] = { "AVERAGE", "MAX" };
    int rc;

    snprintf(ds[0], 64, "DS:cpu_ns:DERIVE:%u:0:U", hb);
    /* COMPUTE constants must fit 16 bits: divide by 10^9 in three goes. */
    snprintf(ds[1], 64, "DS:cpu:COMPUTE:cpu_ns,1000,/,1000,/,1000,/");
    snprintf(ds[2], 64, "DS:mem:GAUGE:%u:0:U", hb);
    for ( i = 0, nds = 3; i < RRDX_NR_COUNTERS && nds < 7; i++ )
        if ( rrdx_is_rate(i) )
            snprintf(ds[nds++], 64, "DS:%s:DERIVE:%u:0:U",
                     rrdx_counters[i].ds, hb);
    for ( i = 0; i < RRDX_NR_SCHED_DS; i++ )
        rrdx_sched_ds_spec(r, i, ds[nds++], 64);
    for ( i = 0; i < nds; i++ )
        argv[n++] = ds[i];
    /* Each tier in whole steps; a tier no finer than the previous one
     * (a long step) replaces it. */
    for ( i = 0; i < 4; i++ )
    {
        uint32_t res = rrdx_tiers[i].res_s ? rrdx_tiers[i].res_s : r->step_s;
        uint32_t p = (res + r->step_s / 2) / r->step_s;

        p = p ? p : 1;
        if ( nr && pdp[nr - 1] >= p )
            nr--;
        pdp[nr] = p;
        rows[nr] = (rrdx_tiers[i].span_s + p * r->step_s - 1) /
                   (p * r->step_s);
        nr++;
    }
    for ( i = 0; i < 2 * nr; i++ )
    {
        snprintf(rra[i], 64, "RRA:%s:%s:%" PRIu32 ":%" PRIu32, cfs[i & 1],
                 RRDX_XFF, pdp[i / 2], rows[i / 2]);
        argv[n++] = rra[i];
    }
    rrd_clear_error();
    rc = rrd_create_r2(path, r->step_s, first_s, 1, NULL, NULL, (int)n,
                       argv);
    if ( rc )
    {
        rrdx__set_error(r, "create %s: %s", path, rrd_get_error());
        rrd_clear_error();
        return -EIO;
    }
    return 0;
}

/*
 * Give the file at @path, made by an older xenos, the DS of
 * rrdx_sched_ds it lacks: rrd_tune rewrites it (a temporary renamed over
 * it) with every row of the DS it had, the new ones unknown until now.
 * Through rrdcached, the file's pending updates are flushed first: they
 * have the old number of values.  0 (nothing to add, or added); -EAGAIN
 * when the creation budget is spent (counted as deferred); -EIO
 * (counted in create_errors, the reason in last_error).  A file librrd
 * cannot read is left alone: its updates fail and say why.
 */
static int rrdx_upgrade(struct exp_rrd *r, const char *path)
{
    char spec[RRDX_NR_SCHED_DS][64];
    const char *argv[2 + RRDX_NR_SCHED_DS];
    bool has[RRDX_NR_SCHED_DS];
    unsigned int k;
    int n = 0, rc;

    if ( rrdx__has_ds(path, rrdx_sched_ds, RRDX_NR_SCHED_DS, has) )
        return 0;
    argv[n++] = "tune";
    argv[n++] = path;
    for ( k = 0; k < RRDX_NR_SCHED_DS; k++ )
        if ( !has[k] )
        {
            rrdx_sched_ds_spec(r, k, spec[k], sizeof(spec[k]));
            argv[n++] = spec[k];
        }
    if ( n == 2 )
        return 0;
    if ( r->create_budget_ns && r->create_spent_ns >= r->create_budget_ns )
    {
        r->st.deferred++;
        return -EAGAIN;
    }
    if ( r->daemon )
    {
        char cmd[PATH_MAX + 16], err[256];

        /* "Nothing to flush" is a success; -EIO is rrdcached's "no such
         * file", which rrd_tune will say better. */
        snprintf(cmd, sizeof(cmd), "FLUSH %s\n", path);
        if ( r->fd < 0 && (rc = rrdx__connect(r, err, sizeof(err))) )
        {
            rrdx__set_error(r, "%s", err);
            r->st.io_errors++;
            return -EAGAIN;
        }
        rc = rrdx__command(r, cmd);
        if ( rc && rc != -EIO )
        {
            rrdx__disconnect(r);
            r->st.io_errors++;
            return -EAGAIN;
        }
    }
    optind = 0;         /* librrd parses with getopt */
    rrd_clear_error();
    if ( rrd_tune(n, (char **)argv) )
    {
        r->st.create_errors++;
        rrdx__set_error(r, "add %s to %s: %s", argv[2], path,
                        rrd_get_error());
        rrd_clear_error();
        return -EIO;
    }
    r->st.upgraded++;
    return 0;
}

/* Make sure @e's file exists; false when it cannot be written now. */
static bool rrdx_ready(struct exp_rrd *r, struct rrdx_ent *e, const char *path,
                      time_t first_s)
{
    const char *name = strrchr(path, '/') + 1;
    struct stat sb;
    uint64_t t;
    int rc;

    if ( e->exists )
        return true;
    if ( !fstatat(r->dir_fd, name, &sb, AT_SYMLINK_NOFOLLOW) )
    {
        /* Planted: librrd would open it and follow a link.  Refused each
         * time (it may be removed), and never written through. */
        if ( !S_ISREG(sb.st_mode) || sb.st_nlink > 1 )
        {
            r->st.refused++;
            rrdx__set_error(r, "%s/%s: %s: refusing to write it", r->dir,
                            name, S_ISLNK(sb.st_mode) ? "a symbolic link"
                            : S_ISREG(sb.st_mode) ? "has another hard link"
                            : "not a regular file");
            return false;
        }
        t = rrdx_now_ns();
        rc = rrdx_upgrade(r, path);
        r->create_spent_ns += rrdx_now_ns() - t;
        return rc ? false : (e->exists = true);
    }
    if ( r->create_budget_ns && r->create_spent_ns >= r->create_budget_ns )
    {
        r->st.deferred++;
        return false;
    }
    t = rrdx_now_ns();
    rc = rrdx_create(r, path, first_s);
    r->create_spent_ns += rrdx_now_ns() - t;
    if ( rc )
    {
        /* tried again next time, within the budget */
        r->st.create_errors++;
        return false;
    }
    r->st.created++;
    return e->exists = true;
}

/* ------------------------------------------------------------------ */
/* Open, update, close                                                 */

int exp_rrd_open(struct exp_rrd **out, const char *dir,
                 const char *rrdcached, uint32_t step_s, char *err,
                 size_t errlen)
{
    struct exp_rrd *r;
    struct stat a, b;
    char abs[PATH_MAX], io[64];
    int rc, fd;

    fd = fio_dir_open(dir, true, err, errlen);
    if ( fd < 0 )
        return fd;
    /* The absolute path names the directory we checked (for rrdcached
     * and messages); librrd itself goes through the descriptor, when
     * /proc shows it. */
    errno = 0;
    if ( !realpath(dir, abs) || stat(abs, &a) || fstat(fd, &b) ||
         a.st_dev != b.st_dev || a.st_ino != b.st_ino )
    {
        rc = errno ? -errno : -ESTALE;
        snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
        close(fd);
        return rc;
    }
    snprintf(io, sizeof(io), "/proc/self/fd/%d", fd);
    if ( rrdcached || stat(io, &a) || a.st_dev != b.st_dev ||
         a.st_ino != b.st_ino )
        snprintf(io, sizeof(io), "%s", "");
    /* rrdcached splits its command lines at spaces */
    if ( rrdcached && abs[strcspn(abs, " \t\r\n\\")] )
    {
        snprintf(err, errlen, "%s: rrdcached cannot name files under a "
                 "path with spaces or backslashes", abs);
        close(fd);
        return -EINVAL;
    }
    if ( strlen(abs) > PATH_MAX - NAME_MAX - 2 )
    {
        snprintf(err, errlen, "%s: path too long", abs);
        close(fd);
        return -ENAMETOOLONG;
    }
    r = calloc(1, sizeof(*r));
    if ( !r )
    {
        close(fd);
        return -ENOMEM;
    }
    r->fd = -1;
    r->dir_fd = fd;
    r->step_s = step_s ? step_s : EXP_RRD_STEP_S_DEFAULT;
    r->create_budget_ns = (uint64_t)EXP_RRD_CREATE_BUDGET_MS * 1000000u;
    r->dir = strdup(abs);
    r->io_dir = strdup(io[0] ? io : abs);
    r->daemon = rrdcached ? strdup(rrdcached) : NULL;
    if ( !r->dir || !r->io_dir || (rrdcached && !r->daemon) )
    {
        rc = -ENOMEM;
        goto out_free;
    }
    if ( r->daemon )
    {
        rc = rrdx__connect(r, err, errlen);
        if ( rc )
            goto out_free;
    }
    rrdx_index_load(r);
    *out = r;
    return 0;

 out_free:
    exp_rrd_close(r);
    return rc;
}

void exp_rrd_set_create_budget(struct exp_rrd *r, uint32_t ms)
{
    r->create_budget_ns = (uint64_t)ms * 1000000u;
}

void exp_rrd_get_stats(const struct exp_rrd *r, struct exp_rrd_stats *st)
{
    *st = r->st;
}

/* ":@v", or ":U" unless @known, appended at *@n in @buf (nothing once
 * *@n is past @len: the caller sees it there). */
static void rrdx_val(char *buf, size_t len, int *n, bool known, uint64_t v)
{
    if ( *n < 0 || (size_t)*n >= len )
        return;
    *n += known ? snprintf(buf + *n, len - (size_t)*n, ":%" PRIu64, v)
                : snprintf(buf + *n, len - (size_t)*n, ":U");
}

/*
 * "ts:cpu_ns:mem", the rates (rrdx_counters), the cap and the weight,
 * waiting and throttled time, the peak window and the window counts
 * (rrdx_sched_ds) into @buf.  A weight of 0 is "not set by xenosd (yet)":
 * cap and weight are then unknown, not "no cap"; without @sched_stats the
 * scheduler's are unknown, not 0.  @peak_pct: the peak, or NULL where
 * there is none (a tenant: docs/exporters.md says why).
 */
static int rrdx_values(char *buf, size_t len, const char *ts,
                      const struct acct_usage *u, uint64_t mem_bytes,
                      uint32_t weight, uint32_t cap_pct, bool sched_stats,
                      const uint32_t *peak_pct)
{
    int n = snprintf(buf, len, "%s:%" PRIu64 ":%" PRIu64, ts, u->cpu_ns,
                     mem_bytes);
    unsigned int i;

    for ( i = 0; i < RRDX_NR_COUNTERS; i++ )
    {
        uint64_t v;

        if ( !rrdx_is_rate(i) )
            continue;
        memcpy(&v, (const char *)u + rrdx_counters[i].off, sizeof(v));
        rrdx_val(buf, len, &n, true, v);
    }
    rrdx_val(buf, len, &n, weight, cap_pct);
    rrdx_val(buf, len, &n, weight, weight);
    rrdx_val(buf, len, &n, sched_stats, u->wait_ns);
    rrdx_val(buf, len, &n, sched_stats, u->throttled_ns);
    rrdx_val(buf, len, &n, sched_stats && peak_pct, peak_pct ? *peak_pct : 0);
    rrdx_val(buf, len, &n, sched_stats, u->capped_windows);
    rrdx_val(buf, len, &n, sched_stats, u->over_cap_windows);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Write one file's point: directly, or as a line of the batch.  0; 1 when
 * it cannot go into the batch (counted); -ENOMEM. */
static int rrdx_put(struct exp_rrd *r, const char *path, const char *vals)
{
    if ( r->daemon )
    {
        size_t n = strlen(path) + strlen(vals) + 9;

        if ( n >= RRDX_LINE_MAX )
        {
            r->st.update_errors++;
            rrdx__set_error(r, "%s: too long for rrdcached", path);
            return 1;
        }
        txt_puts(&r->batch, "UPDATE ");
        txt_puts(&r->batch, path);
        txt_putc(&r->batch, ' ');
        txt_puts(&r->batch, vals);
        txt_putc(&r->batch, '\n');
        return r->batch.oom ? -ENOMEM : 0;
    }
    rrd_clear_error();
    if ( rrd_updatex_r(path, NULL, RRD_SKIP_PAST_UPDATES, 1, &vals) )
    {
        r->st.update_errors++;
        rrdx__set_error(r, "update %s: %s", path, rrd_get_error());
        rrd_clear_error();
        return 0;
    }
    r->st.updates++;
    return 0;
}

int exp_rrd_update(struct exp_rrd *r, const struct acct_snapshot *c,
                   const struct exp_info *info)
{
    uint64_t t0 = rrdx_now_ns();
    char ts[32], vals[384], path[PATH_MAX];
    time_t first_s;
    uint32_t i, lines = 0;
    int rc = 0;

    if ( info->sample_unix_ns <= r->last_sample_ns )
        return 0;
    r->last_sample_ns = info->sample_unix_ns;
    /* Millisecond stamps: librrd and rrdcached both take fractions. */
    snprintf(ts, sizeof(ts), "%" PRIu64 ".%03u",
             info->sample_unix_ns / 1000000000u,
             (unsigned int)(info->sample_unix_ns / 1000000u % 1000u));
    first_s = (time_t)(info->sample_unix_ns / 1000000000u) - 1;
    r->create_spent_ns = 0;
    txt_buf_reset(&r->batch);

    /* Tenant memory: the sum over its present domains. */
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        struct rrdx_ent *e = rrdx_get(r, true, c->tenants[i].name);

        if ( !e )
            return -ENOMEM;
        e->mem_bytes = 0;
    }
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];
        struct rrdx_ent *e;

        if ( !d->present )
            continue;
        e = rrdx_lookup(r, true, d->tenant ? d->tenant : "-");
        if ( e )
            e->mem_bytes += d->mem_cur_bytes;
    }
    /* The unassigned tenant "-" has no cap or weight of its own: the
     * defaults it carries apply to each of its domains. */
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        const struct acct_tenant *t = &c->tenants[i];
        struct rrdx_ent *e = rrdx_lookup(r, true, t->name);

        if ( !e || rrdx__path(path, sizeof(path), r->io_dir, true, t->name) ||
             !rrdx_ready(r, e, path, first_s) ||
             rrdx_values(vals, sizeof(vals), ts, &t->total, e->mem_bytes,
                         strcmp(t->name, "-") ? t->weight : 0, t->cap_pct,
                         t->sched_stats, NULL) )
            continue;
        if ( (rc = rrdx_put(r, path, vals)) < 0 )
            return rc;
        lines += !rc;
    }
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];
        const char *name = d->name ? d->name : "";
        struct rrdx_ent *e;

        if ( !d->present || d->error )
            continue;
        e = rrdx_get(r, false, d->uuid);
        if ( !e )
            return -ENOMEM;
        if ( !e->name || strcmp(e->name, name) )
        {
            char *n = strdup(name);

            if ( !n )
                return -ENOMEM;
            free(e->name);
            e->name = n;
            r->index_dirty = true;
        }
        if ( rrdx__path(path, sizeof(path), r->io_dir, false, d->uuid) ||
             !rrdx_ready(r, e, path, first_s) ||
             rrdx_values(vals, sizeof(vals), ts, &d->total,
                         d->mem_cur_bytes, d->weight, d->cap_pct,
                         d->sched_stats, &d->peak_window_pct) )
            continue;
        if ( (rc = rrdx_put(r, path, vals)) < 0 )
            return rc;
        lines += !rc;
    }
    rc = 0;
    if ( rrdx_index_write(r) )
        rrdx__set_error(r, "%s/index: cannot write (%s)", r->dir,
                        "names for xenosctl graph are stale");

    if ( r->daemon && lines )
    {
        char err[256];

        if ( r->fd < 0 && (rc = rrdx__connect(r, err, sizeof(err))) )
        {
            rrdx__set_error(r, "%s", err);
            r->st.io_errors++;
        }
        else
        {
            rc = rrdx__batch(r);
            if ( rc < 0 )
            {
                /* A broken exchange: dial again next time. */
                rrdx__set_error(r, "rrdcached %s: %s", r->daemon,
                                strerror(-rc));
                rrdx__disconnect(r);
                r->st.io_errors++;
            }
            else
            {
                r->st.update_errors += (uint64_t)rc;
                r->st.updates += lines - (uint32_t)rc;
                rc = 0;
            }
        }
    }
    r->st.last_update_ns = rrdx_now_ns() - t0;
    return rc;
}

int exp_rrd_flush(struct exp_rrd *r)
{
    char err[256];
    int rc;

    if ( !r->daemon )
        return 0;
    if ( r->fd < 0 && (rc = rrdx__connect(r, err, sizeof(err))) )
        return rc;
    rc = rrdx__command(r, "FLUSHALL\n");
    if ( rc && rc != -EIO )
        rrdx__disconnect(r);
    return rc;
}

void exp_rrd_close(struct exp_rrd *r)
{
    uint32_t i;

    if ( !r )
        return;
    if ( r->dir && r->dir_fd >= 0 )
        rrdx_index_write(r);
    if ( r->dir_fd >= 0 )
        close(r->dir_fd);
    rrdx__disconnect(r);
    for ( i = 0; i < r->cap_ents; i++ )
    {
        free(r->ents[i].key);
        free(r->ents[i].name);
    }
    free(r->ents);
    txt_buf_free(&r->batch);
    free(r->dir);
    free(r->io_dir);
    free(r->daemon);
    free(r);
}

/* ------------------------------------------------------------------ */
/* As an exporter of xenosd (exp.h)                                    */

struct rrdx_x {
    struct exp_rrd *r;
    uint64_t refused;                   /* exp_rrd_stats.refused seen */
    bool refusing;                      /* it grew at the last interval */
};

/* Options: rrd.dir=DIR (STATE/rrd; "off": none), rrd.rrdcached=ADDR
 * (none: files written directly).  The step is the daemon's interval in
 * whole seconds; a sub-second interval still archives per second. */
static int rrdx_x_open(const struct exp_env *env, void **state, char *msg,
                       size_t msglen)
{
    const char *dir = NULL;
    char def[PATH_MAX];
    uint32_t step = env->interval_ms < 1500
                    ? 1 : (uint32_t)((env->interval_ms + 500) / 1000);
    struct rrdx_x *x;
    int rc = exp_opt_dir(env, "dir", "rrd", def, sizeof(def), &dir);

    if ( rc )
        return rc;
    x = calloc(1, sizeof(*x));
    if ( !x )
        return -ENOMEM;
    rc = exp_rrd_open(&x->r, dir, exp_opt(env, "rrdcached", NULL), step,
                      msg, msglen);
    if ( rc )
    {
        free(x);
        return rc;
    }
    msg[0] = '\0';
    *state = x;
    return 0;
}

/* A file refused (a link planted where an RRD belongs) is said when it
 * starts, not every interval it lasts. */
static int rrdx_x_update(void *state, const struct acct_snapshot *s,
                         const struct exp_info *info, char *msg,
                         size_t msglen)
{
    struct rrdx_x *x = state;
    struct exp_rrd_stats st;
    int rc = exp_rrd_update(x->r, s, info);

    exp_rrd_get_stats(x->r, &st);
    if ( st.refused > x->refused && !x->refusing )
        snprintf(msg, msglen, "%s", st.last_error);
    x->refusing = st.refused > x->refused;
    x->refused = st.refused;
    return rc;
}

static int rrdx_x_close(void *state, char *msg, size_t msglen)
{
    struct rrdx_x *x = state;

    (void)msg;
    (void)msglen;
    exp_rrd_close(x->r);
    free(x);
    return 0;
}

const struct exp_ops exp_ops_rrd = {
    .name = "rrd",
    .what = "rrd",
    .open = rrdx_x_open,
    .update = rrdx_x_update,
    .close = rrdx_x_close,
};
