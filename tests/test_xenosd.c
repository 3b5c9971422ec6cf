/*
 * test_xenosd.c: xenosd as it runs, against the simulated host's ground
 * truth: the real xenosd binary samples a real xenos-simhost over its
 * socket (started on demand by the sim backend), and the test reads the
 * host's exact truth through the same backend.
 *
 * - accounted CPU per domain and per tenant equals the truth within 0.1%
 *   over 60 s simulated with reboots, a migration and destroys;
 * - the same with xenosd killed (-9) at 20 moments and restarted each time;
 * - a tenant's cap of 100 holds for three busy domains (100 +- 3), and one
 *   busy domain beside two idle ones gets >= 95 of it;
 * - tenants of equal weight, one 2-vCPU domain against two 1-vCPU ones,
 *   get half of the host each under a weight per active vCPU;
 * - hostile names reach the status JSON intact and valid;
 * - SIGHUP with a bad policy keeps the old one;
 * - a host that dies under the daemon: failed samples are counted, the
 *   daemon stays up;
 * - a host that reboots (killed -9, started afresh: same uuids and domids,
 *   counters from zero), under a running or a restarted xenosd: both
 *   boots billed exactly, the new lives from their first sample, and
 *   /healthz ok again once samples flow;
 * - it serves Prometheus /metrics that promtool accepts, and writes RRD
 *   archives and a usage ledger their readers accept;
 * - with its metrics port taken it exits and leaves no host running.
 */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/acct_sim.h>
#include <xenos/sim.h>

#define XENOSD      XENOS_BINARY_DIR "/xenosd/xenosd"
#define XENOSCTL    XENOS_BINARY_DIR "/xenosd/xenosctl"
#define SIMHOST     XENOS_BINARY_DIR "/sched/sim/xenos-simhost"
#define SCENARIOS   XENOS_SOURCE_DIR "/sched/sim/scenarios/"
#define POLICIES    XENOS_SOURCE_DIR "/policies/examples/"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/xenos-xenosd-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[256];

    umount2(dir, MNT_DETACH);           /* the full-disk tmpfs, if left */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.log'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

    while ( nanosleep(&ts, &ts) && errno == EINTR )
        ;
}

static pid_t start_xenosd_usage(const char *scenario, const char *policy,
                                const char *speed, const char *interval_ms,
                                const char *usage_s, const char *sim_policy);

/* Start xenosd on the sim backend; returns its pid. */
static pid_t start_xenosd(const char *scenario, const char *policy,
                          const char *speed, const char *interval_ms)
{
    return start_xenosd_usage(scenario, policy, speed, interval_ms, "60",
                              NULL);
}

/* The same with @usage_s, and the host's scheduler @sim_policy (NULL:
 * xenosd's default). */
