/*
 * daemon.h: for xenosd (and its benchmark) only: the daemon's state and
 * the work of one interval, apart from the process around it (options,
 * signals, the control socket), so bench_xenosd times exactly this code.
 */
#ifndef XENOS_ACCT_DAEMON_H
#define XENOS_ACCT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <xenos/acct.h>
#include <xenos/exp.h>
#include <xenos/tpol.h>

#define XD_EXPORTERS_MAX        16
#define XD_EXP_OPTS_MAX         64

struct xd_opts {
    const char *backend;
    const char *scenario;
    const char *speed;
    const char *sim_policy;
    const char *simhost;
    const char *xen_tenant_key;         /* xen: NULL: the backend's default */
    const char *policy_file;
    const char *state_dir;
    /* The exporters' options, "NAME.KEY=VALUE" (exp.h), in the order
     * given (the last one of a key wins); NULL-terminated. */
    const char *exp_opts[XD_EXP_OPTS_MAX + 1];
    unsigned int nr_exp_opts;
    long interval_ms;
};

/*
 * Something that fails or works interval after interval (a sample, the
 * checkpoint, each exporter): logged when it starts failing, when its
 * error changes, and when it works again, never at every interval in
 * between (a full disk for an hour is two lines, not 720).  Zeroed: works.
 */
struct xd_cond {
    int rc;                             /* the error last logged; 0: works */
    uint64_t fails;                     /* failed intervals since it began */
};

/*
 * Note the outcome @rc (0 or -errno) of @what for @c, logging as above:
 * "WHAT: reason (@hint)" when failing starts or the reason changes (@hint
 * may be NULL; an error, LOG_ERR), "WHAT works again (after N failed
 * intervals)" when it ends (LOG_NOTICE).  Returns @rc.
 */
int xd_cond_note(struct xd_cond *c, int rc, const char *what,
                 const char *hint);

struct xd {
    struct xd_opts o;
    const struct acct_backend_ops *be;
    void *be_state;
    struct tpol *tpol;
    struct acct_collector *col;
    struct acct_sample sample;
    uint32_t nr_pcpus;                  /* of the last good sample, 0: ? */
    struct tpol_input *in;
    struct tpol_output *out;
    size_t io_cap;
    int listen_fd, sig_fd;
    int state_fd, lock_fd;              /* the state dir, checked; its lock */
    char *status, *top;                 /* rendered when asked for */
    size_t status_len, top_len;
    bool dirty;                         /* status/top older than the state */
    struct xd_cond sample_cond;         /* the backend's sample */
    struct xd_cond ckpt_cond;           /* the collector's checkpoint */
    struct xd_cond sched_cond;          /* the backend's set_sched */
    uint64_t sample_duration_ns;
    uint64_t last_sample_wall_ns;
    bool stopping;                      /* the last interval: a signal
                                         * stops the daemon after it */
    uint64_t policy_reloads, policy_reload_errors;
    char host[256];                     /* gethostname */
    struct xd_exporter {                /* the exporters not off */
        const struct exp_ops *ops;
        void *state;
        struct xd_cond cond;
    } exps[XD_EXPORTERS_MAX];
    unsigned int nr_exps;
    uint64_t export_errors;
};

uint64_t xd_clock_ns(int clock_id);

/* Load xd->o.policy_file into xd->tpol; on error log and keep the old
 * one.  0 or -errno. */
int xd_load_policy(struct xd *xd);

/*
 * The daemon's own work for the sample in xd->sample: account it, apply
 * the tenant policy through the backend, write the checkpoint, and mark
 * the status for rendering (done when a client asks, so an interval
 * nobody looks at costs nothing to show).  Returns 0, or -ENOMEM when
 * accounting failed half-way (the caller must exit and restart from the
 * checkpoint).
 */
int xd_account(struct xd *xd);

/* Render status and top for the control socket into xd->status/top, if
 * the state changed since the last rendering. */
void xd_render(struct xd *xd);

/* Open every exporter of exporters.def that its options do not turn off
 * (after the signal mask is set: threads they start inherit it).  0, or
 * -errno with the reason logged. */
int xd_open_exporters(struct xd *xd);

/* Close them, logging what a close could not finish. */
void xd_close_exporters(struct xd *xd);

/* Hand the interval to the exporters (after xd_account, and after a
 * failed sample too, so health figures move).  Failures are counted in
 * xd->export_errors and logged per exporter when they start, change and
 * stop (xd_cond_note). */
void xd_export(struct xd *xd);

#endif /* XENOS_ACCT_DAEMON_H */
