/*
 * xentrace.c: an xentrace recording of a real Xen host turned into the
 * simulator's trace workload (xentrace.h says what and why).
 *
 * The file, as Xen 4.17's xentrace writes it: windows of one pCPU's trace
 * buffer, each opened by a TRC_TRACE_CPU_CHANGE record (no TSC, two words:
 * the pCPU, the window's length in bytes), then that many bytes of
 * records.  A record is a header word (event in bits 0-27, the number of
 * data words in bits 28-30, bit 31 set when a 64-bit TSC follows), the
 * TSC if any, the data words; all little-endian.  Xen pads the end of its
 * buffer with a TRC_TRACE_WRAP_BUFFER record of the same form, and says
 * TRC_LOST_RECORDS where its buffer overflowed.
 *
 * Design: one pass reads every record, checks its form and keeps the few
 * it needs (runstate changes, switch-outs, losses) with their TSC; they
 * are sorted by TSC (windows of several pCPUs interleave) and then walked
 * once to measure the TSC rate and once to follow the domain's vCPUs.  A
 * vCPU's cycle runs from a wake (blocked to runnable or running) through
 * its CPU time to its block (running to blocked) and on to the next wake;
 * a cycle that a loss, a pause (offline) or the recording's edges cut is
 * dropped, never guessed at.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xenos/xentrace.h>

/* Event numbers of xen/include/public/trace.h (Xen 4.17). */
#define XT_TRC_LOST_RECORDS     0x0001f001u
#define XT_TRC_CPU_CHANGE       0x0001f003u
#define XT_TRC_RUNSTATE_CHANGE  0x00021001u     /* | old << 8 | new << 4 */
#define XT_TRC_RUNSTATE_MASK    0x0ffffccfu     /* clears old and new */
#define XT_TRC_SWITCH_INFPREV   0x0002800eu     /* dom, unit, ns it ran */

/* Xen's runstates (public/vcpu.h) */
#define XT_RUNNING      0
#define XT_RUNNABLE     1
#define XT_BLOCKED      2
#define XT_OFFLINE      3

#define XT_FILE_MAX_BYTES       (1ull << 30)
#define XT_IDLE_DOMID           0x7fffu
/* Switch-outs shorter than this say little about the TSC rate: the two
 * clocks are read a few microseconds apart. */
#define XT_CAL_MIN_NS           10000u
#define XT_CAL_MIN_SAMPLES      10u
#define XT_VCPUS_MAX            4096u

enum xt_kind { XT_EV_RUNSTATE, XT_EV_INFPREV, XT_EV_LOST };

struct xt_ev {
    uint64_t tsc;
    uint64_t seq;               /* file order: ties keep it */
    uint32_t dom, vcpu, ns;
    uint8_t kind, from, to;
};

