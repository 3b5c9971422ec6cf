/*
 * collector.c: samples in, usage out, nothing lost and nothing counted
 * twice.
 *
 * Everything is keyed by domain uuid: domids change on reboot and
 * migration.  For each uuid the collector keeps the raw counters it last
 * saw and the usage it has accounted.  A new sample gives a delta per
 * counter:
 * - same domid, counter grew: the growth;
 * - same domid, counter went back (seen with credit1 under an emulated
 *   clock, or a device unplugged): nothing, and for CPU time the higher
 *   reading is kept, so the same nanoseconds are never counted twice;
 * - a new life: new domid (a reboot, or a migration back) or creation
 *   time, or any domain after a host reboot: the new counters in full,
 *   since they restarted from zero;
 * - a uuid never seen: in full too (it was created since the last sample),
 *   except in the very first sample of a fresh start, which is only a
 *   baseline: what ran before xenosd existed is not this interval's.
 * A domain that vanishes keeps its totals; its last interval was closed by
 * the last sample that saw it.
 *
 * Host reboots: a sample names the host's boot (a random id per boot); a
 * record remembers the boot it was last seen in (as a sequence number,
 * boot_seq), so a record of an older boot holds the last counters of a
 * life that ended with that boot: its growth since the last sample died
 * with the host, unseen and unbillable, and the uuid's life in the new
 * boot is counted from zero whatever its domid (Xen restarts them at 1).
 * Without a boot id (a backend that cannot tell, or a checkpoint written
 * before there were any) the host clock going back marks a reboot:
 * both backends sample on a clock that restarts with the host and never
 * goes back otherwise.  A counter that goes back within one boot is a
 * glitch (counter_backwards), never a new life.
 *
 * The checkpoint (checkpoint.c) holds the raw counters and the totals
 * together, written atomically after each interval.  After a crash the
 * next run computes its deltas from the checkpoint's counters, so
 * whatever happened since is counted exactly once, whichever moment the
 * crash came at.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/fileio.h>
#include <xenos/strmap.h>
#include <xenos/text.h>

#include "collector_impl.h"

#define SECTOR_BYTES    512u

const char *const acct_dom_state_names[ACCT_NR_DOM_STATES] = {
    [ACCT_DOM_RUNNING] = "running",
    [ACCT_DOM_BLOCKED] = "blocked",
    [ACCT_DOM_PAUSED] = "paused",
    [ACCT_DOM_SHUTDOWN] = "shutdown",
    [ACCT_DOM_CRASHED] = "crashed",
    [ACCT_DOM_DYING] = "dying",
};

const uint32_t acct_window_le_pct[ACCT_NR_WINDOWS - 1] = {
    25, 50, 75, 90, 98, 100, 102, 105, 110, 125, 150,
};

uint32_t acct_window_peak_pct(unsigned int b, uint32_t cap_pct,
                              uint32_t nr_vcpus)
{
    uint64_t all = 100 * (uint64_t)(nr_vcpus ? nr_vcpus : 1);
    uint64_t ref = cap_pct ? cap_pct : 100, p;

    if ( b >= ACCT_NR_WINDOWS - 1 )
        return (uint32_t)all;
    p = (acct_window_le_pct[b] * ref + 99) / 100;
    return (uint32_t)(p < all ? p : all);
}

const char *const acct_err_names[ACCT_NR_ERR_KINDS] = {
    [ACCT_ERR_SAMPLE] = "sample",
    [ACCT_ERR_DOMAIN] = "domain",
    [ACCT_ERR_SET_SCHED] = "set_sched",
    [ACCT_ERR_CHECKPOINT] = "checkpoint",
    [ACCT_ERR_COUNTER_BACK] = "counter_backwards",
};

/* ------------------------------------------------------------------ */
/* Records by uuid                                                     */

static const char *dom_key(const void *doms, uint32_t i)
{
    return ((const struct acct_dom *)doms)[i].uuid;
}

struct acct_dom *acct__dom_find(const struct acct_collector *c,
                                const char *uuid)
{
    long i = strmap_find(&c->index, uuid, dom_key, c->doms);

    return i < 0 ? NULL : &c->doms[i];
}

