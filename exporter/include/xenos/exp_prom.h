/*
 * exp_prom.h: the Prometheus exporter: the collector's state as text
 * format 0.0.4, served by an embedded HTTP server (libmicrohttpd).
 *
 * Rendering is apart from serving: exp_prom_render() writes the text into
 * any txt_buf (tests and benchmarks call it alone).  The server holds the
 * text of the last sample, rendered and gzipped once by exp_prom_update()
 * on the caller's thread; a scrape only sends those stored bytes, so it
 * never touches the collector or the backend.  docs/exporters.md lists
 * the families and labels.
 */
#ifndef XENOS_EXP_PROM_H
#define XENOS_EXP_PROM_H

#include <stddef.h>
#include <stdint.h>

#include <xenos/acct.h>
#include <xenos/exp.h>
#include <xenos/text.h>

#define EXP_PROM_LISTEN_DEFAULT "127.0.0.1:9410"
/* /healthz says 503 when the last good sample is older than this many
 * intervals. */
#define EXP_PROM_STALE_INTERVALS 3

/*
 * Append the metrics of @c and @info to @out as Prometheus text format
 * 0.0.4: HELP and TYPE on every family, domains present in the last
 * sample only (a vanished domain's series end), every tenant the
 * collector knows.  Label values are escaped (backslash, quote, newline)
 * and never truncated; bytes that are not UTF-8 become U+FFFD.  Reads @c
 * and @info only.  Returns 0, -EINVAL when an argument is NULL, or
 * -ENOMEM (@out then holds a partial text: discard it).
 */
int exp_prom_render(struct txt_buf *out, const struct acct_snapshot *c,
                     const struct exp_info *info);

struct exp_prom;

/*
 * Start serving on @addr ("HOST:PORT", "[V6]:PORT"; NULL means
 * EXP_PROM_LISTEN_DEFAULT; port 0 picks a free one, see exp_prom_port)
 * from libmicrohttpd's own threads:
 *   GET /metrics  the last update's text (gzip if the client accepts it);
 *                 503 before the first update
 *   GET /healthz  200 "ok" while the last good sample is recent, else 503
 *   GET /         a small HTML page that links the two
 *   anything else 404; methods other than GET/HEAD 405.
 * Returns 0 and sets *@out (free with exp_prom_stop), or -errno with a
 * one-line reason in @err (-EINVAL: bad @addr; -EADDRINUSE...).
 */
int exp_prom_start(struct exp_prom **out, const char *addr, char *err,
                   size_t errlen);

/* The TCP port @p listens on (useful after port 0). */
uint16_t exp_prom_port(const struct exp_prom *p);

/*
 * Render @c and @info, gzip the text (level 1) and make the pair what
 * scrapes get from now on.  A scrape in progress keeps the bytes it
 * started with.  Call after every interval, failed ones too (the error
 * counters move; /healthz goes stale when info->sample_unix_ns stops
 * moving).  Neither pointer is kept.  Returns 0, or -ENOMEM/-EINVAL with
 * the previous text still served.
 */
int exp_prom_update(struct exp_prom *p, const struct acct_snapshot *c,
                    const struct exp_info *info);

/* Stop the server (waits for its threads) and free @p; NULL is fine. */
void exp_prom_stop(struct exp_prom *p);

#endif /* XENOS_EXP_PROM_H */
