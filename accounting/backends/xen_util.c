/*
 * xen_util.c: the xen backend's pure parts (see xen_util.h): uuids, domain
 * states, tenant key paths, the dom0 check, scheduler parameters, VIF
 * direction.  Constants come from the Xen 4.17 public headers, which need
 * GNU C; no function of libxen is called, so tests link this file on any
 * machine.
 *
 * Locking: none; no state.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xen/sched.h>

#include <xenos/hex.h>

#include "xen_util.h"

#define XENB_STR_(x)            #x
#define XENB_STR(x)             XENB_STR_(x)

_Static_assert(sizeof(xen_domain_handle_t) == 16,
               "a Xen domain handle is a 16-byte uuid");

void xenb__uuid(const uint8_t handle[16], char out[ACCT_UUID_LEN + 1])
{
    hex_uuid(handle, out);
}

enum acct_dom_state xenb__state(uint32_t flags)
{
    if ( flags & XEN_DOMINF_dying )
        return ACCT_DOM_DYING;
    if ( flags & XEN_DOMINF_shutdown )
        return ((flags >> XEN_DOMINF_shutdownshift) &
                XEN_DOMINF_shutdownmask) == SHUTDOWN_crash
               ? ACCT_DOM_CRASHED : ACCT_DOM_SHUTDOWN;
    if ( flags & XEN_DOMINF_paused )
        return ACCT_DOM_PAUSED;
    if ( flags & XEN_DOMINF_running )
        return ACCT_DOM_RUNNING;
    if ( flags & XEN_DOMINF_blocked )
        return ACCT_DOM_BLOCKED;
    return ACCT_DOM_RUNNING;
}

const char *xenb__key_problem(const char *key)
{
    size_t len = strlen(key), i;

    if ( !len )
        return "is empty";
    if ( key[0] == '/' )
        return "must be relative to /local/domain/ID/";
    if ( strstr(key, "..") )
        return "may not contain '..'";
    if ( len > XENB_KEY_MAX )
        return "is longer than " XENB_STR(XENB_KEY_MAX) " bytes";
    if ( strstr(key, "//") || key[len - 1] == '/' )
        return "has an empty path component";
    /* xenstore's own alphabet for paths (docs/misc/xenstore.txt). */
    for ( i = 0; i < len; i++ )
    {
        char ch = key[i];

        if ( !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
               (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
               ch == '@' || ch == '/') )
            return "may hold only letters, digits, '-', '_', '@' and '/'";
    }
    return NULL;
}

int xenb__key_path(char *buf, size_t len, uint32_t domid, const char *key)
{
    int n = snprintf(buf, len, "/local/domain/%u/%s", domid, key);

    if ( n < 0 || (size_t)n >= len )
    {
        if ( len )
            buf[0] = '\0';
        return -ENOSPC;
    }
    return 0;
}

/* Whether @caps (a comma- or space-separated list) holds "control_d". */
static bool xenb_caps_control_d(const char *caps)
{
    static const char word[] = "control_d";
    const char *p = caps;

    while ( (p = strstr(p, word)) )
    {
        char after = p[sizeof(word) - 1];
        bool start = p == caps || p[-1] == ',' || p[-1] == ' ' ||
                     p[-1] == '\n';

        if ( start && (after == '\0' || after == ',' || after == ' ' ||
                       after == '\n') )
            return true;
        p += sizeof(word) - 1;
    }
    return false;
}

int xenb__dom0_check(const char *caps_path, char *err, size_t errlen)
{
    char caps[256];
    ssize_t n;
    int fd, rc;

    fd = open(caps_path, O_RDONLY | O_CLOEXEC);
    if ( fd < 0 )
    {
        rc = -errno;
        if ( rc == -ENOENT )
        {
            snprintf(err, errlen, "not a privileged dom0 (no %s: not "
                     "running on Xen, or xenfs is not mounted on /proc/xen):"
                     " run xenosd in dom0 as root", caps_path);
            return -ENODEV;
        }
        snprintf(err, errlen, "not a privileged dom0 (%s: %s): run "
                 "xenosd in dom0 as root", caps_path, strerror(-rc));
        return rc;
    }
    n = read(fd, caps, sizeof(caps) - 1);
    rc = n < 0 ? -errno : 0;
    close(fd);
    if ( rc )
    {
        snprintf(err, errlen, "not a privileged dom0 (%s: %s): run "
                 "xenosd in dom0 as root", caps_path, strerror(-rc));
        return rc;
    }
    caps[n] = '\0';
    if ( !xenb_caps_control_d(caps) )
    {
        snprintf(err, errlen, "not a privileged dom0 (%s has no "
                 "control_d): run xenosd in dom0 as root", caps_path);
        return -EPERM;
    }
    return 0;
}

/*
 * Xen takes 0xffff in the credit domctl's cap as "leave the cap as it is",
 * so the highest cap it can be told is one less.  Credit2 reads 0 as "no
 * cap" and has no such value.  Our schedulers built into Xen (fcredit)
 * report XEN_SCHEDULER_CREDIT and answer the credit domctl, so they are
 * driven through the first line.
 */