const struct acct_dom *acct_collector_find(const struct acct_collector *c,
                                           const char *uuid)
{
    return acct__dom_find(c, uuid);
}

struct acct_dom *acct__dom_add(struct acct_collector *c, const char *uuid)
{
    struct acct_dom *d;

    if ( c->nr_doms == c->cap_doms )
    {
        uint32_t cap = c->cap_doms ? c->cap_doms * 2 : 64;
        struct acct_dom *n = realloc(c->doms, cap * sizeof(*n));

        if ( !n )
            return NULL;
        c->doms = n;
        c->cap_doms = cap;
    }
    d = &c->doms[c->nr_doms];
    memset(d, 0, sizeof(*d));
    snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
    if ( strmap_add(&c->index, c->nr_doms, dom_key, c->doms) )
        return NULL;
    c->nr_doms++;
    return d;
}

void acct_collector_snapshot(const struct acct_collector *c,
                             struct acct_snapshot *s)
{
    s->doms = c->doms;
    s->nr_doms = c->nr_doms;
    s->tenants = c->tenants;
    s->nr_tenants = c->nr_tenants;
    s->boot_id = c->boot_id;
    s->host_reboots = c->host_reboots;
    s->last_sample_ns = c->last_sample_ns;
    s->intervals = c->intervals;
    s->errors = c->errors;
    s->have_baseline = c->have_baseline;
}

const char *acct_collector_path(const struct acct_collector *c)
{
    return c->checkpoint_path;
}

/* The tenant named @name (NULL: "-"), or NULL. */
static struct acct_tenant *tenant_find(const struct acct_collector *c,
                                       const char *name)
{
    uint32_t i;

    if ( !name )
        name = "-";
    for ( i = 0; i < c->nr_tenants; i++ )
        if ( !strcmp(c->tenants[i].name, name) )
            return &c->tenants[i];
    return NULL;
}

const struct acct_tenant *
acct_collector_find_tenant(const struct acct_collector *c, const char *name)
{
    return tenant_find(c, name);
}

struct acct_tenant *acct__tenant(struct acct_collector *c, const char *name)
{
    struct acct_tenant *t = tenant_find(c, name);

    if ( t )
        return t;
    if ( !name )
        name = "-";
    if ( c->nr_tenants == c->cap_tenants )
    {
        uint32_t cap = c->cap_tenants ? c->cap_tenants * 2 : 16;
        struct acct_tenant *n = realloc(c->tenants, cap * sizeof(*n));

        if ( !n )
            return NULL;
        c->tenants = n;
        c->cap_tenants = cap;
    }
    t = &c->tenants[c->nr_tenants];
    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    if ( !t->name )
        return NULL;
    c->nr_tenants++;
    return t;
}

int acct_collector_set_sched(struct acct_collector *c, const char *uuid,
                             uint32_t weight, uint32_t cap_pct)
{
    struct acct_dom *d = acct__dom_find(c, uuid);

    if ( !d )
        return -ENOENT;
    d->weight = weight;
    d->cap_pct = cap_pct;
    return 0;
}

int acct_collector_set_tenant_sched(struct acct_collector *c,
                                    const char *name, uint32_t weight,
                                    uint32_t cap_pct)
{
    struct acct_tenant *t = tenant_find(c, name);

    if ( !t )
        return -ENOENT;
    t->weight = weight;
    t->cap_pct = cap_pct;
    return 0;
}

void acct_collector_count_error(struct acct_collector *c,
                                enum acct_err_kind kind)
{
    if ( kind < ACCT_NR_ERR_KINDS )
        c->errors[kind]++;
}

/* ------------------------------------------------------------------ */
/* Deltas                                                              */

