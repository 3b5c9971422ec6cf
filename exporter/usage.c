/*
 * usage.c: the usage ledger (exp_usage.h): UsageRecords for billing, each
 * counted once, in files a torn write cannot spoil.
 *
 * Design.  A record is the collector's totals for a domain at an interval's
 * close minus its totals at the domain's previous record (its "base").
 * Every counter of a delta is clamped at zero and the base becomes the
 * larger of the two, so base(after) = base(before) + delta exactly: the
 * state can be rebuilt from the records alone, which is what recovery
 * does.  Closing an interval encodes its records into a pending buffer
 * (one chunk per destination file) and advances the in-memory state; the
 * chunk is then written with one write and one fsync.  Only when nothing is
 * pending is the state saved (temporary file, fsync, rename, fsync of the
 * directory), so the state on disk never claims a record that is not on
 * disk.  The other way round (records on disk, state older) is repaired on
 * open by applying the records beyond the state.  A failed write or fsync
 * truncates the file back to its last good size and keeps the chunk, which
 * the next update writes again with the same sequence numbers.
 *
 * File format (docs/usage-format.md): "XENOSUL\n", u32 LE version 1, then
 * frames: u32 LE payload length, payload, u32 LE CRC-32C of length and
 * payload.  The first frame is a UsageFileHeader, the others UsageRecords.
 *
 * Files: the directory is opened once (fio_dir_open: ours, not writable by
 * others, not a symbolic link) and locked (flock on it, so a second writer,
 * such as a second xenosd, is refused rather than interleave records);
 * every file is reached relative to it, never through a symbolic link,
 * and the state's temporary is created afresh (fio_replace_at).
 *
 * Locking: none in memory; one writer per directory from one thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenos/crc32c.h>
#include <xenos/fileio.h>
#include <xenos/exp_usage.h>
#include <xenos/strmap.h>

#include "usage_impl.h"

/* A record being made: its domain and entry. */
struct usage_pair {
    struct usage_ent *e;
    const struct acct_dom *d;
};

/* Records of closed intervals bound for one file, not yet on disk. */
struct usage_chunk {
    uint64_t period_ns;                 /* the file's start */
    uint64_t nr_records;
    struct txt_buf buf;
};

/* The whole of @name in the ledger directory into *@buf (malloc'd), its
 * size to *@len: never through a symbolic link (fio_slurp_at). */
