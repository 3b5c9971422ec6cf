/*
 * xen.c: the `xen` accounting backend: every domain of the Xen host whose
 * control domain runs us, and the weight and cap of each.
 *
 * Where each figure comes from:
 * - libxenctrl, xc_domain_getinfolist: the domain list, each domain's
 *   uuid (its handle), state (XEN_DOMINF_* flags) and cpupool; for a dying
 *   domain libxenstat no longer lists, also its CPU time and memory.
 * - libxenstat, xenstat_get_node(XENSTAT_ALL) once per sample: name (it
 *   reads /local/domain/ID/name itself), CPU ns, per-vCPU ns and online
 *   flags, current and maximum memory, VBD and VIF counters.
 * - xenstore: memory/target (KiB) and the tenant key, vm-data/tenant
 *   unless open's tenant_key= names another, both under /local/domain/ID/.
 * - the host's boot: dom0's /proc/sys/kernel/random/boot_id, read at
 *   open (xenb__boot_id says why it is the right one).  A life of a
 *   domain within a boot is its domid: Xen has no creation time to give
 *   (created_ns stays 0).
 * - waiting and throttled time: the file /xenos/domains of Xen's
 *   hypervisor filesystem (libxenhypfs), which a xenos policy that counts
 *   them publishes (sched/xen/adapter.c); a domain not in it, or every
 *   domain when there is no such file (Xen's own schedulers, a Xen
 *   without xenos), has them unavailable (acct_domain.sched_stats).
 * - weight and cap: the scheduler of the domain's cpupool
 *   (xc_cpupool_getinfo), then xc_sched_credit{,2}_domain_get/set; other
 *   schedulers have no weight and cap (-EOPNOTSUPP, logged once each).
 *
 * Design: one handle for each library, opened once.  A table of the
 * domains of the last sample, by domid, keeps each one's uuid, name, tenant
 * key, memory target and last device counters.  It is what lets a domain
 * be reported after its xenstore directory is gone (the toolstack removes
 * it before Xen has finished the domain, and libxenstat then drops the
 * domain): a dying domain is still listed, with its final CPU time from
 * libxenctrl and its last name and tenant, so its last interval is counted
 * for the right tenant.  It also keeps a VBD whose statistics could not be
 * read at its last counters: dropping it would lower the domain's sum,
 * which the collector takes as a removed device, and the whole counter
 * would be counted again once the device read back.  And it maps uuid to
 * domid for set/get.  Counters are otherwise passed on as read, even when
 * they go backwards (credit1 under an emulated clock): the collector keeps
 * deltas from going negative and counts the event.
 *
 * libxenctrl's list is taken before libxenstat's.  A domain only
 * libxenstat lists was created in between: it is left for the next sample,
 * which counts it whole.  A live domain only libxenctrl lists is being
 * built (never listed before: left for the next sample) or losing its
 * xenstore entries (listed with error -ENOENT: counted at its next good
 * sample, if any, else as it dies).
 *
 * xenstore cost: the tenant key and memory target of every live domain
 * are read at every sample, two requests to xenstored per domain (some
 * tens of microseconds each; a few ms per sample for 100 domains).
 * Watches would save the reads but need a descriptor in the daemon's poll
 * loop, a full re-read whenever events may have been lost, and a second
 * path to get right; plain reads keep one path, and a new tenant key
 * counts from the next sample either way.  A read that fails for another
 * reason than a missing node keeps the last value, so a xenstored hiccup
 * never moves a domain out of its tenant.
 *
 * Not thread-safe: one caller thread per open state.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenhypfs.h>
#include <xenstat.h>
#include <xenstore.h>

#include <xenos/acct.h>
#include <xenos/log.h>
#include <xenos/num.h>

#include "xen_util.h"

#define XENB_MAGIC              0x6e657862u     /* marks a state as ours */
#define XENB_INFO_CHUNK         256     /* domains per getinfolist call */

/* One domain of the last sample. */
struct xenb_dom {
    uint32_t domid;
    char uuid[ACCT_UUID_LEN + 1];
    bool listed;                        /* libxenstat has listed it */
    char *name;                         /* owned: last name seen */
    char *tenant;                       /* owned: last tenant key; NULL */
    uint64_t target_bytes;              /* last memory/target, 0: none */
    struct acct_vbd *vbds;              /* last counters reported */
    struct acct_vif *vifs;
    uint32_t nr_vbds, cap_vbds, nr_vifs, cap_vifs;
};

