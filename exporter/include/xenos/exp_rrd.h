/*
 * exp_rrd.h: RRD archives per domain and per tenant (librrd), written
 * directly or through rrdcached, and the PNG graphs drawn from them.
 *
 * Files in the RRD directory (docs/exporters.md, "RRD"):
 *   dom-<uuid>.rrd         one per domain uuid ever seen
 *   tenant-<name>.rrd      one per tenant, name percent-encoded (only
 *                          [A-Za-z0-9_-] kept), or tenant-~<hash>.rrd when
 *                          the encoded name would be too long
 *   index                  "D\t<uuid>\t<enc name>" and
 *                          "T\t<file>\t<enc name>" lines: how xenosctl
 *                          finds a file by domain or tenant name
 * Data sources (DS order, as `rrdtool fetch` prints them):
 *   cpu_ns (DERIVE, ns/s), cpu (COMPUTE: CPU seconds per second, 1.0 =
 *   one pCPU), mem (GAUGE, bytes), disk_rd, disk_wr, net_rx, net_tx
 *   (DERIVE, bytes/s), cap (GAUGE: the cap in force, % of one pCPU, 0 =
 *   none), weight (GAUGE).  A file of an older xenos, without cap and
 *   weight, gets them when the store first writes it, its data kept.
 */
#ifndef XENOS_EXP_RRD_H
#define XENOS_EXP_RRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/exp.h>

#define EXP_RRD_STEP_S_DEFAULT          5
#define EXP_RRD_CREATE_BUDGET_MS        1000    /* creating, per call */
#define EXP_RRD_RRDCACHED_PORT          42217
#define EXP_RRD_IO_TIMEOUT_MS           5000    /* rrdcached round trip */
#define EXP_RRD_INDEX                   "index"

struct exp_rrd;

struct exp_rrd_stats {
    uint64_t updates;           /* file updates accepted */
    uint64_t update_errors;     /* refused by librrd or rrdcached */
    uint64_t created;           /* files created by us */
    uint64_t create_errors;
    uint64_t deferred;          /* skipped: creation budget spent */
    uint64_t upgraded;          /* older files given the cap and weight
                                 * DS (failures: create_errors) */
    uint64_t refused;           /* a symbolic link, or not a regular file
                                 * with one link, where a file of ours
                                 * belongs: never written through */
    uint64_t io_errors;         /* rrdcached unreachable or broken */
    uint64_t last_update_ns;    /* duration of the last exp_rrd_update */
    char last_error[256];       /* the last error message, "" if none */
};

/*
 * Open the RRD store in @dir (created 0750 if missing), updating through
 * the rrdcached at @rrdcached ("unix:/path", "/path", "host" or
 * "host:port") or, when it is NULL, directly with librrd.  @step_s is the
 * RRD step (the sampling interval rounded to seconds; 0 means
 * EXP_RRD_STEP_S_DEFAULT).  The index of names is loaded if present.
 * rrdcached must see @dir under the same absolute path (files are created
 * here with librrd; only updates go through the daemon).
 * @dir must pass fio_dir_open's checks (ours or root's, not writable by
 * group or others, not a symbolic link, and no one else can swap it):
 * -ELOOP, -EPERM otherwise, with the reason in @err.
 * Returns 0 and sets *@out (free with exp_rrd_close), or -errno with a
 * one-line reason in @err: -ECONNREFUSED etc. when rrdcached cannot be
 * reached now, -EINVAL when @dir has bytes rrdcached's protocol cannot
 * carry (space, newline).
 */
int exp_rrd_open(struct exp_rrd **out, const char *dir,
                 const char *rrdcached, uint32_t step_s, char *err,
                 size_t errlen);

/*
 * Write one point at @info->sample_unix_ns to the file of every present
 * domain without a sampling error and of every tenant, from the
 * collector's totals.  Files are created on first sight of a uuid or
 * tenant, within a time budget per call (the rest wait for later calls,
 * counted in stats.deferred).  A sample not later than the previous one
 * is ignored.  One failing file never stops the others.  Returns 0, or
 * -errno when nothing could be written (rrdcached down: it is dialled
 * again on the next call; -ENOMEM).  Errors are counted in the stats.
 * @c is only read, and only during the call.
 */
int exp_rrd_update(struct exp_rrd *r, const struct acct_snapshot *c,
                   const struct exp_info *info);

/* Ask rrdcached to write every pending update now (FLUSHALL): it
 * queues them and answers, and its threads write in the background.  0
 * (also without rrdcached) or -errno. */
int exp_rrd_flush(struct exp_rrd *r);

/* Counters since open; copied into @st. */
void exp_rrd_get_stats(const struct exp_rrd *r, struct exp_rrd_stats *st);

/* Change the time exp_rrd_update may spend creating files per call (ms;
 * 0 = unlimited).  Updates are not counted against it. */
void exp_rrd_set_create_budget(struct exp_rrd *r, uint32_t ms);

