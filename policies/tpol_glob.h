/*
 * tpol_glob.h: the tenant policy's name globs, for its loader (tpol.c).
 * Private to policies/.
 */
#ifndef XENOS_TPOL_GLOB_H
#define XENOS_TPOL_GLOB_H

#include <stdbool.h>
#include <stddef.h>

struct tpol_glob {
    const char *pat;
    size_t head;                /* bytes before the first metacharacter */
    bool literal;               /* no metacharacter: a plain compare */
};

/* @g matches the pattern @pat (which it points into, not a copy). */
void tpol__glob_init(struct tpol_glob *g, const char *pat);

/* Does @name match @g? */
bool tpol__glob_hit(const struct tpol_glob *g, const char *name);

/*
 * NULL if @pat is a glob we handle as fnmatch would, else why not (a
 * static string): character classes are not supported and a lone
 * trailing backslash escapes nothing.
 */
const char *tpol__glob_problem(const char *pat);

#endif /* XENOS_TPOL_GLOB_H */
