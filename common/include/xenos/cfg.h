/*
 * cfg.h: YAML configuration files (simulator scenarios, tenant policies)
 * loaded through libcyaml, with errors a person can act on.
 *
 * libcyaml checks a document against a schema but reports problems as a
 * stream of log lines ("Load: Invalid INT value" followed by a backtrace of
 * "in mapping field ... (line: 3, column: 6)").  cfg_load() captures that
 * stream and turns it into one line:
 *
 *     FILE:LINE: FIELD.PATH: reason
 *
 * e.g. "s.yaml:7: domains[1].workload: unexpected key 'tpye'".  Checks a
 * loader makes after loading (a weight of 0, a duplicate name) name their
 * line the same way through cfg_invalid(), which finds the node by its path
 * with libyaml's document API.
 *
 * Paths are arrays of components: mapping keys, and sequence indexes
 * written in decimal ({"domains", "2", "weight"}).  In messages, a
 * component made only of digits is shown as an index ("domains[2].weight").
 *
 * Errors are negative errno values: -ENOENT, -EACCES, -EISDIR... from
 * opening and reading, -EFBIG for a file over CFG_MAX_BYTES, -ENOMEM, and
 * -EINVAL for anything wrong with the content.  Nothing here aborts.
 */
#ifndef XENOS_CFG_H
#define XENOS_CFG_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include <cyaml/cyaml.h>

/* Configuration files are small; a bigger one is a mistake, not data. */
#define CFG_MAX_BYTES   (16u << 20)
/* Mappings and sequences nest this deep at most (xenos files need 4). */
#define CFG_MAX_DEPTH   64u

/*
 * Load the YAML file @path against @schema, which must describe a mapping
 * held by pointer (CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, ...)).
 *
 * Returns 0 and sets *@out to the loaded data, which the caller owns and
 * frees with cfg_free(@schema, *@out).  *@out may be NULL when the file is a
 * mapping that sets none of the schema's (then all optional) keys.
 *
 * On error returns a negative errno, leaves *@out untouched, allocates
 * nothing and writes one line to @err (no trailing newline), cut short if
 * @errlen is too small:
 *   - "FILE: cannot read: No such file or directory"   (-ENOENT, ...)
 *   - "FILE: empty file, expected a YAML mapping"       (-EINVAL)
 *   - "FILE:LINE: YAML syntax error: <libyaml's reason>" (-EINVAL)
 *   - "FILE:LINE: YAML aliases (*a) are not accepted: ..." (-EINVAL), the
 *     same for anchors (&a): libcyaml would expand each alias where it is
 *     used, so a small file could load as gigabytes ("billion laughs")
 *   - "FILE:LINE: nested deeper than 64 levels"         (-EINVAL)
 *   - "FILE:LINE: PATH: <schema violation>"             (-EINVAL)
 * Text from the file that appears in a message is escaped (cfg_escape), so
 * a hostile key cannot break the line or the terminal.
 *
 * Strings containing a NUL byte ("a\0b" in a double-quoted scalar) are
 * refused, since libcyaml would silently cut them at the NUL.
 */
int cfg_load(const char *path, const cyaml_schema_value_t *schema,
             void **out, char *err, size_t errlen);

/* Free what cfg_load() returned with the same @schema.  @data may be NULL. */
void cfg_free(const cyaml_schema_value_t *schema, void *data);

/*
 * Find the node at @keys[0..@nkeys) in the YAML file @path and set *@line
 * to its 1-based line: for a mapping key, the line of the key; for a
 * sequence index, the line the entry starts on; for no keys at all, the
 * line the document's root starts on.  When a key appears twice in one
 * mapping, the last one counts (it is the one a "given twice" error means).
 *
 * Returns 0 when the whole path exists; -ENODATA when only a prefix does,
 * with *@line set to the deepest node found (so "block_us is missing"
 * points at the workload it is missing from), or to 1 when the file holds
 * no document; otherwise a negative errno from reading (-ENOENT: no such
 * file) or parsing (-EINVAL) the file, *@line untouched.
 *
 * The file is read again on every call: meant for error paths only.
 */
