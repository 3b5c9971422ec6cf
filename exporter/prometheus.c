/*
 * prometheus.c: the Prometheus exporter (exp_prom.h): serving the pages
 * prometheus_render.c renders.
 *
 * Serving: exp_prom_update() renders and gzips (zlib level 1) on the
 * caller's thread into a new page {text, gzip, refs} and swaps it in.  A
 * scrape takes a reference to the current page and hands its bytes to
 * libmicrohttpd without copying; the response's free callback drops the
 * reference, and the last reference frees the page.  So a scrape in
 * progress keeps its bytes, and an update never waits for a scraper.
 * libmicrohttpd runs its own threads (a small epoll thread pool), so no
 * connection, however slow, runs on the daemon's thread: the sampling
 * loop meets the server only in exp_prom_update(), for a pointer swap.
 *
 * Connections: libmicrohttpd's limit alone lets idle connections lock
 * everyone out (at its limit it stops accepting, and a client sending a
 * byte now and then resets its idle timeout forever).  So every
 * connection is listed, least recently active first (accepted, or last
 * began or finished a request), and once more than PROM_CONN_SOFT_LIMIT
 * are open a new one pushes the least recently active out (shutdown() of
 * its socket; libmicrohttpd then closes it), unless that one was active
 * within PROM_CONN_GRACE_NS and no more than PROM_CONN_FIRM_LIMIT are
 * open.  A scrape sends its request as it connects and is answered within
 * a millisecond, so it is always among the most recent, and any number of
 * slow or idle connections can only push each other out.
 * PROM_MAX_CONNECTIONS, above the firm limit, is libmicrohttpd's own
 * (file descriptors).  docs/exporters.md gives the measured figures.
 *
 * Locking: exp_prom.lock protects page, every page's refs, and the
 * /healthz clock.  It is held only to take or drop a reference or to
 * swap a pointer, never while rendering, compressing or sending.
 * exp_prom.conn_lock protects the connection list; a connection's socket
 * is shut down only under it, and libmicrohttpd tells us a connection is
 * closed (we unlist it under the lock) before it closes the socket, so a
 * socket number we hold is never one reused by another.  The two locks
 * are never held together.
 */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include <xenos/text.h>
#include <xenos/exp_prom.h>

#define PROM_NS_PER_S           1000000000ull
#define PROM_GZIP_LEVEL         1       /* measured: 24 ms for 4.8 MB */
#define PROM_THREADS            2       /* libmicrohttpd's pool */
/* Open connections past which a new one pushes the least recently active
 * out (if active longer ago than the grace): far above what Prometheus
 * and a few probes use (one or two each). */
#define PROM_CONN_SOFT_LIMIT    64
/* Active this recently: never pushed out.  A client's request arrives
 * well within it; and a client that connects again whenever pushed out
 * can make us push out at most (open connections / grace) a second,
 * not spin the server (measured: 15,000 a second without it). */
#define PROM_CONN_GRACE_NS      (1000 * 1000000ull)
/* libmicrohttpd's own limit, kept well under the default 1,024 file
 * descriptors of a process.  At it, libmicrohttpd stops accepting, and
 * then nothing would push anyone out: */
#define PROM_MAX_CONNECTIONS    512
/* ...so past this many a new connection pushes the least recently active
 * out even within its grace (the headroom above is for the connections
 * each worker thread accepts in one go, and for a worker's share of the
 * limit: libmicrohttpd splits it between its threads). */
#define PROM_CONN_FIRM_LIMIT    384
/* Idle (no byte either way) this long: closed.  A client sends its
 * request in one go; Prometheus reconnects after an idle close. */
#define PROM_CONN_TIMEOUT_S     5
#define PROM_LISTEN_BACKLOG     128
#define PROM_STALE_MIN_NS       PROM_NS_PER_S
#define PROM_CONTENT_TYPE       "text/plain; version=0.0.4; charset=utf-8"

/* ------------------------------------------------------------------ */
/* Serving                                                             */

/* What scrapes get: one sample's text and its gzip.  Immutable while
 * published; whoever drops the last reference recycles it. */
