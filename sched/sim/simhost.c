/*
 * simhost.c: xenos-simhost, a simulated Xen host that lives in real time.
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
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenos/hex.h>
#include <xenos/num.h>
#include <xenos/sched.h>
#include <xenos/sim.h>

#define SH_EXIT_FAIL        1
#define SH_EXIT_USAGE       2

#define SH_DEFAULT_POLICY   "fcredit"
#define SH_IDLE_EXIT_S      300
#define SH_MAX_CLIENTS      64
#define SH_LINE_MAX         1024        /* a request; replies are longer */
#define SH_TICK_MS          100         /* advance at least this often */
#define SH_IDLE_TICK_MS     1000        /* once time has stopped */
#define SH_STALL_MS         5000        /* a reply unread this long: drop */
#define SH_PARTIAL_MS       10000       /* half a request this long: drop */
#define SH_OUT_HIGH         (1u << 20)  /* stop taking requests above it */
#define SH_SPEED_MILLI_MAX  1000000000  /* 1,000,000 x */
/*
 * Advancing is cut in slices of simulated time, sized as it goes so a
 * slice costs about a quarter of SH_BUDGET_NS of wall time, and one advance
 * takes SH_BUDGET_NS at most: a host too big to simulate at the asked
 * speed falls behind (PING says by how much) but answers within a few ms.
 */
#define SH_BUDGET_NS        2000000     /* 2 ms */
#define SH_STEP_MIN_NS      SCH_USEC(1)
#define SH_STEP_MAX_NS      SCH_MSEC(100)
#define SH_DYING_GRACE_S    60          /* ended lives stay in SAMPLE */
#define SH_LINGER_MS        1           /* behind: wait for a next request */
#define SH_LINGER_MAX_MS    20          /* ...but run at least this often */

struct sh_opts {
    const char *scenario;
    const char *policy;
    const char *socket;
    const char *pidfile;
    const char *log;
    uint64_t speed_milli;               /* simulated ns per 1000 wall ns */
    uint64_t idle_exit_s;               /* 0: never */
    bool daemon;
    bool boot_on_sample;                /* time starts at the first SAMPLE */
};

/* A growing output buffer; on ENOMEM it fails once and stays failed. */
struct sh_buf {
    char *p;
    size_t len, cap, off;               /* off: bytes already sent */
    bool failed;
};

struct sh_client {
    int fd;
    char in[SH_LINE_MAX + 1];
    size_t in_len;
    struct sh_buf out;
    uint64_t partial_since_ms;          /* first byte of an unended line */
    uint64_t stalled_since_ms;          /* output waiting, no progress */
    bool closing;                       /* close once out is sent */
};

struct sh {
    struct sh_opts o;
    struct sim_scenario sc;
    struct sim *sim;
    const struct sch_ops *ops;
    FILE *log;
    int listen_fd;
    char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char pid_path[PATH_MAX];
    char scenario_abs[PATH_MAX];        /* for PING: which host this is */
    char boot_id[37];                   /* this boot of the host: a uuid */
    dev_t sock_dev;
    ino_t sock_ino;
    uint64_t start_wall_ns;             /* monotonic, when time began */
    bool booted;                        /* time has begun */
    uint64_t idle_since_ms;
    uint64_t advanced_ms;               /* last sh_advance, monotonic */
    sch_time_t step_ns;                 /* simulated time per slice */
    bool behind;                        /* last advance fell short */
    struct sh_client clients[SH_MAX_CLIENTS];
    unsigned int nr_clients;
    bool quit;
};

static volatile sig_atomic_t sh_signalled;

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

static uint64_t sh_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t sh_mono_ms(void)
{
    return sh_mono_ns() / 1000000u;
}

