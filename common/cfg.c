/*
 * cfg.c: YAML configuration files through libcyaml, with one-line errors.
 *
 * Design: the file is read into memory once and parsed three times.
 * First libyaml's event stream alone (cfg_scan): syntax errors, anchors
 * and aliases (refused: libcyaml would expand them), nesting past
 * CFG_MAX_DEPTH, each with its line, before anything builds a tree.  Then
 * libyaml builds a document (yaml_parser_load): that pass finds empty
 * files and gives the tree in which an error's path is looked up for its
 * line.  Then libcyaml loads the same bytes against the caller's schema,
 * with a log function that keeps its first error line (the reason) and
 * the backtrace that follows it (the path, innermost frame first).
 * cfg_report() turns those into "FILE:LINE: PATH: reason".  The file also
 * holds the "key = value" reader of xenosd --config (cfg_kv_next).
 *
 * Why look lines up in the document instead of using libcyaml's: its
 * backtrace gives the line of the enclosing value, not of an unexpected
 * key, and for a missing key the line of whatever key came last.  The path
 * is exact, so the document answers exactly.
 *
 * The backtrace is read from libcyaml's formatted text ("  in mapping field
 * 'x' (line: 3, column: 6)"), which has not changed from 1.3 to 1.4.  Field
 * names in it come from the caller's schema, so they cannot contain the
 * "' (line: " the parser looks for; keys from the file only ever appear in
 * the reason line.
 *
 * No state outside the calls: safe to use from several threads at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include <xenos/cfg.h>
#include <xenos/num.h>
#include <xenos/text.h>

/* ------------------------------------------------------------------ */
/* Bounded message building                                           */

/* Appends to a caller's buffer; what does not fit is dropped. */
struct cfg_sb {
    char *buf;
    size_t len, cap;
};

static void cfg_sb_init(struct cfg_sb *sb, char *buf, size_t cap)
{
    sb->buf = buf;
    sb->cap = cap;
    sb->len = 0;
    if ( cap )
        buf[0] = '\0';
}

static void cfg_sb_vprintf(struct cfg_sb *sb, const char *fmt, va_list ap)
{
    int n;

    if ( sb->len + 1 >= sb->cap )
        return;
    n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    if ( n < 0 )
        return;
    sb->len += (size_t)n;
    if ( sb->len >= sb->cap )
        sb->len = sb->cap - 1;
}

