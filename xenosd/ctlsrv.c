/*
 * ctlsrv.c: the control socket's server (ctlsrv.h).
 *
 * Design.  A fixed table of XD_CTL_MAX_CLIENTS slots, each a client in
 * one of two phases: reading its request line, then writing its reply
 * (a private copy, so a re-rendered status never changes bytes already
 * promised) until the reply is out, when the connection is closed (the
 * reply ends at end of stream).  Every socket is non-blocking and each
 * ready one gets one read or one write per wake-up, so no client can hold
 * the daemon's thread for longer than a system call: the trickling client
 * that used to keep xenosd in a blocking read now costs one slot until
 * its deadline.  Deadlines are absolute (from accept, from the request),
 * not idle timeouts, so sending a byte now and then does not extend one.
 * When every slot is taken a new client takes the slot of the one
 * connected longest ago: a client of ours sends its line at once and is
 * answered in well under a millisecond, so the oldest is the one least
 * likely to be a real client, and no number of idle connections can lock
 * a real one out.
 *
 * Locking: none; the daemon's one thread calls everything here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctlsrv.h"

#define XD_CTL_NS_PER_MS        1000000ull

static const char xd_ctl_err_long[] = "error request too long\n";
static const char xd_ctl_err_timeout[] = "error request timed out\n";

void xd_ctl_init(struct xd_ctl *c, int listen_fd, xd_ctl_peer_cb allowed,
                 xd_ctl_answer_cb answer, void *ctx)
{
    unsigned int i;

    memset(c, 0, sizeof(*c));
    c->listen_fd = listen_fd;
    c->allowed = allowed;
    c->answer = answer;
    c->ctx = ctx;
    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
        c->clients[i].fd = -1;
}

/* A best-effort word to a client about to be dropped: one non-blocking
 * send, whatever it takes of @msg. */
static void xd_ctl_say(int fd, const char *msg, size_t len)
{
    ssize_t n = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);

    (void)n;
}

static void xd_ctl_close(struct xd_ctl_client *cl)
{
    if ( cl->fd >= 0 )
        close(cl->fd);
    free(cl->out);
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

void xd_ctl_deinit(struct xd_ctl *c)
{
    unsigned int i;

    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
        xd_ctl_close(&c->clients[i]);
}

void xd_ctl_pollfds(const struct xd_ctl *c, struct pollfd *p)
{
    unsigned int i;

    p[0] = (struct pollfd){ c->listen_fd, POLLIN, 0 };
    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
    {
        const struct xd_ctl_client *cl = &c->clients[i];

        p[1 + i] = (struct pollfd){ cl->fd, cl->replying ? POLLOUT : POLLIN,
                                    0 };
    }
}

int xd_ctl_timeout_ms(const struct xd_ctl *c, uint64_t now_ns)
{
    uint64_t first = UINT64_MAX;
    unsigned int i;

    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
        if ( c->clients[i].fd >= 0 && c->clients[i].deadline_ns < first )
            first = c->clients[i].deadline_ns;
    if ( first == UINT64_MAX )
        return -1;
    if ( first <= now_ns )
        return 0;
    return (int)((first - now_ns + XD_CTL_NS_PER_MS - 1) / XD_CTL_NS_PER_MS);
}

/* Write what the socket takes now; the client is closed when its reply
 * is out or the socket is gone. */
static void xd_ctl_write(struct xd_ctl_client *cl)
{
    while ( cl->out_off < cl->out_len )
    {
        ssize_t n = send(cl->fd, cl->out + cl->out_off,
                         cl->out_len - cl->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) )
            return;
        if ( n <= 0 )
            break;
        cl->out_off += (size_t)n;
    }
    xd_ctl_close(cl);
}

/* The request in cl->req is complete: make its reply and start on it. */
static void xd_ctl_answer(struct xd_ctl *c, struct xd_ctl_client *cl,
                          uint64_t now_ns)
{
    const char *reply = NULL;
    size_t len = 0;

    cl->req[cl->got] = '\0';
    cl->req[strcspn(cl->req, "\r\n")] = '\0';
    c->answer(c->ctx, cl->req, &reply, &len);
    cl->out = malloc(len ? len : 1);
    if ( !cl->out )
    {
        xd_ctl_close(cl);
        return;
    }
    memcpy(cl->out, reply, len);
    cl->out_len = len;
    cl->out_off = 0;
    cl->replying = true;
    cl->deadline_ns = now_ns + XD_CTL_REPLY_TIMEOUT_MS * XD_CTL_NS_PER_MS;
    xd_ctl_write(cl);
}

