/*
 * test_statedir.c: the state directory cannot be turned against the
 * daemon (docs/reliability/statedir.md).
 *
 * - a symbolic link planted at a temporary's name (checkpoint, ledger
 *   state, RRD index), at the checkpoint, at a ledger file or at an RRD,
 *   and a hard link at a ledger file:
 *   the file it points at (a sentinel) is never written, and what would
 *   read or append through it is refused;
 * - a state directory that is a symbolic link, owned by another user,
 *   writable by its group or by others, or under a directory others may
 *   write in without the sticky bit: refused, by the library and by
 *   xenosd at start, with a message that names the path; under /tmp
 *   (sticky) it is fine;
 * - a second writer of a ledger, and a second xenosd on a state dir (on
 *   the same port and on another): refused, naming the first one's pid,
 *   which still answers `xenosctl status`;
 * - the control socket admits a member of xenosd's group by a
 *   supplementary group, and a refused client is told why.
 *
 * Tests that need root (chown, setpriv) say SKIPPED without it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/acct_sim.h>
#include <xenos/exp_rrd.h>
#include <xenos/exp_usage.h>
#include <xenos/fileio.h>


#define XENOSD      XENOS_BINARY_DIR "/xenosd/xenosd"
#define XENOSCTL    XENOS_BINARY_DIR "/xenosd/xenosctl"
#define SIMHOST     XENOS_BINARY_DIR "/sched/sim/xenos-simhost"
#define SCENARIO    XENOS_SOURCE_DIR "/sched/sim/scenarios/lifecycle.yaml"
#define NS          1000000000ull
#define T0_S        1764057600ull       /* 2025-11-25T08:00:00Z */
#define LEDGER0     "usage-20251125T080000Z.xul"
#define SENTINEL    "sentinel: not yours to write\n"
#define UUID1       "00000000-0000-0000-0000-000000000001"

static char dir[64];                    /* the state dir's parent */
static char away[64];                   /* where sentinels live */
static char sentinel[256];
static char state[128];                 /* dir/state */

/* A test user and group: numbers nobody has here (setpriv needs none). */
#define T_UID       4242
#define T_GID       4242
#define T_GROUP     4243

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/xenos-sd-XXXXXX")));
    ck_assert_ptr_nonnull(mkdtemp(strcpy(away, "/tmp/xenos-sdaway-XXXXXX")));
    snprintf(sentinel, sizeof(sentinel), "%s/sentinel", away);
    snprintf(state, sizeof(state), "%s/state", dir);
}

/* Daemons this test started: stopped in teardown even when an assertion
 * failed half-way, so none outlives the test. */
static pid_t started[8];
static unsigned int nr_started;

static void shutdown_host(const char *sd);

static void teardown(void)
{
    char cmd[200];
    unsigned int i;

    for ( i = 0; i < nr_started; i++ )
        if ( started[i] > 0 && !kill(started[i], SIGKILL) )
            waitpid(started[i], NULL, 0);
    nr_started = 0;
    snprintf(cmd, sizeof(cmd), "%s/simhost.sock", state);
    if ( !access(cmd, F_OK) )
        shutdown_host(state);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, away);
    ck_assert_int_eq(system(cmd), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

    while ( nanosleep(&ts, &ts) && errno == EINTR )
        ;
}

static void put_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* The whole of @path (malloc'd, NUL-terminated); its size to *@len. */
static char *get_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = malloc(1 << 20);
    size_t n;

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(buf);
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if ( len )
        *len = n;
    return buf;
}

/* The sentinel: made, and later found unchanged. */
static void sentinel_make(void)
{
    put_file(sentinel, SENTINEL, strlen(SENTINEL));
}