struct xenb {
    uint32_t magic;
    xc_interface *xch;
    xenstat_handle *xst;
    unsigned int xst_flags;             /* XENSTAT_ALL, or no VBDs */
    struct xs_handle *xsh;
    xenhypfs_handle *hfs;               /* NULL: no hypfs, no counters */
    struct xenb__stat *stats;           /* this sample's, by domid */
    uint32_t stats_cap;
    bool stats_bad_logged;
    char *key;                          /* tenant key, relative */
    xc_domaininfo_t *info;              /* this sample's domain list */
    uint32_t info_cap;
    /* The table: doms[i] is info[i]'s domain, by domid; spare becomes
     * the next sample's table. */
    struct xenb_dom *doms, *spare;
    uint32_t nr_doms, doms_cap;
    struct xenb_dom **by_uuid;          /* live domains, by uuid */
    uint32_t nr_by_uuid;
    xenstat_domain **xsd;               /* libxenstat's, by domid */
    uint32_t nr_xsd, xsd_cap;
    uint64_t sched_logged;              /* sched ids reported, as bits */
    char boot_id[ACCT_BOOT_ID_MAX + 1]; /* dom0's: the host's boot */
};

static struct xenb *xenb_of(void *state)
{
    struct xenb *b = state;

    return b && b->magic == XENB_MAGIC ? b : NULL;
}

/* -errno of a failed library call; some fail without setting errno. */
static int xenb_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

static uint64_t xenb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* vCPUs of a domain, as libxl counts them for the cap's bound. */
static uint32_t xenb_nr_vcpus(const xc_domaininfo_t *in)
{
    return in->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 0
                                                      : in->max_vcpu_id + 1;
}

