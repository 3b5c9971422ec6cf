/*
 * xenosd.c: the control-domain daemon.
 *
 * Every interval: sample every domain through the backend, account the
 * usage (collector), turn the tenant policy into per-domain weight and cap
 * and apply what changed, write the checkpoint, and render the status the
 * control socket serves.  One thread; poll() waits for the next interval,
 * a signal (signalfd) or a control client.  Clients are non-blocking and
 * served a system call at a time, each with a deadline (ctlsrv.c), so no
 * client can delay an interval.  Intervals keep to a fixed grid on the
 * monotonic clock; one that is missed is skipped, not run twice.
 *
 * SIGHUP reloads the tenant policy (a bad file is logged with file:line and
 * the old policy stays).  SIGTERM/SIGINT close the interval (one last
 * sample), checkpoint and exit 0.
 *
 * The state directory is checked and locked before anything in it is
 * touched (fio_dir_open, fio_lock_at): one xenosd per state directory, and
 * a second one leaves the first's socket alone (docs/reliability/
 * statedir.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/cfg.h>
#include <xenos/cli.h>
#include <xenos/exp.h>
#include <xenos/exp_prom.h>
#include <xenos/exp_usage.h>
#include <xenos/fileio.h>
#include <xenos/log.h>
#include <xenos/num.h>

#include "ctl.h"
#include "ctlsrv.h"
#include "daemon.h"
#include "notify.h"

#define XD_INTERVAL_MS_DEFAULT  5000
#define XD_INTERVAL_MS_MIN      100
#define XD_INTERVAL_MS_MAX      3600000
#define XD_MAX_BACKEND_ARGS     16
#define XD_PEER_GROUPS          64      /* first guess; grown on ERANGE */
/* The unit's --config: may be missing (read_config). */
#define XD_CONFIG_DEFAULT       "/etc/xenos/xenosd.conf"

/* ------------------------------------------------------------------ */
/* Intervals                                                           */

static void xd_interval(struct xd *xd)
{
    uint64_t t0 = xd_clock_ns(CLOCK_MONOTONIC);
    int rc;

    rc = xd->be->sample(xd->be_state, &xd->sample);
    if ( rc )
    {
        /* Counters stay where they were: the next good sample counts
         * both intervals. */
        acct_collector_count_error(xd->col, ACCT_ERR_SAMPLE);
        xd_cond_note(&xd->sample_cond, rc, "sample",
                     "counted in errors.sample");
        xd->dirty = true;
        xd_export(xd);
        return;
    }
    xd_cond_note(&xd->sample_cond, 0, "sample", NULL);
    if ( xd_account(xd) )
    {
        /* Half-accounted in memory: the checkpoint on disk is the truth,
         * so start again from it rather than write this one. */
        xlog(LOG_ERR, "out of memory accounting a sample; exiting to restart "
                      "from the checkpoint");
        exit(1);
    }
    xd->last_sample_wall_ns = xd_clock_ns(CLOCK_REALTIME);
    xd->sample_duration_ns = xd_clock_ns(CLOCK_MONOTONIC) - t0;
    xd_export(xd);
}

/* After an interval, for systemd: READY=1 after the first (the control
 * socket is up by then), and the STATUS= line `systemctl status` shows. */
static void xd_interval_notify(struct xd *xd, struct xd_notify *nt)
{
    struct acct_snapshot snap;
    const char *ready = nt->ready ? "" : "READY=1\n";

    acct_snap(xd->col, &snap);
    if ( xd->sample_cond.rc )
        xd_notify(nt, "%sSTATUS=interval %" PRIu64 ": sampling fails (%s)",
                  ready, snap.intervals, fio_strerror(xd->sample_cond.rc));
    else
        xd_notify(nt, "%sSTATUS=interval %" PRIu64 ": %" PRIu32 " domains, "
                  "%" PRIu32 " tenants", ready, snap.intervals,
                  xd->sample.nr_domains, snap.nr_tenants);
    nt->ready = true;
}

/* ------------------------------------------------------------------ */
/* Control socket                                                      */