static void sentinel_intact(void)
{
    size_t len;
    char *s = get_file(sentinel, &len);
    struct stat sb;

    ck_assert_str_eq(s, SENTINEL);
    ck_assert_int_eq(stat(sentinel, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0644 & ~022);
    free(s);
}

/* @dir/@name -> the sentinel. */
static void plant(const char *in, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", in, name);
    unlink(path);
    ck_assert_int_eq(symlink(sentinel, path), 0);
}

static bool is_link(const char *in, const char *name)
{
    char path[256];
    struct stat sb;

    snprintf(path, sizeof(path), "%s/%s", in, name);
    return !lstat(path, &sb) && S_ISLNK(sb.st_mode);
}

static bool am_root(const char *test)
{
    if ( geteuid() == 0 )
        return true;
    fprintf(stderr, "%s: SKIPPED: needs root\n", test);
    return false;
}

/* ------------------------------------------------------------------ */
/* The checkpoint                                                      */

static struct acct_collector *collector_at(const char *d)
{
    char path[256], err[512] = "";
    struct acct_collector *c;

    snprintf(path, sizeof(path), "%s/checkpoint", d);
    ck_assert_msg(acct_collector_alloc(&c, path, err, sizeof(err)) == 0,
                  "alloc: %s", err);
    return c;
}

START_TEST(test_statedir_checkpoint_tmp_symlink)
{
    struct acct_collector *c;
    char path[256];
    char *body;

    sentinel_make();
    c = collector_at(dir);
    plant(dir, "checkpoint.tmp");
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);
    sentinel_intact();
    /* The checkpoint went where it belongs, and the link is gone. */
    ck_assert(!is_link(dir, "checkpoint.tmp"));
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    body = get_file(path, NULL);
    ck_assert_ptr_nonnull(strstr(body, "end crc32c="));
    free(body);
}
END_TEST

START_TEST(test_statedir_checkpoint_symlink_refused)
{
    struct acct_collector *c;
    char path[256], err[512] = "";

    /* A valid checkpoint elsewhere, not ours: never to be read. */
    c = collector_at(away);
    ck_assert_int_eq(acct_collector_checkpoint(c), 0);
    acct_collector_free(c);
    snprintf(sentinel, sizeof(sentinel), "%s/checkpoint", away);
    plant(dir, "checkpoint");
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)),
                     -ELOOP);
    ck_assert_msg(strstr(err, "symbolic link") && strstr(err, path),
                  "err: %s", err);
    ck_assert(is_link(dir, "checkpoint"));
}
END_TEST

/* The ledger's and the RRDs' tests run where their exporter is built. */
#if defined(XENOS_HAVE_EXP_USAGE) || defined(XENOS_HAVE_EXP_RRD)
/* One domain, as both exporters see it. */
static struct acct_dom ldoms[1];
static struct acct_snapshot lsnap;
#endif

/* ------------------------------------------------------------------ */
/* The ledger                                                          */
#ifdef XENOS_HAVE_EXP_USAGE
static struct exp_usage *ledger_open(const char *ldir, int want)
{
    struct exp_usage *w = NULL;
    char err[512] = "";
    int rc = exp_usage_open(&w, ldir, "h1", 60, 3600, err, sizeof(err));

    ck_assert_msg(rc == want, "open: %d (want %d) %s", rc, want, err);
    if ( want )
        ck_assert_msg(strstr(err, ldir), "err names no path: %s", err);
    return w;
}

static int ledger_tick(struct exp_usage *w, uint64_t t_s)
{
    struct exp_info info = { .host = "h1", .sample_unix_ns = t_s * NS };

    memset(ldoms, 0, sizeof(ldoms));
    snprintf(ldoms[0].uuid, sizeof(ldoms[0].uuid), UUID1);
    ldoms[0].name = "vm";
    ldoms[0].present = true;
    ldoms[0].online_vcpus = 1;
    ldoms[0].total.cpu_ns = t_s * 1000;
    memset(&lsnap, 0, sizeof(lsnap));
    lsnap.doms = ldoms;
    lsnap.nr_doms = 1;
    return exp_usage_update(w, &lsnap, &info);
}

/* A link planted at the file the next record goes to, while the ledger
 * is open: the update fails, the sentinel is not appended to. */
