/*
 * fileio.h: the durable-write steps every file xenos writes goes through
 * (checkpoint, usage ledger): all the bytes, then fsync of the file and of
 * the directory that names it.
 */
#ifndef XENOS_FILEIO_H
#define XENOS_FILEIO_H

#include <stddef.h>

/* All @len bytes at @p to @fd, retrying short writes and EINTR: 0 or
 * -errno (ENOSPC, EIO, ...), with an unknown part written then. */
int fio_write_all(int fd, const void *p, size_t len);

/* fsync the directory @dir, so a file created or renamed in it stays:
 * 0 or -errno. */
int fio_fsync_dir(const char *dir);

/* fsync the directory holding @path ("." when it has no slash). */
int fio_fsync_parent(const char *path);

#endif /* XENOS_FILEIO_H */