static int xd_listen(struct xd *xd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    mode_t old;
    int fd, rc;

    rc = xenos_ctl_path(sa.sun_path, sizeof(sa.sun_path), xd->o.state_dir);
    if ( rc )
        return rc;
    /* Ours to replace: we hold the state dir's lock. */
    unlinkat(xd->state_fd, XENOS_CTL_SOCKET, 0);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if ( fd < 0 )
        return -errno;
    old = umask(0117);      /* srw-rw----: root and our group */
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
    umask(old);
    if ( !rc && listen(fd, 16) )
        rc = -errno;
    if ( rc )
    {
        close(fd);
        return rc;
    }
    xd->listen_fd = fd;
    return 0;
}

/* Is @gid ours (the daemon's group)? */
static bool xd_our_gid(gid_t gid)
{
    return gid == getegid() || gid == getgid();
}

/* A member of our group through its supplementary groups: the peer's
 * groups as they were at connect (SO_PEERGROUPS, Linux 4.13), else those
 * its user has now. */
static bool xd_peer_in_group(int fd, const struct ucred *cr)
{
    gid_t first[XD_PEER_GROUPS], *g = first;
    socklen_t len = sizeof(first);
    bool in = false;
    int rc, n, i;

    rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) ? errno : 0;
    if ( rc == ERANGE )
    {
        g = malloc(len);
        rc = !g ? ENOMEM
             : getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) ? errno
             : 0;
    }
    if ( rc == ENOPROTOOPT )
    {
        /* An older kernel: the groups of the peer's user, as now. */
        struct passwd pw, *res = NULL;
        char pwbuf[4096];

        n = XD_PEER_GROUPS;
        rc = getpwuid_r(cr->uid, &pw, pwbuf, sizeof(pwbuf), &res) || !res ||
             getgrouplist(res->pw_name, cr->gid, first, &n) < 0 ? EPERM : 0;
        len = (socklen_t)((size_t)n * sizeof(gid_t));
    }
    for ( i = 0; !rc && i < (int)(len / sizeof(gid_t)) && !in; i++ )
        in = xd_our_gid(g[i]);
    if ( g != first )
        free(g);
    return in;
}

/* Root, our user or a member of our group (its primary group or one of
 * its supplementary groups); else @why says so (xd_ctl_peer_cb). */
static bool xd_peer_allowed(int fd, char *why, size_t why_len)
{
    struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
    socklen_t len = sizeof(cr);

    if ( !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
         (cr.uid == 0 || cr.uid == getuid() || cr.uid == geteuid() ||
          xd_our_gid(cr.gid) || xd_peer_in_group(fd, &cr)) )
        return true;
    snprintf(why, why_len, "error permission denied: uid %u is not root, "
             "xenosd's user (uid %u) or a member of its group (gid %u)\n",
             (unsigned int)cr.uid, (unsigned int)geteuid(),
             (unsigned int)getegid());
    return false;
}

/* The reply to a request line: status and top rendered when the state
 * changed since they were last asked for. */
