/*
 * main.c: xenos-simhost, a simulated Xen host that lives in real time.
 *
 * It runs a scenario (sim_scenario_load) under a policy, with simulated
 * time following the wall clock scaled by --speed, and answers a line-based
 * text protocol on a UNIX stream socket: what a hypervisor and its
 * toolstack would tell a control-domain daemon (every domain's counters,
 * weight and cap), plus the ground truth a real host cannot give.  The
 * protocol is specified in docs/sim-backend.md; the sim accounting backend
 * (accounting/backends/sim*.c) is its client.
 *
 * Design: one thread, one poll loop.  The simulation is advanced lazily:
 * to the current scaled wall time before each request is answered, and
 * every SH_TICK_MS while the scenario runs, so answering is cheap.  A run
 * is a pure function of scenario, policy and seed whatever the steps, so
 * when requests come does not change what happens, only when it is seen.
 * At the scenario's end time stops; the host keeps answering with its final
 * state until SHUTDOWN, SIGTERM, or --idle-exit-s seconds without a client.
 * It also leaves when its socket file is removed or replaced: unreachable,
 * it would otherwise linger until the end of a long scenario.
 *
 * It is its own process because a hypervisor outlives its dom0 daemon: a
 * client that dies (kill -9 of xenosd) leaves it running with its ground
 * truth intact.  SIGPIPE is ignored and writes never block: a client that
 * stops reading is dropped after SH_STALL_MS, never waited for.  Several
 * clients may be connected at once (xenosd and a test, say).
 *
 * Exit status: 0 after SHUTDOWN, SIGTERM/SIGINT or idle; 1 when it cannot
 * serve (socket in use, out of memory); 2 bad usage, scenario or policy.
 *
 * Files: main.c the options and set-up, loop.c the poll loop and time,
 * protocol.c the requests and replies; private.h what they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenos/cli.h>
#include <xenos/num.h>

#include "private.h"

/*
 * A random identity for this boot of the host, as a uuid: what Linux's
 * /proc/sys/kernel/random/boot_id is to a real dom0.  A host killed and
 * started again is a host that rebooted, with the same domains and
 * counters from zero; its new boot id is how a client tells.
 */
static void sh_boot_id(char out[37])
{
    uint8_t r[16];
    size_t got = 0;

    while ( got < sizeof(r) )
    {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n <= 0 )
            break;
        got += (size_t)n;
    }
    if ( got < sizeof(r) )
    {
        /* No entropy source: the clock and pid still differ per boot. */
        uint64_t t = sh__mono_ns() ^ ((uint64_t)getpid() << 40);
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(r, &t, 8);
        t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        memcpy(r + 8, &t, 8);
    }
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);    /* version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);    /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
}

/* ------------------------------------------------------------------ */
/* Set-up                                                             */

static void sh_usage(FILE *f)
{
    fprintf(f,
            "usage: xenos-simhost --scenario FILE --socket PATH [options]\n"
            "Run a scenario as a live simulated Xen host, in real time\n"
            "scaled by --speed, and answer on a UNIX socket (protocol:\n"
            "docs/sim-backend.md).\n"
            "\n"
            "  --scenario FILE     the host (YAML; also the first argument)\n"
            "  --socket PATH       where to listen (mode 0660)\n"
            "  --policy P          scheduling policy (default: the "
            "scenario's, else %s)\n"
            "  --speed N           simulated time per wall time, e.g. 10 or "
            "0.5 (default 1)\n"
            "  --idle-exit-s N     after the end, exit when no client came "
            "for N s\n"
            "                      (default %d; 0: never)\n"
            "  --daemon            detach; return once the socket answers\n"
            "  --boot-on-sample    start time at the first SAMPLE, not at"
            " once\n"
            "  --pidfile PATH      write the pid there (removed at exit)\n"
            "  --log PATH          log there (default: stderr, or nowhere "
            "with --daemon)\n"
            "  --version           print the version and exit\n"
            "  --help              show this and exit\n"
            "\n"
            "Exit status: 0 done, 1 cannot serve, 2 bad usage, scenario or "
            "policy.\n", SH_DEFAULT_POLICY, SH_IDLE_EXIT_S);
}

