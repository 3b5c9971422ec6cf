/*
 * exp_usage.h: the usage ledger: one protobuf UsageRecord per domain per
 * accounting interval (exporter/usage.proto), in files that billing reads.
 * Format: docs/usage-format.md.
 *
 * The writer turns the collector's cumulative totals into usage per
 * interval: a record carries the totals at the interval's close minus the
 * totals at the domain's previous record, so reboots and restarts of
 * xenosd, which the collector already accounts exactly, need nothing more
 * here.  Each record is counted once: its sequence number and the totals
 * it consumed are persisted (usage.state, replaced atomically) only after
 * the records are fsynced, and on open the writer advances that state over
 * any records that made it to disk after it.
 *
 * Not thread-safe: one writer per directory, called from one thread.
 */
#ifndef XENOS_EXP_USAGE_H
#define XENOS_EXP_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/acct.h>
#include <xenos/exp.h>
#include <xenos/strmap.h>

#define EXP_USAGE_INTERVAL_S_DEFAULT    60
#define EXP_USAGE_ROTATE_S_DEFAULT      3600
#define EXP_USAGE_STATE_FILE            "usage.state"

struct exp_usage;

/*
 * Open the ledger in @dir (created if missing) for host @host.  Records
 * close every @interval_s seconds of wall clock (aligned to multiples of
 * it; 0 means the default 60); files rotate every @rotate_s seconds
 * (aligned; 0 means 3600), a multiple of @interval_s.
 *
 * Recovery happens here: the state file is read, the ledger files from the
 * one it names onwards are scanned, records beyond the state advance it
 * (written, then a crash before the state was saved), and torn tails are
 * truncated to the last whole record.  A damaged state file is moved aside
 * to usage.state.corrupt; then sequence numbers continue from the files
 * and the totals already billed are taken from the collector at the first
 * update (usage since the last record is then not billed, never billed
 * twice), and -EBADMSG is returned with *@out usable.
 *
 * Returns 0 and sets *@out (free with exp_usage_close), -EBADMSG as above,
 * or -errno with *@out NULL and the reason in @err.  On success @err is
 * "" or says what was repaired ("FILE: byte N: why (M bytes)"; ...), for
 * the log.  @dir's parent must exist.
 *
 * @dir must pass fio_dir_open's checks (ours or root's, not writable by
 * group or others, not a symbolic link, and no one else can swap it); it
 * is locked for as long as the ledger is open, so a second writer gets
 * -EBUSY.  A ledger file or state that is a symbolic link, FIFO or hard
 * link is refused (-ELOOP, -EINVAL, -EMLINK), never read or written
 * through: here, or by the update that would write it.
 */
int exp_usage_open(struct exp_usage **out, const char *dir, const char *host,
                   uint32_t interval_s, uint32_t rotate_s, char *err,
                   size_t errlen);

/*
 * Call after every sample with the collector (read-only during the call)
 * and @info->sample_unix_ns (0: no good sample yet, nothing is done).  When the sample is at or past the end of the
 * open interval, the interval closes: one record for each domain present
 * at a sample in it or whose totals grew, all written, then one fsync, then
 * the state.  Intervals the daemon slept through are folded into the
 * closing record (its start is the previous end), so records tile time.
 *
 * Returns 0, or -errno (ENOSPC, EIO, ...) when writing failed: nothing
 * partial stays in any file, the records are kept in memory and written,
 * with the same sequence numbers, by the next call that succeeds.  The
 * daemon counts the error and carries on.
 */
int exp_usage_update(struct exp_usage *w, const struct acct_snapshot *c,
                     const struct exp_info *info);

/*
 * The collector started afresh (its checkpoint was missing or damaged), so
 * its totals restart from zero: forget the totals already billed.  Call
 * right after exp_usage_open, before the first update.  0 or -errno (the
 * state could not be saved: nothing changed).
 */
int exp_usage_rebase(struct exp_usage *w);

