/*
 * xenosctl.c: talk to a running xenosd over its control socket.
 *
 *   xenosctl [--state-dir D] status [--json]
 *   xenosctl [--state-dir D] top [--once] [--delay S] [--iterations N]
 *   xenosctl [--state-dir D] graph TENANT|DOMAIN [--since 1h] -o OUT.png
 *            [--rrd-dir R] [--rrdcached ADDR] [--tenant|--domain]
 *
 * `top` is xentop grouped by tenant: each tenant's line (weight, cap, CPU,
 * memory, disk and network rates), then its domains.  Live (the screen is
 * redrawn every --delay seconds) when stdout is a terminal; --once prints
 * one snapshot for scripts.  Names arrive escaped by xenosd (cfg_escape),
 * and every field is escaped again for the terminal (txt_tty_escape), so
 * nothing a guest puts in its name can drive the terminal or reorder the
 * line (bidi controls), whatever the daemon at the socket sends.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenos/exp_rrd.h>
#include <xenos/text.h>

#include "ctl.h"

#define XC_MAX_FIELDS   16
#define XC_TIMEOUT_MS   3000

/* Send @req, read the whole reply into a new string (*@out).  0 or -errno
 * with a reason on stderr. */
static int xc_request(const char *dir, const char *req, char **out)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = 0, cap = 65536;
    char line[XENOS_CTL_REQ_MAX], *buf;
    int fd, rc, wrc = 0;

    rc = xenos_ctl_path(sa.sun_path, sizeof(sa.sun_path), dir);
    if ( rc )
    {
        fprintf(stderr, "xenosctl: %s: state dir path too long\n", dir);
        return rc;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
        return -errno;
    if ( connect(fd, (struct sockaddr *)&sa, sizeof(sa)) )
    {
        rc = -errno;
        fprintf(stderr, "xenosctl: cannot reach xenosd at %s: %s\n",
                sa.sun_path, strerror(-rc));
        if ( rc == -EACCES )
            fprintf(stderr, "xenosctl: only root and xenosd's group may "
                    "connect\n");
        close(fd);
        return rc;
    }
    if ( snprintf(line, sizeof(line), "%s\n", req) >= (int)sizeof(line) )
    {
        fprintf(stderr, "xenosctl: request too long: %s\n", req);
        close(fd);
        return -E2BIG;
    }
    /* The line in one send, and no SIGPIPE: a daemon that refused us may
     * have closed already, and its reason is still there to read. */
    if ( send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line) )
        wrc = errno ? -errno : -EIO;
    buf = malloc(cap);
    if ( !buf )
    {
        close(fd);
        return -ENOMEM;
    }
    for ( ;; )
    {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t n;

        if ( poll(&p, 1, XC_TIMEOUT_MS) <= 0 )
        {
            fprintf(stderr, "xenosctl: xenosd did not answer\n");
            rc = -ETIMEDOUT;
            break;
        }
        if ( len + 1 == cap )
        {
            char *nb = realloc(buf, cap *= 2);

            if ( !nb )
            {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
        }
        n = read(fd, buf + len, cap - len - 1);
        if ( n < 0 && errno == EINTR )
            continue;
        if ( n < 0 && len )
            break;      /* reset after the reply: the reply stands */
        if ( n <= 0 )
        {
            rc = n < 0 ? -errno : 0;
            if ( rc )
                fprintf(stderr, "xenosctl: reading from xenosd at %s: %s\n",
                        sa.sun_path, strerror(-rc));
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if ( !rc && !len )
    {
        rc = wrc ? wrc : -ENODATA;
        fprintf(stderr, "xenosctl: xenosd at %s closed the connection "
                "without a reply%s%s%s\n", sa.sun_path,
                wrc ? " (sending the request: " : "",
                wrc ? strerror(-wrc) : "", wrc ? ")" : "");
    }
    if ( rc )
    {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    if ( !strncmp(buf, "error ", 6) )
    {
        fprintf(stderr, "xenosctl: xenosd: %s", buf + 6);
        free(buf);
        return -EPROTO;
    }
    *out = buf;
    return 0;
}

/* Split @line at tabs into @f (at most XC_MAX_FIELDS); returns the count. */
static unsigned int split(char *line, char **f)
{
    unsigned int n = 0;

    while ( n < XC_MAX_FIELDS )
    {
        f[n++] = line;
        line = strchr(line, '\t');
        if ( !line )
            break;
        *line++ = '\0';
    }
    return n;
}

/* Is @line a "@kind\t..." line of a reply? */
static bool is_line(const char *line, char kind)
{
    return line[0] == kind && line[1] == '\t';
}

/* @s safe for the terminal (txt_tty_escape), whole.  The result lives
 * until the eighth call after; each slot grows to the longest it held. */
static const char *tty(const char *s)
{
    static char *buf[8];
    static size_t cap[8];
    static unsigned int next;
    unsigned int i = next++ % 8;
    size_t need = txt_escape_size(s);

    if ( cap[i] < need )
    {
        char *b = realloc(buf[i], need);

        if ( !b )
            return "(out of memory)";
        buf[i] = b;
        cap[i] = need;
    }
    txt_tty_escape(buf[i], cap[i], s);  /* fits: txt_escape_size() */
    return buf[i];
}

static double mib(const char *bytes)
{
    return (double)strtoull(bytes, NULL, 10) / (1024.0 * 1024.0);
}

/* Bytes in an interval of @ns as KiB/s. */
static double kibps(const char *bytes, const char *ns)
{
    double t = (double)strtoull(ns, NULL, 10) / 1e9;

    return t > 0 ? (double)strtoull(bytes, NULL, 10) / 1024.0 / t : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One screen of `top` from the reply's lines. */
static int print_top(char *reply)
{
    char *lines[65536], *line, *save = NULL, *f[XC_MAX_FIELDS];
    unsigned int nl = 0, i, j, n;

    for ( line = strtok_r(reply, "\n", &save); line && nl < 65536;
          line = strtok_r(NULL, "\n", &save) )
        lines[nl++] = line;
    /* Tenants in name order, each followed by its domains in name order:
     * sorting "T\tname" and "D\ttenant\tname" lines does just that once
     * the prefixes agree, so sort each kind on its own. */
    for ( i = 0; i < nl; i++ )
        if ( lines[i][0] == 'H' )
        {
            n = split(lines[i], f);
            printf("xenos top - backend %s, interval %s ms, %s intervals",
                   tty(n > 1 ? f[1] : "?"), tty(n > 2 ? f[2] : "?"),
                   tty(n > 3 ? f[3] : "?"));
            for ( j = 5; j < n; j++ )
                if ( strchr(f[j], '=') && strcmp(strchr(f[j], '='), "=0") )
                    printf(", errors %s", tty(f[j]));
            printf("\n\n");
        }
    qsort(lines, nl, sizeof(lines[0]), cmp_str);
    printf("%-20s %7s %6s %5s %7s %10s %12s %12s\n", "TENANT", "WEIGHT",
           "CAP%", "DOMS", "CPU%", "MEM(MiB)", "DISK(KiB/s)", "NET(KiB/s)");
    for ( i = 0; i < nl; i++ )
    {
        const char *tname;
        size_t tlen;

        /* A kind letter alone ("T", "D") ends its line: nothing of it may
         * be read past its terminator. */
        if ( !is_line(lines[i], 'T') )
            continue;
        n = split(lines[i], f);
        if ( n < 11 )
            continue;
        tname = f[1];
        tlen = strlen(tname);
        /* f: T name weight cap doms cpu% total disk net memory_byte_seconds iv */
        printf("%-20s %7s %6s %5s %7s %10.0f %12.1f %12.1f\n", tty(f[1]),
               tty(f[2]), strcmp(f[3], "0") ? tty(f[3]) : "-", tty(f[4]),
               tty(f[5]),
               (double)strtoull(f[9], NULL, 10) /
               ((double)strtoull(f[10], NULL, 10) / 1e9 + 1e-12) /
               (1024.0 * 1024.0),
               kibps(f[7], f[10]), kibps(f[8], f[10]));
        printf("  %-18s %6s %5s %7s %6s %7s %10s %10s %12s %12s\n",
               "DOMAIN", "DOMID", "VCPUS", "WEIGHT", "CAP%", "CPU%",
               "MEM(MiB)", "MAXMEM", "DISK(KiB/s)", "NET(KiB/s)");
        for ( j = 0; j < nl; j++ )
        {
            char *g[XC_MAX_FIELDS];
            unsigned int m;

            if ( !is_line(lines[j], 'D') ||
                 strncmp(lines[j] + 2, tname, tlen) ||
                 lines[j][2 + tlen] != '\t' )
                continue;
            /* D tenant name uuid domid vcpus weight cap cpu mem maxmem
             * disk net iv error; split a copy, lines[j] is used again */
            {
                char copy[4096];

                snprintf(copy, sizeof(copy), "%s", lines[j]);
                m = split(copy, g);
                if ( m < 15 )
                    continue;
                printf("  %-18s %6s %5s %7s %6s %7s %10.0f %10.0f %12.1f "
                       "%12.1f%s\n", tty(g[2]), tty(g[4]), tty(g[5]),
                       tty(g[6]), strcmp(g[7], "0") ? tty(g[7]) : "-",
                       tty(g[8]), mib(g[9]),
                       mib(g[10]), kibps(g[11], g[13]),
                       kibps(g[12], g[13]),
                       strcmp(g[14], "0") ? "  (error)" : "");
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* graph: a PNG from the RRD files xenosd writes (exporter/rrd_graph.c) */

struct xc_graph {
    const char *what, *since, *out, *rrd_dir, *rrdcached;
    enum exp_rrd_kind kind;
    unsigned int width, height;
};

#ifdef XENOS_HAVE_EXP_RRD
/* "90", "30m", "1h", "2d", "1w" as seconds; 0 when malformed. */
static uint64_t xc_duration_s(const char *s)
{
    char *end;
    unsigned long long n;

    errno = 0;
    n = strtoull(s, &end, 10);
    if ( errno || end == s || n == 0 || n > 100ull * 366 * 86400 )
        return 0;
    switch ( *end )
    {
    case '\0': case 's': break;
    case 'm': n *= 60; break;
    case 'h': n *= 3600; break;
    case 'd': n *= 86400; break;
    case 'w': n *= 7 * 86400; break;
    default: return 0;
    }
    return end[0] && end[1] ? 0 : n;
}

/* Exit status: 0 drawn, 1 not found or librrd failed, 2 bad usage. */
static int xc_graph(const char *dir, const struct xc_graph *g)
{
    char rdir[PATH_MAX], path[PATH_MAX], title[512], err[1024];
    uint64_t since = xc_duration_s(g->since);
    int rc;

    if ( !g->out || !since )
    {
        fprintf(stderr, "xenosctl: graph needs -o OUT.png and a --since "
                "like 90, 30m, 1h, 2d, 1w\n");
        return 2;
    }
    if ( g->rrd_dir )
        snprintf(rdir, sizeof(rdir), "%s", g->rrd_dir);
    else
        snprintf(rdir, sizeof(rdir), "%s/rrd", dir);
    rc = exp_rrd_find(rdir, g->what, g->kind, path, sizeof(path), title,
                      sizeof(title), err, sizeof(err));
    if ( rc )
    {
        fprintf(stderr, "xenosctl: %s\n", err[0] ? err : strerror(-rc));
        return 1;
    }
    rc = exp_rrd_graph(path, title, since, g->out, g->rrdcached, g->width,
                       g->height, err, sizeof(err));
    if ( rc )
    {
        fprintf(stderr, "xenosctl: %s\n", err);
        return 1;
    }
    return 0;
}
#else
/* Built without the rrd exporter (librrd not found, or
 * XENOS_WITH_RRD=OFF): there are no archives to draw from. */
static int xc_graph(const char *dir, const struct xc_graph *g)
{
    (void)dir;
    (void)g;
    fprintf(stderr, "xenosctl: graph is not built in: this xenos has no "
            "rrd exporter (librrd not found, or XENOS_WITH_RRD=OFF)\n");
    return 1;
}
#endif

static void usage(FILE *f)
{
    fprintf(f,
        "usage: xenosctl [--state-dir DIR] status [--json]\n"
        "       xenosctl [--state-dir DIR] top [--once] [--delay S] "
        "[--iterations N]\n"
        "       xenosctl [--state-dir DIR] graph TENANT|DOMAIN [--since T] "
        "-o OUT.png\n"
        "                [--rrd-dir R] [--rrdcached ADDR] [--tenant|--domain] "
        "[--width W] [--height H]\n"
        "T: seconds, or with a unit: 30m, 1h, 2d, 1w (default 1h).  R "
        "defaults to DIR/rrd.\n"
        "DIR defaults to %s.\n", XENOS_STATE_DIR_DEFAULT);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state-dir", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "once", no_argument, NULL, '1' },
        { "delay", required_argument, NULL, 'D' },
        { "iterations", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { "since", required_argument, NULL, 's' },
        { "output", required_argument, NULL, 'O' },
        { "rrd-dir", required_argument, NULL, 'r' },
        { "rrdcached", required_argument, NULL, 'R' },
        { "tenant", no_argument, NULL, 'T' },
        { "domain", no_argument, NULL, 'M' },
        { "width", required_argument, NULL, 'W' },
        { "height", required_argument, NULL, 'E' },
        { NULL, 0, NULL, 0 },
    };
    struct xc_graph g = { .since = "1h" };
    const char *dir = XENOS_STATE_DIR_DEFAULT, *cmd;
    bool json = false, once = false;
    long delay = 2, iters = -1, k;
    char *reply;
    int c, rc;

    while ( (c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1 )
    {
        switch ( c )
        {
        case 'd': dir = optarg; break;
        case 'j': json = true; break;
        case '1': once = true; break;
        case 'D': delay = strtol(optarg, NULL, 10); break;
        case 'n': iters = strtol(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        case 's': g.since = optarg; break;
        case 'o': case 'O': g.out = optarg; break;
        case 'r': g.rrd_dir = optarg; break;
        case 'R': g.rrdcached = optarg; break;
        case 'T': g.kind = EXP_RRD_TENANT; break;
        case 'M': g.kind = EXP_RRD_DOMAIN; break;
        case 'W': g.width = (unsigned int)strtoul(optarg, NULL, 10); break;
        case 'E': g.height = (unsigned int)strtoul(optarg, NULL, 10); break;
        default: usage(stderr); return 2;
        }
    }
    if ( optind + 2 == argc && !strcmp(argv[optind], "graph") )
    {
        g.what = argv[optind + 1];
        return xc_graph(dir, &g);
    }
    if ( optind + 1 != argc || delay < 1 )
    {
        usage(stderr);
        return 2;
    }
    cmd = argv[optind];
    if ( !strcmp(cmd, "status") )
    {
        rc = xc_request(dir, json ? "status" : "top", &reply);
        if ( rc )
            return 1;
        if ( json )
            fputs(reply, stdout);
        else
        {
            char *f[XC_MAX_FIELDS];
            unsigned int n, i, t = 0, d = 0;
            char *line, *save = NULL;

            for ( line = strtok_r(reply, "\n", &save); line;
                  line = strtok_r(NULL, "\n", &save) )
            {
                t += line[0] == 'T';
                d += line[0] == 'D';
                if ( line[0] != 'H' )
                    continue;
                n = split(line, f);
                printf("xenosd: backend %s, interval %s ms, %s intervals "
                       "closed\n", tty(n > 1 ? f[1] : "?"),
                       tty(n > 2 ? f[2] : "?"), tty(n > 3 ? f[3] : "?"));
                printf("errors:");
                for ( i = 5; i < n; i++ )
                    printf(" %s", tty(f[i]));
                printf("\n");
            }
            printf("%u tenants, %u domains present\n", t, d);
        }
        free(reply);
        return 0;
    }
    if ( strcmp(cmd, "top") )
    {
        usage(stderr);
        return 2;
    }
    if ( !isatty(STDOUT_FILENO) && iters < 0 )
        once = true;
    for ( k = 0; once ? k < 1 : (iters < 0 || k < iters); k++ )
    {
        if ( k )
            sleep((unsigned int)delay);
        rc = xc_request(dir, "top", &reply);
        if ( rc )
            return 1;
        if ( !once && isatty(STDOUT_FILENO) )
            fputs("\033[H\033[2J", stdout);
        print_top(reply);
        fflush(stdout);
        free(reply);
    }
    return 0;
}
