/*
 * text.h: writing untrusted strings (domain names, tenant names) into
 * structured text, escaped for the format, never truncated.  Shared by
 * every writer: the simulator's reports, xenosd's status, the exporters.
 */
#ifndef XENOS_TEXT_H
#define XENOS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Write @s as a JSON string, quotes included (NULL: null).  Control
 * characters, quote and backslash are escaped; bytes that are not valid
 * UTF-8 become U+FFFD; U+2028/2029 and DEL are escaped for line-based
 * consumers.  Errors are the stream's: check ferror(@f).
 */
void txt_json_str(FILE *f, const char *s);

/*
 * Write @s (NULL: "") as one CSV cell (RFC 4180), safe to open in a
 * spreadsheet:
 *   - a cell starting with = + - @ TAB or CR, which a spreadsheet would
 *     take for a formula, gets a ' in front ("=1+2" becomes "'=1+2"), the
 *     usual neutralisation (OWASP): the ' is shown by no spreadsheet, and
 *     is there for a script to strip;
 *   - bytes that are not valid UTF-8 become U+FFFD, one per byte;
 *   - the cell is quoted, inner quotes doubled, when @always_quote, when
 *     it was neutralised, or when it holds a comma, quote, CR or LF or
 *     starts or ends with a space.
 * Errors are the stream's: check ferror(@f).
 */
void txt_csv_str(FILE *f, const char *s, bool always_quote);

/*
 * The well-formed UTF-8 character at @s (NUL-terminated): returns its
 * length, 1..4, and sets *@cp to its code point; returns 0 when @s does not
 * start one (a stray continuation byte, an overlong form, a surrogate,
 * beyond U+10FFFF, cut short).  NUL is the one-byte character 0.  Shared by
 * every writer that must escape names: txt_escape(), the JSON and CSV writers.
 */
size_t txt_utf8_next(const char *s, uint32_t *cp);

/*
 * The characters that must never reach a terminal or a one-line log as
 * they are: C0 controls and DEL, C1 controls (U+0080..U+009F), the
 * bidirectional controls (U+061C, U+200E/F, U+202A..U+202E,
 * U+2066..U+2069: they reorder what follows, so a name can make a line
 * read differently from its bytes), the zero-width characters (U+200B..
 * U+200D, U+2060, U+FEFF: two names that look alike), and the line and
 * paragraph separators U+2028/U+2029.  True for @cp when it is one.
 * Shared by cfg_escape() and every terminal writer.
 */
bool txt_cp_hidden(uint32_t cp);

/*
 * Copy @src into @dst for a terminal: valid UTF-8 goes through, but each
 * character for which txt_cp_hidden() holds becomes "\xNN" (below
 * U+0080) or "\uXXXX", and each byte that is not UTF-8 "\xNN".  For
 * text that should already be escaped (cfg_escape's output passes through
 * unchanged) but comes from a source not trusted to have done it.
 *
 * Returns 0, or -ENOSPC when the result (with its NUL) does not fit
 * @dstlen: @dst then holds as much as fits, cut at a whole character or
 * escape, still terminated.
 */
int txt_tty_escape(char *dst, size_t dstlen, const char *src);

/*
 * The one escaper behind txt_tty_escape() (@named false) and cfg_escape()
 * (@named true: a backslash becomes "\\", newline, tab and carriage
 * return "\n", "\t", "\r", so the result reads back unambiguously).
 */
int txt_escape(char *dst, size_t dstlen, const char *src, bool named);

/*
 * A @dstlen with which txt_escape(), txt_tty_escape() and cfg_escape()
 * never return -ENOSPC for @src: no input byte grows to more than four
 * ("\xNN" for a control or stray byte; "\u0085" is six for two, a hidden
 * three-byte character six for three).
 */
size_t txt_escape_size(const char *src);

/*
 * A growing text buffer for output rendered often and large (checkpoints,
 * metrics): appends are memcpy and a hand-made integer formatter, several
 * times cheaper than stdio.  Out of memory is sticky: appends after it do
 * nothing and `oom` tells the caller at the end.
 */
struct txt_buf {
    char *p;                            /* not NUL-terminated */
    size_t len, cap;
    bool oom;
};

void txt_buf_init(struct txt_buf *b);
void txt_buf_free(struct txt_buf *b);
/* Empty it, keeping the memory. */
void txt_buf_reset(struct txt_buf *b);
/* Room for @n more bytes at b->p + b->len, for a caller that writes there
 * itself (then adds what it wrote to b->len); NULL when out of memory. */
char *txt_reserve(struct txt_buf *b, size_t n);
void txt_put(struct txt_buf *b, const char *s, size_t n);
void txt_puts(struct txt_buf *b, const char *s);
void txt_putc(struct txt_buf *b, char c);
/* @v in decimal. */
void txt_put_u64(struct txt_buf *b, uint64_t v);

#endif /* XENOS_TEXT_H */