static pid_t start_xenosd_usage(const char *scenario, const char *policy,
                                const char *speed, const char *interval_ms,
                                const char *usage_s, const char *sim_policy)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        char log[128];

        snprintf(log, sizeof(log), "%s/xenosd.log", dir);
        if ( !freopen(log, "a", stderr) )
            _exit(127);
        execl(XENOSD, XENOSD, "--backend", "sim", "--scenario", scenario,
              "--policy-file", policy, "--speed", speed, "--simhost",
              SIMHOST, "--interval-ms", interval_ms, "--state-dir", dir,
              "--listen", "127.0.0.1:0", "--usage-interval-s", usage_s,
              sim_policy ? "--sim-policy" : (char *)NULL, sim_policy,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int stop(pid_t pid, int sig)
{
    int st;

    kill(pid, sig);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

/* The backend connected to the host xenosd started (waits for it). */
static void *host(const char *scenario)
{
    char a1[256], a2[256], err[256] = "";
    const char *args[] = { a1, a2, NULL };
    void *st = NULL;
    int i, rc = -1;

    snprintf(a1, sizeof(a1), "scenario=%s", scenario);
    snprintf(a2, sizeof(a2), "state_dir=%s", dir);
    for ( i = 0; i < 100 && rc; i++ )
    {
        char sock[128];

        snprintf(sock, sizeof(sock), "%s/simhost.sock", dir);
        if ( access(sock, F_OK) == 0 )
            rc = acct_backend_sim.open(args, &st, err, sizeof(err));
        if ( rc )
            sleep_ms(100);
    }
    ck_assert_msg(rc == 0, "no host: %s", err);
    return st;
}

/* Wait until the host's time has reached its end. */
static void wait_end(void *st)
{
    struct acct_sim_info info;
    int i;

    for ( i = 0; i < 1200; i++ )
    {
        ck_assert_int_eq(acct_sim_ping(st, &info), 0);
        if ( info.time_ns >= info.end_ns )
            return;
        sleep_ms(50);
    }
    ck_abort_msg("the host never reached its end");
}

static uint64_t sim_time(void *st)
{
    struct acct_sim_info info;

    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    return info.time_ns;
}

/* Accounted CPU per uuid (checkpoint) against the truth: within @tol. */
static void check_truth(void *st, double tol)
{
    struct acct_collector *c;
    struct acct_sim_truth t;
    char path[128], err[256] = "";
    uint64_t acc_sum = 0, truth_sum = 0;
    uint32_t i;

    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_int_eq(acct_sim_truth(st, &t), 0);
    for ( i = 0; i < t.nr_domains; i++ )
    {
        const struct acct_sim_truth_dom *td = &t.domains[i];
        const struct acct_dom *d = acct_collector_find(c, td->uuid);
        uint64_t acc = d ? d->total.cpu_ns : 0;
        double err_rel;

        truth_sum += td->cpu_ns;
        acc_sum += acc;
        if ( !td->cpu_ns )
            continue;
        err_rel = fabs((double)acc - (double)td->cpu_ns) /
                  (double)td->cpu_ns;
        ck_assert_msg(err_rel <= tol, "%s: accounted %llu ns, truth %llu "
                      "ns (%.4f%%)", td->name, (unsigned long long)acc,
                      (unsigned long long)td->cpu_ns, err_rel * 100);
    }
    /* tenants add up to the same */
    {
        struct acct_snapshot snap;
        uint64_t tsum = 0;

        acct_collector_snapshot(c, &snap);
        for ( i = 0; i < snap.nr_tenants; i++ )
            tsum += snap.tenants[i].total.cpu_ns;
        ck_assert_uint_eq(tsum, acc_sum);
    }
    ck_assert_msg(fabs((double)acc_sum - (double)truth_sum) <=
                  tol * (double)truth_sum, "host: %llu vs %llu",
                  (unsigned long long)acc_sum,
                  (unsigned long long)truth_sum);
    acct_sim_truth_free(&t);
    acct_collector_free(c);
}

START_TEST(test_xenosd_matches_ground_truth)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    pid_t pid = start_xenosd(sc, POLICIES "tenants.yaml", "20", "100");
    void *st = host(sc);
    int status;

    wait_end(st);
    sleep_ms(300);
    status = stop(pid, SIGTERM);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_truth(st, 0.001);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/* kill -9 at 20 moments, restarting each time: still the truth. */
START_TEST(test_xenosd_kill9_restarts)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    const char *pol = POLICIES "tenants.yaml";
    pid_t pid = start_xenosd(sc, pol, "5", "100");
    void *st = host(sc);
    unsigned int seed = 42, k;
    int status;

    for ( k = 0; k < 20; k++ )
    {
        /* 100..600 ms: before, during and after intervals */
        sleep_ms(100 + (long)(rand_r(&seed) % 500));
        status = stop(pid, SIGKILL);
        ck_assert(WIFSIGNALED(status));
        pid = start_xenosd(sc, pol, "5", "100");
    }
    wait_end(st);
    sleep_ms(300);
    status = stop(pid, SIGTERM);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_truth(st, 0.001);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/*
 * A tenant capped at 100 (percent of one pCPU) on a 4-pCPU host.  Case 0:
 * three busy domains: together 100 +- 3.  Case 1: one busy, two nearly
 * idle: the busy one >= 95.
 */
START_TEST(test_xenosd_tenant_cap_split)
{
    char sc[128], pol[128];
    struct acct_sim_truth t0, t1;
    uint64_t s0, s1;
    double used[3] = { 0 }, total = 0;
    FILE *f;
    pid_t pid;
    void *st;
    uint32_t i, j;

    snprintf(sc, sizeof(sc), "%s/cap.yaml", dir);
    snprintf(pol, sizeof(pol), "%s/cap-policy.yaml", dir);
    f = fopen(sc, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "pcpus: 4\nduration_ms: 40000\nseed: 3\ndomains:\n");
    for ( i = 0; i < 3; i++ )
        fprintf(f, "  - name: capd-%u\n    workload: %s\n", i,
                _i == 0 || i == 0 ? "{type: cpu}"
                                  : "{type: io, run_us: 50, "
                                    "block_us: 100000}");
    fprintf(f, "  - name: other\n    vcpus: 2\n    workload: {type: cpu}\n");
    fclose(f);
    f = fopen(pol, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tenants:\n  - name: capd\n    cap_pct: 100\n"
               "    match: {names: [\"capd-*\"]}\n");
    fclose(f);

    pid = start_xenosd(sc, pol, "10", "100");
    st = host(sc);
    /* let the split settle, then measure 20 s of simulated time */
    while ( sim_time(st) < SCH_SEC(15) )
        sleep_ms(50);
    ck_assert_int_eq(acct_sim_truth(st, &t0), 0);
    while ( sim_time(st) < SCH_SEC(35) )
        sleep_ms(50);
    ck_assert_int_eq(acct_sim_truth(st, &t1), 0);
    s0 = t0.time_ns;
    s1 = t1.time_ns;
    for ( i = 0; i < t1.nr_domains; i++ )
        for ( j = 0; j < 3; j++ )
        {
            char name[16];

            snprintf(name, sizeof(name), "capd-%u", j);
            if ( strcmp(t1.domains[i].name, name) )
                continue;
            used[j] = 100.0 * (double)(t1.domains[i].cpu_ns -
                                       t0.domains[i].cpu_ns) /
                      (double)(s1 - s0);
            total += used[j];
        }
    stop(pid, SIGTERM);
    acct_sim_truth_free(&t0);
    acct_sim_truth_free(&t1);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
    if ( _i == 0 )
        ck_assert_msg(fabs(total - 100) <= 3, "three busy: %.2f (%.1f "
                      "%.1f %.1f)", total, used[0], used[1], used[2]);
    else
        ck_assert_msg(used[0] >= 95 && total <= 103, "busy %.2f of %.2f",
                      used[0], total);
}
END_TEST

/*
 * Tenant weights on a host whose scheduler counts a weight once per
 * active vCPU (credit, as Xen's credit and credit2), 2 pCPUs: tenant a,
 * one busy 2-vCPU domain and an idle 4-vCPU one, against tenant b, two
 * busy 1-vCPU domains, equal weights.  xenosd counts the vCPUs that want
 * CPU from the per-vCPU time it samples, so every domain gets 256 / 2 =
 * 128 and each tenant half of the host, within 3 points.  (Split by
 * online vCPUs, a-busy had 85 a vCPU against b's 128 and a 40%.)  a-busy
 * reboots at 3 s: its dying life, which the host lists beside the new one
 * for a minute, has no vCPU wanting CPU and does not count.
 */
START_TEST(test_xenosd_tenant_weights)
{
    static const char *const names[4] = { "a-busy", "a-idle", "b-1",
                                          "b-2" };
    char sc[128], pol[128], uuid[SIM_UUID_LEN + 1];
    struct acct_sim_truth t0, t1;
    double share[2] = { 0, 0 };
    uint32_t i, w, cap;
    FILE *f;
    pid_t pid;
    void *st;

    snprintf(sc, sizeof(sc), "%s/weights.yaml", dir);
    snprintf(pol, sizeof(pol), "%s/weights-policy.yaml", dir);
    f = fopen(sc, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "pcpus: 2\nduration_ms: 40000\nseed: 5\ndomains:\n"
               "  - {name: a-busy, vcpus: 2, workload: {type: cpu},"
               " reboot_ms: [3000]}\n"
               "  - {name: a-idle, vcpus: 4, workload: {type: io, "
               "run_us: 50, block_us: 100000}}\n"
               "  - {name: b-1, workload: {type: cpu}}\n"
               "  - {name: b-2, workload: {type: cpu}}\n");
    fclose(f);
    f = fopen(pol, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tenants:\n"
               "  - {name: a, weight: 256, match: {names: [\"a-*\"]}}\n"
               "  - {name: b, weight: 256, match: {names: [\"b-*\"]}}\n");
    fclose(f);

    pid = start_xenosd_usage(sc, pol, "10", "100", "60", "credit");
    st = host(sc);
    while ( sim_time(st) < SCH_SEC(10) )
        sleep_ms(50);
    for ( i = 0; i < 4; i++ )
    {
        sim_uuid_from_name(names[i], uuid);
        ck_assert_int_eq(acct_backend_sim.get_sched(st, uuid, &w, &cap), 0);
        ck_assert_msg(w == 128 && cap == 0, "%s: weight %u cap %u",
                      names[i], w, cap);
    }
    ck_assert_int_eq(acct_sim_truth(st, &t0), 0);
    while ( sim_time(st) < SCH_SEC(30) )
        sleep_ms(50);
    ck_assert_int_eq(acct_sim_truth(st, &t1), 0);
    ck_assert_uint_eq(t0.nr_domains, t1.nr_domains);
    for ( i = 0; i < t1.nr_domains; i++ )
        share[t1.domains[i].name[0] == 'b'] +=
            100.0 * (double)(t1.domains[i].cpu_ns - t0.domains[i].cpu_ns) /
            (2.0 * (double)(t1.time_ns - t0.time_ns));
    stop(pid, SIGTERM);
    acct_sim_truth_free(&t0);
    acct_sim_truth_free(&t1);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
    ck_assert_msg(fabs(share[0] - 50) <= 3 && fabs(share[1] - 50) <= 3,
                  "a %.1f%%, b %.1f%% of the host", share[0], share[1]);
}
END_TEST

/* Hostile names: the status JSON is valid and carries them intact. */
START_TEST(test_xenosd_hostile_names_status)
{
    const char *sc = SCENARIOS "hostile-names.yaml";
    char cmd[512];
    pid_t pid = start_xenosd(sc, POLICIES "tenants.yaml", "10", "100");
    void *st = host(sc);
    struct sim_scenario scen;
    char err[256];
    FILE *p;
    uint32_t i;

    sleep_ms(1000);
    ck_assert_int_eq(sim_scenario_load(sc, &scen, err, sizeof(err)), 0);
    /* python's strict json reads every name back byte for byte */
    snprintf(cmd, sizeof(cmd), "%s --state-dir %s status --json | python3 "
             "-c 'import json,sys; d=json.load(sys.stdin); "
             "[sys.stdout.buffer.write(x[\"name\"].encode(\"utf-8\","
             "\"surrogateescape\").hex().encode()+b\"\\n\") "
             "for x in d[\"domains\"]]'", XENOSCTL, dir);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    {
        char line[4096];
        unsigned int found = 0;

        while ( fgets(line, sizeof(line), p) )
            for ( i = 0; i < scen.nr_domains; i++ )
            {
                char hex[4096] = "";
                const unsigned char *n =
                    (const unsigned char *)scen.domains[i].name;
                size_t k;

                for ( k = 0; n[k] && 2 * k + 3 < sizeof(hex); k++ )
                    sprintf(hex + 2 * k, "%02x", n[k]);
                strcat(hex, "\n");
                found += !strcmp(hex, line);
            }
        ck_assert_int_eq(pclose(p), 0);
        /* every valid-UTF-8 name comes back exactly */
        ck_assert_uint_ge(found, 3);
    }
    sim_scenario_free(&scen);
    stop(pid, SIGTERM);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/* `xenosctl top --once` of the daemon on dir, into @buf, NUL-terminated. */
static void top_once(char *buf, size_t len)
{
    char cmd[256];
    FILE *f;
    size_t n;

    snprintf(cmd, sizeof(cmd), "%s --state-dir %s top --once", XENOSCTL,
             dir);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    ck_assert_int_eq(pclose(f), 0);
}

/*
 * xenosd on scenario @sc with the tenant policy @policy (written to
 * dir/p.yaml) and its host, for 800 ms of 100 ms intervals; then what
 * `top --once` shows, into @buf.  Returns the host's state and sets
 * *@pid, for the caller to stop both.
 */
static void *top_of(const char *sc, const char *policy, pid_t *pid,
                    char *buf, size_t len)
{
    char pol[128];
    void *st;
    FILE *f;

    snprintf(pol, sizeof(pol), "%s/p.yaml", dir);
    f = fopen(pol, "w");
    ck_assert_ptr_nonnull(f);
    fputs(policy, f);
    ck_assert_int_eq(fclose(f), 0);
    *pid = start_xenosd(sc, pol, "10", "100");
    st = host(sc);
    sleep_ms(800);
    top_once(buf, len);
    return st;
}

/* SIGHUP with a broken policy file: logged with its line, old policy
 * kept (domains stay in their tenants), daemon keeps running. */
START_TEST(test_xenosd_bad_reload_keeps_policy)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    char pol[128], log[128], buf[8192];
    pid_t pid;
    void *st;
    FILE *f;
    size_t n;

    snprintf(pol, sizeof(pol), "%s/p.yaml", dir);
    f = fopen(pol, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tenants:\n  - name: acme\n    match: {key: acme}\n");
    fclose(f);
    pid = start_xenosd(sc, pol, "10", "100");
    st = host(sc);
    sleep_ms(800);
    f = fopen(pol, "w");
    fprintf(f, "tenants:\n  - name: acme\n    cap_pct: -5\n"
               "    match: {key: acme}\n");
    fclose(f);
    kill(pid, SIGHUP);
    sleep_ms(800);
    top_once(buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "\nacme "), "acme gone:\n%s", buf);
    ck_assert(WIFEXITED(stop(pid, SIGTERM)));
    snprintf(log, sizeof(log), "%s/xenosd.log", dir);
    f = fopen(log, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(buf, "p.yaml:3") && strstr(buf, "cap_pct") &&
                  strstr(buf, "old one stays"), "log:\n%s", buf);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/* The host dies under the daemon: samples fail and are counted, the
 * daemon stays up and still answers, and exits cleanly. */
START_TEST(test_xenosd_backend_dies)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    pid_t pid = start_xenosd(sc, POLICIES "tenants.yaml", "10", "100");
    void *st = host(sc);
    struct acct_sim_info info;
    char cmd[256], buf[65536];
    FILE *f;
    size_t n;
    int status;

    sleep_ms(500);
    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    ck_assert_int_eq(kill((pid_t)info.pid, SIGKILL), 0);
    sleep_ms(800);
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);   /* still up */
    snprintf(cmd, sizeof(cmd), "%s --state-dir %s status --json", XENOSCTL,
             dir);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_msg(strstr(buf, "\"sample\":") &&
                  !strstr(buf, "\"sample\":0,"), "status: %.300s", buf);
    status = stop(pid, SIGTERM);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    acct_backend_sim.close(st);
}
END_TEST

/* What follows reads the Prometheus exporter (/healthz, /metrics) or
 * the files of the rrd and usage exporters: built with them only. */
#ifdef XENOS_HAVE_EXP_PROMETHEUS
/* xenosd's /metrics port, from its log line "(port N)". */
static unsigned int xenosd_port(void)
{
    char log[128], buf[1 << 14], *p;
    unsigned int port = 0;
    size_t n;
    FILE *f;

    snprintf(log, sizeof(log), "%s/xenosd.log", dir);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    /* the last one: the log is appended to by each start */
    for ( p = strstr(buf, "(port "); p && strstr(p + 1, "(port ");
          p = strstr(p + 1, "(port ") )
        ;
    ck_assert_msg(p && sscanf(p, "(port %u)", &port) == 1 && port,
                  "no port in: %s", buf);
    return port;
}

/* The HTTP status of GET @path on 127.0.0.1:@port (0: no answer). */
static int http_status(unsigned int port, const char *path)
{
    char cmd[512], buf[256];
    int code = 0;
    FILE *f;

    /* fd 9, and nothing written when the connection fails: the fds
     * below are Check's own. */
    snprintf(cmd, sizeof(cmd), "bash -c 'exec 9<>/dev/tcp/127.0.0.1/%u || "
             "exit 1; printf \"GET %s HTTP/1.0\\r\\n\\r\\n\" >&9; "
             "head -c 100 <&9' 2>/dev/null", port, path);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    if ( fgets(buf, sizeof(buf), f) )
        sscanf(buf, "HTTP/1.%*d %d", &code);
    pclose(f);
    return code;
}

/* Start a fresh xenos-simhost at the state dir's socket: a host that
 * rebooted (same scenario, same uuids and domids, counters from zero). */
static void boot_host(const char *scenario, const char *speed)
{
    char sock[128];
    pid_t pid;
    int st;

    snprintf(sock, sizeof(sock), "%s/simhost.sock", dir);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        execl(SIMHOST, SIMHOST, "--daemon", "--boot-on-sample",
              "--scenario", scenario, "--socket", sock, "--speed", speed,
              "--idle-exit-s", "30", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "simhost: %d", st);
}

/* kill -9 the host: it dies as a machine does, mid-sentence. */
static void crash_host(void *st)
{
    struct acct_sim_info info;

    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    ck_assert_int_eq(kill((pid_t)info.pid, SIGKILL), 0);
    sleep_ms(100);
}

/*
 * The host reboots: killed at the end of its scenario (so its truth is
 * final and xenosd has seen all of it) and started afresh with the same
 * uuids and domids, counters from zero.  Every CPU nanosecond of both
 * boots is billed, each once: the new lives from their first sample (no
 * counter_backwards), and /healthz, 503 while the host is down, is ok
 * again once samples flow.  Case 0: xenosd lives through the reboot
 * (reconnecting by itself); case 1: it is killed -9 with the host and
 * restarted from its checkpoint after (a dom0 that rebooted too).
 */
START_TEST(test_xenosd_host_reboot)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    const char *pol = POLICIES "tenants.yaml";
    pid_t pid = start_xenosd(sc, pol, "20", "100");
    void *st = host(sc);
    struct acct_sim_truth t1, t2;
    struct acct_collector *c;
    struct acct_snapshot snap;
    char path[128], err[256] = "";
    uint64_t acc_sum = 0, truth_sum = 0;
    unsigned int port;
    uint32_t i, k;
    int status;

    wait_end(st);
    sleep_ms(400);                      /* xenosd sees the final state */
    ck_assert_int_eq(acct_sim_truth(st, &t1), 0);
    port = xenosd_port();
    ck_assert_int_eq(http_status(port, "/healthz"), 200);
    if ( _i == 1 )
        ck_assert(WIFSIGNALED(stop(pid, SIGKILL)));
    crash_host(st);
    if ( _i == 0 )
    {
        sleep_ms(1500);                 /* > 3 intervals and 1 s */
        ck_assert_int_eq(http_status(port, "/healthz"), 503);
    }
    boot_host(sc, "20");
    if ( _i == 1 )
        pid = start_xenosd(sc, pol, "20", "100");
    /* back within the backoff (2 s at most) and an interval */
    for ( k = 0; k < 60; k++ )
    {
        if ( _i == 1 )
            port = 0;
        sleep_ms(100);
        if ( k > 5 && (port || (port = xenosd_port())) &&
             http_status(port, "/healthz") == 200 )
            break;
    }
    ck_assert_msg(k < 60, "/healthz not ok 6 s after the host came back");
    wait_end(st);
    sleep_ms(400);
    ck_assert_int_eq(acct_sim_truth(st, &t2), 0);
    status = stop(pid, SIGTERM);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    ck_assert_int_eq(acct_collector_alloc(&c, path, err, sizeof(err)), 0);
    ck_assert_uint_eq(t1.nr_domains, t2.nr_domains);
    for ( i = 0; i < t1.nr_domains; i++ )
    {
        const struct acct_dom *d = acct_collector_find(c, t1.domains[i].uuid);
        uint64_t truth = t1.domains[i].cpu_ns + t2.domains[i].cpu_ns;
        uint64_t acc = d ? d->total.cpu_ns : 0;

        ck_assert_str_eq(t1.domains[i].uuid, t2.domains[i].uuid);
        truth_sum += truth;
        acc_sum += acc;
        ck_assert_msg(fabs((double)acc - (double)truth) <=
                      0.001 * (double)truth, "%s: accounted %llu ns, "
                      "truth %llu + %llu ns", t1.domains[i].name,
                      (unsigned long long)acc,
                      (unsigned long long)t1.domains[i].cpu_ns,
                      (unsigned long long)t2.domains[i].cpu_ns);
    }
    ck_assert_msg(fabs((double)acc_sum - (double)truth_sum) <=
                  0.001 * (double)truth_sum, "host: %llu vs %llu",
                  (unsigned long long)acc_sum,
                  (unsigned long long)truth_sum);
    acct_collector_snapshot(c, &snap);
    ck_assert_uint_eq(snap.errors[ACCT_ERR_COUNTER_BACK], 0);
    ck_assert_uint_eq(snap.host_reboots, 1);
    acct_collector_free(c);
    acct_sim_truth_free(&t1);
    acct_sim_truth_free(&t2);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/*
 * GET /metrics from xenosd on @port into @buf (the HTTP response, head
 * and all), after checking that it is a 200 and that promtool accepts
 * the exposition.
 */
static void scrape_checked(unsigned int port, char *buf, size_t size)
{
    char cmd[256];
    FILE *f;
    size_t n;

    /* bash's /dev/tcp: an HTTP client with no extra dependency */
    snprintf(cmd, sizeof(cmd), "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%u; "
             "printf \"GET /metrics HTTP/1.0\\r\\n\\r\\n\" >&3; "
             "cat <&3' > %s/m.http", port, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/m.http", dir);
    f = fopen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_msg(!strncmp(buf, "HTTP/1.0 200", 12) ||
                  !strncmp(buf, "HTTP/1.1 200", 12), "%.200s", buf);
    snprintf(cmd, sizeof(cmd), "sed '1,/^\\r$/d' %s/m.http | promtool "
             "check metrics", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The daemon serves /metrics: 200, our families, and promtool agrees. */
START_TEST(test_xenosd_serves_metrics)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    pid_t pid = start_xenosd(sc, POLICIES "tenants.yaml", "10", "200");
    void *st = host(sc);
    char buf[1 << 16];

    sleep_ms(1500);
    scrape_checked(xenosd_port(), buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "xenos_tenant_cpu_seconds_total{"
                                      "tenant=\"acme\"}"));
    stop(pid, SIGTERM);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/* The value of @family's series for the domain named @name in the
 * exposition @text, or -1 if it has none. */
static double metric_of(const char *text, const char *family,
                        const char *name)
{
    char want[128];
    const char *p;
    size_t n;

    n = (size_t)snprintf(want, sizeof(want), "%s{", family);
    for ( p = strstr(text, want); p; p = strstr(p + 1, want) )
    {
        const char *eol = strchr(p, '\n'), *q = strstr(p, "name=\"");

        if ( p != text && p[-1] != '\n' )
            continue;
        if ( q && eol && q < eol && !strncmp(q + 6, name, strlen(name)) &&
             q[6 + strlen(name)] == '"' )
            return strtod(strchr(p + n, '}') + 1, NULL);
    }
    return -1;
}

/*
 * Contention end to end: the simulated host's policy counts, its SAMPLE
 * carries the counters, xenosd's collector sums them, /metrics shows
 * them.  One pCPU, a busy domain capped at 30 by its tenant and a busy
 * uncapped one.  Case 0, fcredit: of the capped domain's time about 70%
 * is throttled and little waiting; the hog never throttled and waits
 * about 30%; the tenant sums equal the domains'.  Case 1, rr (no
 * counters): the families have no series at all, not zeros.
 */
START_TEST(test_xenosd_contention_metrics)
{
    static const char *const policies[] = { "fcredit", "rr" };
    char sc[128], pol[128], buf[1 << 16], cmd[512], peaks[256];
    double cpu, wait, thr, hcpu, hwait, hthr;
    pid_t pid;
    void *st;
    FILE *f, *p;

    snprintf(sc, sizeof(sc), "%s/contend.yaml", dir);
    snprintf(pol, sizeof(pol), "%s/contend-policy.yaml", dir);
    f = fopen(sc, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "pcpus: 1\nduration_ms: 60000\nseed: 5\ndomains:\n"
               "  - name: capd\n    workload: {type: cpu}\n"
               "  - name: hog\n    workload: {type: cpu}\n");
    fclose(f);
    f = fopen(pol, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tenants:\n  - name: c\n    cap_pct: 30\n"
               "    match: {names: [\"capd\"]}\n");
    fclose(f);
    pid = start_xenosd_usage(sc, pol, "10", "100", "60", policies[_i]);
    st = host(sc);
    while ( sim_time(st) < SCH_SEC(12) )
        sleep_ms(50);
    scrape_checked(xenosd_port(), buf, sizeof(buf));
    /* the last interval's peak 100 ms window, from the hypervisor's
     * histogram: capd within a bucket of its cap (fcredit holds every
     * window to 102% of it: 30 or 31), the hog at 70% (the 75% bucket) */
    snprintf(cmd, sizeof(cmd), "%s --state-dir %s status --json | python3 "
             "-c 'import json,sys; d=json.load(sys.stdin); "
             "print(\" \".join(\"%%s=%%s\" %% (x[\"name\"], "
             "x[\"interval\"].get(\"peak_window_pct\", \"-\")) "
             "for x in d[\"domains\"]))'", XENOSCTL, dir);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(peaks, sizeof(peaks), p));
    pclose(p);
    stop(pid, SIGTERM);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);

    cpu = metric_of(buf, "xenos_domain_cpu_seconds_total", "capd");
    wait = metric_of(buf, "xenos_domain_wait_seconds_total", "capd");
    thr = metric_of(buf, "xenos_domain_throttled_seconds_total", "capd");
    hcpu = metric_of(buf, "xenos_domain_cpu_seconds_total", "hog");
    hwait = metric_of(buf, "xenos_domain_wait_seconds_total", "hog");
    hthr = metric_of(buf, "xenos_domain_throttled_seconds_total", "hog");
    ck_assert_msg(cpu > 2 && hcpu > 5, "cpu %.3f %.3f", cpu, hcpu);
    if ( _i == 1 )
    {
        ck_assert_msg(strstr(peaks, "capd=-") && strstr(peaks, "hog=-"),
                      "%s", peaks);
        ck_assert_ptr_null(strstr(buf, "xenos_domain_wait_seconds_total{"));
        ck_assert_ptr_null(strstr(buf,
                                  "xenos_tenant_throttled_seconds_total{"));
        ck_assert_ptr_nonnull(strstr(buf, "# TYPE xenos_domain_wait_"));
        ck_assert_ptr_null(strstr(buf, "xenos_domain_peak_window_ratio{"));
        ck_assert_ptr_null(strstr(buf, "xenos_domain_capped_windows_total{"));
        ck_assert_ptr_null(strstr(buf, "xenos_tenant_over_cap_windows_total{"));
        ck_assert_ptr_nonnull(strstr(buf, "# TYPE xenos_domain_peak_window"));
        return;
    }
    /* each is always runnable: cpu + wait + throttled is its wall time */
    ck_assert_msg(fabs(thr / (cpu + wait + thr) - 0.70) < 0.02 &&
                  wait < 0.05 * (cpu + wait + thr),
                  "capd: cpu %.3f wait %.3f throttled %.3f", cpu, wait, thr);
    ck_assert_msg((strstr(peaks, "capd=30") || strstr(peaks, "capd=31")) &&
                  strstr(peaks, "hog=75"), "%s", peaks);
    ck_assert_msg(hthr == 0 && fabs(hwait / (hcpu + hwait) - 0.30) < 0.02,
                  "hog: cpu %.3f wait %.3f throttled %.3f", hcpu, hwait,
                  hthr);
    ck_assert_msg(fabs(metric_of(buf, "xenos_tenant_throttled_seconds_total",
                                 "c") - thr) < 1e-6 ||
                  strstr(buf, "xenos_tenant_throttled_seconds_total{"
                              "tenant=\"c\"}"), "no tenant series");
    /*
     * Conformance in /metrics: capd's peak as in the status, and its
     * windows all capped; over the cap at most the window or two in which
     * the tenant's cap was first set (it ran half a pCPU before), none
     * after; the hog, uncapped, has no capped window.  Tenant c (capd
     * alone) sums the same.
     */
    {
        double peak = metric_of(buf, "xenos_domain_peak_window_ratio", "capd");
        double capped = metric_of(buf, "xenos_domain_capped_windows_total",
                                  "capd");
        double over = metric_of(buf, "xenos_domain_over_cap_windows_total",
                                "capd");
        const char *tc = strstr(buf, "xenos_tenant_capped_windows_total{"
                                     "tenant=\"c\"} ");
        const char *to = strstr(buf, "xenos_tenant_over_cap_windows_total{"
                                     "tenant=\"c\"} ");

        ck_assert_msg(peak == 0.30 || peak == 0.31, "capd peak %.2f", peak);
        ck_assert_double_eq(metric_of(buf, "xenos_domain_peak_window_ratio",
                                      "hog"), 0.75);
        ck_assert_msg(capped >= 50 && over >= 0 && over <= 2,
                      "capd windows: %.0f capped, %.0f over", capped, over);
        ck_assert_double_eq(metric_of(buf,
                                      "xenos_domain_capped_windows_total",
                                      "hog"), 0);
        ck_assert_ptr_nonnull(tc);
        ck_assert_ptr_nonnull(to);
        ck_assert_double_eq(strtod(strchr(tc, '}') + 1, NULL), capped);
        ck_assert_double_eq(strtod(strchr(to, '}') + 1, NULL), over);
    }
}
END_TEST

#endif /* XENOS_HAVE_EXP_PROMETHEUS */

#if defined(XENOS_HAVE_EXP_RRD) && defined(XENOS_HAVE_EXP_USAGE)
/* The daemon writes RRD archives rrdtool reads, and a usage ledger whose
 * records xenos-usage reads back in order, numbered without a gap. */
START_TEST(test_xenosd_writes_rrd_and_ledger)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    pid_t pid = start_xenosd_usage(sc, POLICIES "tenants.yaml", "10", "200",
                                   "1", NULL);
    void *st = host(sc);
    char cmd[512], line[4096];
    unsigned long seq, expect = 1, n = 0;
    bool acme = false;
    FILE *f;

    sleep_ms(3500);
    ck_assert(WIFEXITED(stop(pid, SIGTERM)));
    snprintf(cmd, sizeof(cmd), "cd %s/rrd && rrdtool info \"$(ls dom-*.rrd "
             "| head -1)\" | grep -q 'ds\\[cpu_ns\\]'", dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/exporter/xenos-usage dump --format csv "
             "%s/usage/*.xul", XENOS_BINARY_DIR, dir);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));   /* header */
    while ( fgets(line, sizeof(line), f) )
    {
        ck_assert_int_eq(sscanf(line, "%lu,", &seq), 1);
        ck_assert_uint_eq(seq, expect);
        expect++;
        n++;
        acme |= strstr(line, ",\"acme\",") != NULL;
    }
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_uint_ge(n, 9);        /* a record per domain per second */
    ck_assert(acme);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