static void raw_of(const struct acct_domain *d, struct acct_raw *r)
{
    uint32_t i;

    memset(r, 0, sizeof(*r));
    r->cpu_ns = d->cpu_ns;
    for ( i = 0; i < d->nr_vbds; i++ )
    {
        r->vbd_rd_reqs += d->vbds[i].rd_reqs;
        r->vbd_wr_reqs += d->vbds[i].wr_reqs;
        r->vbd_rd_sectors += d->vbds[i].rd_sectors;
        r->vbd_wr_sectors += d->vbds[i].wr_sectors;
    }
    for ( i = 0; i < d->nr_vifs; i++ )
    {
        r->vif_rx_bytes += d->vifs[i].rx_bytes;
        r->vif_tx_bytes += d->vifs[i].tx_bytes;
        r->vif_rx_pkts += d->vifs[i].rx_pkts;
        r->vif_tx_pkts += d->vifs[i].tx_pkts;
        r->vif_rx_errs += d->vifs[i].rx_errs;
        r->vif_tx_errs += d->vifs[i].tx_errs;
        r->vif_rx_drop += d->vifs[i].rx_drop;
        r->vif_tx_drop += d->vifs[i].tx_drop;
    }
    r->wait_ns = d->wait_ns;
    r->throttled_ns = d->throttled_ns;
}

/*
 * Growth of one counter from *@last to @now, updating *@last.  @keep_max:
 * a reading below the last one is a glitch and the last stays (CPU time);
 * otherwise the lower reading becomes the base (a device went away).
 */
static uint64_t grow(uint64_t *last, uint64_t now, bool keep_max,
                     bool *backwards)
{
    uint64_t d;

    if ( now >= *last )
    {
        d = now - *last;
        *last = now;
        return d;
    }
    *backwards = true;
    if ( !keep_max )
        *last = now;
    return 0;
}

static void usage_add(struct acct_usage *u, const struct acct_usage *d)
{
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help) u->name += d->name;
#include <xenos/counters.def>
#undef XENOS_COUNTER
}

/* Delta of every counter from @rec->last to @now; @fresh: from zero. */
static void delta_of(struct acct_dom *rec, const struct acct_raw *now,
                     bool fresh, struct acct_usage *u, bool *backwards)
{
    struct acct_raw *l = &rec->last;

    if ( fresh )
        memset(l, 0, sizeof(*l));
    u->cpu_ns = grow(&l->cpu_ns, now->cpu_ns, true, backwards);
    u->vbd_read_ops = grow(&l->vbd_rd_reqs, now->vbd_rd_reqs, false,
                          backwards);
    u->vbd_write_ops = grow(&l->vbd_wr_reqs, now->vbd_wr_reqs, false,
                          backwards);
    u->vbd_read_bytes = SECTOR_BYTES *
        grow(&l->vbd_rd_sectors, now->vbd_rd_sectors, false, backwards);
    u->vbd_write_bytes = SECTOR_BYTES *
        grow(&l->vbd_wr_sectors, now->vbd_wr_sectors, false, backwards);
    u->vif_rx_bytes = grow(&l->vif_rx_bytes, now->vif_rx_bytes, false,
                           backwards);
    u->vif_tx_bytes = grow(&l->vif_tx_bytes, now->vif_tx_bytes, false,
                           backwards);
    u->vif_rx_packets = grow(&l->vif_rx_pkts, now->vif_rx_pkts, false,
                          backwards);
    u->vif_tx_packets = grow(&l->vif_tx_pkts, now->vif_tx_pkts, false,
                          backwards);
    u->vif_rx_errors = grow(&l->vif_rx_errs, now->vif_rx_errs, false,
                          backwards);
    u->vif_tx_errors = grow(&l->vif_tx_errs, now->vif_tx_errs, false,
                          backwards);
    u->vif_rx_drops = grow(&l->vif_rx_drop, now->vif_rx_drop, false,
                          backwards);
    u->vif_tx_drops = grow(&l->vif_tx_drop, now->vif_tx_drop, false,
                          backwards);
    u->wait_ns = grow(&l->wait_ns, now->wait_ns, true, backwards);
    u->throttled_ns = grow(&l->throttled_ns, now->throttled_ns, true,
                           backwards);
}

