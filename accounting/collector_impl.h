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

/* A record's creation time from a checkpoint written before there were
 * any: not known, so the domid alone says which life it is. */
#define ACCT_CREATED_UNKNOWN    UINT64_MAX

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
