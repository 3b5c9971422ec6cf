/*
 * sim.c: the `sim` accounting backend, a client of xenos-simhost.
 *
 * The simulated host is its own process, as a hypervisor outlives its dom0
 * daemon: open() connects to its UNIX socket and, when nothing answers
 * there, starts `xenos-simhost --daemon` with the scenario and waits
 * (bounded) until it answers.  Closing the backend, or the death of its
 * caller, leaves the host running; acct_sim_shutdown() stops it.
 *
 * Design: one connection, one request at a time, each reply read to its
 * END line with a timeout on every read (timeout_ms, default 2 s), so a
 * hung host costs a caller seconds, never forever.  A connection found
 * dead (host restarted, socket reset) is made again once per call; requests
 * are idempotent, so repeating one is safe.  After a timeout the stream is
 * out of step, so the connection is dropped and the next call makes a new
 * one.  Replies are parsed strictly: a malformed line for one domain sets
 * that domain's error and leaves the others alone.  The protocol is in
 * docs/sim-backend.md.
 *
 * Options (open's args, "key=value"): scenario=FILE (needed only to start
 * a host), socket=PATH, else state_dir=DIR (DIR/simhost.sock), else
 * SIMB_SOCKET_DEFAULT; speed=N, policy=P, log=FILE, idle_exit_s=N (passed
 * to a host it starts); simhost=PATH (the binary; default $XENOS_SIMHOST,
 * then beside the running program, then its build-tree place, then PATH);
 * timeout_ms=N.
 *
 * Not thread-safe: one caller thread per open state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenos/acct.h>
#include <xenos/acct_sim.h>
#include <xenos/hex.h>

#define SIMB_MAGIC              0x62686d73u     /* marks a state as ours */
#define SIMB_SOCKET_DEFAULT     "/run/xenos/simhost.sock"
#define SIMB_SOCKET_NAME        "simhost.sock"
#define SIMB_TIMEOUT_MS         2000
#define SIMB_START_MS           5000    /* to start a host and see it */
#define SIMB_LINE_MAX           (16u << 20)     /* a reply line */
#define SIMB_READ_CHUNK         65536
#define SIMB_BACKOFF_MIN_MS     200     /* no host: wait before trying */
#define SIMB_BACKOFF_MAX_MS     2000    /* ...doubling up to this */

struct simb_tok {
    char *key, *val;
};

struct simb {
    uint32_t magic;
    int fd;                             /* -1: not connected */
    int timeout_ms;
    /* No host answered: the next try waits until retry_at_ms, each
     * failure doubling backoff_ms (a dead host costs nothing per call). */
    int64_t retry_at_ms;
    int backoff_ms;
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    /* open's options, as given (scenario made absolute) */
    char *scenario, *socket, *state_dir, *speed, *policy, *simhost, *log;
    char *idle_exit_s, *timeout_ms_s;
    /* reply reader: unread bytes are buf[off, len) */
    char *buf;
    size_t off, len, cap;
    /* parse scratch: decoded strings, tokens */
    char *dec;
    size_t dec_cap;
    struct simb_tok *toks;
    size_t toks_cap;
    uint64_t *nums;                     /* vCPU lists, 2 per vCPU */
    size_t nums_cap;
};

/* ------------------------------------------------------------------ */
/* Connection                                                         */

static int64_t simb_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void simb_disconnect(struct simb *b)
{
    if ( b->fd >= 0 )
        close(b->fd);
    b->fd = -1;
    b->off = b->len = 0;
}

/*
 * Connect to the socket: 0, or -ENOENT / -ECONNREFUSED (nobody there),
 * -ETIMEDOUT (a host too busy or stopped to accept: its backlog stays
 * full), or another -errno.  Never blocks for longer than timeout_ms.
 */