static int vcpus_resize(struct acct_dom *rec, uint32_t n)
{
    uint64_t *last, *total, *delta;

    if ( n <= rec->nr_vcpus )
        return 0;
    last = realloc(rec->vcpu_last_ns, n * sizeof(*last));
    if ( !last )
        return -ENOMEM;
    rec->vcpu_last_ns = last;
    total = realloc(rec->vcpu_total_ns, n * sizeof(*total));
    if ( !total )
        return -ENOMEM;
    rec->vcpu_total_ns = total;
    delta = realloc(rec->vcpu_delta_ns, n * sizeof(*delta));
    if ( !delta )
        return -ENOMEM;
    rec->vcpu_delta_ns = delta;
    memset(&last[rec->nr_vcpus], 0, (n - rec->nr_vcpus) * sizeof(*last));
    memset(&total[rec->nr_vcpus], 0, (n - rec->nr_vcpus) * sizeof(*total));
    memset(&delta[rec->nr_vcpus], 0, (n - rec->nr_vcpus) * sizeof(*delta));
    rec->nr_vcpus = n;
    return 0;
}

static int set_str(char **dst, const char *src)
{
    char *n;

    if ( (!*dst && !src) || (*dst && src && !strcmp(*dst, src)) )
        return 0;
    n = src ? strdup(src) : NULL;
    if ( src && !n )
        return -ENOMEM;
    free(*dst);
    *dst = n;
    return 0;
}

/* Did dying life @d end before the life @rec tracks began?  By creation
 * time where the host gives one, else by domid. */
static bool life_older(const struct acct_domain *d,
                       const struct acct_dom *rec)
{
    if ( rec->created_ns != ACCT_CREATED_UNKNOWN &&
         d->created_ns != rec->created_ns )
        return d->created_ns < rec->created_ns;
    return d->domid < rec->domid;
}

/* Is @d another life than the one @rec tracks, within the same boot? */
static bool life_other(const struct acct_domain *d,
                       const struct acct_dom *rec)
{
    return rec->domid != d->domid ||
           (rec->created_ns != ACCT_CREATED_UNKNOWN &&
            rec->created_ns != d->created_ns);
}

/*
 * Has the host rebooted since the last sample?  Boot ids say so when both
 * are known; else the host clock going back does (it restarts with the
 * host and never goes back within a boot).  The first sample of a fresh
 * start has nothing to compare with.
 */
static bool host_rebooted(const struct acct_collector *c,
                          const struct acct_sample *s)
{
    if ( !c->have_baseline )
        return false;
    if ( s->boot_id[0] && c->boot_id[0] )
        return strcmp(s->boot_id, c->boot_id) != 0;
    return s->time_ns < c->last_sample_ns;
}

/* Is any of @d's scheduler counters below what @rec saw last? */
static bool sched_counters_restarted(const struct acct_domain *d,
                                     const struct acct_dom *rec)
{
    unsigned int b;

    if ( d->wait_ns < rec->last.wait_ns ||
         d->throttled_ns < rec->last.throttled_ns )
        return true;
    for ( b = 0; b < ACCT_NR_WINDOWS; b++ )
        if ( d->windows[b] < rec->win_last[b] )
            return true;
    return false;
}

/*
 * Count @n windows of @d's that closed in bucket @b into @u.  They were
 * judged against the cap in force when each closed; the cap the sample
 * reports is the one of the whole interval, but for windows that closed
 * between the last sample and xenosd setting a new cap just after it.
 * An uncapped domain's windows are against one pCPU: none is capped.
 */
static void window_counts(struct acct_usage *u, const struct acct_domain *d,
                          unsigned int b, uint64_t n)
{
    if ( !d->sched_cap_pct )
        return;
    u->capped_windows += n;
    if ( b >= ACCT_NR_WINDOWS - 1 ||
         acct_window_le_pct[b] > ACCT_WINDOW_OVER_CAP_PCT )
        u->over_cap_windows += n;
}

