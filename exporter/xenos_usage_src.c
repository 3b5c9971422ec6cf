/*
 * xenos_usage_src.c: the sources xenos-usage reconcile compares
 * (xenos_usage_src.h).  Each fills a struct exp_usage_src and knows
 * nothing of the comparison (usage_cmp.c) or of the others.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenos/acct_sim.h>
#include <xenos/fileio.h>

#include "xenos_usage_src.h"

/* ------------------------------------------------------------------ */
/* The ledger                                                          */

int usrc_recs_add(struct usrc_recs *r, const char *host, uint64_t seq,
                  const char *uuid)
{
    if ( !r->n && !r->host[0] )
        snprintf(r->host, sizeof(r->host), "%s", host);
    else if ( strcmp(r->host, host) )
        r->many_hosts = true;
    if ( r->n == r->cap )
    {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        struct usrc_rec_id *v = realloc(r->v, cap * sizeof(*v));

        if ( !v )
            return -ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n].seq = seq;
    snprintf(r->v[r->n].uuid, sizeof(r->v[r->n].uuid), "%s", uuid);
    r->n++;
    return 0;
}

void usrc_recs_free(struct usrc_recs *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static int id_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct usrc_rec_id *)a)->seq;
    uint64_t y = ((const struct usrc_rec_id *)b)->seq;

    return x < y ? -1 : x > y;
}

/* How many entries from @i on have @v[i]'s seq. */
static uint32_t run_len(const struct usrc_recs *r, size_t i)
{
    size_t j = i;

    while ( j < r->n && r->v[j].seq == r->v[i].seq )
        j++;
    return (uint32_t)(j - i);
}

long usrc_recs_compare(struct usrc_recs *a, struct usrc_recs *b,
                       usrc_rec_diff_cb diff, void *ctx)
{
    size_t i = 0, j = 0;
    long nd = 0;

    if ( a->n )
        qsort(a->v, a->n, sizeof(*a->v), id_cmp);
    if ( b->n )
        qsort(b->v, b->n, sizeof(*b->v), id_cmp);
    while ( i < a->n || j < b->n )
    {
        bool in_a = i < a->n && (j >= b->n || a->v[i].seq <= b->v[j].seq);
        bool in_b = j < b->n && (i >= a->n || b->v[j].seq <= a->v[i].seq);
        uint32_t na = in_a ? run_len(a, i) : 0, nb = in_b ? run_len(b, j) : 0;
        const struct usrc_rec_id *id = in_a ? &a->v[i] : &b->v[j];

        if ( na != 1 || nb != 1 )
        {
            nd++;
            if ( diff )
                diff(ctx, id->seq, id->uuid, na, nb);
        }
        i += na;
        j += nb;
    }
    return nd;
}

struct ledger_ctx {
    struct exp_usage_src *s;
    struct usrc_recs *ids;
    const char *file;
    usrc_damage_cb damage;
};

static int ledger_rec(void *vctx, const struct exp_usage_rec *r,
                      uint64_t off)
{
    struct ledger_ctx *x = vctx;
    int rc;

    (void)off;
    rc = exp_usage_src_add_rec(x->s, r);
    if ( !rc && x->ids )
        rc = usrc_recs_add(x->ids, r->host, r->seq, r->uuid);
    return rc;
}

static void ledger_damage(void *vctx, uint64_t off, uint64_t len,
                          const char *why)
{
    struct ledger_ctx *x = vctx;

    if ( x->damage )
        x->damage(x->file, off, len, why);
}

int usrc_ledger(struct exp_usage_src *s, struct usrc_recs *ids,
                const char *dir, usrc_damage_cb damage, char *err,
                size_t errlen)
{
    struct ledger_ctx x = { .s = s, .ids = ids, .damage = damage };
    char **names = NULL, path[4096];
    size_t nr = 0, i;
    bool damaged = false;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    rc = fd < 0 ? -errno : exp_usage_files(fd, &names, &nr);
    if ( fd >= 0 )
        close(fd);
    if ( rc )
    {
        snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
        return rc;
    }
    for ( i = 0; i < nr; i++ )
    {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        x.file = path;
        rc = exp_usage_read(path, ledger_rec, ledger_damage, &x, NULL);
        if ( rc == -EBADMSG )
        {
            damaged = true;
            rc = 0;
        }
        if ( rc )
        {
            snprintf(err, errlen, "%s: %s", path, strerror(-rc));
            break;
        }
    }
    exp_usage_files_free(names, nr);
    return rc ? rc : damaged ? -EBADMSG : 0;
}

/* ------------------------------------------------------------------ */
/* The checkpoint                                                      */