int usage__slurp_at(struct exp_usage *w, const char *name, uint8_t **buf,
                    size_t *len)
{
    char *p;
    int rc = fio_slurp_at(w->dir_fd, name, &p, len);

    *buf = (uint8_t *)p;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The writer's table of domains                                       */

static const char *ent_key(const void *tab, uint32_t i)
{
    return ((const struct usage_ent *)tab)[i].uuid;
}

static struct usage_ent *ent_find(const struct exp_usage *w, const char *uuid)
{
    long i = strmap_find(&w->idx, uuid, ent_key, w->tab);

    return i < 0 ? NULL : &w->tab[i];
}

/* The entry for @uuid, added (base zero) if new; NULL on ENOMEM.  Adding
 * may move the entries. */
struct usage_ent *usage__ent_get(struct exp_usage *w, const char *uuid)
{
    struct usage_ent *e = ent_find(w, uuid);

    if ( e )
        return e;
    if ( w->tab_n == w->tab_cap )
    {
        uint32_t cap = w->tab_cap ? w->tab_cap * 2 : 64;

        e = realloc(w->tab, cap * sizeof(*e));
        if ( !e )
            return NULL;
        w->tab = e;
        w->tab_cap = cap;
    }
    e = &w->tab[w->tab_n];
    memset(e, 0, sizeof(*e));
    snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
    if ( strmap_add(&w->idx, w->tab_n, ent_key, w->tab) )
        return NULL;
    w->tab_n++;
    return e;
}

/*
 * The entry of collector domain @i (@uuid).  Entries are added in the
 * collector's order, which is stable, so it is usually entry @i: one
 * compare, and a walk in memory order rather than hash order (the hash
 * probes' cache misses were a quarter of the ledger's CPU at 10,000
 * domains).  @add: create it if new.  NULL: none (or ENOMEM when @add).
 */
static struct usage_ent *ent_of_dom(struct exp_usage *w, uint32_t i,
                                    const char *uuid, bool add)
{
    if ( i < w->tab_n && !strcmp(w->tab[i].uuid, uuid) )
        return &w->tab[i];
    return add ? usage__ent_get(w, uuid) : ent_find(w, uuid);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static void file_name(char *out, size_t len, uint64_t period_ns)
{
    time_t t = (time_t)(period_ns / USAGE_NS_PER_S);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, "usage-%Y%m%dT%H%M%SZ.xul", &tm);
}

bool usage__is_ledger_name(const char *n)
{
    size_t l = strlen(n);

    return l == strlen("usage-20261125T080000Z.xul") &&
           !strncmp(n, "usage-", 6) && !strcmp(n + l - 4, ".xul");
}


static void file_close(struct exp_usage *w)
{
    if ( w->fd >= 0 )
        close(w->fd);
    w->fd = -1;
}

/*
 * Make w->fd the file for @period_ns, at its good size.  A new file gets
 * its preamble and header into @hdr (written with the first records).
 */
static int file_open(struct exp_usage *w, uint64_t period_ns,
                     struct txt_buf *hdr)
{
    Xenos__UsageFileHeader h = XENOS__USAGE_FILE_HEADER__INIT;
    char name[USAGE_NAME_LEN];
    struct stat sb;
    int rc;

    hdr->len = 0;
    if ( w->fd < 0 || w->fd_period_ns != period_ns )
    {
        file_close(w);
        file_name(name, sizeof(name), period_ns);
        /* A symbolic link, FIFO or hard link planted at the name is
         * refused (the update fails, and says so), never written through. */
        w->fd = fio_openat(w->dir_fd, name, O_WRONLY | O_CREAT, 0640);
        if ( w->fd < 0 )
        {
            rc = w->fd;
            w->fd = -1;
            return rc;
        }
        if ( fstat(w->fd, &sb) )
        {
            rc = -errno;
            file_close(w);
            return rc;
        }
        w->fd_period_ns = period_ns;
        w->fd_good = (uint64_t)sb.st_size;
    }
    else if ( fstat(w->fd, &sb) )
        return -errno;
    /* A failed write whose truncation failed too: finish that first. */
    if ( (uint64_t)sb.st_size != w->fd_good &&
         ftruncate(w->fd, (off_t)w->fd_good) )
        return -errno;
    if ( lseek(w->fd, (off_t)w->fd_good, SEEK_SET) < 0 )
        return -errno;
    if ( w->fd_good )
        return 0;
    rc = usage_put_preamble(hdr, USAGE_MAGIC);
    if ( rc )
        return rc;
    h.version = USAGE_VERSION;
    h.host = w->host;
    h.created_unix_ns = (uint64_t)time(NULL) * USAGE_NS_PER_S;
    h.interval_s = (uint32_t)(w->interval_ns / USAGE_NS_PER_S);
    h.rotate_s = (uint32_t)(w->rotate_ns / USAGE_NS_PER_S);
    h.period_start_unix_ns = period_ns;
    return usage_put_frame(hdr, &h.base);
}

/* Write and fsync one pending chunk; on failure leave the file as it was
 * at its last fsync. */
static int chunk_write(struct exp_usage *w, const struct usage_chunk *ch)
{
    struct txt_buf hdr = { 0 };
    bool created;
    int rc;

    rc = file_open(w, ch->period_ns, &hdr);
    if ( rc )
        goto out;
    created = hdr.len != 0;
    rc = fio_write_all(w->fd, hdr.p, hdr.len);
    if ( !rc )
        rc = fio_write_all(w->fd, ch->buf.p, ch->buf.len);
    if ( !rc && fsync(w->fd) )
        rc = -errno;
    if ( !rc && created )
        rc = fio_fsync_fd(w->dir_fd);
    if ( rc )
    {
        /*
         * Take back whatever part reached the file.  After a failed fsync
         * the page cache may say the pages are clean when they are not on
         * disk, so the chunk is written again in full, never fsynced
         * again.  If even this fails, file_open retries it first.
         */
        if ( w->fd >= 0 && ftruncate(w->fd, (off_t)w->fd_good) == 0 &&
             !w->fd_good )
        {
            char name[USAGE_NAME_LEN];

            file_name(name, sizeof(name), ch->period_ns);
            unlinkat(w->dir_fd, name, 0);
            file_close(w);
        }
        goto out;
    }
    w->fd_good += hdr.len + ch->buf.len;
    file_name(w->file, sizeof(w->file), ch->period_ns);
 out:
    free(hdr.p);
    return rc;
}

int exp_usage_open(struct exp_usage **out, const char *dir, const char *host,
                   uint32_t interval_s, uint32_t rotate_s, char *err,
                   size_t errlen)
{
    struct exp_usage *w;
    int rc, st_rc;

    *out = NULL;
    if ( errlen )
        err[0] = '\0';
    interval_s = interval_s ? interval_s : EXP_USAGE_INTERVAL_S_DEFAULT;
    rotate_s = rotate_s ? rotate_s : EXP_USAGE_ROTATE_S_DEFAULT;
    if ( rotate_s % interval_s )
    {
        snprintf(err, errlen, "usage ledger: rotation (%" PRIu32 " s) is "
                 "not a multiple of the interval (%" PRIu32 " s)", rotate_s,
                 interval_s);
        return -EINVAL;
    }
    w = calloc(1, sizeof(*w));
    if ( !w )
        return -ENOMEM;
    w->fd = -1;
    w->dir_fd = -1;
    w->dir = strdup(dir);
    w->host = strdup(host ? host : "");
    if ( !w->dir || !w->host )
    {
        rc = -ENOMEM;
        goto out_free;
    }
    rc = fio_dir_open(dir, true, err, errlen);
    if ( rc < 0 )
        goto out_free;
    w->dir_fd = rc;
    /* One writer: records of two would interleave and repeat sequence
     * numbers.  The lock goes with the process, even on kill -9. */
    if ( flock(w->dir_fd, LOCK_EX | LOCK_NB) )
    {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        snprintf(err, errlen, "%s: %s", dir, rc == -EBUSY
                 ? "another process is writing this ledger (its directory "
                   "is locked): refusing to write it too"
                 : strerror(-rc));
        goto out_free;
    }
    w->interval_ns = (uint64_t)interval_s * USAGE_NS_PER_S;
    w->rotate_ns = (uint64_t)rotate_s * USAGE_NS_PER_S;
    w->next_seq = 1;
    w->state_every = 1;

    st_rc = usage__state_load(w);
    if ( st_rc == -EBADMSG )
    {
        /* Keep the evidence; continue from the files alone. */
        free(w->tab);
        strmap_free(&w->idx);
        w->tab = NULL;
        w->tab_cap = w->tab_n = 0;
        w->next_seq = 1;
        w->open_start_ns = 0;
        w->bases_valid = false;
        w->file[0] = '\0';
        renameat(w->dir_fd, EXP_USAGE_STATE_FILE, w->dir_fd,
                 EXP_USAGE_STATE_FILE ".corrupt");
        snprintf(err, errlen, "%s/%s: damaged, moved aside; usage since "
                 "the last record is not billed", dir, EXP_USAGE_STATE_FILE);
    }
    else if ( st_rc && st_rc != -ENOENT )
    {
        rc = st_rc;
        snprintf(err, errlen, "%s/%s: %s", dir, EXP_USAGE_STATE_FILE,
                 fio_strerror(rc));
        goto out_free;
    }
    rc = usage__recover_files(w, err, errlen);
    if ( rc )
    {
        size_t l = strlen(err);

        snprintf(err + l, errlen - l, "%s%s: recovery: %s", l ? "; " : "",
                 dir, fio_strerror(rc));
        goto out_free;
    }
    w->st.records = 0;
    /* Whatever recovery advanced is now on disk: say so in the state. */
    if ( st_rc != -ENOENT || w->next_seq > 1 )
        usage__state_save(w);
    w->st.next_seq = w->next_seq;
    *out = w;
    return st_rc == -EBADMSG ? -EBADMSG : 0;

 out_free:
    exp_usage_close(w);
    return rc;
}

int exp_usage_rebase(struct exp_usage *w)
{
    struct usage_ent *copy = NULL;
    bool valid = w->bases_valid;
    uint32_t i;
    int rc;

    if ( w->tab_n )
    {
        copy = malloc(w->tab_n * sizeof(*copy));
        if ( !copy )
            return -ENOMEM;
        memcpy(copy, w->tab, w->tab_n * sizeof(*copy));
    }
    for ( i = 0; i < w->tab_n; i++ )
        memset(&w->tab[i].base, 0, sizeof(w->tab[i].base));
    w->bases_valid = true;
    rc = usage__state_save(w);
    if ( rc && copy )
        memcpy(w->tab, copy, w->tab_n * sizeof(*copy));
    if ( rc )
        w->bases_valid = valid;
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Updating                                                            */

static struct usage_chunk *chunk_for(struct exp_usage *w, uint64_t period)
{
    struct usage_chunk *ch;

    if ( w->nr_pend && w->pend[w->nr_pend - 1].period_ns == period )
        return &w->pend[w->nr_pend - 1];
    if ( w->nr_pend == w->cap_pend )
    {
        uint32_t cap = w->cap_pend ? w->cap_pend * 2 : 4;

        ch = realloc(w->pend, cap * sizeof(*ch));
        if ( !ch )
            return NULL;
        w->pend = ch;
        w->cap_pend = cap;
    }
    ch = &w->pend[w->nr_pend++];
    memset(ch, 0, sizeof(*ch));
    ch->period_ns = period;
    return ch;
}

/* The span of @e's record for [@start, @end): what this process observed
 * of it there; empty (at @start) when it observed none of it. */
static void span_of(const struct usage_ent *e, uint64_t start, uint64_t end,
                    uint64_t *a, uint64_t *b)
{
    *a = *b = start;
    if ( !e->span_b )
        return;
    *b = e->span_b < end ? e->span_b : end;
    *a = e->span_a > start ? e->span_a : start;
    if ( *a > *b )
        *a = *b;
}

/*
 * Fill @r for domain @d (entry @e): its usage up to the totals @upto, in
 * the open interval ending at @end_ns; no sequence number.  False: it has
 * nothing to say (no usage, and no sample saw it).
 */
static bool rec_fill(const struct exp_usage *w, Xenos__UsageRecord *r,
                     const struct acct_dom *d, const struct usage_ent *e,
                     const char *tenant, const struct acct_usage *upto,
                     uint64_t end_ns)
{
    bool grew = false;

#define X(f) r->f = upto->f > e->base.f ? upto->f - e->base.f : 0;       \
    grew |= r->f != 0;
    USAGE_WRITER_FIELDS(X)
#undef X
    if ( !grew && !e->seen )
        return false;
    r->host = w->host;
    if ( tenant )
    {
        r->tenant.data = (uint8_t *)tenant;
        r->tenant.len = strlen(tenant);
    }
    r->uuid = (char *)d->uuid;
    if ( d->name )
    {
        r->name.data = (uint8_t *)d->name;
        r->name.len = strlen(d->name);
    }
    r->start_unix_ns = w->open_start_ns;
    r->end_unix_ns = end_ns;
    span_of(e, r->start_unix_ns, end_ns, &r->span_start_unix_ns,
            &r->span_end_unix_ns);
    r->vcpus = e->vcpus_max;
    r->mem_max_bytes = e->mem_peak_bytes;
    r->weight = d->weight;
    r->cap_pct = d->cap_pct;
    r->sched_stats = d->sched_stats;
    r->peak_window_pct = e->peak_window_pct;
    return true;
}

/* A bound on @r's packed size (usage_put_record_frame's). */
static size_t rec_bound(const Xenos__UsageRecord *r)
{
    return USAGE_RECORD_FIXED_MAX + strlen(r->host) + r->tenant.len +
           ACCT_UUID_LEN + r->name.len;
}

/* Forget @ch, the last pending chunk, if nothing went into it. */
static void chunk_drop_if_empty(struct exp_usage *w, struct usage_chunk *ch)
{
    if ( ch->buf.len || ch->nr_records )
        return;
    free(ch->buf.p);
    w->nr_pend--;
}

static bool same_tenant(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/*
 * Domain @d (entry @e) is back after a sample without it (migrated away
 * and back, say) in the open interval, where a sample saw it before, or
 * its tenant changed since the sample before: what was observed of it
 * until then becomes a record of its own, under the tenant it had then,
 * so that no span covers the time it was away and each tenant is billed
 * what the collector counted for it.  Its totals then were its totals now
 * less this sample's delta (which holds its new life, or its new
 * tenant's).  0 or -ENOMEM.
 */
static int split_rec(struct exp_usage *w, const struct acct_dom *d,
                     struct usage_ent *e)
{
    uint64_t period = w->open_start_ns / w->rotate_ns * w->rotate_ns;
    struct usage_chunk *ch = chunk_for(w, period);
    Xenos__UsageRecord r = XENOS__USAGE_RECORD__INIT;
    struct acct_usage upto = d->total;
    int rc = 0;

    if ( !ch )
        return -ENOMEM;
#define X(f) upto.f = d->total.f - d->delta.f;
    USAGE_WRITER_FIELDS(X)
#undef X
    if ( rec_fill(w, &r, d, e, e->tenant_known ? e->tenant : d->tenant,
                  &upto, w->open_start_ns + w->interval_ns) )
    {
        r.seq = w->next_seq;
        rc = usage_put_record_frame(&ch->buf, &r, rec_bound(&r));
        if ( !rc )
        {
#define X(f) if ( upto.f > e->base.f ) e->base.f = upto.f;
            USAGE_WRITER_FIELDS(X)
#undef X
            ch->nr_records++;
            w->next_seq++;
            w->st.pending++;
        }
    }
    chunk_drop_if_empty(w, ch);
    if ( rc )
        return rc;
    e->seen = false;
    e->vcpus_max = 0;
    e->mem_peak_bytes = 0;
    e->span_a = e->span_b = 0;
    return 0;
}

/*
 * Close the open interval at @end_ns: one record per domain seen in it or
 * whose totals grew, into the pending chunk of its file.  @t_ns is the
 * sample closing it.  @stopping: the daemon stops after this sample, which
 * is before @end_ns: the records are partial (their span ends at @t_ns)
 * and the interval stays open for a later run.  All or nothing: on ENOMEM
 * nothing changed.
 */
static int interval_close(struct exp_usage *w, const struct acct_snapshot *c,
                          uint64_t end_ns, uint64_t t_ns, bool stopping)
{
    uint64_t period = w->open_start_ns / w->rotate_ns * w->rotate_ns;
    struct usage_chunk *ch = chunk_for(w, period);
    uint64_t seq = w->next_seq, nrec = 0;
    size_t old_len;
    uint32_t i;
    int rc = 0;

    if ( !ch )
        return -ENOMEM;
    if ( c->nr_doms > w->scratch_cap )
    {
        struct usage_pair *sc = realloc(w->scratch,
                                        c->nr_doms * sizeof(*sc));

        if ( !sc )
            rc = -ENOMEM;
        else
        {
            w->scratch = sc;
            w->scratch_cap = c->nr_doms;
        }
    }
    old_len = ch->buf.len;
    /* Encode first, advance the bases only when all are encoded. */
    for ( i = 0; i < c->nr_doms && !rc; i++ )
    {
        const struct acct_dom *d = &c->doms[i];
        const struct usage_ent *e = ent_of_dom(w, i, d->uuid, false);
        Xenos__UsageRecord r = XENOS__USAGE_RECORD__INIT;

        if ( !e || !rec_fill(w, &r, d, e, d->tenant, &d->total, end_ns) )
            continue;
        r.seq = seq + nrec;
        rc = usage_put_record_frame(&ch->buf, &r, rec_bound(&r));
        w->scratch[nrec].e = (struct usage_ent *)e;
        w->scratch[nrec++].d = d;
    }
    if ( rc )
    {
        ch->buf.len = old_len;
        chunk_drop_if_empty(w, ch);
        return rc;
    }
    /* Each domain with a record moves its base up; the others had no
     * growth, so theirs stays. */
    for ( i = 0; i < nrec; i++ )
    {
        struct usage_ent *e = w->scratch[i].e;
        const struct acct_dom *d = w->scratch[i].d;

#define X(f) if ( d->total.f > e->base.f ) e->base.f = d->total.f;
        USAGE_WRITER_FIELDS(X)
#undef X
    }
    for ( i = 0; i < w->tab_n; i++ )
    {
        struct usage_ent *e = &w->tab[i];

        e->seen = false;
        e->vcpus_max = 0;
        e->mem_peak_bytes = 0;
        e->peak_window_pct = 0;
        /* Present at the closing sample: observed from the next
         * interval's start on, as the previous one was to its end. */
        e->span_a = e->present_prev && !stopping ? end_ns : 0;
        e->span_b = e->span_a ? t_ns : 0;
        e->present_prev &= !stopping;
    }
    ch->nr_records += nrec;
    chunk_drop_if_empty(w, ch);         /* nothing to write */
    w->next_seq += nrec;
    if ( !stopping )
        w->open_start_ns = end_ns;
    w->st.pending += nrec;
    w->st.intervals++;
    return 0;
}

/* Write every pending chunk, in order; then the state if it is due
 * (@force: now). */
static int flush(struct exp_usage *w, bool force)
{
    int rc;

    while ( w->nr_pend )
    {
        struct usage_chunk *ch = &w->pend[0];

        rc = chunk_write(w, ch);
        if ( rc )
            return rc;
        w->st.records += ch->nr_records;
        w->st.pending -= ch->nr_records;
        free(ch->buf.p);
        memmove(w->pend, w->pend + 1, --w->nr_pend * sizeof(*w->pend));
    }
    /* Records on disk and a state behind them is what recovery repairs,
     * so the state may lag by design (exp_usage_set_state_every). */
    if ( !force && !w->state_dirty && ++w->unsaved < w->state_every )
        return 0;
    w->unsaved = 0;
    return usage__state_save(w);
}

int exp_usage_update(struct exp_usage *w, const struct acct_snapshot *c,
                     const struct exp_info *info)
{
    uint64_t t = info->sample_unix_ns;
    uint64_t boundary = t / w->interval_ns * w->interval_ns;
    bool first = !w->bases_valid || !w->open_start_ns, closed = false;
    uint64_t open = first && !w->open_start_ns ? boundary : w->open_start_ns;
    uint32_t i;
    int rc = 0;

    /* No good sample yet (xenosd exports after a failed one too). */
    if ( !t )
        return 0;
    for ( i = 0; i < c->nr_doms; i++ )
    {
        const struct acct_dom *d = &c->doms[i];
        struct usage_ent *e = ent_of_dom(w, i, d->uuid, true);

        if ( !e )
        {
            rc = -ENOMEM;
            goto out;
        }
        if ( !w->bases_valid )
        {
#define X(f) e->base.f = d->total.f;
            USAGE_WRITER_FIELDS(X)
#undef X
        }
        /* (A failed sample exports the last good one again: the same
         * t and snapshot leave all this as it was.) */
        /* Back after a sample without it, or under another tenant:
         * what came before is a record of its own (split_rec). */
        if ( d->present && e->span_b &&
             (!e->present_prev || (e->tenant_known &&
                                   !same_tenant(e->tenant, d->tenant))) &&
             (rc = split_rec(w, d, e)) )
            goto out;
        if ( d->present && (!e->tenant_known ||
                            !same_tenant(e->tenant, d->tenant)) )
        {
            char *tn = d->tenant ? strdup(d->tenant) : NULL;

            if ( d->tenant && !tn )
            {
                rc = -ENOMEM;
                goto out;
            }
            free(e->tenant);
            e->tenant = tn;
            e->tenant_known = true;
        }
        if ( d->present )
        {
            /* Its usage counted at this sample runs from the previous one
             * if that saw it too, else from now (xenosd's first sample,
             * or the domain's: it is new here, or back). */
            uint64_t from = w->prev_sample_ns && e->present_prev
                            ? w->prev_sample_ns : t;

            if ( !e->span_b )
                e->span_a = from > open ? from : open;
            e->span_b = t;
        }
        e->present_prev = d->present;
        if ( !d->present )
            continue;
        e->seen = true;
        if ( d->online_vcpus > e->vcpus_max )
            e->vcpus_max = d->online_vcpus;
        if ( d->peak_window_pct > e->peak_window_pct )
            e->peak_window_pct = d->peak_window_pct;
        if ( d->mem_cur_bytes > e->mem_peak_bytes )
            e->mem_peak_bytes = d->mem_cur_bytes;
    }
    if ( first )
    {
        /* Start of the ledger (or after its state was lost): what the
         * collector counted so far is not this ledger's. */
        w->bases_valid = true;
        if ( !w->open_start_ns )
            w->open_start_ns = boundary;
        w->state_dirty = true;
    }
    else if ( boundary > w->open_start_ns )
    {
        rc = interval_close(w, c, boundary, t, false);
        if ( rc )
            goto out;
        closed = true;
    }
    else if ( info->stopping )
    {
        /* The last sample before xenosd stops: what it observed of the
         * open interval, as partial records (the next run's records of
         * the same interval start where these end). */
        rc = interval_close(w, c, w->open_start_ns + w->interval_ns, t,
                            true);
        if ( rc )
            goto out;
        closed = true;
    }
    w->prev_sample_ns = t;
    if ( w->nr_pend || w->state_dirty || closed )
        rc = flush(w, false);
 out:
    if ( rc )
        w->st.write_errors++;
    return rc;
}

int exp_usage_set_state_every(struct exp_usage *w, uint32_t n)
{
    if ( !n )
        return -EINVAL;
    w->state_every = n;
    return 0;
}

void exp_usage_get_stats(const struct exp_usage *w,
                         struct exp_usage_stats *st)
{
    *st = w->st;
    st->next_seq = w->next_seq;
}

int exp_usage_close(struct exp_usage *w)
{
    uint32_t i;
    int rc = 0;

    if ( !w )
        return 0;
    if ( w->nr_pend || w->state_dirty || w->unsaved )
        rc = flush(w, true);
    file_close(w);
    if ( w->dir_fd >= 0 )
        close(w->dir_fd);
    for ( i = 0; i < w->nr_pend; i++ )
        free(w->pend[i].buf.p);
    free(w->pend);
    for ( i = 0; i < w->tab_n; i++ )
        free(w->tab[i].tenant);
    free(w->tab);
    strmap_free(&w->idx);
    free(w->scratch);
    free(w->sbuf.p);
    free(w->dir);
    free(w->host);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ */
/* As an exporter of xenosd (exp.h)                                    */

/* The records are the truth and a restart replays those past the state
 * file, so saving it hourly (not every interval) loses nothing and halves
 * the ledger's cost (docs/performance.md). */
#define USAGE_X_STATE_EVERY     60      /* ledger intervals */

/* Options: usage.dir=DIR (STATE/usage; "off": none), usage.interval_s=N
 * (1..3600, dividing it; EXP_USAGE_INTERVAL_S_DEFAULT). */
static int usage_x_open(const struct exp_env *env, void **state, char *msg,
                        size_t msglen)
{
    const char *dir = NULL, *iv = exp_opt(env, "interval_s", NULL);
    char def[PATH_MAX], err[512] = "", *end;
    unsigned long n = EXP_USAGE_INTERVAL_S_DEFAULT;
    struct exp_usage *w;
    int rc = exp_opt_dir(env, "dir", "usage", def, sizeof(def), &dir);

    if ( rc )
        return rc;
    if ( iv )
    {
        errno = 0;
        n = strtoul(iv, &end, 10);
        if ( errno || end == iv || *end || *iv == '-' || n < 1 || n > 3600 )
        {
            snprintf(msg, msglen, "interval_s must be 1..3600, not '%s'", iv);
            return -EINVAL;
        }
    }
    rc = exp_usage_open(&w, dir, env->host, (uint32_t)n, 0, err,
                        sizeof(err));
    if ( rc && rc != -EBADMSG )
    {
        snprintf(msg, msglen, "%s", err[0] ? err : strerror(-rc));
        return rc;
    }
    /* -EBADMSG: a damaged state, set aside: said, and we go on. */
    msg[0] = '\0';
    if ( err[0] )
        snprintf(msg, msglen, "usage ledger: %s", err);
    exp_usage_set_state_every(w, USAGE_X_STATE_EVERY);
    /* The collector starts afresh: so must the ledger's bases. */
    if ( env->fresh && (rc = exp_usage_rebase(w)) )
    {
        snprintf(msg, msglen, "%s", strerror(-rc));
        exp_usage_close(w);
        return rc;
    }
    *state = w;
    return 0;
}

static int usage_x_update(void *state, const struct acct_snapshot *s,
                          const struct exp_info *info, char *msg,
                          size_t msglen)
{
    (void)msg;
    (void)msglen;
    return exp_usage_update(state, s, info);
}

static int usage_x_close(void *state, char *msg, size_t msglen)
{
    int rc = exp_usage_close(state);

    if ( rc )
        snprintf(msg, msglen, "%s (pending records are written at the "
                 "next start)", strerror(-rc));
    return rc;
}

const struct exp_ops exp_ops_usage = {
    .name = "usage",
    .what = "usage ledger",
    .open = usage_x_open,
    .update = usage_x_update,
    .close = usage_x_close,
};