static void xd_answer(void *ctx, const char *req, const char **reply,
                      size_t *len)
{
    static const char no_sample[] = "error no sample yet\n";
    static const char unknown[] = "error unknown request\n";
    struct xd *xd = ctx;

    if ( acct_snap(xd->col, &(struct acct_snapshot){ 0 })->intervals )
        xd_render(xd);
    if ( !strcmp(req, "status") && xd->status )
    {
        *reply = xd->status;
        *len = xd->status_len;
    }
    else if ( !strcmp(req, "top") && xd->top )
    {
        *reply = xd->top;
        *len = xd->top_len;
    }
    else if ( !strcmp(req, "status") || !strcmp(req, "top") )
    {
        *reply = no_sample;
        *len = sizeof(no_sample) - 1;
    }
    else
    {
        *reply = unknown;
        *len = sizeof(unknown) - 1;
    }
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: xenosd [options]\n"
        "  --backend sim|xen     where domains come from (default sim)\n"
        "  --scenario FILE       sim: the simulated host's scenario\n"
        "  --speed N             sim: simulated time per wall time (1)\n"
        "  --sim-policy P        sim: the simulated host's scheduler\n"
        "  --simhost PATH        sim: the xenos-simhost binary\n"
        "  --xen-tenant-key KEY  xen: xenstore key of a domain's tenant, "
        "relative to\n"
        "                        /local/domain/ID/ (default vm-data/tenant)\n"
        "  --policy-file FILE    tenant policy (YAML)\n"
        "  --listen ADDR         Prometheus /metrics on HOST:PORT (default "
        "%s; off: none)\n"
        "  --rrd-dir DIR         RRD archives (default STATE/rrd; off: "
        "none)\n"
        "  --rrdcached ADDR      update RRDs through rrdcached (unix:/path, "
        "host[:port])\n"
        "  --usage-dir DIR       usage ledger (default STATE/usage; off: "
        "none)\n"
        "  --usage-interval-s N  ledger interval, dividing 3600 (default "
        "60)\n"
        "  --exporter-opt NAME.KEY=VALUE\n"
        "                        an exporter's option (the four above are "
        "prometheus.listen,\n"
        "                        rrd.dir, rrd.rrdcached, usage.dir, "
        "usage.interval_s)\n"
        "  --interval-ms N       sampling interval, %d..%d (default %d)\n"
        "  --state-dir DIR       checkpoint and control socket (default %s)\n"
        "  --config FILE         options as 'key = value' lines (%s may be\n"
        "                        missing: then there are none)\n"
        "  --version             print the version and exit\n"
        "  --help                print this and exit\n",
        EXP_PROM_LISTEN_DEFAULT, XD_INTERVAL_MS_MIN, XD_INTERVAL_MS_MAX,
        XD_INTERVAL_MS_DEFAULT, XENOS_STATE_DIR_DEFAULT, XD_CONFIG_DEFAULT);
}

