/*
 * notify.h: xenosd's word to systemd (Type=notify; sd_notify(3)).
 *
 * READY=1 once the first interval has run and the control socket is up;
 * STATUS= after every interval ("interval 123: 33 domains, 8 tenants");
 * RELOADING=1 and READY=1 around a SIGHUP reload; STOPPING=1 when a stop
 * begins.  Under WatchdogSec= (WATCHDOG_USEC), WATCHDOG=1 every quarter
 * of the period from the main loop, and only while intervals progress:
 * the caller says whether the interval due has run.  A sampler that hangs
 * (a backend blocked in a hypercall or on xenstored) holds the one
 * thread, the pings stop and systemd restarts xenosd, which carries on
 * from its checkpoint.
 *
 * Without NOTIFY_SOCKET (not under systemd, or another Type=), or in a
 * build without libsystemd, every call does nothing.
 */
#ifndef XENOS_XENOSD_NOTIFY_H
#define XENOS_XENOSD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct xd_notify {
    bool on;                    /* NOTIFY_SOCKET was set */
    bool ready;                 /* READY=1 sent */
    uint64_t watchdog_ns;       /* WatchdogSec=; 0: no watchdog */
    uint64_t last_ping_ns;      /* monotonic */
};

/* Read the environment systemd set (NOTIFY_SOCKET, WATCHDOG_USEC and
 * WATCHDOG_PID). */
void xd_notify_init(struct xd_notify *n);

/* Send @fmt's lines ("READY=1\nSTATUS=..."), if on.  Failures are not
 * reported: systemd's answer to a missing READY=1 is its own timeout. */
void xd_notify(struct xd_notify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* WATCHDOG=1 if a ping is due at @now_ns (monotonic) and @progressing
 * (the interval due has run). */
void xd_notify_watchdog(struct xd_notify *n, uint64_t now_ns,
                        bool progressing);

/* Milliseconds from @now_ns until the next ping is due, for poll(); -1
 * without a watchdog. */
int xd_notify_timeout_ms(const struct xd_notify *n, uint64_t now_ns);

#endif /* XENOS_XENOSD_NOTIFY_H */
