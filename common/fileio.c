/*
 * fileio.c: durable writes and state directories (fileio.h).
 *
 * Design.  A state directory is opened once by path and checked through
 * its descriptor (fstat, then ".." upwards with O_PATH), so what was
 * checked is what is used: every file in it is then reached with openat,
 * renameat and unlinkat relative to that descriptor, with O_NOFOLLOW, and
 * temporaries are created with O_EXCL after removing whatever had their
 * name.  Nobody but us and root can write in a directory that passed the
 * check, so the name we open now is the name we checked (no race left for
 * anyone else to win); O_NOFOLLOW and the file-type checks are for what
 * was planted before, or by a misconfiguration the check does not see.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenos/fileio.h>

#define FIO_MAX_DEPTH   4096            /* directories above a state dir */

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

int fio_fsync_fd(int fd)
{
    return fsync(fd) ? -errno : 0;
}

int fio_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if ( fd < 0 )
        return -errno;
    rc = fio_fsync_fd(fd);
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

const char *fio_strerror(int rc)
{
    switch ( rc )
    {
    case -ELOOP:
        return "a symbolic link (not followed)";
    case -EINVAL:
        return "not a regular file";
    case -EMLINK:
        return "has another hard link";
    case -EWOULDBLOCK:
        return "locked by another process";
    }
    return strerror(-rc);
}

/* ------------------------------------------------------------------ */
/* State directories                                                   */

/* The last component of @p off ("/a/b" -> "/a", "/a" -> "/"). */
static void fio_up(char *p)
{
    char *slash = strrchr(p, '/');

    if ( slash )
        slash[slash == p] = '\0';
}

/* Those above @fd, up to "/": owned by root or us, and not writable by
 * others unless sticky.  @shown: @fd's resolved path, for messages. */
static int fio_check_above(int fd, const struct stat *self, char *shown,
                           char *err, size_t errlen)
{
    uid_t me = geteuid();
    struct stat prev = *self, up;
    int cur = fd, next, rc = 0;
    unsigned int depth;

    for ( depth = 0; depth < FIO_MAX_DEPTH; depth++ )
    {
        next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if ( next < 0 || fstat(next, &up) )
        {
            rc = -errno;
            snprintf(err, errlen, "%s: cannot look at the directory above: "
                     "%s", shown, strerror(-rc));
            if ( next >= 0 )
                close(next);
            break;
        }
        if ( cur != fd )
            close(cur);
        cur = next;
        if ( up.st_dev == prev.st_dev && up.st_ino == prev.st_ino )
            break;                      /* "/" is its own parent */
        fio_up(shown);
        if ( up.st_uid != 0 && up.st_uid != me )
        {
            snprintf(err, errlen, "%s: owned by uid %u, who could rename "
                     "the state directory below it and put another in its "
                     "place: every directory above a state directory must "
                     "belong to root or to uid %u", shown,
                     (unsigned int)up.st_uid, (unsigned int)me);
            rc = -EPERM;
            break;
        }
        if ( (up.st_mode & (S_IWGRP | S_IWOTH)) && !(up.st_mode & S_ISVTX) )
        {
            snprintf(err, errlen, "%s: mode %04o: writable by %s without "
                     "the sticky bit, so they could swap the state "
                     "directory below it (chmod go-w, or +t as /tmp has)",
                     shown, (unsigned int)(up.st_mode & 07777),
                     up.st_mode & S_IWOTH ? "everyone" : "its group");
            rc = -EPERM;
            break;
        }
        prev = up;
    }
    if ( cur != fd )
        close(cur);
    return rc;
}

