/*
 * test_simhost.c: the simulated host that the `sim` accounting backend
 * reads, from the engine up to the backend over the socket.
 *
 * Engine: domains are created late, rebooted (new domid, same uuid,
 * counters from 0), migrated and destroyed as their scenario says; host
 * counters follow the workloads; the ground truth per uuid adds up over
 * incarnations.  Process: xenos-simhost started by the backend's open(),
 * SAMPLE/SET/GET/TRUTH through the backend, a host that outlives a client
 * killed with SIGKILL, clients that misbehave, SIGTERM and idle exit.
 * Parser: a fake host (a child of this process) sends replies the real
 * one never would, to show one bad domain line never blanks the others;
 * it is a fake because no real host can be made to send garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/acct_sim.h>

#include "simtest.h"

#define SIMHOST     XENOS_BINARY_DIR "/sched/sim/xenos-simhost"
#define SCENARIOS   XENOS_SOURCE_DIR "/sched/sim/scenarios/"

static const char *const policies[] = { "credit", "fcredit", "rr" };

/* ------------------------------------------------------------------ */
/* Engine                                                             */

static struct sim *st_start(struct st_scenario *t, const char *policy)
{
    char err[256] = "";

    t->sim = sim_alloc(&t->sc, sch_policy_find(policy), err, sizeof(err));
    ck_assert_msg(t->sim != NULL, "sim_alloc: %s", err);
    return t->sim;
}

static void st_info(struct st_scenario *t, unsigned int i,
                    struct sim_dom_info *d)
{
    ck_assert_int_eq(sim_dom_info(t->sim, i, d), 0);
}

static void st_truth(struct st_scenario *t, unsigned int i,
                     struct sim_dom_truth *tr)
{
    uint64_t sum = 0;
    unsigned int k;

    ck_assert_int_eq(sim_dom_truth(t->sim, i, tr), 0);
    for ( k = 0; k < tr->nr_incarnations; k++ )
        sum += tr->inc[k].cpu_ns;
    /* the incarnations always add up to the uuid's total */
    ck_assert_uint_eq(sum, tr->cpu_ns);
}

/* A reboot is a new domid with the same uuid and counters from 0, and
 * the uuid's truth sums its incarnations. */
START_TEST(test_simhost_reboot_new_domid_same_uuid)
{
    static sch_time_t reboots[] = { SCH_MSEC(1000), SCH_MSEC(2000) };
    struct st_scenario t;
    struct sim_domain_spec *a;
    struct sim_dom_info d0, d1;
    struct sim_dom_truth tr;

    st_init(&t, 1, 3000);
    a = st_cpu(&t, "a", 256, 0);
    a->reboot_ns = reboots;
    a->nr_reboots = 2;
    st_cpu(&t, "b", 256, 0);
    st_start(&t, policies[_i]);

    sim_run_until(t.sim, SCH_MSEC(900));
    st_info(&t, 0, &d0);
    ck_assert_int_eq(d0.life, SIM_LIFE_ALIVE);
    ck_assert_uint_eq(d0.domid, 1);
    ck_assert_uint_gt(d0.cpu_ns, SCH_MSEC(300));
    ck_assert_uint_eq(d0.vcpu_ns[0], d0.cpu_ns);

    sim_run_until(t.sim, SCH_MSEC(1500));
    st_info(&t, 0, &d1);
    ck_assert_str_eq(d1.uuid, d0.uuid);
    ck_assert_uint_eq(d1.domid, 3);     /* b is 2: domids are not reused */
    ck_assert_uint_le(d1.cpu_ns, SCH_MSEC(500));   /* since the reboot */
    ck_assert_uint_gt(d1.cpu_ns, SCH_MSEC(100));
    ck_assert_uint_eq(d1.vcpu_ns[0], d1.cpu_ns);    /* per vCPU reset too */
    st_truth(&t, 0, &tr);
    ck_assert_uint_eq(tr.nr_incarnations, 2);
    ck_assert_int_eq(tr.inc[0].end, SIM_END_REBOOT);
    ck_assert_int_eq(tr.inc[0].ended_ns, SCH_MSEC(1000));
    ck_assert_int_eq(tr.inc[1].created_ns, SCH_MSEC(1000));
    ck_assert_int_eq(tr.inc[1].ended_ns, -1);
    ck_assert_uint_eq(tr.inc[1].cpu_ns, d1.cpu_ns);

    sim_run_until(t.sim, SCH_MSEC(3000));
    st_truth(&t, 0, &tr);
    ck_assert_uint_eq(tr.nr_incarnations, 3);
    ck_assert_uint_eq(tr.inc[0].domid, 1);
    ck_assert_uint_eq(tr.inc[1].domid, 3);
    ck_assert_uint_eq(tr.inc[2].domid, 4);
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    ck_assert_uint_eq(tr.cpu_ns, (uint64_t)t.r.domains[0].cpu_ns);
    /* two hogs on one pCPU: no ns of it went unaccounted across reboots */
    ck_assert_int_eq(t.r.domains[0].cpu_ns + t.r.domains[1].cpu_ns,
                     SCH_MSEC(3000));
    st_done(&t);
}
END_TEST

/* Migrated and destroyed domains disappear for good, their truth final,
 * and their pCPU time goes to the others at once. */
START_TEST(test_simhost_migrate_destroy_disappear)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    struct sim_dom_info di;
    struct sim_dom_truth tr;
    uint64_t a_final;
    unsigned int w;

    st_init(&t, 1, 3000);
    d = st_cpu(&t, "a", 256, 0);
    d->end = SIM_END_MIGRATE;
    d->end_ns = SCH_MSEC(1000);
    d = st_cpu(&t, "b", 256, 0);
    d->end = SIM_END_DESTROY;
    d->end_ns = SCH_MSEC(2000);
    st_cpu(&t, "c", 256, 0);
    st_start(&t, policies[_i]);

    sim_run_until(t.sim, SCH_MSEC(1500));
    st_info(&t, 0, &di);
    ck_assert_int_eq(di.life, SIM_LIFE_GONE);
    ck_assert_uint_eq(di.domid, 0);
    ck_assert_uint_eq(di.cpu_ns, 0);
    ck_assert_ptr_null(sim_domain(t.sim, 0));
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 512, 0), -ENOENT);
    st_truth(&t, 0, &tr);
    ck_assert_int_eq(tr.life, SIM_LIFE_GONE);
    ck_assert_uint_eq(tr.nr_incarnations, 1);
    ck_assert_int_eq(tr.inc[0].end, SIM_END_MIGRATE);
    ck_assert_int_eq(tr.inc[0].ended_ns, SCH_MSEC(1000));
    a_final = tr.cpu_ns;
    ck_assert_uint_gt(a_final, SCH_MSEC(200));

    sim_run_until(t.sim, SCH_MSEC(3000));
    st_truth(&t, 0, &tr);
    ck_assert_uint_eq(tr.cpu_ns, a_final);
    st_truth(&t, 1, &tr);
    ck_assert_int_eq(tr.inc[0].end, SIM_END_DESTROY);
    ck_assert_int_eq(tr.inc[0].ended_ns, SCH_MSEC(2000));
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    /* c alone from 2 s: every window of it full */
    for ( w = 20; w < 30; w++ )
        ck_assert_int_eq(t.r.window_cpu_ns[2 * t.r.nr_windows + w],
                         SIM_WINDOW_NS);
    ck_assert_int_eq(t.r.domains[0].cpu_ns + t.r.domains[1].cpu_ns +
                     t.r.domains[2].cpu_ns, SCH_MSEC(3000));
    st_done(&t);
}
END_TEST

