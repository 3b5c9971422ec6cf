/*
 * test_daemon.c: xenosd's work of one interval (xenosd/daemon.c,
 * xd_account) against a backend made here, whose set_sched answers as
 * Xen does: a domain whose life has ended (dying, shut down, crashed)
 * cannot be set.  A fake rather than the simulated host, because the
 * point is what the daemon asks the backend for and what it counts and
 * logs, interval by interval, which no real host shows directly.
 *
 * - a domain that is dying, shut down or crashed is never set and no
 *   error is counted for it (before: one set_sched error an interval for
 *   the minute a destroyed domain was dying, and nothing logged);
 * - a real failure is counted at every interval and logged once when it
 *   starts and once when it ends.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define SEC 1000000000ull
#define NDOM 4

static char dir[64];
static struct xd xd;

/* The fake host: each domain's state, and what set_sched saw. */
static enum acct_dom_state state[NDOM];
static unsigned int set_calls[NDOM];
static int fail_rc;                     /* set_sched of a live domain */

static unsigned int dom_index(const char *uuid)
{
    return (unsigned int)strtoul(uuid + 24, NULL, 10) - 1;
}

static int fake_set(void *st, const char *uuid, uint32_t w, uint32_t c)
{
    unsigned int i = dom_index(uuid);

    (void)st;
    (void)w;
    (void)c;
    ck_assert_uint_lt(i, NDOM);
    set_calls[i]++;
    if ( state[i] == ACCT_DOM_DYING || state[i] == ACCT_DOM_SHUTDOWN ||
         state[i] == ACCT_DOM_CRASHED )
        return -ENOENT;
    return fail_rc;
}

static const struct acct_backend_ops fake_be = {
    .version = ACCT_BACKEND_V1,
    .name = "fake",
    .set_sched = fake_set,
};

static void setup(void)
{
    char path[128], err[256] = "";
    FILE *f;

    strcpy(dir, "/tmp/xenos-daemon-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tenants.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("defaults: {weight: 256, cap_pct: 0}\ntenants:\n"
          "  - name: t\n    weight: 512\n    cap_pct: 100\n"
          "    match: {names: [\"t-*\"]}\n", f);
    ck_assert_int_eq(fclose(f), 0);
    memset(&xd, 0, sizeof(xd));
    memset(set_calls, 0, sizeof(set_calls));
    fail_rc = 0;
    xd.o.policy_file = strdup(path);
    xd.o.state_dir = dir;
    xd.o.interval_ms = 1000;
    xd.be = &fake_be;
    ck_assert_int_eq(xd_load_policy(&xd), 0);
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    ck_assert_int_eq(acct_collector_alloc(&xd.col, path, err, sizeof(err)),
                     0);
    acct_sample_init(&xd.sample);
}

/* The set_sched errors counted so far, as the exporters read them. */
static uint64_t set_sched_errors(void)
{
    struct acct_snapshot snap;

    return acct_snap(xd.col, &snap)->errors[ACCT_ERR_SET_SCHED];
}

static void teardown(void)
{
    char cmd[128];

    acct_collector_free(xd.col);
    xd.col = NULL;
    acct_sample_free(&xd.sample);
    tpol_free(xd.tpol);
    free(xd.in);
    free(xd.out);
    free(xd.status);
    free(xd.top);
    free((char *)xd.o.policy_file);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Interval @k: every domain in its state; the live ones busy. */
static void interval(unsigned int k)
{
    unsigned int i;

    acct_sample_reset(&xd.sample);
    xd.sample.time_ns = (uint64_t)(k + 1) * SEC;
    for ( i = 0; i < NDOM; i++ )
    {
        struct acct_domain *d = acct_sample_add(&xd.sample);
        char name[16];
        bool live = state[i] <= ACCT_DOM_PAUSED;

        ck_assert_ptr_nonnull(d);
        snprintf(d->uuid, sizeof(d->uuid),
                 "00000000-0000-0000-0000-%012u", i + 1);
        d->domid = i + 1;
        snprintf(name, sizeof(name), "t-%u", i);
        d->name = acct_sample_str(&xd.sample, name, strlen(name));
        d->state = state[i];
        d->nr_vcpus = d->online_vcpus = 1;
        d->vcpus = acct_sample_array(&xd.sample, 1, sizeof(*d->vcpus));
        d->cpu_ns = d->vcpus[0].cpu_ns = live ? (uint64_t)k * SEC / 2 : 0;
        d->vcpus[0].online = true;
    }
    ck_assert_int_eq(xd_account(&xd), 0);
}

/* stderr into @path until restored with the returned fd. */
static int capture_stderr(const char *path)
{
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    close(fd);
    return saved;
}

static void restore_stderr(int saved)
{
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* Lines of the file @path that contain @s. */
static unsigned int lines_with(const char *path, const char *s)
{
    char line[1024];
    unsigned int n = 0;
    FILE *f = fopen(path, "r");

    ck_assert_ptr_nonnull(f);
    while ( fgets(line, sizeof(line), f) )
        n += strstr(line, s) != NULL;
    fclose(f);
    return n;
}

/* Domains whose life has ended are left alone: no call, no error, no
 * log line, for as long as they are listed (a dying domain stays a
 * minute); the live one is set. */
START_TEST(test_daemon_ended_lives_not_set)
{
    char log[128];
    unsigned int k;
    int saved;

    state[0] = ACCT_DOM_RUNNING;
    state[1] = ACCT_DOM_DYING;
    state[2] = ACCT_DOM_SHUTDOWN;
    state[3] = ACCT_DOM_CRASHED;
    snprintf(log, sizeof(log), "%s/log", dir);
    saved = capture_stderr(log);
    for ( k = 0; k < 10; k++ )
        interval(k);
    restore_stderr(saved);
    ck_assert_uint_ge(set_calls[0], 1);
    ck_assert_uint_eq(set_calls[1] + set_calls[2] + set_calls[3], 0);
    ck_assert_uint_eq(set_sched_errors(), 0);
    ck_assert_uint_eq(lines_with(log, "set"), 0);
    ck_assert_uint_gt(acct_collector_find(xd.col, "00000000-0000-0000-"
                                          "0000-000000000001")->cap_pct,
                      0);
}
END_TEST

/* A live domain the backend cannot set: counted at every interval it is
 * tried, logged once when it starts and once when it works again. */
START_TEST(test_daemon_set_sched_failure_logged_once)
{
    char log[128];
    unsigned int k;
    int saved;

    for ( k = 0; k < NDOM; k++ )
        state[k] = ACCT_DOM_RUNNING;
    snprintf(log, sizeof(log), "%s/log", dir);
    saved = capture_stderr(log);
    fail_rc = -EIO;
    for ( k = 0; k < 5; k++ )
        interval(k);
    fail_rc = 0;
    for ( ; k < 8; k++ )
        interval(k);
    restore_stderr(saved);
    /* four domains, five failed intervals, then one good one */
    ck_assert_uint_eq(set_sched_errors(), 4 * 5);
    ck_assert_uint_ge(set_calls[0], 6);
    ck_assert_uint_eq(lines_with(log, "set weight "), 1);
    ck_assert_uint_eq(lines_with(log, strerror(EIO)), 1);
    ck_assert_uint_eq(lines_with(log, "set_sched works again (after 5 "
                                      "failed intervals)"), 1);
}
END_TEST

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("set_sched");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_daemon_ended_lives_not_set);
    tcase_add_test(tc, test_daemon_set_sched_failure_logged_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(daemon_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
