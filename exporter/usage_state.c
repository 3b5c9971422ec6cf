/*
 * usage_state.c: the ledger writer's memory across restarts: saving and
 * loading usage.state (each domain's base and the next sequence number),
 * and recovery at open: the records on disk beyond the state applied to
 * it, torn tails cut, a torn creation removed and a foreign file moved
 * aside.  usage.c's design comment says why the state may lag the records
 * but never lead them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenos/fileio.h>

#include "usage_impl.h"

/* ------------------------------------------------------------------ */
/* State                                                               */

int usage__state_save(struct exp_usage *w)
{
    Xenos__UsageState s = XENOS__USAGE_STATE__INIT;
    Xenos__UsageBase *bases = NULL, **ptrs = NULL;
    uint32_t i, n = 0;
    int rc = 0;

    if ( w->tab_n )
    {
        bases = calloc(w->tab_n, sizeof(*bases));
        ptrs = calloc(w->tab_n, sizeof(*ptrs));
        if ( !bases || !ptrs )
        {
            rc = -ENOMEM;
            goto out;
        }
    }
    for ( i = 0; i < w->tab_n; i++ )
    {
        const struct usage_ent *e = &w->tab[i];

        if ( !e->uuid[0] )
            continue;
        xenos__usage_base__init(&bases[n]);
        bases[n].uuid = (char *)e->uuid;
#define X(f) bases[n].f = e->base.f;
        USAGE_WRITER_FIELDS(X)
#undef X
        ptrs[n] = &bases[n];
        n++;
    }
    s.next_seq = w->next_seq;
    s.last_end_unix_ns = w->open_start_ns;
    s.file = w->file;
    s.bases_valid = w->bases_valid;
    s.n_bases = n;
    s.bases = ptrs;
    rc = usage_put_preamble(&w->sbuf, USAGE_STATE_MAGIC);
    if ( rc )
        goto out;
    rc = usage_put_frame(&w->sbuf, &s.base);
    if ( rc )
        goto out;
    rc = fio_replace_at(w->dir_fd, EXP_USAGE_STATE_FILE,
                        EXP_USAGE_STATE_FILE ".tmp", w->sbuf.p, w->sbuf.len,
                        0640);
 out:
    w->state_dirty = rc != 0;
    free(bases);
    free(ptrs);
    return rc;
}

