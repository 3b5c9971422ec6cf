/*
 * text.c: escaping untrusted strings for structured text (text.h).
 */
#include <inttypes.h>
#include <stdint.h>

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
