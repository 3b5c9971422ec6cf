/*
 * fuzz_simb.c: the sim backend's reply parser (accounting/backends/sim.c,
 * sim_truth.c and sim_proto.c) on any bytes from the simulated host.  A
 * state is made by hand from the backend's private header and handed to
 * its ops and acct_sim.h calls, so the parser is reached exactly as
 * sample() reaches it: a connected socket whose other end holds the input
 * and is then shut for writing.  The first byte picks the request:
 * SAMPLE, TRUTH, PING or GET; the rest is the host's reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../accounting/backends/sim_private.h"

#include "fuzz.h"

#define FUZZ_SIMB_MAX   (256u << 10)    /* fits the socket's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2], buf_bytes = 2 * FUZZ_SIMB_MAX;
    struct simb *b;
    size_t off = 1;

    if ( size < 1 || size > FUZZ_SIMB_MAX )
        return 0;
    if ( socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) )
        abort();
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf_bytes, sizeof(buf_bytes));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf_bytes, sizeof(buf_bytes));
    while ( off < size )
    {
        ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);

        if ( n <= 0 )
            abort();
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);           /* the reply ends: EOF after it */

    b = calloc(1, sizeof(*b));
    if ( !b )
        abort();
    b->magic = SIMB_MAGIC;
    b->fd = sv[0];
    b->timeout_ms = 100;
    /* a reconnection, after EOF, finds nobody */
    snprintf(b->sock, sizeof(b->sock), "%s/none.sock", fuzz_dir());
    switch ( data[0] % 4 )
    {
    case 0:
    {
        struct acct_sample s;

        acct_sample_init(&s);
        (void)acct_backend_sim.sample(b, &s);
        acct_sample_free(&s);
        break;
    }
    case 1:
    {
        struct acct_sim_truth t;

        memset(&t, 0, sizeof(t));
        if ( acct_sim_truth(b, &t) == 0 )
            acct_sim_truth_free(&t);
        break;
    }
    case 2:
    {
        struct acct_sim_info info;

        (void)acct_sim_ping(b, &info);
        break;
    }
    default:
    {
        uint32_t weight, cap;

        (void)acct_backend_sim.get_sched(b,
                                      "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0",
                                      &weight, &cap);
        break;
    }
    }
    acct_backend_sim.close(b);          /* closes sv[0] */
    close(sv[1]);
    return 0;
}
