/*
 * exp.h: exporters: what xenosd's collector knows, in the forms others
 * read.  Each exporter is one file with its own prefix and header, and an
 * ops table (struct exp_ops, below) named by a line of exporters.def:
 *   prometheus.c  exp_prom_   text format 0.0.4 over HTTP (libmicrohttpd)
 *   rrd.c         exp_rrd_    RRD archives per domain and tenant (librrd)
 *   usage.c       exp_usage_  the usage ledger for billing (protobuf-c)
 * xenosd calls each one's update after every interval with the
 * collector's read-only snapshot (struct acct_snapshot, valid for the
 * duration of the call) and this summary.
 */
#ifndef XENOS_EXP_H
#define XENOS_EXP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenos/acct.h>

/* How one exporter fares, as the daemon saw it at the end of the
 * previous interval (the exporters are handed an interval in turn). */
struct exp_health {
    const char *name;                   /* exporters.def's */
    uint64_t failed_intervals;          /* in a row; 0: its last worked */
};

struct exp_info {
    const char *host;                   /* this host's name */
    const char *backend;                /* "sim", "xen" */
    uint64_t interval_ms;               /* sampling interval */
    uint64_t sample_unix_ns;            /* wall clock of the last sample */
    uint64_t sample_duration_ns;        /* how long sampling took */
    uint64_t intervals;                 /* closed so far */
    bool stopping;                      /* the daemon's last interval
                                         * before it stops */
    const struct exp_health *exporters; /* those not off; may be NULL */
    unsigned int nr_exporters;
};

/*
 * What the daemon opens an exporter with.  Options are "NAME.KEY=VALUE"
 * strings (xenosd's --exporter-opt, and its older flags, which it turns
 * into these): an exporter reads its own with exp_opt().
 */
struct exp_env {
    const char *name;                   /* the exporter's, for exp_opt */
    const char *state_dir;              /* its files go below by default */
    const char *host;                   /* this host's name */
    uint64_t interval_ms;               /* the daemon's sampling interval */
    bool fresh;                         /* the collector starts afresh */
    const char *const *opts;            /* NULL-terminated */
};

/* The value of option NAME.@key for @env's exporter (the last one given
 * wins), or @def. */
const char *exp_opt(const struct exp_env *env, const char *key,
                    const char *def);

/* An exporter's open answers this when its options turn it off. */
#define EXP_OFF                 1

/* Option @key as a directory into *@dir: its value, or STATE_DIR/@sub
 * when not given (written into @buf).  0; EXP_OFF for "off";
 * -ENAMETOOLONG. */
int exp_opt_dir(const struct exp_env *env, const char *key, const char *sub,
                char *buf, size_t len, const char **dir);

/*
 * One exporter, found by name in exporters.def.  xenosd opens every one
 * (each may answer EXP_OFF), hands each the snapshot after every interval
 * in the order of exporters.def (after the checkpoint: so the usage
 * ledger is never ahead of what a restart would count again), and closes
 * them in turn.  @msg / @err: a line for the log ("" for none).
 */
struct exp_ops {
    const char *name;                   /* in options: NAME.KEY */
    const char *what;                   /* in log lines: "metrics", ... */
    /* 0 (@msg a line to log as it is, or ""), EXP_OFF, or -errno with
     * @msg the reason. */
    int (*open)(const struct exp_env *env, void **state, char *msg,
                size_t msglen);
    /* 0 or -errno (the interval is kept and tried again at the next);
     * @msg: something to log once, "what: msg", or "". */
    int (*update)(void *state, const struct acct_snapshot *s,
                  const struct exp_info *info, char *msg, size_t msglen);
    /* 0, or -errno with @msg (pending work is kept for the next start). */
    int (*close)(void *state, char *msg, size_t msglen);
};

#define EXP_EXPORTER(name) extern const struct exp_ops exp_ops_##name;
#include <xenos/exporters.def>
#undef EXP_EXPORTER

/* Every exporter built in, NULL-terminated, in exporters.def's order. */
extern const struct exp_ops *const exp_exporters[];

/* The exporter called @name, or NULL. */
const struct exp_ops *exp_find(const char *name);

#endif /* XENOS_EXP_H */
