/*
 * top.h: for xenosctl only: `xenosctl top`, on a terminal (curses) or as
 * plain text for scripts.  What it shows comes from top_model.h.
 */
#ifndef XENOS_TOP_H
#define XENOS_TOP_H

#include <stdbool.h>
#include <stddef.h>

#include "top_model.h"

/*
 * Fetch xenosd's "top" reply into a new string *@reply (caller frees).
 * 0, or -errno with a one-line reason in @why (or on stderr when @why is
 * NULL).
 */
typedef int (*top_fetch_cb)(void *ctx, char **reply, char *why,
                            size_t whylen);

struct top_opts {
    long delay_s;                       /* between refreshes, >= 1 */
    long iterations;                    /* < 0: until stopped */
    enum top_sort sort;
    const char *where;                  /* the state dir, for messages */
};

/*
 * Batch mode: @o->iterations snapshots (at least one) as plain text on
 * stdout, every column, names whole, tenants then their domains.
 * Returns the exit status: 0, or 1 when xenosd could not be reached
 * (the reason on stderr).
 */
int top_batch(const struct top_opts *o, top_fetch_cb fetch, void *ctx);

/*
 * The full-screen program on the terminal of stdin/stdout, until `q` or
 * @o->iterations refreshes; reconnects while xenosd is away.  Returns the
 * exit status: 0, or 1 when the terminal cannot be driven.
 */
int top_screen(const struct top_opts *o, top_fetch_cb fetch, void *ctx);

#endif /* XENOS_TOP_H */