/* start_ms: nothing of the domain exists before; then it takes the next
 * domid and a share. */
START_TEST(test_simhost_start_later)
{
    struct st_scenario t;
    struct sim_domain_spec *d;
    struct sim_dom_info di;
    struct sim_dom_truth tr;

    st_init(&t, 1, 2000);
    st_cpu(&t, "a", 256, 0);
    d = st_cpu(&t, "b", 256, 0);
    d->start_ns = SCH_MSEC(1000);
    st_start(&t, policies[_i]);

    sim_run_until(t.sim, SCH_MSEC(500));
    st_info(&t, 1, &di);
    ck_assert_int_eq(di.life, SIM_LIFE_PENDING);
    ck_assert_uint_eq(di.domid, 0);
    ck_assert_ptr_null(sim_domain(t.sim, 1));
    st_truth(&t, 1, &tr);
    ck_assert_uint_eq(tr.nr_incarnations, 0);
    st_info(&t, 0, &di);
    ck_assert_uint_eq(di.cpu_ns, SCH_MSEC(500));        /* alone */

    sim_run_until(t.sim, SCH_MSEC(2000));
    st_info(&t, 1, &di);
    ck_assert_int_eq(di.life, SIM_LIFE_ALIVE);
    ck_assert_uint_eq(di.domid, 2);
    ck_assert_msg(labs((long)di.cpu_ns - (long)SCH_MSEC(500)) <
                  (long)SCH_MSEC(60), "b got %lu ns",
                  (unsigned long)di.cpu_ns);
    st_truth(&t, 1, &tr);
    ck_assert_int_eq(tr.inc[0].created_ns, SCH_MSEC(1000));
    st_done(&t);
}
END_TEST

/* Every finished io (or trace) burst is one 8-sector request, reads and
 * writes in turn; alone on a pCPU with no switch cost, the bursts done are
 * exactly cpu / run. */
START_TEST(test_simhost_io_counts_vbd_requests)
{
    static sch_time_t trace[] = { SCH_USEC(200), SCH_USEC(300) };
    struct st_scenario t;
    struct sim_domain_spec *d;
    struct sim_dom_info di;
    unsigned int i;

    st_init(&t, 2, 1000);
    st_io(&t, "io", 100, 900);
    d = st_dom(&t, "tr", 1, SIM_WL_TRACE);
    d->workload.trace = trace;
    d->workload.trace_len = 2;
    /* one pCPU each: nothing else ever runs there */
    sch_cpumask_clear_all(&t.doms[0].affinity);
    sch_cpumask_set(&t.doms[0].affinity, 0);
    sch_cpumask_clear_all(&d->affinity);
    sch_cpumask_set(&d->affinity, 1);
    st_start(&t, "credit");
    sim_run_until(t.sim, SCH_MSEC(1000));
    for ( i = 0; i < 2; i++ )
    {
        sch_time_t run = i ? SCH_USEC(200) : SCH_USEC(100);
        uint64_t reqs;

        st_info(&t, i, &di);
        reqs = di.vbd.rd_reqs + di.vbd.wr_reqs;
        ck_assert_uint_eq(di.vbd.id, SIM_VBD_ID);
        ck_assert_uint_eq(reqs, di.cpu_ns / (uint64_t)run);
        ck_assert_uint_gt(reqs, 900);
        ck_assert_uint_le(di.vbd.rd_reqs - di.vbd.wr_reqs, 1);
        ck_assert_uint_eq(di.vbd.rd_sectors, SIM_IO_SECTORS * di.vbd.rd_reqs);
        ck_assert_uint_eq(di.vbd.wr_sectors, SIM_IO_SECTORS * di.vbd.wr_reqs);
        ck_assert_uint_eq(di.vif.rx_pkts + di.vif.tx_pkts, 0);
    }
    st_done(&t);
}
END_TEST

/* Every finished request is 1 packet (512 bytes) in and 3 (4096 bytes)
 * out; no errors, no drops; a reboot starts them from 0. */
START_TEST(test_simhost_requests_count_vif_traffic)
{
    static sch_time_t reboots[] = { SCH_MSEC(1500) };
    struct st_scenario t;
    struct sim_domain_spec *d;
    struct sim_dom_info di;
    uint64_t n;

    st_init(&t, 1, 2000);
    d = st_dom(&t, "web", 1, SIM_WL_REQUEST);
    d->workload.rate_hz = 300;
    d->workload.service_ns = SCH_USEC(500);
    d->reboot_ns = reboots;
    d->nr_reboots = 1;
    st_start(&t, "fcredit");
    sim_run_until(t.sim, SCH_MSEC(1400));
    st_info(&t, 0, &di);
    n = di.cpu_ns / (uint64_t)SCH_USEC(500);
    ck_assert_uint_gt(n, 300);
    ck_assert_uint_eq(di.vif.id, SIM_VIF_ID);
    ck_assert_uint_eq(di.vif.rx_pkts, n * SIM_RX_PKTS);
    ck_assert_uint_eq(di.vif.rx_bytes, n * SIM_RX_BYTES);
    ck_assert_uint_eq(di.vif.tx_pkts, n * SIM_TX_PKTS);
    ck_assert_uint_eq(di.vif.tx_bytes, n * SIM_TX_BYTES);
    ck_assert_uint_eq(di.vif.rx_errs + di.vif.tx_errs + di.vif.rx_drop +
                      di.vif.tx_drop, 0);
    ck_assert_uint_eq(di.vbd.rd_reqs + di.vbd.wr_reqs, 0);

    sim_run_until(t.sim, SCH_MSEC(1600));
    st_info(&t, 0, &di);
    ck_assert_uint_eq(di.domid, 2);
    ck_assert_uint_lt(di.vif.rx_pkts, 100);   /* 100 ms since the reboot */
    ck_assert_uint_eq(di.vif.rx_pkts, di.cpu_ns / (uint64_t)SCH_USEC(500));
    st_done(&t);
}
END_TEST