/* Load usage.state: 0, -ENOENT (none), -EBADMSG (damaged), -errno. */
int usage__state_load(struct exp_usage *w)
{
    Xenos__UsageState *s;
    uint8_t *buf;
    size_t len, i;
    uint32_t flen;
    int rc;

    rc = usage__slurp_at(w, EXP_USAGE_STATE_FILE, &buf, &len);
    if ( rc )
        return rc;
    if ( len < USAGE_PREAMBLE_LEN ||
         memcmp(buf, USAGE_STATE_MAGIC, USAGE_MAGIC_LEN) ||
         usage_get_le32(buf + USAGE_MAGIC_LEN) != USAGE_VERSION ||
         !usage_frame_at(buf, len, USAGE_PREAMBLE_LEN, &flen) ||
         USAGE_PREAMBLE_LEN + flen + USAGE_FRAME_OVERHEAD != len )
    {
        free(buf);
        return -EBADMSG;
    }
    s = xenos__usage_state__unpack(NULL, flen, buf + USAGE_PREAMBLE_LEN + 4);
    free(buf);
    if ( !s )
        return -EBADMSG;
    w->next_seq = s->next_seq;
    w->open_start_ns = s->last_end_unix_ns;
    w->bases_valid = s->bases_valid;
    if ( strlen(s->file) < sizeof(w->file) )
        snprintf(w->file, sizeof(w->file), "%s", s->file);
    for ( i = 0; i < s->n_bases && !rc; i++ )
    {
        const Xenos__UsageBase *b = s->bases[i];
        struct usage_ent *e;

        if ( strlen(b->uuid) > ACCT_UUID_LEN || !b->uuid[0] )
        {
            rc = -EBADMSG;
            break;
        }
        e = usage__ent_get(w, b->uuid);
        if ( !e )
        {
            rc = -ENOMEM;
            break;
        }
#define X(f) e->base.f = b->f;
        USAGE_WRITER_FIELDS(X)
#undef X
    }
    xenos__usage_state__free_unpacked(s, NULL);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Opening: recovery                                                   */

struct usage_recover {
    struct exp_usage *w;
    const char *name;
    char *err;
    size_t errlen;
};

/* A record found on disk: if the state has not seen it yet, apply it. */
static int recover_rec(void *ctx, const Xenos__UsageRecord *m, uint64_t off)
{
    struct usage_recover *rv = ctx;
    struct exp_usage *w = rv->w;
    struct usage_ent *e;

    (void)off;
    if ( m->seq < w->next_seq )
        return 0;
    if ( w->bases_valid && m->uuid[0] && strlen(m->uuid) <= ACCT_UUID_LEN )
    {
        e = usage__ent_get(w, m->uuid);
        if ( !e )
            return -ENOMEM;
#define X(f) e->base.f += m->f;
        USAGE_WRITER_FIELDS(X)
#undef X
    }
    w->next_seq = m->seq + 1;
    if ( m->end_unix_ns > w->open_start_ns )
        w->open_start_ns = m->end_unix_ns;
    snprintf(w->file, sizeof(w->file), "%s", rv->name);
    w->st.records++;
    return 0;
}

static void recover_damage(void *ctx, uint64_t off, uint64_t len,
                           const char *why)
{
    struct usage_recover *rv = ctx;
    size_t l = strlen(rv->err);

    if ( l + 1 < rv->errlen )
        snprintf(rv->err + l, rv->errlen - l, "%s%s: byte %" PRIu64
                 ": %s (%" PRIu64 " bytes)", l ? "; " : "", rv->name, off,
                 why, len);
}

/* Scan the ledger files from w->file on, apply what the state lacks and
 * cut torn tails. */
int usage__recover_files(struct exp_usage *w, char *err, size_t errlen)
{
    struct usage_recover rv = { .w = w, .err = err, .errlen = errlen };
    char **names, from[USAGE_NAME_LEN];
    size_t nr, i;
    int rc = exp_usage_files(w->dir_fd, &names, &nr);

    if ( rc )
        return rc;
    snprintf(from, sizeof(from), "%s", w->file);
    for ( i = 0; i < nr && !rc; i++ )
    {
        struct usage_scan sc = { .on_rec = recover_rec,
                                 .damage = recover_damage, .ctx = &rv };
        uint8_t *buf;
        size_t len;
        bool ours;

        if ( strcmp(names[i], from) < 0 )
            continue;
        rv.name = names[i];
        rc = usage__slurp_at(w, names[i], &buf, &len);
        if ( rc )
        {
            /* Not a file of ours (a symbolic link, a FIFO): refuse to
             * open the ledger rather than read or cut through it. */
            size_t l = strlen(err);

            snprintf(err + l, errlen - l, "%s%s/%s: %s", l ? "; " : "",
                     w->dir, names[i], fio_strerror(rc));
            break;
        }
        sc.b = buf;
        sc.n = len;
        rc = usage_scan_file(&sc);
        if ( sc.hdr )
            xenos__usage_file_header__free_unpacked(sc.hdr, NULL);
        /* Nothing whole, and what is there begins as we begin a file: a
         * creation cut short. */
        ours = !memcmp(buf, USAGE_MAGIC, len < USAGE_MAGIC_LEN
                                         ? len : USAGE_MAGIC_LEN);
        free(buf);
        if ( rc == -EBADMSG )
            rc = 0;
        if ( rc )
            break;
        /* Torn tail: cut back to the last whole frame; a torn creation:
         * remove it; not ours at all: move it aside (evidence), so the
         * period's file starts afresh. */
        if ( sc.good_end < len )
        {
            if ( sc.good_end == 0 && ours )
                rc = unlinkat(w->dir_fd, names[i], 0) ? -errno : 0;
            else if ( sc.good_end == 0 )
            {
                char aside[USAGE_NAME_LEN + 16];

                snprintf(aside, sizeof(aside), "%s.corrupt", names[i]);
                rc = renameat(w->dir_fd, names[i], w->dir_fd, aside)
                     ? -errno : 0;
            }
            else
            {
                int fd = fio_openat(w->dir_fd, names[i], O_WRONLY, 0);

                if ( fd < 0 )
                    rc = fd;
                else if ( ftruncate(fd, (off_t)sc.good_end) || fsync(fd) )
                    rc = -errno;
                if ( fd >= 0 )
                    close(fd);
            }
            if ( !rc )
                rc = fio_fsync_fd(w->dir_fd);
        }
    }
    exp_usage_files_free(names, nr);
    return rc;
}
