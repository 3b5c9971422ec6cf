/*
 * tmptree.h: a scratch directory per test, made under $TMPDIR (else
 * /tmp) and removed with all it holds, for the suites that write files.
 * Header-only, as simtest.h: every test file is its own program.
 */
#ifndef XENOS_TMPTREE_H
#define XENOS_TMPTREE_H

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new directory $TMPDIR/xenos-@what-XXXXXX, its path into @buf. */
static inline void tmptree_make(char *buf, size_t len, const char *what)
{
    const char *base = getenv("TMPDIR");

    snprintf(buf, len, "%s/xenos-%s-XXXXXX", base && *base ? base : "/tmp",
             what);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Remove @path, a file or a directory with everything under it. */
static inline void tmptree_remove(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[PATH_MAX];

    if ( !d )
    {
        unlink(path);
        return;
    }
    while ( (e = readdir(d)) )
    {
        if ( !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") )
            continue;
        /* a test's own files have short names: a longer path is a bug */
        ck_assert_int_lt(snprintf(sub, sizeof(sub), "%s/%s", path,
                                  e->d_name), (int)sizeof(sub));
        tmptree_remove(sub);
    }
    closedir(d);
    rmdir(path);
}

#endif /* XENOS_TMPTREE_H */
