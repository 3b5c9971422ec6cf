/*
 * xenosctl.c: talk to a running xenosd over its control socket.
 *
 *   xenosctl [--state-dir D] status [--json]
 *   xenosctl [--state-dir D] top [--once] [--delay S] [--iterations N]
 *   xenosctl [--state-dir D] graph TENANT|DOMAIN [--since 1h] -o OUTDIR
 *            [--panel P] [--rrd-dir R] [--rrdcached ADDR] [--tenant|--domain]
 *
 * `top` is xentop grouped by tenant (top.c, top_model.c): a curses
 * screen when stdout is a terminal; --once, --batch or a pipe print plain
 * text for scripts.  Names arrive escaped by xenosd (cfg_escape), and
 * every field is escaped again for the terminal (txt_tty_escape), so
 * nothing a guest puts in its name can drive the terminal or reorder the
 * line (bidi controls), whatever the daemon at the socket sends.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenos/cli.h>
#include <xenos/exp_rrd.h>
#include <xenos/text.h>

#include "ctl.h"
#include "top.h"

#define XC_TIMEOUT_MS   3000

/* A reason into @why, or as a line on stderr when @why is NULL. */
static void xc_say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xc_say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if ( why )
        vsnprintf(why, whylen, fmt, ap);
    else
    {
        fputs("xenosctl: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

/* Send @req, read the whole reply into a new string (*@out).  0 or -errno
 * with a reason in @why (on stderr when @why is NULL). */
static int xc_request(const char *dir, const char *req, char **out,
                      char *why, size_t whylen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = 0, cap = 65536;
    char line[XENOS_CTL_REQ_MAX], *buf;
    int fd, rc, wrc = 0;

    if ( why && whylen )
        why[0] = '\0';
    rc = xenos_ctl_path(sa.sun_path, sizeof(sa.sun_path), dir);
    if ( rc )
    {
        xc_say(why, whylen, "%s: state dir path too long", dir);
        return rc;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
    {
        rc = -errno;
        xc_say(why, whylen, "socket: %s", strerror(-rc));
        return rc;
    }
    if ( connect(fd, (struct sockaddr *)&sa, sizeof(sa)) )
    {
        rc = -errno;
        xc_say(why, whylen, "cannot reach xenosd at %s: %s%s", sa.sun_path,
               strerror(-rc), rc == -EACCES ? " (only root and xenosd's "
               "group may connect)" : "");
        close(fd);
        return rc;
    }
    if ( snprintf(line, sizeof(line), "%s\n", req) >= (int)sizeof(line) )
    {
        xc_say(why, whylen, "request too long: %s", req);
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
            xc_say(why, whylen, "xenosd did not answer");
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
                xc_say(why, whylen, "reading from xenosd at %s: %s",
                       sa.sun_path, strerror(-rc));
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if ( !rc && !len )
    {
        rc = wrc ? wrc : -ENODATA;
        xc_say(why, whylen, "xenosd at %s closed the connection without a "
               "reply%s%s%s", sa.sun_path,
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
        xc_say(why, whylen, "xenosd: %.*s", (int)strcspn(buf + 6, "\n"),
               buf + 6);
        free(buf);
        return -EPROTO;
    }
    *out = buf;
    return 0;
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

/* ------------------------------------------------------------------ */
/* graph: a PNG from the RRD files xenosd writes (exporter/rrd_graph.c) */

struct xc_graph {
    const char *what, *since, *out, *rrd_dir, *rrdcached, *panel;
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

/* -o names a PNG (and not a directory of them). */
static bool xc_is_png(const char *out)
{
    size_t n = strlen(out);

    return n > 4 && !strcmp(out + n - 4, ".png");
}

/*
 * Where panel @p goes: -o FILE.png names the panel's file itself with
 * --panel, or is the stem of FILE-PANEL.png; any other -o is a directory
 * of RRDFILE-PANEL.png (tenant-acme-cpu.png), the RRD's name without
 * ".rrd".  -ENAMETOOLONG.
 */
static int xc_graph_out(char *buf, size_t len, const struct xc_graph *g,
                        const char *rrd, enum exp_rrd_panel p)
{
    const char *base = strrchr(rrd, '/') ? strrchr(rrd, '/') + 1 : rrd;
    const char *name = exp_rrd_panel_names[p];
    size_t ol = strlen(g->out);
    int n;

    if ( xc_is_png(g->out) )
        n = g->panel ? snprintf(buf, len, "%s", g->out)
                     : snprintf(buf, len, "%.*s-%s.png", (int)(ol - 4),
                                g->out, name);
    else
        n = snprintf(buf, len, "%s/%.*s-%s.png", g->out,
                     (int)(strlen(base) - strlen(".rrd")), base, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Exit status: 0 drawn, 1 not found or librrd failed, 2 bad usage. */
static int xc_graph(const char *dir, const struct xc_graph *g)
{
    char rdir[PATH_MAX], path[PATH_MAX], title[512], err[1024];
    char png[PATH_MAX];
    struct exp_rrd_view v = { .title = title, .rrdcached = g->rrdcached,
                              .width = g->width, .height = g->height };
    unsigned int p, from = 0, to = EXP_RRD_NR_PANELS;
    int rc;

    v.since_s = xc_duration_s(g->since);
    if ( !g->out || !v.since_s )
    {
        fprintf(stderr, "xenosctl: graph needs -o DIR (or -o FILE.png) and "
                "a --since like 90, 30m, 1h, 2d, 1w\n");
        return 2;
    }
    for ( p = 0; g->panel && p < EXP_RRD_NR_PANELS; p++ )
        if ( !strcmp(g->panel, exp_rrd_panel_names[p]) )
        {
            from = p;
            to = p + 1;
        }
    if ( g->panel && to - from != 1 )
    {
        fprintf(stderr, "xenosctl: --panel: cpu, memory, disk or network, "
                "not '%s'\n", g->panel);
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
    if ( !xc_is_png(g->out) && mkdir(g->out, 0755) && errno != EEXIST )
    {
        fprintf(stderr, "xenosctl: %s: %s\n", g->out, strerror(errno));
        return 1;
    }
    for ( p = from; p < to; p++ )
    {
        if ( xc_graph_out(png, sizeof(png), g, path, p) )
        {
            fprintf(stderr, "xenosctl: -o %s: path too long\n", g->out);
            return 2;
        }
        if ( exp_rrd_graph(path, p, &v, png, err, sizeof(err)) )
        {
            fprintf(stderr, "xenosctl: %s\n", err);
            return 1;
        }
        printf("%s\n", png);
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

/* top_fetch_cb: @ctx is the state dir. */
static int xc_top_fetch(void *ctx, char **reply, char *why, size_t whylen)
{
    return xc_request(ctx, "top", reply, why, whylen);
}

/* "cpu", "name", "cap", "memory" (or "mem"); -1 for others. */
static int xc_sort_key(const char *s)
{
    int k;

    for ( k = 0; k < TOP_NR_SORTS; k++ )
        if ( !strcasecmp(s, top_sort_names[k]) )
            return k;
    return strcasecmp(s, "mem") ? -1 : TOP_SORT_MEM;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: xenosctl [--state-dir DIR] status [--json]\n"
        "       xenosctl [--state-dir DIR] top [--once|-b|--batch] "
        "[--delay S] [-n|--iterations N]\n"
        "                [--sort cpu|name|cap|memory]\n"
        "       xenosctl [--state-dir DIR] graph TENANT|DOMAIN [--since T] "
        "-o OUTDIR|OUT.png\n"
        "                [--panel cpu|memory|disk|network] [--rrd-dir R] "
        "[--rrdcached ADDR]\n"
        "                [--tenant|--domain] [--width W] [--height H]\n"
        "       xenosctl --version | --help\n"
        "T: seconds, or with a unit: 30m, 1h, 2d, 1w (default 1h).  R "
        "defaults to DIR/rrd.\n"
        "graph writes a PNG per panel, OUTDIR/RRDNAME-PANEL.png or "
        "OUT-PANEL.png, and prints\nthe names; OUT.png itself with "
        "--panel.\n"
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
        { "batch", no_argument, NULL, 'b' },
        { "sort", required_argument, NULL, 'S' },
        { "version", no_argument, NULL, CLI_OPT_VERSION },
        { "panel", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct xc_graph g = { .since = "1h" };
    const char *dir = XENOS_STATE_DIR_DEFAULT, *cmd;
    bool json = false, once = false, batch = false;
    long delay = 2, iters = -1;
    const char *sort = NULL;
    char *reply;
    int c, rc;

    opterr = 0;
    while ( (c = getopt_long(argc, argv, ":hbn:o:", opts, NULL)) != -1 )
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
        case 'b': batch = true; break;
        case 'S': sort = optarg; break;
        case 'P': g.panel = optarg; break;
        case CLI_OPT_VERSION: return cli_version("xenosctl");
        default: return cli_bad_option("xenosctl", c, argv);
        }
    }
    if ( optind + 2 == argc && !strcmp(argv[optind], "graph") )
    {
        g.what = argv[optind + 1];
        return xc_graph(dir, &g);
    }
    if ( optind == argc )
        return cli_usage_error("xenosctl", "no command (status, top or "
                               "graph)");
    if ( optind + 1 == argc && !strcmp(argv[optind], "graph") )
        return cli_usage_error("xenosctl", "graph: which TENANT or DOMAIN?");
    if ( optind + 1 != argc )
        return cli_usage_error("xenosctl", "unexpected argument '%s'",
                               argv[optind + (strcmp(argv[optind], "graph")
                                              ? 1 : 2)]);
    if ( delay < 1 )
        return cli_usage_error("xenosctl", "--delay must be 1 or more");
    cmd = argv[optind];
    if ( !strcmp(cmd, "status") )
    {
        rc = xc_request(dir, json ? "status" : "top", &reply, NULL, 0);
        if ( rc )
            return 1;
        if ( json )
            fputs(reply, stdout);
        else
        {
            char *f[TOP_MAX_FIELDS];
            unsigned int n, i, t = 0, d = 0;
            char *line, *save = NULL;

            for ( line = strtok_r(reply, "\n", &save); line;
                  line = strtok_r(NULL, "\n", &save) )
            {
                t += line[0] == 'T';
                d += line[0] == 'D';
                if ( line[0] != 'H' )
                    continue;
                n = top_split(line, f);
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
        return cli_usage_error("xenosctl", "unknown command '%s' (status, "
                               "top or graph)", cmd);
    /* Plain text when asked, or when there is no terminal to drive; a
     * pipe without -n gets one snapshot, as it always did. */
    if ( !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) )
    {
        once = once || (!batch && iters < 0);
        batch = true;
    }
    {
        struct top_opts to = { .delay_s = delay,
                               .iterations = once ? 1 : iters,
                               .sort = batch || once ? TOP_SORT_NAME :
                                                       TOP_SORT_CPU,
                               .where = dir };

        if ( sort && (rc = xc_sort_key(sort)) < 0 )
            return cli_usage_error("xenosctl", "--sort: cpu, name, cap or "
                                   "memory, not '%s'", sort);
        to.sort = sort ? (enum top_sort)rc : to.sort;
        if ( once || batch )
            return top_batch(&to, xc_top_fetch, (void *)dir);
        return top_screen(&to, xc_top_fetch, (void *)dir);
    }
}