#endif

/* Bidirectional controls and zero-width characters in domain and tenant
 * names reach `xenosctl top` visible (\\u202e), never as themselves: an
 * RLO would make "evil<RLO>exe.txt" read as "eviltxt.exe". */
START_TEST(test_xenosd_top_bidi_visible)
{
    char sc[128], buf[16384];
    pid_t pid;
    void *st;
    FILE *f;

    snprintf(sc, sizeof(sc), "%s/bidi.yaml", dir);
    f = fopen(sc, "w");
    ck_assert_ptr_nonnull(f);
    fputs("pcpus: 1\nduration_ms: 600000\ndomains:\n"
          "  - {name: \"evil\\u202etxt.exe\", tenant: \"bidi\",\n"
          "     workload: {type: cpu}}\n"
          "  - {name: \"zero\\u200bwidth\\ufeff\\u2066iso\\u061c\",\n"
          "     tenant: \"bidi\", workload: {type: cpu}}\n", f);
    ck_assert_int_eq(fclose(f), 0);
    st = top_of(sc, "tenants:\n  - name: \"t\\u202dx\"\n"
                "    match: {key: bidi}\n", &pid, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "evil\\u202etxt.exe"), "%s", buf);
    ck_assert_msg(strstr(buf, "zero\\u200bwidth\\ufeff\\u2066iso\\u061c"),
                  "%s", buf);
    ck_assert_msg(strstr(buf, "t\\u202dx"), "%s", buf);
    /* no byte of a bidi or zero-width character: E2 80 8B..8F, AA..AE,
     * E2 81 A0..A9, EF BB BF, D8 9C */
    ck_assert_ptr_null(strstr(buf, "\xe2\x80"));
    ck_assert_ptr_null(strstr(buf, "\xe2\x81"));
    ck_assert_ptr_null(strstr(buf, "\xef\xbb\xbf"));
    ck_assert_ptr_null(strstr(buf, "\xd8\x9c"));
    stop(pid, SIGTERM);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/* A name whose escape is far longer than any stack buffer (250 bidi
 * controls: 1,500 bytes escaped) reaches `top` whole, never cut. */
