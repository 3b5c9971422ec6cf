/*
 * cfg_report.c: from libcyaml's complaint to one line.  libcyaml logs an
 * error line (the reason) and a backtrace (the path, innermost frame
 * first); cfg__log keeps them and cfg__report turns them into
 * "FILE:LINE: PATH: reason", the line looked up in libyaml's document
 * (cfg.c's design comment says why not libcyaml's).
 *
 * The backtrace is read from libcyaml's formatted text ("  in mapping field
 * 'x' (line: 3, column: 6)"), which has not changed from 1.3 to 1.4.  Field
 * names in it come from the caller's schema, so they cannot contain the
 * "' (line: " the parser looks for; keys from the file only ever appear in
 * the reason line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

/* strlcpy: copy what fits of @src, always terminated. */
static void cfg_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool cfg_starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static unsigned int cfg_line_of(const char *s)
{
    const char *l = strstr(s, "(line: ");

    return l ? (unsigned int)strtoul(l + 7, NULL, 10) : 0;
}

static void cfg_capture_frame(struct cfg_capture *c, const char *msg)
{
    struct cfg_frame *f;
    const char *end;

    if ( c->nframes == CFG_MAX_FRAMES )
    {
        c->overflow = true;
        return;
    }
    f = &c->frames[c->nframes];
    memset(f, 0, sizeof(*f));
    f->line = cfg_line_of(msg);
    if ( cfg_starts(msg, "  in mapping field '") )
    {
        const char *k = msg + strlen("  in mapping field '");
        size_t n;

        end = strstr(k, "' (line: ");
        if ( !end )
            return;
        n = (size_t)(end - k);
        if ( n >= CFG_KEY_MAX )
        {
            c->overflow = true;
            return;
        }
        f->kind = CFG_FRAME_FIELD;
        memcpy(f->key, k, n);
        f->key[n] = '\0';
    }
    else if ( cfg_starts(msg, "  in mapping (") )
        f->kind = CFG_FRAME_MAP;
    else if ( cfg_starts(msg, "  in sequence entry '") )
    {
        f->kind = CFG_FRAME_SEQ;
        f->count = strtoul(msg + strlen("  in sequence entry '"), NULL, 10);
    }
    else
        return;         /* not a frame we know: leave it out */
    c->nframes++;
}

void cfg__log(cyaml_log_t level, void *ctx, const char *fmt,
              va_list args)
{
    struct cfg_capture *c = ctx;
    char msg[sizeof(c->reason) + 16];
    const char *m = msg;
    size_t n;

    if ( level < CYAML_LOG_ERROR )
        return;
    vsnprintf(msg, sizeof(msg), fmt, args);
    n = strlen(msg);
    if ( n && msg[n - 1] == '\n' )
        msg[n - 1] = '\0';

    if ( !strcmp(msg, "Load: Backtrace:") )
        c->in_trace = true;
    else if ( c->in_trace )
        cfg_capture_frame(c, msg);
    else if ( !c->have_reason )
    {
        if ( cfg_starts(m, "Load: ") )
            m += strlen("Load: ");
        cfg_copy(c->reason, sizeof(c->reason), m);
        c->have_reason = true;
    }
}

/* ------------------------------------------------------------------ */
/* From libcyaml's complaint to one line                              */

enum cfg_why {
    CFG_WHY_OTHER,
    CFG_WHY_UNKNOWN_KEY,
    CFG_WHY_MISSING_KEY,
    CFG_WHY_DUP_KEY,
    CFG_WHY_TOO_FEW,
    CFG_WHY_TOO_MANY,
    CFG_WHY_TYPE,
    CFG_WHY_VALUE,
    CFG_WHY_STR_MIN,
    CFG_WHY_STR_MAX,
};

/* What libcyaml's type names and event names mean to a person. */
static const char *cfg_type_words(const char *t, size_t n)
{
    if ( n == 7 && !strncmp(t, "MAPPING", n) )
        return "a mapping (key: value)";
    if ( (n == 8 && !strncmp(t, "SEQUENCE", n)) ||
         (n == 14 && !strncmp(t, "SEQUENCE_FIXED", n)) ||
         (n == 5 && !strncmp(t, "FLAGS", n)) )
        return "a list";
    return "a single value";
}

static const char *cfg_event_words(const char *e)
{
    if ( !strcmp(e, "SCALAR") )
        return "a single value";
    if ( !strcmp(e, "MAPPING_START") )
        return "a mapping";
    if ( !strcmp(e, "SEQUENCE_START") )
        return "a list";
    if ( !strcmp(e, "ALIAS") )
        return "an alias";
    return "something else";
}

static enum cfg_why cfg_classify(const char *r, const char **arg)
{
    static const struct {
        const char *prefix;
        enum cfg_why why;
    } table[] = {
        { "Unexpected key: ", CFG_WHY_UNKNOWN_KEY },
        { "Missing required mapping field: ", CFG_WHY_MISSING_KEY },
        { "Mapping field already seen: ", CFG_WHY_DUP_KEY },
        { "Insufficient entries (", CFG_WHY_TOO_FEW },
        { "Excessive entries (", CFG_WHY_TOO_MANY },
        { "Expecting ", CFG_WHY_TYPE },
        { "Unknown flag: ", CFG_WHY_VALUE },
        { "STRING length < ", CFG_WHY_STR_MIN },
        { "STRING length > ", CFG_WHY_STR_MAX },
    };
    const char *v;
    size_t i;

