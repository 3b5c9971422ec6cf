/*
 * rrd_impl.h: what the RRD store (rrd.c), its rrdcached client
 * (rrd_cached.c) and the reading side (rrd_find.c: file names, finding;
 * rrd_graph.c: drawing) share.  Not an API: exp_rrd.h is.
 */
#ifndef XENOS_RRD_IMPL_H
#define XENOS_RRD_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/exp_rrd.h>
#include <xenos/text.h>

struct rrdx_ent;

/* The data sources that are no counter (exp_rrd.h) */
#define RRDX_DS_CAP             "cap"
#define RRDX_DS_WEIGHT          "weight"
#define RRDX_DS_WAIT            "wait_ns"       /* DERIVE: ns per s */
#define RRDX_DS_THROTTLED       "throttled_ns"
#define RRDX_DS_PEAK            "peak_window_pct"
#define RRDX_DS_CAPPED_WIN      "capped_windows"   /* DERIVE: per s */
#define RRDX_DS_OVER_CAP_WIN    "over_cap_windows"

struct exp_rrd {
    char *dir;                          /* absolute */
    int dir_fd;                         /* dir, checked; -1: not open */
    char *io_dir;                       /* what librrd is given: dir, or
                                         * /proc/self/fd/N for dir_fd */
    char *daemon;                       /* rrdcached address or NULL */
    uint32_t step_s;
    int fd;                             /* rrdcached, or -1 */
    struct rrdx_ent *ents;
    uint32_t nr_ents, cap_ents;         /* cap: power of two */
    char rbuf[4096];                    /* rrdcached's replies */
    size_t rpos, rlen;
    struct txt_buf batch;               /* BATCH text */
    uint64_t last_sample_ns;
    uint64_t create_budget_ns;          /* creation time per call */
    uint64_t create_spent_ns;           /* in this call so far */
    bool index_dirty;
    struct exp_rrd_stats st;
};

/* rrd.c */

/* The last error, for the caller's log (stats.last_error): a diagnostic,
 * so a long one is cut rather than lost. */
void __attribute__((format(printf, 2, 3)))
rrdx__set_error(struct exp_rrd *r, const char *fmt, ...);

/* rrd_find.c: names */

/* Decode the percent-encoded @s in place; -EINVAL on a bad escape or an
 * encoded NUL. */
int rrdx__decode(char *s);

/* FNV-1a of @s: the hashed file names and the store's table. */
uint64_t rrdx__fnv64(const char *s);

/* "@dir/<file name of @key>" into @buf: 0 or -ENAMETOOLONG. */
int rrdx__path(char *buf, size_t len, const char *dir, bool tenant,
               const char *key);

/* An index line "K\tA\tB\n" into its fields (B may be empty); -EINVAL
 * when it has another shape.  @line is cut up in place. */
int rrdx__split(char *line, char **a, char **b);

/* Which of @want[0..@n) the file at @path has, into @has: 0, or -EIO
 * when librrd cannot read it. */
int rrdx__has_ds(const char *path, const char *const *want, unsigned int n,
                 bool *has);

/* rrd_cached.c: the rrdcached client, on r->daemon and r->fd */

/* Dial r->daemon: 0 and r->fd set, or -errno with the reason in @err. */
int rrdx__connect(struct exp_rrd *r, char *err, size_t errlen);

/* Hang up (r->fd -1, reply buffer emptied); fine when not connected. */
void rrdx__disconnect(struct exp_rrd *r);

/* Send r->batch (BATCH body, without the framing) and read the verdict:
 * the number of failed lines, or -errno when the exchange broke. */
int rrdx__batch(struct exp_rrd *r);

/* One command outside a batch: 0 if rrdcached answered with a status
 * >= 0, -EIO (its message in stats.last_error) if not, -errno when the
 * exchange broke. */
int rrdx__command(struct exp_rrd *r, const char *cmd);

#endif /* XENOS_RRD_IMPL_H */
