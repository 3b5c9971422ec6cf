/*
 * test_service.c: xenosd as systemd runs it (xenosd/systemd/xenosd.service,
 * Type=notify, WatchdogSec=, stderr to the journal), with systemd played
 * by the test: a datagram socket at NOTIFY_SOCKET, WATCHDOG_USEC, and
 * JOURNAL_STREAM naming the file xenosd's stderr goes to.  The real
 * xenosd on the sim backend, its host a real xenos-simhost.
 *
 * - READY=1 comes after the first interval, when the control socket
 *   already answers; a STATUS= line per interval; RELOADING=1 and READY=1
 *   around SIGHUP; STOPPING=1 at SIGTERM, then exit 0;
 * - WATCHDOG=1 every quarter period while intervals progress, and none
 *   for as long as the sampler hangs (its host stopped: each sample waits
 *   out the backend's 2 s timeout), then again;
 * - every log line carries its syslog priority when stderr is the
 *   journal's stream, and none when it is not;
 * - the unit's config file missing: xenosd starts, and says so; another
 *   missing config file: exit 2.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/acct_sim.h>

#include "simtest.h"

#define XENOSD      XENOS_BINARY_DIR "/xenosd/xenosd"
#define XENOSCTL    XENOS_BINARY_DIR "/xenosd/xenosctl"
#define SIMHOST     XENOS_BINARY_DIR "/sched/sim/xenos-simhost"
#define SCENARIO    XENOS_SOURCE_DIR "/sched/sim/scenarios/lifecycle.yaml"
#define UNIT_CONFIG "/etc/xenos/xenosd.conf"    /* the unit's --config */
#define WATCHDOG_MS 1000

static char dir[64], log_path[128], policy[128];
static int notify_fd = -1;

static void setup(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    FILE *f;

    strcpy(dir, "/tmp/xenos-service-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log_path, sizeof(log_path), "%s/xenosd.log", dir);
    snprintf(policy, sizeof(policy), "%s/tenants.yaml", dir);
    f = fopen(policy, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tenants:\n  - name: acme\n    match: {key: acme}\n");
    fclose(f);
    /* systemd's end of sd_notify */
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(notify_fd, 0);
    ck_assert_int_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)),
                     0);
}

static void teardown(void)
{
    char cmd[256];

    close(notify_fd);
    notify_fd = -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What the child does before exec (besides the environment). */
enum prep { PREP_NONE, PREP_HIDE_ETC_XENOS };

/*
 * Start xenosd as its unit does, on the sim backend: stderr appended to
 * log_path, NOTIFY_SOCKET and WATCHDOG_USEC set, JOURNAL_STREAM naming
 * log_path when @journal; @config, if not NULL, for --config.  Returns
 * its pid.
 */
static pid_t start(bool journal, const char *config, enum prep prep)
{
    struct stat st;
    char sock[128], js[64];
    int fd;
    pid_t pid;

    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    snprintf(sock, sizeof(sock), "%s/notify", dir);
    /* Another file's, when the journal is not ours: the prefix must go
     * by the match, not by the variable alone. */
    snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
             (uintmax_t)st.st_ino + (journal ? 0 : 1));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        /* The unit's config is hidden under a tmpfs in a mount namespace
         * of the child's own: the host's /etc/xenos is left alone. */
        if ( prep == PREP_HIDE_ETC_XENOS && access("/etc/xenos", F_OK) == 0 &&
             (unshare(CLONE_NEWNS) ||
              mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
              mount("tmpfs", "/etc/xenos", "tmpfs", 0, "size=64k")) )
            _exit(126);
        if ( dup2(fd, 2) < 0 )
            _exit(126);
        setenv("NOTIFY_SOCKET", sock, 1);
        setenv("WATCHDOG_USEC", "1000000", 1);
        setenv("JOURNAL_STREAM", js, 1);
        execl(XENOSD, XENOSD, "--backend", "sim", "--scenario", SCENARIO,
              "--simhost", SIMHOST, "--speed", "5", "--interval-ms", "100",
              "--policy-file", policy, "--state-dir", dir, "--listen",
              "off", "--rrd-dir", "off", "--usage-dir", "off",
              config ? "--config" : (char *)NULL, config, (char *)NULL);
        _exit(127);
    }
    close(fd);
    return pid;
}

/* The next message within @timeout_ms into @buf ("" on time-out); when
 * it was received into *@at_ms. */