struct prom_page {
    unsigned int refs;                  /* under exp_prom.lock */
    struct exp_prom *owner;
    char *text, *gz;                    /* !gz_len: serve text only */
    size_t len, gz_len;
    size_t text_cap, gz_cap;            /* allocated */
};

/* An open connection, in exp_prom's list while it may be pushed out. */
struct prom_conn {
    struct prom_conn *prev, *next;      /* under exp_prom.conn_lock */
    struct exp_prom *owner;
    uint64_t active_ns;                 /* last listed (monotonic) */
    int fd;
    bool listed;                        /* in the list (not pushed out) */
};

struct exp_prom {
    struct MHD_Daemon *mhd;
    uint16_t port;
    pthread_mutex_t conn_lock;
    struct prom_conn *conn_head;        /* least recently active */
    struct prom_conn *conn_tail;        /* most recently active */
    unsigned int nr_conns;              /* listed */
    uint64_t conns_pushed_out;
    pthread_mutex_t lock;
    struct prom_page *page;             /* NULL before the first update */
    /*
     * One retired page kept for the next update: its buffers are already
     * faulted in, where fresh ones of a few MB cost ~10 ms of page faults
     * per update on a virtual machine (measured, bench_prom).
     */
    struct prom_page *spare;
    uint64_t good_mono_ns;              /* when a new sample last came */
    uint64_t last_sample_unix_ns;       /* of the last update */
    uint64_t stale_ns;                  /* /healthz's limit */
    z_stream zs;                        /* updater's only; reset each time */
    bool zs_ready;
};

static uint64_t prom_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * PROM_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void prom_page_free(struct prom_page *pg)
{
    if ( !pg )
        return;
    free(pg->text);
    free(pg->gz);
    free(pg);
}

/* A page nobody uses any more becomes the spare, or is freed.  Called
 * with the lock held; returns the page to free after unlocking, or NULL. */
static struct prom_page *prom_page_retire(struct exp_prom *p,
                                          struct prom_page *pg)
{
    if ( p->spare )
        return pg;
    p->spare = pg;
    return NULL;
}

/* Drop a reference; the caller must not hold the lock. */
static void prom_page_put(struct prom_page *pg)
{
    struct exp_prom *p = pg->owner;
    struct prom_page *dead = NULL;

    pthread_mutex_lock(&p->lock);
    if ( --pg->refs == 0 )
        dead = prom_page_retire(p, pg);
    pthread_mutex_unlock(&p->lock);
    prom_page_free(dead);
}

/* libmicrohttpd's free callback of a /metrics response. */
static void prom_response_done(void *cls)
{
    prom_page_put(cls);
}

/* pg->text gzipped at PROM_GZIP_LEVEL into pg->gz (grown if need be);
 * 0, -ENOMEM, -EFBIG when zlib cannot take it in one piece, or -EIO. */
static int prom_gzip(struct exp_prom *p, struct prom_page *pg)
{
    z_stream *zs = &p->zs;
    uLong bound;
    int zrc;

    pg->gz_len = 0;
    if ( pg->len > UINT32_MAX / 2 )
        return -EFBIG;
    if ( !p->zs_ready )
    {
        memset(zs, 0, sizeof(*zs));
        /* windowBits 15 + 16: a gzip header and trailer, not zlib's. */
        if ( deflateInit2(zs, PROM_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
                          Z_DEFAULT_STRATEGY) != Z_OK )
            return -ENOMEM;
        p->zs_ready = true;
    }
    else if ( deflateReset(zs) != Z_OK )
        return -EIO;
    bound = deflateBound(zs, (uLong)pg->len);
    if ( pg->gz_cap < bound )
    {
        char *gz = realloc(pg->gz, bound + bound / 8);

        if ( !gz )
            return -ENOMEM;
        pg->gz = gz;
        pg->gz_cap = bound + bound / 8;
    }
    zs->next_in = (Bytef *)(uintptr_t)pg->text;
    zs->avail_in = (uInt)pg->len;
    zs->next_out = (Bytef *)pg->gz;
    zs->avail_out = (uInt)bound;
    zrc = deflate(zs, Z_FINISH);
    if ( zrc != Z_STREAM_END )
        return -EIO;
    pg->gz_len = zs->total_out;
    return 0;
}

