/*
 * acct.h: xenosd's accounting layer: backends that sample a host, and the
 * collector that turns samples into usage per domain (by uuid) and tenant.
 *
 * A backend is a versioned ops table found by name (acct_backend_find), as
 * SQLite finds a VFS: new methods are only ever appended and `version`
 * says how many there are.  The caller owns every sample buffer.
 */
#ifndef XENOS_ACCT_H
#define XENOS_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#define ACCT_UUID_LEN       36          /* "xxxxxxxx-xxxx-...", no NUL */
#define ACCT_BOOT_ID_MAX    64          /* a host boot identity, no NUL */
#define ACCT_BACKEND_V1     1

enum acct_dom_state {
    ACCT_DOM_RUNNING,
    ACCT_DOM_BLOCKED,
    ACCT_DOM_PAUSED,
    ACCT_DOM_SHUTDOWN,
    ACCT_DOM_CRASHED,
    ACCT_DOM_DYING,
    ACCT_NR_DOM_STATES,
};

/* "running", "blocked", ...: one name per state for every output. */
extern const char *const acct_dom_state_names[ACCT_NR_DOM_STATES];

/*
 * The hypervisor's conformance histogram (sched/stats.c): closed 100 ms
 * windows of a domain by its use relative to the cap in force (one pCPU
 * when uncapped).  acct_window_le_pct: the buckets' upper bounds in
 * percent of that reference, the last bucket unbounded; the same list as
 * sched_stats_bucket_pct (test_stats holds them equal).
 */
#define ACCT_NR_WINDOWS         12
extern const uint32_t acct_window_le_pct[ACCT_NR_WINDOWS - 1];

/*
 * A window is over its cap (the over_cap_windows counter) when its
 * bucket lies above this bound, one of acct_window_le_pct: a cap held to
 * within 2% counts none.  fcredit lets a 100 ms window see a busy capped
 * domain at most a quarter of its 2 ms budget period over the cap (0.5%),
 * so 100% would count windows of a cap that held (docs/exporters.md).
 */
#define ACCT_WINDOW_OVER_CAP_PCT 102

/*
 * The most a domain can have used in one window whose bucket is @b,
 * in percent of one pCPU: the bucket's bound applied to the cap
 * @cap_pct (0: one pCPU), at most all its @nr_vcpus busy.
 */
uint32_t acct_window_peak_pct(unsigned int b, uint32_t cap_pct,
                              uint32_t nr_vcpus);

struct acct_vcpu {
    uint64_t cpu_ns;                    /* since the domain (re)booted */
    bool online;
};

struct acct_vbd {
    uint32_t id;                        /* device number */
    uint64_t rd_reqs, wr_reqs;
    uint64_t rd_sectors, wr_sectors;    /* 512-byte sectors */
};

struct acct_vif {
    uint32_t id;
    uint64_t rx_bytes, tx_bytes;
    uint64_t rx_pkts, tx_pkts;
    uint64_t rx_errs, tx_errs;
    uint64_t rx_drop, tx_drop;
};

/*
 * One domain in a sample.  Counters are cumulative since the domain was
 * created or rebooted; a reboot keeps the uuid and changes the domid.
 * A life of a domain is (host boot, domid, created_ns): any of them
 * changing starts a new one, counted from zero.  Strings point into the
 * sample's own storage.
 */
struct acct_domain {
    char uuid[ACCT_UUID_LEN + 1];
    uint32_t domid;
    uint64_t created_ns;                /* when this life began, host
                                           clock; 0: the backend cannot
                                           tell (domid alone then) */
    const char *name;                   /* as the host has it: untrusted */
    const char *tenant_key;             /* host's tenant key, or NULL */
    enum acct_dom_state state;
    int error;                          /* 0, or -errno: counters invalid */
    uint32_t sched_group;               /* the scheduler instance it runs
                                           under (Xen: its cpupool); 0
                                           where the host has only one */
    uint64_t cpu_ns;
    uint32_t nr_vcpus, online_vcpus;
    struct acct_vcpu *vcpus;
    uint64_t mem_cur_bytes, mem_max_bytes, mem_target_bytes;
    uint32_t nr_vbds, nr_vifs;
    struct acct_vbd *vbds;
    struct acct_vif *vifs;
    /* Contention counted inside the hypervisor (sched/stats.c), since
     * this life began; sched_stats false: the host cannot count them
     * (stock Xen schedulers, rr) and they are unknown, not zero. */
    bool sched_stats;
    uint64_t wait_ns, throttled_ns;
    uint32_t sched_cap_pct;             /* the cap the windows are against */
    uint64_t windows[ACCT_NR_WINDOWS];  /* closed windows, by bucket */
};

