/*
 * cfg.c: YAML configuration files through libcyaml, with one-line errors:
 * reading, the libyaml passes, loading, and the bounded message building
 * cfg_report.c and cfg_kv.c share.
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
 * cfg_report.c captures that log and turns it into "FILE:LINE: PATH:
 * reason".  The "key = value" reader of xenosd --config (cfg_kv_next) is
 * cfg_kv.c.
 *
 * Why look lines up in the document instead of using libcyaml's: its
 * backtrace gives the line of the enclosing value, not of an unexpected
 * key, and for a missing key the line of whatever key came last.  The path
 * is exact, so the document answers exactly.
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

#include "cfg_impl.h"

/* ------------------------------------------------------------------ */
/* Bounded message building                                           */

void cfg__sb_init(struct cfg_sb *sb, char *buf, size_t cap)
{
    sb->buf = buf;
    sb->cap = cap;
    sb->len = 0;
    if ( cap )
        buf[0] = '\0';
}

void cfg__sb_vprintf(struct cfg_sb *sb, const char *fmt, va_list ap)
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

void __attribute__((format(printf, 2, 3)))
cfg__sb_printf(struct cfg_sb *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg__sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

/* Append @s escaped (cfg_escape_msg): a cut shows, at a whole character. */
void cfg__sb_escaped(struct cfg_sb *sb, const char *s)
{
    if ( sb->len + 1 >= sb->cap )
        return;
    cfg_escape_msg(sb->buf + sb->len, sb->cap - sb->len, s);
    sb->len += strlen(sb->buf + sb->len);
}

/* "domains[2].weight": components of digits only are indexes. */
void cfg__sb_path(struct cfg_sb *sb, const char *const *keys,
                  size_t nkeys)
{
    size_t i;

    for ( i = 0; i < nkeys; i++ )
    {
        const char *k = keys[i];
        bool index = *k && strspn(k, "0123456789") == strlen(k);

        if ( index && i > 0 )
            cfg__sb_printf(sb, "[%s]", k);
        else
        {
            if ( i > 0 )
                cfg__sb_printf(sb, ".");
            cfg__sb_escaped(sb, k);
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
    cfg__sb_escaped(sb, path);
    switch ( p->error )
    {
    case YAML_MEMORY_ERROR:
        cfg__sb_printf(sb, ": out of memory");
        return -ENOMEM;
    case YAML_READER_ERROR:
        /* Bad encoding: libyaml gives a byte offset, not a line. */
        cfg__sb_printf(sb, ":%u: not valid UTF-8 text: %s",
                       cfg_line_at(buf, len, p->problem_offset),
                       p->problem ? p->problem : "unreadable");
        if ( p->problem_value >= 0 )
            cfg__sb_printf(sb, " (byte 0x%02x)",
                           (unsigned int)p->problem_value & 0xff);
        return -EINVAL;
    default:
        cfg__sb_printf(sb, ":%zu: YAML syntax error: %s",
                       p->problem_mark.line + 1,
                       p->problem ? p->problem : "unknown");
        if ( p->context )
            cfg__sb_printf(sb, " (%s at line %zu)", p->context,
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
        cfg__sb_escaped(sb, path);
        cfg__sb_printf(sb, ": out of memory");
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
            cfg__sb_escaped(sb, path);
            cfg__sb_printf(sb, ":%zu: YAML %s (", line,
                           anchor ? "anchors" : "aliases");
            cfg__sb_printf(sb, anchor ? "&" : "*");
            cfg__sb_escaped(sb, (const char *)(anchor ? anchor
                            : ev.data.alias.anchor));
            cfg__sb_printf(sb, ") are not accepted: write the value out");
            rc = -EINVAL;
        }
        else if ( ev.type == YAML_SEQUENCE_START_EVENT ||
                  ev.type == YAML_MAPPING_START_EVENT )
        {
            if ( ++depth > CFG_MAX_DEPTH )
            {
                cfg__sb_escaped(sb, path);
                cfg__sb_printf(sb, ":%zu: nested deeper than %u levels",
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
        cfg__sb_escaped(sb, path);
        cfg__sb_printf(sb, ": out of memory");
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
int cfg__walk(yaml_document_t *doc, const char *const *keys,
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
    cfg__sb_init(&sb, NULL, 0);
    rc = cfg_parse(&sb, path, buf, len, &doc);
    if ( !rc )
    {
        rc = cfg__walk(&doc, keys, nkeys, line);
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
    cfg__sb_init(&sb, err, errlen);
    cfg__sb_escaped(&sb, path);
    if ( !rc || rc == -ENODATA )
        cfg__sb_printf(&sb, ":%u", line);
    cfg__sb_printf(&sb, ": ");
    if ( nkeys )
    {
        cfg__sb_path(&sb, keys, nkeys);
        cfg__sb_printf(&sb, ": ");
    }
    va_start(ap, fmt);
    cfg__sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    return -EINVAL;
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
        .log_fn = cfg__log,
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

    cfg__sb_init(&sb, err, errlen);
    if ( schema->type != CYAML_MAPPING ||
         !(schema->flags & CYAML_FLAG_POINTER) )
    {
        cfg__sb_printf(&sb, "cfg_load: schema is not a mapping by pointer");
        return -EINVAL;
    }

    rc = cfg_read(path, &buf, &len);
    if ( rc )
    {
        cfg__sb_escaped(&sb, path);
        if ( rc == -EFBIG )
            cfg__sb_printf(&sb, ": too big for a configuration file "
                           "(over %u bytes)", CFG_MAX_BYTES);
        else
            cfg__sb_printf(&sb, ": cannot read: %s", strerror(-rc));
        return rc;
    }

    rc = cfg_parse(&sb, path, buf, len, &doc);
    if ( rc )
        goto out_free_buf;
    if ( !yaml_document_get_root_node(&doc) )
    {
        cfg__sb_escaped(&sb, path);
        cfg__sb_printf(&sb, ": empty file, expected a YAML mapping");
        rc = -EINVAL;
        goto out_free_doc;
    }
    bad = cfg_nul_scalar(&doc);
    if ( bad )
    {
        cfg__sb_escaped(&sb, path);
        cfg__sb_printf(&sb, ":%zu: a string holds a NUL byte (\\0), "
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
        cfg__sb_escaped(&sb, path);
        cfg__sb_printf(&sb, ": out of memory");
        rc = -ENOMEM;
    }
    else
    {
        cfg__report(&sb, path, &doc, cap, cerr);
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