/* Memory as the scenario says; defaults when it says nothing. */
START_TEST(test_simhost_memory)
{
    struct st_scenario t;
    struct sim_dom_info di;

    st_load(&t, "lifecycle.yaml");
    st_start(&t, "fcredit");
    st_info(&t, 1, &di);                /* acme-db: 4096 of 8192 MiB */
    ck_assert_uint_eq(di.mem_cur_bytes, 4096ull << 20);
    ck_assert_uint_eq(di.mem_target_bytes, 4096ull << 20);
    ck_assert_uint_eq(di.mem_max_bytes, 8192ull << 20);
    st_info(&t, 2, &di);                /* acme-batch: the defaults */
    ck_assert_uint_eq(di.mem_cur_bytes, (uint64_t)SIM_MEMORY_MB_DEFAULT << 20);
    ck_assert_uint_eq(di.mem_max_bytes, (uint64_t)SIM_MEMORY_MB_DEFAULT << 20);
    ck_assert_str_eq(di.tenant, "acme");
    st_info(&t, 8, &di);                /* stray: no tenant, given uuid */
    ck_assert_ptr_null(di.tenant);
    ck_assert_str_eq(di.uuid, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0");
    st_done(&t);
}
END_TEST

/* Weight and cap set for a uuid survive its reboots, and are in force. */
START_TEST(test_simhost_sched_kept_across_reboot)
{
    static sch_time_t reboots[] = { SCH_MSEC(1000) };
    struct st_scenario t;
    struct sim_domain_spec *d;
    struct sim_dom_info before, after;
    uint32_t w, c;

    st_init(&t, 2, 2000);
    d = st_cpu(&t, "a", 256, 0);
    d->reboot_ns = reboots;
    d->nr_reboots = 1;
    st_start(&t, "fcredit");
    sim_run_until(t.sim, SCH_MSEC(500));
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 512, 30), 0);
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 0, 30), -EINVAL);
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 512, 300), -EINVAL);
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 1, 512, 30), -ENOENT);
    st_info(&t, 0, &before);
    sim_run_until(t.sim, SCH_MSEC(2000));
    st_info(&t, 0, &after);
    ck_assert_uint_ne(after.domid, before.domid);
    ck_assert_int_eq(sim_dom_get_sched(t.sim, 0, &w, &c), 0);
    ck_assert_uint_eq(w, 512);
    ck_assert_uint_eq(c, 30);
    /* 30% of one pCPU over the second since the reboot */
    ck_assert_msg(labs((long)after.cpu_ns - (long)SCH_MSEC(300)) <
                  (long)SCH_MSEC(15), "after reboot: %lu ns",
                  (unsigned long)after.cpu_ns);
    st_done(&t);

    st_init(&t, 1, 100);
    st_cpu(&t, "a", 256, 0);
    st_start(&t, "rr");
    ck_assert_int_eq(sim_dom_set_sched(t.sim, 0, 512, 0), -EOPNOTSUPP);
    ck_assert_int_eq(sim_dom_get_sched(t.sim, 0, &w, &c), -EOPNOTSUPP);
    st_done(&t);
}
END_TEST

/* The whole lifecycle scenario under each policy: truth equals the
 * result, incarnations as scheduled, domids unique, time conserved. */
START_TEST(test_simhost_lifecycle_truth_adds_up)
{
    struct st_scenario t;
    uint64_t total = 0;
    uint32_t seen[64] = { 0 };
    unsigned int i, k, nseen = 0, j;

    st_load(&t, "lifecycle.yaml");
    st_start(&t, policies[_i]);
    sim_run_until(t.sim, t.sc.duration_ns);
    ck_assert_int_eq(sim_result(t.sim, &t.r), 0);
    for ( i = 0; i < t.sc.nr_domains; i++ )
    {
        const struct sim_domain_spec *spec = &t.sc.domains[i];
        struct sim_dom_truth tr;
        struct sim_dom_info di;

        st_truth(&t, i, &tr);
        st_info(&t, i, &di);
        ck_assert_uint_eq(tr.cpu_ns, (uint64_t)t.r.domains[i].cpu_ns);
        ck_assert_uint_eq(tr.nr_incarnations, 1 + spec->nr_reboots);
        ck_assert_int_eq(tr.life, spec->end ? SIM_LIFE_GONE : SIM_LIFE_ALIVE);
        ck_assert_int_eq(di.life, tr.life);
        for ( k = 0; k < tr.nr_incarnations; k++ )
        {
            const struct sim_incarnation *c = &tr.inc[k];
            sch_time_t end = c->ended_ns < 0 ? t.sc.duration_ns
                                             : c->ended_ns;

            ck_assert_uint_le(c->cpu_ns,
                              (uint64_t)(end - c->created_ns) * spec->vcpus);
            ck_assert_int_eq(c->created_ns,
                             k ? spec->reboot_ns[k - 1] : spec->start_ns);
            for ( j = 0; j < nseen; j++ )
                ck_assert_uint_ne(seen[j], c->domid);
            ck_assert_uint_lt(nseen, 64);
            seen[nseen++] = c->domid;
        }
        if ( di.life == SIM_LIFE_ALIVE )
            ck_assert_uint_eq(di.cpu_ns,
                              tr.inc[tr.nr_incarnations - 1].cpu_ns);
        total += tr.cpu_ns;
    }
    ck_assert_uint_le(total, (uint64_t)t.sc.duration_ns * t.sc.pcpus);
    ck_assert_uint_gt(total, (uint64_t)t.sc.duration_ns * t.sc.pcpus * 9 /
                             10);
    st_done(&t);
}
END_TEST

