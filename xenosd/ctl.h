/*
 * ctl.h: for xenosd and xenosctl only: the control socket they share.
 *
 * A UNIX stream socket in the state directory (mode 0660, directory 0750):
 * only root and the daemon's group reach it, and xenosd checks the peer's
 * credentials as well (root, its user, or a member of its group, primary
 * or supplementary); a refused client is told why in an "error" line.  A client sends one request line and reads the
 * reply to end of stream:
 *   "status"  one JSON object (see docs/xenosd.md)
 *   "top"     tab-separated lines for xenosctl top: "H" header, "P" the
 *             host's pCPUs (when the backend knows them), "T" per tenant,
 *             "D" per domain (state, contention, conformance last,
 *             in that order); fields escaped with
 *             cfg_escape (no tab or newline can appear inside one).  New
 *             fields are only ever appended, new kinds only added: a
 *             client passes over what it does not know
 */
#ifndef XENOS_ACCT_CTL_H
#define XENOS_ACCT_CTL_H

#include <errno.h>
#include <stdio.h>

#define XENOS_STATE_DIR_DEFAULT "/var/lib/xenos"
#define XENOS_CTL_SOCKET        "xenosd.sock"
#define XENOS_LOCK_FILE         "xenosd.lock"   /* flock: one xenosd */
#define XENOS_CTL_REQ_MAX       64

/* @dir/xenosd.sock into @buf; -ENAMETOOLONG if it does not fit a
 * sockaddr_un. */
static inline int xenos_ctl_path(char *buf, size_t len, const char *dir)
{
    int n = snprintf(buf, len, "%s/%s", dir, XENOS_CTL_SOCKET);

    /* 108: sun_path of struct sockaddr_un, with its NUL */
    return n < 0 || (size_t)n >= len || n >= 108 ? -ENAMETOOLONG : 0;
}

#endif /* XENOS_ACCT_CTL_H */
