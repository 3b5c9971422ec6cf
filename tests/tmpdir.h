/*
 * tmpdir.h: a fresh temporary directory per test, for the Check suites
 * that write files (header-only; every test file is its own program).
 * Flat: the teardown removes the files in it, then the directory.
 */
#ifndef XENOS_TESTS_TMPDIR_H
#define XENOS_TESTS_TMPDIR_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

/* A checked fixture's setup: tmpdir is $TMPDIR (or /tmp)/xenos-@what-XXXXXX. */
static inline void tmpdir_make(const char *what)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/xenos-%s-XXXXXX",
             base && *base ? base : "/tmp", what);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static inline void tmpdir_remove(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];

    if ( d )
    {
        while ( (e = readdir(d)) )
        {
            if ( !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") )
                continue;
            snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

#endif /* XENOS_TESTS_TMPDIR_H */
