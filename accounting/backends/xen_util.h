/*
 * xen_util.h: for the xen accounting backend (xen.c) and its tests only:
 * the parts of the backend that need no hypervisor, so they are tested on
 * any machine.  Nothing here calls libxenctrl, libxenstat or libxenstore;
 * xen_util.c takes only constants from the Xen headers.
 */
#ifndef XENOS_ACCT_XEN_UTIL_H
#define XENOS_ACCT_XEN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/acct.h>

/* The tenant key when none is given, relative to /local/domain/ID/. */
#define XENB_KEY_DEFAULT        "vm-data/tenant"
/* A key's length at most: far below xenstore's own limits, and enough
 * for any sane layout. */
#define XENB_KEY_MAX            256
/* "/local/domain/" + a domid (5 digits) + "/" + a key + NUL. */
#define XENB_PATH_MAX           (14 + 5 + 1 + XENB_KEY_MAX + 1)

#define XENB_CAPS_PATH          "/proc/xen/capabilities"
/* dom0's kernel boot id: new at every boot of dom0, hence of the host. */
#define XENB_BOOT_ID_PATH       "/proc/sys/kernel/random/boot_id"

/* A domain handle (xen_domain_handle_t) as the 36-character lower-case
 * uuid, NUL-terminated. */
void xenb__uuid(const uint8_t handle[16], char out[ACCT_UUID_LEN + 1]);

/*
 * The state of a domain from its XEN_DOMINF_* flags.  One state wins:
 * dying, crashed, shutdown, paused, running, blocked; a domain that is
 * none of these has vCPUs waiting for a pCPU, which is running.
 */
enum acct_dom_state xenb__state(uint32_t flags);

/* NULL if @key is a usable tenant key (relative to /local/domain/ID/),
 * else why not, as a phrase ("must be relative ..."). */
const char *xenb__key_problem(const char *key);

/* "/local/domain/@domid/@key" into @buf: 0, or -ENOSPC if it would not
 * fit (nothing truncated).  @key must have passed xenb__key_problem. */
int xenb__key_path(char *buf, size_t len, uint32_t domid, const char *key);

/*
 * Whether this is a privileged control domain: @caps_path (normally
 * XENB_CAPS_PATH) must list "control_d".  0, or -ENODEV (no such file:
 * not on Xen, or xenfs not mounted) / -EPERM (not the control domain) /
 * -errno, with a one-line reason in @err.
 */
int xenb__dom0_check(const char *caps_path, char *err, size_t errlen);

/*
 * The host's boot identity from @path (normally XENB_BOOT_ID_PATH) into
 * @out: its first line, 1 to ACCT_BOOT_ID_MAX printable bytes without a
 * space.  0, -EBADMSG (empty, too long, or another byte: @out is then
 * ""), or -errno of open/read (@out "").
 *
 * Why dom0's boot id: Xen boots with its dom0 and a dom0 cannot start
 * again without the whole host (its shutdown is the host's), so a new
 * dom0 boot id is exactly a host reboot.  No guest can write it; dom0's
 * CLOCK_MONOTONIC, the backend's sample clock, restarts with it.  Xen
 * itself offers nothing better: its build id and command line are the
 * same across reboots, and getdomaininfo has no creation time.
 */
int xenb__boot_id(const char *path, char out[ACCT_BOOT_ID_MAX + 1]);

/* How a scheduler takes weight and cap from the toolstack. */
enum xenb__iface {
    XENB_IFACE_CREDIT,                  /* struct xen_domctl_sched_credit */
    XENB_IFACE_CREDIT2,                 /* struct xen_domctl_sched_credit2 */
};

struct xenb__sched {
    uint32_t sched_id;                  /* XEN_SCHEDULER_* */
    const char *name;
    enum xenb__iface iface;
    uint32_t cap_max;                   /* the domctl's own bound */
};

/* The name of scheduler @sched_id ("credit", "rtds", ...; "unknown"). */
const char *xenb__sched_name(uint32_t sched_id);

/* How to drive scheduler @sched_id: 0 and *@out, or -EOPNOTSUPP for a
 * scheduler without weight and cap (rtds, null, arinc653, unknown). */
int xenb__sched_find(uint32_t sched_id, const struct xenb__sched **out);

/*
 * Weight and cap (percent of one pCPU, 0 = none) as scheduler @s takes
 * them for a domain of @nr_vcpus vCPUs: 0 and *@w, *@c; -EINVAL when out
 * of range (weight 1..65535; cap at most 100 per vCPU, as Xen and libxl
 * check, and never the value the credit domctl reads as "leave as is").
 */
int xenb__sched_args(const struct xenb__sched *s, uint32_t nr_vcpus,
                     uint32_t weight, uint32_t cap_pct, uint16_t *w,
                     uint16_t *c);

/* What libxenstat counts for a VIF, seen from the backend interface in
 * the control domain (its rx is what the guest sent), as the domain's
 * own counters (rx: what the domain received). */
struct xenb__vif_backend {
    uint32_t id;
    uint64_t rbytes, rpkts, rerrs, rdrop;
    uint64_t tbytes, tpkts, terrs, tdrop;
};
void xenb__vif(const struct xenb__vif_backend *be, struct acct_vif *out);

/*
 * The contention counters a xenos policy publishes in Xen's hypervisor
 * filesystem (sched/xen/adapter.c, docs/xen.md): one line per domain,
 * "domid=N wait_ns=N throttled_ns=N run_ns=N cap_pct=N windows=N,...,N"
 * (ACCT_NR_WINDOWS counts; fields after them ignored, for later
 * versions).  A domain without a line has none.
 */
#define XENB_STATS_PATH         "/xenos/domains"

struct xenb__stat {
    uint32_t domid;
    uint64_t wait_ns, throttled_ns;
    uint32_t cap_pct;
    uint64_t windows[ACCT_NR_WINDOWS];
};

/*
 * Parse @text (NUL-terminated) into @out, at most @cap entries, sorted by
 * domid.  Returns the count, or -EBADMSG with *@bad_line (from 1) for a
 * line that is not as above, or -ENOSPC if more than @cap.
 */
int xenb__stats_parse(const char *text, struct xenb__stat *out,
                      uint32_t cap, unsigned int *bad_line);

/* The entry for @domid in @st (sorted, @n entries), or NULL. */
const struct xenb__stat *xenb__stats_find(const struct xenb__stat *st,
                                          uint32_t n, uint32_t domid);

#endif /* XENOS_ACCT_XEN_UTIL_H */
