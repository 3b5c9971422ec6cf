/*
 * xenos_usage_src.h: where xenos-usage reconcile reads usage from, each
 * into a struct exp_usage_src (exp_usage.h): the ledger's records, the
 * collector's checkpoint, the simulated host's ground truth, a billing
 * database (xenos_usage_src_db.c, with libpq).  A new source is one more
 * function of this kind.  Not an API: xenos-usage's own.
 */
#ifndef XENOS_USAGE_SRC_H
#define XENOS_USAGE_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/acct.h>
#include <xenos/exp_usage.h>

/* Damage in a ledger file, as xenos-usage reports it. */
typedef void (*usrc_damage_cb)(const char *file, uint64_t off, uint64_t len,
                               const char *why);

/*
 * Which records a source holds, by (host, seq): totals alone cannot name
 * a record lost or counted twice, so reconcile also holds these lists
 * against each other.  Each entry keeps its domain, to name it.
 */
struct usrc_rec_id {
    uint64_t seq;
    char uuid[40];
};

struct usrc_recs {
    struct usrc_rec_id *v;
    size_t n, cap;
    char host[256];                     /* the first record's host */
    bool many_hosts;                    /* a record of another host too */
};

/* Add record @seq of domain @uuid on @host to @r.  0 or -ENOMEM. */
int usrc_recs_add(struct usrc_recs *r, const char *host, uint64_t seq,
                  const char *uuid);
void usrc_recs_free(struct usrc_recs *r);

/* One record whose count differs: @na times in @a, @nb in @b. */
typedef void (*usrc_rec_diff_cb)(void *ctx, uint64_t seq, const char *uuid,
                                 uint32_t na, uint32_t nb);

/*
 * @a against @b by seq (both are sorted here): every seq that is not
 * exactly once in each goes to @diff, in seq order.  Returns how many.
 */
long usrc_recs_compare(struct usrc_recs *a, struct usrc_recs *b,
                       usrc_rec_diff_cb diff, void *ctx);

/*
 * Every record of the ledger files (usage-*.xul) of directory @dir into
 * @s (per domain and per record's tenant, every counter), and, unless
 * @ids is NULL, each record's (host, seq) into @ids.  0, -EBADMSG
 * (damage was reported to @damage; the good records are in), or -errno
 * with @err.
 */
int usrc_ledger(struct exp_usage_src *s, struct usrc_recs *ids,
                const char *dir, usrc_damage_cb damage, char *err,
                size_t errlen);

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

/*
 * The counters a sample of one instant may have read later than its
 * clock says, per vCPU: the xen backend stamps the sample just before
 * libxenstat reads every domain's CPU time in one go, so a few
 * microseconds; 10 ms leaves room for a host under load.
 */
#define USRC_LIVE_READ_SLACK_NS 10000000ull

/*
 * The host's counters now: one more sample, through the backend @spec
 * ("xen", or "sim:SOCKET"), given to a fresh copy of the checkpoint
 * @ckpt_path, so the collector's own rules (lives, reboots) turn them into
 * totals.  Into @s each domain's and tenant's cpu_ns as the collector
 * would have it now (a domain's tenant as @c names it), into @slack the
 * most each could have run since the checkpoint's last sample: (the host
 * clock now - that sample's) x its vCPUs, + USRC_LIVE_READ_SLACK_NS per
 * vCPU.  A domain whose counter is below the checkpoint's last reading
 * of the same life (the collector would count nothing, so the totals
 * cannot show it) goes, domain only, into @back_ckpt with that reading
 * and into @back_host with the counter.  A checkpoint of another boot of
 * the host is refused (-ESTALE).  0 or -errno with @err.
 */
int usrc_live(struct exp_usage_src *s, struct exp_usage_src *slack,
              struct exp_usage_src *back_ckpt, struct exp_usage_src *back_host,
              const char *spec, const char *ckpt_path,
              const struct acct_collector *c, char *err, size_t errlen);

/*
 * The rows of host @host in the billing database at @conninfo (libpq; the
 * schema `xenos-usage ship` makes, docs/fleet.md) into @s, as the ledger's
 * records are added, and their (host, seq) into @ids; *@next_seq is the
 * host's ship position (0: the host has none).  Only with libpq
 * (XENOS_HAVE_SHIP).  0, or -errno with @err (the server's own words, or
 * the host, seq and column of a value that is no counter).
 */
int usrc_db(struct exp_usage_src *s, struct usrc_recs *ids,
            uint64_t *next_seq, const char *conninfo, const char *host,
            char *err, size_t errlen);

#endif /* XENOS_USAGE_SRC_H */