/* Write the index if names changed, disconnect, free @r (NULL is fine). */
void exp_rrd_close(struct exp_rrd *r);

/*
 * File name (no directory) of a domain (@tenant false, @key its uuid) or a
 * tenant (@key its name) into @buf.  Never contains '/', never starts with
 * '.'.  0, or -ENOSPC when @len is too small.
 */
int exp_rrd_file_name(char *buf, size_t len, bool tenant, const char *key);

/* Percent-encode @s (keep [A-Za-z0-9_-]) into @buf: 0 or -ENOSPC. */
int exp_rrd_encode(char *buf, size_t len, const char *s);

enum exp_rrd_kind {
    EXP_RRD_ANY,
    EXP_RRD_DOMAIN,
    EXP_RRD_TENANT,
};

/*
 * Find the file for @what in @dir: a tenant by name, a domain by uuid or
 * by name (through the index).  @kind narrows the search.  Writes the full
 * path into @path and a title into @title.  0; -ENOENT when nothing
 * matches; -EEXIST when @what is ambiguous (a tenant and a domain, or two
 * domains with that name), with the candidates in @err.
 */
int exp_rrd_find(const char *dir, const char *what, enum exp_rrd_kind kind,
                 char *path, size_t pathlen, char *title, size_t titlelen,
                 char *err, size_t errlen);

/*
 * The panels `xenosctl graph` draws from one file, a PNG each, every one
 * on a linear axis in its own unit (docs/exporters.md, "Graphs").
 */
enum exp_rrd_panel {
    EXP_RRD_PANEL_CPU,          /* CPU used and the cap in force, % of one
                                 * pCPU (the weight in the legend) */
    EXP_RRD_PANEL_MEM,          /* memory held: B, KiB, MiB, GiB */
    EXP_RRD_PANEL_DISK,         /* read and written: B/s, KiB/s, ... */
    EXP_RRD_PANEL_NET,          /* received and sent: B/s, KiB/s, ... */
    EXP_RRD_NR_PANELS,
};

/* "cpu", "memory", "disk", "network": in PNG names and --panel. */
extern const char *const exp_rrd_panel_names[EXP_RRD_NR_PANELS];

#define EXP_RRD_GRAPH_WIDTH     700     /* plot area, pixels */
#define EXP_RRD_GRAPH_HEIGHT    200

/* What of a file to show, and how. */
struct exp_rrd_view {
    const char *title;          /* "tenant acme": each panel adds its own */
    uint64_t since_s;           /* the last @since_s seconds ... */
    uint64_t end_s;             /* ... up to this Unix time; 0: now */
    const char *rrdcached;      /* its pending updates flushed first
                                 * through it; NULL: none */
    unsigned int width, height; /* plot area; 0: the defaults above */
};

/*
 * A panel's series as numbers (librrd's rrd_xport of the very DEF and
 * CDEF expressions the PNG draws, before the scaling to a binary unit):
 * row i covers (start_s + i * step_s, start_s + (i + 1) * step_s];
 * v[i * cols + c] is series names[c] there, NAN when unknown.  Series:
 *   cpu      "used" (% of one pCPU), "cap" (% of one pCPU; unknown where
 *            no cap is in force), "weight" (legend only)
 *   memory   "memory" (bytes)
 *   disk     "read", "written" (bytes/s)
 *   network  "received", "sent" (bytes/s)
 * A series whose data source the file lacks (cap and weight in a file
 * of an older xenos that no xenosd has written since) is left out.
 */
struct exp_rrd_xport {
    uint64_t start_s, step_s;
    unsigned long rows, cols;
    char **names;               /* cols series names */
    double *v;                  /* rows x cols */
};

/*
 * The numbers of @panel of @file (one of ours) for @view into @x (free
 * with exp_rrd_xport_free).  0, or -errno with the reason in @err (-EIO:
 * librrd's; -ENOMEM).
 */
int exp_rrd_xport(const char *file, enum exp_rrd_panel panel,
                  const struct exp_rrd_view *view, struct exp_rrd_xport *x,
                  char *err, size_t errlen);

/* Free what exp_rrd_xport filled in (@x itself is the caller's). */
void exp_rrd_xport_free(struct exp_rrd_xport *x);

/* Column of series @name in @x, or -1. */
int exp_rrd_xport_col(const struct exp_rrd_xport *x, const char *name);

/*
 * Draw @panel of @file as a PNG at @png_out for @view: the series of
 * exp_rrd_xport, each a line (a series at 0 stays visible on the axis),
 * with its last, average and maximum in the legend; bytes in the binary
 * unit (B, KiB, MiB, GiB, TiB) that suits the largest value shown; the
 * cap a dashed line, or "no cap in force" in the legend.  0, or -errno
 * with the reason in @err (-EIO: librrd's; -ENOMEM).
 */
int exp_rrd_graph(const char *file, enum exp_rrd_panel panel,
                  const struct exp_rrd_view *view, const char *png_out,
                  char *err, size_t errlen);

#endif /* XENOS_EXP_RRD_H */