int usrc_checkpoint_load(struct acct_collector **cp, const char *path,
                         char *err, size_t errlen)
{
    char tmp[] = "/tmp/xenos-usage-ckpt-XXXXXX", copy[64], e2[512] = "";
    char *buf = NULL;
    size_t len = 0;
    int fd, rc;

    *cp = NULL;
    /* acct_collector_alloc moves a damaged checkpoint aside: load a
     * private copy, so reconciling never changes the daemon's files. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if ( fd < 0 )
    {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    close(fd);
    {
        FILE *f = fopen(path, "rb");
        long n;

        if ( !f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
             fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)n + 1)) ||
             fread(buf, 1, (size_t)n, f) != (size_t)n )
        {
            rc = -(errno ? errno : EIO);
            snprintf(err, errlen, "%s: %s", path, strerror(-rc));
            if ( f )
                fclose(f);
            free(buf);
            return rc;
        }
        fclose(f);
        len = (size_t)n;
    }
    if ( !mkdtemp(tmp) )
    {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
        free(buf);
        return rc;
    }
    snprintf(copy, sizeof(copy), "%s/checkpoint", tmp);
    fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    rc = fd < 0 ? -errno : fio_write_all(fd, buf, len);
    if ( fd >= 0 )
        close(fd);
    free(buf);
    if ( !rc )
    {
        rc = acct_collector_alloc(cp, copy, e2, sizeof(e2));
        if ( rc )
            snprintf(err, errlen, "%s: %s", path, rc == -EBADMSG
                     ? "damaged (not a whole checkpoint)"
                     : e2[0] ? e2 : strerror(-rc));
        if ( rc && *cp )
        {
            acct_collector_free(*cp);
            *cp = NULL;
        }
    }
    else
        snprintf(err, errlen, "%s: %s", copy, strerror(-rc));
    /* The copy and whatever alloc set aside beside it. */
    {
        DIR *d = opendir(tmp);
        struct dirent *de;

        while ( d && (de = readdir(d)) )
            if ( de->d_name[0] != '.' )
                unlinkat(dirfd(d), de->d_name, 0);
        if ( d )
            closedir(d);
        rmdir(tmp);
    }
    return rc;
}

/* The ledger's counters of @u, in exp_usage_counters' order. */
static void usage_v(const struct acct_usage *u,
                    uint64_t v[EXP_USAGE_NR_COUNTERS])
{
    int i = 0;

#define X(f) v[i++] = u->f;
    EXP_USAGE_COUNTERS(X)
#undef X
}