struct acct_chunk;

/* A sample: every domain at one moment.  Reused between calls. */
struct acct_sample {
    uint64_t time_ns;                   /* host clock at the sample */
    /* This boot of the host (printable ASCII, no space); "" when the
     * backend cannot tell: a host clock going back then says reboot. */
    char boot_id[ACCT_BOOT_ID_MAX + 1];
    uint32_t nr_pcpus;                  /* the host's; 0: not known */
    uint32_t nr_domains;
    struct acct_domain *domains;
    /* Storage; the backend grows it through acct_sample_*(). */
    uint32_t dom_cap;
    struct acct_chunk *chunks;          /* strings and arrays */
};

void acct_sample_init(struct acct_sample *s);
void acct_sample_free(struct acct_sample *s);
/* Forget the domains, keep the storage for the next sample. */
void acct_sample_reset(struct acct_sample *s);
/*
 * Append a domain (zeroed, error 0) and return it, or NULL when out of
 * memory.  The pointer is good until the next acct_sample_add (the array
 * may move); strings and arrays from acct_sample_str/acct_sample_array stay
 * put until the next reset: they live in chunks that never move.
 */
struct acct_domain *acct_sample_add(struct acct_sample *s);
/* Copy @len bytes of @str (NUL added) into the sample; NULL on ENOMEM. */
const char *acct_sample_str(struct acct_sample *s, const char *str,
                            size_t len);
/* Zeroed array of @n elements of @size; NULL on ENOMEM. */
void *acct_sample_array(struct acct_sample *s, size_t n, size_t size);

struct acct_backend_ops {
    unsigned int version;               /* ACCT_BACKEND_V1 */
    const char *name;                   /* "sim", "xen" */

    /*
     * Connect to the host.  @args is the backend's own option string
     * (sim: the scenario, speed, socket...).  Returns 0 and sets *@state,
     * or -errno with a one-line reason in @err.
     */
    int (*open)(const char *const *args, void **state, char *err,
                size_t errlen);
    /*
     * Every domain now, into @out (reset first by the backend).  A domain
     * that cannot be read gets its error set and is still listed; the
     * call fails (-errno) only if nothing could be read at all.
     */
    int (*sample)(void *state, struct acct_sample *out);
    /* Weight (1..65535) and cap (percent of one pCPU, 0 = none) of the
     * domain with @uuid: 0, -ENOENT, or -errno. */
    int (*set_sched)(void *state, const char *uuid, uint32_t weight,
                     uint32_t cap_pct);
    int (*get_sched)(void *state, const char *uuid, uint32_t *weight,
                     uint32_t *cap_pct);
    void (*close)(void *state);
};

/* The backend named @name, or NULL.  Built-in: "sim" (always), "xen"
 * (when libxen was found at build time). */
const struct acct_backend_ops *acct_backend_find(const char *name);

/* ------------------------------------------------------------------ */
/* Collector: samples -> usage per domain (by uuid) and per tenant.    */

/* Cumulative usage.  Byte-seconds of memory are integer (rounded down per
 * interval, remainder carried). */
struct acct_usage {
#define XENOS_COUNTER(name, ledger, rrd, was, sched, help) uint64_t name;
#include <xenos/counters.def>
#undef XENOS_COUNTER
};

/* Raw counters of one incarnation, as last seen (for deltas). */
struct acct_raw {
    uint64_t cpu_ns;
    uint64_t vbd_rd_reqs, vbd_wr_reqs, vbd_rd_sectors, vbd_wr_sectors;
    uint64_t vif_rx_bytes, vif_tx_bytes, vif_rx_pkts, vif_tx_pkts;
    uint64_t vif_rx_errs, vif_tx_errs, vif_rx_drop, vif_tx_drop;
    uint64_t wait_ns, throttled_ns;     /* kept while !sched_stats */
};

