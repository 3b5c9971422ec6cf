/*
 * xenos_usage_src.h: where xenos-usage reconcile reads usage from, each
 * into a struct exp_usage_src (exp_usage.h): the ledger's records, the
 * collector's checkpoint, the simulated host's ground truth.  A new
 * source (a billing database) is one more function of this kind.  Not an
 * API: xenos-usage's own.
 */
#ifndef XENOS_USAGE_SRC_H
#define XENOS_USAGE_SRC_H

#include <stddef.h>

#include <xenos/acct.h>
#include <xenos/exp_usage.h>

/* Damage in a ledger file, as xenos-usage reports it. */
typedef void (*usrc_damage_cb)(const char *file, uint64_t off, uint64_t len,
                               const char *why);

/*
 * Every record of the ledger files (usage-*.xul) of directory @dir into
 * @s (per domain and per record's tenant, every counter).  0, -EBADMSG
 * (damage was reported to @damage; the good records are in), or -errno
 * with @err.
 */
int usrc_ledger(struct exp_usage_src *s, const char *dir,
                usrc_damage_cb damage, char *err, size_t errlen);

/*
 * The collector's checkpoint @path, read without touching it (a private
 * copy is loaded), into *@cp: free it with acct_collector_free.  0 or
 * -errno with @err (a damaged checkpoint: -EBADMSG).
 */
int usrc_checkpoint_load(struct acct_collector **cp, const char *path,
                         char *err, size_t errlen);

/* The collector's totals per domain and per tenant ("-", the unassigned,
 * as ""), every counter, into @s.  0 or -ENOMEM. */
int usrc_collector(struct exp_usage_src *s, const struct acct_collector *c);

/*
 * The ground truth of the simulated host at socket @sock (CPU time only,
 * per domain; each domain's tenant as the collector @c names it) into
 * @s.  The truth is of the host's current boot only, so a collector whose
 * totals span other boots is refused (-ESTALE, with @err).  0 or -errno
 * with @err.
 */
int usrc_sim_truth(struct exp_usage_src *s, const char *sock,
                   const struct acct_collector *c, char *err, size_t errlen);

#endif /* XENOS_USAGE_SRC_H */
