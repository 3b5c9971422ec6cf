/*
 * fileio.c: durable writes (fileio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xenos/fileio.h>

int fio_write_all(int fd, const void *p, size_t len)
{
    const char *c = p;

    while ( len )
    {
        ssize_t n = write(fd, c, len);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n < 0 )
            return -errno;
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

int fio_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if ( fd < 0 )
        return -errno;
    if ( fsync(fd) )
        rc = -errno;
    close(fd);
    return rc;
}

int fio_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    char *slash;

    if ( snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) )
        return -ENAMETOOLONG;
    slash = strrchr(dir, '/');
    if ( !slash )
        return fio_fsync_dir(".");
    slash[slash == dir] = '\0';     /* "/x" keeps "/" */
    return fio_fsync_dir(dir);
}