START_TEST(test_statedir_ledger_file_symlink)
{
    char ldir[128];
    struct exp_usage *w;

    snprintf(ldir, sizeof(ldir), "%s/usage", dir);
    sentinel_make();
    w = ledger_open(ldir, 0);
    plant(ldir, LEDGER0);
    ck_assert_int_eq(ledger_tick(w, T0_S + 3), 0);
    ck_assert_int_eq(ledger_tick(w, T0_S + 63), -ELOOP);
    sentinel_intact();
    exp_usage_close(w);
    sentinel_intact();
    ck_assert(is_link(ldir, LEDGER0));
}
END_TEST

/* A hard link to a file elsewhere, where the next record goes: refused
 * too (root may link any file, protected_hardlinks or not). */
START_TEST(test_statedir_ledger_file_hard_link)
{
    char ldir[128], at[256];
    struct exp_usage *w;

    snprintf(ldir, sizeof(ldir), "%s/usage", dir);
    sentinel_make();
    w = ledger_open(ldir, 0);
    snprintf(at, sizeof(at), "%s/" LEDGER0, ldir);
    ck_assert_int_eq(link(sentinel, at), 0);
    ck_assert_int_eq(ledger_tick(w, T0_S + 3), 0);
    ck_assert_int_eq(ledger_tick(w, T0_S + 63), -EMLINK);
    exp_usage_close(w);
    sentinel_intact();
}
END_TEST

/* The same link found at open: the ledger is refused, not read. */
START_TEST(test_statedir_ledger_symlink_at_open)
{
    char ldir[128];

    snprintf(ldir, sizeof(ldir), "%s/usage", dir);
    sentinel_make();
    ck_assert_int_eq(mkdir(ldir, 0750), 0);
    plant(ldir, LEDGER0);
    ck_assert_ptr_null(ledger_open(ldir, -ELOOP));
    sentinel_intact();
    ck_assert(is_link(ldir, LEDGER0));
}
END_TEST

START_TEST(test_statedir_ledger_state_tmp_symlink)
{
    char ldir[128];
    struct exp_usage *w;

    snprintf(ldir, sizeof(ldir), "%s/usage", dir);
    sentinel_make();
    w = ledger_open(ldir, 0);
    plant(ldir, EXP_USAGE_STATE_FILE ".tmp");
    ck_assert_int_eq(ledger_tick(w, T0_S + 3), 0);
    ck_assert_int_eq(ledger_tick(w, T0_S + 63), 0);
    ck_assert_int_eq(exp_usage_close(w), 0);
    sentinel_intact();
    ck_assert(!is_link(ldir, EXP_USAGE_STATE_FILE ".tmp"));
}
END_TEST

START_TEST(test_statedir_ledger_one_writer)
{
    char ldir[128];
    struct exp_usage *w, *w2;

    snprintf(ldir, sizeof(ldir), "%s/usage", dir);
    w = ledger_open(ldir, 0);
    w2 = ledger_open(ldir, -EBUSY);
    ck_assert_ptr_null(w2);
    ck_assert_int_eq(exp_usage_close(w), 0);
    w = ledger_open(ldir, 0);           /* free again once closed */
    ck_assert_int_eq(exp_usage_close(w), 0);
}
END_TEST

#endif /* XENOS_HAVE_EXP_USAGE */

/* ------------------------------------------------------------------ */
/* RRD                                                                 */
#ifdef XENOS_HAVE_EXP_RRD

static void rrd_tick(struct exp_rrd *r, uint64_t t_s, char *name)
{
    struct exp_info info = { .host = "h1", .sample_unix_ns = t_s * NS };

    memset(ldoms, 0, sizeof(ldoms));
    snprintf(ldoms[0].uuid, sizeof(ldoms[0].uuid), UUID1);
    ldoms[0].name = name;
    ldoms[0].present = true;
    ldoms[0].total.cpu_ns = t_s * 1000;
    memset(&lsnap, 0, sizeof(lsnap));
    lsnap.doms = ldoms;
    lsnap.nr_doms = 1;
    ck_assert_int_eq(exp_rrd_update(r, &lsnap, &info), 0);
}