/* Account one domain of a sample taken @dt_ns after the last one. */
static int update_dom(struct acct_collector *c, const struct acct_domain *d,
                      const char *tenant_name, uint64_t now_ns,
                      uint64_t dt_ns)
{
    struct acct_dom *rec = acct__dom_find(c, d->uuid);
    bool dying = d->state == ACCT_DOM_DYING;
    struct acct_tenant *t;
    struct acct_usage u = { 0 };
    struct acct_raw raw;
    bool fresh, baseline = false, backwards = false;
    uint32_t i;

    /*
     * A dying domain is a life that ended, with its final counters.  Its
     * domid (creation time, where known) says which life: the one we track
     * (count its last growth), a later one we never saw (count it whole),
     * or an older one, already counted (nothing).  Xen hands out domids in
     * increasing order within a boot; a record of an older boot tracks no
     * life of this one.
     */
    if ( dying && (rec ? rec->boot_seq == c->boot_seq &&
                         life_older(d, rec)
                       : !c->have_baseline) )
        return 0;
    if ( !rec )
    {
        rec = acct__dom_add(c, d->uuid);
        if ( !rec )
            return -ENOMEM;
        rec->domid = d->domid;
        rec->created_ns = d->created_ns;
        rec->boot_seq = c->boot_seq;
        /* Created since the last sample: all of it is new.  On the first
         * sample of a fresh start it is only the baseline. */
        fresh = c->have_baseline;
        baseline = !fresh;
    }
    else
        fresh = rec->boot_seq != c->boot_seq || life_other(d, rec);
    if ( fresh && rec->last_seen_ns )
    {
        rec->resets++;
        /* The new life has the host's defaults, not what we set on the
         * old one: make xenosd apply the tenant policy to it again. */
        rec->weight = rec->cap_pct = 0;
    }
    /*
     * Moved to another scheduler instance (xl cpupool-migrate): that one
     * made its own record of the domain, with its defaults, so the weight
     * and cap we set are gone; apply the policy again.  Its counters go
     * on (a move is no new life), but for the scheduler's own (below).
     * After a restart the group is not known yet: that costs one needless
     * set at most.
     */
    if ( rec->sched_group != d->sched_group )
    {
        if ( rec->last_seen_ns && !fresh )
            rec->weight = rec->cap_pct = 0;
        rec->sched_group = d->sched_group;
    }
    rec->boot_seq = c->boot_seq;
    rec->created_ns = d->created_ns;
    if ( set_str(&rec->name, d->name) )
        return -ENOMEM;
    if ( set_str(&rec->tenant, tenant_name) )
        return -ENOMEM;
    rec->present |= !dying;
    rec->state = d->state;
    rec->error = d->error;
    rec->domid = d->domid;
    rec->last_seen_ns = now_ns;
    t = acct__tenant(c, tenant_name);
    if ( !t )
        return -ENOMEM;
    t->nr_domains += !dying;
    if ( d->error )
    {
        /* Counters unknown: counted at its next good sample, from zero
         * if this is a new life (its record now says it is the one). */
        if ( fresh )
        {
            memset(&rec->last, 0, sizeof(rec->last));
            for ( i = 0; i < rec->nr_vcpus; i++ )
                rec->vcpu_last_ns[i] = 0;
        }
        c->errors[ACCT_ERR_DOMAIN]++;
        return 0;
    }

    raw_of(d, &raw);
    /* Without the scheduler's counters (a dying life, a stock scheduler)
     * they stay where they were: no growth, and no glitch either. */
    if ( !d->sched_stats && !fresh )
    {
        raw.wait_ns = rec->last.wait_ns;
        raw.throttled_ns = rec->last.throttled_ns;
    }
    if ( !dying )
        rec->sched_stats = d->sched_stats;
    /*
     * The scheduler's counters are its instance's: a move to another
     * cpupool starts them again at zero (sched/xen/adapter.c), which no
     * reading of one instance ever does.  Count them from zero then, as
     * for a new life, rather than wait for them to pass the old totals.
     */
    if ( d->sched_stats && !fresh && !baseline &&
         sched_counters_restarted(d, rec) )
    {
        rec->last.wait_ns = rec->last.throttled_ns = 0;
        memset(rec->win_last, 0, sizeof(rec->win_last));
    }
    if ( d->sched_stats )
    {
        /* The highest bucket a window of this interval fell in bounds
         * its use; a fresh life's histogram starts from zero. */
        unsigned int b, top = ACCT_NR_WINDOWS;

        if ( fresh )
            memset(rec->win_last, 0, sizeof(rec->win_last));
        for ( b = 0; b < ACCT_NR_WINDOWS; b++ )
        {
            if ( d->windows[b] > rec->win_last[b] && !baseline )
            {
                top = b;
                window_counts(&u, d, b, d->windows[b] - rec->win_last[b]);
            }
            if ( d->windows[b] >= rec->win_last[b] || fresh )
                rec->win_last[b] = d->windows[b];
        }
        if ( top < ACCT_NR_WINDOWS )
            rec->peak_window_pct = acct_window_peak_pct(top,
                                                        d->sched_cap_pct,
                                                        d->nr_vcpus);
    }
    t->sched_stats |= !dying && d->sched_stats;
    if ( baseline )
        rec->last = raw;
    delta_of(rec, &raw, fresh, &u, &backwards);
    if ( vcpus_resize(rec, d->nr_vcpus) )
        return -ENOMEM;
    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        bool b = false;
        uint64_t ns;

        if ( fresh )
            rec->vcpu_last_ns[i] = 0;
        if ( baseline )
            rec->vcpu_last_ns[i] = d->vcpus[i].cpu_ns;
        ns = grow(&rec->vcpu_last_ns[i], d->vcpus[i].cpu_ns, true, &b);
        rec->vcpu_total_ns[i] += ns;
        rec->vcpu_delta_ns[i] += ns;
    }
    if ( backwards )
        c->errors[ACCT_ERR_COUNTER_BACK]++;

    /* Memory is a level, not a counter: charge it over the interval. */
    {
        unsigned __int128 bns = (unsigned __int128)d->mem_cur_bytes * dt_ns +
                                rec->mem_rem;

        u.memory_byte_seconds = (uint64_t)(bns / 1000000000u);
        rec->mem_rem = (uint64_t)(bns % 1000000000u);
    }
    if ( !dying )
    {
        rec->online_vcpus = d->online_vcpus;
        rec->mem_cur_bytes = d->mem_cur_bytes;
        rec->mem_max_bytes = d->mem_max_bytes;
        rec->mem_target_bytes = d->mem_target_bytes;
        rec->interval_ns = dt_ns;
    }
    /* A dying life and its successor can share a sample: add up. */
    usage_add(&rec->delta, &u);
    usage_add(&rec->total, &u);
    usage_add(&t->delta, &u);
    usage_add(&t->total, &u);
    return 0;
}

