/*
 * log.c: log lines with their syslog priority for journald (log.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenos/log.h>

static int xlog_is_journal = -1;        /* -1: not checked yet */

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected to
 * stderr; a child whose stderr was since redirected inherits the
 * variable, so it counts only while the two still match. */
static bool xlog_check(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    uintmax_t dev, ino;
    struct stat st;
    char end;

    if ( !env || sscanf(env, "%ju:%ju%c", &dev, &ino, &end) != 2 ||
         fstat(STDERR_FILENO, &st) )
        return false;
    return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

bool xlog_journal(void)
{
    if ( xlog_is_journal < 0 )
        xlog_is_journal = xlog_check();
    return xlog_is_journal;
}

void xlog_recheck(void)
{
    xlog_is_journal = -1;
}

void xlog_v(int prio, const char *fmt, va_list ap)
{
    int saved = errno;          /* a caller may still want it */

    flockfile(stderr);
    if ( xlog_journal() )
        fprintf(stderr, "<%d>", prio & LOG_PRIMASK);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    errno = saved;
}

void xlog(int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    xlog_v(prio, fmt, ap);
    va_end(ap);
}