static int sh_parse_args(int argc, char **argv, struct sh_opts *o)
{
    enum {
        OPT_SCENARIO = 256, OPT_SOCKET, OPT_POLICY, OPT_SPEED, OPT_IDLE,
        OPT_DAEMON, OPT_PIDFILE, OPT_LOG, OPT_HELP, OPT_BOOT,
    };
    static const struct option longopts[] = {
        { "scenario", required_argument, NULL, OPT_SCENARIO },
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "policy", required_argument, NULL, OPT_POLICY },
        { "speed", required_argument, NULL, OPT_SPEED },
        { "idle-exit-s", required_argument, NULL, OPT_IDLE },
        { "daemon", no_argument, NULL, OPT_DAEMON },
        { "boot-on-sample", no_argument, NULL, OPT_BOOT },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, CLI_OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    int64_t v;
    int c;

    o->speed_milli = 1000;
    o->idle_exit_s = SH_IDLE_EXIT_S;
    opterr = 0;
    while ( (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1 )
    {
        switch ( c )
        {
        case OPT_SCENARIO:
            o->scenario = optarg;
            break;
        case OPT_SOCKET:
            o->socket = optarg;
            break;
        case OPT_POLICY:
            o->policy = optarg;
            break;
        case OPT_SPEED:
            if ( num_parse_fixed(optarg, 3, &v) || v < 1 ||
                 v > SH_SPEED_MILLI_MAX )
            {
                fprintf(stderr, "xenos-simhost: --speed must be 0.001.."
                        "1000000, not '%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            o->speed_milli = (uint64_t)v;
            break;
        case OPT_IDLE:
            if ( num_parse_int(optarg, 0, 10 * 365 * 86400ll, &v) )
            {
                fprintf(stderr, "xenos-simhost: --idle-exit-s must be a "
                        "number of seconds, not '%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            o->idle_exit_s = (uint64_t)v;
            break;
        case OPT_BOOT:
            o->boot_on_sample = true;
            break;
        case OPT_DAEMON:
            o->daemon = true;
            break;
        case OPT_PIDFILE:
            o->pidfile = optarg;
            break;
        case OPT_LOG:
            o->log = optarg;
            break;
        case OPT_HELP:
        case 'h':
            sh_usage(stdout);
            return 0;
        case CLI_OPT_VERSION:
            return cli_version("xenos-simhost");
        default:
            return cli_bad_option("xenos-simhost", c, argv);
        }
    }
    if ( optind < argc && !o->scenario )
        o->scenario = argv[optind++];
    if ( optind < argc || !o->scenario || !o->socket )
        return cli_usage_error("xenos-simhost", "%s", optind < argc
                               ? "too many arguments" : !o->scenario
                               ? "no --scenario given" : "no --socket given");
    return -1;
}

/* @path made absolute (from the current directory), into @out. */
static int sh_abspath(const char *path, char *out, size_t len)
{
    char cwd[PATH_MAX];
    int n;

    if ( path[0] == '/' )
        n = snprintf(out, len, "%s", path);
    else if ( !getcwd(cwd, sizeof(cwd)) )
        return -errno;
    else
        n = snprintf(out, len, "%s/%s", cwd, path);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Listen on the socket path.  A socket file nobody answers on is left from
 * a host that died: it is replaced.  One that answers belongs to a live
 * host: -EADDRINUSE, and it is left alone.
 */
static int sh_listen(struct sh *h)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct stat st;
    mode_t old;
    int fd, rc;

    rc = sh_abspath(h->o.socket, a.sun_path, sizeof(a.sun_path));
    if ( rc )
        return rc;
    memcpy(h->sock_path, a.sun_path, sizeof(h->sock_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
        return -errno;
    old = umask(0117);          /* born 0660: no moment of wider access */
    rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
    if ( rc == -EADDRINUSE && !lstat(a.sun_path, &st) && S_ISSOCK(st.st_mode) )
    {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if ( probe >= 0 &&
             connect(probe, (struct sockaddr *)&a, sizeof(a)) &&
             errno == ECONNREFUSED && !unlink(a.sun_path) )
            rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
        if ( probe >= 0 )
            close(probe);
    }
    umask(old);
    if ( !rc && chmod(a.sun_path, 0660) )
        rc = -errno;
    if ( !rc && listen(fd, 16) )
        rc = -errno;
    if ( !rc && stat(a.sun_path, &st) )
        rc = -errno;
    if ( rc )
    {
        close(fd);
        return rc;
    }
    h->sock_dev = st.st_dev;
    h->sock_ino = st.st_ino;
    h->listen_fd = fd;
    return 0;
}

/* Write our pid to the pidfile atomically (temporary file, rename). */
static int sh_write_pidfile(struct sh *h)
{
    char tmp[PATH_MAX + 8];
    FILE *f;
    int rc = 0;

    if ( snprintf(tmp, sizeof(tmp), "%s.tmp", h->pid_path) >=
         (int)sizeof(tmp) )
        return -ENAMETOOLONG;
    f = fopen(tmp, "w");
    if ( !f )
        return -errno;
    fprintf(f, "%ld\n", (long)getpid());
    if ( fflush(f) || fsync(fileno(f)) )
        rc = -errno;
    if ( fclose(f) && !rc )
        rc = -errno;
    if ( !rc && rename(tmp, h->pid_path) )
        rc = -errno;
    if ( rc )
        unlink(tmp);
    return rc;
}

/*
 * Detach: the parent returns (exit 0) only once the child is serving, so
 * `xenos-simhost --daemon` returning means the socket answers.  The child
 * starts a session of its own, so signals to its starter's process group
 * (a shell's ^C, a supervisor killing xenosd's group) do not reach it.
 */
static int sh_daemonize(struct sh *h)
{
    int p[2], null;
    pid_t pid;
    char ok;

    if ( pipe2(p, O_CLOEXEC) )
        return -errno;
    pid = fork();
    if ( pid < 0 )
        return -errno;
    if ( pid > 0 )
    {
        close(p[1]);
        /* EOF without a byte: the child failed (and said why, if it could,
         * in its log) */
        _exit(read(p[0], &ok, 1) == 1 ? 0 : SH_EXIT_FAIL);
    }
    close(p[0]);
    if ( setsid() < 0 )
        return -errno;
    if ( h->o.pidfile )
    {
        int rc = sh_write_pidfile(h);

        if ( rc )
        {
            fprintf(stderr, "xenos-simhost: pidfile %s: %s\n", h->pid_path,
                    strerror(-rc));
            return rc;
        }
    }
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if ( null < 0 )
        return -errno;
    if ( chdir("/") )
        return -errno;
    /* Nothing of the starter's stays open: one that reads our stderr to
     * its end (the sim backend) must see it end when we are ready. */
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(h->log ? fileno(h->log) : null, STDERR_FILENO);
    close(null);
    ok = 1;
    if ( write(p[1], &ok, 1) != 1 )
        return -errno;
    close(p[1]);
    return 0;
}

static void sh_cleanup(struct sh *h)
{
    struct stat st;
    unsigned int i;

    while ( h->nr_clients )
        sh__client_close(h, 0);
    if ( h->listen_fd >= 0 )
    {
        close(h->listen_fd);
        /* Only our own socket: a successor may have replaced it. */
        if ( !stat(h->sock_path, &st) && st.st_dev == h->sock_dev &&
             st.st_ino == h->sock_ino )
            unlink(h->sock_path);
    }
    if ( h->pid_path[0] )
    {
        FILE *f = fopen(h->pid_path, "r");
        long pid = 0;

        if ( f && fscanf(f, "%ld", &pid) == 1 && pid == (long)getpid() )
            unlink(h->pid_path);
        if ( f )
            fclose(f);
    }
    sim_free(h->sim);
    sim_scenario_free(&h->sc);
    if ( h->log && h->log != stderr )
        fclose(h->log);
    for ( i = 0; i < SH_MAX_CLIENTS; i++ )
        free(h->clients[i].out.p);
}

int main(int argc, char **argv)
{
    static struct sh h;
    char err[1024];
    sigset_t mask;
    const char *policy;
    int rc;

    h.listen_fd = -1;
    h.log = stderr;
    rc = sh_parse_args(argc, argv, &h.o);
    if ( rc >= 0 )
        return rc;
    rc = sim_scenario_load(h.o.scenario, &h.sc, err, sizeof(err));
    if ( rc )
    {
        fprintf(stderr, "%s\n", err);
        return SH_EXIT_USAGE;
    }
    if ( !realpath(h.o.scenario, h.scenario_abs) )
        snprintf(h.scenario_abs, sizeof(h.scenario_abs), "%s", h.o.scenario);
    policy = h.o.policy ? h.o.policy
                        : h.sc.policy ? h.sc.policy : SH_DEFAULT_POLICY;
    h.ops = sch_policy_find(policy);
    if ( !h.ops )
    {
        fprintf(stderr, "xenos-simhost: unknown policy '%s'\n", policy);
        rc = SH_EXIT_USAGE;
        goto out;
    }
    if ( h.o.pidfile &&
         (rc = sh_abspath(h.o.pidfile, h.pid_path, sizeof(h.pid_path))) )
    {
        fprintf(stderr, "xenos-simhost: pidfile %s: %s\n", h.o.pidfile,
                strerror(-rc));
        h.pid_path[0] = '\0';
        rc = SH_EXIT_USAGE;
        goto out;
    }
    if ( h.o.log && !(h.log = fopen(h.o.log, "a")) )
    {
        fprintf(stderr, "xenos-simhost: log %s: %s\n", h.o.log,
                strerror(errno));
        h.log = stderr;
        rc = SH_EXIT_FAIL;
        goto out;
    }
    h.sim = sim_alloc(&h.sc, h.ops, err, sizeof(err));
    if ( !h.sim )
    {
        fprintf(stderr, "xenos-simhost: %s\n", err);
        rc = SH_EXIT_USAGE;
        goto out;
    }
    sim_set_log(h.sim, h.log);
    rc = sh__signals(&mask);
    if ( !rc )
        rc = sh_listen(&h);
    if ( rc )
    {
        fprintf(stderr, "xenos-simhost: %s: %s\n", h.o.socket,
                rc == -EADDRINUSE ? "another host is serving there"
                                  : strerror(-rc));
        rc = SH_EXIT_FAIL;
        goto out;
    }
    if ( h.o.daemon )
    {
        /* The daemon logs to --log or nowhere: stderr is the caller's. */
        if ( !h.o.log )
            h.log = NULL;
        rc = sh_daemonize(&h);
        if ( rc )
        {
            rc = SH_EXIT_FAIL;
            goto out;
        }
        sim_set_log(h.sim, h.log ? h.log : stderr);
    }
    else if ( h.o.pidfile && (rc = sh_write_pidfile(&h)) )
    {
        fprintf(stderr, "xenos-simhost: pidfile %s: %s\n", h.pid_path,
                strerror(-rc));
        h.pid_path[0] = '\0';
        rc = SH_EXIT_FAIL;
        goto out;
    }
    /* Time begins once the host answers, or at the first SAMPLE. */
    h.start_wall_ns = sh__mono_ns();
    h.booted = !h.o.boot_on_sample;
    h.step_ns = SCH_MSEC(1);
    sh_boot_id(h.boot_id);
    sh__log(&h, "serving %s under %s at speed %" PRIu64 ".%03" PRIu64
           " on %s, boot %s", h.o.scenario, h.ops->opt_name,
           h.o.speed_milli / 1000, h.o.speed_milli % 1000, h.sock_path,
           h.boot_id);
    rc = sh__loop(&h, &mask) ? SH_EXIT_FAIL : 0;
 out:
    sh_cleanup(&h);
    return rc;
}