/*
 * Does an Accept-Encoding value accept gzip?  A comma-separated list of
 * codings, each maybe with ";q=..."; "gzip" or "x-gzip" with a q other
 * than 0.  ("*" is not taken: Prometheus names gzip.)
 */
static bool prom_accepts_gzip(const char *ae)
{
    while ( ae && *ae )
    {
        const char *tok, *end;
        size_t n;

        ae += strspn(ae, " \t,");
        tok = ae;
        n = strcspn(tok, " \t;,");
        end = tok + strcspn(tok, ",");
        if ( (n == 4 && !strncasecmp(tok, "gzip", 4)) ||
             (n == 6 && !strncasecmp(tok, "x-gzip", 6)) )
        {
            const char *q = memchr(tok, ';', (size_t)(end - tok));
            bool zero = false;

            if ( q )
            {
                q++;
                q += strspn(q, " \t");
                if ( !strncasecmp(q, "q=", 2) )
                {
                    q += 2;
                    /* q=0, q=0., q=0.0, q=0.00, q=0.000 */
                    zero = *q == '0';
                    for ( q++; zero && q < end && *q != ' ' && *q != '\t';
                          q++ )
                        zero = *q == '.' || *q == '0';
                }
            }
            if ( !zero )
                return true;
        }
        ae = end;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void prom_conn_unlink(struct exp_prom *p, struct prom_conn *pc)
{
    if ( pc->prev )
        pc->prev->next = pc->next;
    else
        p->conn_head = pc->next;
    if ( pc->next )
        pc->next->prev = pc->prev;
    else
        p->conn_tail = pc->prev;
    pc->prev = pc->next = NULL;
    pc->listed = false;
    p->nr_conns--;
}

static void prom_conn_append(struct exp_prom *p, struct prom_conn *pc)
{
    pc->active_ns = prom_mono_ns();
    pc->prev = p->conn_tail;
    pc->next = NULL;
    if ( p->conn_tail )
        p->conn_tail->next = pc;
    else
        p->conn_head = pc;
    p->conn_tail = pc;
    pc->listed = true;
    p->nr_conns++;
}

/* @conn did something: the most recently active now. */
static void prom_conn_touch(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct prom_conn *pc = ci ? ci->socket_context : NULL;
    struct exp_prom *p;

    if ( !pc )
        return;
    p = pc->owner;
    pthread_mutex_lock(&p->conn_lock);
    if ( pc->listed && pc != p->conn_tail )
    {
        prom_conn_unlink(p, pc);
        prom_conn_append(p, pc);
    }
    pthread_mutex_unlock(&p->conn_lock);
}

/* libmicrohttpd's connection notifier: list a new connection (pushing
 * out the least recently active ones past the soft limit), unlist a
 * closed one.  On the connection's worker thread. */
static void prom_conn_notify(void *cls, struct MHD_Connection *conn,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    struct exp_prom *p = cls;
    struct prom_conn *pc = *socket_context;

    if ( toe == MHD_CONNECTION_NOTIFY_CLOSED )
    {
        if ( !pc )
            return;
        pthread_mutex_lock(&p->conn_lock);
        if ( pc->listed )
            prom_conn_unlink(p, pc);
        pthread_mutex_unlock(&p->conn_lock);
        free(pc);
        *socket_context = NULL;
        return;
    }
    if ( toe != MHD_CONNECTION_NOTIFY_STARTED )
        return;
    {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

        /* Out of memory: this one is served, just never pushed out. */
        pc = ci ? calloc(1, sizeof(*pc)) : NULL;
        if ( !pc )
            return;
        pc->owner = p;
        pc->fd = ci->connect_fd;
    }
    *socket_context = pc;
    pthread_mutex_lock(&p->conn_lock);
    prom_conn_append(p, pc);
    while ( p->conn_head != pc &&
            (p->nr_conns > PROM_CONN_FIRM_LIMIT ||
             (p->nr_conns > PROM_CONN_SOFT_LIMIT &&
              pc->active_ns - p->conn_head->active_ns >=
              PROM_CONN_GRACE_NS)) )
    {
        struct prom_conn *old = p->conn_head;

        prom_conn_unlink(p, old);
        /* Its next read or write fails and libmicrohttpd closes it; the
         * socket stays ours to name until then (see Locking). */
        shutdown(old->fd, SHUT_RDWR);
        p->conns_pushed_out++;
    }
    pthread_mutex_unlock(&p->conn_lock);
}

/* libmicrohttpd's request-completed callback: the connection, if kept
 * alive, waits for its next request from now. */
static void prom_request_done(void *cls, struct MHD_Connection *conn,
                              void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)req_cls;
    (void)toe;
    prom_conn_touch(conn);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* What GET / answers: a person who opens the address in a browser finds
 * the two pages there are. */
static const char prom_index_html[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>xenosd</title></head>\n"
    "<body><h1>xenosd</h1>\n"
    "<p><a href=\"/metrics\">/metrics</a>: Prometheus metrics</p>\n"
    "<p><a href=\"/healthz\">/healthz</a>: ok while samples are "
    "recent</p>\n"
    "</body></html>\n";

static enum MHD_Result prom_send_typed(struct MHD_Connection *conn,
                                       unsigned int status,
                                       const char *type, const char *body,
                                       const char *allow)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                           MHD_RESPMEM_PERSISTENT);
    if ( !resp )
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if ( allow )
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result prom_send_static(struct MHD_Connection *conn,
                                        unsigned int status,
                                        const char *body,
                                        const char *allow)
{
    return prom_send_typed(conn, status, "text/plain; charset=utf-8", body,
                           allow);
}

static enum MHD_Result prom_metrics(struct exp_prom *p,
                                    struct MHD_Connection *conn)
{
    struct prom_page *pg;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    bool gz;

    pthread_mutex_lock(&p->lock);
    pg = p->page;
    if ( pg )
        pg->refs++;
    pthread_mutex_unlock(&p->lock);
    if ( !pg )
        return prom_send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "no sample yet\n", NULL);
    gz = pg->gz_len && prom_accepts_gzip(
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_ACCEPT_ENCODING));
    /* The bytes go out from the page itself; the free callback drops the
     * reference when libmicrohttpd is done with them. */
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        gz ? pg->gz_len : pg->len, gz ? pg->gz : pg->text,
        prom_response_done, pg);
    if ( !resp )
    {
        prom_page_put(pg);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            PROM_CONTENT_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                            MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if ( gz )
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                "gzip");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result prom_healthz(struct exp_prom *p,
                                    struct MHD_Connection *conn)
{
    uint64_t good, stale, now = prom_mono_ns();

