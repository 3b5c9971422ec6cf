/*
 * num.c: strict number parsing (num.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenos/num.h>

int num_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    bool neg = false, big = false;
    uint64_t mag = 0;
    /* |INT64_MIN|: the largest magnitude an int64_t can hold */
    const uint64_t limit = (uint64_t)INT64_MAX + 1;
    int64_t v;

    if ( *s == '-' || *s == '+' )
        neg = *s++ == '-';
    if ( !*s )
        return -EINVAL;
    for ( ; *s; s++ )
    {
        if ( *s < '0' || *s > '9' )
            return -EINVAL;
        if ( mag > (limit - (uint64_t)(*s - '0')) / 10 )
            big = true;         /* keep checking the syntax */
        else
            mag = mag * 10 + (uint64_t)(*s - '0');
    }
    if ( big || (!neg && mag == limit) )
    {
        *out = neg ? min : max;
        return -ERANGE;
    }
    v = neg ? (mag == limit ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    *out = v;
    return v < min || v > max ? -ERANGE : 0;
}

int num_parse_fixed(const char *s, unsigned int decimals, int64_t *out)
{
    bool neg = false, digits = false;
    unsigned int frac = 0, i;
    uint64_t mag = 0;
    const uint64_t limit = (uint64_t)INT64_MAX;

    if ( decimals > 18 )
        return -EINVAL;
    if ( *s == '-' || *s == '+' )
        neg = *s++ == '-';
    for ( ; *s >= '0' && *s <= '9'; s++ )
    {
        digits = true;
        if ( mag > (limit - (uint64_t)(*s - '0')) / 10 )
            return -ERANGE;
        mag = mag * 10 + (uint64_t)(*s - '0');
    }
    /* Scale the integer part first, so "1." and "1" mean the same. */
    for ( i = 0; i < decimals; i++ )
    {
        if ( mag > limit / 10 )
            return -ERANGE;
        mag *= 10;
    }
    if ( *s == '.' )
    {
        for ( s++; *s >= '0' && *s <= '9'; s++ )
        {
            uint64_t d = (uint64_t)(*s - '0'), p = 1;
            unsigned int k;

            digits = true;
            if ( ++frac > decimals )
            {
                if ( d )
                    return -EINVAL;     /* more precision than we keep */
                continue;
            }
            for ( k = frac; k < decimals; k++ )
                p *= 10;
            if ( mag > limit - d * p )
                return -ERANGE;
            mag += d * p;
        }
    }
    if ( *s || !digits )
        return -EINVAL;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return 0;
}