static const struct option xd_long[] = {
    { "backend", required_argument, NULL, 'b' },
    { "scenario", required_argument, NULL, 's' },
    { "speed", required_argument, NULL, 'S' },
    { "sim-policy", required_argument, NULL, 'P' },
    { "simhost", required_argument, NULL, 'H' },
    { "xen-tenant-key", required_argument, NULL, 'T' },
    { "policy-file", required_argument, NULL, 'p' },
    { "listen", required_argument, NULL, 'l' },
    { "rrd-dir", required_argument, NULL, 'r' },
    { "rrdcached", required_argument, NULL, 'C' },
    { "usage-dir", required_argument, NULL, 'u' },
    { "usage-interval-s", required_argument, NULL, 'U' },
    { "exporter-opt", required_argument, NULL, 'E' },
    { "interval-ms", required_argument, NULL, 'i' },
    { "state-dir", required_argument, NULL, 'd' },
    { "config", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, CLI_OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

/*
 * An exporter's option: "@key=@val", or @val itself ("NAME.KEY=VALUE")
 * when @key is NULL, which must name an exporter built in.  Kept until
 * exit (the exporters read them at open).  An old flag (@key given) of an
 * exporter left out of this build is dropped, said when it asks for
 * more than "off": a config file written for a full build still starts.
 */
static int exp_opt_add(struct xd_opts *o, const char *key, const char *val,
                       const char *where)
{
    const char *dot = strchr(val, '.'), *eq = strchr(val, '=');
    char name[64], *s;
    size_t n;

    if ( !key )
    {
        n = dot ? (size_t)(dot - val) : 0;
        if ( !dot || !eq || eq < dot || dot + 1 == eq || n >= sizeof(name) )
        {
            xlog(LOG_ERR, "%s: exporter-opt must be "
                    "NAME.KEY=VALUE, not '%s'", where, val);
            return -EINVAL;
        }
        memcpy(name, val, n);
        name[n] = '\0';
        if ( !exp_find(name) )
        {
            char built[256] = "";

            for ( n = 0; exp_exporters[n]; n++ )
                snprintf(built + strlen(built), sizeof(built) - strlen(built),
                         " %s", exp_exporters[n]->name);
            xlog(LOG_ERR, "%s: exporter-opt: no exporter '%s' (built in:%s)",
                 where, name, built);
            return -EINVAL;
        }
    }
    else
    {
        n = strcspn(key, ".");
        snprintf(name, sizeof(name), "%.*s", (int)n, key);
        if ( !exp_find(name) )
        {
            if ( strcmp(val, "off") )
                xlog(LOG_WARNING, "%s: %s ignored: no exporter '%s' "
                        "is built in", where, key, name);
            return 0;
        }
    }
    if ( o->nr_exp_opts == XD_EXP_OPTS_MAX )
    {
        xlog(LOG_ERR, "%s: more than %d exporter options", where,
                XD_EXP_OPTS_MAX);
        return -E2BIG;
    }
    n = (key ? strlen(key) + 1 : 0) + strlen(val) + 1;
    s = malloc(n);
    if ( !s )
        return -ENOMEM;
    if ( key )
        snprintf(s, n, "%s=%s", key, val);
    else
        snprintf(s, n, "%s", val);
    o->exp_opts[o->nr_exp_opts++] = s;
    return 0;
}

/* One option by its long name; @where names the source for errors. */
static int set_opt(struct xd_opts *o, int key, const char *val,
                   const char *where)
{
    char *v = strdup(val);
    int64_t n;

    if ( !v )
        return -ENOMEM;
    switch ( key )
    {
    case 'b': o->backend = v; return 0;
    case 's': o->scenario = v; return 0;
    case 'S': o->speed = v; return 0;
    case 'P': o->sim_policy = v; return 0;
    case 'H': o->simhost = v; return 0;
    case 'T': o->xen_tenant_key = v; return 0;
    case 'p': o->policy_file = v; return 0;
    case 'd': o->state_dir = v; return 0;
    /* The exporters' options of old, kept, as their NAME.KEY */
    case 'l': free(v); return exp_opt_add(o, "prometheus.listen", val, where);
    case 'r': free(v); return exp_opt_add(o, "rrd.dir", val, where);
    case 'C': free(v); return exp_opt_add(o, "rrd.rrdcached", val, where);
    case 'u': free(v); return exp_opt_add(o, "usage.dir", val, where);
    case 'U':
        free(v);
        if ( num_parse_int(val, 1, 3600, &n) )
        {
            xlog(LOG_ERR, "%s: usage-interval-s must be 1..3600, "
                    "not '%s'", where, val);
            return -EINVAL;
        }
        return exp_opt_add(o, "usage.interval_s", val, where);
    case 'E': free(v); return exp_opt_add(o, NULL, val, where);
    case 'i':
        free(v);
        if ( num_parse_int(val, XD_INTERVAL_MS_MIN, XD_INTERVAL_MS_MAX, &n) )
        {
            xlog(LOG_ERR, "%s: interval-ms must be %d..%d, not "
                    "'%s'", where, XD_INTERVAL_MS_MIN, XD_INTERVAL_MS_MAX,
                    val);
            return -EINVAL;
        }
        o->interval_ms = (long)n;
        return 0;
    }
    free(v);
    return -EINVAL;
}

/* "key = value" lines; '#' starts a comment (cfg_kv_next). */
static int read_config(struct xd_opts *o, const char *path)
{
    FILE *f = fopen(path, "re");
    struct cfg_kv *kv;
    char *k, *v;
    int rc;

    if ( !f )
    {
        rc = -errno;
        /* The unit's config, which a fresh install need not have: no
         * file, no options (a restart loop helps nobody).  Any other
         * file was asked for by name and must be there. */
        if ( rc == -ENOENT && !strcmp(path, XD_CONFIG_DEFAULT) )
        {
            xlog(LOG_NOTICE, "no %s: running on the defaults and the "
                 "command line", path);
            return 0;
        }
        xlog(LOG_ERR, "%s: %s", path, strerror(-rc));
        return rc;
    }
    kv = malloc(sizeof(*kv));
    if ( !kv )
    {
        fclose(f);
        return -ENOMEM;
    }
    cfg_kv_init(kv, f, path);
    while ( (rc = cfg_kv_next(kv, &k, &v)) > 0 )
    {
        const struct option *opt;

        for ( opt = xd_long; opt->name; opt++ )
            if ( !strcmp(opt->name, k) && opt->has_arg &&
                 strcmp(k, "config") )
                break;
        if ( !opt->name )
        {
            xlog(LOG_ERR, "%s: unknown key '%s'", kv->where, k);
            rc = -EINVAL;
            break;
        }
        rc = set_opt(o, opt->val, v, kv->where);
        if ( rc )
            break;
    }
    if ( rc < 0 && kv->err[0] )
        xlog(LOG_ERR, "%s", kv->err);
    free(kv);
    fclose(f);
    return rc < 0 ? rc : 0;
}

/* 0 to go on, or the exit status: 2 (CLI_EXIT_USAGE) for bad usage, 0
 * after --help or --version. */
static int parse_args(struct xd_opts *o, int argc, char **argv, bool *done)
{
    int c, i;

    o->backend = "sim";
    o->state_dir = XENOS_STATE_DIR_DEFAULT;
    o->interval_ms = XD_INTERVAL_MS_DEFAULT;
    /* The config file first, so the command line overrides it. */
    for ( i = 1; i < argc; i++ )
        if ( !strncmp(argv[i], "--config=", 9) ||
             (!strcmp(argv[i], "--config") && i + 1 < argc) )
        {
            const char *p = argv[i][8] == '=' ? argv[i] + 9 : argv[++i];

            if ( read_config(o, p) )
                return 2;
        }
    opterr = 0;
    while ( (c = getopt_long(argc, argv, ":h", xd_long, NULL)) != -1 )
    {
        if ( c == 'h' || c == CLI_OPT_VERSION )
        {
            *done = true;
            if ( c == CLI_OPT_VERSION )
                return cli_version("xenosd");
            usage(stdout);
            return 0;
        }
        if ( c == 'c' )
            continue;
        if ( c == '?' || c == ':' )
            return cli_bad_option("xenosd", c, argv);
        if ( set_opt(o, c, optarg, "command line") )
            return 2;
    }
    if ( optind < argc )
        return cli_usage_error("xenosd", "unexpected argument '%s'",
                               argv[optind]);
    return 0;
}

static int xd_open_backend(struct xd *xd)
{
    const char *args[XD_MAX_BACKEND_ARGS + 1];
    char buf[8][PATH_MAX + 16], err[512] = "";
    unsigned int n = 0;
    int rc;

    xd->be = acct_backend_find(xd->o.backend);
    if ( !xd->be )
    {
        xlog(LOG_ERR, "no backend '%s' in this build",
                xd->o.backend);
        return -ENOENT;
    }
    /* Said here, in xenosd's words: another backend would refuse it as
     * an unknown "tenant_key". */
    if ( xd->o.xen_tenant_key && strcmp(xd->be->name, "xen") )
    {
        xlog(LOG_ERR, "--xen-tenant-key is an option of the xen "
                "backend, not of %s", xd->be->name);
        return -EINVAL;
    }
#define ARG(k, v) \
    if ( v ) { snprintf(buf[n], sizeof(buf[n]), "%s=%s", k, v); \
               args[n] = buf[n]; n++; }
    ARG("scenario", xd->o.scenario);
    ARG("speed", xd->o.speed);
    ARG("policy", xd->o.sim_policy);
    ARG("simhost", xd->o.simhost);
    ARG("state_dir", xd->o.state_dir);
    ARG("tenant_key", xd->o.xen_tenant_key);
#undef ARG
    args[n] = NULL;
    rc = xd->be->open(args, &xd->be_state, err, sizeof(err));
    if ( rc )
        xlog(LOG_ERR, "backend %s: %s", xd->be->name,
                err[0] ? err : strerror(-rc));
    return rc;
}

static int xd_signals(struct xd *xd)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if ( sigprocmask(SIG_BLOCK, &set, NULL) )
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    xd->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return xd->sig_fd < 0 ? -errno : 0;
}

/* SIGHUP: reload; SIGTERM/SIGINT: returns true to stop. */
static bool xd_signal(struct xd *xd, struct xd_notify *nt)
{
    struct signalfd_siginfo si;
    bool stop = false;

    while ( read(xd->sig_fd, &si, sizeof(si)) == sizeof(si) )
    {
        if ( si.ssi_signo == SIGHUP )
        {
            xd_notify(nt, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
                      xd_clock_ns(CLOCK_MONOTONIC) / 1000u);
            xd->policy_reloads++;
            if ( xd_load_policy(xd) )
            {
                xd->policy_reload_errors++;
                xlog(LOG_WARNING, "tenant policy not reloaded; the old one "
                     "stays");
            }
            else
                xlog(LOG_INFO, "tenant policy reloaded from %s",
                     xd->o.policy_file ? xd->o.policy_file : "(none)");
            xd_notify(nt, "READY=1");
        }
        else
            stop = true;
    }
    return stop;
}

/*
 * The state directory, before anything in it is touched: created if
 * missing, checked (ours, not writable by others, not a symbolic link,
 * nobody else can swap it) and locked, so a second xenosd on it stops
 * here and leaves the first one's socket, checkpoint and ledger alone.
 * 0, or -errno said on stderr.
 */
static int xd_state_dir(struct xd *xd)
{
    char err[PATH_MAX + 256];
    pid_t holder = 0;
    int fd;

    fd = fio_dir_open(xd->o.state_dir, true, err, sizeof(err));
    if ( fd < 0 )
    {
        xlog(LOG_ERR, "state dir %s", err);
        return fd;
    }
    xd->state_fd = fd;
    fd = fio_lock_at(xd->state_fd, XENOS_LOCK_FILE, &holder);
    if ( fd == -EWOULDBLOCK )
    {
        if ( holder > 0 )
            xlog(LOG_ERR, "state dir %s is in use by another "
                    "xenosd (pid %ld holds %s/%s): not starting",
                    xd->o.state_dir, (long)holder, xd->o.state_dir,
                    XENOS_LOCK_FILE);
        else
            xlog(LOG_ERR, "state dir %s is in use by another "
                    "xenosd (it holds %s/%s): not starting",
                    xd->o.state_dir, xd->o.state_dir, XENOS_LOCK_FILE);
        return fd;
    }
    if ( fd < 0 )
    {
        xlog(LOG_ERR, "%s/%s: %s", xd->o.state_dir,
                XENOS_LOCK_FILE, fio_strerror(fd));
        return fd;
    }
    xd->lock_fd = fd;
    return 0;
}

int main(int argc, char **argv)
{
    static struct xd xd;    /* reachable until exit, for leak checks */
    static struct xd_ctl ctl;
    struct xd_notify nt;
    char ckpt[PATH_MAX], err[512] = "";
    bool done = false, ran;
    uint64_t next;
    int rc;

    memset(&xd, 0, sizeof(xd));
    xd.listen_fd = xd.sig_fd = xd.state_fd = xd.lock_fd = -1;
    rc = parse_args(&xd.o, argc, argv, &done);
    if ( rc || done )
        return rc;
    if ( xd_state_dir(&xd) )
        return 1;
    if ( xd.o.policy_file && xd_load_policy(&xd) )
        return 2;
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", xd.o.state_dir);
    rc = acct_collector_alloc(&xd.col, ckpt, err, sizeof(err));
    if ( rc == -EBADMSG )
        xlog(LOG_WARNING, "%s; starting afresh", err);
    else if ( rc )
    {
        xlog(LOG_ERR, "%s", err);
        return 1;
    }
    acct_sample_init(&xd.sample);
    if ( gethostname(xd.host, sizeof(xd.host) - 1) )
        snprintf(xd.host, sizeof(xd.host), "localhost");
    if ( xd_signals(&xd) )
    {
        xlog(LOG_ERR, "signals: %s", strerror(errno));
        return 1;
    }
    /* After the signal mask is set: threads an exporter starts (the
     * metrics server's) inherit it, so SIGTERM and SIGHUP still reach
     * only the signalfd. */
    if ( xd_open_exporters(&xd) )
        return 1;
    if ( (rc = xd_listen(&xd)) )
    {
        xlog(LOG_ERR, "control socket in %s: %s", xd.o.state_dir,
             strerror(-rc));
        return 1;
    }
    /* The backend last: the sim backend may start a host (a process of
     * its own that outlives us, as a hypervisor does), so everything that
     * can refuse to start (state dir, policy, checkpoint, exporters and
     * their ports, control socket) has said yes before it: a daemon that
     * fails to start leaves nothing running (test_xenosd). */
    if ( xd_open_backend(&xd) )
        return 1;
    xlog(LOG_INFO, "sampling %s every %ld ms; state in %s; control socket "
         "%s/%s", xd.be->name, xd.o.interval_ms, xd.o.state_dir,
         xd.o.state_dir, XENOS_CTL_SOCKET);

    xd_ctl_init(&ctl, xd.listen_fd, xd_peer_allowed, xd_answer, &xd);
    xd_notify_init(&nt);
    next = xd_clock_ns(CLOCK_MONOTONIC);
    for ( ;; )
    {
        struct pollfd p[1 + XD_CTL_NR_POLLFDS];
        uint64_t now = xd_clock_ns(CLOCK_MONOTONIC);
        int timeout = now >= next ? 0 : (int)((next - now + 999999) / 1000000);
        int ctl_timeout = xd_ctl_timeout_ms(&ctl, now);
        int wd_timeout = xd_notify_timeout_ms(&nt, now);

        if ( ctl_timeout >= 0 && ctl_timeout < timeout )
            timeout = ctl_timeout;
        if ( wd_timeout >= 0 && wd_timeout < timeout )
            timeout = wd_timeout;
        p[0] = (struct pollfd){ xd.sig_fd, POLLIN, 0 };
        xd_ctl_pollfds(&ctl, p + 1);
        if ( poll(p, 1 + XD_CTL_NR_POLLFDS, timeout) < 0 )
        {
            if ( errno != EINTR )
                break;
            continue;
        }
        if ( (p[0].revents & POLLIN) && xd_signal(&xd, &nt) )
        {
            xd_notify(&nt, "STOPPING=1\nSTATUS=stopping: closing the "
                      "interval");
            /* The ledger writes what it observed of the open interval
             * as partial records (docs/usage-format.md, "Span"). */
            xd.stopping = true;
            xd_interval(&xd);   /* close the interval, then go */
            break;
        }
        /* Never blocks: a client can cost this loop a system call, not
         * an interval (ctlsrv.c). */
        xd_ctl_serve(&ctl, p + 1, xd_clock_ns(CLOCK_MONOTONIC));
        now = xd_clock_ns(CLOCK_MONOTONIC);
        ran = now >= next;
        if ( ran )
        {
            xd_interval(&xd);
            xd_interval_notify(&xd, &nt);
            next += (uint64_t)xd.o.interval_ms * 1000000u;
            if ( next <= now )
            {
                /* Fell behind (a slow backend): skip, don't bunch up. */
                next = now + (uint64_t)xd.o.interval_ms * 1000000u;
            }
        }
        /* Progress: an interval ran this turn (however slowly: a backend
         * that fails by its own timeout is not hung), or none is due yet.
         * One that hangs never lets the loop come back here. */
        now = xd_clock_ns(CLOCK_MONOTONIC);
        xd_notify_watchdog(&nt, now, ran || now < next);
    }
    xlog(LOG_INFO, "stopping after %" PRIu64 " intervals",
                   acct_snap(xd.col, &(struct acct_snapshot){ 0 })->intervals);
    xd_ctl_deinit(&ctl);
    xd_close_exporters(&xd);
    xd.be->close(xd.be_state);
    acct_collector_free(xd.col);
    acct_sample_free(&xd.sample);
    tpol_free(xd.tpol);
    unlinkat(xd.state_fd, XENOS_CTL_SOCKET, 0);
    close(xd.lock_fd);          /* the lock goes last */
    close(xd.state_fd);
    free(xd.status);
    free(xd.top);
    free(xd.in);
    free(xd.out);
    return 0;
}