/*
 * Save the state after every @n-th interval instead of after each (@n >=
 * 1; 1 is the default).  Nothing is lost or counted twice either way: the
 * records on disk are the log, and opening replays those beyond the state.
 * A larger @n saves the state's write and two fsyncs per interval (half
 * the ledger's cost at 10,000 domains) for a longer replay on open.
 * 0 or -EINVAL.
 */
int exp_usage_set_state_every(struct exp_usage *w, uint32_t n);

/* Counters for status and metrics. */
struct exp_usage_stats {
    uint64_t next_seq;
    uint64_t records;                   /* written by this writer */
    uint64_t intervals;                 /* closed by this writer */
    uint64_t write_errors;              /* update calls that failed */
    uint64_t pending;                   /* records waiting for the disk */
};
void exp_usage_get_stats(const struct exp_usage *w,
                         struct exp_usage_stats *st);

/* Write what is pending if possible (0 or -errno) and free @w.  NULL is
 * accepted. */
int exp_usage_close(struct exp_usage *w);

/* ------------------------------------------------------------------ */
/* Reading                                                             */

/* One record as read.  Strings are NUL-terminated copies, valid during the
 * callback (a NUL inside a name ends it). */
struct exp_usage_rec {
    uint64_t seq;
    const char *host, *tenant, *uuid, *name;
    uint64_t start_unix_ns, end_unix_ns;
    uint64_t cpu_ns;
    uint32_t vcpus;
    uint64_t memory_byte_seconds, mem_max_bytes;
    uint64_t vbd_read_bytes, vbd_write_bytes, vbd_read_ops, vbd_write_ops;
    uint64_t vif_rx_bytes, vif_tx_bytes;
    uint32_t weight, cap_pct;
    uint64_t span_start_unix_ns, span_end_unix_ns;
    bool sched_stats;                   /* false: the next three unknown */
    uint64_t wait_ns, throttled_ns;
    uint32_t peak_window_pct;
};

struct exp_usage_header {
    uint32_t version;
    char host[256];
    uint64_t created_unix_ns;
    uint32_t interval_s, rotate_s;
    uint64_t period_start_unix_ns;
};

/* A record at byte @off of the file: return 0 to go on, else the scan
 * stops and returns that value. */
typedef int (*exp_usage_rec_cb)(void *ctx, const struct exp_usage_rec *r,
                                uint64_t off);
/* Damage at byte @off, @len bytes skipped (to the end of the file if no
 * whole record follows), @why in words. */
typedef void (*exp_usage_damage_cb)(void *ctx, uint64_t off, uint64_t len,
                                    const char *why);

/*
 * The ledger files (usage-YYYYmmddTHHMMSSZ.xul) of the directory open at
 * @dirfd, sorted, which is time order: *@names (malloc'd, each and the
 * array; free with exp_usage_files_free) and their count *@nr.  0 or
 * -errno.
 */
int exp_usage_files(int dirfd, char ***names, size_t *nr);
void exp_usage_files_free(char **names, size_t nr);

/*
 * Read the ledger file @path: every whole record, in order, to @rec.  A
 * damaged stretch (bad length, bad CRC, undecodable payload, a torn tail,
 * an empty file) goes to @damage and is skipped; reading resumes at the
 * next offset where a whole record with a good CRC starts.  @hdr (may be
 * NULL) gets the header.
 *
 * Returns 0 if the file was whole, -EBADMSG if damage was reported, the
 * callback's value if it stopped the scan, or -errno if the file could not
 * be read (-ENOMEM).
 */
int exp_usage_read(const char *path, exp_usage_rec_cb rec,
                   exp_usage_damage_cb damage, void *ctx,
                   struct exp_usage_header *hdr);

/* ------------------------------------------------------------------ */
/* Reconciling: usage from two sources, compared                       */

/*
 * A source of usage totals, whatever it was read from (the ledger's
 * records, the collector's checkpoint, the host's ground truth, a billing
 * database): per domain (uuid) and per tenant, the counters the ledger
 * carries (exp_usage_counters, counters.def's LEDGER 1), or those of them
 * the source knows (@known).  The comparison (exp_usage_compare) sees only
 * this, so a new source is a function that fills one.
 */