static const struct xenb__sched xenb_scheds[] = {
    { XEN_SCHEDULER_CREDIT, "credit", XENB_IFACE_CREDIT, 0xfffe },
    { XEN_SCHEDULER_CREDIT2, "credit2", XENB_IFACE_CREDIT2, 0xffff },
};

const char *xenb__sched_name(uint32_t sched_id)
{
    switch ( sched_id )
    {
    case XEN_SCHEDULER_CREDIT: return "credit";
    case XEN_SCHEDULER_CREDIT2: return "credit2";
    case XEN_SCHEDULER_ARINC653: return "arinc653";
    case XEN_SCHEDULER_RTDS: return "rtds";
    case XEN_SCHEDULER_NULL: return "null";
    }
    return "unknown";
}

int xenb__sched_find(uint32_t sched_id, const struct xenb__sched **out)
{
    size_t i;

    for ( i = 0; i < sizeof(xenb_scheds) / sizeof(xenb_scheds[0]); i++ )
        if ( xenb_scheds[i].sched_id == sched_id )
        {
            *out = &xenb_scheds[i];
            return 0;
        }
    *out = NULL;
    return -EOPNOTSUPP;
}

int xenb__sched_args(const struct xenb__sched *s, uint32_t nr_vcpus,
                     uint32_t weight, uint32_t cap_pct, uint16_t *w,
                     uint16_t *c)
{
    uint64_t cap_max = (uint64_t)nr_vcpus * 100;

    if ( cap_max > s->cap_max )
        cap_max = s->cap_max;
    if ( weight < 1 || weight > 65535 || cap_pct > cap_max )
        return -EINVAL;
    *w = (uint16_t)weight;
    *c = (uint16_t)cap_pct;
    return 0;
}

void xenb__vif(const struct xenb__vif_backend *be, struct acct_vif *out)
{
    out->id = be->id;
    out->rx_bytes = be->tbytes;
    out->rx_pkts = be->tpkts;
    out->rx_errs = be->terrs;
    out->rx_drop = be->tdrop;
    out->tx_bytes = be->rbytes;
    out->tx_pkts = be->rpkts;
    out->tx_errs = be->rerrs;
    out->tx_drop = be->rdrop;
}

int xenb__boot_id(const char *path, char out[ACCT_BOOT_ID_MAX + 1])
{
    char buf[ACCT_BOOT_ID_MAX + 2];
    size_t len, i;
    ssize_t n;
    int fd, rc;

    out[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if ( fd < 0 )
        return -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    rc = n < 0 ? -errno : 0;
    close(fd);
    if ( rc )
        return rc;
    buf[n] = '\0';
    len = strcspn(buf, "\n");
    if ( !len || len > ACCT_BOOT_ID_MAX )
        return -EBADMSG;
    for ( i = 0; i < len; i++ )
        if ( buf[i] < 0x21 || buf[i] > 0x7e )
            return -EBADMSG;
    memcpy(out, buf, len);
    out[len] = '\0';
    return 0;
}

static int xenb_stat_cmp(const void *a, const void *b)
{
    const struct xenb__stat *x = a, *y = b;

    return x->domid < y->domid ? -1 : x->domid > y->domid;
}

/* @p at "N,N,...,N" (ACCT_NR_WINDOWS numbers) into @w; the end, or NULL. */
static const char *xenb_windows(const char *p, uint64_t *w)
{
    unsigned int i;

    for ( i = 0; i < ACCT_NR_WINDOWS; i++ )
    {
        char *end;

        if ( *p < '0' || *p > '9' )
            return NULL;
        errno = 0;
        w[i] = strtoull(p, &end, 10);
        if ( errno || *end != (i + 1 < ACCT_NR_WINDOWS ? ',' : *end) )
            return NULL;
        p = i + 1 < ACCT_NR_WINDOWS ? end + 1 : end;
    }
    return p;
}

int xenb__stats_parse(const char *text, struct xenb__stat *out,
                      uint32_t cap, unsigned int *bad_line)
{
    unsigned int line = 0;
    uint32_t n = 0;

    while ( *text )
    {
        const char *eol = strchr(text, '\n'), *end;
        struct xenb__stat st;
        uint64_t run;
        int used = 0;

        line++;
        if ( sscanf(text, "domid=%" SCNu32 " wait_ns=%" SCNu64
                    " throttled_ns=%" SCNu64 " run_ns=%" SCNu64
                    " cap_pct=%" SCNu32 " windows=%n", &st.domid,
                    &st.wait_ns, &st.throttled_ns, &run, &st.cap_pct,
                    &used) != 5 || !used ||
             !(end = xenb_windows(text + used, st.windows)) ||
             (*end != ' ' && *end != '\n' && *end) ||
             (eol && end > eol) )
        {
            *bad_line = line;
            return -EBADMSG;
        }
        if ( n == cap )
            return -ENOSPC;
        out[n++] = st;
        if ( !eol )
            break;
        text = eol + 1;
    }
    qsort(out, n, sizeof(*out), xenb_stat_cmp);
    return (int)n;
}

const struct xenb__stat *xenb__stats_find(const struct xenb__stat *st,
                                          uint32_t n, uint32_t domid)
{
    struct xenb__stat key = { .domid = domid };

    return n ? bsearch(&key, st, n, sizeof(*st), xenb_stat_cmp) : NULL;
}