struct acct_dom {
    char uuid[ACCT_UUID_LEN + 1];
    char *name;                         /* owned; untrusted bytes */
    char *tenant;                       /* owned; NULL: unassigned */
    uint32_t domid;
    uint64_t created_ns;                /* of the life last seen */
    uint64_t boot_seq;                  /* the host boot it was seen in */
    bool present;                       /* in the last sample */
    enum acct_dom_state state;
    int error;                          /* of the last sample, -errno */
    struct acct_raw last;               /* raw counters last seen */
    uint32_t nr_vcpus, online_vcpus;
    uint64_t *vcpu_last_ns;             /* raw, per vCPU */
    uint64_t *vcpu_total_ns;            /* accounted, per vCPU */
    uint64_t *vcpu_delta_ns;            /* per vCPU, in the last interval */
    uint64_t mem_cur_bytes, mem_max_bytes, mem_target_bytes;
    uint64_t mem_rem;                   /* byte-ns not yet a byte-second */
    struct acct_usage total;            /* accounted since first seen */
    struct acct_usage delta;            /* in the last interval */
    uint64_t interval_ns;               /* length of that interval */
    uint32_t weight, cap_pct;           /* in force (set by xenosd) */
    uint32_t sched_group;               /* of the last sample (not kept
                                           in the checkpoint) */
    uint64_t last_seen_ns;
    uint64_t resets;                    /* new lives seen (reboots) */
    /* The last sample had the scheduler's counters (SCHED in
     * counters.def): outputs show them for this domain only then. */
    bool sched_stats;
    uint64_t win_last[ACCT_NR_WINDOWS]; /* raw histogram last seen */
    /* The most the domain used in a 100 ms window that closed in the last
     * interval, as an upper bound (acct_window_peak_pct), percent of one
     * pCPU; 0 when none closed or the host does not count. */
    uint32_t peak_window_pct;
};

struct acct_tenant {
    char *name;                         /* owned; "-" for unassigned */
    struct acct_usage total, delta;
    uint32_t nr_domains;                /* present in the last sample */
    uint32_t weight, cap_pct;           /* from the tenant policy */
    /* Some present domain of it had the scheduler's counters in the last
     * sample: its SCHED counters sum those domains only. */
    bool sched_stats;
};

enum acct_err_kind {
    ACCT_ERR_SAMPLE,                    /* the whole sample failed */
    ACCT_ERR_DOMAIN,                    /* one domain could not be read */
    ACCT_ERR_SET_SCHED,                 /* applying weight/cap failed */
    ACCT_ERR_CHECKPOINT,                /* writing the checkpoint failed */
    ACCT_ERR_COUNTER_BACK,              /* a counter went backwards */
    ACCT_NR_ERR_KINDS,
};

extern const char *const acct_err_names[ACCT_NR_ERR_KINDS];

/*
 * The collector, opaque: the daemon holds one (and tests make them); what
 * it holds is read through acct_collector_find*() and, after each update,
 * the read-only acct_snapshot (below), which is all the exporters, the
 * status and the tenant engine see.  Its index, buffers and capacities
 * are its own business (accounting/collector_impl.h).
 */
struct acct_collector;

/*
 * A collector in *@cp with its checkpoint at @checkpoint_path, loaded if
 * it exists.  The directory holding it is opened once and must pass
 * fio_dir_open's checks (ours, not writable by others, not a symbolic
 * link); the checkpoint and its temporary are reached through it and
 * never through a symbolic link.  A missing checkpoint is a fresh start
 * (0).  A damaged one is moved aside to PATH.corrupt, reported in @err,
 * and the collector starts fresh (returns -EBADMSG, *@cp is usable).
 * Other errors (out of memory: -ENOMEM, a checkpoint that is a symbolic
 * link: -ELOOP, a directory that fails the checks: -EPERM, ...): -errno
 * with @err, *@cp NULL.  The caller owns *@cp: acct_collector_free().
 */