/* A link to another RRD (a victim librrd would happily update) where
 * ours belongs, and one at the index's temporary. */
START_TEST(test_statedir_rrd_symlinks)
{
    struct exp_rrd_stats st;
    struct exp_rrd *r;
    char rdir[128], name[128], err[512] = "";
    char *before, *after;
    size_t blen, alen;
    uint64_t now = (uint64_t)time(NULL);

    ck_assert_int_eq(exp_rrd_open(&r, away, NULL, 5, err, sizeof(err)), 0);
    rrd_tick(r, now - 20, "vm");
    exp_rrd_close(r);
    ck_assert_int_eq(exp_rrd_file_name(name, sizeof(name), false, UUID1),
                     0);
    snprintf(sentinel, sizeof(sentinel), "%s/%s", away, name);
    before = get_file(sentinel, &blen);

    snprintf(rdir, sizeof(rdir), "%s/rrd", dir);
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    plant(rdir, name);
    rrd_tick(r, now - 10, "vm");
    rrd_tick(r, now - 5, "vm");
    exp_rrd_get_stats(r, &st);
    ck_assert_uint_eq(st.refused, 2);
    ck_assert_uint_eq(st.updates, 0);
    ck_assert_ptr_nonnull(strstr(st.last_error, "symbolic link"));
    exp_rrd_close(r);
    after = get_file(sentinel, &alen);
    ck_assert_uint_eq(alen, blen);
    ck_assert(!memcmp(before, after, blen));
    free(before);
    free(after);

    /* The index's temporary. */
    snprintf(sentinel, sizeof(sentinel), "%s/sentinel", away);
    sentinel_make();
    unlink(strcat(strcat(strcpy(name, rdir), "/"), ".index.tmp"));
    ck_assert_int_eq(exp_rrd_open(&r, rdir, NULL, 5, err, sizeof(err)), 0);
    plant(rdir, "." EXP_RRD_INDEX ".tmp");
    rrd_tick(r, now, "renamed");        /* the index must be written */
    exp_rrd_close(r);
    sentinel_intact();
    ck_assert(!is_link(rdir, "." EXP_RRD_INDEX ".tmp"));
}
END_TEST

#endif /* XENOS_HAVE_EXP_RRD */

/* ------------------------------------------------------------------ */
/* The directory itself                                                */

/* Each way a state dir can be unsafe, refused by all three openers. */
enum { BAD_LINK, BAD_OWNER, BAD_GROUP_W, BAD_OTHER_W, BAD_PARENT, NR_BAD };

static const char *const bad_words[NR_BAD] = {
    "symbolic link", "owned by uid", "writable by its group",
    "writable by everyone", "without the sticky bit",
};

/* Make @state bad in way @how; false when that needs root we lack. */
static bool make_bad(int how)
{
    char real[256];

    switch ( how )
    {
    case BAD_LINK:
        snprintf(real, sizeof(real), "%s/real", dir);
        ck_assert_int_eq(mkdir(real, 0750), 0);
        ck_assert_int_eq(symlink(real, state), 0);
        return true;
    case BAD_OWNER:
        if ( !am_root("test_statedir_refused (owner)") )
            return false;
        ck_assert_int_eq(mkdir(state, 0750), 0);
        ck_assert_int_eq(chown(state, T_UID, T_GID), 0);
        return true;
    case BAD_GROUP_W:
    case BAD_OTHER_W:
        ck_assert_int_eq(mkdir(state, 0750), 0);
        ck_assert_int_eq(chmod(state, how == BAD_GROUP_W ? 0770 : 0757), 0);
        return true;
    case BAD_PARENT:
        ck_assert_int_eq(chmod(dir, 0777), 0);
        ck_assert_int_eq(mkdir(state, 0750), 0);
        return true;
    }
    return false;
}

