/*
 * rrd_graph.c: the reading side of the RRD archives: the name of each
 * file (which the store writes under), finding the file of a domain or
 * tenant by name through the index, and drawing it with librrd.  This is
 * all `xenosctl graph` links: nothing here writes, keeps state or speaks
 * to rrdcached.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rrd.h>

#include <xenos/exp_rrd.h>
#include <xenos/hex.h>

#include "rrd_impl.h"

#define RRDX_NAME_MAX            200     /* longer encoded names: hashed */

/* ------------------------------------------------------------------ */
/* Names                                                               */

static bool rrdx_safe_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

int exp_rrd_encode(char *buf, size_t len, const char *s)
{
    size_t n = 0;

    for ( ; *s; s++ )
    {
        unsigned char ch = (unsigned char)*s;

        if ( rrdx_safe_char(ch) )
        {
            if ( n + 1 >= len )
                return -ENOSPC;
            buf[n++] = (char)ch;
            continue;
        }
        if ( n + 3 >= len )
            return -ENOSPC;
        hex_pct(buf + n, ch, true);
        n += 3;
    }
    if ( n >= len )
        return -ENOSPC;
    buf[n] = '\0';
    return 0;
}

/* Decode @s in place; -EINVAL on a bad escape or an encoded NUL. */
int rrdx__decode(char *s)
{
    return hex_unescape(s, s) < 0 ? -EINVAL : 0;
}

