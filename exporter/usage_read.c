/*
 * usage_read.c: reading a ledger file (exp_usage_read), record by record,
 * damage reported and skipped.
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

/* ------------------------------------------------------------------ */
/* Reading (exp_usage_read)                                            */

struct usage_read {
    exp_usage_rec_cb rec;
    exp_usage_damage_cb damage;
    void *ctx;
    char *tenant, *name;                /* NUL-terminated copies */
    size_t tenant_cap, name_cap;
};

static int copy_bytes(char **dst, size_t *cap, const ProtobufCBinaryData *d)
{
    if ( d->len + 1 > *cap )
    {
        char *p = realloc(*dst, d->len + 1);

        if ( !p )
            return -ENOMEM;
        *dst = p;
        *cap = d->len + 1;
    }
    if ( d->len )
        memcpy(*dst, d->data, d->len);
    (*dst)[d->len] = '\0';
    return 0;
}

static int read_rec(void *ctx, const Xenos__UsageRecord *m, uint64_t off)
{
    struct usage_read *rd = ctx;
    struct exp_usage_rec r = {
        .seq = m->seq, .host = m->host, .uuid = m->uuid,
        .start_unix_ns = m->start_unix_ns, .end_unix_ns = m->end_unix_ns,
        .vcpus = m->vcpus, .mem_max_bytes = m->mem_max_bytes,
        .weight = m->weight, .cap_pct = m->cap_pct,
        .span_start_unix_ns = m->span_start_unix_ns,
        .span_end_unix_ns = m->span_end_unix_ns,
        .sched_stats = m->sched_stats, .wait_ns = m->wait_ns,
        .throttled_ns = m->throttled_ns,
        .peak_window_pct = m->peak_window_pct,
#define X(f) .f = m->f,
        USAGE_FIELDS(X)
#undef X
    };

    if ( copy_bytes(&rd->tenant, &rd->tenant_cap, &m->tenant) ||
         copy_bytes(&rd->name, &rd->name_cap, &m->name) )
        return -ENOMEM;
    r.tenant = rd->tenant;
    r.name = rd->name;
    return rd->rec ? rd->rec(rd->ctx, &r, off) : 0;
}

static void read_damage(void *ctx, uint64_t off, uint64_t len,
                        const char *why)
{
    struct usage_read *rd = ctx;

    if ( rd->damage )
        rd->damage(rd->ctx, off, len, why);
}

int exp_usage_read(const char *path, exp_usage_rec_cb rec,
                   exp_usage_damage_cb damage, void *ctx,
                   struct exp_usage_header *hdr)
{
    struct usage_read rd = { .rec = rec, .damage = damage, .ctx = ctx };
    struct usage_scan sc = { .on_rec = read_rec, .damage = read_damage,
                             .ctx = &rd };
    uint8_t *buf;
    size_t len;
    int rc;

    if ( hdr )
        memset(hdr, 0, sizeof(*hdr));
    rc = usage_slurp(path, &buf, &len);
    if ( rc )
        return rc;
    sc.b = buf;
    sc.n = len;
    rc = usage_scan_file(&sc);
    if ( sc.hdr && hdr )
    {
        hdr->version = sc.hdr->version;
        snprintf(hdr->host, sizeof(hdr->host), "%s", sc.hdr->host);
        hdr->created_unix_ns = sc.hdr->created_unix_ns;
        hdr->interval_s = sc.hdr->interval_s;
        hdr->rotate_s = sc.hdr->rotate_s;
        hdr->period_start_unix_ns = sc.hdr->period_start_unix_ns;
    }
    if ( sc.hdr )
        xenos__usage_file_header__free_unpacked(sc.hdr, NULL);
    free(rd.tenant);
    free(rd.name);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Listing a ledger directory                                          */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void exp_usage_files_free(char **names, size_t nr)
{
    size_t i;

    for ( i = 0; i < nr; i++ )
        free(names[i]);
    free(names);
}

int exp_usage_files(int dirfd, char ***names, size_t *nr)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int dfd = dup(dirfd), rc = 0;
    DIR *d = dfd < 0 ? NULL : fdopendir(dfd);

    *names = NULL;
    *nr = 0;
    if ( !d )
    {
        rc = -errno;
        if ( dfd >= 0 )
            close(dfd);
        return rc;
    }
    /* The dup shares its offset with @dirfd: start from the top. */
    rewinddir(d);
    while ( (de = readdir(d)) )
    {
        if ( !usage__is_ledger_name(de->d_name) )
            continue;
        if ( n == cap )
        {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

            if ( !nv )
            {
                rc = -ENOMEM;
                break;
            }
            v = nv;
        }
        if ( !(v[n] = strdup(de->d_name)) )
        {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if ( rc )
    {
        exp_usage_files_free(v, n);
        return rc;
    }
    if ( n )
        qsort(v, n, sizeof(*v), name_cmp);
    *names = v;
    *nr = n;
    return 0;
}
