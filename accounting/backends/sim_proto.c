/*
 * sim_proto.c: the sim backend's connection to xenos-simhost and the line
 * protocol every request goes through (docs/sim-backend.md).
 *
 * Design: one connection, one request at a time, each reply read to its
 * END line with a timeout on every read (timeout_ms, default 2 s), so a
 * hung host costs a caller seconds, never forever.  A connection found
 * dead (host restarted, socket reset) is made again once per call; requests
 * are idempotent, so repeating one is safe.  After a timeout the stream is
 * out of step, so the connection is dropped and the next call makes a new
 * one.  A host we connect to anew is asked PING first: another scenario's
 * host is not ours to bill.  Values are parsed strictly (digits only,
 * percent-decoding that refuses a NUL).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenos/hex.h>

#include "sim_private.h"

/* ------------------------------------------------------------------ */
/* Connection                                                         */

int64_t simb__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void simb__disconnect(struct simb *b)
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
int simb__connect(struct simb *b)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int64_t end = simb__now_ms() + b->timeout_ms;
    int fd, rc;

    simb__disconnect(b);
    memcpy(a.sun_path, b->sock, sizeof(a.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if ( fd < 0 )
        return -errno;
    /* A UNIX socket with a full backlog says EAGAIN: try again a while. */
    while ( (rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno
                                                                 : 0) ==
            -EAGAIN && simb__now_ms() < end )
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
    int64_t end = simb__now_ms() + b->timeout_ms, left = b->timeout_ms;
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
        left = end - simb__now_ms();
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
int simb__u64(const char *s, uint64_t *out)
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

int simb__u32(const char *s, uint32_t *out)
{
    uint64_t v;

    if ( simb__u64(s, &v) || v > UINT32_MAX )
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/*
 * Percent-decode @s into the scratch buffer; *@len is the result's length.
 * -EBADMSG for a bad escape or an encoded NUL (a name holding one would be
 * cut short by every C consumer), -ENOMEM.
 */
int simb__decode(struct simb *b, const char *s, const char **out,
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
int simb__uuid(const char *s, char out[ACCT_UUID_LEN + 1])
{
    return hex_uuid_parse(s, out);
}

/*
 * Split @line (modified) into "key=value" tokens after its first @skip
 * words ("dom", "OK SAMPLE"), into b->toks; returns how many, or -ENOMEM
 * / -EBADMSG (a token without '=').  Runs of spaces are one separator.
 */
int simb__tokens(struct simb *b, char *line, unsigned int skip)
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
const char *simb__get(const struct simb *b, int n, const char *key)
{
    int i;

    for ( i = 0; i < n; i++ )
        if ( !strcmp(b->toks[i].key, key) )
            return b->toks[i].val;
    return NULL;
}

/* Fill @n uint64_t from "a,b,c" (exactly @n of them); -EBADMSG else. */
int simb__list(const char *s, uint64_t *v, size_t n)
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
        if ( simb__u64(num, &v[i]) )
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
int simb__call(struct simb *b, const char *req, const struct simb_reply *r,
               void (*reset)(void *ctx))
{
    int attempt, rc = -ECONNRESET;
    bool in_step;

    for ( attempt = 0; attempt < 2; attempt++ )
    {
        if ( b->fd < 0 )
        {
            int64_t now = simb__now_ms();

            if ( now < b->retry_at_ms )
                return -ECONNRESET;
            rc = simb__connect(b);
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
                simb__disconnect(b);
                return rc;
            }
        }
        if ( reset )
            reset(r->ctx);
        rc = simb_exchange(b, req, r, &in_step);
        if ( in_step )
            return rc;
        simb__disconnect(b);
        if ( rc != -ECONNRESET && rc != -EPIPE && rc != -ENOTCONN )
            return rc;
    }
    return -ECONNRESET;
}


static int simb_ping_status(struct simb *b, void *ctx, char *line)
{
    struct simb_ping *pg = ctx;
    struct acct_sim_info *info = pg->info;
    const char *v, *dec;
    uint64_t pid;
    size_t len;
    int n = simb__tokens(b, line, 2);

    if ( n < 0 )
        return n == -ENOMEM ? n : -EPROTO;
    if ( !(v = simb__get(b, n, "time_ns")) || simb__u64(v, &info->time_ns) ||
         !(v = simb__get(b, n, "end_ns")) || simb__u64(v, &info->end_ns) ||
         !(v = simb__get(b, n, "pid")) || simb__u64(v, &pid) ||
         pid > INT32_MAX ||
         !(v = simb__get(b, n, "domains")) ||
         simb__u32(v, &info->nr_domains) ||
         !(v = simb__get(b, n, "policy")) || simb__decode(b, v, &dec, &len) ||
         len >= sizeof(info->policy) )
        return -EPROTO;
    memcpy(info->policy, dec, len + 1);
    info->pid = (long)pid;
    if ( (v = simb__get(b, n, "lag_ns")) && simb__u64(v, &info->lag_ns) )
        return -EPROTO;
    pg->scenario[0] = '\0';
    if ( (v = simb__get(b, n, "scenario")) &&
         !simb__decode(b, v, &dec, &len) && len < sizeof(pg->scenario) )
        memcpy(pg->scenario, dec, len + 1);
    return 0;
}

int simb__ping(struct simb *b, struct simb_ping *pg)
{
    const struct simb_reply r = { .status = simb_ping_status, .ctx = pg };

    memset(pg->info, 0, sizeof(*pg->info));
    return simb__call(b, "PING\n", &r, NULL);
}
