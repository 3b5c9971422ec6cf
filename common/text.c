/*
 * text.c: escaping untrusted strings for structured text (text.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/text.h>

/* NUL is never a continuation byte, so reading ahead stops in time. */
size_t txt_utf8_next(const char *str, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t n, i;
    uint32_t v;

    if ( c < 0x80 )
    {
        *cp = c;
        return 1;
    }
    if ( c >= 0xc2 && c <= 0xdf )
    {
        n = 2;
        v = c & 0x1f;
    }
    else if ( c >= 0xe0 && c <= 0xef )
    {
        n = 3;
        v = c & 0x0f;
        if ( c == 0xe0 )
            lo = 0xa0;              /* overlong */
        else if ( c == 0xed )
            hi = 0x9f;              /* UTF-16 surrogates */
    }
    else if ( c >= 0xf0 && c <= 0xf4 )
    {
        n = 4;
        v = c & 0x07;
        if ( c == 0xf0 )
            lo = 0x90;              /* overlong */
        else if ( c == 0xf4 )
            hi = 0x8f;              /* beyond U+10FFFF */
    }
    else
        return 0;

    for ( i = 1; i < n; i++ )
    {
        unsigned char b = s[i];

        if ( b < lo || b > hi )
            return 0;
        lo = 0x80;
        hi = 0xbf;
        v = (v << 6) | (b & 0x3f);
    }
    *cp = v;
    return n;
}

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
        size_t n = txt_utf8_next((const char *)p, &cp);

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

bool txt_cp_hidden(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
           (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2069 && cp != 0x2065) || cp == 0xfeff;
}

int txt_escape(char *dst, size_t dstlen, const char *src, bool named)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t len = 0;

    if ( !dstlen )
        return -ENOSPC;
    while ( *p )
    {
        char piece[16];
        const char *out = piece;
        size_t n, plen;
        uint32_t cp;

        n = txt_utf8_next((const char *)p, &cp);
        if ( !n )
        {
            snprintf(piece, sizeof(piece), "\\x%02x", *p);
            n = 1;
        }
        else if ( named && cp == '\\' )
            out = "\\\\";
        else if ( named && cp == '\n' )
            out = "\\n";
        else if ( named && cp == '\t' )
            out = "\\t";
        else if ( named && cp == '\r' )
            out = "\\r";
        else if ( txt_cp_hidden(cp) )
            snprintf(piece, sizeof(piece),
                     cp < 0x80 ? "\\x%02x" : "\\u%04x", (unsigned int)cp);
        else
            out = (const char *)p;
        plen = out == (const char *)p ? n : strlen(out);
        if ( len + plen + 1 > dstlen )
        {
            dst[len] = '\0';
            return -ENOSPC;
        }
        memcpy(dst + len, out, plen);
        len += plen;
        p += n;
    }
    dst[len] = '\0';
    return 0;
}

size_t txt_escape_size(const char *src)
{
    return 4 * strlen(src) + 1;
}

int txt_tty_escape(char *dst, size_t dstlen, const char *src)
{
    return txt_escape(dst, dstlen, src, false);
}

/* Would a spreadsheet take a cell starting with @c for a formula? */
static bool txt_csv_formula(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' ||
           c == '\r';
}

void txt_csv_str(FILE *f, const char *s, bool always_quote)
{
    const unsigned char *p;
    bool formula, quote;
    size_t n;

    if ( !s )
        s = "";
    n = strlen(s);
    formula = txt_csv_formula(s[0]);
    quote = always_quote || formula || strpbrk(s, ",\"\r\n") ||
            (n && (s[0] == ' ' || s[n - 1] == ' '));
    if ( quote )
        fputc('"', f);
    if ( formula )
        fputc('\'', f);
    for ( p = (const unsigned char *)s; *p; )
    {
        uint32_t cp;
        size_t k = txt_utf8_next((const char *)p, &cp);

        if ( !k )
        {
            fputs("\xef\xbf\xbd", f);       /* U+FFFD */
            p++;
            continue;
        }
        if ( cp == '"' )
            fputc('"', f);
        fwrite(p, 1, k, f);
        p += k;
    }
    if ( quote )
        fputc('"', f);
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
