/*
 * loop.c: xenos-simhost's one thread: a poll loop over the listening
 * socket and its clients, advancing simulated time between them (see
 * main.c for the design).  Writes never block: a client that stops
 * reading is dropped after SH_STALL_MS, never waited for.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

static volatile sig_atomic_t sh_signalled;

/* ------------------------------------------------------------------ */
/* The clock, the log and simulated time                              */

uint64_t sh__mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sh__mono_ms(void)
{
    return sh__mono_ns() / 1000000u;
}

void sh__log(struct sh *h, const char *fmt, ...)
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

/* Where simulated time should be now: scaled wall time, stopped at the
 * scenario's end. */
sch_time_t sh__target(const struct sh *h)
{
    unsigned __int128 ns;

    if ( !h->booted )
        return 0;
    ns = (unsigned __int128)(sh__mono_ns() - h->start_wall_ns) *
         h->o.speed_milli / 1000u;

    if ( ns > (unsigned __int128)h->sc.duration_ns )
        return h->sc.duration_ns;
    return (sch_time_t)ns;
}

/* Run towards the target time, for SH_BUDGET_NS at most; h->behind says
 * whether it fell short. */
void sh__advance(struct sh *h)
{
    sch_time_t t = sh__target(h);
    uint64_t start = sh__mono_ns(), stop = start + SH_BUDGET_NS;

    while ( sim_now(h->sim) < t )
    {
        sch_time_t step = sim_now(h->sim) + h->step_ns;
        uint64_t t0 = sh__mono_ns(), spent;

        sim_run_until(h->sim, step < t ? step : t);
        spent = sh__mono_ns() - t0;
        if ( spent > SH_BUDGET_NS / 4 && h->step_ns > SH_STEP_MIN_NS )
            h->step_ns /= 2;
        else if ( spent < SH_BUDGET_NS / 16 && h->step_ns < SH_STEP_MAX_NS )
            h->step_ns *= 2;
        if ( t0 + spent >= stop )
            break;
    }
    h->behind = sim_now(h->sim) < t;
    h->advanced_ms = sh__mono_ms();
}

static bool sh_ended(const struct sh *h)
{
    return sim_now(h->sim) >= h->sc.duration_ns;
}

/* ------------------------------------------------------------------ */
/* Clients                                                            */

void sh__client_close(struct sh *h, unsigned int i)
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
            sh__log(h, "refusing a client: %s", strerror(errno));
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
            sh__refuse(&c->out, "EINVAL", "NUL byte in request");
        else
            sh__request(h, c, c->in);
        memmove(c->in, nl + 1, c->in_len - len - 1);
        c->in_len -= len + 1;
    }
    c->partial_since_ms = c->in_len ? (c->partial_since_ms ?
                                       c->partial_since_ms : now_ms) : 0;
    if ( c->in_len == SH_LINE_MAX )
    {
        sh__refuse(&c->out, "E2BIG", "request line too long");
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
            sh__log(h, "dropping a client: %s", c->out.failed ? "out of memory"
                   : stalled ? "not reading its reply" : "request unfinished");
            sh__client_close(h, i);
            continue;
        }
        i++;
    }
}

/* ------------------------------------------------------------------ */
/* The loop                                                           */

static void sh_on_signal(int sig)
{
    sh_signalled = sig;
}

int sh__signals(sigset_t *old)
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

int sh__loop(struct sh *h, const sigset_t *mask)
{
    struct pollfd pfd[SH_MAX_CLIENTS + 1];
    uint64_t quit_at = 0;
    bool lingering = false;

    h->idle_since_ms = sh__mono_ms();
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
        if ( !lingering || sh__mono_ms() - h->advanced_ms >= SH_LINGER_MAX_MS )
        {
            sh__advance(h);
            lingering = false;
        }
        now_ms = sh__mono_ms();
        sh_reap(h, now_ms);
        if ( sh_signalled )
        {
            sh__log(h, "signal %d: exiting", (int)sh_signalled);
            return 0;
        }
        if ( !sh_socket_ours(h) )
        {
            sh__log(h, "%s was removed or replaced: exiting", h->sock_path);
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
            sh__log(h, "no client for %" PRIu64 " s after the end: exiting",
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
            sh__log(h, "poll: %s", strerror(errno));
            return -errno;
        }
        lingering = false;
        now_ms = sh__mono_ms();
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
                sh__client_close(h, i);
        }
        if ( pfd[0].revents & POLLIN )
            sh_accept(h);
        lingering = served && h->behind;
    }
}
