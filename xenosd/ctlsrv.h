/*
 * ctlsrv.h: for xenosd (and its tests) only: the control socket's server
 * side, the clients of ctl.h multiplexed on the daemon's one thread.
 *
 * The server never blocks: every client socket is non-blocking and is
 * served when poll() says it is ready, so a client that sends slowly or
 * does not read costs a slot and nothing else.  Each client must send its
 * request line within XD_CTL_REQ_TIMEOUT_MS of connecting and take its
 * whole reply within XD_CTL_REPLY_TIMEOUT_MS of the request, else it is
 * dropped; a line longer than XENOS_CTL_REQ_MAX - 2 bytes is answered
 * "error request too long" and dropped; at most XD_CTL_MAX_CLIENTS are
 * served at once, and a new one takes the slot of the client connected
 * longest ago when all are taken (docs/xenosd.md says why these values).
 */
#ifndef XENOS_ACCT_CTLSRV_H
#define XENOS_ACCT_CTLSRV_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

#define XD_CTL_MAX_CLIENTS      16
#define XD_CTL_REQ_TIMEOUT_MS   2000    /* connect to newline */
#define XD_CTL_REPLY_TIMEOUT_MS 5000    /* newline to the reply's end */
#define XD_CTL_ACCEPT_BURST     32      /* accepts per wake-up */
/* Entries xd_ctl_pollfds() fills: the listening socket, then a slot each. */
#define XD_CTL_NR_POLLFDS       (1 + XD_CTL_MAX_CLIENTS)

/* May the peer on @fd use the socket (its credentials)?  If not, @why
 * (@why_len bytes) gets the reply line that tells it why. */
typedef bool (*xd_ctl_peer_cb)(int fd, char *why, size_t why_len);
/*
 * The reply to request line @req (no newline): *@reply and *@len, which
 * need to stay valid only until the callback returns (the server copies
 * them).  Called on the daemon's thread, between intervals.
 */
typedef void (*xd_ctl_answer_cb)(void *ctx, const char *req,
                                 const char **reply, size_t *len);

struct xd_ctl_client {
    int fd;                             /* -1: a free slot */
    bool replying;                      /* request read, reply going out */
    uint64_t since_ns;                  /* accepted (eviction order) */
    uint64_t deadline_ns;               /* dropped when still here then */
    size_t got;                         /* of req */
    char req[XENOS_CTL_REQ_MAX];
    char *out;                          /* the reply: a copy of ours */
    size_t out_len, out_off;
};

struct xd_ctl {
    int listen_fd;
    xd_ctl_peer_cb allowed;
    xd_ctl_answer_cb answer;
    void *ctx;
    struct xd_ctl_client clients[XD_CTL_MAX_CLIENTS];
    /* Clients dropped, by cause: for tests and the log. */
    uint64_t dropped_timeout, dropped_too_long, dropped_evicted;
};

/* Serve @listen_fd (non-blocking, listening; still the caller's to
 * close): @allowed checks each peer, @answer makes each reply. */
void xd_ctl_init(struct xd_ctl *c, int listen_fd, xd_ctl_peer_cb allowed,
                 xd_ctl_answer_cb answer, void *ctx);

/* Close every client and free their replies. */
void xd_ctl_deinit(struct xd_ctl *c);

/* Fill @p[0..XD_CTL_NR_POLLFDS) for poll(): the listening socket, then
 * one entry per slot (fd -1 for a free one, which poll ignores). */
void xd_ctl_pollfds(const struct xd_ctl *c, struct pollfd *p);

/* Milliseconds from @now_ns until the nearest client deadline (rounded
 * up), or -1 when no client is connected: a poll() timeout. */
int xd_ctl_timeout_ms(const struct xd_ctl *c, uint64_t now_ns);

/*
 * After poll() on the entries xd_ctl_pollfds() filled: accept, read,
 * answer, write what the sockets take, and drop clients past their
 * deadline.  Never blocks.  @now_ns: CLOCK_MONOTONIC.
 */
void xd_ctl_serve(struct xd_ctl *c, const struct pollfd *p,
                  uint64_t now_ns);

#endif /* XENOS_ACCT_CTLSRV_H */