int acct_collector_alloc(struct acct_collector **cp,
                         const char *checkpoint_path, char *err,
                         size_t errlen);
/* Close and free @c (NULL: nothing); the checkpoint is not written. */
void acct_collector_free(struct acct_collector *c);

/*
 * Turn @s into usage: deltas per domain keyed by uuid, never negative.  A
 * new life (new domid or creation time, or a host that rebooted: another
 * boot id, or with none known the host clock going back) counts from the
 * new counters, from zero; a domain first seen
 * after the collector's first sample counts from zero; on the very first
 * sample of a fresh start every domain is only a baseline.  A domain with
 * an error keeps its last counters (its usage is counted at its next good
 * sample).  @tenant_of names each domain's tenant (NULL: unassigned).
 * Returns 0, or -ENOMEM with the interval partly accounted: the caller
 * must not checkpoint then (the last checkpoint stays the truth).
 */
typedef const char *(*acct_tenant_cb)(void *ctx, const struct acct_domain *d);
int acct_collector_update(struct acct_collector *c,
                          const struct acct_sample *s,
                          acct_tenant_cb tenant_of, void *ctx);

/* The record of the domain with @uuid, or NULL; valid until the next
 * update. */
const struct acct_dom *acct_collector_find(const struct acct_collector *c,
                                           const char *uuid);
/* The tenant named @name (NULL: the unassigned, "-"), or NULL if no
 * domain of it has been seen; valid until the next update. */
const struct acct_tenant *
acct_collector_find_tenant(const struct acct_collector *c, const char *name);

/*
 * What xenosd has applied, for the status, the exporters and the next
 * interval to compare with: weight and cap in force for the domain with
 * @uuid, and from the tenant policy for tenant @name (NULL: "-").  0, or
 * -ENOENT when there is no such record.  A new life of a domain resets
 * its weight and cap to 0 (the host's defaults: apply them again).
 */
int acct_collector_set_sched(struct acct_collector *c, const char *uuid,
                             uint32_t weight, uint32_t cap_pct);
int acct_collector_set_tenant_sched(struct acct_collector *c,
                                    const char *name, uint32_t weight,
                                    uint32_t cap_pct);
/* Count one error of @kind that happened outside the collector (a failed
 * set_sched); the collector counts its own. */
void acct_collector_count_error(struct acct_collector *c,
                                enum acct_err_kind kind);

/*
 * Write the checkpoint atomically (temporary file created afresh with
 * O_EXCL, fsync, rename, fsync of the directory: fio_replace_at): after a
 * crash the file is the old one or the new one, whole.  0 or -errno (the
 * old checkpoint is then still there).
 */
int acct_collector_checkpoint(struct acct_collector *c);
/* Where the checkpoint is, as given to acct_collector_alloc(). */
const char *acct_collector_path(const struct acct_collector *c);

/*
 * What the collector holds, read-only: what it hands to the exporters, the
 * status and the tenant engine after each update, so that none of them
 * reads the collector's own structures (its index, its buffers, its
 * capacities).  Valid until the collector's next update or free.
 */
struct acct_snapshot {
    const struct acct_dom *doms;        /* every record, in a stable order */
    uint32_t nr_doms;
    const struct acct_tenant *tenants;
    uint32_t nr_tenants;
    const char *boot_id;                /* "": not known */
    uint64_t host_reboots;
    uint64_t last_sample_ns;
    uint64_t intervals;
    const uint64_t *errors;             /* ACCT_NR_ERR_KINDS */
    bool have_baseline;                 /* false: a fresh start, no
                                           checkpoint and no sample yet */
};

void acct_collector_snapshot(const struct acct_collector *c,
                             struct acct_snapshot *s);

/* The same, returning @s, to pass along in one expression:
 * exp_rrd_update(r, acct_snap(c, &(struct acct_snapshot){ 0 }), &info). */
static inline const struct acct_snapshot *
acct_snap(const struct acct_collector *c, struct acct_snapshot *s)
{
    acct_collector_snapshot(c, s);
    return s;
}

#endif /* XENOS_ACCT_H */
