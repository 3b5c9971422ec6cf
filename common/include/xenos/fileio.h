/*
 * fileio.h: the durable-write steps every file xenos writes goes through
 * (checkpoint, usage ledger): all the bytes, then fsync of the file and of
 * the directory that names it; and the directories xenos keeps state in,
 * opened once, checked, and every file in them reached relative to that
 * descriptor without following a symbolic link (docs/reliability/
 * statedir.md has the rules and what they guarantee).
 */
#ifndef XENOS_FILEIO_H
#define XENOS_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A state directory xenos creates: its owner's, and its group may read
 * and enter it (to reach the control socket), nobody else. */
#define FIO_DIR_MODE    0750

/* All @len bytes at @p to @fd, retrying short writes and EINTR: 0 or
 * -errno (ENOSPC, EIO, ...), with an unknown part written then. */
int fio_write_all(int fd, const void *p, size_t len);

/* fsync the directory @dir, so a file created or renamed in it stays:
 * 0 or -errno. */
int fio_fsync_dir(const char *dir);

/* fsync the directory holding @path ("." when it has no slash). */
int fio_fsync_parent(const char *path);

/* fsync an open file or directory: 0 or -errno. */
int fio_fsync_fd(int fd);

/*
 * Open the directory @path (created FIO_DIR_MODE first when @create and
 * it is missing) and check that nobody but us and root can change what is
 * in it, or swap it:
 *   - it is a directory, not a symbolic link to one (a trailing slash
 *     does not make us follow one);
 *   - it is owned by our effective uid or by root;
 *   - it is not writable by its group or by others;
 *   - every directory above it is owned by root or our effective uid, and
 *     is not writable by group or others unless it has the sticky bit
 *     (as /tmp: others may not rename or remove what is ours there).
 * Returns the directory's descriptor (O_RDONLY, close-on-exec), or -errno
 * with one line in @err naming the path and what is wrong (-ELOOP: a
 * symbolic link; -EPERM: owner or mode; -ENOTDIR; others from the system).
 */
int fio_dir_open(const char *path, bool create, char *err, size_t errlen);

/*
 * Open @name in the directory @dirfd with @flags (O_RDONLY, O_WRONLY,
 * O_CREAT, ...; O_NOFOLLOW and O_CLOEXEC are added) and @mode.  Only a
 * regular file is accepted, and one opened for writing must have no other
 * hard link: fd, or -ELOOP (a symbolic link, not followed), -EINVAL (not
 * a regular file: a FIFO planted there cannot block us), -EMLINK (hard
 * linked elsewhere), -errno.
 */
int fio_openat(int dirfd, const char *name, int flags, mode_t mode);

/*
 * Create the temporary @tmp in @dirfd afresh: whatever has that name (a
 * temporary left by a crash, or anything planted) is removed first, never
 * followed, and the file is created with O_EXCL|O_NOFOLLOW, write-only.
 * fd or -errno.
 */
int fio_create_tmp(int dirfd, const char *tmp, mode_t mode);

/*
 * Replace @name in @dirfd with the @len bytes at @p, atomically: @tmp is
 * created afresh (fio_create_tmp), written, fsynced, renamed over @name
 * (renameat: a symbolic link at @name is replaced, never followed), and
 * the directory fsynced.  On failure @tmp is removed and @name is as it
 * was.  0 or -errno.
 */
int fio_replace_at(int dirfd, const char *name, const char *tmp,
                   const void *p, size_t len, mode_t mode);

/*
 * The whole of the regular file @name in @dirfd (fio_openat's rules) into
 * *@buf (malloc'd, one byte more than *@len, NUL-terminated), its size to
 * *@len.  0 or -errno (*@buf NULL then).
 */
int fio_slurp_at(int dirfd, const char *name, char **buf, size_t *len);

/*
 * Take the lock file @name in @dirfd: created if missing (0640, never
 * through a symbolic link), locked exclusively with flock without
 * waiting, and our pid written into it.  Returns the descriptor, to keep
 * open as long as the lock is held (the lock goes with the process, even
 * on kill -9), or -EWOULDBLOCK when another process holds it, its pid (as
 * the file says; 0 if unknown) in *@holder; or another -errno.
 */
int fio_lock_at(int dirfd, const char *name, pid_t *holder);

/* What fio_* errors mean, for messages: "a symbolic link (not followed)"
 * for -ELOOP and the like; strerror otherwise. */
const char *fio_strerror(int rc);

#endif /* XENOS_FILEIO_H */
