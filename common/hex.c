/*
 * hex.c: the hex codec (hex.h).
 */
#include <errno.h>
#include <string.h>

#include <xenos/hex.h>

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

int hex_val(int c)
{
    if ( c >= '0' && c <= '9' )
        return c - '0';
    if ( c >= 'a' && c <= 'f' )
        return c - 'a' + 10;
    if ( c >= 'A' && c <= 'F' )
        return c - 'A' + 10;
    return -1;
}

int hex_byte(const char *s)
{
    int hi = hex_val((unsigned char)s[0]), lo;

    /* s[1] is only read when s[0] was a digit, so not past a NUL */
    if ( hi < 0 || (lo = hex_val((unsigned char)s[1])) < 0 )
        return -1;
    return hi << 4 | lo;
}

void hex_pct(char out[3], unsigned char ch, bool upper)
{
    const char *d = upper ? hex_upper : hex_lower;

    out[0] = '%';
    out[1] = d[ch >> 4];
    out[2] = d[ch & 15];
}

long hex_unescape(char *dst, const char *src)
{
    long o = 0;
    int ch;

    while ( *src )
    {
        if ( *src != '%' )
        {
            dst[o++] = *src++;
            continue;
        }
        if ( (ch = hex_byte(src + 1)) <= 0 )
            return -1;
        dst[o++] = (char)ch;
        src += 3;
    }
    dst[o] = '\0';
    return o;
}

void hex_uuid(const uint8_t b[16], char out[HEX_UUID_LEN + 1])
{
    unsigned int i, o = 0;

    for ( i = 0; i < 16; i++ )
    {
        /* dashes after bytes 4, 6, 8 and 10: 8-4-4-4-12 digits */
        if ( i == 4 || i == 6 || i == 8 || i == 10 )
            out[o++] = '-';
        out[o++] = hex_lower[b[i] >> 4];
        out[o++] = hex_lower[b[i] & 15];
    }
    out[o] = '\0';
}

int hex_uuid_parse(const char *s, char out[HEX_UUID_LEN + 1])
{
    char u[HEX_UUID_LEN + 1];
    unsigned int i;
    int v;

    for ( i = 0; i < HEX_UUID_LEN; i++ )
    {
        if ( i == 8 || i == 13 || i == 18 || i == 23 )
        {
            if ( s[i] != '-' )
                return -EINVAL;
            u[i] = '-';
        }
        else if ( (v = hex_val((unsigned char)s[i])) < 0 )
            return -EINVAL;     /* a NUL too: s is not read past it */
        else
            u[i] = hex_lower[v];
    }
    if ( s[HEX_UUID_LEN] )
        return -EINVAL;
    u[HEX_UUID_LEN] = '\0';
    memcpy(out, u, sizeof(u));
    return 0;
}