START_TEST(test_xenosd_top_long_name_whole)
{
    char sc[128], buf[16384], want[2048];
    size_t i;
    pid_t pid;
    void *st;
    FILE *f;

    snprintf(sc, sizeof(sc), "%s/long.yaml", dir);
    f = fopen(sc, "w");
    ck_assert_ptr_nonnull(f);
    fputs("pcpus: 1\nduration_ms: 600000\ndomains:\n  - {name: \"long", f);
    strcpy(want, "long");
    for ( i = 0; i < 250; i++ )
    {
        fputs("\\u202e", f);
        strcat(want, "\\u202e");
    }
    fputs("end\", tenant: \"t\", workload: {type: cpu}}\n", f);
    strcat(want, "end");
    ck_assert_int_eq(fclose(f), 0);
    st = top_of(sc, "tenants:\n  - name: t\n    match: {key: t}\n", &pid,
                buf, sizeof(buf));
    ck_assert_msg(strstr(buf, want), "%s", buf);
    stop(pid, SIGTERM);
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
}
END_TEST

/* Lines of @text holding both @a and @b. */
static unsigned int count_lines(const char *text, const char *a,
                                const char *b)
{
    unsigned int n = 0;
    const char *l = text;

    while ( *l )
    {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        const char *pa = memmem(l, len, a, strlen(a));

        n += pa && memmem(l, len, b, strlen(b));
        l += len + (e ? 1 : 0);
    }
    return n;
}

