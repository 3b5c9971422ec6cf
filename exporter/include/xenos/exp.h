/*
 * exp.h: exporters: what xenosd's collector knows, in the forms others
 * read.  Each exporter is one file with its own prefix and header:
 *   prometheus.c  exp_prom_   text format 0.0.4 over HTTP (libmicrohttpd)
 *   rrd.c         exp_rrd_    RRD archives per domain and tenant (librrd)
 *   usage.c       exp_usage_  the usage ledger for billing (protobuf-c)
 * xenosd calls each one's update after every interval with the
 * collector's read-only snapshot (struct acct_snapshot, valid for the
 * duration of the call) and this summary.
 */
#ifndef XENOS_EXP_H
#define XENOS_EXP_H

#include <stdint.h>

#include <xenos/acct.h>

struct exp_info {
    const char *host;                   /* this host's name */
    const char *backend;                /* "sim", "xen" */
    uint64_t interval_ms;               /* sampling interval */
    uint64_t sample_unix_ns;            /* wall clock of the last sample */
    uint64_t sample_duration_ns;        /* how long sampling took */
    uint64_t intervals;                 /* closed so far */
};

#endif /* XENOS_EXP_H */
