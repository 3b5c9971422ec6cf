/*
 * plot_impl.h: for plot.c and compare.c only: the gnuplot driver, the
 * data files and the latency CDF they share.
 */
#ifndef XENOS_SIM_PLOT_IMPL_H
#define XENOS_SIM_PLOT_IMPL_H

#include <stdint.h>
#include <stdio.h>

#include <xenos/plot.h>

/*
 * Run gnuplot with @dir as its working directory (scripts name files
 * relative to it, so a directory's name never needs quoting) on the
 * script in @script[@len].  0; -ENOENT if there is no gnuplot; -EIO if it
 * exits with an error (its first line of complaint in @err); or the
 * errno of a failed pipe or fork.
 */
int sim__gnuplot(const char *dir, const char *script, size_t len,
                 char *err, size_t errlen);

/* The start of every script: the PNG terminal at @w x @h pixels writing
 * @png, CSV input, and the palette of SIM_PLOT_MAX_SERIES line types. */
void sim__gp_begin(FILE *f, unsigned int w, unsigned int h,
                   const char *png);

/* @s, untrusted text (a domain's name), as a gnuplot string literal:
 * escaped for a terminal (txt_escape, so no control character reaches a
 * script line) in single quotes, in which gnuplot reads only ''. */
void sim__gp_str(FILE *f, const char *s);

/* @dir/@name opened for writing, or NULL with the error in @err. */
FILE *sim__file_open(const char *dir, const char *name, char *err,
                     size_t errlen);
/* Close @f, written in full: 0 or the first write error, with @err. */
int sim__file_close(FILE *f, const char *name, char *err, size_t errlen);

/*
 * The @q quantile of the latencies counted in @counts (sim_wake_counts),
 * @n of them, the largest @max: read as sim_result reads it, so that the
 * figures of a CDF and of the reports agree.  0 when @n is 0.
 */
sch_time_t sim__counts_quantile(const uint64_t *counts, uint64_t n,
                                sch_time_t max, double q);

/*
 * The CDF rows of series @series, "series,latency_us,wakes_le,fraction",
 * into @f: one at 0 us with 0 wake-ups, then one per bucket holding a
 * latency (its top, at most @max), every one when @min_step is 0, else
 * only those where the fraction has risen by @min_step since the row
 * before (and the last): a picture a few hundred pixels wide needs no
 * more, a report shipped in git is smaller.
 */
void sim__cdf_rows(FILE *f, unsigned int series, const uint64_t *counts,
                   uint64_t n, sch_time_t max, double min_step);

#endif /* XENOS_SIM_PLOT_IMPL_H */