static bool next_msg(char *buf, size_t len, int timeout_ms, uint64_t *at_ms)
{
    struct pollfd p = { notify_fd, POLLIN, 0 };
    ssize_t n;

    buf[0] = '\0';
    if ( poll(&p, 1, timeout_ms) != 1 )
        return false;
    n = recv(notify_fd, buf, len - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    if ( at_ms )
        *at_ms = now_ms();
    return true;
}

/* Does message @msg hold the line @line? */
static bool has_line(const char *msg, const char *line)
{
    size_t n = strlen(line);
    const char *p;

    for ( p = msg; (p = strstr(p, line)); p += n )
        if ( (p == msg || p[-1] == '\n') && (p[n] == '\n' || !p[n]) )
            return true;
    return false;
}

/* Read messages until one holds @line (a prefix of a line when it ends
 * in '='); fails after @timeout_ms.  That message into @buf. */
static void wait_line(const char *line, int timeout_ms, char *buf,
                      size_t len)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    size_t n = strlen(line);

    while ( now_ms() < end )
    {
        if ( !next_msg(buf, len, (int)(end - now_ms()), NULL) )
            break;
        if ( line[n - 1] == '=' ? strstr(buf, line) != NULL
                                : has_line(buf, line) )
            return;
    }
    ck_abort_msg("no %s within %d ms (last: '%s')", line, timeout_ms, buf);
}