START_TEST(test_simhost_find_uuid)
{
    struct st_scenario t;
    struct sim_dom_info di;
    char upper[SIM_UUID_LEN + 1];
    unsigned int i, k;

    st_load(&t, "lifecycle.yaml");
    st_start(&t, "rr");
    for ( i = 0; i < t.sc.nr_domains; i++ )
    {
        st_info(&t, i, &di);
        ck_assert_int_eq(sim_find_uuid(t.sim, di.uuid), (int)i);
        for ( k = 0; k <= SIM_UUID_LEN; k++ )
            upper[k] = (char)(di.uuid[k] >= 'a' && di.uuid[k] <= 'f'
                              ? di.uuid[k] - 32 : di.uuid[k]);
        ck_assert_int_eq(sim_find_uuid(t.sim, upper), (int)i);
    }
    ck_assert_int_eq(sim_find_uuid(t.sim,
                                   "00000000-0000-0000-0000-000000000000"),
                     -ENOENT);
    ck_assert_int_eq(sim_find_uuid(t.sim, "acme-web"), -ENOENT);
    ck_assert_int_eq(sim_find_uuid(t.sim, ""), -ENOENT);
    ck_assert_int_eq(sim_dom_info(t.sim, t.sc.nr_domains, &di), -ENOENT);
    st_done(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The host process, through the backend                              */

/* a socket path must fit sun_path (108 bytes) */
static char tmpdir[64], sock[100], logpath[100];

static void tmp_setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/xenos-simhost-XXXXXX",
             base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(sock, sizeof(sock), "%s/simhost.sock", tmpdir);
    snprintf(logpath, sizeof(logpath), "%s/simhost.log", tmpdir);
}

/* Connect to @path: the fd, or -errno. */
static int raw_connect(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd, rc;

    if ( strlen(path) >= sizeof(a.sun_path) )
        return -ENAMETOOLONG;
    memcpy(a.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
        return -errno;
    if ( connect(fd, (struct sockaddr *)&a, sizeof(a)) )
    {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/*
 * Send @req and read the reply up to its END line (or EOF, or @ms) into
 * @buf; returns its length, -1 on timeout.
 */
static ssize_t raw_request(int fd, const char *req, char *buf, size_t len,
                           int ms)
{
    size_t got = 0;

    if ( req && send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 )
        return -1;
    while ( got < len - 1 )
    {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if ( poll(&p, 1, ms) <= 0 )
            return -1;
        n = recv(fd, buf + got, len - 1 - got, 0);
        if ( n <= 0 )
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if ( got >= 4 && (!strcmp(buf + got - 4, "END\n")) )
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Stop whatever host serves @path (a test that failed half-way). */
static void host_stop(const char *path)
{
    char buf[256];
    int fd = raw_connect(path);

    if ( fd < 0 )
        return;
    raw_request(fd, "SHUTDOWN\n", buf, sizeof(buf), 2000);
    close(fd);
}

static void tmp_teardown(void)
{
    char cmd[300];

    host_stop(sock);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if ( system(cmd) != 0 )
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

static const struct acct_backend_ops *backend(void)
{
    const struct acct_backend_ops *ops = acct_backend_find("sim");

    ck_assert_ptr_nonnull(ops);
    ck_assert_uint_eq(ops->version, ACCT_BACKEND_V1);
    ck_assert_str_eq(ops->name, "sim");
    return ops;
}

/* Open the sim backend on our socket, starting a host of @scenario (a
 * file in SCENARIOS, or NULL: do not start one). */
static int host_open(const char *scenario, const char *speed, void **st,
                     char *err, size_t errlen)
{
    char a_scn[512], a_sock[256], a_speed[64], a_log[256];
    const char *args[] = {
        a_sock, "simhost=" SIMHOST, a_log, "idle_exit_s=60",
        "policy=fcredit", a_speed, scenario ? a_scn : NULL, NULL,
    };

    snprintf(a_scn, sizeof(a_scn), "scenario=%s%s", SCENARIOS,
             scenario ? scenario : "");
    snprintf(a_sock, sizeof(a_sock), "socket=%s", sock);
    snprintf(a_speed, sizeof(a_speed), "speed=%s", speed ? speed : "1");
    snprintf(a_log, sizeof(a_log), "log=%s", logpath);
    return backend()->open(args, st, err, errlen);
}

static void *host_open_ok(const char *scenario, const char *speed)
{
    char err[512] = "";
    void *st = NULL;
    int rc = host_open(scenario, speed, &st, err, sizeof(err));

    ck_assert_msg(rc == 0, "open: %d %s", rc, err);
    return st;
}

static const struct acct_domain *find_dom(const struct acct_sample *s,
                                          const char *uuid)
{
    uint32_t i;

    /* the live domain: ended lives (dying) share its uuid */
    for ( i = 0; i < s->nr_domains; i++ )
        if ( !strcmp(s->domains[i].uuid, uuid) &&
             s->domains[i].state != ACCT_DOM_DYING )
            return &s->domains[i];
    return NULL;
}

static const struct acct_sim_truth_dom *find_truth(
    const struct acct_sim_truth *t, const char *name)
{
    uint32_t i;

    for ( i = 0; i < t->nr_domains; i++ )
        if ( !strcmp(t->domains[i].name, name) )
            return &t->domains[i];
    return NULL;
}

static bool path_exists(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0;
}

/* Wait up to @ms for @p to disappear. */
static bool gone_within(const char *p, int ms)
{
    for ( ; ms > 0 && path_exists(p); ms -= 20 )
        usleep(20000);
    return !path_exists(p);
}

/*
 * The lifecycle scenario at 30x (2 s of wall time), sampled every 50 ms
 * through the backend as a collector would: counters only grow within an
 * incarnation, a reboot shows as a new domid, and at the end the sample
 * equals the ground truth exactly.
 */
START_TEST(test_simhost_backend_end_to_end)
{
    const struct acct_backend_ops *ops = backend();
    struct acct_sample s;
    struct acct_sim_truth t;
    struct acct_sim_info info;
    const struct acct_sim_truth_dom *web, *db;
    const struct acct_domain *d;
    uint32_t last_domid[16] = { 0 }, reboots_seen = 0, w, c, i, k;
    uint64_t last_cpu[16] = { 0 }, vsum;
    char uuids[16][ACCT_UUID_LEN + 1] = { "" };
    unsigned int nuuid = 0, rounds = 0, alive = 0, dying_seen = 0;
    void *st = host_open_ok("lifecycle.yaml", "30");

    acct_sample_init(&s);
    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    ck_assert_uint_eq(info.end_ns, SCH_MSEC(60000));
    ck_assert_str_eq(info.policy, "fcredit");
    ck_assert_uint_eq(info.nr_domains, 9);
    do
    {
        ck_assert_int_eq(ops->sample(st, &s), 0);
        alive = 0;
        for ( i = 0; i < s.nr_domains; i++ )
        {
            d = &s.domains[i];
            ck_assert_int_eq(d->error, 0);
            if ( d->state == ACCT_DOM_DYING )
            {
                /* an ended life, with its final counters */
                ck_assert_uint_eq(d->nr_vcpus, 0);
                dying_seen++;
                continue;
            }
            alive++;
            for ( k = 0; k < nuuid && strcmp(uuids[k], d->uuid); k++ )
                ;
            if ( k == nuuid )
            {
                ck_assert_uint_lt(nuuid, 16);
                strcpy(uuids[nuuid++], d->uuid);
            }
            else if ( d->domid == last_domid[k] )
                ck_assert_uint_ge(d->cpu_ns, last_cpu[k]);
            else
                reboots_seen++;
            last_domid[k] = d->domid;
            last_cpu[k] = d->cpu_ns;
            for ( k = 0, vsum = 0; k < d->nr_vcpus; k++ )
            {
                vsum += d->vcpus[k].cpu_ns;
                ck_assert(d->vcpus[k].online);
            }
            ck_assert_uint_eq(vsum, d->cpu_ns);
            ck_assert_uint_eq(d->online_vcpus, d->nr_vcpus);
            ck_assert_uint_eq(d->nr_vbds, 1);
            ck_assert_uint_eq(d->nr_vifs, 1);
            ck_assert_uint_eq(d->vifs[0].rx_bytes, 512 * d->vifs[0].rx_pkts);
        }
        usleep(50000);
        rounds++;
    } while ( s.time_ns < SCH_MSEC(60000) && rounds < 400 );
    ck_assert_uint_eq(s.time_ns, SCH_MSEC(60000));
    ck_assert_uint_ge(reboots_seen, 2);
    ck_assert_uint_eq(nuuid, 9);        /* every domain was seen alive */
    ck_assert_uint_eq(alive, 6);        /* and three are gone */
    ck_assert_uint_ge(dying_seen, 1);   /* ended lives are reported */

    ck_assert_int_eq(acct_sim_truth(st, &t), 0);
    ck_assert_uint_eq(t.nr_domains, 9);
    ck_assert_uint_eq(t.time_ns, s.time_ns);
    for ( i = 0; i < t.nr_domains; i++ )
    {
        const struct acct_sim_truth_dom *td = &t.domains[i];
        uint64_t sum = 0;

        for ( k = 0; k < td->nr_inc; k++ )
            sum += td->inc[k].cpu_ns;
        ck_assert_uint_eq(sum, td->cpu_ns);
        d = find_dom(&s, td->uuid);
        ck_assert_int_eq(d != NULL, td->life == ACCT_SIM_ALIVE);
        if ( d )
        {
            /* time has stopped: the sample is the truth, to the ns */
            ck_assert_uint_eq(d->cpu_ns, td->inc[td->nr_inc - 1].cpu_ns);
            ck_assert_uint_eq(d->domid, td->inc[td->nr_inc - 1].domid);
        }
    }
    web = find_truth(&t, "acme-web");
    ck_assert_ptr_nonnull(web);
    ck_assert_uint_eq(web->nr_inc, 3);
    ck_assert_int_eq(web->inc[0].end, ACCT_SIM_END_REBOOT);
    ck_assert_int_eq(web->inc[0].ended_ns, (int64_t)SCH_MSEC(20000));
    ck_assert_int_eq(find_truth(&t, "globex-web")->inc[0].end,
                     ACCT_SIM_END_MIGRATE);
    ck_assert_int_eq(find_truth(&t, "initech-api")->life, ACCT_SIM_GONE);
    db = find_truth(&t, "acme-db");
    d = find_dom(&s, db->uuid);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, "acme-db");
    ck_assert_str_eq(d->tenant_key, "acme");
    ck_assert_uint_eq(d->mem_max_bytes, 8192ull << 20);
    ck_assert_uint_gt(d->vbds[0].rd_reqs, 1000);
    ck_assert_uint_eq(d->vbds[0].id, 51712);
    ck_assert_uint_eq(d->vbds[0].rd_sectors, 8 * d->vbds[0].rd_reqs);

    ck_assert_int_eq(ops->set_sched(st, db->uuid, 700, 40), 0);
    ck_assert_int_eq(ops->get_sched(st, db->uuid, &w, &c), 0);
    ck_assert_uint_eq(w, 700);
    ck_assert_uint_eq(c, 40);
    ck_assert_int_eq(ops->set_sched(st, db->uuid, 0, 40), -EINVAL);
    ck_assert_int_eq(ops->set_sched(st, web->uuid, 700, 40), 0);
    /* gone, unknown, or not a uuid at all (nothing of it reaches the
     * host's request line) */
    ck_assert_int_eq(ops->set_sched(st, find_truth(&t, "initech-api")->uuid,
                                    256, 0), -ENOENT);
    ck_assert_int_eq(ops->get_sched(st,
                                    "00000000-0000-0000-0000-000000000000",
                                    &w, &c), -ENOENT);
    ck_assert_int_eq(ops->get_sched(st, "x\nSHUTDOWN", &w, &c), -ENOENT);
    acct_sim_truth_free(&t);

    ck_assert_int_eq(acct_sim_shutdown(st), 0);
    ck_assert(gone_within(sock, 3000));
    ck_assert_int_eq(ops->sample(st, &s), -ECONNRESET);
    ck_assert_uint_eq(s.nr_domains, 0);
    ops->close(st);
    acct_sample_free(&s);
}
END_TEST

/*
 * A hypervisor outlives its dom0 daemon: SIGKILL a client in the middle
 * of its requests (and another that never reads its replies), and the
 * host goes on answering, its clock and truth unbroken.
 */
START_TEST(test_simhost_survives_client_kill9)
{
    const struct acct_backend_ops *ops = backend();
    struct acct_sim_info before, after;
    struct acct_sample s;
    long pid = 0;
    pid_t child, hog;
    int p[2], fd;
    void *st;

    ck_assert_int_eq(pipe(p), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if ( child == 0 )
    {
        struct acct_sim_info info;
        struct acct_sample cs;
        void *cst;
        char err[512];

        close(p[0]);
        if ( host_open("lifecycle.yaml", "5", &cst, err, sizeof(err)) ||
             acct_sim_ping(cst, &info) )
            _exit(1);
        if ( write(p[1], &info.pid, sizeof(info.pid)) != sizeof(info.pid) )
            _exit(1);
        acct_sample_init(&cs);
        for ( ;; )
            ops->sample(cst, &cs);      /* until killed, mid-request */
    }
    close(p[1]);
    ck_assert_int_eq(read(p[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid));
    close(p[0]);

    /* a client that asks for much and reads nothing */
    hog = fork();
    ck_assert_int_ge(hog, 0);
    if ( hog == 0 )
    {
        int hfd = raw_connect(sock), i;

        for ( i = 0; hfd >= 0 && i < 1000; i++ )
            if ( send(hfd, "SAMPLE\nTRUTH\n", 13, MSG_NOSIGNAL) < 0 )
                break;
        pause();
        _exit(0);
    }
    usleep(300000);
    ck_assert_int_eq(kill(child, SIGKILL), 0);
    ck_assert_int_eq(kill(hog, SIGKILL), 0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(waitpid(hog, NULL, 0), hog);

    /* no scenario: only connect, never start another host */
    st = host_open_ok(NULL, NULL);
    ck_assert_int_eq(acct_sim_ping(st, &before), 0);
    ck_assert_int_eq(before.pid, pid);
    ck_assert_uint_gt(before.time_ns, 0);
    usleep(200000);
    ck_assert_int_eq(acct_sim_ping(st, &after), 0);
    ck_assert_int_eq(after.pid, pid);
    ck_assert_uint_gt(after.time_ns, before.time_ns + SCH_MSEC(500));
    acct_sample_init(&s);
    ck_assert_int_eq(ops->sample(st, &s), 0);
    ck_assert_uint_ge(s.nr_domains, 5);
    acct_sample_free(&s);

    /* a raw client killed while connected changes nothing either */
    fd = raw_connect(sock);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(acct_sim_ping(st, &after), 0);
    ck_assert_int_eq(acct_sim_shutdown(st), 0);
    ops->close(st);
}
END_TEST

/* Names and tenant keys cross the socket byte for byte, whatever they
 * hold. */
START_TEST(test_simhost_hostile_names_round_trip)
{
    const struct acct_backend_ops *ops = backend();
    struct sim_scenario sc;
    struct acct_sample s;
    struct acct_sim_truth t;
    char err[512];
    unsigned int i;
    void *st = host_open_ok("hostile-names.yaml", "1000");

    ck_assert_msg(sim_scenario_load(SCENARIOS "hostile-names.yaml", &sc,
                                    err, sizeof(err)) == 0, "%s", err);
    acct_sample_init(&s);
    ck_assert_int_eq(ops->sample(st, &s), 0);
    ck_assert_uint_eq(s.nr_domains, sc.nr_domains);
    ck_assert_int_eq(acct_sim_truth(st, &t), 0);
    for ( i = 0; i < sc.nr_domains; i++ )
    {
        const struct sim_domain_spec *spec = &sc.domains[i];
        const struct acct_domain *d = find_dom(&s, spec->uuid);

        ck_assert_msg(d != NULL, "domain %u not in the sample", i);
        ck_assert_int_eq(d->error, 0);
        ck_assert_mem_eq(d->name, spec->name, strlen(spec->name) + 1);
        if ( spec->tenant )
            ck_assert_mem_eq(d->tenant_key, spec->tenant,
                             strlen(spec->tenant) + 1);
        else
            ck_assert_ptr_null(d->tenant_key);
        ck_assert_mem_eq(t.domains[i].name, spec->name,
                         strlen(spec->name) + 1);
    }
    acct_sim_truth_free(&t);
    acct_sample_free(&s);
    sim_scenario_free(&sc);
    ck_assert_int_eq(acct_sim_shutdown(st), 0);
    ops->close(st);
}
END_TEST

/* Requests it cannot serve get ERR, a line too long closes the
 * connection, and a client that stops half-way holds up no one. */
START_TEST(test_simhost_protocol_errors)
{
    char buf[4096], big[3000];
    int fd, slow;
    void *st = host_open_ok("hostile-names.yaml", "1");
    struct timespec t0, t1;

    fd = raw_connect(sock);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(raw_request(fd, "NOPE\n", buf, sizeof(buf), 2000), 0);
    ck_assert_str_eq(buf, "ERR EINVAL unknown request (PING, SAMPLE, TRUTH, "
                     "GET, SET, SHUTDOWN)\nEND\n");
    ck_assert_int_gt(raw_request(fd, "SET a b\n", buf, sizeof(buf), 2000), 0);
    ck_assert_ptr_nonnull(strstr(buf, "ERR EINVAL usage: SET"));
    ck_assert_int_gt(raw_request(fd, "GET not-a-uuid\n", buf, sizeof(buf),
                                 2000), 0);
    ck_assert_str_eq(buf, "ERR ENOENT no such domain on this host\nEND\n");

    /* a client that sends half a request and waits */
    slow = raw_connect(sock);
    ck_assert_int_ge(slow, 0);
    ck_assert_int_eq(send(slow, "PIN", 3, 0), 3);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_gt(raw_request(fd, "PING\n", buf, sizeof(buf), 2000), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert(!strncmp(buf, "OK PONG ", 8));
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);

    memset(big, 'A', sizeof(big));
    ck_assert_int_eq(send(fd, big, sizeof(big), MSG_NOSIGNAL),
                     (ssize_t)sizeof(big));
    ck_assert_int_gt(raw_request(fd, NULL, buf, sizeof(buf), 2000), 0);
    ck_assert_str_eq(buf, "ERR E2BIG request line too long\nEND\n");
    ck_assert_int_eq(raw_request(fd, NULL, buf, sizeof(buf), 2000), 0);
    close(fd);
    close(slow);
    ck_assert_int_eq(acct_sim_shutdown(st), 0);
    backend()->close(st);
}
END_TEST

/* A socket left by a host that died is replaced; a host of another
 * scenario is not taken for ours; no host and no scenario is an error. */
START_TEST(test_simhost_open_cases)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char err[512] = "";
    void *st = NULL, *st2 = NULL;
    int fd;

    ck_assert_int_eq(host_open(NULL, NULL, &st, err, sizeof(err)),
                     -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "no simulated host at"));

    /* stale: bound, never listened, left behind */
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    st = host_open_ok("hostile-names.yaml", "1");

    err[0] = '\0';
    ck_assert_int_eq(host_open("lifecycle.yaml", NULL, &st2, err,
                               sizeof(err)), -EADDRINUSE);
    ck_assert_ptr_nonnull(strstr(err, "hostile-names.yaml, not "));
    ck_assert_ptr_null(st2);
    ck_assert_int_eq(acct_sim_shutdown(st), 0);
    backend()->close(st);
}
END_TEST

/* A scenario the host refuses: open fails with the host's own message
 * (file, line, field). */
START_TEST(test_simhost_open_bad_scenario)
{
    const char *args[5];
    char path[256], a_scn[300], a_sock[256], err[512] = "";
    void *st = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("pcpus: 1\nduration_ms: 100\ndomains:\n  - name: a\n"
          "    weight: 0\n    workload: {type: cpu}\n", f);
    fclose(f);
    snprintf(a_scn, sizeof(a_scn), "scenario=%s", path);
    snprintf(a_sock, sizeof(a_sock), "socket=%s", sock);
    args[0] = a_scn;
    args[1] = a_sock;
    args[2] = "simhost=" SIMHOST;
    args[3] = NULL;
    ck_assert_int_ne(backend()->open(args, &st, err, sizeof(err)), 0);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, "bad.yaml:5: domains[0].weight"), "%s", err);

    args[0] = "scenario=/nonexistent.yaml";
    ck_assert_int_eq(backend()->open(args, &st, err, sizeof(err)), -ENOENT);
    args[0] = "speeed=3";
    ck_assert_int_eq(backend()->open(args, &st, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown option 'speeed'"));
}
END_TEST

/* Gone, or a zombie its new parent has not reaped yet. */
static bool proc_gone(long pid)
{
    char path[64], buf[256];
    FILE *f;
    char *rp;
    bool gone = true;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if ( !f )
        return true;
    if ( fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) )
        gone = rp[1] == ' ' && rp[2] == 'Z';
    fclose(f);
    return gone;
}

static bool proc_gone_within(long pid, int ms)
{
    for ( ; ms > 0 && !proc_gone(pid); ms -= 20 )
        usleep(20000);
    return proc_gone(pid);
}

static long read_pidfile(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = 0;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return pid;
}

/* Run xenos-simhost by hand: --daemon returns once it serves and writes
 * its pidfile; SIGTERM ends it cleanly; so does an idle end, and the loss
 * of its socket. */
START_TEST(test_simhost_daemon_sigterm_and_idle)
{
    char cmd[1024], pidfile[256], sock2[256], buf[4096];
    long pid;
    int fd;

    snprintf(pidfile, sizeof(pidfile), "%s/simhost.pid", tmpdir);
    snprintf(cmd, sizeof(cmd), "%s --scenario %slifecycle.yaml --socket %s "
             "--daemon --pidfile %s --speed 2", SIMHOST, SCENARIOS, sock,
             pidfile);
    ck_assert_int_eq(system(cmd), 0);
    pid = read_pidfile(pidfile);
    fd = raw_connect(sock);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(raw_request(fd, "PING\n", buf, sizeof(buf), 2000), 0);
    snprintf(cmd, sizeof(cmd), " pid=%ld ", pid);
    ck_assert_msg(strstr(buf, cmd), "%s", buf);
    close(fd);
    ck_assert_int_eq(kill((pid_t)pid, SIGTERM), 0);
    ck_assert(gone_within(sock, 3000));
    ck_assert(gone_within(pidfile, 3000));
    ck_assert(proc_gone_within(pid, 3000));

    /* its socket removed: unreachable for good, so it leaves */
    snprintf(cmd, sizeof(cmd), "%s --scenario %slifecycle.yaml --socket %s "
             "--daemon --pidfile %s", SIMHOST, SCENARIOS, sock, pidfile);
    ck_assert_int_eq(system(cmd), 0);
    pid = read_pidfile(pidfile);
    ck_assert_int_eq(unlink(sock), 0);
    ck_assert(proc_gone_within(pid, 3000));
    ck_assert(gone_within(pidfile, 3000));

    /* 10 s of scenario at 1000x, then one idle second */
    snprintf(sock2, sizeof(sock2), "%s/idle.sock", tmpdir);
    snprintf(cmd, sizeof(cmd), "%s --scenario %shostile-names.yaml "
             "--socket %s --daemon --speed 1000 --idle-exit-s 1", SIMHOST,
             SCENARIOS, sock2);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert(path_exists(sock2));
    ck_assert(gone_within(sock2, 5000));

    /* usage and scenario errors: exit 2 */
    snprintf(cmd, sizeof(cmd), "%s --socket %s 2>/dev/null", SIMHOST, sock2);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "%s --scenario %sweights.yaml --socket %s "
             "--speed 0 2>/dev/null", SIMHOST, SCENARIOS, sock2);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The backend's parser, against a fake host                          */

#define FAKE_PONG "OK PONG time_ns=5 end_ns=10 speed=1.000 policy=fake " \
                  "domains=3 pid=1\nEND\n"
#define DOM_A "dom uuid=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=7 " \
              "name=a%20b tenant=t state=running cpu_ns=100 vcpus=2 " \
              "online_vcpus=2 vcpu_ns=60,40 vcpu_online=1,1 " \
              "mem_cur_bytes=1 mem_max_bytes=2 mem_target_bytes=1 " \
              "vbd=51712,1,2,8,16 vif=0,512,1,0,0,4096,3,0,0 future=x\n"
#define DOM_C "dom uuid=2f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=9 " \
              "name=c state=blocked cpu_ns=300 vcpus=1 online_vcpus=1 " \
              "vcpu_ns=300 vcpu_online=1 mem_cur_bytes=1 mem_max_bytes=2 " \
              "mem_target_bytes=1 vbd=51712,0,0,0,0 vbd=51728,5,0,40,0 " \
              "vif=0,0,0,0,0,0,0,0,0\n"

static const struct fake_case {
    const char *what;
    const char *bad;            /* the middle domain's line */
    int rc;                     /* of sample() */
    bool bad_listed;            /* listed, with its error */
} fake_cases[] = {
    { "cpu not a number",
      "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=8 name=b "
      "state=running cpu_ns=12x vcpus=1 online_vcpus=1 vcpu_ns=1 "
      "vcpu_online=1 mem_cur_bytes=1 mem_max_bytes=2 mem_target_bytes=1\n",
      0, true },
    { "bad escape in name",
      "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=8 name=b%zz "
      "state=running cpu_ns=1\n", 0, true },
    { "NUL in name",
      "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=8 name=b%00 "
      "state=running cpu_ns=1\n", 0, true },
    { "short vcpu list",
      "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=8 name=b "
      "state=running cpu_ns=1 vcpus=3 online_vcpus=3 vcpu_ns=1,2 "
      "vcpu_online=1,1,1 mem_cur_bytes=1 mem_max_bytes=2 "
      "mem_target_bytes=1\n", 0, true },
    { "no uuid", "dom domid=8 name=b state=running cpu_ns=1\n", 0, true },
    { "unknown state",
      "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=8 name=b "
      "state=dancing cpu_ns=1\n", 0, true },
    { "token without =",
      "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 oops\n", 0, true },
    { "a line kind from a newer host", "gpu x=1 y=2\n", 0, false },
};

/* The fake host: answers PING and SAMPLE (with @bad in the middle) on
 * the socket, one connection after another; @mode 1 closes each
 * connection after one reply, 2 never answers SAMPLE, 3 answers SAMPLE
 * with @bad alone. */
static void fake_host(int lfd, const char *bad, int mode, unsigned int count)
{
    char buf[4096], reply[8192];

    for ( ;; )
    {
        int fd = accept(lfd, NULL, NULL);
        ssize_t n;

        if ( fd < 0 )
            _exit(1);
        while ( (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0 )
        {
            buf[n] = '\0';
            if ( !strncmp(buf, "PING", 4) )
                snprintf(reply, sizeof(reply), "%s", FAKE_PONG);
            else if ( !strncmp(buf, "SAMPLE", 6) && mode == 2 )
                continue;
            else if ( !strncmp(buf, "SAMPLE", 6) && mode == 3 )
                snprintf(reply, sizeof(reply),
                         "OK SAMPLE count=%u time_ns=5\n%sEND\n", count,
                         bad);
            else if ( !strncmp(buf, "SAMPLE", 6) )
                snprintf(reply, sizeof(reply),
                         "OK SAMPLE count=%u time_ns=5\n%s%s%sEND\n", count,
                         DOM_A, bad, DOM_C);
            else
                snprintf(reply, sizeof(reply), "ERR EINVAL no\nEND\n");
            if ( send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0 ||
                 mode == 1 )
                break;
        }
        close(fd);
    }
}

static pid_t fake_start(const char *bad, int mode, unsigned int count)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t pid;

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
        fake_host(lfd, bad, mode, count);
    close(lfd);
    return pid;
}

static void fake_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(sock);
}

/* A first domain line of 0 vCPUs (a domain being built) is read as
 * such.  The parser's vCPU scratch was still NULL then, and NULL + 0 is
 * undefined: UBSan (clang's, as the fuzzing build has it) stopped here. */
START_TEST(test_simhost_backend_zero_vcpus_first)
{
    const struct acct_backend_ops *ops = backend();
    pid_t pid = fake_start(
        "dom uuid=1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 domid=8 name=b "
        "state=paused cpu_ns=0 vcpus=0 online_vcpus=0 mem_cur_bytes=0 "
        "mem_max_bytes=0 mem_target_bytes=0\n", 3, 1);
    void *st = host_open_ok(NULL, NULL);
    struct acct_sample s;

    acct_sample_init(&s);
    ck_assert_int_eq(ops->sample(st, &s), 0);
    ck_assert_uint_eq(s.nr_domains, 1);
    ck_assert_int_eq(s.domains[0].error, 0);
    ck_assert_uint_eq(s.domains[0].nr_vcpus, 0);
    ck_assert_uint_eq(s.domains[0].domid, 8);
    acct_sample_free(&s);
    ops->close(st);
    fake_stop(pid);
}
END_TEST

/* One bad domain line: that domain has its error, the others are whole. */
START_TEST(test_simhost_backend_bad_line_isolated)
{
    const struct fake_case *fc = &fake_cases[_i];
    const struct acct_backend_ops *ops = backend();
    pid_t pid = fake_start(fc->bad, 0, fc->bad_listed ? 3 : 2);
    const struct acct_domain *a, *c;
    struct acct_sample s;
    void *st = host_open_ok(NULL, NULL);

    acct_sample_init(&s);
    ck_assert_int_eq(ops->sample(st, &s), fc->rc);
    ck_assert_uint_eq(s.time_ns, 5);
    ck_assert_uint_eq(s.nr_domains, fc->bad_listed ? 3 : 2);
    a = &s.domains[0];
    c = &s.domains[fc->bad_listed ? 2 : 1];
    ck_assert_int_eq(a->error, 0);
    ck_assert_str_eq(a->uuid, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0");
    ck_assert_str_eq(a->name, "a b");
    ck_assert_str_eq(a->tenant_key, "t");
    ck_assert_int_eq(a->state, ACCT_DOM_RUNNING);
    ck_assert_uint_eq(a->cpu_ns, 100);
    ck_assert_uint_eq(a->nr_vcpus, 2);
    ck_assert_uint_eq(a->vcpus[0].cpu_ns, 60);
    ck_assert(a->vcpus[1].online);
    ck_assert_uint_eq(a->vbds[0].wr_sectors, 16);
    ck_assert_uint_eq(a->vifs[0].tx_pkts, 3);
    ck_assert_int_eq(c->error, 0);
    ck_assert_int_eq(c->state, ACCT_DOM_BLOCKED);
    ck_assert_ptr_null(c->tenant_key);
    ck_assert_uint_eq(c->nr_vbds, 2);
    ck_assert_uint_eq(c->vbds[1].id, 51728);
    ck_assert_uint_eq(c->vbds[1].rd_sectors, 40);
    if ( fc->bad_listed )
    {
        const struct acct_domain *b = &s.domains[1];

        ck_assert_msg(b->error == -EBADMSG, "%s: error %d", fc->what,
                      b->error);
        ck_assert_ptr_nonnull(b->name);
        ck_assert_uint_eq(b->cpu_ns, 0);
    }
    acct_sample_free(&s);
    ops->close(st);
    fake_stop(pid);
}
END_TEST

/* The host said how many domains; fewer lines is a broken reply. */
START_TEST(test_simhost_backend_count_mismatch)
{
    const struct acct_backend_ops *ops = backend();
    pid_t pid = fake_start("", 0, 3);
    struct acct_sample s;
    void *st = host_open_ok(NULL, NULL);

    acct_sample_init(&s);
    ck_assert_int_eq(ops->sample(st, &s), -EPROTO);
    ck_assert_uint_eq(s.nr_domains, 0);
    acct_sample_free(&s);
    ops->close(st);
    fake_stop(pid);
}
END_TEST

/* A connection the host closed is made again once; a host that is gone
 * is -ECONNRESET; one that does not answer is a timeout, not a hang. */
START_TEST(test_simhost_backend_reconnect_and_timeout)
{
    const struct acct_backend_ops *ops = backend();
    const char *args[] = { NULL, "timeout_ms=300", NULL };
    char a_sock[256], err[256];
    struct acct_sample s;
    struct timespec t0, t1;
    void *st;
    pid_t pid = fake_start("", 1, 2);

    snprintf(a_sock, sizeof(a_sock), "socket=%s", sock);
    args[0] = a_sock;
    acct_sample_init(&s);
    ck_assert_int_eq(ops->open(args, &st, err, sizeof(err)), 0);
    ck_assert_int_eq(ops->sample(st, &s), 0);     /* after a reconnect */
    ck_assert_int_eq(ops->sample(st, &s), 0);
    ck_assert_uint_eq(s.nr_domains, 2);
    fake_stop(pid);
    ck_assert_int_eq(ops->sample(st, &s), -ECONNRESET);
    ops->close(st);

    pid = fake_start("", 2, 2);
    ck_assert_int_eq(ops->open(args, &st, err, sizeof(err)), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(ops->sample(st, &s), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
    ops->close(st);
    fake_stop(pid);
    acct_sample_free(&s);
}
END_TEST

/* Start a host of @scenario (in SCENARIOS) at our socket, as a machine
 * booting: 0 or its exit status. */
static int host_boot(const char *scenario)
{
    char scn[512];
    pid_t pid;
    int st;

    snprintf(scn, sizeof(scn), "%s%s", SCENARIOS, scenario);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        execl(SIMHOST, SIMHOST, "--daemon", "--boot-on-sample", "--scenario",
              scn, "--socket", sock, "--speed", "10", "--log", logpath,
              "--idle-exit-s", "60", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A sample within @ms: its result code. */
static int sample_within(void *st, struct acct_sample *s, int ms)
{
    int rc = -ECONNRESET;

    for ( ; ms > 0 && (rc = backend()->sample(st, s)) == -ECONNRESET;
          ms -= 50 )
        usleep(50000);
    return rc;
}

/*
 * The host reboots under the backend: killed -9, then started afresh.
 * Every boot has its own boot id (a uuid, in PING's and SAMPLE's status
 * lines); the same uuid keeps its domid, its counters start from zero,
 * and each live domain says when its life began (created_ns, host time).
 * While no host answers, calls fail at once (backing off, never more
 * than 2 s between tries), and the backend takes up the new host by
 * itself.  A host of another scenario at the socket is not sampled.
 */
START_TEST(test_simhost_backend_host_reboot)
{
    void *st = host_open_ok("lifecycle.yaml", "10");
    const struct acct_backend_ops *ops = backend();
    const struct acct_domain *d;
    struct acct_sim_info info;
    struct acct_sample s;
    char boot_a[ACCT_BOOT_ID_MAX + 1], uuid[ACCT_UUID_LEN + 1];
    uint32_t domid, i;
    uint64_t cpu_a;
    struct timespec t0, t1;
    long ms;

    acct_sample_init(&s);
    ck_assert_int_eq(ops->sample(st, &s), 0);     /* boots the host */
    usleep(2500000);                /* 25 s simulated: a reboot behind */
    ck_assert_int_eq(ops->sample(st, &s), 0);
    ck_assert_uint_eq(strlen(s.boot_id), ACCT_UUID_LEN);
    memcpy(boot_a, s.boot_id, sizeof(boot_a));
    for ( i = 0; i < s.nr_domains && !s.domains[i].created_ns; i++ )
        ;
    ck_assert_msg(i < s.nr_domains, "no domain created after 0");
    for ( i = 0; i < s.nr_domains && strcmp(s.domains[i].name, "acme-db");
          i++ )
        ;
    ck_assert_uint_lt(i, s.nr_domains);
    d = &s.domains[i];
    memcpy(uuid, d->uuid, sizeof(uuid));
    domid = d->domid;
    cpu_a = d->cpu_ns;
    ck_assert_uint_gt(cpu_a, 0);

    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    ck_assert_int_eq(kill((pid_t)info.pid, SIGKILL), 0);
    ck_assert(proc_gone_within(info.pid, 2000));
    /* down: every call fails fast, and keeps failing */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for ( i = 0; i < 40; i++ )
    {
        ck_assert_int_eq(ops->sample(st, &s), -ECONNRESET);
        usleep(50000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 4);

    /* it reboots: taken up within the longest backoff */
    ck_assert_int_eq(host_boot("lifecycle.yaml"), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(sample_within(st, &s, 3000), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_le(ms, 2500);
    ck_assert_uint_eq(strlen(s.boot_id), ACCT_UUID_LEN);
    ck_assert_str_ne(s.boot_id, boot_a);
    d = find_dom(&s, uuid);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_le(d->domid, domid);     /* domids start over */
    ck_assert_uint_lt(d->cpu_ns, cpu_a);    /* counters from zero */
    ck_assert_int_eq(acct_sim_ping(st, &info), 0);
    ck_assert_int_eq(kill((pid_t)info.pid, SIGKILL), 0);
    ck_assert(proc_gone_within(info.pid, 2000));

    /* another host at our socket: not ours, not sampled */
    ck_assert_int_eq(host_boot("caps.yaml"), 0);
    ck_assert_int_eq(sample_within(st, &s, 3000), -EADDRINUSE);
    ck_assert_uint_eq(s.nr_domains, 0);
    ops->close(st);
    acct_sample_free(&s);
}
END_TEST

static Suite *simhost_suite(void)
{
    Suite *s = suite_create("simhost");
    TCase *tc = tcase_create("engine");

    tcase_add_loop_test(tc, test_simhost_reboot_new_domid_same_uuid, 0, 3);
    tcase_add_loop_test(tc, test_simhost_migrate_destroy_disappear, 0, 3);
    tcase_add_loop_test(tc, test_simhost_start_later, 0, 3);
    tcase_add_test(tc, test_simhost_io_counts_vbd_requests);
    tcase_add_test(tc, test_simhost_requests_count_vif_traffic);
    tcase_add_test(tc, test_simhost_memory);
    tcase_add_test(tc, test_simhost_sched_kept_across_reboot);
    tcase_add_loop_test(tc, test_simhost_lifecycle_truth_adds_up, 0, 3);
    tcase_add_test(tc, test_simhost_find_uuid);
    suite_add_tcase(s, tc);

    tc = tcase_create("process");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_simhost_backend_end_to_end);
    tcase_add_test(tc, test_simhost_survives_client_kill9);
    tcase_add_test(tc, test_simhost_hostile_names_round_trip);
    tcase_add_test(tc, test_simhost_protocol_errors);
    tcase_add_test(tc, test_simhost_open_cases);
    tcase_add_test(tc, test_simhost_open_bad_scenario);
    tcase_add_test(tc, test_simhost_daemon_sigterm_and_idle);
    tcase_add_test(tc, test_simhost_backend_zero_vcpus_first);
    tcase_add_loop_test(tc, test_simhost_backend_bad_line_isolated, 0,
                        sizeof(fake_cases) / sizeof(fake_cases[0]));
    tcase_add_test(tc, test_simhost_backend_count_mismatch);
    tcase_add_test(tc, test_simhost_backend_reconnect_and_timeout);
    tcase_add_test(tc, test_simhost_backend_host_reboot);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return st_main(simhost_suite());
}
