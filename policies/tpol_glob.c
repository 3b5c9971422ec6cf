/*
 * tpol_glob.c: the globs a tenant policy matches domain names with.
 *
 * A glob's literal head (the bytes before its first metacharacter) is
 * compared first, so the usual "acme-*" rejects a foreign name in a few
 * byte compares.  Globs follow fnmatch(3) with no flags, but work on
 * UTF-8 characters whatever the locale ('?' is one character, not one
 * byte), never recurse, and take O(pattern x name) time at worst, so a
 * hostile domain name cannot make matching slow.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <xenos/text.h>

#include "tpol_glob.h"

/*
 * The character at @s: its length (0 at the end) and in *@cp its code
 * point, or 0xdc00 + the byte for a byte that does not start valid UTF-8
 * (a surrogate, so it never equals a character a pattern can hold).
 */
static size_t tpol_char(const char *s, uint32_t *cp)
{
    size_t n;

    if ( !*s )
        return 0;
    n = txt_utf8_next(s, cp);
    if ( !n )
    {
        *cp = 0xdc00u | (unsigned char)*s;
        n = 1;
    }
    return n;
}

/*
 * The bracket expression whose '[' is just before @p: sets *@in to
 * whether @c is in it and returns the pattern past its ']', or returns
 * NULL when there is no ']' (the '[' is then an ordinary character, as
 * in fnmatch).  "!" or "^" first negates, "]" first is a member, "a-z"
 * is a range of code points, "\x" is x.
 */
static const char *tpol_bracket(const char *p, uint32_t c, bool *in)
{
    bool neg = false, found = false, first = true;
    uint32_t lo, hi;

    if ( *p == '!' || *p == '^' )
    {
        neg = true;
        p++;
    }
    for ( ;; )
    {
        if ( !*p )
            return NULL;
        if ( *p == ']' && !first )
            break;
        first = false;
        if ( *p == '\\' && p[1] )
            p++;
        p += tpol_char(p, &lo);
        hi = lo;
        if ( p[0] == '-' && p[1] && p[1] != ']' )
        {
            p++;
            if ( *p == '\\' && p[1] )
                p++;
            p += tpol_char(p, &hi);
        }
        if ( lo <= c && c <= hi )
            found = true;
    }
    *in = found != neg;
    return p + 1;
}

/*
 * Does the pattern element at @p match character @c?  Sets *@next past
 * the element.  @p is not at '*' and not at the end.
 */
static bool tpol_element(const char *p, uint32_t c, const char **next)
{
    uint32_t pc;
    bool in;

    if ( *p == '?' )
    {
        *next = p + 1;
        return true;
    }
    if ( *p == '[' )
    {
        const char *end = tpol_bracket(p + 1, c, &in);

        if ( end )
        {
            *next = end;
            return in;
        }
    }
    else if ( *p == '\\' && p[1] )
        p++;
    *next = p + tpol_char(p, &pc);
    return pc == c;
}

/*
 * fnmatch(@pat, @s, 0), by UTF-8 character.  Iterative: on a mismatch
 * only the last '*' seen takes one more character, which is enough for
 * globs (the first '*' to match as little as possible never hides a
 * match) and bounds the work by |pattern| x |name|.
 */
static bool tpol_glob_match(const char *pat, const char *s)
{
    const char *p = pat, *star_p = NULL, *star_s = NULL, *next;
    uint32_t c;
    size_t n;

    while ( *s )
    {
        if ( *p == '*' )
        {
            while ( *p == '*' )
                p++;
            if ( !*p )
                return true;
            star_p = p;
            star_s = s;
            continue;
        }
        n = tpol_char(s, &c);
        if ( *p && tpol_element(p, c, &next) )
        {
            p = next;
            s += n;
            continue;
        }
        if ( !star_p )
            return false;
        star_s += tpol_char(star_s, &c);
        s = star_s;
        p = star_p;
    }
    while ( *p == '*' )
        p++;
    return !*p;
}

bool tpol__glob_hit(const struct tpol_glob *g, const char *name)
{
    if ( g->literal )
        return !strcmp(g->pat, name);
    if ( strncmp(g->pat, name, g->head) )
        return false;
    return tpol_glob_match(g->pat + g->head, name + g->head);
}

/*
 * NULL if @pat is a glob we handle as fnmatch would, else why not:
 * character classes are not supported (they would silently be taken as a
 * set of letters) and a lone trailing backslash escapes nothing.
 */
const char *tpol__glob_problem(const char *pat)
{
    const char *p = pat, *end;
    bool in;

    if ( !*pat )
        return "must not be empty";
    while ( *p )
    {
        if ( *p == '\\' )
        {
            if ( !p[1] )
                return "ends in a lone backslash (write \\\\ for one)";
            p += 2;
            continue;
        }
        if ( *p == '[' && (end = tpol_bracket(p + 1, 0, &in)) )
        {
            const char *q;

            for ( q = p + 1; q < end - 1; q++ )
                if ( q[0] == '[' && (q[1] == ':' || q[1] == '=' ||
                                     q[1] == '.') )
                    return "character classes such as [:alpha:] are not "
                           "supported; list the characters or a range";
            p = end;
            continue;
        }
        p++;
    }
    return NULL;
}

void tpol__glob_init(struct tpol_glob *g, const char *pat)
{
    g->pat = pat;
    g->head = strcspn(pat, "*?[\\");
    g->literal = !pat[g->head];
}