START_TEST(test_statedir_refused)
{
    struct acct_collector *c;
#ifdef XENOS_HAVE_EXP_USAGE
    struct exp_usage *w = NULL;
#endif
#ifdef XENOS_HAVE_EXP_RRD
    struct exp_rrd *r = NULL;
#endif
    char path[256], err[512] = "";
    int fd;

    if ( !make_bad(_i) )
        return;
    fd = fio_dir_open(state, true, err, sizeof(err));
    ck_assert_int_lt(fd, 0);
    ck_assert_msg(strstr(err, bad_words[_i]), "%s", err);
    ck_assert_msg(strstr(err, _i == BAD_PARENT ? dir : state), "%s", err);
    snprintf(path, sizeof(path), "%s/checkpoint", state);
    ck_assert_int_lt(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, bad_words[_i]), "%s", err);
#ifdef XENOS_HAVE_EXP_USAGE
    ck_assert_int_lt(exp_usage_open(&w, state, "h", 60, 3600, err,
                                    sizeof(err)), 0);
    ck_assert_msg(strstr(err, bad_words[_i]), "%s", err);
#endif
#ifdef XENOS_HAVE_EXP_RRD
    ck_assert_int_lt(exp_rrd_open(&r, state, NULL, 5, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, bad_words[_i]), "%s", err);
#endif
    /* Nothing was written in it. */
    snprintf(path, sizeof(path), "ls -A '%s' | grep -q .", state);
    ck_assert_int_ne(system(path), 0);
}
END_TEST

/* Good ones: missing (created 0750), under sticky /tmp, a trailing
 * slash, and mode 0700. */
START_TEST(test_statedir_accepted)
{
    char err[512] = "", slash[160];
    struct stat sb;
    int fd;

    fd = fio_dir_open(state, true, err, sizeof(err));
    ck_assert_msg(fd >= 0, "%s", err);
    ck_assert_int_eq(fstat(fd, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, FIO_DIR_MODE & ~022);
    close(fd);
    ck_assert_int_eq(chmod(state, 0700), 0);
    snprintf(slash, sizeof(slash), "%s//", state);
    fd = fio_dir_open(slash, false, err, sizeof(err));
    ck_assert_msg(fd >= 0, "%s", err);
    close(fd);
    /* but a trailing slash does not make a link acceptable */
    snprintf(slash, sizeof(slash), "%s/link", dir);
    ck_assert_int_eq(symlink(state, slash), 0);
    strcat(slash, "/");
    ck_assert_int_eq(fio_dir_open(slash, false, err, sizeof(err)), -ELOOP);
}
END_TEST

START_TEST(test_statedir_lock)
{
    pid_t holder = 0;
    int dfd, fd, fd2;
    char err[256];

    dfd = fio_dir_open(dir, false, err, sizeof(err));
    ck_assert_int_ge(dfd, 0);
    fd = fio_lock_at(dfd, "xenosd.lock", NULL);
    ck_assert_int_ge(fd, 0);
    fd2 = fio_lock_at(dfd, "xenosd.lock", &holder);
    ck_assert_int_eq(fd2, -EWOULDBLOCK);
    ck_assert_int_eq(holder, getpid());
    close(fd);
    fd2 = fio_lock_at(dfd, "xenosd.lock", &holder);
    ck_assert_int_ge(fd2, 0);
    close(fd2);
    /* a lock file that is a link is not followed */
    sentinel_make();
    plant(dir, "xenosd.lock");
    ck_assert_int_eq(fio_lock_at(dfd, "xenosd.lock", NULL), -ELOOP);
    sentinel_intact();
    close(dfd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* xenosd                                                              */

/* Start xenosd on @sd with stderr to @log; @prefix (NULL-terminated
 * argv, or NULL) runs it through another program (setpriv). */
static pid_t xenosd_start(const char *sd, const char *log,
                          const char *const *prefix)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        const char *argv[40];
        int n = 0;

        if ( !freopen(log, "a", stderr) )
            _exit(127);
        while ( prefix && *prefix )
            argv[n++] = *prefix++;
        argv[n++] = XENOSD;
        argv[n++] = "--backend";
        argv[n++] = "sim";
        argv[n++] = "--scenario";
        argv[n++] = SCENARIO;
        argv[n++] = "--simhost";
        argv[n++] = SIMHOST;
        argv[n++] = "--interval-ms";
        argv[n++] = "200";
        argv[n++] = "--state-dir";
        argv[n++] = sd;
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
        argv[n] = NULL;
        execvp(argv[0], (char **)argv);
        _exit(127);
    }
    if ( nr_started < sizeof(started) / sizeof(started[0]) )
        started[nr_started++] = pid;
    return pid;
}

static void forget(pid_t pid)
{
    unsigned int i;

    for ( i = 0; i < nr_started; i++ )
        if ( started[i] == pid )
            started[i] = 0;
}

/* Wait up to @ms for @pid to exit; its status, or -1 if it still runs. */
static int wait_exit(pid_t pid, long ms)
{
    int st;

    for ( ; ms > 0; ms -= 50 )
    {
        if ( waitpid(pid, &st, WNOHANG) == pid )
        {
            forget(pid);
            return st;
        }
        sleep_ms(50);
    }
    return -1;
}

static void stop(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    forget(pid);
}

/* Run @cmd (a shell line); its exit status, its output in @out. */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    size_t n;

    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    return WEXITSTATUS(pclose(p));
}