static int simb_connect(struct simb *b)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int64_t end = simb_now_ms() + b->timeout_ms;
    int fd, rc;

    simb_disconnect(b);
    memcpy(a.sun_path, b->sock, sizeof(a.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if ( fd < 0 )
        return -errno;
    /* A UNIX socket with a full backlog says EAGAIN: try again a while. */
    while ( (rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno
                                                                 : 0) ==
            -EAGAIN && simb_now_ms() < end )
        usleep(10000);
    if ( rc )
    {
        close(fd);
        return rc == -EAGAIN ? -ETIMEDOUT : rc;
    }
    b->fd = fd;
    return 0;
}

/* Wait for @events on the connection: 0, -ETIMEDOUT, or -errno. */
static int simb_wait(struct simb *b, short events)
{
    struct pollfd p = { .fd = b->fd, .events = events };
    int64_t end = simb_now_ms() + b->timeout_ms, left = b->timeout_ms;
    int n;

    for ( ;; )
    {
        n = poll(&p, 1, (int)left);
        if ( n > 0 )
            return 0;
        if ( n == 0 )
            return -ETIMEDOUT;
        if ( errno != EINTR )
            return -errno;
        left = end - simb_now_ms();
        if ( left <= 0 )
            return -ETIMEDOUT;
    }
}

static int simb_send(struct simb *b, const char *s, size_t len)
{
    while ( len )
    {
        ssize_t n = send(b->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        int rc;

        if ( n > 0 )
        {
            s += n;
            len -= (size_t)n;
            continue;
        }
        if ( n < 0 && errno != EAGAIN && errno != EINTR )
            return -errno;
        rc = simb_wait(b, POLLOUT);
        if ( rc )
            return rc;
    }
    return 0;
}

/*
 * The next reply line, NUL-terminated without its newline, in *@line (good
 * until the next call).  -ECONNRESET when the host closed the connection,
 * -ETIMEDOUT, -EPROTO for a line over SIMB_LINE_MAX, -ENOMEM.
 */
static int simb_line(struct simb *b, char **line)
{
    for ( ;; )
    {
        char *nl = b->len > b->off ? memchr(b->buf + b->off, '\n',
                                            b->len - b->off) : NULL;
        ssize_t n;
        int rc;

        if ( nl )
        {
            *nl = '\0';
            *line = b->buf + b->off;
            b->off = (size_t)(nl - b->buf) + 1;
            return 0;
        }
        if ( b->off )
        {
            memmove(b->buf, b->buf + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if ( b->cap - b->len < SIMB_READ_CHUNK )
        {
            size_t cap = b->cap ? b->cap * 2 : 2 * SIMB_READ_CHUNK;
            char *p;

            if ( b->len > SIMB_LINE_MAX )
                return -EPROTO;
            p = realloc(b->buf, cap);
            if ( !p )
                return -ENOMEM;
            b->buf = p;
            b->cap = cap;
        }
        n = recv(b->fd, b->buf + b->len, b->cap - b->len, MSG_DONTWAIT);
        if ( n > 0 )
        {
            b->len += (size_t)n;
            continue;
        }
        if ( n == 0 )
            return -ECONNRESET;
        if ( errno != EAGAIN && errno != EINTR )
            return -errno;
        rc = simb_wait(b, POLLIN);
        if ( rc )
            return rc;
    }
}

/* ------------------------------------------------------------------ */
/* Values                                                             */

/* A whole decimal uint64_t: digits only. */
static int simb_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if ( !*s )
        return -EINVAL;
    for ( ; *s; s++ )
    {
        unsigned int d = (unsigned int)(*s - '0');

        if ( d > 9 || v > (UINT64_MAX - d) / 10 )
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int simb_u32(const char *s, uint32_t *out)
{
    uint64_t v;

    if ( simb_u64(s, &v) || v > UINT32_MAX )
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/*
 * Percent-decode @s into the scratch buffer; *@len is the result's length.
 * -EBADMSG for a bad escape or an encoded NUL (a name holding one would be
 * cut short by every C consumer), -ENOMEM.
 */
static int simb_decode(struct simb *b, const char *s, const char **out,
                       size_t *len)
{
    size_t n = strlen(s);
    long l;

    if ( n + 1 > b->dec_cap )
    {
        char *p = realloc(b->dec, n + 1);

        if ( !p )
            return -ENOMEM;
        b->dec = p;
        b->dec_cap = n + 1;
    }
    l = hex_unescape(b->dec, s);
    if ( l < 0 )
        return -EBADMSG;
    *out = b->dec;
    *len = (size_t)l;
    return 0;
}

/* A uuid as text, lower-cased into @out: 0 or -EINVAL. */
static int simb_uuid(const char *s, char out[ACCT_UUID_LEN + 1])
{
    return hex_uuid_parse(s, out);
}

/*
 * Split @line (modified) into "key=value" tokens after its first @skip
 * words ("dom", "OK SAMPLE"), into b->toks; returns how many, or -ENOMEM
 * / -EBADMSG (a token without '=').  Runs of spaces are one separator.
 */
static int simb_tokens(struct simb *b, char *line, unsigned int skip)
{
    size_t n = 0;
    char *save = NULL, *t;

    for ( t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save) )
    {
        char *eq;

        if ( skip )
        {
            skip--;
            continue;
        }
        eq = strchr(t, '=');
        if ( !eq )
            return -EBADMSG;
        *eq = '\0';
        if ( n == b->toks_cap )
        {
            size_t cap = b->toks_cap ? b->toks_cap * 2 : 32;
            struct simb_tok *tk = realloc(b->toks, cap * sizeof(*tk));

            if ( !tk )
                return -ENOMEM;
            b->toks = tk;
            b->toks_cap = cap;
        }
        b->toks[n].key = t;
        b->toks[n].val = eq + 1;
        n++;
    }
    return n > INT32_MAX ? -EBADMSG : (int)n;
}

/* The value of @key among @n tokens, or NULL. */
static const char *simb_get(const struct simb *b, int n, const char *key)
{
    int i;

    for ( i = 0; i < n; i++ )
        if ( !strcmp(b->toks[i].key, key) )
            return b->toks[i].val;
    return NULL;
}

/* Fill @n uint64_t from "a,b,c" (exactly @n of them); -EBADMSG else. */
static int simb_list(const char *s, uint64_t *v, size_t n)
{
    char num[24];
    size_t i;

    for ( i = 0; i < n; i++ )
    {
        size_t len = strcspn(s, ",");

        if ( len == 0 || len >= sizeof(num) )
            return -EBADMSG;
        memcpy(num, s, len);
        num[len] = '\0';
        if ( simb_u64(num, &v[i]) )
            return -EBADMSG;
        s += len;
        if ( i + 1 < n )
        {
            if ( *s != ',' )
                return -EBADMSG;
            s++;
        }
    }
    return *s ? -EBADMSG : 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                           */

/* Each line of a reply after its status line goes to @line. */
struct simb_reply {
    int (*status)(struct simb *b, void *ctx, char *line);
    int (*line)(struct simb *b, void *ctx, char *line);
    void *ctx;
};

static const struct {
    const char *name;
    int err;
} simb_errs[] = {
    { "ENOENT", ENOENT }, { "EINVAL", EINVAL }, { "EOPNOTSUPP", EOPNOTSUPP },
    { "EBUSY", EBUSY }, { "E2BIG", E2BIG }, { "ENOMEM", ENOMEM },
};

/* "ERR CODE why" as -errno; -EPROTO for a code we do not know. */
static int simb_err_code(const char *line)
{
    size_t i, len = strcspn(line + 4, " ");

    for ( i = 0; i < sizeof(simb_errs) / sizeof(simb_errs[0]); i++ )
        if ( strlen(simb_errs[i].name) == len &&
             !strncmp(line + 4, simb_errs[i].name, len) )
            return -simb_errs[i].err;
    return -EPROTO;
}

/*
 * Send @req (with its newline) and read the whole reply.  Returns the
 * host's error (-ENOENT...), the first error of a callback (the reply is
 * still read to its end), or a connection error: -ECONNRESET / -EPIPE /
 * -ENOTCONN when it is dead, -ETIMEDOUT, -EPROTO, -ENOMEM.  *@in_step
 * says whether the reply was read to its END, so the next one can follow.
 */
static int simb_exchange(struct simb *b, const char *req,
                         const struct simb_reply *r, bool *in_step)
{
    char *line;
    int rc, first = 0;

    *in_step = false;
    rc = simb_send(b, req, strlen(req));
    if ( !rc )
        rc = simb_line(b, &line);
    if ( rc )
        return rc;
    if ( !strncmp(line, "ERR ", 4) )
        first = simb_err_code(line);
    else if ( strncmp(line, "OK ", 3) )
        first = -EPROTO;
    else if ( r && r->status )
        first = r->status(b, r->ctx, line);
    for ( ;; )
    {
        rc = simb_line(b, &line);
        if ( rc )
            return rc;
        if ( !strcmp(line, "END") )
        {
            *in_step = true;
            return first;
        }
        if ( !first && r && r->line )
            first = r->line(b, r->ctx, line);
    }
}

static int simb_ping_status(struct simb *b, void *ctx, char *line);

struct simb_ping {
    struct acct_sim_info *info;
    char scenario[PATH_MAX];            /* the host's, absolute */
};

/*
 * A host we connect to anew may be another one: ours restarted (a reboot,
 * fine: its boot id tells the collector) or a host of another scenario
 * left at the socket, whose counters are not ours to bill (-EADDRINUSE).
 * One PING on the fresh connection says which.
 */
static int simb_verify(struct simb *b)
{
    struct acct_sim_info info;
    struct simb_ping pg = { .info = &info };
    const struct simb_reply r = { .status = simb_ping_status, .ctx = &pg };
    bool in_step;
    int rc;

    if ( !b->scenario )
        return 0;
    rc = simb_exchange(b, "PING\n", &r, &in_step);
    if ( !rc && !in_step )
        rc = -EPROTO;
    if ( rc )
        return rc == -EPIPE || rc == -ENOTCONN ? -ECONNRESET : rc;
    if ( pg.scenario[0] && strcmp(b->scenario, pg.scenario) )
        return -EADDRINUSE;
    return 0;
}

/*
 * One request.  A connection that proves dead (the host restarted, or
 * closed it) is made again once and the request repeated; one left out of
 * step (timeout, garbage) is dropped, for the next call to make anew.
 * @reset, if given, runs before each attempt on @r's context.  No host to
 * connect to is -ECONNRESET.
 */
static int simb_call(struct simb *b, const char *req,
                     const struct simb_reply *r, void (*reset)(void *ctx))
{
    int attempt, rc = -ECONNRESET;
    bool in_step;

    for ( attempt = 0; attempt < 2; attempt++ )
    {
        if ( b->fd < 0 )
        {
            int64_t now = simb_now_ms();

            if ( now < b->retry_at_ms )
                return -ECONNRESET;
            rc = simb_connect(b);
            if ( rc == -ENOENT || rc == -ECONNREFUSED )
            {
                /* The host is down (rebooting, perhaps): back off. */
                b->backoff_ms = b->backoff_ms
                    ? (b->backoff_ms * 2 > SIMB_BACKOFF_MAX_MS
                       ? SIMB_BACKOFF_MAX_MS : b->backoff_ms * 2)
                    : SIMB_BACKOFF_MIN_MS;
                b->retry_at_ms = now + b->backoff_ms;
                return -ECONNRESET;
            }
            if ( rc )
                return rc;
            b->backoff_ms = 0;
            b->retry_at_ms = 0;
            rc = simb_verify(b);
            if ( rc )
            {
                simb_disconnect(b);
                return rc;
            }
        }
        if ( reset )
            reset(r->ctx);
        rc = simb_exchange(b, req, r, &in_step);
        if ( in_step )
            return rc;
        simb_disconnect(b);
        if ( rc != -ECONNRESET && rc != -EPIPE && rc != -ENOTCONN )
            return rc;
    }
    return -ECONNRESET;
}

/* ------------------------------------------------------------------ */
/* SAMPLE                                                             */

struct simb_sample {
    struct acct_sample *out;
    uint32_t count;                     /* the status line's */
    uint32_t seen;
};

static int simb_sample_status(struct simb *b, void *ctx, char *line)
{
    struct simb_sample *s = ctx;
    const char *count, *t;
    uint64_t time_ns;
    int n = simb_tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    count = simb_get(b, n, "count");
    t = simb_get(b, n, "time_ns");
    if ( !count || !t || simb_u32(count, &s->count) ||
         simb_u64(t, &time_ns) )
        return -EPROTO;
    s->out->time_ns = time_ns;
    /* A host from before pCPU counts has none: 0 (not known). */
    if ( (t = simb_get(b, n, "pcpus")) && simb_u32(t, &s->out->nr_pcpus) )
        return -EPROTO;
    /* A host from before boot ids has none: "" (not known). */
    if ( (t = simb_get(b, n, "boot_id")) )
    {
        const char *dec;
        size_t len, i;

        if ( simb_decode(b, t, &dec, &len) || !len ||
             len > ACCT_BOOT_ID_MAX )
            return -EPROTO;
        for ( i = 0; i < len; i++ )
            if ( dec[i] < 0x21 || dec[i] > 0x7e )
                return -EPROTO;
        memcpy(s->out->boot_id, dec, len + 1);
    }
    return 0;
}

static const struct {
    const char *name;
    enum acct_dom_state state;
} simb_states[] = {
    { "running", ACCT_DOM_RUNNING }, { "blocked", ACCT_DOM_BLOCKED },
    { "paused", ACCT_DOM_PAUSED }, { "shutdown", ACCT_DOM_SHUTDOWN },
    { "crashed", ACCT_DOM_CRASHED }, { "dying", ACCT_DOM_DYING },
};

/* A string field into the sample; NULL and *@rc set if it cannot be. */
static const char *simb_str(struct simb *b, struct acct_sample *s,
                            const char *v, int *rc)
{
    const char *dec, *p;
    size_t len;
    int r = simb_decode(b, v, &dec, &len);

    if ( r )
    {
        *rc = r;
        return NULL;
    }
    p = acct_sample_str(s, dec, len);
    if ( !p )
        *rc = -ENOMEM;
    return p;
}

/* "vbd=ID,RD_REQS,WR_REQS,RD_SECTORS,WR_SECTORS" */
static int simb_vbd(const char *v, struct acct_vbd *d)
{
    uint64_t f[5];

    if ( simb_list(v, f, 5) || f[0] > UINT32_MAX )
        return -EBADMSG;
    d->id = (uint32_t)f[0];
    d->rd_reqs = f[1];
    d->wr_reqs = f[2];
    d->rd_sectors = f[3];
    d->wr_sectors = f[4];
    return 0;
}

/* "vif=ID,RX_BYTES,RX_PKTS,RX_ERRS,RX_DROP,TX_BYTES,TX_PKTS,TX_ERRS,
 * TX_DROP" */
static int simb_vif(const char *v, struct acct_vif *d)
{
    uint64_t f[9];

    if ( simb_list(v, f, 9) || f[0] > UINT32_MAX )
        return -EBADMSG;
    d->id = (uint32_t)f[0];
    d->rx_bytes = f[1];
    d->rx_pkts = f[2];
    d->rx_errs = f[3];
    d->rx_drop = f[4];
    d->tx_bytes = f[5];
    d->tx_pkts = f[6];
    d->tx_errs = f[7];
    d->tx_drop = f[8];
    return 0;
}

/*
 * The fields of one "dom" line into @d.  Returns 0, -EBADMSG (the line is
 * wrong: @d keeps what could be read) or -ENOMEM.
 */
static int simb_dom_fields(struct simb *b, struct acct_sample *s,
                           struct acct_domain *d, int n)
{
    const char *v;
    uint64_t *ns, *on;
    uint32_t nvbd = 0, nvif = 0, nr;
    int i, rc = 0;
    size_t k;

    /* Identity first, so even a bad line says whose it is. */
    v = simb_get(b, n, "uuid");
    if ( !v || simb_uuid(v, d->uuid) )
        rc = -EBADMSG;
    v = simb_get(b, n, "name");
    d->name = v ? simb_str(b, s, v, &rc) : NULL;
    if ( !v )
        rc = -EBADMSG;
    v = simb_get(b, n, "tenant");
    if ( v )
        d->tenant_key = simb_str(b, s, v, &rc);
    v = simb_get(b, n, "domid");
    if ( !v || simb_u32(v, &d->domid) )
        rc = -EBADMSG;
    /* Optional: a host from before creation times has none. */
    v = simb_get(b, n, "created_ns");
    if ( v && simb_u64(v, &d->created_ns) )
        rc = -EBADMSG;
    if ( rc )
        return rc;

    v = simb_get(b, n, "state");
    for ( k = 0; v && k < sizeof(simb_states) / sizeof(simb_states[0]); k++ )
        if ( !strcmp(v, simb_states[k].name) )
            break;
    if ( !v || k == sizeof(simb_states) / sizeof(simb_states[0]) )
        return -EBADMSG;
    d->state = simb_states[k].state;

    v = simb_get(b, n, "cpu_ns");
    if ( !v || simb_u64(v, &d->cpu_ns) )
        return -EBADMSG;
    v = simb_get(b, n, "vcpus");
    if ( !v || simb_u32(v, &nr) || nr > 65536 )
        return -EBADMSG;
    v = simb_get(b, n, "online_vcpus");
    if ( !v || simb_u32(v, &d->online_vcpus) || d->online_vcpus > nr )
        return -EBADMSG;
    /* Never NULL, even for a first line of 0 vCPUs: b->nums + nr below
     * would be NULL + 0, undefined. */
    if ( !b->nums || 2 * (size_t)nr > b->nums_cap )
    {
        size_t cap = nr ? 2 * (size_t)nr : 2;
        uint64_t *p = realloc(b->nums, cap * sizeof(*p));

        if ( !p )
            return -ENOMEM;
        b->nums = p;
        b->nums_cap = cap;
    }
    ns = b->nums;
    on = b->nums + nr;
    if ( nr && (!(v = simb_get(b, n, "vcpu_ns")) || simb_list(v, ns, nr) ||
                !(v = simb_get(b, n, "vcpu_online")) || simb_list(v, on, nr)) )
        return -EBADMSG;
    d->vcpus = acct_sample_array(s, nr, sizeof(*d->vcpus));
    if ( !d->vcpus )
        return -ENOMEM;
    d->nr_vcpus = nr;
    for ( k = 0; k < nr; k++ )
    {
        if ( on[k] > 1 )
            return -EBADMSG;
        d->vcpus[k].cpu_ns = ns[k];
        d->vcpus[k].online = on[k];
    }

    if ( !(v = simb_get(b, n, "mem_cur_bytes")) ||
         simb_u64(v, &d->mem_cur_bytes) ||
         !(v = simb_get(b, n, "mem_max_bytes")) ||
         simb_u64(v, &d->mem_max_bytes) ||
         !(v = simb_get(b, n, "mem_target_bytes")) ||
         simb_u64(v, &d->mem_target_bytes) )
        return -EBADMSG;

    for ( i = 0; i < n; i++ )
    {
        nvbd += !strcmp(b->toks[i].key, "vbd");
        nvif += !strcmp(b->toks[i].key, "vif");
    }
    d->vbds = acct_sample_array(s, nvbd, sizeof(*d->vbds));
    d->vifs = acct_sample_array(s, nvif, sizeof(*d->vifs));
    if ( !d->vbds || !d->vifs )
        return -ENOMEM;
    for ( i = 0; i < n && !rc; i++ )
    {
        if ( !strcmp(b->toks[i].key, "vbd") )
            rc = simb_vbd(b->toks[i].val, &d->vbds[d->nr_vbds++]);
        else if ( !strcmp(b->toks[i].key, "vif") )
            rc = simb_vif(b->toks[i].val, &d->vifs[d->nr_vifs++]);
    }
    return rc;
}

static int simb_sample_line(struct simb *b, void *ctx, char *line)
{
    struct simb_sample *s = ctx;
    struct acct_domain *d;
    int n, rc;

    if ( strncmp(line, "dom ", 4) )
        return 0;       /* a line kind we do not know: from a newer host */
    d = acct_sample_add(s->out);
    if ( !d )
        return -ENOMEM;
    s->seen++;
    n = simb_tokens(b, line, 1);
    rc = n < 0 ? n : simb_dom_fields(b, s->out, d, n);
    if ( rc )
    {
        /* Counters of a bad line are not to be trusted, any of them. */
        d->error = rc == -ENOMEM ? -ENOMEM : -EBADMSG;
        d->cpu_ns = 0;
        d->nr_vcpus = d->online_vcpus = d->nr_vbds = d->nr_vifs = 0;
        if ( !d->name )
            d->name = "";
    }
    return 0;
}

static void simb_sample_reset(void *ctx)
{
    struct simb_sample *s = ctx;

    acct_sample_reset(s->out);
    s->count = s->seen = 0;
}

static struct simb *simb_of(void *state)
{
    struct simb *b = state;

    return b && b->magic == SIMB_MAGIC ? b : NULL;
}

static int sim_sample(void *state, struct acct_sample *out)
{
    struct simb *b = simb_of(state);
    struct simb_sample s = { .out = out };
    const struct simb_reply r = {
        .status = simb_sample_status,
        .line = simb_sample_line,
        .ctx = &s,
    };
    int rc;

    acct_sample_reset(out);
    if ( !b )
        return -EINVAL;
    rc = simb_call(b, "SAMPLE\n", &r, simb_sample_reset);
    if ( !rc && s.seen != s.count )
        rc = -EPROTO;   /* the host said how many; a line went missing */
    if ( rc )
        acct_sample_reset(out);
    return rc;
}

/* ------------------------------------------------------------------ */
/* GET and SET                                                        */

struct simb_sched {
    uint32_t weight, cap_pct;
};

static int simb_get_status(struct simb *b, void *ctx, char *line)
{
    struct simb_sched *g = ctx;
    const char *w, *c;
    int n = simb_tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    w = simb_get(b, n, "weight");
    c = simb_get(b, n, "cap_pct");
    if ( !w || !c || simb_u32(w, &g->weight) || simb_u32(c, &g->cap_pct) )
        return -EPROTO;
    return 0;
}

static int sim_set_sched(void *state, const char *uuid, uint32_t weight,
                         uint32_t cap_pct)
{
    struct simb *b = simb_of(state);
    char u[ACCT_UUID_LEN + 1], req[128];

    if ( !b )
        return -EINVAL;
    /* Checked, so nothing the caller passes can forge a request. */
    if ( !uuid || simb_uuid(uuid, u) )
        return -ENOENT;
    snprintf(req, sizeof(req), "SET %s %u %u\n", u, weight, cap_pct);
    return simb_call(b, req, NULL, NULL);
}

static int sim_get_sched(void *state, const char *uuid, uint32_t *weight,
                         uint32_t *cap_pct)
{
    struct simb *b = simb_of(state);
    struct simb_sched g = { 0, 0 };
    const struct simb_reply r = { .status = simb_get_status, .ctx = &g };
    char u[ACCT_UUID_LEN + 1], req[128];
    int rc;

    if ( !b )
        return -EINVAL;
    if ( !uuid || simb_uuid(uuid, u) )
        return -ENOENT;
    snprintf(req, sizeof(req), "GET %s\n", u);
    rc = simb_call(b, req, &r, NULL);
    if ( !rc )
    {
        *weight = g.weight;
        *cap_pct = g.cap_pct;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* TRUTH, PING, SHUTDOWN                                              */

static const char *const simb_lives[] = {
    [ACCT_SIM_PENDING] = "pending",
    [ACCT_SIM_ALIVE] = "alive",
    [ACCT_SIM_GONE] = "gone",
};

static const char *const simb_ends[] = {
    [ACCT_SIM_END_NONE] = "none",
    [ACCT_SIM_END_REBOOT] = "reboot",
    [ACCT_SIM_END_MIGRATE] = "migrate",
    [ACCT_SIM_END_DESTROY] = "destroy",
};

/* Index of @v in @names[@n], or -1. */
static int simb_enum(const char *v, const char *const *names, int n)
{
    int i;

    for ( i = 0; v && i < n; i++ )
        if ( !strcmp(v, names[i]) )
            return i;
    return -1;
}

struct simb_truth {
    struct acct_sim_truth *t;
    uint32_t want;                      /* domains the status line promised */
    uint32_t inc_want;                  /* incarnations of the last one */
};

static int simb_truth_status(struct simb *b, void *ctx, char *line)
{
    struct simb_truth *tr = ctx;
    const char *count, *tm;
    int n = simb_tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    count = simb_get(b, n, "count");
    tm = simb_get(b, n, "time_ns");
    if ( !count || !tm || simb_u32(count, &tr->want) ||
         tr->want > (1u << 24) || simb_u64(tm, &tr->t->time_ns) )
        return -EPROTO;
    tr->t->domains = calloc(tr->want ? tr->want : 1,
                            sizeof(*tr->t->domains));
    return tr->t->domains ? 0 : -ENOMEM;
}

/* "truth uuid=U name=N life=L cpu_ns=C incarnations=K" */
static int simb_truth_dom(struct simb *b, struct simb_truth *tr, int n)
{
    struct acct_sim_truth *t = tr->t;
    struct acct_sim_truth_dom *d;
    const char *v, *dec;
    size_t len;
    int life;

    if ( t->nr_domains == tr->want ||
         (t->nr_domains && t->domains[t->nr_domains - 1].nr_inc !=
                           tr->inc_want) )
        return -EPROTO;
    d = &t->domains[t->nr_domains];
    life = simb_enum(simb_get(b, n, "life"), simb_lives, 3);
    if ( !(v = simb_get(b, n, "uuid")) || simb_uuid(v, d->uuid) ||
         life < 0 || !(v = simb_get(b, n, "cpu_ns")) ||
         simb_u64(v, &d->cpu_ns) ||
         !(v = simb_get(b, n, "incarnations")) ||
         simb_u32(v, &tr->inc_want) || tr->inc_want > (1u << 24) ||
         !(v = simb_get(b, n, "name")) || simb_decode(b, v, &dec, &len) )
        return -EPROTO;
    d->life = (enum acct_sim_life)life;
    d->name = malloc(len + 1);
    d->inc = calloc(tr->inc_want ? tr->inc_want : 1, sizeof(*d->inc));
    t->nr_domains++;            /* now truth_free frees what it holds */
    if ( !d->name || !d->inc )
        return -ENOMEM;
    memcpy(d->name, dec, len + 1);
    return 0;
}

/* "inc uuid=U domid=D created_ns=T [ended_ns=T] end=E cpu_ns=C" */
static int simb_truth_inc(struct simb *b, struct simb_truth *tr, int n)
{
    struct acct_sim_truth_dom *d;
    struct acct_sim_inc *c;
    const char *v;
    uint64_t ended;
    int end;

    if ( !tr->t->nr_domains )
        return -EPROTO;
    d = &tr->t->domains[tr->t->nr_domains - 1];
    if ( d->nr_inc == tr->inc_want )
        return -EPROTO;
    c = &d->inc[d->nr_inc];
    end = simb_enum(simb_get(b, n, "end"), simb_ends, 4);
    if ( end < 0 || !(v = simb_get(b, n, "domid")) ||
         simb_u32(v, &c->domid) ||
         !(v = simb_get(b, n, "created_ns")) ||
         simb_u64(v, &c->created_ns) ||
         !(v = simb_get(b, n, "cpu_ns")) || simb_u64(v, &c->cpu_ns) )
        return -EPROTO;
    c->end = (enum acct_sim_end)end;
    c->ended_ns = -1;
    if ( (v = simb_get(b, n, "ended_ns")) )
    {
        if ( simb_u64(v, &ended) || ended > INT64_MAX )
            return -EPROTO;
        c->ended_ns = (int64_t)ended;
    }
    d->nr_inc++;
    return 0;
}

static int simb_truth_line(struct simb *b, void *ctx, char *line)
{
    struct simb_truth *tr = ctx;
    bool dom = !strncmp(line, "truth ", 6), inc = !strncmp(line, "inc ", 4);
    int n;

    if ( !dom && !inc )
        return 0;       /* a line kind we do not know: from a newer host */
    n = simb_tokens(b, line, 1);
    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    return dom ? simb_truth_dom(b, tr, n) : simb_truth_inc(b, tr, n);
}

void acct_sim_truth_free(struct acct_sim_truth *t)
{
    uint32_t i;

    if ( !t )
        return;
    for ( i = 0; t->domains && i < t->nr_domains; i++ )
    {
        free(t->domains[i].name);
        free(t->domains[i].inc);
    }
    free(t->domains);
    memset(t, 0, sizeof(*t));
}

static void simb_truth_reset(void *ctx)
{
    struct simb_truth *tr = ctx;

    acct_sim_truth_free(tr->t);
    tr->want = tr->inc_want = 0;
}

int acct_sim_truth(void *state, struct acct_sim_truth *out)
{
    struct simb *b = simb_of(state);
    struct simb_truth tr = { .t = out };
    const struct simb_reply r = {
        .status = simb_truth_status,
        .line = simb_truth_line,
        .ctx = &tr,
    };
    int rc;

    memset(out, 0, sizeof(*out));
    if ( !b )
        return -EINVAL;
    rc = simb_call(b, "TRUTH\n", &r, simb_truth_reset);
    if ( !rc && (out->nr_domains != tr.want ||
                 (out->nr_domains &&
                  out->domains[out->nr_domains - 1].nr_inc != tr.inc_want)) )
        rc = -EPROTO;
    if ( rc )
        acct_sim_truth_free(out);
    return rc;
}

static int simb_ping_status(struct simb *b, void *ctx, char *line)
{
    struct simb_ping *pg = ctx;
    struct acct_sim_info *info = pg->info;
    const char *v, *dec;
    uint64_t pid;
    size_t len;
    int n = simb_tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    if ( !(v = simb_get(b, n, "time_ns")) || simb_u64(v, &info->time_ns) ||
         !(v = simb_get(b, n, "end_ns")) || simb_u64(v, &info->end_ns) ||
         !(v = simb_get(b, n, "pid")) || simb_u64(v, &pid) ||
         pid > INT32_MAX ||
         !(v = simb_get(b, n, "domains")) ||
         simb_u32(v, &info->nr_domains) ||
         !(v = simb_get(b, n, "policy")) || simb_decode(b, v, &dec, &len) ||
         len >= sizeof(info->policy) )
        return -EPROTO;
    memcpy(info->policy, dec, len + 1);
    info->pid = (long)pid;
    if ( (v = simb_get(b, n, "lag_ns")) && simb_u64(v, &info->lag_ns) )
        return -EPROTO;
    pg->scenario[0] = '\0';
    if ( (v = simb_get(b, n, "scenario")) &&
         !simb_decode(b, v, &dec, &len) && len < sizeof(pg->scenario) )
        memcpy(pg->scenario, dec, len + 1);
    return 0;
}

static int simb_ping(struct simb *b, struct simb_ping *pg)
{
    const struct simb_reply r = { .status = simb_ping_status, .ctx = pg };

    memset(pg->info, 0, sizeof(*pg->info));
    return simb_call(b, "PING\n", &r, NULL);
}

int acct_sim_ping(void *state, struct acct_sim_info *out)
{
    struct simb *b = simb_of(state);
    struct simb_ping pg = { .info = out };

    memset(out, 0, sizeof(*out));
    if ( !b )
        return -EINVAL;
    return simb_ping(b, &pg);
}

int acct_sim_shutdown(void *state)
{
    struct simb *b = simb_of(state);
    int rc;

    if ( !b )
        return -EINVAL;
    rc = simb_call(b, "SHUTDOWN\n", NULL, NULL);
    simb_disconnect(b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Opening: connect, or start a host                                  */

static void simb_free(struct simb *b)
{
    if ( !b )
        return;
    simb_disconnect(b);
    free(b->scenario);
    free(b->socket);
    free(b->state_dir);
    free(b->timeout_ms_s);
    free(b->speed);
    free(b->policy);
    free(b->simhost);
    free(b->log);
    free(b->idle_exit_s);
    free(b->buf);
    free(b->dec);
    free(b->toks);
    free(b->nums);
    b->magic = 0;
    free(b);
}

/*
 * The xenos-simhost to run, into @out: simhost=, else $XENOS_SIMHOST, else
 * beside the running program (installed: one bin directory), else where
 * the build tree puts it relative to a program in another of its
 * directories (build/xenosd/xenosd, build/tests/...), else a bare
 * name for execvp to find in PATH.
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
static int simb_spawn(struct simb *b, int64_t deadline_ms, char *err,
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
        int64_t left = deadline_ms - simb_now_ms();
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
            deadline_ms - simb_now_ms() > 0 )
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
static int simb_connect_until(struct simb *b, int64_t deadline_ms)
{
    int rc;

    while ( (rc = simb_connect(b)) &&
            (rc == -ENOENT || rc == -ECONNREFUSED) &&
            deadline_ms - simb_now_ms() > 0 )
        usleep(20000);
    return rc;
}

/* One "key=value" of open's args. */
static int simb_opt(struct simb *b, const char *arg, char *err,
                    size_t errlen)
{
    static const struct {
        const char *key;
        size_t off;
    } opts[] = {
#define SIMB_KEY(k) { #k, offsetof(struct simb, k) }
        SIMB_KEY(scenario), SIMB_KEY(socket), SIMB_KEY(state_dir),
        SIMB_KEY(speed), SIMB_KEY(policy), SIMB_KEY(simhost), SIMB_KEY(log),
        SIMB_KEY(idle_exit_s),
        { "timeout_ms", offsetof(struct simb, timeout_ms_s) },
#undef SIMB_KEY
    };
    const char *eq = strchr(arg, '=');
    size_t klen = eq ? (size_t)(eq - arg) : strlen(arg), i;
    char **slot, *v;

    for ( i = 0; eq && i < sizeof(opts) / sizeof(opts[0]); i++ )
        if ( strlen(opts[i].key) == klen && !strncmp(arg, opts[i].key, klen) )
            break;
    if ( !eq || i == sizeof(opts) / sizeof(opts[0]) )
    {
        snprintf(err, errlen, "unknown option '%.*s' (scenario, socket, "
                 "state_dir, speed, policy, simhost, log, idle_exit_s, "
                 "timeout_ms)", (int)(klen > 64 ? 64 : klen), arg);
        return -EINVAL;
    }
    v = strdup(eq + 1);
    if ( !v )
        return -ENOMEM;
    slot = (char **)((char *)b + opts[i].off);
    free(*slot);
    *slot = v;
    return 0;
}

/* Options into @b, checked; the socket path chosen. */
static int simb_opts(struct simb *b, const char *const *args, char *err,
                     size_t errlen)
{
    char path[PATH_MAX];
    int rc, w;

    for ( ; args && *args; args++ )
    {
        rc = simb_opt(b, *args, err, errlen);
        if ( rc )
            return rc;
    }
    if ( b->timeout_ms_s )
    {
        char *end;
        long ms = strtol(b->timeout_ms_s, &end, 10);

        if ( end == b->timeout_ms_s || *end || ms < 1 || ms > 600000 )
        {
            snprintf(err, errlen, "timeout_ms must be 1..600000, not '%.32s'",
                     b->timeout_ms_s);
            return -EINVAL;
        }
        b->timeout_ms = (int)ms;
    }
    if ( b->scenario )
    {
        /* Absolute: the host runs elsewhere, and PING names it so. */
        if ( !realpath(b->scenario, path) )
        {
            rc = -errno;
            snprintf(err, errlen, "scenario %.200s: %s", b->scenario,
                     strerror(-rc));
            return rc;
        }
        free(b->scenario);
        b->scenario = strdup(path);
        if ( !b->scenario )
            return -ENOMEM;
    }
    if ( b->socket )
        w = snprintf(b->sock, sizeof(b->sock), "%s", b->socket);
    else if ( b->state_dir )
        w = snprintf(b->sock, sizeof(b->sock), "%s/%s", b->state_dir,
                     SIMB_SOCKET_NAME);
    else
        w = snprintf(b->sock, sizeof(b->sock), "%s", SIMB_SOCKET_DEFAULT);
    if ( w < 0 || (size_t)w >= sizeof(b->sock) )
    {
        snprintf(err, errlen, "socket path too long (%zu bytes at most)",
                 sizeof(b->sock) - 1);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* The host at the socket must run our scenario, if we have one: a host
 * left by another test or daemon would give another host's truth. */
static int simb_check(struct simb *b, char *err, size_t errlen)
{
    struct acct_sim_info info;
    struct simb_ping pg = { .info = &info };
    int rc = simb_ping(b, &pg);

    if ( rc )
    {
        snprintf(err, errlen, "%s: no answer to PING: %s", b->sock,
                 strerror(-rc));
        return rc;
    }
    if ( b->scenario && pg.scenario[0] && strcmp(b->scenario, pg.scenario) )
    {
        snprintf(err, errlen, "%s serves %.200s, not %.200s", b->sock,
                 pg.scenario, b->scenario);
        return -EADDRINUSE;
    }
    return 0;
}

static int sim_open(const char *const *args, void **state, char *err,
                    size_t errlen)
{
    struct simb *b = calloc(1, sizeof(*b));
    int64_t deadline;
    int rc;

    *state = NULL;
    if ( errlen )
        err[0] = '\0';
    if ( !b )
        return -ENOMEM;
    b->magic = SIMB_MAGIC;
    b->fd = -1;
    b->timeout_ms = SIMB_TIMEOUT_MS;
    rc = simb_opts(b, args, err, errlen);
    if ( rc )
        goto out_free;

    deadline = simb_now_ms() + SIMB_START_MS;
    rc = simb_connect(b);
    if ( (rc == -ENOENT || rc == -ECONNREFUSED) && !b->scenario )
    {
        snprintf(err, errlen, "no simulated host at %s, and no scenario= "
                 "to start one", b->sock);
        goto out_free;
    }
    if ( rc == -ENOENT || rc == -ECONNREFUSED )
    {
        rc = simb_spawn(b, deadline, err, errlen);
        if ( !rc )
        {
            rc = simb_connect_until(b, deadline);
            if ( rc )
                snprintf(err, errlen, "%s: %s", b->sock, strerror(-rc));
        }
        else if ( rc == -ECHILD && !simb_connect(b) )
        {
            /* A host started by another caller at the same moment won
             * the socket and ours gave up: use that one. */
            rc = 0;
            err[0] = '\0';
        }
        if ( rc )
            goto out_free;
    }
    else if ( rc )
    {
        snprintf(err, errlen, "connect %s: %s", b->sock, strerror(-rc));
        goto out_free;
    }
    rc = simb_check(b, err, errlen);
    if ( rc )
        goto out_free;
    *state = b;
    return 0;

 out_free:
    simb_free(b);
    return rc;
}

static void sim_close(void *state)
{
    simb_free(simb_of(state));
}

const struct acct_backend_ops acct_backend_sim = {
    .version = ACCT_BACKEND_V1,
    .name = "sim",
    .open = sim_open,
    .sample = sim_sample,
    .set_sched = sim_set_sched,
    .get_sched = sim_get_sched,
    .close = sim_close,
};
