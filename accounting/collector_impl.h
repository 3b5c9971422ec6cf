/*
 * collector_impl.h: for the collector's own files only (collector.c,
 * checkpoint.c).  What they share and nobody else may use: the daemon,
 * the exporters and the tests go through acct.h.
 */
#ifndef XENOS_ACCT_COLLECTOR_IMPL_H
#define XENOS_ACCT_COLLECTOR_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <xenos/acct.h>
#include <xenos/strmap.h>
#include <xenos/text.h>

/* A record's creation time from a checkpoint written before there were
 * any: not known, so the domid alone says which life it is. */
#define ACCT_CREATED_UNKNOWN    UINT64_MAX

/* The collector's own state (acct.h has it opaque): the snapshot hands
 * out doms, tenants and the figures, never the index, the buffers or the
 * capacities. */
struct acct_collector {
    char *checkpoint_path;              /* owned */
    const char *checkpoint_name;        /* its last component */
    int dir_fd;                         /* its directory (fio_dir_open) */
    struct acct_dom *doms;
    uint32_t nr_doms, cap_doms;
    struct strmap index;                /* doms[] by uuid */
    struct acct_tenant *tenants;
    uint32_t nr_tenants, cap_tenants;
    bool have_baseline;                 /* seen a sample or a checkpoint */
    /* The host boot of the last sample ("": not known) and its number:
     * records of an older boot hold counters of lives that are over. */
    char boot_id[ACCT_BOOT_ID_MAX + 1];
    uint64_t boot_seq;
    uint64_t host_reboots;              /* seen so far */
    uint64_t last_sample_ns;
    uint64_t intervals;                 /* closed so far */
    uint64_t errors[ACCT_NR_ERR_KINDS];
    struct txt_buf ckpt_buf;            /* reused each checkpoint */
};

/* The record for @uuid, writable, or NULL. */
struct acct_dom *acct__dom_find(const struct acct_collector *c,
                                const char *uuid);
/* The tenant named @name (NULL for unassigned), created if need be;
 * NULL on ENOMEM. */
struct acct_tenant *acct__tenant(struct acct_collector *c, const char *name);
/* A new record for @uuid, zeroed but for the uuid, indexed; NULL on
 * ENOMEM.  Pointers to records move. */
struct acct_dom *acct__dom_add(struct acct_collector *c, const char *uuid);

/*
 * Read the whole checkpoint into @c (set up empty, its directory open).
 * 0, -ENOENT if there is none, -EBADMSG (with the line in @err) if it is
 * damaged: @c then holds part of it, for the caller to clear; or -errno.
 */
int acct__checkpoint_load(struct acct_collector *c, char *err,
                          size_t errlen);

#endif /* XENOS_ACCT_COLLECTOR_IMPL_H */
