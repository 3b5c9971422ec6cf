/*
 * top_model.h: for xenosctl only: what `xenosctl top` shows, apart from
 * the terminal, so it can be tested without one.
 *
 * The model is xenosd's "top" reply parsed (top_model_parse), every name
 * escaped for the terminal once.  A view (struct top_view: sort key,
 * which tenants are folded) turns it into rows (top_rows); a layout
 * (top_fit) says which columns fit a width, dropping the least important
 * first, never wrapping; top_format_* render a row, the column header, the
 * title and the host summary as lines no longer than the layout's width.
 * The curses screen (top.c) and the batch output use the same functions.
 *
 * Widths count characters (code points): a wide character (CJK) counts
 * one and may push a line one column over on a terminal.
 */
#ifndef XENOS_TOP_MODEL_H
#define XENOS_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOP_MAX_FIELDS      24

/* Columns, in the order they stand on a line. */
enum top_col {
    TOP_COL_NAME,                       /* never dropped */
    TOP_COL_STATE,
    TOP_COL_ID,
    TOP_COL_VCPUS,
    TOP_COL_WEIGHT,
    TOP_COL_CAP,
    TOP_COL_DOMS,
    TOP_COL_CPU,
    TOP_COL_WAIT,                       /* waiting for a pCPU, % */
    TOP_COL_THR,                        /* parked by the cap, % */
    TOP_COL_PEAK,                       /* peak 100 ms window, % */
    TOP_COL_OVER,                       /* windows over the cap */
    TOP_COL_MEM,
    TOP_COL_MAXMEM,
    TOP_COL_DISK,
    TOP_COL_NET,
    TOP_NR_COLS,
};

enum top_sort {
    TOP_SORT_CPU,                       /* busiest first */
    TOP_SORT_NAME,
    TOP_SORT_CAP,                       /* highest cap first, none last */
    TOP_SORT_MEM,                       /* largest first */
    TOP_NR_SORTS,
};

extern const char *const top_sort_names[TOP_NR_SORTS];

struct top_tenant {
    char *name;                         /* escaped for the terminal */
    uint32_t weight, cap_pct, nr_doms;
    double cpu_pct;                     /* of one pCPU, last interval */
    uint64_t mem_bytes;                 /* average over the interval */
    double disk_kibps, net_kibps;
    /* of one pCPU, last interval; sched_stats false: not counted ("-") */
    double wait_pct, thr_pct;
    bool sched_stats;
    /* its domains' 100 ms windows over their caps in the last interval;
     * has_over false: not counted, or a daemon of old ("-") */
    uint64_t over_windows;
    bool has_over;
};

struct top_dom {
    char *name, *tenant, *state;        /* escaped; state "" if not sent */
    uint32_t domid, vcpus, weight, cap_pct;
    double cpu_pct;
    uint64_t mem_bytes, maxmem_bytes;
    double disk_kibps, net_kibps;
    double wait_pct, thr_pct;           /* as a tenant's */
    bool sched_stats;
    uint64_t over_windows;              /* as a tenant's */
    bool has_over;
    uint32_t peak_pct;                  /* most in a 100 ms window, % */
    bool has_peak;
    bool error;                         /* its last sample failed */
};

struct top_model {
    char *backend;                      /* escaped */
    char *interval_ms, *intervals;      /* as sent, escaped */
    char *errors;                       /* ", errors k=v" of those not 0 */
    uint32_t nr_pcpus;                  /* 0: xenosd did not say */
    struct top_tenant *tenants;
    size_t nr_tenants;
    struct top_dom *doms;
    size_t nr_doms;
};

/* How the rows are shown.  Folding: every tenant is open when
 * !all_folded, shut when all_folded, except those named in flipped. */
struct top_view {
    enum top_sort sort;
    bool all_folded;
    char **flipped;                     /* owned, escaped tenant names */
    size_t nr_flipped;
};

/* A line of the table: a tenant (dom < 0) or one of its domains. */
struct top_row {
    size_t tenant;
    long dom;
};

struct top_layout {
    bool shown[TOP_NR_COLS];
    unsigned int name_w;                /* width of the name column */
    unsigned int width;                 /* 0: unlimited */
    bool marks;                         /* "v " (open), "> " before tenants */
};

/*
 * Split @line at tabs, in place, into @f (at most TOP_MAX_FIELDS); returns
 * the count.
 */
unsigned int top_split(char *line, char **f);

/*
 * Parse xenosd's "top" reply (@reply is modified) into @m, which the
 * caller releases with top_model_free.  Lines of kinds it does not know
 * and lines with too few fields are passed over; a domain's state comes
 * from a field xenosd of old did not send.  0 or -ENOMEM (@m then empty).
 */
int top_model_parse(struct top_model *m, char *reply);
void top_model_free(struct top_model *m);

/* Fold state.  Tenant @name shown open? */
bool top_view_is_open(const struct top_view *v, const char *name);
/* Flip tenant @name; 0 or -ENOMEM. */
int top_view_toggle(struct top_view *v, const char *name);
/* Shut all when any is open, else open all. */
void top_view_toggle_all(struct top_view *v, const struct top_model *m);
void top_view_free(struct top_view *v);

/*
 * The rows of @m under @v into a new array *@rows (caller frees), their
 * count in *@nr: tenants in the view's order, each followed by its
 * domains in that order when it is open (ties in name order).  Domains of
 * a tenant xenosd did not list are not shown.  @m's arrays are put in
 * that order (rows index them).  0 or -ENOMEM.
 */
int top_rows(struct top_model *m, const struct top_view *v,
             struct top_row **rows, size_t *nr);

/*
 * Lay the columns out for @width characters (0: unlimited): columns are
 * dropped, least important first, until the rest fit with a name column
 * of at least TOP_NAME_MIN; the name column then takes the room left, up
 * to the longest name of @m.
 */
#define TOP_NAME_MIN        16
void top_fit(struct top_layout *l, const struct top_model *m,
             unsigned int width, bool marks);

/*
 * Lines, each NUL-terminated in @buf and at most @l->width characters
 * (all of it when the width is 0).  Each returns 0, or -ENOSPC if @buf is
 * too small for the line (then it holds as much as fitted).
 */
int top_format_header(const struct top_layout *l, char *buf, size_t len);
int top_format_row(const struct top_model *m, const struct top_view *v,
                   const struct top_row *r, const struct top_layout *l,
                   char *buf, size_t len);
/* "xenos top - backend sim, interval 100 ms, 3 intervals[, errors ..]"
 * and @suffix (NULL: none) */
int top_format_title(const struct top_model *m, const char *suffix,
                     unsigned int width, char *buf, size_t len);
/* "8 pCPUs, busy 42.0%, 33 domains, 8 tenants, 2 capped now": a tenant
 * is capped now when its CPU is within TOP_AT_CAP_PCT percent of its cap
 * (pCPUs and busy only when xenosd sent the count). */
#define TOP_AT_CAP_PCT      95
int top_format_summary(const struct top_model *m, unsigned int width,
                       char *buf, size_t len);

/* Characters (code points) in @s. */
size_t top_text_width(const char *s);
/* Cut @s (in place) to at most @width characters; 0: leave it whole. */
void top_text_cut(char *s, unsigned int width);

#endif /* XENOS_TOP_MODEL_H */