/* Run @argv (argv[0] the program) with its stderr in @log; its pid. */
static pid_t spawn_logged(const char *log, const char *const *argv)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        if ( !freopen(log, "w", stderr) )
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* A full disk under the state dir: the checkpoint and the usage ledger
 * fail at every interval for 2 s (20 intervals), and each says so once
 * when it starts and once when it works again, not every interval. */
START_TEST(test_xenosd_enospc_logged_once)
{
    const char *sc = SCENARIOS "lifecycle.yaml";
    char log[128], cmd[256], *buf;
    pid_t pid;
    void *st;
    FILE *f;
    size_t n;

    if ( mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0750") )
    {
        fprintf(stderr, "test_xenosd_enospc_logged_once: skipped, cannot "
                "mount a tmpfs: %s\n", strerror(errno));
        return;
    }
    snprintf(log, sizeof(log), "%s.log", dir);
    pid = spawn_logged(log, (const char *const[]){
        XENOSD, "--backend", "sim", "--scenario", sc, "--policy-file",
        POLICIES "tenants.yaml", "--speed", "10", "--simhost", SIMHOST,
        "--interval-ms", "100", "--state-dir", dir, "--listen", "off",
        "--rrd-dir", "off", "--usage-interval-s", "1", NULL });
    st = host(sc);
    sleep_ms(1500);
    snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/fill bs=4k "
             "2>/dev/null", dir);
    ck_assert_int_ne(system(cmd), 0);           /* stopped by ENOSPC */
    sleep_ms(2000);
    snprintf(cmd, sizeof(cmd), "%s/fill", dir);
    ck_assert_int_eq(unlink(cmd), 0);
    sleep_ms(2000);
    ck_assert(WIFEXITED(stop(pid, SIGTERM)));
    acct_sim_shutdown(st);
    acct_backend_sim.close(st);
    umount2(dir, MNT_DETACH);

    buf = malloc(1 << 20);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(log);
    ck_assert_msg(count_lines(buf, "checkpoint", strerror(ENOSPC)) == 1,
                  "log:\n%s", buf);
    ck_assert_msg(count_lines(buf, "checkpoint", "works again") == 1,
                  "log:\n%s", buf);
    ck_assert_msg(count_lines(buf, "usage ledger", strerror(ENOSPC)) <= 1,
                  "log:\n%s", buf);
    ck_assert_msg(count_lines(buf, "usage ledger", "works again") ==
                  count_lines(buf, "usage ledger", strerror(ENOSPC)),
                  "log:\n%s", buf);
    free(buf);
}
END_TEST

