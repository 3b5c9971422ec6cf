/*
 * rrd_find.c: the names of the RRD archives: the name of each file
 * (which the store writes under), finding the file of a domain or tenant
 * by name through the index, and which data sources a file has.  With
 * rrd_graph.c (drawing), this is the reading side `xenosctl graph` uses:
 * nothing here writes, keeps state or speaks to rrdcached.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
/* Finding                                                               */

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

/* Which of @want[0..@n) the file at @path has, into @has: 0, or -EIO
 * when librrd cannot read it. */
int rrdx__has_ds(const char *path, const char *const *want, unsigned int n,
                 bool *has)
{
    char **names, **last;
    unsigned long nds, i;
    unsigned int k;
    time_t t;

    rrd_clear_error();
    if ( rrd_lastupdate_r(path, &t, &nds, &names, &last) )
    {
        rrd_clear_error();
        return -EIO;
    }
    for ( k = 0; k < n; k++ )
        for ( has[k] = false, i = 0; i < nds && !has[k]; i++ )
            has[k] = !strcmp(names[i], want[k]);
    for ( i = 0; i < nds; i++ )
    {
        free(names[i]);
        free(last[i]);
    }
    free(names);
    free(last);
    return 0;
}
