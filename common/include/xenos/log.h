/*
 * log.h: a program's log lines on stderr, each with its syslog priority
 * for journald.
 *
 * Under systemd, stderr is a stream to the journal, which reads a line
 * that starts "<N>" as of priority N (sd-daemon.h's SD_ERR "<3>",
 * SD_WARNING "<4>", SD_NOTICE "<5>", SD_INFO "<6>"), so `journalctl -p
 * err` shows the errors alone.  The prefix is written only when stderr is
 * that stream (JOURNAL_STREAM names its device and inode, as systemd sets
 * it); on a terminal or in a file a line reads as it always did.
 *
 * Lines are "PROG: message", PROG the program's name
 * (program_invocation_short_name), written under stderr's lock, so a
 * line from another thread never lands inside one.
 */
#ifndef XENOS_LOG_H
#define XENOS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>     /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO */

/* One line of priority @prio (LOG_ERR ... LOG_DEBUG) on stderr. */
void xlog(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xlog_v(int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Is stderr the journal (the "<N>" prefix written)?  Checked at the first
 * line and kept; xlog_recheck() forgets the answer (after stderr was
 * reopened). */
bool xlog_journal(void);
void xlog_recheck(void);

#endif /* XENOS_LOG_H */