/* A config line over 4,095 bytes is an error naming FILE:LINE, not two
 * lines: read in pieces, the tail of a long comment became a setting. */
START_TEST(test_xenosd_config_long_line)
{
    char conf[128], cmd[512], buf[4096];
    FILE *f;
    size_t n;
    int i, status;

    snprintf(conf, sizeof(conf), "%s/x.conf", dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# ", f);
    for ( i = 0; i < 4093; i++ )
        fputc('x', f);
    fputs(" interval-ms = 1\n", f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "%s --config %s --state-dir %s 2>&1",
             XENOSD, conf, dir);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    status = pclose(f);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    ck_assert_msg(strstr(buf, "x.conf:1: line longer than 4095 bytes"),
                  "xenosd said: %s", buf);
}
END_TEST

/* A taken metrics port: xenosd says so, exits non-zero and leaves
 * nothing behind: no simulated host (it opens the backend, which starts
 * one, only once everything that can refuse has said yes). */
START_TEST(test_xenosd_port_taken_leaves_nothing)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof(a);
    char listen_at[64], log[128], sock[128], buf[4096];
    int fd = socket(AF_INET, SOCK_STREAM, 0), st, i;
    pid_t pid, w = 0;
    FILE *f;
    size_t n;

    ck_assert_int_ge(fd, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%u",
             ntohs(a.sin_port));
    snprintf(log, sizeof(log), "%s.log", dir);
    pid = spawn_logged(log, (const char *const[]){
        XENOSD, "--backend", "sim", "--scenario", SCENARIOS "demo-host.yaml",
        "--policy-file", POLICIES "tenants.yaml", "--simhost", SIMHOST,
        "--interval-ms", "1000", "--state-dir", dir, "--listen", listen_at,
        NULL });
    for ( i = 0; i < 200 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++ )
        sleep_ms(50);
    if ( w == 0 )
        stop(pid, SIGKILL);
    ck_assert_msg(w == pid, "xenosd still runs with its port taken");
    close(fd);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(log);
    ck_assert_msg(strstr(buf, listen_at) && strstr(buf, strerror(EADDRINUSE)),
                  "xenosd said: %s", buf);
    /* no host was started at the state dir's socket */
    snprintf(sock, sizeof(sock), "%s/simhost.sock", dir);
    ck_assert_int_ne(access(sock, F_OK), 0);
}
END_TEST