/* `xenosctl status` as @who ("" or a setpriv prefix) answers, within 10 s
 * of the daemon's start. */
static int ctl_status(const char *who, const char *sd, char *out,
                      size_t len)
{
    char cmd[512];
    int i, rc = -1;

    snprintf(cmd, sizeof(cmd), "%s %s --state-dir %s status 2>&1", who,
             XENOSCTL, sd);
    for ( i = 0; i < 100 && rc; i++ )
    {
        rc = run(cmd, out, len);
        if ( rc && !strstr(out, "no sample yet") &&
             !strstr(out, "cannot reach") )
            break;
        if ( rc )
            sleep_ms(100);
    }
    return rc;
}

/* Stop the simulated host xenosd started in @sd. */
static void shutdown_host(const char *sd)
{
    char a1[256], err[256] = "";
    const char *args[] = { a1, NULL };
    void *st = NULL;

    snprintf(a1, sizeof(a1), "state_dir=%s", sd);
    if ( acct_backend_sim.open(args, &st, err, sizeof(err)) == 0 )
    {
        acct_sim_shutdown(st);
        acct_backend_sim.close(st);
    }
}

START_TEST(test_statedir_xenosd_refuses_bad_dir)
{
    char log[256], *text;
    pid_t pid;
    int st;

    if ( !make_bad(_i) )
        return;
    snprintf(log, sizeof(log), "%s/xenosd.log", away);
    pid = xenosd_start(state, log, NULL);
    st = wait_exit(pid, 5000);
    if ( st < 0 )
        stop(pid);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1,
                  "xenosd ran on a bad state dir (%d)", st);
    text = get_file(log, NULL);
    ck_assert_msg(strstr(text, bad_words[_i]) &&
                  strstr(text, _i == BAD_PARENT ? dir : state), "%s", text);
    free(text);
}
END_TEST

/* A second xenosd on the same state dir: refused at once, naming the
 * first one's pid; the first keeps its socket and answers. */
