/*
 * test_xen_backend.c: the xen accounting backend, as far as a machine
 * that is not a Xen host can test it (the real hypervisor is tested under
 * QEMU, tests/xen/):
 *
 * - the real xenosd binary, run with --backend xen here, fails at once
 *   with one clear line about dom0 and a non-zero status; a bad
 *   --xen-tenant-key (command line or --config) is refused before that,
 *   and the option is refused for another backend;
 * - the backend is registered, and open() refuses unknown options;
 * - its pure parts, against the constants of the real Xen headers: uuid
 *   formatting, XEN_DOMINF_* flags to states, tenant key paths, the dom0
 *   check, weight and cap per scheduler, scheduler dispatch, VIF
 *   direction.
 *
 * Built without libxen (-DXENOS_WITH_XEN=OFF), it checks that there is no
 * xen backend and that xenosd says so.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenos/acct.h>

#ifdef XENOS_HAVE_XEN
#include <xenctrl.h>
#include <xen/sched.h>

#include "xen_util.h"
#endif

#define XENOSD          XENOS_BINARY_DIR "/xenosd/xenosd"
#define RUN_TIMEOUT_S   20      /* xenosd must fail long before this */

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/xenos-xenbe-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

struct run {
    int status;                 /* exit status; -1: killed */
    char out[4096], err[4096];  /* stdout, stderr: NUL-terminated */
};

static void drain(int fd, char *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;

    while ( (n = read(fd, buf + got, len - 1 - got)) > 0 )
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
}

/*
 * Run xenosd with @args (NULL-terminated) after its own state options,
 * all in the test's directory and with every exporter off.  A xenosd
 * still running after RUN_TIMEOUT_S is killed (status -1).
 */