/* One read of the request line. */
static void xd_ctl_read(struct xd_ctl *c, struct xd_ctl_client *cl,
                        uint64_t now_ns)
{
    ssize_t n = recv(cl->fd, cl->req + cl->got,
                     sizeof(cl->req) - 1 - cl->got, MSG_DONTWAIT);

    if ( n < 0 && (errno == EINTR || errno == EAGAIN ||
                   errno == EWOULDBLOCK) )
        return;
    if ( n < 0 || (n == 0 && !cl->got) )
    {
        xd_ctl_close(cl);
        return;
    }
    if ( n == 0 || memchr(cl->req + cl->got, '\n', (size_t)n) )
    {
        /* A line, or a client that sent its request and shut down its
         * side without a newline: answered as before either way. */
        cl->got += (size_t)n;
        xd_ctl_answer(c, cl, now_ns);
        return;
    }
    cl->got += (size_t)n;
    if ( cl->got == sizeof(cl->req) - 1 )
    {
        c->dropped_too_long++;
        xd_ctl_say(cl->fd, xd_ctl_err_long, sizeof(xd_ctl_err_long) - 1);
        xd_ctl_close(cl);
    }
}

/* A free slot for a new client: the client connected longest ago leaves
 * if there is none. */
static struct xd_ctl_client *xd_ctl_slot(struct xd_ctl *c)
{
    struct xd_ctl_client *oldest = NULL;
    unsigned int i;

    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
    {
        struct xd_ctl_client *cl = &c->clients[i];

        if ( cl->fd < 0 )
            return cl;
        if ( !oldest || cl->since_ns < oldest->since_ns )
            oldest = cl;
    }
    c->dropped_evicted++;
    xd_ctl_close(oldest);
    return oldest;
}

static void xd_ctl_accept(struct xd_ctl *c, uint64_t now_ns)
{
    unsigned int k;

    for ( k = 0; k < XD_CTL_ACCEPT_BURST; k++ )
    {
        char why[192] = "error permission denied\n";
        struct xd_ctl_client *cl;
        int fd = accept4(c->listen_fd, NULL, NULL,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);

        if ( fd < 0 )
            return;     /* EAGAIN: all taken; else try at the next wake */
        if ( !c->allowed(fd, why, sizeof(why)) )
        {
            char drain[XENOS_CTL_REQ_MAX];
            unsigned int n;

            xd_ctl_say(fd, why, strnlen(why, sizeof(why)));
            /* Take what request there is off the socket: closing with it
             * unread would reset the connection, and the client would
             * lose our reason.  Bounded, and never waiting. */
            for ( n = 0; n < 16 && recv(fd, drain, sizeof(drain),
                                        MSG_DONTWAIT) > 0; n++ )
                ;
            close(fd);
            continue;
        }
        cl = xd_ctl_slot(c);
        cl->fd = fd;
        cl->since_ns = now_ns;
        cl->deadline_ns = now_ns + XD_CTL_REQ_TIMEOUT_MS * XD_CTL_NS_PER_MS;
    }
}

void xd_ctl_serve(struct xd_ctl *c, const struct pollfd *p, uint64_t now_ns)
{
    unsigned int i;

    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
    {
        struct xd_ctl_client *cl = &c->clients[i];

        /* p[] was filled before poll(): skip a slot that changed hands */
        if ( cl->fd < 0 || p[1 + i].fd != cl->fd || !p[1 + i].revents )
            continue;
        if ( cl->replying )
            xd_ctl_write(cl);
        else
            xd_ctl_read(c, cl, now_ns);
    }
    for ( i = 0; i < XD_CTL_MAX_CLIENTS; i++ )
    {
        struct xd_ctl_client *cl = &c->clients[i];

        if ( cl->fd < 0 || cl->deadline_ns > now_ns )
            continue;
        c->dropped_timeout++;
        if ( !cl->replying )
            xd_ctl_say(cl->fd, xd_ctl_err_timeout,
                       sizeof(xd_ctl_err_timeout) - 1);
        xd_ctl_close(cl);
    }
    /* Last, so a slot freed above is there for a new client. */
    if ( p[0].revents & POLLIN )
        xd_ctl_accept(c, now_ns);
}