    pthread_mutex_lock(&p->lock);
    good = p->good_mono_ns;
    stale = p->stale_ns;
    pthread_mutex_unlock(&p->lock);
    if ( !good )
        return prom_send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "no sample yet\n", NULL);
    if ( now - good > stale )
        return prom_send_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "stale: no good sample for 3 intervals\n",
                                NULL);
    return prom_send_static(conn, MHD_HTTP_OK, "ok\n", NULL);
}

static enum MHD_Result prom_handle(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version,
                                   const char *upload_data,
                                   size_t *upload_data_size, void **req_cls)
{
    struct exp_prom *p = cls;
    bool metrics = !strcmp(url, "/metrics");
    bool healthz = !strcmp(url, "/healthz");
    bool index = !strcmp(url, "/");

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    prom_conn_touch(conn);
    if ( !metrics && !healthz && !index )
        return prom_send_static(conn, MHD_HTTP_NOT_FOUND,
                                "not found: try /metrics or /healthz\n",
                                NULL);
    if ( strcmp(method, MHD_HTTP_METHOD_GET) &&
         strcmp(method, MHD_HTTP_METHOD_HEAD) )
        return prom_send_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                "method not allowed\n", "GET, HEAD");
    if ( index )
        return prom_send_typed(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
                               prom_index_html, NULL);
    return metrics ? prom_metrics(p, conn) : prom_healthz(p, conn);
}