uint64_t rrdx__fnv64(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for ( ; *s; s++ )
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int exp_rrd_file_name(char *buf, size_t len, bool tenant, const char *key)
{
    char enc[RRDX_NAME_MAX + 1];
    int n;

    /* '~' is never produced by the encoding: no hashed name can equal an
     * encoded one. */
    if ( exp_rrd_encode(enc, sizeof(enc), key) )
        snprintf(enc, sizeof(enc), "~%016" PRIx64, rrdx__fnv64(key));
    n = snprintf(buf, len, "%s-%s.rrd", tenant ? "tenant" : "dom", enc);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int rrdx__path(char *buf, size_t len, const char *dir, bool tenant,
               const char *key)
{
    char name[NAME_MAX + 1];
    int n;

    if ( exp_rrd_file_name(name, sizeof(name), tenant, key) )
        return -ENAMETOOLONG;
    n = snprintf(buf, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* An index line "K\tA\tB\n" into its fields (B may be empty); -EINVAL
 * when it has another shape. */
int rrdx__split(char *line, char **a, char **b)
{
    char *tab;

    line[strcspn(line, "\n")] = '\0';
    if ( (line[0] != 'D' && line[0] != 'T') || line[1] != '\t' )
        return -EINVAL;
    *a = line + 2;
    tab = strchr(*a, '\t');
    if ( !tab || strchr(tab + 1, '\t') )
        return -EINVAL;
    *tab = '\0';
    *b = tab + 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Finding and drawing                                                 */

/* A regular file at @path, not a symbolic link to one. */
static bool rrdx_is_file(const char *path)
{
    struct stat sb;

    return !lstat(path, &sb) && S_ISREG(sb.st_mode);
}

int exp_rrd_find(const char *dir, const char *what, enum exp_rrd_kind kind,
                 char *path, size_t pathlen, char *title, size_t titlelen,
                 char *err, size_t errlen)
{
    char tpath[PATH_MAX], dpath[PATH_MAX], idx[PATH_MAX], *line = NULL;
    char found[PATH_MAX] = "", ftitle[512] = "";
    unsigned int matches = 0;
    size_t cap = 0;
    FILE *f;

    err[0] = '\0';
    if ( kind != EXP_RRD_DOMAIN &&
         !rrdx__path(tpath, sizeof(tpath), dir, true, what) &&
         rrdx_is_file(tpath) )
    {
        snprintf(found, sizeof(found), "%s", tpath);
        snprintf(ftitle, sizeof(ftitle), "tenant %s", what);
        matches++;
    }
    if ( kind != EXP_RRD_TENANT &&
         !rrdx__path(dpath, sizeof(dpath), dir, false, what) &&
         rrdx_is_file(dpath) )
    {
        if ( matches )
            snprintf(err, errlen, "'%s' is a tenant and a domain uuid; "
                     "say --tenant or --domain", what);
        snprintf(found, sizeof(found), "%s", dpath);
        snprintf(ftitle, sizeof(ftitle), "domain %s", what);
        matches++;
    }
    snprintf(idx, sizeof(idx), "%s/%s", dir, EXP_RRD_INDEX);
    f = kind == EXP_RRD_TENANT ? NULL : fopen(idx, "re");
    while ( f && getline(&line, &cap, f) > 0 )
    {
        char *uuid, *name;

        if ( line[0] != 'D' || rrdx__split(line, &uuid, &name) ||
             rrdx__decode(uuid) || rrdx__decode(name) ||
             strcmp(name, what) ||
             rrdx__path(dpath, sizeof(dpath), dir, false, uuid) ||
             !rrdx_is_file(dpath) || !strcmp(found, dpath) )
            continue;
        if ( matches )
        {
            size_t l = strlen(err);

            if ( !l )
                l = (size_t)snprintf(err, errlen, "'%s' names more than "
                                     "one domain or tenant; give the uuid:",
                                     what);
            if ( l < errlen )
                snprintf(err + l, errlen - l, " %s", uuid);
        }
        snprintf(found, sizeof(found), "%s", dpath);
        snprintf(ftitle, sizeof(ftitle), "domain %s (%s)", what, uuid);
        matches++;
    }
    free(line);
    if ( f )
        fclose(f);
    if ( !matches )
    {
        snprintf(err, errlen, "no RRD for a %s named '%s' in %s",
                 kind == EXP_RRD_TENANT ? "tenant" :
                 kind == EXP_RRD_DOMAIN ? "domain" : "tenant or domain",
                 what, dir);
        return -ENOENT;
    }
    if ( matches > 1 )
        return -EEXIST;
    if ( snprintf(path, pathlen, "%s", found) >= (int)pathlen )
        return -ENAMETOOLONG;
    snprintf(title, titlelen, "%s", ftitle);
    return 0;
}

int exp_rrd_graph(const char *file, const char *title, uint64_t since_s,
                  const char *png_out, const char *rrdcached,
                  unsigned int width, unsigned int height, char *err,
                  size_t errlen)
{
    /* ':' and '\' are special in librrd's arguments: escape them. */
    char efile[2 * PATH_MAX], etitle[1024], start[32], w[16], h[16];
    char defs[7][2 * PATH_MAX + 32];
    static const char *const ds[] = { "cpu", "mem", "disk_rd", "disk_wr",
                                      "net_rx", "net_tx" };
    const char *argv[64];
    rrd_info_t *info;
    size_t i, j;
    int n = 0;

    for ( i = j = 0; file[i] && j + 2 < sizeof(efile); i++ )
    {
        if ( file[i] == ':' || file[i] == '\\' )
            efile[j++] = '\\';
        efile[j++] = file[i];
    }
    efile[j] = '\0';
    for ( i = j = 0; title[i] && j + 2 < sizeof(etitle); i++ )
    {
        /* the title is escaped text already; keep it printable */
        etitle[j++] = (unsigned char)title[i] < 32 ? '?' : title[i];
    }
    etitle[j] = '\0';
    snprintf(start, sizeof(start), "end-%" PRIu64 "s", since_s);
    snprintf(w, sizeof(w), "%u", width ? width : 800);
    snprintf(h, sizeof(h), "%u", height ? height : 300);
    argv[n++] = "graph";
    argv[n++] = png_out;
    argv[n++] = "--imgformat";
    argv[n++] = "PNG";
    argv[n++] = "--start";
    argv[n++] = start;
    argv[n++] = "--end";
    argv[n++] = "now";
    argv[n++] = "--width";
    argv[n++] = w;
    argv[n++] = "--height";
    argv[n++] = h;
    argv[n++] = "--title";
    argv[n++] = etitle;
    argv[n++] = "--vertical-label";
    argv[n++] = "CPU %, bytes, bytes/s (log)";
    argv[n++] = "--logarithmic";
    argv[n++] = "--units=si";
    if ( rrdcached )
    {
        argv[n++] = "--daemon";
        argv[n++] = rrdcached;
    }
    for ( i = 0; i < 6; i++ )
    {
        snprintf(defs[i], sizeof(defs[i]), "DEF:%s=%s:%s:AVERAGE", ds[i],
                 efile, ds[i]);
        argv[n++] = defs[i];
    }
    argv[n++] = "CDEF:cpu_pct=cpu,100,*";
    argv[n++] = "CDEF:disk=disk_rd,disk_wr,+";
    argv[n++] = "CDEF:net=net_rx,net_tx,+";
    argv[n++] = "LINE2:cpu_pct#d62728:CPU % of one pCPU   ";
    argv[n++] = "GPRINT:cpu_pct:AVERAGE:avg %8.2lf";
    argv[n++] = "GPRINT:cpu_pct:MAX:max %8.2lf\\n";
    argv[n++] = "LINE2:mem#1f77b4:memory bytes         ";
    argv[n++] = "GPRINT:mem:AVERAGE:avg %8.2lf%s";
    argv[n++] = "GPRINT:mem:MAX:max %8.2lf%s\\n";
    argv[n++] = "LINE2:disk#2ca02c:disk read+write B/s  ";
    argv[n++] = "GPRINT:disk:AVERAGE:avg %8.2lf%s";
    argv[n++] = "GPRINT:disk:MAX:max %8.2lf%s\\n";
    argv[n++] = "LINE2:net#ff7f0e:network rx+tx B/s    ";
    argv[n++] = "GPRINT:net:AVERAGE:avg %8.2lf%s";
    argv[n++] = "GPRINT:net:MAX:max %8.2lf%s\\n";
    optind = 0;         /* librrd parses with getopt */
    rrd_clear_error();
    info = rrd_graph_v(n, (char **)argv);
    if ( !info || rrd_test_error() )
    {
        snprintf(err, errlen, "rrd graph: %s", rrd_get_error());
        rrd_clear_error();
        if ( info )
            rrd_info_free(info);
        return -EIO;
    }
    rrd_info_free(info);
    return 0;
}