struct xt_evs {
    struct xt_ev *v;
    size_t n, cap;
};

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int ev_push(struct xt_evs *e, const struct xt_ev *ev)
{
    if ( e->n == e->cap )
    {
        size_t cap = e->cap ? e->cap * 2 : 4096;
        struct xt_ev *v = realloc(e->v, cap * sizeof(*v));

        if ( !v )
            return -ENOMEM;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = *ev;
    return 0;
}

static int ev_cmp(const void *a, const void *b)
{
    const struct xt_ev *x = a, *y = b;

    if ( x->tsc != y->tsc )
        return x->tsc < y->tsc ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int read_file(const char *path, unsigned char **buf, size_t *len,
                     char *err, size_t errlen)
{
    struct stat sb;
    FILE *f = fopen(path, "rb");
    int rc = 0;

    if ( !f )
    {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    if ( fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) ||
         (uint64_t)sb.st_size > XT_FILE_MAX_BYTES )
    {
        snprintf(err, errlen, "%s: must be a regular file of at most "
                 "%llu MiB", path, XT_FILE_MAX_BYTES >> 20);
        rc = -EINVAL;
        goto out;
    }
    *len = (size_t)sb.st_size;
    *buf = malloc(*len ? *len : 1);
    if ( !*buf )
    {
        rc = -ENOMEM;
        goto out;
    }
    if ( *len && fread(*buf, 1, *len, f) != *len )
    {
        snprintf(err, errlen, "%s: cannot read it whole", path);
        free(*buf);
        *buf = NULL;
        rc = -EIO;
    }
 out:
    fclose(f);
    return rc;
}

/*
 * Every record of @buf, checked; the ones we use go to @e.  A malformed
 * file is -EINVAL with "PATH: byte N: why" in @err.
 */
static int parse(const char *path, const unsigned char *buf, size_t len,
                 struct xt_evs *e, uint64_t *records, char *err,
                 size_t errlen)
{
    size_t off = 0, untimed;
    uint64_t seq = 0, win_tsc;

    if ( len == 0 )
    {
        snprintf(err, errlen, "%s: empty: no trace records", path);
        return -EINVAL;
    }
    while ( off < len )
    {
        uint32_t h, cpu, bytes;
        size_t end;

        if ( len - off < 12 )
        {
            snprintf(err, errlen, "%s: byte %zu: truncated "
                     "TRC_TRACE_CPU_CHANGE record (%zu bytes left)", path,
                     off, len - off);
            return -EINVAL;
        }
        h = le32(buf + off);
        if ( h != (XT_TRC_CPU_CHANGE | 2u << 28) )
        {
            snprintf(err, errlen, "%s: byte %zu: expected a "
                     "TRC_TRACE_CPU_CHANGE record (header 0x%08x), found "
                     "0x%08" PRIx32 ": not an xentrace file, or damaged",
                     path, off, XT_TRC_CPU_CHANGE | 2u << 28, h);
            return -EINVAL;
        }
        cpu = le32(buf + off + 4) & 0xffffu;
        bytes = le32(buf + off + 8);
        off += 12;
        if ( bytes > len - off )
        {
            snprintf(err, errlen, "%s: byte %zu: pCPU %" PRIu32 "'s window "
                     "of %" PRIu32 " bytes runs past the end of the file "
                     "(%zu bytes left)", path, off - 12, cpu, bytes,
                     len - off);
            return -EINVAL;
        }
        end = off + bytes;
        /* A loss without a TSC happened between the timed records around
         * it on this pCPU: it takes the one before it, or (first in the
         * window) the one after it, so that it cuts what was open then. */
        win_tsc = 0;
        untimed = SIZE_MAX;
        while ( off < end )
        {
            uint32_t ev, nx;
            size_t sz;
            struct xt_ev x = { .seq = seq++ };
            const unsigned char *d;

            if ( end - off < 4 )
            {
                snprintf(err, errlen, "%s: byte %zu: record cut by the end "
                         "of pCPU %" PRIu32 "'s window", path, off, cpu);
                return -EINVAL;
            }
            h = le32(buf + off);
            ev = h & 0x0fffffffu;
            nx = (h >> 28) & 7u;
            sz = 4 + (h >> 31 ? 8 : 0) + 4 * (size_t)nx;
            if ( sz > end - off )
            {
                snprintf(err, errlen, "%s: byte %zu: record 0x%08" PRIx32
                         " of %zu bytes cut by the end of pCPU %" PRIu32
                         "'s window", path, off, h, sz, cpu);
                return -EINVAL;
            }
            (*records)++;
            d = buf + off + 4 + (h >> 31 ? 8 : 0);
            if ( h >> 31 )
            {
                x.tsc = (uint64_t)le32(buf + off + 4) |
                        (uint64_t)le32(buf + off + 8) << 32;
                win_tsc = x.tsc;
                if ( untimed != SIZE_MAX )
                    e->v[untimed].tsc = x.tsc;
                untimed = SIZE_MAX;
            }
            if ( (ev & XT_TRC_RUNSTATE_MASK) == XT_TRC_RUNSTATE_CHANGE )
            {
                if ( !(h >> 31) || nx < 1 )
                {
                    snprintf(err, errlen, "%s: byte %zu: runstate change "
                             "without its TSC or its vCPU", path, off);
                    return -EINVAL;
                }
                x.kind = XT_EV_RUNSTATE;
                x.from = (ev >> 8) & 3u;
                x.to = (ev >> 4) & 3u;
                x.vcpu = le32(d) & 0xffffu;
                x.dom = le32(d) >> 16;
            }
            else if ( ev == XT_TRC_SWITCH_INFPREV && h >> 31 && nx >= 3 )
            {
                x.kind = XT_EV_INFPREV;
                x.dom = le32(d);
                x.vcpu = le32(d + 4);
                x.ns = le32(d + 8);
            }
            else if ( ev == XT_TRC_LOST_RECORDS )
            {
                x.kind = XT_EV_LOST;
                if ( !(h >> 31) )
                {
                    x.tsc = win_tsc;
                    if ( !win_tsc )
                        untimed = e->n;
                }
            }
            else
            {
                off += sz;
                continue;
            }
            if ( ev_push(e, &x) )
                return -ENOMEM;
            off += sz;
        }
    }
    return 0;
}

/*
 * The TSC rate from the recording: the cycles between each switch-in and
 * switch-out of a vCPU, against the ns Xen's INFPREV says it ran.
 */
static int tsc_rate(const struct xt_evs *e, uint64_t *khz)
{
    struct run_in {
        uint32_t dom, vcpu;
        uint64_t tsc;           /* 0: not known to be running */
    } *in = NULL;
    size_t nin = 0, cap = 0, i, j;
    double cyc = 0, ns = 0;
    unsigned int samples = 0;

    for ( i = 0; i < e->n; i++ )
    {
        const struct xt_ev *x = &e->v[i];

        if ( x->kind == XT_EV_LOST )
        {
            for ( j = 0; j < nin; j++ )
                in[j].tsc = 0;
            continue;
        }
        for ( j = 0; j < nin; j++ )
            if ( in[j].dom == x->dom && in[j].vcpu == x->vcpu )
                break;
        if ( j == nin )
        {
            if ( nin == cap )
            {
                struct run_in *n;

                cap = cap ? cap * 2 : 64;
                n = realloc(in, cap * sizeof(*n));
                if ( !n )
                {
                    free(in);
                    return -ENOMEM;
                }
                in = n;
            }
            in[nin++] = (struct run_in){ x->dom, x->vcpu, 0 };
        }
        if ( x->kind == XT_EV_RUNSTATE )
            in[j].tsc = x->to == XT_RUNNING ? x->tsc : 0;
        else if ( in[j].tsc && x->tsc > in[j].tsc &&
                  x->ns >= XT_CAL_MIN_NS )
        {
            cyc += (double)(x->tsc - in[j].tsc);
            ns += x->ns;
            samples++;
        }
    }
    free(in);
    if ( samples < XT_CAL_MIN_SAMPLES || ns <= 0 )
        return -ENOENT;
    *khz = (uint64_t)llround(cyc / ns * 1e6);
    return *khz ? 0 : -ENOENT;
}

/* A vCPU being followed. */
struct xt_follow {
    bool seen;
    bool woke;                  /* in a cycle that began with a wake seen */
    uint64_t wake, first_run, run_since, blocked;  /* TSC; 0: none */
    uint64_t cpu;               /* cycles run since the wake */
    bool pending;               /* a block seen: its pair waits for a wake */
    uint64_t pend_run, pend_wake;
};

static sch_time_t to_ns(uint64_t cyc, uint64_t khz)
{
    return (sch_time_t)llround((double)cyc * 1e6 / (double)khz);
}

static int grow(sch_time_t **v, size_t *cap, size_t need)
{
    sch_time_t *n;
    size_t c = *cap ? *cap : 256;

    if ( need <= *cap )
        return 0;
    while ( c < need )
        c *= 2;
    n = realloc(*v, c * sizeof(*n));
    if ( !n )
        return -ENOMEM;
    *v = n;
    *cap = c;
    return 0;
}

static int push1(sch_time_t **v, size_t *n, size_t *cap, sch_time_t x)
{
    if ( grow(v, cap, *n + 1) )
        return -ENOMEM;
    (*v)[(*n)++] = x;
    return 0;
}

/* Forget what a loss or a pause may have cut. */
static void unsync(struct xt_follow *f)
{
    f->woke = f->pending = false;
    f->wake = f->first_run = f->run_since = f->blocked = 0;
    f->cpu = 0;
}

static int follow_one(struct xt_follow *f, struct xt_vcpu *v,
                      const struct xt_ev *x, uint64_t khz)
{
    uint64_t t = x->tsc;

    f->seen = true;
    if ( x->from == XT_RUNNING && f->run_since )
    {
        f->cpu += t - f->run_since;
        f->run_since = 0;
    }
    if ( x->from == XT_OFFLINE || x->to == XT_OFFLINE )
    {
        unsync(f);
        return 0;
    }
    if ( x->from == XT_BLOCKED )
    {
        /* a wake: the pair of the block before it is whole */
        if ( f->pending )
        {
            sch_time_t run = to_ns(f->pend_run, khz);

            if ( grow(&v->pairs, &v->cap_pairs, 2 * v->nr_pairs + 2) )
                return -ENOMEM;
            /* a burst of no CPU would be no burst (scenario_workload.c) */
            v->pairs[2 * v->nr_pairs] = run > 0 ? run : 1;
            v->pairs[2 * v->nr_pairs + 1] = to_ns(t - f->blocked, khz);
            v->nr_pairs++;
            v->run_ns += run;
            v->span_ns += to_ns(t - f->pend_wake, khz);
            f->pending = false;
        }
        f->woke = true;
        f->wake = t;
        f->first_run = 0;
        f->cpu = 0;
    }
    if ( x->to == XT_RUNNING )
    {
        f->run_since = t;
        if ( f->woke && !f->first_run )
        {
            f->first_run = t;
            if ( f->blocked &&
                 push1(&v->sleeps, &v->nr_sleeps, &v->cap_sleeps,
                       to_ns(t - f->blocked, khz)) )
                return -ENOMEM;
        }
    }
    if ( x->to == XT_BLOCKED )
    {
        f->blocked = 0;
        if ( f->woke && f->first_run && x->from == XT_RUNNING )
        {
            if ( push1(&v->bursts, &v->nr_bursts, &v->cap_bursts,
                       to_ns(t - f->first_run, khz)) )
                return -ENOMEM;
            f->pending = true;
            f->pend_run = f->cpu;
            f->pend_wake = f->wake;
            f->blocked = t;
        }
        f->woke = false;
    }
    return 0;
}

static int follow(const struct xt_evs *e, struct xt_recording *rec)
{
    struct xt_follow *f = NULL;
    unsigned int n = 0, i, k;
    size_t j;
    int rc = 0;

    for ( j = 0; j < e->n; j++ )
        if ( e->v[j].kind == XT_EV_RUNSTATE && e->v[j].dom == rec->domid &&
             e->v[j].vcpu + 1 > n )
            n = e->v[j].vcpu + 1;
    if ( n == 0 )
        return -ENOENT;
    if ( n > XT_VCPUS_MAX )
        return -E2BIG;
    f = calloc(n, sizeof(*f));
    rec->vcpus = calloc(n, sizeof(*rec->vcpus));
    if ( !f || !rec->vcpus )
    {
        free(f);
        return -ENOMEM;
    }
    rec->nr_vcpus = n;
    for ( i = 0; i < n; i++ )
        rec->vcpus[i].vcpu = i;
    for ( j = 0; j < e->n && !rc; j++ )
    {
        const struct xt_ev *x = &e->v[j];

        if ( x->kind == XT_EV_LOST )
        {
            rec->lost++;
            for ( i = 0; i < n; i++ )
                unsync(&f[i]);
        }
        else if ( x->kind == XT_EV_RUNSTATE && x->dom == rec->domid )
            rc = follow_one(&f[x->vcpu], &rec->vcpus[x->vcpu], x,
                            rec->tsc_khz);
    }
    /* keep the vCPUs with a whole cycle, in vCPU order */
    for ( i = k = 0; i < n; i++ )
    {
        if ( rec->vcpus[i].nr_pairs )
            rec->vcpus[k++] = rec->vcpus[i];
        else
        {
            free(rec->vcpus[i].pairs);
            free(rec->vcpus[i].bursts);
            free(rec->vcpus[i].sleeps);
        }
    }
    rec->nr_vcpus = k;
    free(f);
    return rc;
}

int xt_load(const char *path, uint32_t domid, uint64_t tsc_khz,
            struct xt_recording *out, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    struct xt_evs e = { 0 };
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->domid = domid;
    rc = read_file(path, &buf, &len, err, errlen);
    if ( rc )
        return rc;
    rc = parse(path, buf, len, &e, &out->records, err, errlen);
    free(buf);
    if ( rc )
        goto out;
    qsort(e.v, e.n, sizeof(*e.v), ev_cmp);
    out->tsc_khz = tsc_khz;
    if ( !tsc_khz )
    {
        rc = tsc_rate(&e, &out->tsc_khz);
        if ( rc == -ENOENT )
            snprintf(err, errlen, "%s: too few TRC_SCHED_SWITCH_INFPREV "
                     "records (switch-outs of %u us or more after a "
                     "switch-in) to measure the TSC rate from: record "
                     "with -e 0x0002f000, or state the rate", path,
                     XT_CAL_MIN_NS / 1000);
        if ( rc )
            goto out;
        out->tsc_from_recording = 1;
    }
    rc = follow(&e, out);
    if ( rc == -ENOENT )
        snprintf(err, errlen, "%s: domain %" PRIu32 " has no runstate "
                 "change in the recording", path, domid);
    else if ( rc == -E2BIG )
        snprintf(err, errlen, "%s: domain %" PRIu32 " has a vCPU id of "
                 "%u or more", path, domid, XT_VCPUS_MAX);
    else if ( !rc && !out->nr_vcpus )
    {
        snprintf(err, errlen, "%s: no vCPU of domain %" PRIu32 " woke, "
                 "ran, blocked and woke again in the recording: nothing "
                 "to replay", path, domid);
        rc = -ENOENT;
    }
 out:
    free(e.v);
    if ( rc )
        xt_free(out);
    return rc;
}

void xt_free(struct xt_recording *rec)
{
    unsigned int i;

    for ( i = 0; rec->vcpus && i < rec->nr_vcpus; i++ )
    {
        free(rec->vcpus[i].pairs);
        free(rec->vcpus[i].bursts);
        free(rec->vcpus[i].sleeps);
    }
    free(rec->vcpus);
    rec->vcpus = NULL;
    rec->nr_vcpus = 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                             */

static int t_cmp(const void *a, const void *b)
{
    sch_time_t x = *(const sch_time_t *)a, y = *(const sch_time_t *)b;

    return x < y ? -1 : x > y;
}

void xt_spread(sch_time_t *v, size_t n, struct sim_spread *out)
{
    sch_time_t sum = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if ( !n )
        return;
    qsort(v, n, sizeof(*v), t_cmp);
    for ( i = 0; i < n; i++ )
        sum += v[i];
    out->count = n;
    out->mean = sum / (sch_time_t)n;
    /* nearest rank: the ceil(q n)-th smallest */
    out->p50 = v[(n + 1) / 2 - 1];
    out->p90 = v[(9 * n + 9) / 10 - 1];
    out->max = v[n - 1];
}

static void csv_us(FILE *f, sch_time_t ns)
{
    fprintf(f, "%" PRId64 ".%03" PRId64, ns / 1000, ns % 1000);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if ( p )
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* DIR/NAME opened for writing, its name in *@path (free it); NULL with
 * *@rc and @err set when it cannot be. */
static FILE *open_out(const char *dir, const char *name, char **path,
                      int *rc, char *err, size_t errlen)
{
    FILE *f;

    *path = join(dir, name);
    if ( !*path )
    {
        *rc = -ENOMEM;
        return NULL;
    }
    f = fopen(*path, "w");
    if ( !f )
    {
        *rc = -errno;
        snprintf(err, errlen, "%s: %s", *path, strerror(-*rc));
        free(*path);
        *path = NULL;
    }
    return f;
}

static int write_close(FILE *f, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);

    if ( fclose(f) || bad )
    {
        snprintf(err, errlen, "%s: cannot write it", path);
        return -EIO;
    }
    return 0;
}

int xt_write_scenario(const struct xt_recording *rec, const char *dir,
                      char *err, size_t errlen)
{
    char name[48];
    char *path;
    sch_time_t span = 0;
    unsigned int i;
    size_t k;
    FILE *f;
    int rc;

    if ( mkdir(dir, 0777) && errno != EEXIST )
    {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
        return rc;
    }
    for ( i = 0; i < rec->nr_vcpus; i++ )
    {
        const struct xt_vcpu *v = &rec->vcpus[i];

        if ( v->span_ns > span )
            span = v->span_ns;
        snprintf(name, sizeof(name), "d%" PRIu32 "v%u.csv", rec->domid,
                 v->vcpu);
        f = open_out(dir, name, &path, &rc, err, errlen);
        if ( !f )
            return rc;
        fprintf(f, "# domain %" PRIu32 " vCPU %u: CPU time from each "
                "wake to its block, then the time blocked\nrun_us,"
                "block_us\n", rec->domid, v->vcpu);
        for ( k = 0; k < v->nr_pairs; k++ )
        {
            csv_us(f, v->pairs[2 * k]);
            fputc(',', f);
            csv_us(f, v->pairs[2 * k + 1]);
            fputc('\n', f);
        }
        rc = write_close(f, path, err, errlen);
        free(path);
        if ( rc )
            return rc;
    }
    f = open_out(dir, "scenario.yaml", &path, &rc, err, errlen);
    if ( !f )
        return rc;
    fprintf(f, "# Domain %" PRIu32 " of an xentrace recording (TSC at "
            "%" PRIu64 " kHz, %s), each vCPU\n# alone on a pCPU: "
            "xenos-sim scenario.yaml --policy P\n", rec->domid,
            rec->tsc_khz, rec->tsc_from_recording ? "measured from the "
            "recording" : "as stated");
    fprintf(f, "pcpus: %u\nduration_ms: %" PRId64 "\ndomains:\n",
            rec->nr_vcpus, span / 1000000 > 0 ? (span + 500000) / 1000000
                                              : 1);
    for ( i = 0; i < rec->nr_vcpus; i++ )
        fprintf(f, "  - name: d%" PRIu32 "v%u\n    affinity: [%u]\n"
                "    workload: {type: trace, file: d%" PRIu32 "v%u.csv}\n",
                rec->domid, rec->vcpus[i].vcpu, i, rec->domid,
                rec->vcpus[i].vcpu);
    rc = write_close(f, path, err, errlen);
    free(path);
    return rc;
}

static void json_spread(FILE *f, const char *key, sch_time_t *v, size_t n)
{
    struct sim_spread s;

    xt_spread(v, n, &s);
    fprintf(f, ",\"%s\":{\"count\":%" PRIu64 ",\"mean\":%" PRId64
            ",\"p50\":%" PRId64 ",\"p90\":%" PRId64 ",\"max\":%" PRId64 "}",
            key, s.count, s.mean, s.p50, s.p90, s.max);
}

int xt_report_json(FILE *f, const struct xt_recording *rec)
{
    unsigned int i;

    fprintf(f, "{\"domain\":%" PRIu32 ",\"tsc_khz\":%" PRIu64
            ",\"tsc_from\":\"%s\",\"records\":%" PRIu64 ",\"lost_records\":%"
            PRIu64 ",\"vcpus\":[", rec->domid, rec->tsc_khz,
            rec->tsc_from_recording ? "recording" : "stated", rec->records,
            rec->lost);
    for ( i = 0; i < rec->nr_vcpus; i++ )
    {
        struct xt_vcpu *v = &rec->vcpus[i];

        fprintf(f, "%s{\"name\":\"d%" PRIu32 "v%u\",\"vcpu\":%u,\"cycles\":"
                "%zu,\"span_ns\":%" PRId64 ",\"run_ns\":%" PRId64
                ",\"busy\":%.6f", i ? "," : "", rec->domid, v->vcpu, v->vcpu,
                v->nr_pairs, v->span_ns, v->run_ns,
                v->span_ns ? (double)v->run_ns / (double)v->span_ns : 0.0);
        json_spread(f, "bursts_ns", v->bursts, v->nr_bursts);
        json_spread(f, "sleeps_ns", v->sleeps, v->nr_sleeps);
        fputc('}', f);
    }
    fputs("]}\n", f);
    return ferror(f) ? -EIO : 0;
}
