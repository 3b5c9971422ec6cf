/*
 * sim_spawn.c: starting xenos-simhost for the sim backend, when nothing
 * answers at its socket.
 *
 * The simulated host is its own process, as a hypervisor outlives its
 * dom0 daemon: `xenos-simhost --daemon` with the scenario, started from a
 * clean slate (no signal mask, no open file of our caller's), and waited
 * for (bounded: its starter process exits 0 once the socket listens).
 * Closing the backend, or the death of its caller, leaves it running.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_private.h"

/*
 * The xenos-simhost to run, into @out: simhost=, else $XENOS_SIMHOST, else
 * beside the running program (a program in the same bin directory), else
 * where the build tree puts it relative to a program in another of its
 * directories (build/xenosd/xenosd, build/tests/...), else where it is
 * installed (XENOS_SIMHOST_INSTALLED: BINDIR/xenos-simhost, when xenosd
 * is in SBINDIR), else a bare name for execvp to find in PATH.
 */
static void simb_find_simhost(const struct simb *b, char *out, size_t len)
{
    static const char *const rel[] = {
        "xenos-simhost", "../sched/sim/xenos-simhost",
    };
    const char *env = getenv("XENOS_SIMHOST");
    char self[PATH_MAX], *slash;
    ssize_t n;
    size_t i;

    if ( b->simhost || (env && *env) )
    {
        snprintf(out, len, "%s", b->simhost ? b->simhost : env);
        return;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if ( n > 0 )
    {
        self[n] = '\0';
        slash = strrchr(self, '/');
        *slash = '\0';
        for ( i = 0; i < sizeof(rel) / sizeof(rel[0]); i++ )
        {
            int w = snprintf(out, len, "%s/%s", self, rel[i]);

            if ( w > 0 && (size_t)w < len && !access(out, X_OK) )
                return;
        }
    }
#ifdef XENOS_SIMHOST_INSTALLED
    snprintf(out, len, "%s", XENOS_SIMHOST_INSTALLED);
    if ( !access(out, X_OK) )
        return;
#endif
    snprintf(out, len, "xenos-simhost");
}

/* In the child, before exec: a clean slate, so nothing of our caller
 * (blocked or ignored signals, open files, its terminal) leaks into a
 * host that will outlive it.  stderr goes to @errfd. */
static void simb_child(const char *exe, char *const *argv, int errfd)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD };
    sigset_t none;
    size_t i;
    int null = open("/dev/null", O_RDWR);

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for ( i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++ )
        signal(sigs[i], SIG_DFL);
    if ( null >= 0 )
    {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
    }
    dup2(errfd, STDERR_FILENO);
    close_range(3, ~0u, 0);
    if ( strchr(exe, '/') )
        execv(exe, argv);
    else
        execvp(exe, argv);
    dprintf(STDERR_FILENO, "cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
}

/*
 * Start `xenos-simhost --daemon` and wait, until @deadline_ms at most, for
 * it to say it serves (its starter process exits 0 once the socket
 * listens).  On failure @err gets the first line the host printed.
 */
int simb__spawn(struct simb *b, int64_t deadline_ms, char *err,
                size_t errlen)
{
    char exe[PATH_MAX], msg[512], *nl;
    char *argv[16];
    unsigned int n = 0;
    size_t mlen = 0;
    int p[2], status = 0, w;
    pid_t pid;

    simb_find_simhost(b, exe, sizeof(exe));
    argv[n++] = exe;
    argv[n++] = "--daemon";
    /* The host boots when we first sample it: what it ran is all ours. */
    argv[n++] = "--boot-on-sample";
    argv[n++] = "--scenario";
    argv[n++] = b->scenario;
    argv[n++] = "--socket";
    argv[n++] = b->sock;
#define SIMB_OPT(flag, v) \
    if ( v ) { argv[n++] = flag; argv[n++] = v; }
    SIMB_OPT("--speed", b->speed);
    SIMB_OPT("--policy", b->policy);
    SIMB_OPT("--log", b->log);
    SIMB_OPT("--idle-exit-s", b->idle_exit_s);
#undef SIMB_OPT
    argv[n] = NULL;

    if ( pipe2(p, O_CLOEXEC) )
        return -errno;
    pid = fork();
    if ( pid < 0 )
    {
        w = -errno;
        close(p[0]);
        close(p[1]);
        return w;
    }
    if ( pid == 0 )
        simb_child(exe, argv, p[1]);
    close(p[1]);

    /* Its stderr ends when it is serving (or has failed). */
    for ( ;; )
    {
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        char sink[256];
        int64_t left = deadline_ms - simb__now_ms();
        ssize_t r;

        if ( left <= 0 || poll(&pf, 1, (int)left) <= 0 )
            break;
        if ( mlen < sizeof(msg) - 1 )
            r = read(p[0], msg + mlen, sizeof(msg) - 1 - mlen);
        else
            r = read(p[0], sink, sizeof(sink));
        if ( r <= 0 )
            break;
        if ( mlen < sizeof(msg) - 1 )
            mlen += (size_t)r;
    }
    close(p[0]);
    msg[mlen] = '\0';
    if ( (nl = strchr(msg, '\n')) )
        *nl = '\0';

    while ( (w = waitpid(pid, &status, WNOHANG)) == 0 &&
            deadline_ms - simb__now_ms() > 0 )
        usleep(10000);
    if ( w == 0 )
    {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(err, errlen, "%s did not start within %d ms", exe,
                 SIMB_START_MS);
        return -ETIMEDOUT;
    }
    /* w < 0 (ECHILD): our caller reaps children itself; the socket will
     * tell whether the host came up. */
    if ( w > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0) )
    {
        if ( WIFEXITED(status) )
            snprintf(err, errlen, "%s exited with status %d%s%s", exe,
                     WEXITSTATUS(status), msg[0] ? ": " : "", msg);
        else
            snprintf(err, errlen, "%s killed by signal %d", exe,
                     WTERMSIG(status));
        /* 2: it refused its options or the scenario (see its usage) */
        return WIFEXITED(status) && WEXITSTATUS(status) == 2 ? -EINVAL
                                                              : -ECHILD;
    }
    return 0;
}

/* Connect, trying until @deadline_ms: the host may still be coming up. */
int simb__connect_until(struct simb *b, int64_t deadline_ms)
{
    int rc;

    while ( (rc = simb__connect(b)) &&
            (rc == -ENOENT || rc == -ECONNREFUSED) &&
            deadline_ms - simb__now_ms() > 0 )
        usleep(20000);
    return rc;
}
