/*
 * text.c: escaping untrusted strings for structured text (text.h).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/cfg.h>
#include <xenos/text.h>

void txt_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if ( !s )
    {
        fputs("null", f);
        return;
    }
    fputs("\"", f);
    while ( *p )
    {
        uint32_t cp;
        size_t n = cfg_utf8_next((const char *)p, &cp);

        if ( !n )
        {
            fputs("\\ufffd", f);     /* not UTF-8: replacement char */
            p++;
            continue;
        }
        switch ( cp )
        {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case 0x7f:
        case 0x2028:    /* line separators: valid JSON, but break */
        case 0x2029:    /* JavaScript and some line-based tools */
            fprintf(f, "\\u%04" PRIx32, cp);
            break;
        default:
            if ( cp < 0x20 )
                fprintf(f, "\\u%04" PRIx32, cp);
            else
                fwrite(p, 1, n, f);
            break;
        }
        p += n;
    }
    fputs("\"", f);
}

void txt_buf_init(struct txt_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void txt_buf_free(struct txt_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void txt_buf_reset(struct txt_buf *b)
{
    b->len = 0;
    b->oom = false;
}

/* Room for @n more bytes; false (and oom) when there is none. */
static bool txt_room(struct txt_buf *b, size_t n)
{
    size_t cap;
    char *p;

    if ( b->oom )
        return false;
    if ( b->cap - b->len >= n )
        return true;
    for ( cap = b->cap ? b->cap : 4096; cap - b->len < n; cap *= 2 )
        ;
    p = realloc(b->p, cap);
    if ( !p )
    {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

char *txt_reserve(struct txt_buf *b, size_t n)
{
    return txt_room(b, n) ? b->p + b->len : NULL;
}

void txt_put(struct txt_buf *b, const char *s, size_t n)
{
    if ( !txt_room(b, n) )
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void txt_puts(struct txt_buf *b, const char *s)
{
    txt_put(b, s, strlen(s));
}

void txt_putc(struct txt_buf *b, char c)
{
    if ( txt_room(b, 1) )
        b->p[b->len++] = c;
}

void txt_put_u64(struct txt_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do
    {
        tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while ( v );
    txt_put(b, tmp + sizeof(tmp) - n, n);
}
