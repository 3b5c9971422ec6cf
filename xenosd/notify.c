/*
 * notify.c: sd_notify for xenosd (notify.h), through libsystemd where the
 * build found it.  A ping goes every quarter of the watchdog period, so
 * one late loop turn (a slow sample) never costs a restart; systemd
 * restarts only after a whole period without one.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef XENOS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#define XD_NOTIFY_MAX   512     /* one message; STATUS= lines are short */

void xd_notify_init(struct xd_notify *n)
{
    *n = (struct xd_notify){ 0 };
#ifdef XENOS_HAVE_SYSTEMD
    {
        uint64_t usec = 0;

        n->on = getenv("NOTIFY_SOCKET") != NULL;
        /* > 0 only when WATCHDOG_PID, if set, is ours */
        if ( n->on && sd_watchdog_enabled(0, &usec) > 0 )
            n->watchdog_ns = usec * 1000u;
    }
#endif
}

void xd_notify(struct xd_notify *n, const char *fmt, ...)
{
    char msg[XD_NOTIFY_MAX];
    va_list ap;
    int len;

    if ( !n->on )
        return;
    va_start(ap, fmt);
    len = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if ( len < 0 || (size_t)len >= sizeof(msg) )
        return;                 /* never a cut message */
#ifdef XENOS_HAVE_SYSTEMD
    sd_notify(0, msg);
#endif
}

void xd_notify_watchdog(struct xd_notify *n, uint64_t now_ns,
                        bool progressing)
{
    if ( !n->watchdog_ns || !progressing ||
         now_ns - n->last_ping_ns < n->watchdog_ns / 4 )
        return;
    n->last_ping_ns = now_ns;
    xd_notify(n, "WATCHDOG=1");
}

int xd_notify_timeout_ms(const struct xd_notify *n, uint64_t now_ns)
{
    uint64_t due;

    if ( !n->watchdog_ns )
        return -1;
    due = n->last_ping_ns + n->watchdog_ns / 4;
    if ( due <= now_ns )
        return 0;
    return due - now_ns >= (uint64_t)INT_MAX * 1000000u
           ? INT_MAX : (int)((due - now_ns + 999999) / 1000000);
}