int usrc_collector(struct exp_usage_src *s, const struct acct_collector *c)
{
    uint64_t v[EXP_USAGE_NR_COUNTERS];
    struct acct_snapshot snap;
    uint32_t i;
    int rc = 0;

    acct_collector_snapshot(c, &snap);
    for ( i = 0; i < snap.nr_doms && !rc; i++ )
    {
        const struct acct_dom *d = &snap.doms[i];

        usage_v(&d->total, v);
        rc = exp_usage_src_add(s, d->uuid, d->name, NULL, v);
    }
    for ( i = 0; i < snap.nr_tenants && !rc; i++ )
    {
        const struct acct_tenant *t = &snap.tenants[i];

        usage_v(&t->total, v);
        /* The collector calls the unassigned "-", the ledger "". */
        rc = exp_usage_src_add(s, NULL, NULL,
                               strcmp(t->name, "-") ? t->name : "", v);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* The simulated host's ground truth                                   */

int usrc_sim_truth(struct exp_usage_src *s, const char *sock,
                   const struct acct_collector *c, char *err, size_t errlen)
{
    char arg[4200];
    const char *args[] = { arg, NULL };
    struct acct_sim_truth t = { 0 };
    struct acct_sample smp;
    struct acct_snapshot snap;
    void *st;
    uint32_t i;
    int rc;

    snprintf(arg, sizeof(arg), "socket=%s", sock);
    rc = acct_backend_sim.open(args, &st, err, errlen);
    if ( rc )
        return rc;
    acct_sample_init(&smp);
    acct_collector_snapshot(c, &snap);
    rc = acct_backend_sim.sample(st, &smp);
    if ( rc )
    {
        snprintf(err, errlen, "%s: sample: %s", sock, strerror(-rc));
        goto out;
    }
    /* TRUTH is of the host's current boot; totals of an earlier boot (or
     * of a host that rebooted since) cannot be held against it. */
    if ( snap.host_reboots || strcmp(snap.boot_id, smp.boot_id) )
    {
        rc = -ESTALE;
        snprintf(err, errlen, "%s: the host is in boot %s, the checkpoint "
                 "covers %s%s (%" PRIu64 " host reboots): the host's ground "
                 "truth is of its current boot only, not comparable", sock,
                 smp.boot_id[0] ? smp.boot_id : "(unknown)",
                 snap.boot_id[0] ? "boot " : "",
                 snap.boot_id[0] ? snap.boot_id : "an unknown boot",
                 snap.host_reboots);
        goto out;
    }
    rc = acct_sim_truth(st, &t);
    if ( rc )
    {
        snprintf(err, errlen, "%s: TRUTH: %s", sock, strerror(-rc));
        goto out;
    }
    for ( i = 0; i < t.nr_domains && !rc; i++ )
    {
        const struct acct_sim_truth_dom *td = &t.domains[i];
        const struct acct_dom *d = acct_collector_find(c, td->uuid);
        uint64_t v[EXP_USAGE_NR_COUNTERS] = { td->cpu_ns };

        if ( td->life == ACCT_SIM_PENDING && !td->cpu_ns )
            continue;                   /* never existed */
        rc = exp_usage_src_add(s, td->uuid, td->name,
                               d && d->tenant ? d->tenant : "", v);
    }
    if ( rc )
        snprintf(err, errlen, "%s", strerror(-rc));
 out:
    acct_sim_truth_free(&t);
    acct_sample_free(&smp);
    acct_backend_sim.close(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The host's live counters                                            */

/* The tenant the checkpoint's collector gives the domain, or none. */
static const char *live_tenant(void *ctx, const struct acct_domain *d)
{
    const struct acct_dom *r = acct_collector_find(ctx, d->uuid);

    return r ? r->tenant : NULL;
}

int usrc_live(struct exp_usage_src *s, struct exp_usage_src *slack,
              struct exp_usage_src *back_ckpt, struct exp_usage_src *back_host,
              const char *spec, const char *ckpt_path,
              const struct acct_collector *c, char *err, size_t errlen)
{
    char arg[4200];
    const char *args[] = { arg, NULL };
    const struct acct_backend_ops *ops;
    struct acct_collector *live = NULL;
    struct acct_snapshot snap;
    struct acct_sample smp;
    uint64_t since;
    void *st;
    uint32_t i;
    int rc;

    arg[0] = '\0';
    if ( !strncmp(spec, "sim:", 4) )
        snprintf(arg, sizeof(arg), "socket=%s", spec + 4);
    ops = acct_backend_find(arg[0] ? "sim" : spec);
    if ( !ops || (!arg[0] && strcmp(spec, "xen")) )
    {
        snprintf(err, errlen, "--counters %s: xen%s or sim:SOCKET", spec,
                 acct_backend_find("xen") ? "" : " (not built in here)");
        return -EINVAL;
    }
    rc = ops->open(arg[0] ? args : (const char *const[]){ NULL }, &st, err,
                   errlen);
    if ( rc )
        return rc;
    acct_sample_init(&smp);
    rc = ops->sample(st, &smp);
    if ( rc )
    {
        snprintf(err, errlen, "%s: sample: %s", spec, strerror(-rc));
        goto out;
    }
    acct_collector_snapshot(c, &snap);
    /* The collector would take another boot's counters as new lives,
     * counted whole: no bound holds them, and nothing compares. */
    if ( !snap.boot_id[0] || strcmp(snap.boot_id, smp.boot_id) ||
         smp.time_ns < snap.last_sample_ns )
    {
        rc = -ESTALE;
        snprintf(err, errlen, "%s: the host is in boot %s, the checkpoint's "
                 "last sample was in %s: the host's counters are of its "
                 "current boot only, not comparable", spec,
                 smp.boot_id[0] ? smp.boot_id : "(unknown)",
                 snap.boot_id[0] ? snap.boot_id : "an unknown boot");
        goto out;
    }
    since = smp.time_ns - snap.last_sample_ns;
    rc = usrc_checkpoint_load(&live, ckpt_path, err, errlen);
    if ( !rc )
        rc = acct_collector_update(live, &smp, live_tenant, (void *)c);
    if ( !rc )
        rc = usrc_collector(s, live);
    for ( i = 0; !rc && i < smp.nr_domains; i++ )
    {
        const struct acct_domain *d = &smp.domains[i];
        const struct acct_dom *r = acct_collector_find(c, d->uuid);
        const char *t = live_tenant((void *)c, d);
        uint64_t n = d->nr_vcpus ? d->nr_vcpus : 1;
        uint64_t v[EXP_USAGE_NR_COUNTERS] = {
            (since + USRC_LIVE_READ_SLACK_NS) * n
        };

        rc = exp_usage_src_add(slack, d->uuid, d->name, t ? t : "", v);
        /*
         * The collector takes a counter that went back within a life as a
         * glitch and counts nothing, so the totals agree; here it means
         * the checkpoint read more than the hypervisor ran: the two
         * readings go to @back_ckpt and @back_host.  (Same life: domid
         * and creation time; a record of unknown creation time, from an
         * old checkpoint, is left out.)
         */
        if ( !rc && r && !d->error && r->domid == d->domid &&
             r->created_ns == d->created_ns && d->cpu_ns < r->last.cpu_ns )
        {
            v[0] = r->last.cpu_ns;
            rc = exp_usage_src_add(back_ckpt, d->uuid, d->name, NULL, v);
            v[0] = d->cpu_ns;
            if ( !rc )
                rc = exp_usage_src_add(back_host, d->uuid, d->name, NULL, v);
        }
    }
    if ( rc && !err[0] )
        snprintf(err, errlen, "%s: %s", spec, strerror(-rc));
 out:
    acct_collector_free(live);
    acct_sample_free(&smp);
    ops->close(st);
    return rc;
}