static void run_xenosd(struct run *r, const char *const *args)
{
    char state[128];
    const char *argv[32];
    int out[2], err[2], st, n = 0;
    pid_t pid;

    snprintf(state, sizeof(state), "%s/state", dir);
    argv[n++] = XENOSD;
    argv[n++] = "--state-dir";
    argv[n++] = state;
    argv[n++] = "--listen";
    argv[n++] = "off";
    argv[n++] = "--rrd-dir";
    argv[n++] = "off";
    argv[n++] = "--usage-dir";
    argv[n++] = "off";
    for ( ; *args; args++ )
    {
        ck_assert_int_lt(n, 31);
        argv[n++] = *args;
    }
    argv[n] = NULL;

    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if ( pid == 0 )
    {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(err[0]);
        /* SIGALRM survives exec and xenosd does not catch it. */
        alarm(RUN_TIMEOUT_S);
        execv(XENOSD, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    /* Small outputs: one pipe drained after the other cannot block. */
    drain(out[0], r->out, sizeof(r->out));
    drain(err[0], r->err, sizeof(r->err));
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#ifdef XENOS_HAVE_XEN

/* The number of lines in @s. */
static unsigned int lines(const char *s)
{
    unsigned int n = 0;

    for ( ; *s; s++ )
        n += *s == '\n';
    return n;
}

/* Whether this machine is a Xen control domain after all (the backend
 * would then open, and what is tested here differs). */
static bool on_dom0(void)
{
    char err[256];

    return xenb__dom0_check(XENB_CAPS_PATH, err, sizeof(err)) == 0;
}

/* ------------------------------------------------------------------ */
/* xenosd --backend xen, as an operator runs it                       */

#define NOT_DOM0    "xenosd: backend xen: not a privileged dom0 ("

START_TEST(test_xen_backend_xenosd_not_dom0)
{
    static const char *const args[] = { "--backend", "xen", NULL };
    struct run r;

    if ( on_dom0() )
    {
        fprintf(stderr, "test_xen_backend: this is a Xen dom0; the "
                "not-dom0 failure cannot be seen here\n");
        return;
    }
    run_xenosd(&r, args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    ck_assert_msg(!strncmp(r.err, NOT_DOM0, strlen(NOT_DOM0)),
                  "stderr: %s", r.err);
    ck_assert_msg(strstr(r.err, "/proc/xen/capabilities"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "): run xenosd in dom0 as root\n"), "%s",
                  r.err);
    ck_assert_uint_eq(lines(r.err), 1);
}
END_TEST

static const struct {
    const char *key, *why;
} bad_keys[] = {
    { "/local/domain/1/vm-data/tenant", "must be relative" },
    { "vm-data/../../0/tenant", "may not contain '..'" },
    { "", "is empty" },
    { "vm-data//tenant", "empty path component" },
    { "vm-data/ten ant", "may hold only" },
};

/* Refused before any look at the host, so on any machine. */
START_TEST(test_xen_backend_xenosd_bad_key)
{
    const char *args[] = { "--backend", "xen", "--xen-tenant-key",
                           bad_keys[_i].key, NULL };
    struct run r;

    run_xenosd(&r, args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "xenosd: backend xen: tenant key '"),
                  "stderr: %s", r.err);
    ck_assert_msg(strstr(r.err, bad_keys[_i].why), "stderr: %s", r.err);
    ck_assert_uint_eq(lines(r.err), 1);
}
END_TEST

/* The option by its long name in a --config file reaches the backend. */
START_TEST(test_xen_backend_xenosd_config_key)
{
    char conf[128];
    const char *args[] = { "--config", conf, NULL };
    struct run r;
    FILE *f;

    snprintf(conf, sizeof(conf), "%s/xenosd.conf", dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# a dom0's settings\nbackend = xen\n"
          "xen-tenant-key = /vm-data/tenant\n", f);
    ck_assert_int_eq(fclose(f), 0);
    run_xenosd(&r, args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "tenant key '/vm-data/tenant' must be "
                         "relative to /local/domain/ID/"), "%s", r.err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The backend's entry points                                          */

START_TEST(test_xen_backend_registered)
{
    const struct acct_backend_ops *b = acct_backend_find("xen");

    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->version, ACCT_BACKEND_V1);
    ck_assert_str_eq(b->name, "xen");
    ck_assert_ptr_nonnull(b->open);
    ck_assert_ptr_nonnull(b->sample);
    ck_assert_ptr_nonnull(b->set_sched);
    ck_assert_ptr_nonnull(b->get_sched);
    ck_assert_ptr_nonnull(b->close);
    ck_assert_ptr_nonnull(acct_backend_find("sim"));
}
END_TEST

/* Options the xen backend does not take are refused, naming the one it
 * does; state_dir (xenosd gives it to every backend) is not refused. */
START_TEST(test_xen_backend_open_options)
{
    const struct acct_backend_ops *b = acct_backend_find("xen");
    const char *sim_args[] = { "state_dir=/tmp", "scenario=x.yaml", NULL };
    const char *ok_args[] = { "state_dir=/tmp", "tenant_key=vm-data/t",
                              NULL };
    char err[512];
    void *st = (void *)1;
    int rc;

    rc = b->open(sim_args, &st, err, sizeof(err));
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_str_eq(err, "unknown option 'scenario' (the xen backend "
                     "takes tenant_key)");

    if ( on_dom0() )
        return;
    st = (void *)1;
    rc = b->open(ok_args, &st, err, sizeof(err));
    ck_assert(rc == -ENODEV || rc == -EPERM);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, "not a privileged dom0"), "%s", err);
}
END_TEST

/* Calls on a state that is not one (a failed open's NULL) are refused,
 * not followed. */
START_TEST(test_xen_backend_null_state)
{
    const struct acct_backend_ops *b = acct_backend_find("xen");
    struct acct_sample s;
    uint32_t w, c;

    acct_sample_init(&s);
    ck_assert_int_eq(b->sample(NULL, &s), -EINVAL);
    ck_assert_uint_eq(s.nr_domains, 0);
    ck_assert_int_eq(b->set_sched(NULL, "00000000-0000-0000-0000-"
                                  "000000000000", 256, 0), -EINVAL);
    ck_assert_int_eq(b->get_sched(NULL, "00000000-0000-0000-0000-"
                                  "000000000000", &w, &c), -EINVAL);
    b->close(NULL);
    acct_sample_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pure parts                                                          */

static const struct {
    uint8_t h[16];
    const char *uuid;
} uuids[] = {
    { { 0 }, "00000000-0000-0000-0000-000000000000" },  /* dom0's */
    { { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0xcc, 0xdd, 0xee, 0xff },
      "00112233-4455-6677-8899-aabbccddeeff" },
    { { 0xde, 0xad, 0xbe, 0xef, 0x0f, 0xf0, 0x12, 0x34, 0xa5, 0x5a, 0x01,
        0x02, 0x03, 0x04, 0x05, 0xfe },
      "deadbeef-0ff0-1234-a55a-0102030405fe" },
};

START_TEST(test_xen_backend_uuid_format)
{
    xen_domain_handle_t h;
    char out[ACCT_UUID_LEN + 8];

    memset(out, 'x', sizeof(out));
    memcpy(h, uuids[_i].h, sizeof(h));
    xenb__uuid(h, out);
    ck_assert_str_eq(out, uuids[_i].uuid);
    ck_assert_uint_eq(strlen(out), ACCT_UUID_LEN);
}
END_TEST

#define SHUTDOWN_CODE(c)    ((uint32_t)(c) << XEN_DOMINF_shutdownshift)

static const struct {
    uint32_t flags;
    enum acct_dom_state state;
} states[] = {
    { XEN_DOMINF_running, ACCT_DOM_RUNNING },
    { XEN_DOMINF_blocked, ACCT_DOM_BLOCKED },
    /* Runnable, waiting for a pCPU: xl shows no flag at all. */
    { 0, ACCT_DOM_RUNNING },
    { XEN_DOMINF_hvm_guest | XEN_DOMINF_hap | XEN_DOMINF_blocked,
      ACCT_DOM_BLOCKED },
    { XEN_DOMINF_paused | XEN_DOMINF_blocked, ACCT_DOM_PAUSED },
    { XEN_DOMINF_paused | XEN_DOMINF_running, ACCT_DOM_PAUSED },
    { XEN_DOMINF_shutdown | SHUTDOWN_CODE(SHUTDOWN_poweroff),
      ACCT_DOM_SHUTDOWN },
    { XEN_DOMINF_shutdown | SHUTDOWN_CODE(SHUTDOWN_reboot) |
      XEN_DOMINF_paused, ACCT_DOM_SHUTDOWN },
    { XEN_DOMINF_shutdown | SHUTDOWN_CODE(SHUTDOWN_crash),
      ACCT_DOM_CRASHED },
    /* The crash code without the shutdown flag means nothing. */
    { SHUTDOWN_CODE(SHUTDOWN_crash) | XEN_DOMINF_blocked,
      ACCT_DOM_BLOCKED },
    { XEN_DOMINF_dying | XEN_DOMINF_shutdown |
      SHUTDOWN_CODE(SHUTDOWN_crash), ACCT_DOM_DYING },
    { XEN_DOMINF_dying | XEN_DOMINF_paused, ACCT_DOM_DYING },
};

START_TEST(test_xen_backend_state_of_flags)
{
    ck_assert_int_eq(xenb__state(states[_i].flags), states[_i].state);
}
END_TEST

static const char *const good_keys[] = {
    "vm-data/tenant", "tenant", "vm-data/billing_id", "a@b/C-9",
};

START_TEST(test_xen_backend_key_paths)
{
    char path[XENB_PATH_MAX], key[XENB_KEY_MAX + 2];
    size_t i;

    for ( i = 0; i < sizeof(good_keys) / sizeof(good_keys[0]); i++ )
        ck_assert_msg(!xenb__key_problem(good_keys[i]), "%s: %s",
                      good_keys[i], xenb__key_problem(good_keys[i]));
    for ( i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++ )
        ck_assert_msg(xenb__key_problem(bad_keys[i].key) &&
                      strstr(xenb__key_problem(bad_keys[i].key),
                             bad_keys[i].why), "%s", bad_keys[i].key);
    ck_assert_ptr_nonnull(xenb__key_problem(".."));
    ck_assert_ptr_nonnull(xenb__key_problem("vm-data/"));
    ck_assert_ptr_nonnull(xenb__key_problem("a.b"));
    ck_assert_ptr_nonnull(xenb__key_problem("t\n"));

    /* The longest key allowed still makes a path, for the largest domid. */
    memset(key, 'k', XENB_KEY_MAX);
    key[XENB_KEY_MAX] = '\0';
    ck_assert_ptr_null(xenb__key_problem(key));
    ck_assert_int_eq(xenb__key_path(path, sizeof(path), DOMID_FIRST_RESERVED
                                    - 1, key), 0);
    ck_assert_uint_eq(strlen(path), strlen("/local/domain/32751/") +
                      XENB_KEY_MAX);
    key[XENB_KEY_MAX] = 'k';
    key[XENB_KEY_MAX + 1] = '\0';
    ck_assert_str_eq(xenb__key_problem(key), "is longer than 256 bytes");

    ck_assert_int_eq(xenb__key_path(path, sizeof(path), 7, XENB_KEY_DEFAULT),
                     0);
    ck_assert_str_eq(path, "/local/domain/7/vm-data/tenant");
    /* Too small: -ENOSPC and nothing half-written. */
    ck_assert_int_eq(xenb__key_path(path, strlen("/local/domain/7/vm-data/"
                                                 "tenant"), 7,
                                    XENB_KEY_DEFAULT), -ENOSPC);
    ck_assert_str_eq(path, "");
}
END_TEST

static const struct {
    const char *caps;           /* NULL: no file */
    int rc;
} caps[] = {
    { "control_d\n", 0 },
    { "control_d", 0 },
    { "foo,control_d\n", 0 },
    { "", -EPERM },             /* a domU */
    { "\n", -EPERM },
    { "not_control_d\n", -EPERM },
    { "control_dx\n", -EPERM },
    { NULL, -ENODEV },          /* not Xen, or no xenfs */
};

START_TEST(test_xen_backend_dom0_check)
{
    char path[128], err[512] = "";
    int rc;

    snprintf(path, sizeof(path), "%s/capabilities", dir);
    if ( caps[_i].caps )
    {
        FILE *f = fopen(path, "w");

        ck_assert_ptr_nonnull(f);
        fputs(caps[_i].caps, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    rc = xenb__dom0_check(path, err, sizeof(err));
    ck_assert_int_eq(rc, caps[_i].rc);
    if ( !rc )
        return;
    ck_assert_msg(!strncmp(err, "not a privileged dom0 (", 23), "%s", err);
    ck_assert_msg(strstr(err, path), "%s", err);
    ck_assert_msg(strstr(err, "): run xenosd in dom0 as root"), "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    if ( rc == -EPERM )
        ck_assert_msg(strstr(err, "has no control_d"), "%s", err);
}
END_TEST

/* dom0's boot id, as the kernel writes it, and what must be refused. */
static const struct {
    const char *text;                   /* NULL: no file */
    int rc;
    const char *id;
} boot_ids[] = {
    { "4d9a8f52-6e0b-4c8e-9a2e-0c7b1f5a3d21\n", 0,
      "4d9a8f52-6e0b-4c8e-9a2e-0c7b1f5a3d21" },
    { "4d9a8f52-6e0b-4c8e-9a2e-0c7b1f5a3d21", 0,
      "4d9a8f52-6e0b-4c8e-9a2e-0c7b1f5a3d21" },
    { "x\nsecond line\n", 0, "x" },
    { "", -EBADMSG, "" },
    { "\n", -EBADMSG, "" },
    { "has space\n", -EBADMSG, "" },
    { "tab\there\n", -EBADMSG, "" },
    { "\x1b[31m\n", -EBADMSG, "" },
    { "0123456789012345678901234567890123456789012345678901234567890123456"
      "789\n", -EBADMSG, "" },
    { NULL, -ENOENT, "" },
};

START_TEST(test_xen_backend_boot_id)
{
    char path[128], id[ACCT_BOOT_ID_MAX + 1];

    snprintf(path, sizeof(path), "%s/boot_id", dir);
    if ( boot_ids[_i].text )
    {
        FILE *f = fopen(path, "w");

        ck_assert_ptr_nonnull(f);
        fputs(boot_ids[_i].text, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    memset(id, 'z', sizeof(id));
    ck_assert_int_eq(xenb__boot_id(path, id), boot_ids[_i].rc);
    ck_assert_str_eq(id, boot_ids[_i].id);
}
END_TEST

/* Where the backend reads it: this machine's own, a uuid, same twice. */
START_TEST(test_xen_backend_boot_id_proc)
{
    char a[ACCT_BOOT_ID_MAX + 1], b[ACCT_BOOT_ID_MAX + 1];

    ck_assert_int_eq(xenb__boot_id(XENB_BOOT_ID_PATH, a), 0);
    ck_assert_int_eq(xenb__boot_id(XENB_BOOT_ID_PATH, b), 0);
    ck_assert_uint_eq(strlen(a), ACCT_UUID_LEN);
    ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_xen_backend_sched_dispatch)
{
    static const uint32_t none[] = {
        XEN_SCHEDULER_RTDS, XEN_SCHEDULER_NULL, XEN_SCHEDULER_ARINC653, 4,
        0, 42, UINT32_MAX,
    };
    const struct xenb__sched *s;
    size_t i;

    ck_assert_int_eq(xenb__sched_find(XEN_SCHEDULER_CREDIT, &s), 0);
    ck_assert_uint_eq(s->sched_id, XEN_SCHEDULER_CREDIT);
    ck_assert_int_eq(s->iface, XENB_IFACE_CREDIT);
    ck_assert_str_eq(s->name, "credit");
    ck_assert_int_eq(xenb__sched_find(XEN_SCHEDULER_CREDIT2, &s), 0);
    ck_assert_int_eq(s->iface, XENB_IFACE_CREDIT2);
    ck_assert_str_eq(s->name, "credit2");
    for ( i = 0; i < sizeof(none) / sizeof(none[0]); i++ )
    {
        s = (const struct xenb__sched *)1;
        ck_assert_int_eq(xenb__sched_find(none[i], &s), -EOPNOTSUPP);
        ck_assert_ptr_null(s);
    }
    ck_assert_str_eq(xenb__sched_name(XEN_SCHEDULER_RTDS), "rtds");
    ck_assert_str_eq(xenb__sched_name(XEN_SCHEDULER_NULL), "null");
    ck_assert_str_eq(xenb__sched_name(XEN_SCHEDULER_ARINC653), "arinc653");
    ck_assert_str_eq(xenb__sched_name(XEN_SCHEDULER_CREDIT2), "credit2");
    ck_assert_str_eq(xenb__sched_name(99), "unknown");
}
END_TEST

static const struct {
    uint32_t sched_id, vcpus, weight, cap;
    int rc;
} sched_args[] = {
    { XEN_SCHEDULER_CREDIT, 2, 256, 0, 0 },
    { XEN_SCHEDULER_CREDIT, 2, 1, 200, 0 },
    { XEN_SCHEDULER_CREDIT, 2, 65535, 150, 0 },
    { XEN_SCHEDULER_CREDIT, 2, 0, 0, -EINVAL },         /* 0: "as is" */
    { XEN_SCHEDULER_CREDIT, 2, 65536, 0, -EINVAL },
    { XEN_SCHEDULER_CREDIT, 2, 256, 201, -EINVAL },     /* > 100/vCPU */
    { XEN_SCHEDULER_CREDIT, 0, 256, 0, 0 },             /* no vCPUs yet */
    { XEN_SCHEDULER_CREDIT, 0, 256, 1, -EINVAL },
    /* 0xffff would read as "leave the cap as it is". */
    { XEN_SCHEDULER_CREDIT, 1000, 256, 65534, 0 },
    { XEN_SCHEDULER_CREDIT, 1000, 256, 65535, -EINVAL },
    { XEN_SCHEDULER_CREDIT2, 4, 512, 400, 0 },
    { XEN_SCHEDULER_CREDIT2, 4, 512, 401, -EINVAL },
    { XEN_SCHEDULER_CREDIT2, 4, 0, 100, -EINVAL },
    { XEN_SCHEDULER_CREDIT2, 1000, 256, 65535, 0 },
    { XEN_SCHEDULER_CREDIT2, 1000, 256, 65536, -EINVAL },
    { XEN_SCHEDULER_CREDIT2, 1, 65535, 0, 0 },
};

START_TEST(test_xen_backend_sched_args)
{
    const struct xenb__sched *s;
    uint16_t w = 7, c = 7;
    int rc;

    ck_assert_int_eq(xenb__sched_find(sched_args[_i].sched_id, &s), 0);
    rc = xenb__sched_args(s, sched_args[_i].vcpus, sched_args[_i].weight,
                          sched_args[_i].cap, &w, &c);
    ck_assert_int_eq(rc, sched_args[_i].rc);
    if ( rc )
    {
        ck_assert_uint_eq(w, 7);
        ck_assert_uint_eq(c, 7);
        return;
    }
    /* Both always set: the domctl's 0 in either means something else. */
    ck_assert_uint_eq(w, sched_args[_i].weight);
    ck_assert_uint_eq(c, sched_args[_i].cap);
}
END_TEST

/* libxenstat counts a VIF at the backend interface in dom0: what it
 * receives the guest sent. */
START_TEST(test_xen_backend_vif_direction)
{
    const struct xenb__vif_backend be = {
        .id = 3,
        .rbytes = 1000, .rpkts = 10, .rerrs = 1, .rdrop = 2,
        .tbytes = 5000, .tpkts = 50, .terrs = 3, .tdrop = 4,
    };
    struct acct_vif v;

    memset(&v, 0xff, sizeof(v));
    xenb__vif(&be, &v);
    ck_assert_uint_eq(v.id, 3);
    ck_assert_uint_eq(v.tx_bytes, 1000);
    ck_assert_uint_eq(v.tx_pkts, 10);
    ck_assert_uint_eq(v.tx_errs, 1);
    ck_assert_uint_eq(v.tx_drop, 2);
    ck_assert_uint_eq(v.rx_bytes, 5000);
    ck_assert_uint_eq(v.rx_pkts, 50);
    ck_assert_uint_eq(v.rx_errs, 3);
    ck_assert_uint_eq(v.rx_drop, 4);
}
END_TEST

/*
 * /xenos/domains as the adapter writes it (sched/xen/adapter.c,
 * xs_stats_line): parsed by domid, fields after the windows ignored, a
 * line that is not ours (or cut short) named by its number, a full table
 * refused.
 */
START_TEST(test_xen_backend_stats_parse)
{
    static const char text[] =
        "domid=7 wait_ns=1500 throttled_ns=70000 run_ns=30000 cap_pct=30 "
        "windows=0,0,0,0,0,3,0,0,0,0,0,0\n"
        "domid=0 wait_ns=12 throttled_ns=0 run_ns=99 cap_pct=0 "
        "windows=1,0,0,0,0,0,0,0,0,0,0,0\n"
        "domid=3 wait_ns=18446744073709551615 throttled_ns=5 run_ns=1 "
        "cap_pct=25 windows=1,2,3,4,5,6,7,8,9,10,11,12 later=1\n";
    struct xenb__stat st[4];
    const struct xenb__stat *f;
    unsigned int bad = 0;

    ck_assert_int_eq(xenb__stats_parse(text, st, 4, &bad), 3);
    ck_assert_uint_eq(st[0].domid, 0);
    ck_assert_uint_eq(st[1].domid, 3);
    ck_assert_uint_eq(st[1].wait_ns, UINT64_MAX);
    ck_assert_uint_eq(st[1].cap_pct, 25);
    ck_assert_uint_eq(st[1].windows[0], 1);
    ck_assert_uint_eq(st[1].windows[ACCT_NR_WINDOWS - 1], 12);
    f = xenb__stats_find(st, 3, 7);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->wait_ns, 1500);
    ck_assert_uint_eq(f->throttled_ns, 70000);
    ck_assert_uint_eq(f->windows[5], 3);
    ck_assert_ptr_null(xenb__stats_find(st, 3, 1));
    ck_assert_int_eq(xenb__stats_parse("", st, 4, &bad), 0);
    ck_assert_int_eq(xenb__stats_parse(text, st, 2, &bad), -ENOSPC);
    ck_assert_int_eq(xenb__stats_parse(text + 0, st, 4, &bad), 3);
    /* line 2 cut short; line 1 with 11 windows; with a stray letter */
    ck_assert_int_eq(xenb__stats_parse("domid=1 wait_ns=1 throttled_ns=2 "
                                       "run_ns=3 cap_pct=0 windows="
                                       "0,0,0,0,0,0,0,0,0,0,0,0\n"
                                       "domid=2 wait_ns=1\n", st, 4, &bad),
                     -EBADMSG);
    ck_assert_uint_eq(bad, 2);
    ck_assert_int_eq(xenb__stats_parse("domid=1 wait_ns=1 throttled_ns=2 "
                                       "run_ns=3 cap_pct=0 windows="
                                       "0,0,0,0,0,0,0,0,0,0,0\n", st, 4,
                                       &bad), -EBADMSG);
    ck_assert_uint_eq(bad, 1);
    ck_assert_int_eq(xenb__stats_parse("domid=1 wait_ns=1 throttled_ns=2 "
                                       "run_ns=3 cap_pct=0 windows="
                                       "0,0,0,0,0,0,0,0,0,0,0,0x\n", st, 4,
                                       &bad), -EBADMSG);
}
END_TEST

#else /* !XENOS_HAVE_XEN */

START_TEST(test_xen_backend_absent)
{
    static const char *const args[] = { "--backend", "xen", NULL };
    struct run r;

    ck_assert_ptr_null(acct_backend_find("xen"));
    ck_assert_ptr_nonnull(acct_backend_find("sim"));
    run_xenosd(&r, args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "xenosd: no backend 'xen' in this build\n");
}
END_TEST

#endif /* XENOS_HAVE_XEN */

/* In any build: the option belongs to the xen backend alone. */
START_TEST(test_xen_backend_key_needs_xen)
{
    static const char *const args[] = {
        "--backend", "sim", "--xen-tenant-key", "vm-data/tenant", NULL,
    };
    struct run r;

    run_xenosd(&r, args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "xenosd: --xen-tenant-key is an option of the "
                     "xen backend, not of sim\n");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *xen_backend_suite(void)
{
    Suite *s = suite_create("xen_backend");
    TCase *tc = tcase_create("xen");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 2 * RUN_TIMEOUT_S + 10);
#ifdef XENOS_HAVE_XEN
    tcase_add_test(tc, test_xen_backend_xenosd_not_dom0);
    tcase_add_loop_test(tc, test_xen_backend_xenosd_bad_key, 0,
                        N(bad_keys));
    tcase_add_test(tc, test_xen_backend_xenosd_config_key);
    tcase_add_test(tc, test_xen_backend_registered);
    tcase_add_test(tc, test_xen_backend_open_options);
    tcase_add_test(tc, test_xen_backend_null_state);
    tcase_add_loop_test(tc, test_xen_backend_uuid_format, 0, N(uuids));
    tcase_add_loop_test(tc, test_xen_backend_state_of_flags, 0, N(states));
    tcase_add_test(tc, test_xen_backend_key_paths);
    tcase_add_loop_test(tc, test_xen_backend_dom0_check, 0, N(caps));
    tcase_add_loop_test(tc, test_xen_backend_boot_id, 0, N(boot_ids));
    tcase_add_test(tc, test_xen_backend_boot_id_proc);
    tcase_add_test(tc, test_xen_backend_sched_dispatch);
    tcase_add_test(tc, test_xen_backend_stats_parse);
    tcase_add_loop_test(tc, test_xen_backend_sched_args, 0, N(sched_args));
    tcase_add_test(tc, test_xen_backend_vif_direction);
#else
    tcase_add_test(tc, test_xen_backend_absent);
#endif
    tcase_add_test(tc, test_xen_backend_key_needs_xen);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xen_backend_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
