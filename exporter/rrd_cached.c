/*
 * rrd_cached.c: the RRD store's client of rrdcached: dialling it (a unix
 * socket, or a host and port), and its BATCH and single commands, each
 * sent whole and answered line by line within EXP_RRD_IO_TIMEOUT_MS.
 * librrd's own client has no BATCH: one round trip per interval for all
 * files is why this is ours.  Used by one thread at a time, as the store.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenos/exp_rrd.h>

#include "rrd_impl.h"

int rrdx__connect(struct exp_rrd *r, char *err, size_t errlen)
{
    const char *a = r->daemon;
    int fd, rc;

    if ( !strncmp(a, "unix:", 5) || a[0] == '/' )
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        a += a[0] == '/' ? 0 : 5;
        if ( strlen(a) >= sizeof(sa.sun_path) )
        {
            snprintf(err, errlen, "rrdcached %s: path too long", a);
            return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, a);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if ( fd < 0 )
            return -errno;
        if ( connect(fd, (struct sockaddr *)&sa, sizeof(sa)) )
        {
            rc = -errno;
            snprintf(err, errlen, "rrdcached %s: %s", a, strerror(-rc));
            close(fd);
            return rc;
        }
    }
    else
    {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
        char host[256], port[16];
        const char *colon = strrchr(a, ':');
        int g;

        /* "host", "host:port", "[v6]:port" */
        if ( colon && (a[0] != '[' || colon[-1] == ']') )
        {
            snprintf(host, sizeof(host), "%.*s", (int)(colon - a), a);
            snprintf(port, sizeof(port), "%s", colon + 1);
        }
        else
        {
            snprintf(host, sizeof(host), "%s", a);
            snprintf(port, sizeof(port), "%d", EXP_RRD_RRDCACHED_PORT);
        }
        if ( host[0] == '[' )
        {
            memmove(host, host + 1, strlen(host));
            host[strcspn(host, "]")] = '\0';
        }
        g = getaddrinfo(host, port, &hints, &res);
        if ( g )
        {
            snprintf(err, errlen, "rrdcached %s: %s", a, gai_strerror(g));
            return -EHOSTUNREACH;
        }
        fd = -1;
        rc = -ECONNREFUSED;
        for ( ai = res; ai && fd < 0; ai = ai->ai_next )
        {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
            if ( fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) )
            {
                rc = -errno;
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(res);
        if ( fd < 0 )
        {
            snprintf(err, errlen, "rrdcached %s: %s", a, strerror(-rc));
            return rc;
        }
    }
    r->fd = fd;
    return 0;
}

void rrdx__disconnect(struct exp_rrd *r)
{
    if ( r->fd >= 0 )
        close(r->fd);
    r->fd = -1;
    r->rpos = r->rlen = 0;
}

static int rrdx_send(int fd, const char *buf, size_t len)
{
    while ( len )
    {
        struct pollfd p = { fd, POLLOUT, 0 };
        ssize_t n;

        if ( poll(&p, 1, EXP_RRD_IO_TIMEOUT_MS) <= 0 )
            return -ETIMEDOUT;
        n = send(fd, buf, len, MSG_NOSIGNAL);
        if ( n < 0 && errno == EINTR )
            continue;
        if ( n <= 0 )
            return n < 0 ? -errno : -EPIPE;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Read one reply line into @line (NUL-terminated, newline dropped; a
 * longer line is cut, which only shortens an error message), through
 * r->rbuf: a batch that fails whole answers with a line per update.
 */
static int rrdx_recv_line(struct exp_rrd *r, char *line, size_t len)
{
    size_t n = 0;

    for ( ;; )
    {
        char ch;

        if ( r->rpos == r->rlen )
        {
            struct pollfd p = { r->fd, POLLIN, 0 };
            ssize_t got;

            if ( poll(&p, 1, EXP_RRD_IO_TIMEOUT_MS) <= 0 )
                return -ETIMEDOUT;
            got = read(r->fd, r->rbuf, sizeof(r->rbuf));
            if ( got < 0 && errno == EINTR )
                continue;
            if ( got <= 0 )
                return got < 0 ? -errno : -ECONNRESET;
            r->rpos = 0;
            r->rlen = (size_t)got;
        }
        ch = r->rbuf[r->rpos++];
        if ( ch == '\n' )
            break;
        if ( n + 1 < len )
            line[n++] = ch;
    }
    line[n] = '\0';
    return 0;
}

/* Send r->batch (BATCH body, without the framing) and read the verdict:
 * the number of failed lines, or -errno when the exchange broke. */
int rrdx__batch(struct exp_rrd *r)
{
    char line[512];
    long nerr, i;
    int rc;

    rc = rrdx_send(r->fd, "BATCH\n", 6);
    if ( !rc )
        rc = rrdx_send(r->fd, r->batch.p, r->batch.len);
    if ( !rc )
        rc = rrdx_send(r->fd, ".\n", 2);
    /* "0 Go ahead..." then "N errors" and N lines "<cmd#> <message>" */
    if ( !rc )
        rc = rrdx_recv_line(r, line, sizeof(line));
    if ( !rc && line[0] != '0' )
    {
        rrdx__set_error(r, "rrdcached BATCH: %s", line);
        return -EPROTO;
    }
    if ( !rc )
        rc = rrdx_recv_line(r, line, sizeof(line));
    if ( rc )
        return rc;
    nerr = strtol(line, NULL, 10);
    if ( nerr < 0 )
        return -EPROTO;
    for ( i = 0; i < nerr; i++ )
    {
        rc = rrdx_recv_line(r, line, sizeof(line));
        if ( rc )
            return rc;
        rrdx__set_error(r, "rrdcached: %s", line);
    }
    return (int)(nerr > INT_MAX ? INT_MAX : nerr);
}

/* One command outside a batch; 0 if rrdcached answered with status >= 0. */
int rrdx__command(struct exp_rrd *r, const char *cmd)
{
    char line[512];
    long n, i;
    int rc;

    rc = rrdx_send(r->fd, cmd, strlen(cmd));
    if ( !rc )
        rc = rrdx_recv_line(r, line, sizeof(line));
    if ( rc )
        return rc;
    n = strtol(line, NULL, 10);
    /* a positive status is the number of lines that follow */
    for ( i = 0; i < n; i++ )
        if ( (rc = rrdx_recv_line(r, line, sizeof(line))) )
            return rc;
    if ( n < 0 )
    {
        rrdx__set_error(r, "rrdcached: %s", line);
        return -EIO;
    }
    return 0;
}