static int stop(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

/* The simulated host xenosd started, for its pid; shut down at the end. */
static void *host(void)
{
    char a1[256], a2[256], err[256] = "";
    const char *args[] = { a1, a2, NULL };
    void *st = NULL;

    snprintf(a1, sizeof(a1), "scenario=%s", SCENARIO);
    snprintf(a2, sizeof(a2), "state_dir=%s", dir);
    ck_assert_msg(acct_backend_sim.open(args, &st, err, sizeof(err)) == 0,
                  "no host: %s", err);
    return st;
}

static void host_done(void *st)
{
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}

static char *read_log(void)
{
    static char buf[1 << 16];
    FILE *f = fopen(log_path, "r");
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_service_notify_lifecycle)
{
    char msg[1024], cmd[256];
    pid_t pid = start(true, NULL, PREP_NONE);
    void *st;
    int status;

    /* READY=1 with the first STATUS=, and the control socket answers */
    wait_line("READY=1", 10000, msg, sizeof(msg));
    ck_assert_msg(strstr(msg, "STATUS=interval "), "READY without STATUS: "
                  "%s", msg);
    snprintf(cmd, sizeof(cmd), "%s --state-dir %s status >/dev/null",
             XENOSCTL, dir);
    ck_assert_int_eq(system(cmd), 0);
    st = host();
    /* a STATUS= per interval, with the domains and tenants */
    wait_line("STATUS=", 2000, msg, sizeof(msg));
    ck_assert_msg(strstr(msg, " domains, ") && strstr(msg, " tenants"),
                  "status: %s", msg);
    wait_line("WATCHDOG=1", 2000, msg, sizeof(msg));
    /* reload */
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_line("RELOADING=1", 2000, msg, sizeof(msg));
    ck_assert_msg(strstr(msg, "MONOTONIC_USEC="), "%s", msg);
    wait_line("READY=1", 2000, msg, sizeof(msg));
    /* stop */
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    wait_line("STOPPING=1", 2000, msg, sizeof(msg));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    host_done(st);
}
END_TEST

/* The longest gap between two WATCHDOG=1 over @ms. */
static uint64_t watchdog_gap_ms(uint64_t ms)
{
    uint64_t end = now_ms() + ms, last = now_ms(), at, gap = 0;
    char msg[1024];

    while ( now_ms() < end )
    {
        if ( !next_msg(msg, sizeof(msg), (int)(end - now_ms()), &at) )
            break;
        if ( !has_line(msg, "WATCHDOG=1") )
            continue;
        gap = at - last > gap ? at - last : gap;
        last = at;
    }
    return now_ms() - last > gap ? now_ms() - last : gap;
}

START_TEST(test_service_watchdog_only_while_progressing)
{
    struct acct_sim_info info;
    char msg[1024];
    pid_t pid = start(true, NULL, PREP_NONE);
    uint64_t gap;
    void *st;

    wait_line("READY=1", 10000, msg, sizeof(msg));
    st = host();
    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    /* running: pings keep coming (every quarter of the period; how
     * often is not judged here: a loaded machine delays any of them) */
    wait_line("WATCHDOG=1", 10000, msg, sizeof(msg));
    wait_line("WATCHDOG=1", 10000, msg, sizeof(msg));
    /* the sampler hangs: its host stopped, every sample blocks until the
     * backend's timeout; no ping for longer than the period (systemd
     * would restart xenosd) */
    ck_assert_int_eq(kill((pid_t)info.pid, SIGSTOP), 0);
    gap = watchdog_gap_ms(3500);
    ck_assert_int_eq(kill((pid_t)info.pid, SIGCONT), 0);
    ck_assert_msg(gap > WATCHDOG_MS * 3 / 2, "gap %llu ms while hung",
                  (unsigned long long)gap);
    /* and back: pings again once sampling works */
    wait_line("WATCHDOG=1", 10000, msg, sizeof(msg));
    ck_assert(WIFEXITED(stop(pid)));
    host_done(st);
}
END_TEST

/* Every line is "<N>xenosd: ..." with a priority from 0 to 7. */
static void check_prefixed(const char *log)
{
    const char *l;

    for ( l = log; *l; l = strchr(l, '\n') + 1 )
    {
        ck_assert_msg(l[0] == '<' && l[1] >= '0' && l[1] <= '7' &&
                      !strncmp(l + 2, ">xenosd: ", 9), "line '%.80s'", l);
        ck_assert_ptr_nonnull(strchr(l, '\n'));
    }
}

START_TEST(test_service_log_priorities)
{
    char msg[1024];
    const char *log;
    pid_t pid = start(true, NULL, PREP_NONE);
    void *st;
    FILE *f;

    wait_line("READY=1", 10000, msg, sizeof(msg));
    st = host();
    f = fopen(policy, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tenants:\n  - name: acme\n    cap_pct: -5\n"
               "    match: {key: acme}\n");
    fclose(f);
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_line("READY=1", 2000, msg, sizeof(msg));
    ck_assert(WIFEXITED(stop(pid)));
    log = read_log();
    check_prefixed(log);
    /* info, error, warning: journalctl -p err shows the error alone */
    ck_assert_msg(strstr(log, "<6>xenosd: sampling sim every 100 ms"),
                  "%s", log);
    ck_assert_msg(strstr(log, "<3>xenosd: ") && strstr(log, "cap_pct"),
                  "%s", log);
    ck_assert_msg(strstr(log, "<4>xenosd: tenant policy not reloaded"),
                  "%s", log);
    ck_assert_msg(strstr(log, "<6>xenosd: stopping after "), "%s", log);
    host_done(st);
}
END_TEST

/* Start xenosd (start()), wait for READY=1, stop it: exit 0; its log. */
static const char *run_to_ready(bool journal, const char *config,
                                enum prep prep)
{
    char msg[1024];
    pid_t pid = start(journal, config, prep);
    void *st;
    int status;

    wait_line("READY=1", 10000, msg, sizeof(msg));
    st = host();
    status = stop(pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    host_done(st);
    return read_log();
}

START_TEST(test_service_log_plain_off_journal)
{
    const char *log = run_to_ready(false, NULL, PREP_NONE);

    ck_assert_msg(!strncmp(log, "xenosd: ", 8) && !strstr(log, "\n<"),
                  "%s", log);
}
END_TEST

/* A fresh install has no /etc/xenos/xenosd.conf: the unit's xenosd runs
 * on its defaults (and says so) instead of exiting 2 in a restart loop. */
START_TEST(test_service_unit_config_may_be_missing)
{
    const char *log = run_to_ready(true, UNIT_CONFIG, PREP_HIDE_ETC_XENOS);

    ck_assert_msg(strstr(log, "<5>xenosd: no " UNIT_CONFIG ": running on "
                          "the defaults"), "%s", log);
}
END_TEST

/* Any other config file was asked for by name: missing, exit 2. */
START_TEST(test_service_other_config_must_exist)
{
    char path[128];
    int status;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/no-such.conf", dir);
    pid = start(true, path, PREP_NONE);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    ck_assert_msg(strstr(read_log(), "<3>xenosd: "), "%s", read_log());
    ck_assert_msg(strstr(read_log(), "no-such.conf: No such file"), "%s",
                  read_log());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("service");

    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_service_notify_lifecycle);
    tcase_add_test(tc, test_service_watchdog_only_while_progressing);
    tcase_add_test(tc, test_service_log_priorities);
    tcase_add_test(tc, test_service_log_plain_off_journal);
    tcase_add_test(tc, test_service_unit_config_may_be_missing);
    tcase_add_test(tc, test_service_other_config_must_exist);
    suite_add_tcase(s, tc);
    return st_main(s);
}
