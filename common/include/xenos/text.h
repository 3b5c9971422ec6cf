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