static void xenb_dom_clear(struct xenb_dom *e)
{
    free(e->name);
    free(e->tenant);
    free(e->vbds);
    free(e->vifs);
    memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------------------ */
/* The domain list and the table                                      */

static int xenb_info_cmp(const void *a, const void *b)
{
    const xc_domaininfo_t *x = a, *y = b;

    return (x->domain > y->domain) - (x->domain < y->domain);
}

/* Every domain into b->info, by domid: 0 and *@count, or -errno. */
static int xenb_list(struct xenb *b, uint32_t *count)
{
    uint32_t n = 0, next = 0, i;
    int got;

    for ( ;; )
    {
        if ( b->info_cap - n < XENB_INFO_CHUNK )
        {
            uint32_t cap = b->info_cap ? b->info_cap * 2 : XENB_INFO_CHUNK;
            xc_domaininfo_t *p = realloc(b->info, cap * sizeof(*p));

            if ( !p )
                return -ENOMEM;
            b->info = p;
            b->info_cap = cap;
        }
        errno = 0;
        got = xc_domain_getinfolist(b->xch, next, XENB_INFO_CHUNK,
                                    b->info + n);
        if ( got < 0 )
            return xenb_errno();
        n += (uint32_t)got;
        if ( got < XENB_INFO_CHUNK )
            break;
        next = b->info[n - 1].domain + 1u;
        if ( next >= DOMID_FIRST_RESERVED )
            break;
    }
    /* Xen lists each domain once, by domid; the merge in
     * xenb_reconcile() and the collector (one record per domain) rely on
     * it, so make sure. */
    for ( i = 1; i < n; i++ )
        if ( b->info[i - 1].domain >= b->info[i].domain )
            break;
    if ( i < n )
    {
        uint32_t o = 1;

        qsort(b->info, n, sizeof(*b->info), xenb_info_cmp);
        for ( i = 1; i < n; i++ )
            if ( b->info[i].domain != b->info[o - 1].domain )
                b->info[o++] = b->info[i];
        n = o;
    }
    *count = n;
    return 0;
}

static int xenb_uuid_cmp(const void *a, const void *b)
{
    const struct xenb_dom *x = *(const struct xenb_dom *const *)a;
    const struct xenb_dom *y = *(const struct xenb_dom *const *)b;
    int c = strcmp(x->uuid, y->uuid);

    /* Equal uuids (a domain and its dying predecessor never both get
     * here, but two live ones could): the newest first. */
    return c ? c : (x->domid < y->domid) - (x->domid > y->domid);
}

static int xenb_grow_table(struct xenb *b, uint32_t n)
{
    uint32_t cap = b->doms_cap ? b->doms_cap : 64;
    void *p;

    while ( cap < n )
        cap *= 2;
    if ( cap == b->doms_cap )
        return 0;
    /* Each realloc keeps its contents; doms_cap moves only once all
     * three have the room. */
    p = realloc(b->doms, cap * sizeof(*b->doms));
    if ( !p )
        return -ENOMEM;
    b->doms = p;
    p = realloc(b->spare, cap * sizeof(*b->spare));
    if ( !p )
        return -ENOMEM;
    b->spare = p;
    p = realloc(b->by_uuid, cap * sizeof(*b->by_uuid));
    if ( !p )
        return -ENOMEM;
    b->by_uuid = p;
    b->doms_cap = cap;
    return 0;
}

/*
 * Make the table match the @n domains of b->info: a domain with the same
 * domid and uuid keeps its entry, any other gets a fresh one, and the
 * entries of domains gone are freed.  Both lists are by domid, so one
 * merge pass does it.  Rebuilds the uuid index.
 */
static int xenb_reconcile(struct xenb *b, uint32_t n)
{
    uint32_t i, j = 0;
    int rc;

    b->nr_by_uuid = 0;
    rc = xenb_grow_table(b, n);
    if ( rc )
        return rc;
    for ( i = 0; i < n; i++ )
    {
        const xc_domaininfo_t *in = &b->info[i];
        struct xenb_dom *e = &b->spare[i];
        char uuid[ACCT_UUID_LEN + 1];

        xenb__uuid(in->handle, uuid);
        while ( j < b->nr_doms && b->doms[j].domid < in->domain )
            xenb_dom_clear(&b->doms[j++]);
        if ( j < b->nr_doms && b->doms[j].domid == in->domain &&
             !strcmp(b->doms[j].uuid, uuid) )
            *e = b->doms[j++];
        else
        {
            /* A domid given to another domain (after the 32k wrap). */
            if ( j < b->nr_doms && b->doms[j].domid == in->domain )
                xenb_dom_clear(&b->doms[j++]);
            memset(e, 0, sizeof(*e));
            e->domid = in->domain;
            memcpy(e->uuid, uuid, sizeof(uuid));
        }
        if ( !(in->flags & XEN_DOMINF_dying) )
            b->by_uuid[b->nr_by_uuid++] = e;
    }
    while ( j < b->nr_doms )
        xenb_dom_clear(&b->doms[j++]);
    {
        struct xenb_dom *t = b->doms;

        b->doms = b->spare;
        b->spare = t;
    }
    b->nr_doms = n;
    qsort(b->by_uuid, b->nr_by_uuid, sizeof(*b->by_uuid), xenb_uuid_cmp);
    return 0;
}

/* The live domain with @uuid (lower case) in the last sample, or NULL. */
static struct xenb_dom *xenb_by_uuid(const struct xenb *b, const char *uuid)
{
    uint32_t lo = 0, hi = b->nr_by_uuid;

    /* The first entry not below @uuid: the newest of its uuid. */
    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;

        if ( strcmp(b->by_uuid[mid]->uuid, uuid) < 0 )
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->nr_by_uuid && !strcmp(b->by_uuid[lo]->uuid, uuid)
           ? b->by_uuid[lo] : NULL;
}

static int xenb_xsd_cmp(const void *a, const void *b)
{
    unsigned int x = xenstat_domain_id(*(xenstat_domain *const *)a);
    unsigned int y = xenstat_domain_id(*(xenstat_domain *const *)b);

    return (x > y) - (x < y);
}

/* libxenstat's domains, by domid, for xenb_xenstat(). */
static int xenb_index_xenstat(struct xenb *b, xenstat_node *node)
{
    uint32_t n = xenstat_node_num_domains(node), i;

    if ( n > b->xsd_cap )
    {
        xenstat_domain **p = realloc(b->xsd, n * sizeof(*p));

        if ( !p )
            return -ENOMEM;
        b->xsd = p;
        b->xsd_cap = n;
    }
    b->nr_xsd = 0;
    for ( i = 0; i < n; i++ )
    {
        xenstat_domain *x = xenstat_node_domain_by_index(node, i);

        if ( x )
            b->xsd[b->nr_xsd++] = x;
    }
    qsort(b->xsd, b->nr_xsd, sizeof(*b->xsd), xenb_xsd_cmp);
    return 0;
}

/* libxenstat's record of @domid, or NULL. */
static xenstat_domain *xenb_xenstat(const struct xenb *b, uint32_t domid)
{
    uint32_t lo = 0, hi = b->nr_xsd;

    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;
        unsigned int id = xenstat_domain_id(b->xsd[mid]);

        if ( id == domid )
            return b->xsd[mid];
        if ( id < domid )
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* xenstore                                                            */

/* Whether /local/domain/@domid is still there. */
static bool xenb_xs_dir(struct xenb *b, uint32_t domid)
{
    char path[32];
    unsigned int len;
    char *v;
    bool there;

    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    v = xs_read(b->xsh, XBT_NULL, path, &len);
    there = v != NULL;
    free(v);
    return there;
}

/* Re-read the tenant key and memory target of a live domain into @e. */
static void xenb_xs_refresh(struct xenb *b, struct xenb_dom *e)
{
    char path[XENB_PATH_MAX];
    unsigned int len;
    int64_t kib;
    char *v;

    if ( !xenb__key_path(path, sizeof(path), e->domid, b->key) )
    {
        errno = 0;
        v = xs_read(b->xsh, XBT_NULL, path, &len);
        if ( v )
        {
            if ( e->tenant && !strcmp(e->tenant, v) )
                free(v);
            else
            {
                free(e->tenant);
                e->tenant = v;
            }
        }
        /* Gone with the whole directory, the domain is being destroyed
         * and keeps its tenant to the end; alone, it was removed. */
        else if ( errno == ENOENT && e->tenant &&
                  xenb_xs_dir(b, e->domid) )
        {
            free(e->tenant);
            e->tenant = NULL;
        }
    }
    snprintf(path, sizeof(path), "/local/domain/%u/memory/target",
             e->domid);
    v = xs_read(b->xsh, XBT_NULL, path, &len);
    if ( v && !num_parse_int(v, 0, INT64_MAX / 1024, &kib) )
        e->target_bytes = (uint64_t)kib * 1024;
    free(v);
}

/* ------------------------------------------------------------------ */
/* Sampling                                                            */

/* Keep a copy of @n elements of @src in *@dst (capacity *@cap). */
static int xenb_keep(void **dst, uint32_t *cap, uint32_t *nr,
                     const void *src, uint32_t n, size_t size)
{
    if ( n > *cap )
    {
        void *p = realloc(*dst, n * size);

        if ( !p )
            return -ENOMEM;
        *dst = p;
        *cap = n;
    }
    if ( n )
        memcpy(*dst, src, n * size);
    *nr = n;
    return 0;
}

static const struct acct_vbd *xenb_old_vbd(const struct xenb_dom *e,
                                           uint32_t dev)
{
    uint32_t i;

    for ( i = 0; i < e->nr_vbds; i++ )
        if ( e->vbds[i].id == dev )
            return &e->vbds[i];
    return NULL;
}

static int xenb_vbds(struct acct_sample *out, struct acct_domain *d,
                     struct xenb_dom *e, xenstat_domain *x)
{
    uint32_t n = xenstat_domain_num_vbds(x), k, o = 0;
    struct acct_vbd *v = acct_sample_array(out, n, sizeof(*v));

    if ( !v )
        return -ENOMEM;
    for ( k = 0; k < n; k++ )
    {
        xenstat_vbd *s = xenstat_domain_vbd(x, k);
        const struct acct_vbd *old;

        if ( !s )
            continue;
        if ( xenstat_vbd_error(s) )
        {
            /* Statistics unreadable this time (a device coming or
             * going): its last counters, if it had any. */
            old = xenb_old_vbd(e, xenstat_vbd_dev(s));
            if ( old )
                v[o++] = *old;
            continue;
        }
        v[o].id = xenstat_vbd_dev(s);
        v[o].rd_reqs = xenstat_vbd_rd_reqs(s);
        v[o].wr_reqs = xenstat_vbd_wr_reqs(s);
        v[o].rd_sectors = xenstat_vbd_rd_sects(s);
        v[o].wr_sectors = xenstat_vbd_wr_sects(s);
        o++;
    }
    d->vbds = v;
    d->nr_vbds = o;
    return xenb_keep((void **)&e->vbds, &e->cap_vbds, &e->nr_vbds, v, o,
                     sizeof(*v));
}

static int xenb_vifs(struct acct_sample *out, struct acct_domain *d,
                     struct xenb_dom *e, xenstat_domain *x)
{
    uint32_t n = xenstat_domain_num_networks(x), k, o = 0;
    struct acct_vif *v = acct_sample_array(out, n, sizeof(*v));

    if ( !v )
        return -ENOMEM;
    for ( k = 0; k < n; k++ )
    {
        xenstat_network *s = xenstat_domain_network(x, k);
        struct xenb__vif_backend be;

        if ( !s )
            continue;
        be.id = xenstat_network_id(s);
        be.rbytes = xenstat_network_rbytes(s);
        be.rpkts = xenstat_network_rpackets(s);
        be.rerrs = xenstat_network_rerrs(s);
        be.rdrop = xenstat_network_rdrop(s);
        be.tbytes = xenstat_network_tbytes(s);
        be.tpkts = xenstat_network_tpackets(s);
        be.terrs = xenstat_network_terrs(s);
        be.tdrop = xenstat_network_tdrop(s);
        xenb__vif(&be, &v[o++]);
    }
    d->vifs = v;
    d->nr_vifs = o;
    return xenb_keep((void **)&e->vifs, &e->cap_vifs, &e->nr_vifs, v, o,
                     sizeof(*v));
}

/* Counters of a domain libxenstat lists; the name into @e. */
static int xenb_from_xenstat(struct acct_sample *out, struct acct_domain *d,
                             struct xenb_dom *e, xenstat_domain *x)
{
    uint32_t nv = xenstat_domain_num_vcpus(x), i;
    const char *name = xenstat_domain_name(x);
    int rc;

    if ( name && (!e->name || strcmp(e->name, name)) )
    {
        char *n = strdup(name);

        if ( !n )
            return -ENOMEM;
        free(e->name);
        e->name = n;
    }
    e->listed = true;
    d->cpu_ns = xenstat_domain_cpu_ns(x);
    d->vcpus = acct_sample_array(out, nv, sizeof(*d->vcpus));
    if ( !d->vcpus )
        return -ENOMEM;
    d->nr_vcpus = nv;
    for ( i = 0; i < nv; i++ )
    {
        xenstat_vcpu *v = xenstat_domain_vcpu(x, i);

        d->vcpus[i].cpu_ns = xenstat_vcpu_ns(v);
        d->vcpus[i].online = xenstat_vcpu_online(v) != 0;
        d->online_vcpus += d->vcpus[i].online;
    }
    d->mem_cur_bytes = xenstat_domain_cur_mem(x);
    d->mem_max_bytes = xenstat_domain_max_mem(x);
    rc = xenb_vbds(out, d, e, x);
    if ( !rc )
        rc = xenb_vifs(out, d, e, x);
    return rc;
}

/* Counters of a dying domain libxenstat no longer lists: CPU time and
 * memory from libxenctrl, devices as last seen. */
static int xenb_from_info(struct acct_sample *out, struct acct_domain *d,
                          const struct xenb_dom *e, const xc_domaininfo_t *in)
{
    d->cpu_ns = in->cpu_time;
    d->online_vcpus = in->nr_online_vcpus;
    d->mem_cur_bytes = in->tot_pages * XC_PAGE_SIZE;
    /* As libxenstat has it: no limit is all ones. */
    d->mem_max_bytes = in->max_pages >= UINT_MAX
                       ? UINT64_MAX : in->max_pages * XC_PAGE_SIZE;
    d->vbds = acct_sample_array(out, e->nr_vbds, sizeof(*d->vbds));
    d->vifs = acct_sample_array(out, e->nr_vifs, sizeof(*d->vifs));
    if ( !d->vbds || !d->vifs )
        return -ENOMEM;
    if ( e->nr_vbds )
        memcpy(d->vbds, e->vbds, e->nr_vbds * sizeof(*d->vbds));
    if ( e->nr_vifs )
        memcpy(d->vifs, e->vifs, e->nr_vifs * sizeof(*d->vifs));
    d->nr_vbds = e->nr_vbds;
    d->nr_vifs = e->nr_vifs;
    return 0;
}

/* One domain into @out (or nothing, for one being built): 0 or -ENOMEM. */
static int xenb_sample_dom(struct xenb *b, struct acct_sample *out,
                           struct xenb_dom *e, const xc_domaininfo_t *in)
{
    xenstat_domain *x = xenb_xenstat(b, e->domid);
    bool dying = in->flags & XEN_DOMINF_dying;
    struct acct_domain *d;
    const char *name;
    int rc = 0;

    if ( !x && !dying && !e->listed )
        return 0;
    d = acct_sample_add(out);
    if ( !d )
        return -ENOMEM;
    memcpy(d->uuid, e->uuid, sizeof(d->uuid));
    d->domid = e->domid;
    d->sched_group = in->cpupool;
    d->state = xenb__state(in->flags);
    if ( x )
        rc = xenb_from_xenstat(out, d, e, x);
    else if ( dying )
        rc = xenb_from_info(out, d, e, in);
    else
        d->error = -ENOENT;
    if ( rc )
        return rc;
    /* A dying domain's xenstore entries are going or gone: what they
     * last said stands. */
    if ( x && !dying )
        xenb_xs_refresh(b, e);
    name = e->name ? e->name : "";
    d->name = acct_sample_str(out, name, strlen(name));
    if ( !d->name )
        return -ENOMEM;
    if ( e->tenant )
    {
        d->tenant_key = acct_sample_str(out, e->tenant, strlen(e->tenant));
        if ( !d->tenant_key )
            return -ENOMEM;
    }
    d->mem_target_bytes = e->target_bytes;
    return 0;
}

/*
 * The contention counters of this sample's domains from hypfs.  Missing
 * file or hypfs: none has them.  A file we cannot parse: none either, and
 * it is logged once (a newer hypervisor with another format).  Returns 0
 * or -ENOMEM.
 */
static int xenb_stats(struct xenb *b, struct acct_sample *out)
{
    uint32_t i, lines = 1;
    unsigned int bad = 0;
    char *text, *p;
    int n;

    if ( !b->hfs || !(text = xenhypfs_read(b->hfs, XENB_STATS_PATH)) )
        return 0;
    for ( p = text; *p; p++ )
        lines += *p == '\n';
    if ( lines > b->stats_cap )
    {
        struct xenb__stat *st = realloc(b->stats, lines * sizeof(*st));

        if ( !st )
        {
            free(text);
            return -ENOMEM;
        }
        b->stats = st;
        b->stats_cap = lines;
    }
    n = xenb__stats_parse(text, b->stats, b->stats_cap, &bad);
    free(text);
    if ( n < 0 )
    {
        if ( !b->stats_bad_logged )
            xlog(LOG_WARNING, "backend xen: hypfs %s line %u: not "
                 "\"domid=N wait_ns=N throttled_ns=N run_ns=N cap_pct=N "
                 "windows=N,...\"; contention "
                 "counters unavailable", XENB_STATS_PATH, bad);
        b->stats_bad_logged = true;
        return 0;
    }
    for ( i = 0; i < out->nr_domains; i++ )
    {
        struct acct_domain *d = &out->domains[i];
        const struct xenb__stat *st =
            xenb__stats_find(b->stats, (uint32_t)n, d->domid);

        if ( !st || d->error )
            continue;
        d->sched_stats = true;
        d->wait_ns = st->wait_ns;
        d->throttled_ns = st->throttled_ns;
        d->sched_cap_pct = st->cap_pct;
        memcpy(d->windows, st->windows, sizeof(d->windows));
    }
    return 0;
}

static int xen_sample(void *state, struct acct_sample *out)
{
    struct xenb *b = xenb_of(state);
    xenstat_node *node;
    uint32_t n, i;
    int rc;

    acct_sample_reset(out);
    if ( !b )
        return -EINVAL;
    rc = xenb_list(b, &n);
    if ( !rc )
        rc = xenb_reconcile(b, n);
    if ( rc )
        return rc;
    /* Just before libxenstat reads the CPU times, which it does first. */
    out->time_ns = xenb_now_ns();
    memcpy(out->boot_id, b->boot_id, sizeof(out->boot_id));
    errno = 0;
    node = xenstat_get_node(b->xst, b->xst_flags);
    if ( !node )
        return xenb_errno();
    out->nr_pcpus = xenstat_node_num_cpus(node);
    rc = xenb_index_xenstat(b, node);
    for ( i = 0; !rc && i < b->nr_doms; i++ )
        rc = xenb_sample_dom(b, out, &b->doms[i], &b->info[i]);
    b->nr_xsd = 0;
    xenstat_free_node(node);
    if ( !rc )
        rc = xenb_stats(b, out);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Weight and cap                                                      */

/*
 * The live domain @uuid names, freshly from Xen into *@in: 0, -ENOENT (not
 * in the last sample, or since gone, rebooted or dying), or -errno.
 */
static int xenb_locate(struct xenb *b, const char *uuid, xc_domaininfo_t *in)
{
    char want[ACCT_UUID_LEN + 1], have[ACCT_UUID_LEN + 1];
    const struct xenb_dom *e;
    unsigned int i;
    int got;

    if ( strlen(uuid) != ACCT_UUID_LEN )
        return -ENOENT;
    for ( i = 0; i <= ACCT_UUID_LEN; i++ )
        want[i] = uuid[i] >= 'A' && uuid[i] <= 'F' ? uuid[i] - 'A' + 'a'
                                                     : uuid[i];
    e = xenb_by_uuid(b, want);
    if ( !e )
        return -ENOENT;
    errno = 0;
    got = xc_domain_getinfolist(b->xch, e->domid, 1, in);
    if ( got < 0 )
        return xenb_errno();
    /* The list starts at the first domid not below ours: another domain
     * there means ours is gone. */
    if ( got != 1 || in->domain != e->domid ||
         (in->flags & XEN_DOMINF_dying) )
        return -ENOENT;
    xenb__uuid(in->handle, have);
    return strcmp(have, want) ? -ENOENT : 0;
}

/* How to drive the scheduler of @in's cpupool. */
static int xenb_sched_of(struct xenb *b, const xc_domaininfo_t *in,
                         const struct xenb__sched **s)
{
    xc_cpupoolinfo_t *pool;
    uint32_t sched_id;
    uint64_t bit;
    int rc;

    errno = 0;
    pool = xc_cpupool_getinfo(b->xch, in->cpupool);
    if ( !pool )
        return xenb_errno();
    /* It answers with the first pool from that id on. */
    if ( pool->cpupool_id != in->cpupool )
    {
        xc_cpupool_infofree(b->xch, pool);
        return -EAGAIN;
    }
    sched_id = pool->sched_id;
    xc_cpupool_infofree(b->xch, pool);
    rc = xenb__sched_find(sched_id, s);
    bit = 1ull << (sched_id < 63 ? sched_id : 63);
    if ( rc && !(b->sched_logged & bit) )
    {
        /* The backend's one way to say why: set_sched has only -errno,
         * and the daemon only counts it. */
        b->sched_logged |= bit;
        xlog(LOG_WARNING, "backend xen: cpupool %u runs the %s scheduler "
             "(id %u), which has no weight and cap: its domains keep theirs "
             "(xenosd drives credit and credit2)", in->cpupool,
             xenb__sched_name(sched_id), sched_id);
    }
    return rc;
}

/* Read the scheduler's record of @domid, set weight and cap, write it
 * back: whatever else the record holds keeps its value. */
static int xenb_sched_put(struct xenb *b, const struct xenb__sched *s,
                          uint32_t domid, uint16_t w, uint16_t c)
{
    errno = 0;
    switch ( s->iface )
    {
    case XENB_IFACE_CREDIT:
    {
        struct xen_domctl_sched_credit p;

        if ( xc_sched_credit_domain_get(b->xch, domid, &p) )
            return xenb_errno();
        p.weight = w;
        p.cap = c;
        return xc_sched_credit_domain_set(b->xch, domid, &p) ? xenb_errno()
                                                             : 0;
    }
    case XENB_IFACE_CREDIT2:
    {
        struct xen_domctl_sched_credit2 p;

        if ( xc_sched_credit2_domain_get(b->xch, domid, &p) )
            return xenb_errno();
        p.weight = w;
        p.cap = c;
        return xc_sched_credit2_domain_set(b->xch, domid, &p)
               ? xenb_errno() : 0;
    }
    }
    return -EOPNOTSUPP;
}

static int xenb_sched_get(struct xenb *b, const struct xenb__sched *s,
                          uint32_t domid, uint32_t *w, uint32_t *c)
{
    errno = 0;
    switch ( s->iface )
    {
    case XENB_IFACE_CREDIT:
    {
        struct xen_domctl_sched_credit p;

        if ( xc_sched_credit_domain_get(b->xch, domid, &p) )
            return xenb_errno();
        *w = p.weight;
        *c = p.cap;
        return 0;
    }
    case XENB_IFACE_CREDIT2:
    {
        struct xen_domctl_sched_credit2 p;

        if ( xc_sched_credit2_domain_get(b->xch, domid, &p) )
            return xenb_errno();
        *w = p.weight;
        *c = p.cap;
        return 0;
    }
    }
    return -EOPNOTSUPP;
}

static int xen_set_sched(void *state, const char *uuid, uint32_t weight,
                         uint32_t cap_pct)
{
    struct xenb *b = xenb_of(state);
    const struct xenb__sched *s = NULL;
    xc_domaininfo_t in;
    uint16_t w, c;
    int rc;

    if ( !b )
        return -EINVAL;
    rc = xenb_locate(b, uuid, &in);
    if ( !rc )
        rc = xenb_sched_of(b, &in, &s);
    if ( !rc )
        rc = xenb__sched_args(s, xenb_nr_vcpus(&in), weight, cap_pct, &w,
                              &c);
    if ( !rc )
        rc = xenb_sched_put(b, s, in.domain, w, c);
    return rc;
}

static int xen_get_sched(void *state, const char *uuid, uint32_t *weight,
                         uint32_t *cap_pct)
{
    struct xenb *b = xenb_of(state);
    const struct xenb__sched *s = NULL;
    xc_domaininfo_t in;
    int rc;

    if ( !b )
        return -EINVAL;
    rc = xenb_locate(b, uuid, &in);
    if ( !rc )
        rc = xenb_sched_of(b, &in, &s);
    if ( !rc )
        rc = xenb_sched_get(b, s, in.domain, weight, cap_pct);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */

static void xenb_free(struct xenb *b)
{
    uint32_t i;

    if ( !b )
        return;
    for ( i = 0; i < b->nr_doms; i++ )
        xenb_dom_clear(&b->doms[i]);
    if ( b->xst )
        xenstat_uninit(b->xst);
    if ( b->xsh )
        xs_close(b->xsh);
    if ( b->hfs )
        xenhypfs_close(b->hfs);
    free(b->stats);
    if ( b->xch )
        xc_interface_close(b->xch);
    free(b->key);
    free(b->info);
    free(b->doms);
    free(b->spare);
    free(b->by_uuid);
    free(b->xsd);
    b->magic = 0;
    free(b);
}

/* open's args: tenant_key=PATH; state_dir= is for backends with state of
 * their own (xenosd passes it to all) and is not ours to use. */
static int xenb_opts(struct xenb *b, const char *const *args, char *err,
                     size_t errlen)
{
    const char *key = XENB_KEY_DEFAULT, *why;

    for ( ; args && *args; args++ )
    {
        const char *eq = strchr(*args, '=');
        size_t klen = eq ? (size_t)(eq - *args) : strlen(*args);

        if ( eq && klen == 10 && !strncmp(*args, "tenant_key", 10) )
            key = eq + 1;
        else if ( !(eq && klen == 9 && !strncmp(*args, "state_dir", 9)) )
        {
            snprintf(err, errlen, "unknown option '%.*s' (the xen backend "
                     "takes tenant_key)", (int)(klen > 64 ? 64 : klen),
                     *args);
            return -EINVAL;
        }
    }
    why = xenb__key_problem(key);
    if ( why )
    {
        snprintf(err, errlen, "tenant key '%.64s%s' %s", key,
                 strlen(key) > 64 ? "..." : "", why);
        return -EINVAL;
    }
    b->key = strdup(key);
    return b->key ? 0 : -ENOMEM;
}

#define XENB_SYSFS_VBD          "/sys/bus/xen-backend/devices"

/*
 * One libxenstat reading, to fail at open rather than at every sample.
 * libxenstat reads VBD statistics under XENB_SYSFS_VBD, which only a
 * kernel with Xen's backend bus has; without it every reading fails, so
 * then we sample without disk counters, and say so once.
 */
static int xenb_probe_xenstat(struct xenb *b, char *err, size_t errlen)
{
    xenstat_node *node;
    int rc;

    b->xst_flags = XENSTAT_ALL;
    errno = 0;
    node = xenstat_get_node(b->xst, b->xst_flags);
    if ( !node && access(XENB_SYSFS_VBD, R_OK) )
    {
        xlog(LOG_WARNING, "backend xen: no %s (%s): sampling without "
             "disk counters", XENB_SYSFS_VBD, strerror(errno));
        b->xst_flags &= ~XENSTAT_VBD;
        errno = 0;
        node = xenstat_get_node(b->xst, b->xst_flags);
    }
    if ( !node )
    {
        rc = xenb_errno();
        snprintf(err, errlen, "libxenstat cannot read the host: %s",
                 strerror(-rc));
        return rc;
    }
    xenstat_free_node(node);
    return 0;
}

static int xen_open(const char *const *args, void **state, char *err,
                    size_t errlen)
{
    struct xenb *b = calloc(1, sizeof(*b));
    xc_domaininfo_t probe;
    int rc;

    *state = NULL;
    if ( errlen )
        err[0] = '\0';
    if ( !b )
        return -ENOMEM;
    b->magic = XENB_MAGIC;
    /* Options first: a mistake in them shows on any machine. */
    rc = xenb_opts(b, args, err, errlen);
    if ( rc )
        goto out_free;
    rc = xenb__dom0_check(XENB_CAPS_PATH, err, errlen);
    if ( rc )
        goto out_free;
    errno = 0;
    b->xch = xc_interface_open(NULL, NULL, 0);
    if ( !b->xch )
    {
        rc = xenb_errno();
        snprintf(err, errlen, "cannot open libxenctrl (/dev/xen/privcmd): "
                 "%s: run xenosd in dom0 as root", strerror(-rc));
        goto out_free;
    }
    errno = 0;
    b->xsh = xs_open(0);
    if ( !b->xsh )
    {
        rc = xenb_errno();
        snprintf(err, errlen, "cannot connect to xenstore: %s (is "
                 "xenstored running?)", strerror(-rc));
        goto out_free;
    }
    errno = 0;
    b->xst = xenstat_init();
    if ( !b->xst )
    {
        rc = xenb_errno();
        snprintf(err, errlen, "libxenstat: cannot start: %s",
                 strerror(-rc));
        goto out_free;
    }
    /* Fail here rather than at every sample if we may not list domains
     * (an XSM policy, say): dom0 itself is always there to list. */
    errno = 0;
    if ( xc_domain_getinfolist(b->xch, 0, 1, &probe) < 1 )
    {
        rc = xenb_errno();
        snprintf(err, errlen, "cannot list domains: %s", strerror(-rc));
        goto out_free;
    }
    rc = xenb_probe_xenstat(b, err, errlen);
    if ( rc )
        goto out_free;
    /* Read once: the host cannot reboot under a daemon in its dom0.  None
     * readable leaves it "": the collector then takes the host clock
     * going back for a reboot. */
    xenb__boot_id(XENB_BOOT_ID_PATH, b->boot_id);
    /* Optional: without hypfs (an old or trimmed Xen) the contention
     * counters are unavailable, nothing else changes. */
    b->hfs = xenhypfs_open(NULL, 0);
    *state = b;
    return 0;

 out_free:
    xenb_free(b);
    return rc;
}

static void xen_close(void *state)
{
    xenb_free(xenb_of(state));
}

const struct acct_backend_ops acct_backend_xen = {
    .version = ACCT_BACKEND_V1,
    .name = "xen",
    .open = xen_open,
    .sample = xen_sample,
    .set_sched = xen_set_sched,
    .get_sched = xen_get_sched,
    .close = xen_close,
};