int cfg_locate(const char *path, const char *const *keys, size_t nkeys,
               unsigned int *line);

/*
 * Report a problem found after loading: writes "FILE:LINE: PATH: reason"
 * into @err, where LINE comes from cfg_locate(@path, @keys, @nkeys) (left
 * out if the file cannot be read any more), PATH is @keys formatted as
 * "domains[2].weight" (left out when @nkeys is 0) and the reason is
 * printf(@fmt, ...).  Text from the file passed in the arguments should be
 * escaped with cfg_escape() first.  The message is cut short if @errlen is
 * too small: the error it reports matters more than its length.
 *
 * Always returns -EINVAL, so a loader can "return cfg_invalid(...)".
 */
int cfg_invalid(char *err, size_t errlen, const char *path,
                const char *const *keys, size_t nkeys, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Copy @src into @dst so it can be shown on one line: control characters
 * become \n, \t, \r, \xNN (C0 and DEL) or \u0080..\u009f (C1), the
 * other characters of txt_cp_hidden() (bidi controls, zero-width
 * characters, U+2028/2029) \uXXXX, a
 * backslash becomes "\\", bytes that are not valid UTF-8 become \xNN;
 * valid UTF-8 text is kept as it is.
 *
 * Returns 0, or -ENOSPC when the result (with its NUL) does not fit
 * @dstlen, in which case @dst holds as much as fits, still terminated and
 * never cut inside an escape or a UTF-8 character.
 */
int cfg_escape(char *dst, size_t dstlen, const char *src);

/*
 * cfg_escape() for a message: a value too long for @dst is cut at a whole
 * character or escape and ends in "...", so the cut shows.  Returns 0, or
 * -ENOSPC when it was cut (with @dstlen under 4, @dst holds what fits of
 * the value, or nothing).
 */
int cfg_escape_msg(char *dst, size_t dstlen, const char *src);

/*
 * The first repeat among @n strings: the i-th is the `char *` (or `const
 * char *`) at @base + i * @stride + @off.  Returns 1 and sets *@first and
 * *@dup to the indexes of the earliest repeated name's first occurrence
 * and of the repeat that comes first in order; 0 when all differ;
 * -ENOMEM.  O(n log n); shared by every loader whose names must be
 * unique, so each reports a duplicate the same way.
 */
int cfg_first_dup(const void *base, size_t n, size_t stride, size_t off,
                  size_t *first, size_t *dup);

/*
 * "key = value" files (xenosd --config): one setting a line, '#' starts a
 * comment, blank lines and spaces around key and value ignored.
 *
 * A line is at most CFG_KV_LINE_MAX bytes without its newline.  A longer
 * one is an error, not two lines: read in pieces, the rest of a long
 * comment would become a setting of its own.  A NUL byte is an error too.
 */
#define CFG_KV_LINE_MAX 4095u

struct cfg_kv {
    FILE *f;                            /* not owned */
    const char *path;                   /* for messages; not owned */
    unsigned int lineno;
    char line[CFG_KV_LINE_MAX + 1];
    char where[288];                    /* "PATH:LINE" (path escaped) */
    char err[512];                      /* "PATH:LINE: reason" */
};

/* Start reading @f, named @path in messages. */
void cfg_kv_init(struct cfg_kv *kv, FILE *f, const char *path);

/*
 * The next setting: returns 1 and points *@key and *@val into kv->line
 * (good until the next call; the value may be ""), with kv->where set to
 * "PATH:LINE"; 0 at the end of the file; -EINVAL for a bad line (too
 * long, a NUL byte, no '=', an empty key) or -errno from reading, with
 * kv->err set to "PATH:LINE: reason".
 */
int cfg_kv_next(struct cfg_kv *kv, char **key, char **val);

#endif /* XENOS_CFG_H */