static void __attribute__((format(printf, 2, 3)))
cfg_sb_printf(struct cfg_sb *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

/* Append @s escaped (cfg_escape_msg): a cut shows, at a whole character. */
static void cfg_sb_escaped(struct cfg_sb *sb, const char *s)
{
    if ( sb->len + 1 >= sb->cap )
        return;
    cfg_escape_msg(sb->buf + sb->len, sb->cap - sb->len, s);
    sb->len += strlen(sb->buf + sb->len);
}

/* "domains[2].weight": components of digits only are indexes. */
static void cfg_sb_path(struct cfg_sb *sb, const char *const *keys,
                        size_t nkeys)
{
    size_t i;

    for ( i = 0; i < nkeys; i++ )
    {
        const char *k = keys[i];
        bool index = *k && strspn(k, "0123456789") == strlen(k);

        if ( index && i > 0 )
            cfg_sb_printf(sb, "[%s]", k);
        else
        {
            if ( i > 0 )
                cfg_sb_printf(sb, ".");
            cfg_sb_escaped(sb, k);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Escaping                                                           */

int cfg_escape(char *dst, size_t dstlen, const char *src)
{
    return txt_escape(dst, dstlen, src, true);
}

int cfg_escape_msg(char *dst, size_t dstlen, const char *src)
{
    static const char cut[] = "...";
    int rc = cfg_escape(dst, dstlen, src);

    if ( rc != -ENOSPC || dstlen < sizeof(cut) )
        return rc;
    /* Again, leaving room for the mark: whole characters only. */
    cfg_escape(dst, dstlen - (sizeof(cut) - 1), src);
    strcat(dst, cut);
    return -ENOSPC;
}

/* ------------------------------------------------------------------ */
/* Reading and parsing                                                */

static int cfg_read(const char *path, unsigned char **bufp, size_t *lenp)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    int rc = 0;

    f = fopen(path, "rb");
    if ( !f )
        return -errno;
    for ( ;; )
    {
        size_t n;

        if ( len > CFG_MAX_BYTES )
        {
            rc = -EFBIG;
            break;
        }
        if ( len == cap )
        {
            unsigned char *nb;

            /* Grow to one byte past the limit at most: enough to see a
             * file is too big without reading all of it. */
            cap = cap ? cap * 2 : 4096;
            if ( cap > CFG_MAX_BYTES + 1 )
                cap = CFG_MAX_BYTES + 1;
            nb = realloc(buf, cap + 1);
            if ( !nb )
            {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
        }
        errno = 0;
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if ( n == 0 )
        {
            if ( ferror(f) )
                rc = errno ? -errno : -EIO;
            break;
        }
    }
    fclose(f);
    if ( rc )
    {
        free(buf);
        return rc;
    }
    buf[len] = '\0';     /* the first pass always allocates */
    *bufp = buf;
    *lenp = len;
    return 0;
}

/* 1-based line of byte @off of @buf. */
static unsigned int cfg_line_at(const unsigned char *buf, size_t len,
                                size_t off)
{
    unsigned int line = 1;
    size_t i;

    for ( i = 0; i < off && i < len; i++ )
        if ( buf[i] == '\n' )
            line++;
    return line;
}

/* @p failed: "FILE:LINE: why" into @sb; -EINVAL, or -ENOMEM. */
static int cfg_parser_error(struct cfg_sb *sb, const char *path,
                            const unsigned char *buf, size_t len,
                            const yaml_parser_t *p)
{
    cfg_sb_escaped(sb, path);
    switch ( p->error )
    {
    case YAML_MEMORY_ERROR:
        cfg_sb_printf(sb, ": out of memory");
        return -ENOMEM;
    case YAML_READER_ERROR:
        /* Bad encoding: libyaml gives a byte offset, not a line. */
        cfg_sb_printf(sb, ":%u: not valid UTF-8 text: %s",
                      cfg_line_at(buf, len, p->problem_offset),
                      p->problem ? p->problem : "unreadable");
        if ( p->problem_value >= 0 )
            cfg_sb_printf(sb, " (byte 0x%02x)",
                          (unsigned int)p->problem_value & 0xff);
        return -EINVAL;
    default:
        cfg_sb_printf(sb, ":%zu: YAML syntax error: %s",
                      p->problem_mark.line + 1,
                      p->problem ? p->problem : "unknown");
        if ( p->context )
            cfg_sb_printf(sb, " (%s at line %zu)", p->context,
                          p->context_mark.line + 1);
        return -EINVAL;
    }
}

/* The anchor an event sets, or NULL. */
static const yaml_char_t *cfg_event_anchor(const yaml_event_t *ev)
{
    switch ( ev->type )
    {
    case YAML_SCALAR_EVENT:
        return ev->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return ev->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT:
        return ev->data.mapping_start.anchor;
    default:
        return NULL;
    }
}

/*
 * Read @buf as a stream of events, before anything builds a tree from it:
 * syntax errors, anchors and aliases, nesting deeper than CFG_MAX_DEPTH.
 *
 * Why refuse anchors and aliases: libcyaml expands every alias where it is
 * used, so a few levels of aliases of aliases make a 136 KB file load as
 * hundreds of MB ("billion laughs").  No xenos file needs them; refusing
 * them here, with their line, is clearer than a limit met halfway through
 * a load.  (libcyaml's own CYAML_CFG_NO_ALIAS is set too, but its error
 * names neither the line nor the reason.)  One pass, no tree: linear in
 * the file and in memory bounded by the depth.
 */
static int cfg_scan(struct cfg_sb *sb, const char *path,
                    const unsigned char *buf, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    unsigned int depth = 0;
    bool done = false;
    int rc = 0;

    if ( !yaml_parser_initialize(&p) )
    {
        cfg_sb_escaped(sb, path);
        cfg_sb_printf(sb, ": out of memory");
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, buf, len);
    while ( !done && !rc )
    {
        const yaml_char_t *anchor;
        size_t line;

        if ( !yaml_parser_parse(&p, &ev) )
        {
            rc = cfg_parser_error(sb, path, buf, len, &p);
            break;
        }
        line = ev.start_mark.line + 1;
        anchor = cfg_event_anchor(&ev);
        if ( ev.type == YAML_ALIAS_EVENT || anchor )
        {
            cfg_sb_escaped(sb, path);
            cfg_sb_printf(sb, ":%zu: YAML %s (", line,
                          anchor ? "anchors" : "aliases");
            cfg_sb_printf(sb, anchor ? "&" : "*");
            cfg_sb_escaped(sb, (const char *)(anchor ? anchor
                                              : ev.data.alias.anchor));
            cfg_sb_printf(sb, ") are not accepted: write the value out");
            rc = -EINVAL;
        }
        else if ( ev.type == YAML_SEQUENCE_START_EVENT ||
                  ev.type == YAML_MAPPING_START_EVENT )
        {
            if ( ++depth > CFG_MAX_DEPTH )
            {
                cfg_sb_escaped(sb, path);
                cfg_sb_printf(sb, ":%zu: nested deeper than %u levels",
                              line, CFG_MAX_DEPTH);
                rc = -EINVAL;
            }
        }
        else if ( ev.type == YAML_SEQUENCE_END_EVENT ||
                  ev.type == YAML_MAPPING_END_EVENT )
            depth--;
        else if ( ev.type == YAML_STREAM_END_EVENT )
            done = true;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

/*
 * Build libyaml's document for @buf, after cfg_scan() has passed it.
 * Returns 0 (the document may be empty: no root node), or -EINVAL /
 * -ENOMEM with a message in @sb.
 */
static int cfg_parse(struct cfg_sb *sb, const char *path,
                     const unsigned char *buf, size_t len,
                     yaml_document_t *doc)
{
    yaml_parser_t p;
    int rc;

    rc = cfg_scan(sb, path, buf, len);
    if ( rc )
        return rc;
    if ( !yaml_parser_initialize(&p) )
    {
        cfg_sb_escaped(sb, path);
        cfg_sb_printf(sb, ": out of memory");
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, buf, len);
    if ( !yaml_parser_load(&p, doc) )
        rc = cfg_parser_error(sb, path, buf, len, &p);
    yaml_parser_delete(&p);
    return rc;
}

/*
 * Walk @keys down from the root of @doc; see cfg_locate() for what *@line
 * becomes.  Returns 0 or -ENODATA.
 */
static int cfg_walk(yaml_document_t *doc, const char *const *keys,
                    size_t nkeys, unsigned int *line)
{
    yaml_node_t *n = yaml_document_get_root_node(doc);
    size_t i;

    if ( !n )
    {
        *line = 1;
        return -ENODATA;
    }
    *line = (unsigned int)n->start_mark.line + 1;
    for ( i = 0; i < nkeys; i++ )
    {
        yaml_node_t *key = NULL, *val = NULL;

        if ( n->type == YAML_MAPPING_NODE )
        {
            size_t klen = strlen(keys[i]);
            yaml_node_pair_t *pair;

            for ( pair = n->data.mapping.pairs.start;
                  pair < n->data.mapping.pairs.top; pair++ )
            {
                yaml_node_t *k = yaml_document_get_node(doc, pair->key);

                /* The last match wins: see cfg_locate(). */
                if ( k && k->type == YAML_SCALAR_NODE &&
                     k->data.scalar.length == klen &&
                     !memcmp(k->data.scalar.value, keys[i], klen) )
                {
                    key = k;
                    val = yaml_document_get_node(doc, pair->value);
                }
            }
        }
        else if ( n->type == YAML_SEQUENCE_NODE )
        {
            int64_t idx;
            ptrdiff_t count = n->data.sequence.items.top -
                              n->data.sequence.items.start;

            if ( !num_parse_int(keys[i], 0, (int64_t)count - 1, &idx) )
                val = yaml_document_get_node(
                    doc, n->data.sequence.items.start[idx]);
        }
        if ( !val )
            return -ENODATA;
        *line = (unsigned int)(key ? key : val)->start_mark.line + 1;
        n = val;
    }
    return 0;
}

int cfg_locate(const char *path, const char *const *keys, size_t nkeys,
               unsigned int *line)
{
    unsigned char *buf;
    size_t len;
    yaml_document_t doc;
    struct cfg_sb sb;
    int rc;

    rc = cfg_read(path, &buf, &len);
    if ( rc )
        return rc;
    cfg_sb_init(&sb, NULL, 0);
    rc = cfg_parse(&sb, path, buf, len, &doc);
    if ( !rc )
    {
        rc = cfg_walk(&doc, keys, nkeys, line);
        yaml_document_delete(&doc);
    }
    free(buf);
    return rc;
}

int cfg_invalid(char *err, size_t errlen, const char *path,
                const char *const *keys, size_t nkeys, const char *fmt, ...)
{
    struct cfg_sb sb;
    unsigned int line = 0;
    va_list ap;
    int rc;

    rc = cfg_locate(path, keys, nkeys, &line);
    cfg_sb_init(&sb, err, errlen);
    cfg_sb_escaped(&sb, path);
    if ( !rc || rc == -ENODATA )
        cfg_sb_printf(&sb, ":%u", line);
    cfg_sb_printf(&sb, ": ");
    if ( nkeys )
    {
        cfg_sb_path(&sb, keys, nkeys);
        cfg_sb_printf(&sb, ": ");
    }
    va_start(ap, fmt);
    cfg_sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* ------------------------------------------------------------------ */
/* libcyaml's log, captured                                           */

#define CFG_MAX_FRAMES  32
#define CFG_KEY_MAX     128

enum cfg_frame_kind {
    CFG_FRAME_FIELD,            /* in mapping field 'key' */
    CFG_FRAME_MAP,              /* in mapping, between keys */
    CFG_FRAME_SEQ,              /* in sequence entry 'count' */
};

struct cfg_frame {
    enum cfg_frame_kind kind;
    char key[CFG_KEY_MAX];      /* FIELD */
    unsigned long count;        /* SEQ: entries so far, this one included */
    unsigned int line;          /* libcyaml's idea of the line */
};

struct cfg_capture {
    char reason[512];           /* first error, "Load: " dropped */
    bool have_reason;
    bool in_trace;
    bool overflow;              /* more frames than we keep */
    unsigned int nframes;
    struct cfg_frame frames[CFG_MAX_FRAMES];    /* innermost first */
};

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

static void cfg_log(cyaml_log_t level, void *ctx, const char *fmt,
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
        cfg_sb_printf(sb, "unexpected key '");
        cfg_sb_escaped(sb, arg);
        cfg_sb_printf(sb, "'");
        break;
    case CFG_WHY_MISSING_KEY:
        cfg_sb_printf(sb, "missing required key '%s'", arg);
        break;
    case CFG_WHY_DUP_KEY:
        cfg_sb_printf(sb, "key given twice");
        break;
    case CFG_WHY_TOO_FEW:
        /* "N of M min) in sequence." */
        p = strstr(arg, " of ");
        n = p ? strtoul(p + 4, NULL, 10) : 1;
        cfg_sb_printf(sb, "needs at least %zu entr%s", n,
                      n == 1 ? "y" : "ies");
        break;
    case CFG_WHY_TOO_MANY:
        n = strtoul(arg, NULL, 10);
        cfg_sb_printf(sb, "allows at most %zu entr%s", n,
                      n == 1 ? "y" : "ies");
        break;
    case CFG_WHY_TYPE:
        /* "MAPPING, got event: SCALAR" */
        p = strstr(arg, ", got event: ");
        n = p ? (size_t)(p - arg) : strlen(arg);
        cfg_sb_printf(sb, "expected %s, not %s", cfg_type_words(arg, n),
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
        cfg_sb_printf(sb, "invalid value '");
        cfg_sb_escaped(sb, val);
        cfg_sb_printf(sb, "'");
        break;
    case CFG_WHY_STR_MIN:
        /* "N: value" */
        cfg_sb_printf(sb, "must be at least %lu bytes long",
                      strtoul(arg, NULL, 10));
        break;
    case CFG_WHY_STR_MAX:
        cfg_sb_printf(sb, "must be at most %lu bytes long",
                      strtoul(arg, NULL, 10));
        break;
    case CFG_WHY_OTHER:
        cfg_sb_escaped(sb, arg);
        break;
    }
}

/*
 * libcyaml failed with @cerr, having logged into @c: write the one-line
 * message.  @doc is the same text, parsed, for the line.
 */
static void cfg_report(struct cfg_sb *sb, const char *path,
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

    if ( c->overflow || cfg_walk(doc, keys, nkeys, &line) )
    {
        /* Cannot happen with a document libyaml and libcyaml agree on;
         * libcyaml's own line is the next best thing. */
        if ( c->nframes )
            line = c->frames[0].line;
    }

    cfg_sb_escaped(sb, path);
    if ( line )
        cfg_sb_printf(sb, ":%u", line);
    cfg_sb_printf(sb, ": ");
    if ( npath )
    {
        cfg_sb_path(sb, keys, npath);
        cfg_sb_printf(sb, ": ");
    }
    cfg_sb_reason(sb, why, arg);
}

/* First scalar holding a NUL byte, or NULL: libcyaml would cut it there. */
static const yaml_node_t *cfg_nul_scalar(const yaml_document_t *doc)
{
    const yaml_node_t *n;

    for ( n = doc->nodes.start; n < doc->nodes.top; n++ )
        if ( n->type == YAML_SCALAR_NODE &&
             memchr(n->data.scalar.value, '\0', n->data.scalar.length) )
            return n;
    return NULL;
}

int cfg_load(const char *path, const cyaml_schema_value_t *schema,
             void **out, char *err, size_t errlen)
{
    struct cfg_capture *cap;
    const yaml_node_t *bad;
    cyaml_config_t config = {
        .log_fn = cfg_log,
        .mem_fn = cyaml_mem,
        .log_level = CYAML_LOG_ERROR,
        .flags = CYAML_CFG_NO_ALIAS,   /* cfg_scan() refuses them first */
    };
    yaml_document_t doc;
    cyaml_data_t *data = NULL;
    cyaml_err_t cerr;
    unsigned char *buf;
    struct cfg_sb sb;
    size_t len;
    int rc;

    cfg_sb_init(&sb, err, errlen);
    if ( schema->type != CYAML_MAPPING ||
         !(schema->flags & CYAML_FLAG_POINTER) )
    {
        cfg_sb_printf(&sb, "cfg_load: schema is not a mapping by pointer");
        return -EINVAL;
    }

    rc = cfg_read(path, &buf, &len);
    if ( rc )
    {
        cfg_sb_escaped(&sb, path);
        if ( rc == -EFBIG )
            cfg_sb_printf(&sb, ": too big for a configuration file "
                          "(over %u bytes)", CFG_MAX_BYTES);
        else
            cfg_sb_printf(&sb, ": cannot read: %s", strerror(-rc));
        return rc;
    }

    rc = cfg_parse(&sb, path, buf, len, &doc);
    if ( rc )
        goto out_free_buf;
    if ( !yaml_document_get_root_node(&doc) )
    {
        cfg_sb_escaped(&sb, path);
        cfg_sb_printf(&sb, ": empty file, expected a YAML mapping");
        rc = -EINVAL;
        goto out_free_doc;
    }
    bad = cfg_nul_scalar(&doc);
    if ( bad )
    {
        cfg_sb_escaped(&sb, path);
        cfg_sb_printf(&sb, ":%zu: a string holds a NUL byte (\\0), "
                      "which is not supported", bad->start_mark.line + 1);
        rc = -EINVAL;
        goto out_free_doc;
    }

    cap = calloc(1, sizeof(*cap));
    if ( !cap )
    {
        rc = -ENOMEM;
        goto out_free_doc;
    }
    config.log_ctx = cap;
    cerr = cyaml_load_data(buf, len, &config, schema, &data, NULL);
    if ( cerr == CYAML_OK )
        *out = data;
    else if ( cerr == CYAML_ERR_OOM )
    {
        cfg_sb_escaped(&sb, path);
        cfg_sb_printf(&sb, ": out of memory");
        rc = -ENOMEM;
    }
    else
    {
        cfg_report(&sb, path, &doc, cap, cerr);
        rc = -EINVAL;
    }
    free(cap);
 out_free_doc:
    yaml_document_delete(&doc);
 out_free_buf:
    free(buf);
    return rc;
}

void cfg_free(const cyaml_schema_value_t *schema, void *data)
{
    static const cyaml_config_t config = {
        .mem_fn = cyaml_mem,
        .log_level = CYAML_LOG_ERROR,
    };

    if ( data )
        cyaml_free(&config, schema, data, 0);
}

struct cfg_named {
    const char *name;
    size_t idx;
};

static int cfg_named_cmp(const void *a, const void *b)
{
    const struct cfg_named *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

int cfg_first_dup(const void *base, size_t n, size_t stride, size_t off,
                  size_t *first, size_t *dup)
{
    struct cfg_named *v;
    size_t i, d = SIZE_MAX, f = 0;

    if ( n < 2 )
        return 0;
    v = malloc(n * sizeof(*v));
    if ( !v )
        return -ENOMEM;
    for ( i = 0; i < n; i++ )
    {
        const char *const *p = (const char *const *)(const void *)
                               ((const char *)base + i * stride + off);

        v[i].name = *p;
        v[i].idx = i;
    }
    /* Sorted by (name, index), so an equal pair is (earlier, later). */
    qsort(v, n, sizeof(*v), cfg_named_cmp);
    for ( i = 1; i < n; i++ )
        if ( !strcmp(v[i - 1].name, v[i].name) && v[i].idx < d )
        {
            /* the repeat that comes first in the file */
            d = v[i].idx;
            f = v[i - 1].idx;
        }
    free(v);
    if ( d == SIZE_MAX )
        return 0;
    *first = f;
    *dup = d;
    return 1;
}

/* ------------------------------------------------------------------ */
/* "key = value" files                                                */

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

    cfg_sb_init(&sb, kv->err, sizeof(kv->err));
    cfg_sb_printf(&sb, "%s: ", kv->where);
    va_start(ap, fmt);
    cfg_sb_vprintf(&sb, fmt, ap);
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
        cfg_sb_init(&sb, kv->where, sizeof(kv->where));
        cfg_sb_escaped(&sb, kv->path);
        cfg_sb_printf(&sb, ":%u", kv->lineno);
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
