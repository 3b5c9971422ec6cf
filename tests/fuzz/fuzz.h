/*
 * fuzz.h: what the libFuzzer harnesses share (tests/fuzz/, built with
 * -DXENOS_FUZZ=ON and clang; docs/reliability/parsers.md).
 *
 * The loaders under test read files by path, as xenosd does, so an input
 * is written to a file first, in a directory of this process's own
 * (under /dev/shm when there is one: no disk I/O per run).
 */
#ifndef XENOS_FUZZ_H
#define XENOS_FUZZ_H

#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_path[64];

static inline int fuzz_rm_one(const char *p, const struct stat *sb, int type,
                              struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    remove(p);
    return 0;
}

/* At exit: the scratch directory goes (a crash leaves it, as evidence). */
static inline void fuzz_rm_dir(void)
{
    nftw(fuzz_dir_path, fuzz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* This process's scratch directory, made on first use. */
static inline const char *fuzz_dir(void)
{
    if ( !fuzz_dir_path[0] )
    {
        snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/xenos-fuzz-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if ( !mkdtemp(fuzz_dir_path) )
            abort();
        atexit(fuzz_rm_dir);
    }
    return fuzz_dir_path;
}

/* @name in the scratch directory, into @path. */
static inline void fuzz_path(char *path, size_t len, const char *name)
{
    snprintf(path, len, "%s/%s", fuzz_dir(), name);
}

/* Write @size bytes at @data to @path, replacing it. */
static inline void fuzz_put(const char *path, const uint8_t *data,
                            size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t off = 0;

    if ( fd < 0 )
        abort();
    while ( off < size )
    {
        ssize_t n = write(fd, data + off, size - off);

        if ( n <= 0 )
            abort();
        off += (size_t)n;
    }
    close(fd);
}

#endif /* XENOS_FUZZ_H */