int fio_dir_open(const char *path, bool create, char *err, size_t errlen)
{
    char p[PATH_MAX], shown[PATH_MAX];
    uid_t me = geteuid();
    struct stat sb;
    size_t len;
    int fd, rc;

    if ( errlen )
        err[0] = '\0';
    len = strlen(path);
    if ( !len || len >= sizeof(p) )
    {
        snprintf(err, errlen, "'%s': not a usable directory name", path);
        return -EINVAL;
    }
    /* "dir/" would follow a symbolic link named dir: drop the slashes. */
    memcpy(p, path, len + 1);
    while ( len > 1 && p[len - 1] == '/' )
        p[--len] = '\0';
    if ( create && mkdir(p, FIO_DIR_MODE) && errno != EEXIST )
    {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot create: %s", p, strerror(-rc));
        return rc;
    }
    fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if ( fd < 0 )
    {
        rc = -errno;
        if ( (rc == -ELOOP || rc == -ENOTDIR) && !lstat(p, &sb) &&
             S_ISLNK(sb.st_mode) )
        {
            snprintf(err, errlen, "%s: is a symbolic link; a state "
                     "directory must be a real directory (refusing to "
                     "follow it)", p);
            return -ELOOP;
        }
        snprintf(err, errlen, "%s: %s", p, strerror(-rc));
        return rc;
    }
    if ( fstat(fd, &sb) )
    {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", p, strerror(-rc));
        goto out_close;
    }
    if ( sb.st_uid != me && sb.st_uid != 0 )
    {
        snprintf(err, errlen, "%s: owned by uid %u, not by this process "
                 "(uid %u) or root: refusing a state directory another "
                 "user controls (chown it, or choose another)", p,
                 (unsigned int)sb.st_uid, (unsigned int)me);
        rc = -EPERM;
        goto out_close;
    }
    if ( sb.st_mode & (S_IWGRP | S_IWOTH) )
    {
        snprintf(err, errlen, "%s: mode %04o: writable by %s, who could "
                 "plant files in it: refusing (chmod go-w %s; %04o is "
                 "enough for the control socket's group)", p,
                 (unsigned int)(sb.st_mode & 07777),
                 sb.st_mode & S_IWOTH ? "everyone" : "its group", p,
                 FIO_DIR_MODE);
        rc = -EPERM;
        goto out_close;
    }
    if ( !realpath(p, shown) )
        snprintf(shown, sizeof(shown), "%s", p);
    rc = fio_check_above(fd, &sb, shown, err, errlen);
    if ( rc )
        goto out_close;
    return fd;

 out_close:
    close(fd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Files in a state directory                                          */

/* What @sb may be for fio_openat: 0 or -errno. */
static int fio_file_ok(const struct stat *sb, bool writing)
{
    if ( S_ISLNK(sb->st_mode) )
        return -ELOOP;
    if ( !S_ISREG(sb->st_mode) )
        return -EINVAL;
    if ( writing && sb->st_nlink > 1 )
        return -EMLINK;
    return 0;
}

int fio_openat(int dirfd, const char *name, int flags, mode_t mode)
{
    bool writing = (flags & O_ACCMODE) != O_RDONLY;
    struct stat sb;
    int fd, rc;

    /* Before opening: opening a device or FIFO can have effects (or
     * block), and O_TRUNC would act before a check on the descriptor. */
    if ( !fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) &&
         (rc = fio_file_ok(&sb, writing)) )
        return rc;
    fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                mode);
    if ( fd < 0 )
        return -errno;
    if ( fstat(fd, &sb) )
        rc = -errno;
    else
        rc = fio_file_ok(&sb, writing);
    if ( !rc && !(flags & O_NONBLOCK) &&
         fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) )
        rc = -errno;
    if ( rc )
    {
        close(fd);
        return rc;
    }
    return fd;
}

int fio_create_tmp(int dirfd, const char *tmp, mode_t mode)
{
    int fd;

    if ( unlinkat(dirfd, tmp, 0) && errno != ENOENT )
        return -errno;
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
}

int fio_replace_at(int dirfd, const char *name, const char *tmp,
                   const void *p, size_t len, mode_t mode)
{
    int fd = fio_create_tmp(dirfd, tmp, mode), rc;

    if ( fd < 0 )
        return fd;
    rc = fio_write_all(fd, p, len);
    if ( !rc && fsync(fd) )
        rc = -errno;
    if ( close(fd) && !rc )
        rc = -errno;
    if ( !rc && renameat(dirfd, tmp, dirfd, name) )
        rc = -errno;
    if ( rc )
        unlinkat(dirfd, tmp, 0);
    else
        rc = fio_fsync_fd(dirfd);
    return rc;
}

int fio_slurp_at(int dirfd, const char *name, char **buf, size_t *len)
{
    size_t got = 0, cap = 4096;
    char *p = NULL;
    struct stat sb;
    int fd, rc = 0;

    *buf = NULL;
    *len = 0;
    fd = fio_openat(dirfd, name, O_RDONLY, 0);
    if ( fd < 0 )
        return fd;
    if ( fstat(fd, &sb) )
    {
        rc = -errno;
        goto out;
    }
    if ( (size_t)sb.st_size >= cap )
        cap = (size_t)sb.st_size + 1;
    for ( ;; )
    {
        ssize_t n;

        if ( !p || got + 1 >= cap )
        {
            char *np = realloc(p, p ? (cap *= 2) : cap);

            if ( !np )
            {
                rc = -ENOMEM;
                goto out;
            }
            p = np;
        }
        n = read(fd, p + got, cap - got - 1);
        if ( n < 0 && errno == EINTR )
            continue;
        if ( n < 0 )
        {
            rc = -errno;
            goto out;
        }
        if ( !n )
            break;
        got += (size_t)n;
    }
    p[got] = '\0';
 out:
    close(fd);
    if ( rc )
    {
        free(p);
        return rc;
    }
    *buf = p;
    *len = got;
    return 0;
}

int fio_lock_at(int dirfd, const char *name, pid_t *holder)
{
    char pid[32];
    ssize_t n;
    int fd, rc, w;

    if ( holder )
        *holder = 0;
    fd = fio_openat(dirfd, name, O_RDWR | O_CREAT, 0640);
    if ( fd < 0 )
        return fd;
    if ( flock(fd, LOCK_EX | LOCK_NB) )
    {
        rc = -errno;
        if ( rc == -EWOULDBLOCK && holder &&
             (n = pread(fd, pid, sizeof(pid) - 1, 0)) > 0 )
        {
            pid[n] = '\0';
            *holder = (pid_t)strtol(pid, NULL, 10);
        }
        close(fd);
        return rc;
    }
    w = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if ( ftruncate(fd, 0) || pwrite(fd, pid, (size_t)w, 0) != w )
    {
        rc = -errno;
        close(fd);
        return rc ? rc : -EIO;
    }
    return fd;
}