static Suite *xenosd_suite(void)
{
    Suite *s = suite_create("xenosd");
    TCase *tc = tcase_create("daemon");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_xenosd_matches_ground_truth);
    tcase_add_test(tc, test_xenosd_kill9_restarts);
    tcase_add_loop_test(tc, test_xenosd_tenant_cap_split, 0, 2);
    tcase_add_test(tc, test_xenosd_tenant_weights);
    tcase_add_test(tc, test_xenosd_hostile_names_status);
    tcase_add_test(tc, test_xenosd_bad_reload_keeps_policy);
    tcase_add_test(tc, test_xenosd_backend_dies);
#ifdef XENOS_HAVE_EXP_PROMETHEUS
    tcase_add_loop_test(tc, test_xenosd_host_reboot, 0, 2);
    tcase_add_test(tc, test_xenosd_serves_metrics);
    tcase_add_loop_test(tc, test_xenosd_contention_metrics, 0, 2);
#endif
#if defined(XENOS_HAVE_EXP_RRD) && defined(XENOS_HAVE_EXP_USAGE)
    tcase_add_test(tc, test_xenosd_writes_rrd_and_ledger);
#endif
    tcase_add_test(tc, test_xenosd_config_long_line);
    tcase_add_test(tc, test_xenosd_top_bidi_visible);
    tcase_add_test(tc, test_xenosd_top_long_name_whole);
    tcase_add_test(tc, test_xenosd_enospc_logged_once);
    tcase_add_test(tc, test_xenosd_port_taken_leaves_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xenosd_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