/* Split "HOST:PORT" or "[HOST]:PORT" into @host and @port. */
static int prom_split(const char *addr, char *host, size_t hostlen,
                      char *port, size_t portlen)
{
    const char *colon, *h = addr;
    size_t hl;

    if ( *addr == '[' )
    {
        const char *rb = strchr(addr, ']');

        if ( !rb || rb[1] != ':' )
            return -EINVAL;
        h = addr + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    }
    else
    {
        colon = strrchr(addr, ':');
        if ( !colon )
            return -EINVAL;
        hl = (size_t)(colon - addr);
    }
    if ( !hl || hl >= hostlen || !colon[1] || strlen(colon + 1) >= portlen ||
         strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
         atol(colon + 1) > 65535 )
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

/* A listening, non-blocking socket on @addr; its port in *@port. */
static int prom_bind(const char *addr, uint16_t *port, bool *v6,
                     char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res, *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[256], serv[8];
    int fd = -1, rc, one = 1;

    if ( prom_split(addr, host, sizeof(host), serv, sizeof(serv)) )
    {
        snprintf(err, errlen, "listen address '%s': expected HOST:PORT or "
                 "[V6ADDR]:PORT", addr);
        return -EINVAL;
    }
    rc = getaddrinfo(host, serv, &hints, &res);
    if ( rc )
    {
        snprintf(err, errlen, "listen address '%s': %s", addr,
                 gai_strerror(rc));
        return -EINVAL;
    }
    rc = -EADDRNOTAVAIL;
    for ( ai = res; ai; ai = ai->ai_next )
    {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if ( fd < 0 )
        {
            rc = -errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if ( !bind(fd, ai->ai_addr, ai->ai_addrlen) &&
             !listen(fd, PROM_LISTEN_BACKLOG) )
        {
            *v6 = ai->ai_family == AF_INET6;
            break;
        }
        rc = -errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if ( fd < 0 )
    {
        snprintf(err, errlen, "listen on %s: %s", addr, strerror(-rc));
        return rc;
    }
    if ( getsockname(fd, (struct sockaddr *)&ss, &sl) )
    {
        rc = -errno;
        snprintf(err, errlen, "listen on %s: %s", addr, strerror(-rc));
        close(fd);
        return rc;
    }
    *port = ntohs(ss.ss_family == AF_INET6
                  ? ((struct sockaddr_in6 *)&ss)->sin6_port
                  : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int exp_prom_start(struct exp_prom **out, const char *addr, char *err,
                   size_t errlen)
{
    struct exp_prom *p;
    bool v6 = false;
    int fd, rc;

    if ( !addr )
        addr = EXP_PROM_LISTEN_DEFAULT;
    p = calloc(1, sizeof(*p));
    if ( !p )
    {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = pthread_mutex_init(&p->lock, NULL);
    if ( rc )
    {
        snprintf(err, errlen, "mutex: %s", strerror(rc));
        free(p);
        return -rc;
    }
    rc = pthread_mutex_init(&p->conn_lock, NULL);
    if ( rc )
    {
        snprintf(err, errlen, "mutex: %s", strerror(rc));
        pthread_mutex_destroy(&p->lock);
        free(p);
        return -rc;
    }
    fd = prom_bind(addr, &p->port, &v6, err, errlen);
    if ( fd < 0 )
    {
        rc = fd;
        goto out_free;
    }
    p->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
        (v6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, prom_handle, p,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)PROM_THREADS,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PROM_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PROM_CONN_TIMEOUT_S,
        MHD_OPTION_NOTIFY_CONNECTION, prom_conn_notify, p,
        MHD_OPTION_NOTIFY_COMPLETED, prom_request_done, p,
        MHD_OPTION_END);
    if ( !p->mhd )
    {
        snprintf(err, errlen, "listen on %s: libmicrohttpd did not start",
                 addr);
        close(fd);
        rc = -EIO;
        goto out_free;
    }
    *out = p;
    return 0;

 out_free:
    pthread_mutex_destroy(&p->conn_lock);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return rc;
}

uint16_t exp_prom_port(const struct exp_prom *p)
{
    return p->port;
}

int exp_prom_update(struct exp_prom *p, const struct acct_snapshot *c,
                    const struct exp_info *info)
{
    struct prom_page *pg, *old, *dead = NULL;
    struct txt_buf b;
    uint64_t now, stale;
    int rc;

    if ( !p || !c || !info )
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    pg = p->spare;
    p->spare = NULL;
    pthread_mutex_unlock(&p->lock);
    if ( !pg )
    {
        pg = calloc(1, sizeof(*pg));
        if ( !pg )
            return -ENOMEM;
        pg->owner = p;
    }
    txt_buf_init(&b);
    b.p = pg->text;
    b.cap = pg->text_cap;
    rc = exp_prom_render(&b, c, info);
    pg->text = b.p;
    pg->text_cap = b.cap;
    pg->len = b.len;
    if ( rc )
    {
        pthread_mutex_lock(&p->lock);
        dead = prom_page_retire(p, pg);
        pthread_mutex_unlock(&p->lock);
        prom_page_free(dead);
        return rc;
    }
    /* No gzip (out of memory): scrapes get the plain text. */
    prom_gzip(p, pg);
    pg->refs = 1;                       /* the server's own */

    now = prom_mono_ns();
    stale = EXP_PROM_STALE_INTERVALS * info->interval_ms * 1000000u;
    pthread_mutex_lock(&p->lock);
    old = p->page;
    p->page = pg;
    if ( info->sample_unix_ns &&
         info->sample_unix_ns != p->last_sample_unix_ns )
        p->good_mono_ns = now;
    p->last_sample_unix_ns = info->sample_unix_ns;
    p->stale_ns = stale > PROM_STALE_MIN_NS ? stale : PROM_STALE_MIN_NS;
    if ( old && --old->refs == 0 )
        dead = prom_page_retire(p, old);
    pthread_mutex_unlock(&p->lock);
    prom_page_free(dead);
    return 0;
}

void exp_prom_stop(struct exp_prom *p)
{
    if ( !p )
        return;
    /* Closes the listening socket and every connection; their responses
     * are destroyed, so every scrape's reference is dropped by now. */
    MHD_stop_daemon(p->mhd);
    assert(!p->page || p->page->refs == 1);
    prom_page_free(p->page);
    prom_page_free(p->spare);
    if ( p->zs_ready )
        deflateEnd(&p->zs);
    assert(!p->nr_conns);
    pthread_mutex_destroy(&p->conn_lock);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ------------------------------------------------------------------ */
/* As an exporter of xenosd (exp.h)                                    */

/* Options: prometheus.listen=HOST:PORT (EXP_PROM_LISTEN_DEFAULT; "off":
 * none).  Started after xenosd has blocked its signals: the server's
 * threads inherit the mask, so SIGTERM and SIGHUP reach only its
 * signalfd. */
static int prom_x_open(const struct exp_env *env, void **state, char *msg,
                       size_t msglen)
{
    const char *addr = exp_opt(env, "listen", EXP_PROM_LISTEN_DEFAULT);
    struct exp_prom *p;
    int rc;

    if ( !strcmp(addr, "off") )
        return EXP_OFF;
    rc = exp_prom_start(&p, addr, msg, msglen);
    if ( rc )
        return rc < 0 ? rc : -EINVAL;
    snprintf(msg, msglen, "metrics on http://%s/metrics (port %u)", addr,
             exp_prom_port(p));
    *state = p;
    return 0;
}

static int prom_x_update(void *state, const struct acct_snapshot *s,
                         const struct exp_info *info, char *msg,
                         size_t msglen)
{
    (void)msg;
    (void)msglen;
    return exp_prom_update(state, s, info);
}

static int prom_x_close(void *state, char *msg, size_t msglen)
{
    (void)msg;
    (void)msglen;
    exp_prom_stop(state);
    return 0;
}

const struct exp_ops exp_ops_prometheus = {
    .name = "prometheus",
    .what = "metrics",
    .open = prom_x_open,
    .update = prom_x_update,
    .close = prom_x_close,
};