static void sh_log(struct sh *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sh_log(struct sh *h, const char *fmt, ...)
{
    va_list ap;

    if ( !h->log )
        return;
    fprintf(h->log, "xenos-simhost[%ld]: ", (long)getpid());
    va_start(ap, fmt);
    vfprintf(h->log, fmt, ap);
    va_end(ap);
    fputc('\n', h->log);
    fflush(h->log);
}

static int sh_buf_reserve(struct sh_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if ( b->failed )
        return -ENOMEM;
    while ( cap - b->len < more + 1 )
        cap *= 2;
    if ( cap == b->cap )
        return 0;
    p = realloc(b->p, cap);
    if ( !p )
    {
        b->failed = true;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sh_buf_add(struct sh_buf *b, const char *s, size_t n)
{
    if ( sh_buf_reserve(b, n) )
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sh_printf(struct sh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sh_printf(struct sh_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if ( n < 0 || sh_buf_reserve(b, (size_t)n) )
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/*
 * " key=VALUE" with VALUE percent-encoded (docs/sim-backend.md): every
 * byte but printable ASCII, and '%' and '=' themselves, become %XX.  So
 * a reply line holds nothing any line splitter would break on (not even
 * U+2028 or NEL), and a decoder gets back the very bytes.
 */
static void sh_field_str(struct sh_buf *b, const char *key, const char *v)
{
    const unsigned char *p = (const unsigned char *)v;

    sh_printf(b, " %s=", key);
    for ( ; *p; p++ )
    {
        if ( *p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '=' )
        {
            char e[3];

            hex_pct(e, *p, true);
            sh_buf_add(b, e, 3);
        }
        else
            sh_buf_add(b, (const char *)p, 1);
    }
}

static void sh_field_u64(struct sh_buf *b, const char *key, uint64_t v)
{
    sh_printf(b, " %s=%" PRIu64, key, v);
}

/* Where simulated time should be now: scaled wall time, stopped at the
 * scenario's end. */
static sch_time_t sh_target(const struct sh *h)
{
    unsigned __int128 ns;

    if ( !h->booted )
        return 0;
    ns = (unsigned __int128)(sh_mono_ns() - h->start_wall_ns) *
         h->o.speed_milli / 1000u;

    if ( ns > (unsigned __int128)h->sc.duration_ns )
        return h->sc.duration_ns;
    return (sch_time_t)ns;
}

/* Run towards the target time, for SH_BUDGET_NS at most; h->behind says
 * whether it fell short. */
static void sh_advance(struct sh *h)
{
    sch_time_t t = sh_target(h);
    uint64_t start = sh_mono_ns(), stop = start + SH_BUDGET_NS;

    while ( sim_now(h->sim) < t )
    {
        sch_time_t step = sim_now(h->sim) + h->step_ns;
        uint64_t t0 = sh_mono_ns(), spent;

        sim_run_until(h->sim, step < t ? step : t);
        spent = sh_mono_ns() - t0;
        if ( spent > SH_BUDGET_NS / 4 && h->step_ns > SH_STEP_MIN_NS )
            h->step_ns /= 2;
        else if ( spent < SH_BUDGET_NS / 16 && h->step_ns < SH_STEP_MAX_NS )
            h->step_ns *= 2;
        if ( t0 + spent >= stop )
            break;
    }
    h->behind = sim_now(h->sim) < t;
    h->advanced_ms = sh_mono_ms();
}

static bool sh_ended(const struct sh *h)
{
    return sim_now(h->sim) >= h->sc.duration_ns;
}

/* ------------------------------------------------------------------ */
/* Requests                                                           */

static const char *const sh_life_names[] = {
    [SIM_LIFE_PENDING] = "pending",
    [SIM_LIFE_ALIVE] = "alive",
    [SIM_LIFE_GONE] = "gone",
};

static const char *const sh_end_names[] = {
    [SIM_END_NONE] = "none",
    [SIM_END_REBOOT] = "reboot",
    [SIM_END_MIGRATE] = "migrate",
    [SIM_END_DESTROY] = "destroy",
};

static void sh_err(struct sh_buf *b, const char *code, const char *why)
{
    sh_printf(b, "ERR %s %s\n", code, why);
}

/* Split @line into at most @max words at single spaces; returns how many,
 * or max + 1 if there are more. */
static unsigned int sh_words(char *line, char **w, unsigned int max)
{
    unsigned int n = 0;
    char *save = NULL, *t;

    for ( t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save) )
    {
        if ( n == max )
            return max + 1;
        w[n++] = t;
    }
    return n;
}

static void sh_ping(struct sh *h, struct sh_buf *b)
{
    sch_time_t target = sh_target(h);

    sh_printf(b, "OK PONG");
    sh_field_u64(b, "time_ns", (uint64_t)sim_now(h->sim));
    /* how far simulated time is behind the scaled wall clock */
    sh_field_u64(b, "lag_ns", target > sim_now(h->sim)
                              ? (uint64_t)(target - sim_now(h->sim)) : 0);
    sh_field_u64(b, "end_ns", (uint64_t)h->sc.duration_ns);
    sh_printf(b, " speed=%" PRIu64 ".%03" PRIu64, h->o.speed_milli / 1000,
              h->o.speed_milli % 1000);
    sh_field_str(b, "policy", h->ops->opt_name);
    sh_field_u64(b, "domains", sim_nr_domains(h->sim));
    sh_field_u64(b, "pid", (uint64_t)getpid());
    sh_field_str(b, "scenario", h->scenario_abs);
    sh_field_str(b, "boot_id", h->boot_id);
    sh_printf(b, "\n");
}

static void sh_dom_line(struct sh_buf *b, const struct sim_dom_info *d,
                        const struct sim_incarnation *inc)
{
    unsigned int j;

    sh_printf(b, "dom");
    sh_field_str(b, "uuid", d->uuid);
    sh_field_u64(b, "domid", d->domid);
    sh_field_u64(b, "created_ns", (uint64_t)inc->created_ns);
    sh_field_str(b, "name", d->name);
    if ( d->tenant )
        sh_field_str(b, "tenant", d->tenant);
    sh_printf(b, " state=%s", d->running ? "running" : "blocked");
    sh_field_u64(b, "cpu_ns", d->cpu_ns);
    sh_field_u64(b, "vcpus", d->nr_vcpus);
    sh_field_u64(b, "online_vcpus", d->online_vcpus);
    sh_printf(b, " vcpu_ns=");
    for ( j = 0; j < d->nr_vcpus; j++ )
        sh_printf(b, "%s%" PRIu64, j ? "," : "", d->vcpu_ns[j]);
    sh_printf(b, " vcpu_online=");
    for ( j = 0; j < d->nr_vcpus; j++ )
        sh_printf(b, "%s1", j ? "," : "");
    sh_field_u64(b, "mem_cur_bytes", d->mem_cur_bytes);
    sh_field_u64(b, "mem_max_bytes", d->mem_max_bytes);
    sh_field_u64(b, "mem_target_bytes", d->mem_target_bytes);
    sh_printf(b, " vbd=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64, d->vbd.id, d->vbd.rd_reqs, d->vbd.wr_reqs,
              d->vbd.rd_sectors, d->vbd.wr_sectors);
    sh_printf(b, " vif=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
              d->vif.id, d->vif.rx_bytes, d->vif.rx_pkts, d->vif.rx_errs,
              d->vif.rx_drop, d->vif.tx_bytes, d->vif.tx_pkts,
              d->vif.tx_errs, d->vif.tx_drop);
    sh_printf(b, "\n");
}

/* A life of domain @d that ended (reboot, migration, destruction) with its
 * final counters, as Xen shows a dying domain until it is reaped. */
static void sh_dying_line(struct sh_buf *b, const struct sim_dom_info *d,
                          const struct sim_incarnation *inc)
{
    sh_printf(b, "dom");
    sh_field_str(b, "uuid", d->uuid);
    sh_field_u64(b, "domid", inc->domid);
    sh_field_u64(b, "created_ns", (uint64_t)inc->created_ns);
    sh_field_str(b, "name", d->name);
    if ( d->tenant )
        sh_field_str(b, "tenant", d->tenant);
    sh_printf(b, " state=dying");
    sh_field_u64(b, "cpu_ns", inc->cpu_ns);
    sh_printf(b, " vcpus=0 online_vcpus=0 vcpu_ns= vcpu_online=");
    sh_printf(b, " mem_cur_bytes=0 mem_max_bytes=0 mem_target_bytes=0");
    sh_printf(b, " vbd=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64, inc->vbd.id, inc->vbd.rd_reqs, inc->vbd.wr_reqs,
              inc->vbd.rd_sectors, inc->vbd.wr_sectors);
    sh_printf(b, " vif=%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
              ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
              inc->vif.id, inc->vif.rx_bytes, inc->vif.rx_pkts,
              inc->vif.rx_errs, inc->vif.rx_drop, inc->vif.tx_bytes,
              inc->vif.tx_pkts, inc->vif.tx_errs, inc->vif.tx_drop);
    sh_printf(b, "\n");
}

/*
 * Every live domain, then every life that ended in the last
 * SH_DYING_GRACE_S of wall time, oldest first, as a dying domain with its
 * final counters: a client (xenosd, perhaps restarted after a crash)
 * counts the last moments of a life that ended between two samples, and
 * keeps the grace period to see them even if it was down for a while.
 */
static unsigned int sh_sample_doms(struct sh *h, struct sh_buf *b)
{
    unsigned int i, k, n = sim_nr_domains(h->sim), count = 0;
    sch_time_t now = sim_now(h->sim);
    sch_time_t grace = (sch_time_t)(SH_DYING_GRACE_S * 1000000u *
                                    h->o.speed_milli);
    struct sim_dom_truth t;
    struct sim_dom_info d;

    for ( i = 0; i < n; i++ )
    {
        if ( sim_dom_info(h->sim, i, &d) || sim_dom_truth(h->sim, i, &t) )
            continue;
        for ( k = 0; k < t.nr_incarnations; k++ )
        {
            const struct sim_incarnation *inc = &t.inc[k];

            if ( inc->ended_ns < 0 || inc->ended_ns < now - grace )
                continue;
            count++;
            if ( b )
                sh_dying_line(b, &d, inc);
        }
        /* A live domain's life is its last incarnation. */
        if ( d.life == SIM_LIFE_ALIVE && t.nr_incarnations )
        {
            count++;
            if ( b )
                sh_dom_line(b, &d, &t.inc[t.nr_incarnations - 1]);
        }
    }
    return count;
}

static void sh_sample(struct sh *h, struct sh_buf *b)
{
    sh_printf(b, "OK SAMPLE");
    sh_field_u64(b, "count", sh_sample_doms(h, NULL));
    sh_field_u64(b, "time_ns", (uint64_t)sim_now(h->sim));
    sh_field_str(b, "boot_id", h->boot_id);
    sh_printf(b, "\n");
    sh_sample_doms(h, b);
}

static void sh_truth(struct sh *h, struct sh_buf *b)
{
    unsigned int i, k, n = sim_nr_domains(h->sim);

    sh_printf(b, "OK TRUTH");
    sh_field_u64(b, "count", n);
    sh_field_u64(b, "time_ns", (uint64_t)sim_now(h->sim));
    sh_printf(b, "\n");
    for ( i = 0; i < n; i++ )
    {
        struct sim_dom_truth t;

        if ( sim_dom_truth(h->sim, i, &t) )
            continue;
        sh_printf(b, "truth");
        sh_field_str(b, "uuid", t.uuid);
        sh_field_str(b, "name", t.name);
        sh_printf(b, " life=%s", sh_life_names[t.life]);
        sh_field_u64(b, "cpu_ns", t.cpu_ns);
        sh_field_u64(b, "incarnations", t.nr_incarnations);
        sh_printf(b, "\n");
        for ( k = 0; k < t.nr_incarnations; k++ )
        {
            const struct sim_incarnation *c = &t.inc[k];

            sh_printf(b, "inc");
            sh_field_str(b, "uuid", t.uuid);
            sh_field_u64(b, "domid", c->domid);
            sh_field_u64(b, "created_ns", (uint64_t)c->created_ns);
            if ( c->ended_ns >= 0 )
                sh_field_u64(b, "ended_ns", (uint64_t)c->ended_ns);
            sh_printf(b, " end=%s", sh_end_names[c->end]);
            sh_field_u64(b, "cpu_ns", c->cpu_ns);
            sh_printf(b, "\n");
        }
    }
}

static void sh_errno(struct sh_buf *b, int rc, const char *what)
{
    switch ( rc )
    {
    case -ENOENT:
        sh_err(b, "ENOENT", what);
        break;
    case -EOPNOTSUPP:
        sh_err(b, "EOPNOTSUPP", "the policy has no weight or cap");
        break;
    default:
        sh_err(b, "EINVAL", "the policy refuses these values");
        break;
    }
}

/* A decimal uint32_t and nothing else. */
static int sh_u32(const char *s, uint32_t *out)
{
    int64_t v;

    if ( num_parse_int(s, 0, UINT32_MAX, &v) )
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static void sh_get_set(struct sh *h, struct sh_buf *b, char **w,
                       unsigned int n)
{
    bool set = !strcmp(w[0], "SET");
    uint32_t weight, cap;
    int i, rc;

    if ( n != (set ? 4u : 2u) )
    {
        sh_err(b, "EINVAL", set ? "usage: SET UUID WEIGHT CAP"
                                : "usage: GET UUID");
        return;
    }
    i = sim_find_uuid(h->sim, w[1]);
    if ( i < 0 || !sim_domain(h->sim, (unsigned int)i) )
    {
        sh_err(b, "ENOENT", "no such domain on this host");
        return;
    }
    if ( set )
    {
        if ( sh_u32(w[2], &weight) || sh_u32(w[3], &cap) )
        {
            sh_err(b, "EINVAL", "weight and cap must be decimal integers");
            return;
        }
        rc = sim_dom_set_sched(h->sim, (unsigned int)i, weight, cap);
        if ( rc )
            sh_errno(b, rc, "no such domain on this host");
        else
            sh_printf(b, "OK SET\n");
        return;
    }
    rc = sim_dom_get_sched(h->sim, (unsigned int)i, &weight, &cap);
    if ( rc )
    {
        sh_errno(b, rc, "no such domain on this host");
        return;
    }
    sh_printf(b, "OK GET");
    sh_field_str(b, "uuid", w[1]);     /* as asked, so it can match */
    sh_field_u64(b, "weight", weight);
    sh_field_u64(b, "cap_pct", cap);
    sh_printf(b, "\n");
}

/* Answer one request @line (no newline) into @c's output. */
static void sh_request(struct sh *h, struct sh_client *c, char *line)
{
    struct sh_buf *b = &c->out;
    char *w[5];
    unsigned int n;

    /* Behind, the loop advances between requests: a client asking many
     * in a row must not pay for the simulation at each. */
    if ( !h->behind )
        sh_advance(h);
    n = sh_words(line, w, 4);
    if ( n == 0 )
        sh_err(b, "EINVAL", "empty request");
    else if ( !strcmp(w[0], "PING") && n == 1 )
        sh_ping(h, b);
    else if ( !strcmp(w[0], "SAMPLE") && n == 1 )
    {
        if ( !h->booted )
        {
            /* --boot-on-sample: the host boots when first looked at, so
             * its first sample is its very beginning. */
            h->booted = true;
            h->start_wall_ns = sh_mono_ns();
        }
        sh_sample(h, b);
    }
    else if ( !strcmp(w[0], "TRUTH") && n == 1 )
        sh_truth(h, b);
    else if ( !strcmp(w[0], "GET") || !strcmp(w[0], "SET") )
        sh_get_set(h, b, w, n);
    else if ( !strcmp(w[0], "SHUTDOWN") && n == 1 )
    {
        sh_printf(b, "OK SHUTDOWN\n");
        h->quit = true;
        sh_log(h, "SHUTDOWN requested");
    }
    else
        sh_err(b, "EINVAL", "unknown request (PING, SAMPLE, TRUTH, GET, "
               "SET, SHUTDOWN)");
    sh_printf(b, "END\n");
}

/* ------------------------------------------------------------------ */
/* Clients                                                            */

static void sh_client_close(struct sh *h, unsigned int i)
{
    struct sh_client *c = &h->clients[i];

    close(c->fd);
    free(c->out.p);
    h->clients[i] = h->clients[--h->nr_clients];
    memset(&h->clients[h->nr_clients], 0, sizeof(*c));
}

static void sh_accept(struct sh *h)
{
    struct sh_client *c;
    int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if ( fd < 0 )
        return;         /* EAGAIN, or a client that left: nothing to do */
    if ( h->nr_clients == SH_MAX_CLIENTS )
    {
        static const char busy[] = "ERR EBUSY too many clients\nEND\n";

        /* Best effort: the socket is fresh, so this fits its buffer. */
        if ( send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0 )
            sh_log(h, "refusing a client: %s", strerror(errno));
        close(fd);
        return;
    }
    c = &h->clients[h->nr_clients++];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
}

/* Answer the complete lines in @c's input while its output is small. */
static void sh_client_lines(struct sh *h, struct sh_client *c,
                            uint64_t now_ms)
{
    char *nl;

    while ( !h->quit && c->out.len - c->out.off < SH_OUT_HIGH &&
            (nl = memchr(c->in, '\n', c->in_len)) )
    {
        size_t len = (size_t)(nl - c->in);
        bool nul = memchr(c->in, '\0', len) != NULL;

        *nl = '\0';
        if ( len && c->in[len - 1] == '\r' )
            c->in[len - 1] = '\0';
        if ( nul )
        {
            sh_err(&c->out, "EINVAL", "NUL byte in request");
            sh_printf(&c->out, "END\n");
        }
        else
            sh_request(h, c, c->in);
        memmove(c->in, nl + 1, c->in_len - len - 1);
        c->in_len -= len + 1;
    }
    c->partial_since_ms = c->in_len ? (c->partial_since_ms ?
                                       c->partial_since_ms : now_ms) : 0;
    if ( c->in_len == SH_LINE_MAX )
    {
        sh_err(&c->out, "E2BIG", "request line too long");
        sh_printf(&c->out, "END\n");
        c->closing = true;
        c->in_len = 0;
    }
}

/* Returns false when @c is to be closed. */
static bool sh_client_read(struct sh *h, struct sh_client *c,
                           uint64_t now_ms)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, SH_LINE_MAX - c->in_len, 0);

    if ( n == 0 )
    {
        /* It sent all it will (perhaps shutdown(SHUT_WR) after its
         * request): answer what came, then close. */
        c->closing = true;
        return c->out.off < c->out.len;
    }
    if ( n < 0 )
        return errno == EAGAIN || errno == EINTR;
    c->in_len += (size_t)n;
    sh_client_lines(h, c, now_ms);
    return true;
}

/* Returns false when @c is to be closed. */
static bool sh_client_write(struct sh_client *c, uint64_t now_ms)
{
    struct sh_buf *b = &c->out;
    ssize_t n;

    if ( b->off == b->len )
        return !c->closing;
    n = send(c->fd, b->p + b->off, b->len - b->off,
             MSG_NOSIGNAL | MSG_DONTWAIT);
    if ( n < 0 )
        return errno == EAGAIN || errno == EINTR;
    b->off += (size_t)n;
    c->stalled_since_ms = now_ms;
    if ( b->off == b->len )
    {
        b->off = b->len = 0;
        if ( c->closing )
            return false;
    }
    return true;
}

/* Drop clients that hold a reply unread or half a request for too long,
 * or whose reply could not be built (out of memory). */
static void sh_reap(struct sh *h, uint64_t now_ms)
{
    unsigned int i = 0;

    while ( i < h->nr_clients )
    {
        struct sh_client *c = &h->clients[i];
        bool stalled = c->out.off < c->out.len && c->stalled_since_ms &&
                       now_ms - c->stalled_since_ms > SH_STALL_MS;
        bool partial = c->partial_since_ms &&
                       now_ms - c->partial_since_ms > SH_PARTIAL_MS;

        if ( stalled || partial || c->out.failed )
        {
            sh_log(h, "dropping a client: %s", c->out.failed ? "out of memory"
                   : stalled ? "not reading its reply" : "request unfinished");
            sh_client_close(h, i);
            continue;
        }
        i++;
    }
}

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
        uint64_t t = sh_mono_ns() ^ ((uint64_t)getpid() << 40);
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
/* The loop                                                           */

static void sh_on_signal(int sig)
{
    sh_signalled = sig;
}

static int sh_signals(sigset_t *old)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    /* A client that dies mid-reply must not kill the host. */
    if ( sigaction(SIGPIPE, &sa, NULL) || sigaction(SIGHUP, &sa, NULL) )
        return -errno;
    sa.sa_handler = sh_on_signal;
    sigemptyset(&sa.sa_mask);
    if ( sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) )
        return -errno;
    /* Delivered only inside ppoll, so none is lost between checks; there
     * they are let through even if our starter had blocked them. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if ( sigprocmask(SIG_BLOCK, &block, old) )
        return -errno;
    sigdelset(old, SIGTERM);
    sigdelset(old, SIGINT);
    return 0;
}

/* Is the socket path still ours?  Once it is removed or taken over, no
 * client can ever reach this host again: it had better go. */
static bool sh_socket_ours(const struct sh *h)
{
    struct stat st;

    return !stat(h->sock_path, &st) && st.st_dev == h->sock_dev &&
           st.st_ino == h->sock_ino;
}

static int sh_loop(struct sh *h, const sigset_t *mask)
{
    struct pollfd pfd[SH_MAX_CLIENTS + 1];
    uint64_t quit_at = 0;
    bool lingering = false;

    h->idle_since_ms = sh_mono_ms();
    for ( ;; )
    {
        uint64_t now_ms;
        unsigned int i, n = 0;
        struct timespec ts;
        int tick = SH_TICK_MS;
        bool served = false;

        /* Right after serving, a client may be about to ask again: give
         * it the pCPU first (below), the simulation after, but not so long
         * that a client asking without pause stops the host's clock. */
        if ( !lingering || sh_mono_ms() - h->advanced_ms >= SH_LINGER_MAX_MS )
        {
            sh_advance(h);
            lingering = false;
        }
        now_ms = sh_mono_ms();
        sh_reap(h, now_ms);
        if ( sh_signalled )
        {
            sh_log(h, "signal %d: exiting", (int)sh_signalled);
            return 0;
        }
        if ( !sh_socket_ours(h) )
        {
            sh_log(h, "%s was removed or replaced: exiting", h->sock_path);
            return 0;
        }
        if ( h->quit )
        {
            bool pending = false;

            /* Let the SHUTDOWN reply (and others) out, within a second. */
            if ( !quit_at )
                quit_at = now_ms;
            for ( i = 0; i < h->nr_clients; i++ )
                pending |= h->clients[i].out.off < h->clients[i].out.len;
            if ( !pending || now_ms - quit_at > 1000 )
                return 0;
        }
        if ( h->nr_clients || !sh_ended(h) )
            h->idle_since_ms = now_ms;
        else if ( h->o.idle_exit_s &&
                  now_ms - h->idle_since_ms >= h->o.idle_exit_s * 1000 )
        {
            sh_log(h, "no client for %" PRIu64 " s after the end: exiting",
                   h->o.idle_exit_s);
            return 0;
        }
        if ( lingering )
            tick = SH_LINGER_MS;
        else if ( h->behind )
            tick = 0;           /* serve who waits, then run on */
        else if ( sh_ended(h) )
            tick = SH_IDLE_TICK_MS;

        pfd[n].fd = h->listen_fd;
        pfd[n++].events = h->quit ? 0 : POLLIN;
        for ( i = 0; i < h->nr_clients; i++ )
        {
            struct sh_client *c = &h->clients[i];

            pfd[n].fd = c->fd;
            pfd[n].events = 0;
            if ( c->out.off < c->out.len )
                pfd[n].events |= POLLOUT;
            else if ( !c->closing && !h->quit )
                pfd[n].events |= POLLIN;
            n++;
        }
        ts.tv_sec = tick / 1000;
        ts.tv_nsec = (long)(tick % 1000) * 1000000;
        if ( ppoll(pfd, n, &ts, mask) < 0 )
        {
            if ( errno == EINTR )
                continue;
            sh_log(h, "poll: %s", strerror(errno));
            return -errno;
        }
        lingering = false;
        now_ms = sh_mono_ms();
        /* Clients first, from the end: closing one moves the last. */
        for ( i = h->nr_clients; i-- > 0; )
        {
            struct sh_client *c = &h->clients[i];
            short ev = pfd[i + 1].revents;
            bool keep = true;

            if ( ev & (POLLERR | POLLNVAL) )
                keep = false;
            else if ( ev & (POLLIN | POLLHUP) )
            {
                keep = sh_client_read(h, c, now_ms);
                served = true;
            }
            if ( keep && c->out.off < c->out.len )
            {
                if ( !c->stalled_since_ms )
                    c->stalled_since_ms = now_ms;
                keep = sh_client_write(c, now_ms);
            }
            if ( keep && c->out.off == c->out.len )
            {
                c->stalled_since_ms = 0;
                sh_client_lines(h, c, now_ms);     /* held back input */
                if ( c->out.off < c->out.len )
                    keep = sh_client_write(c, now_ms);
            }
            if ( !keep || (c->closing && c->out.off == c->out.len) )
                sh_client_close(h, i);
        }
        if ( pfd[0].revents & POLLIN )
            sh_accept(h);
        lingering = served && h->behind;
    }
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
        { NULL, 0, NULL, 0 },
    };
    int64_t v;
    int c;

    o->speed_milli = 1000;
    o->idle_exit_s = SH_IDLE_EXIT_S;
    while ( (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1 )
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
        default:
            sh_usage(stderr);
            return SH_EXIT_USAGE;
        }
    }
    if ( optind < argc && !o->scenario )
        o->scenario = argv[optind++];
    if ( optind < argc || !o->scenario || !o->socket )
    {
        fprintf(stderr, "xenos-simhost: %s\n", optind < argc
                ? "too many arguments" : !o->scenario
                ? "no --scenario given" : "no --socket given");
        sh_usage(stderr);
        return SH_EXIT_USAGE;
    }
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
        sh_client_close(h, 0);
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
    rc = sh_signals(&mask);
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
    h.start_wall_ns = sh_mono_ns();
    h.booted = !h.o.boot_on_sample;
    h.step_ns = SCH_MSEC(1);
    sh_boot_id(h.boot_id);
    sh_log(&h, "serving %s under %s at speed %" PRIu64 ".%03" PRIu64
           " on %s, boot %s", h.o.scenario, h.ops->opt_name,
           h.o.speed_milli / 1000, h.o.speed_milli % 1000, h.sock_path,
           h.boot_id);
    rc = sh_loop(&h, &mask) ? SH_EXIT_FAIL : 0;
 out:
    sh_cleanup(&h);
    return rc;
}