    for ( i = 0; i < sizeof(table) / sizeof(table[0]); i++ )
        if ( cfg_starts(r, table[i].prefix) )
        {
            *arg = r + strlen(table[i].prefix);
            return table[i].why;
        }
    /* "Invalid INT value: 'x'", "INT value out of range: 'x'", ... */
    v = strstr(r, "value: ");
    if ( v )
    {
        *arg = v + strlen("value: ");
        return CFG_WHY_VALUE;
    }
    *arg = r;
    return CFG_WHY_OTHER;
}

/* The reason, as the message's last part. */
static void cfg_sb_reason(struct cfg_sb *sb, enum cfg_why why,
                          const char *arg)
{
    char val[sizeof(((struct cfg_capture *)0)->reason)];
    const char *p;
    size_t n;

    switch ( why )
    {
    case CFG_WHY_UNKNOWN_KEY:
        cfg__sb_printf(sb, "unexpected key '");
        cfg__sb_escaped(sb, arg);
        cfg__sb_printf(sb, "'");
        break;
    case CFG_WHY_MISSING_KEY:
        cfg__sb_printf(sb, "missing required key '%s'", arg);
        break;
    case CFG_WHY_DUP_KEY:
        cfg__sb_printf(sb, "key given twice");
        break;
    case CFG_WHY_TOO_FEW:
        /* "N of M min) in sequence." */
        p = strstr(arg, " of ");
        n = p ? strtoul(p + 4, NULL, 10) : 1;
        cfg__sb_printf(sb, "needs at least %zu entr%s", n,
                       n == 1 ? "y" : "ies");
        break;
    case CFG_WHY_TOO_MANY:
        n = strtoul(arg, NULL, 10);
        cfg__sb_printf(sb, "allows at most %zu entr%s", n,
                       n == 1 ? "y" : "ies");
        break;
    case CFG_WHY_TYPE:
        /* "MAPPING, got event: SCALAR" */
        p = strstr(arg, ", got event: ");
        n = p ? (size_t)(p - arg) : strlen(arg);
        cfg__sb_printf(sb, "expected %s, not %s", cfg_type_words(arg, n),
                       p ? cfg_event_words(p + strlen(", got event: "))
                       : "that");
        break;
    case CFG_WHY_VALUE:
        cfg_copy(val, sizeof(val), arg);
        n = strlen(val);
        if ( n >= 2 && val[0] == '\'' && val[n - 1] == '\'' )
        {
            val[n - 1] = '\0';
            memmove(val, val + 1, n - 1);
        }
        cfg__sb_printf(sb, "invalid value '");
        cfg__sb_escaped(sb, val);
        cfg__sb_printf(sb, "'");
        break;
    case CFG_WHY_STR_MIN:
        /* "N: value" */
        cfg__sb_printf(sb, "must be at least %lu bytes long",
                       strtoul(arg, NULL, 10));
        break;
    case CFG_WHY_STR_MAX:
        cfg__sb_printf(sb, "must be at most %lu bytes long",
                       strtoul(arg, NULL, 10));
        break;
    case CFG_WHY_OTHER:
        cfg__sb_escaped(sb, arg);
        break;
    }
}

/*
 * libcyaml failed with @cerr, having logged into @c: write the one-line
 * message.  @doc is the same text, parsed, for the line.
 */
void cfg__report(struct cfg_sb *sb, const char *path,
                 yaml_document_t *doc, struct cfg_capture *c,
                 cyaml_err_t cerr)
{
    const char *keys[CFG_MAX_FRAMES + 1];
    char idx[CFG_MAX_FRAMES][24];
    size_t nkeys = 0, npath;
    unsigned int line = 0, i;
    enum cfg_why why;
    const char *arg;

    if ( !c->have_reason )
    {
        /* Nothing logged: say what libcyaml returned. */
        cfg_copy(c->reason, sizeof(c->reason), cyaml_strerror(cerr));
        c->have_reason = true;
    }
    why = cfg_classify(c->reason, &arg);

    /*
     * The innermost frame describes where libcyaml stood, which is not
     * always what the message is about: closing a mapping that lacks a key
     * it still names the last key it read, and closing a sequence with too
     * few entries it counts the entries.  Neither belongs in the path.
     */
    if ( c->nframes && (why == CFG_WHY_MISSING_KEY ||
                        why == CFG_WHY_TOO_FEW || why == CFG_WHY_TOO_MANY) )
        c->frames[0].kind = CFG_FRAME_MAP;

    if ( !c->overflow )
    {
        for ( i = c->nframes; i-- > 0; )
        {
            struct cfg_frame *f = &c->frames[i];

            if ( f->kind == CFG_FRAME_FIELD )
                keys[nkeys++] = f->key;
            else if ( f->kind == CFG_FRAME_SEQ && f->count > 0 )
            {
                /* libcyaml counts the entry it is in: index + 1 */
                snprintf(idx[i], sizeof(idx[i]), "%lu", f->count - 1);
                keys[nkeys++] = idx[i];
            }
        }
    }
    npath = nkeys;
    if ( why == CFG_WHY_UNKNOWN_KEY )
        keys[nkeys++] = arg;

    if ( c->overflow || cfg__walk(doc, keys, nkeys, &line) )
    {
        /* Cannot happen with a document libyaml and libcyaml agree on;
         * libcyaml's own line is the next best thing. */
        if ( c->nframes )
            line = c->frames[0].line;
    }

    cfg__sb_escaped(sb, path);
    if ( line )
        cfg__sb_printf(sb, ":%u", line);
    cfg__sb_printf(sb, ": ");
    if ( npath )
    {
        cfg__sb_path(sb, keys, npath);
        cfg__sb_printf(sb, ": ");
    }
    cfg_sb_reason(sb, why, arg);
}