START_TEST(test_statedir_second_xenosd_refused)
{
    char log1[256], log2[256], out[4096], want[128], *text;
    pid_t first, second;
    int st;

    snprintf(log1, sizeof(log1), "%s/first.log", away);
    snprintf(log2, sizeof(log2), "%s/second.log", away);
    first = xenosd_start(state, log1, NULL);
    ck_assert_msg(ctl_status("", state, out, sizeof(out)) == 0, "%s", out);
    second = xenosd_start(state, log2, NULL);
    st = wait_exit(second, 5000);
    if ( st < 0 )
        stop(second);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1,
                  "a second xenosd ran on the same state dir");
    text = get_file(log2, NULL);
    snprintf(want, sizeof(want), "in use by another xenosd (pid %ld",
             (long)first);
    ck_assert_msg(strstr(text, want), "%s", text);
    free(text);
    ck_assert_msg(ctl_status("", state, out, sizeof(out)) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "intervals closed"));
    stop(first);
    shutdown_host(state);
}
END_TEST

/* Members of xenosd's group by a supplementary group may use the
 * control socket; others are refused, and told why. */
START_TEST(test_statedir_socket_supplementary_group)
{
    char log[256], out[4096], who[128], sock[256];
    const char *const as_group[] = {
        "setpriv", "--regid=4243", "--clear-groups", NULL,
    };
    pid_t pid;
    int rc;

    if ( !am_root("test_statedir_socket_supplementary_group") )
        return;
    if ( system("setpriv --version >/dev/null 2>&1") )
    {
        fprintf(stderr, "test_statedir_socket_supplementary_group: "
                "SKIPPED: no setpriv\n");
        return;
    }
    ck_assert_int_eq(chmod(dir, 0755), 0);     /* let them reach state */
    snprintf(log, sizeof(log), "%s/xenosd.log", away);
    pid = xenosd_start(state, log, as_group);
    ck_assert_msg(ctl_status("", state, out, sizeof(out)) == 0, "%s", out);

    snprintf(who, sizeof(who), "setpriv --reuid=%d --regid=%d --groups=%d",
             T_UID, T_GID, T_GROUP);
    rc = ctl_status(who, state, out, sizeof(out));
    ck_assert_msg(rc == 0, "member by a supplementary group refused: %s",
                  out);

    /* Not a member, through a socket someone opened to all: refused by
     * xenosd, and xenosctl says so. */
    snprintf(sock, sizeof(sock), "%s/xenosd.sock", state);
    ck_assert_int_eq(chmod(sock, 0666), 0);
    ck_assert_int_eq(chmod(state, 0755), 0);
    snprintf(who, sizeof(who), "setpriv --reuid=%d --regid=%d "
             "--clear-groups", T_UID, T_GID);
    rc = ctl_status(who, state, out, sizeof(out));
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(out, "permission denied") &&
                  strstr(out, "uid 4242"), "refusal not said: '%s'", out);
    ck_assert_int_eq(chmod(state, 0750), 0);
    stop(pid);
    shutdown_host(state);
}
END_TEST

static Suite *statedir_suite(void)
{
    Suite *s = suite_create("statedir");
    TCase *tc = tcase_create("statedir");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_statedir_checkpoint_tmp_symlink);
    tcase_add_test(tc, test_statedir_checkpoint_symlink_refused);
#ifdef XENOS_HAVE_EXP_USAGE
    tcase_add_test(tc, test_statedir_ledger_file_symlink);
    tcase_add_test(tc, test_statedir_ledger_file_hard_link);
    tcase_add_test(tc, test_statedir_ledger_symlink_at_open);
    tcase_add_test(tc, test_statedir_ledger_state_tmp_symlink);
    tcase_add_test(tc, test_statedir_ledger_one_writer);
#endif
#ifdef XENOS_HAVE_EXP_RRD
    tcase_add_test(tc, test_statedir_rrd_symlinks);
#endif
    tcase_add_loop_test(tc, test_statedir_refused, 0, NR_BAD);
    tcase_add_test(tc, test_statedir_accepted);
    tcase_add_test(tc, test_statedir_lock);
    tcase_add_loop_test(tc, test_statedir_xenosd_refuses_bad_dir, 0,
                        NR_BAD);
    tcase_add_test(tc, test_statedir_second_xenosd_refused);
    tcase_add_test(tc, test_statedir_socket_supplementary_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(statedir_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
