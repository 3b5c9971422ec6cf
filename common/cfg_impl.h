/*
 * cfg_impl.h: for common/cfg*.c only: what the YAML loader (cfg.c), its
 * reading of libcyaml's errors (cfg_report.c) and the "key = value"
 * reader (cfg_kv.c) share.  Not an API: cfg.h is.
 */
#ifndef XENOS_CFG_IMPL_H
#define XENOS_CFG_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include <xenos/cfg.h>

/* Appends to a caller's buffer; what does not fit is dropped. */
struct cfg_sb {
    char *buf;
    size_t len, cap;
};

/* cfg.c: bounded message building */
void cfg__sb_init(struct cfg_sb *sb, char *buf, size_t cap);
void cfg__sb_vprintf(struct cfg_sb *sb, const char *fmt, va_list ap);
void __attribute__((format(printf, 2, 3)))
cfg__sb_printf(struct cfg_sb *sb, const char *fmt, ...);
/* Append @s escaped (cfg_escape_msg): a cut shows, at a whole character. */
void cfg__sb_escaped(struct cfg_sb *sb, const char *s);
/* "domains[2].weight": components of digits only are indexes. */
void cfg__sb_path(struct cfg_sb *sb, const char *const *keys, size_t nkeys);

/*
 * cfg.c: walk @keys down from the root of @doc; see cfg_locate() for what
 * *@line becomes.  Returns 0 or -ENODATA.
 */
int cfg__walk(yaml_document_t *doc, const char *const *keys, size_t nkeys,
              unsigned int *line);

/* cfg_report.c: libcyaml's log, captured */

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

/* libcyaml's log function: @ctx is a struct cfg_capture, zeroed before
 * the load, that keeps the first error and the backtrace after it. */
void cfg__log(cyaml_log_t level, void *ctx, const char *fmt, va_list args);

/*
 * libcyaml failed with @cerr, having logged into @c: write the one-line
 * message, "FILE:LINE: PATH: reason", into @sb.  @doc is the same text,
 * parsed, for the line.
 */
void cfg__report(struct cfg_sb *sb, const char *path, yaml_document_t *doc,
                 struct cfg_capture *c, cyaml_err_t cerr);

#endif /* XENOS_CFG_IMPL_H */