int acct_collector_update(struct acct_collector *c,
                          const struct acct_sample *s,
                          acct_tenant_cb tenant_of, void *ctx)
{
    uint64_t dt = c->last_sample_ns && s->time_ns > c->last_sample_ns
                  ? s->time_ns - c->last_sample_ns : 0;
    uint32_t i;
    int rc, pass;

    if ( host_rebooted(c, s) )
    {
        /* Every life we track ended with the old boot.  Memory of the new
         * lives is charged from the host's boot, its clock's zero. */
        c->boot_seq++;
        c->host_reboots++;
        dt = s->time_ns;
    }
    if ( s->boot_id[0] )
        memcpy(c->boot_id, s->boot_id, sizeof(c->boot_id));

    for ( i = 0; i < c->nr_doms; i++ )
    {
        struct acct_dom *rec = &c->doms[i];

        rec->present = false;
        memset(&rec->delta, 0, sizeof(rec->delta));
        rec->peak_window_pct = 0;
        if ( rec->nr_vcpus )
            memset(rec->vcpu_delta_ns, 0,
                   rec->nr_vcpus * sizeof(*rec->vcpu_delta_ns));
    }
    for ( i = 0; i < c->nr_tenants; i++ )
    {
        memset(&c->tenants[i].delta, 0, sizeof(c->tenants[i].delta));
        c->tenants[i].nr_domains = 0;
        c->tenants[i].sched_stats = false;
    }
    /* Dying lives first: their last growth belongs to the life we were
     * tracking, before a successor in the same sample starts a new one. */
    for ( pass = 0; pass < 2; pass++ )
        for ( i = 0; i < s->nr_domains; i++ )
        {
            const struct acct_domain *d = &s->domains[i];

            if ( (d->state == ACCT_DOM_DYING) != (pass == 0) )
                continue;
            rc = update_dom(c, d, tenant_of ? tenant_of(ctx, d) : NULL,
                            s->time_ns, dt);
            if ( rc )
                return rc;
        }
    c->have_baseline = true;
    c->last_sample_ns = s->time_ns;
    c->intervals++;
    return 0;
}

