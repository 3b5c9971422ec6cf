/*
 * cfg_kv.c: "key = value" files (xenosd --config): one setting a line,
 * '#' starting a comment, errors as "FILE:LINE: reason".  No YAML here:
 * only cfg.c's message building.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfg_impl.h"

void cfg_kv_init(struct cfg_kv *kv, FILE *f, const char *path)
{
    memset(kv, 0, sizeof(*kv));
    kv->f = f;
    kv->path = path;
}

static int __attribute__((format(printf, 3, 4)))
cfg_kv_fail(struct cfg_kv *kv, int rc, const char *fmt, ...)
{
    struct cfg_sb sb;
    va_list ap;

    cfg__sb_init(&sb, kv->err, sizeof(kv->err));
    cfg__sb_printf(&sb, "%s: ", kv->where);
    va_start(ap, fmt);
    cfg__sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    return rc;
}

/* One line into kv->line: 1, 0 at the end of the file, or an error. */
static int cfg_kv_line(struct cfg_kv *kv)
{
    size_t n = 0;
    bool nul = false;
    int c;

    errno = 0;
    while ( (c = getc(kv->f)) != EOF && c != '\n' )
    {
        if ( n == CFG_KV_LINE_MAX )
            return cfg_kv_fail(kv, -EINVAL, "line longer than %u bytes",
                               CFG_KV_LINE_MAX);
        nul |= c == '\0';
        kv->line[n++] = (char)c;
    }
    if ( c == EOF && ferror(kv->f) )
        return cfg_kv_fail(kv, errno ? -errno : -EIO, "cannot read: %s",
                           strerror(errno ? errno : EIO));
    if ( c == EOF && n == 0 )
        return 0;
    kv->line[n] = '\0';
    if ( nul )
        return cfg_kv_fail(kv, -EINVAL, "a line holds a NUL byte");
    return 1;
}

int cfg_kv_next(struct cfg_kv *kv, char **key, char **val)
{
    for ( ;; )
    {
        struct cfg_sb sb;
        char *k, *v, *e;
        int rc;

        kv->lineno++;
        cfg__sb_init(&sb, kv->where, sizeof(kv->where));
        cfg__sb_escaped(&sb, kv->path);
        cfg__sb_printf(&sb, ":%u", kv->lineno);
        rc = cfg_kv_line(kv);
        if ( rc <= 0 )
            return rc;
        k = kv->line;
        k[strcspn(k, "#")] = '\0';
        k += strspn(k, " \t\r");
        if ( !*k )
            continue;
        v = strchr(k, '=');
        if ( !v || v == k )
            return cfg_kv_fail(kv, -EINVAL, "expected 'key = value'");
        for ( e = v; e > k && (e[-1] == ' ' || e[-1] == '\t'); e-- )
            ;
        *e = '\0';
        v++;
        v += strspn(v, " \t");
        for ( e = v + strlen(v);
              e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r');
              e-- )
            ;
        *e = '\0';
        *key = k;
        *val = v;
        return 1;
    }
}