#define EXP_USAGE_NR_COUNTERS   8

/* The same, for X-macros: members of struct acct_usage, UsageRecord and
 * struct exp_usage_rec of these names. */
#define EXP_USAGE_COUNTERS(X)                                           \
    X(cpu_ns) X(memory_byte_seconds) X(vbd_read_bytes)                  \
    X(vbd_write_bytes) X(vbd_read_ops) X(vbd_write_ops)                 \
    X(vif_rx_bytes) X(vif_tx_bytes)

/* Their names, in usage.proto's order: "cpu_ns", "memory_byte_seconds"... */
extern const char *const exp_usage_counters[EXP_USAGE_NR_COUNTERS];

struct exp_usage_row {
    char *key;                          /* uuid, or tenant ("": none) */
    char *name, *tenant;                /* a domain's last, or NULL */
    uint64_t records;                   /* additions to it */
    uint64_t v[EXP_USAGE_NR_COUNTERS];
    /* The hypervisor's contention counters of the records added
     * (exp_usage_src_add_rec): summed, and the peak the highest; known
     * only if every record had them (sched_unknown 0, records > 0). */
    uint64_t wait_ns, throttled_ns;
    uint32_t peak_window_pct;
    uint64_t sched_unknown;             /* records without them */
};

struct exp_usage_table {
    struct exp_usage_row *rows;
    uint32_t n, cap;
    struct strmap idx;                  /* rows by key */
};

struct exp_usage_src {
    const char *what;                   /* "ledger", "checkpoint", ... */
    uint32_t known;                     /* bit i: counter i is known */
    struct exp_usage_table doms, tenants;
};

/* Start @s (caller-allocated) as an empty source called @what (a static
 * string) knowing the counters in @known. */
void exp_usage_src_init(struct exp_usage_src *s, const char *what,
                        uint32_t known);
void exp_usage_src_deinit(struct exp_usage_src *s);

/*
 * Add @v (EXP_USAGE_NR_COUNTERS values) to domain @uuid (its name and
 * tenant become @name and @tenant, unless NULL) and to tenant @tenant
 * ("": the domains of no tenant).  @uuid NULL: the tenant only; @tenant
 * NULL: the domain only.  0 or -ENOMEM.
 */
int exp_usage_src_add(struct exp_usage_src *s, const char *uuid,
                      const char *name, const char *tenant,
                      const uint64_t *v);

/* Add record @r (its counters, under its domain, name and tenant).  0 or
 * -ENOMEM. */
int exp_usage_src_add_rec(struct exp_usage_src *s,
                          const struct exp_usage_rec *r);

/* Row @key of @t, or NULL. */
const struct exp_usage_row *exp_usage_find(const struct exp_usage_table *t,
                                           const char *key);

/* The rows of @t sorted by key, as a malloc'd array of pointers into it
 * (valid until @t changes), or NULL (out of memory, or @t empty). */
const struct exp_usage_row **exp_usage_sorted(const struct exp_usage_table *t);

/* One difference: counter @counter of domain (@tenant false: @key a uuid,
 * @name its name or NULL) or tenant @key is @va in @a and @vb in @b. */
typedef void (*exp_usage_diff_cb)(void *ctx, const struct exp_usage_src *a,
                                  const struct exp_usage_src *b, bool tenant,
                                  const char *key, const char *name,
                                  const char *counter, uint64_t va,
                                  uint64_t vb);

/*
 * Compare @a and @b on the counters both know: every domain and tenant in
 * either (missing in one: zero there), in key order.  Each difference
 * goes to @diff.  Returns how many there were (0: they agree), or
 * -ENOMEM.
 */
long exp_usage_compare(const struct exp_usage_src *a,
                       const struct exp_usage_src *b, exp_usage_diff_cb diff,
                       void *ctx);

#endif /* XENOS_EXP_USAGE_H */