static void collector_clear(struct acct_collector *c)
{
    uint32_t i;

    for ( i = 0; i < c->nr_doms; i++ )
    {
        free(c->doms[i].name);
        free(c->doms[i].tenant);
        free(c->doms[i].vcpu_last_ns);
        free(c->doms[i].vcpu_total_ns);
        free(c->doms[i].vcpu_delta_ns);
    }
    for ( i = 0; i < c->nr_tenants; i++ )
        free(c->tenants[i].name);
    free(c->doms);
    strmap_free(&c->index);
    free(c->tenants);
    c->doms = NULL;
    c->tenants = NULL;
    c->nr_doms = c->cap_doms = 0;
    c->nr_tenants = c->cap_tenants = 0;
    c->have_baseline = false;
    c->boot_id[0] = '\0';
    c->boot_seq = c->host_reboots = 0;
    c->last_sample_ns = c->intervals = 0;
    memset(c->errors, 0, sizeof(c->errors));
}

int acct_collector_alloc(struct acct_collector **cp,
                         const char *checkpoint_path, char *err,
                         size_t errlen)
{
    char dir[PATH_MAX], aside[NAME_MAX + 1];
    struct acct_collector *c;
    const char *slash;
    int rc;

    *cp = NULL;
    c = calloc(1, sizeof(*c));
    if ( !c )
        return -ENOMEM;
    c->dir_fd = -1;
    slash = strrchr(checkpoint_path, '/');
    if ( snprintf(dir, sizeof(dir), "%.*s",
                  slash ? (int)(slash - checkpoint_path) : 1,
                  slash ? checkpoint_path : ".") >= (int)sizeof(dir) )
    {
        rc = -ENAMETOOLONG;
        goto out_free;
    }
    if ( slash == checkpoint_path )
        snprintf(dir, sizeof(dir), "/");
    c->checkpoint_path = strdup(checkpoint_path);
    if ( !c->checkpoint_path )
    {
        rc = -ENOMEM;
        goto out_free;
    }
    c->checkpoint_name = c->checkpoint_path +
                         (slash ? slash + 1 - checkpoint_path : 0);
    rc = fio_dir_open(dir, false, err, errlen);
    if ( rc < 0 )
        goto out_free;
    c->dir_fd = rc;
    rc = acct__checkpoint_load(c, err, errlen);
    if ( rc == -EBADMSG )
    {
        /* Keep the evidence, start afresh, and say so. */
        collector_clear(c);
        snprintf(aside, sizeof(aside), "%s.corrupt", c->checkpoint_name);
        if ( renameat(c->dir_fd, c->checkpoint_name, c->dir_fd, aside) )
            snprintf(err + strlen(err), errlen - strlen(err),
                     "; could not move it aside: %s", strerror(errno));
    }
    else if ( rc == -ENOENT )
        rc = 0;
    else if ( rc )
    {
        snprintf(err, errlen, "%s: %s%s", checkpoint_path, fio_strerror(rc),
                 rc == -ELOOP || rc == -EINVAL ? ": refusing to read it "
                 "(remove it to start afresh)" : "");
        goto out_free;
    }
    *cp = c;
    return rc;

 out_free:
    acct_collector_free(c);
    return rc;
}

void acct_collector_free(struct acct_collector *c)
{
    if ( !c )
        return;
    collector_clear(c);
    if ( c->dir_fd >= 0 )
        close(c->dir_fd);
    free(c->checkpoint_path);
    txt_buf_free(&c->ckpt_buf);
    free(c);
}
