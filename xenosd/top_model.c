/*
 * top_model.c: what `xenosctl top` shows, without a terminal
 * (top_model.h).
 *
 * Design: the reply is parsed once into tenants and domains with every
 * string escaped for the terminal (txt_tty_escape), so nothing later can
 * forget it.  Rows are indices into the model, rebuilt for each view;
 * lines are rendered by one appender that stops at the layout's width
 * (in characters), so a line can be cut but never wraps.  A column that
 * does not fit is dropped whole, in the order of top_drop_order: what
 * an operator looks at first (CPU, cap, memory, state) goes last.
 *
 * Locking: none; xenosctl is single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenos/text.h>

#include "top_model.h"

const char *const top_sort_names[TOP_NR_SORTS] = {
    [TOP_SORT_CPU] = "CPU",
    [TOP_SORT_NAME] = "name",
    [TOP_SORT_CAP] = "cap",
    [TOP_SORT_MEM] = "memory",
};

struct top_col_def {
    const char *title;
    unsigned int width;                 /* without the space before it */
};

static const struct top_col_def top_cols[TOP_NR_COLS] = {
    [TOP_COL_NAME] = { "NAME", TOP_NAME_MIN },
    [TOP_COL_STATE] = { "STATE", 8 },
    [TOP_COL_ID] = { "ID", 5 },
    [TOP_COL_VCPUS] = { "VCPUS", 5 },
    [TOP_COL_WEIGHT] = { "WEIGHT", 6 },
    [TOP_COL_CAP] = { "CAP%", 5 },
    [TOP_COL_DOMS] = { "DOMS", 4 },
    [TOP_COL_CPU] = { "CPU%", 7 },
    [TOP_COL_WAIT] = { "WAIT%", 6 },
    [TOP_COL_THR] = { "THR%", 6 },
    [TOP_COL_PEAK] = { "PEAK%", 6 },
    [TOP_COL_OVER] = { "OVER", 5 },
    [TOP_COL_MEM] = { "MEM(MiB)", 9 },
    [TOP_COL_MAXMEM] = { "MAXMEM", 9 },
    [TOP_COL_DISK] = { "DISK(KiB/s)", 11 },
    [TOP_COL_NET] = { "NET(KiB/s)", 11 },
};

/* Dropped first to last when the width runs short; NAME never. */
static const enum top_col top_drop_order[] = {
    TOP_COL_OVER, TOP_COL_PEAK, TOP_COL_THR, TOP_COL_WAIT, TOP_COL_MAXMEM,
    TOP_COL_VCPUS, TOP_COL_ID, TOP_COL_DISK, TOP_COL_DOMS, TOP_COL_NET,
    TOP_COL_WEIGHT, TOP_COL_STATE, TOP_COL_MEM, TOP_COL_CAP, TOP_COL_CPU,
};

#define TOP_MIB             (1024.0 * 1024.0)

/* ------------------------------------------------------------------ */
/* Text                                                                */

size_t top_text_width(const char *s)
{
    size_t n = 0;

    while ( *s )
    {
        uint32_t cp;
        size_t k = txt_utf8_next(s, &cp);

        s += k ? k : 1;                 /* escaped text has none; be safe */
        n++;
    }
    return n;
}

void top_text_cut(char *s, unsigned int width)
{
    size_t n = 0;

    if ( !width )
        return;
    while ( *s && n < width )
    {
        uint32_t cp;
        size_t k = txt_utf8_next(s, &cp);

        s += k ? k : 1;
        n++;
    }
    *s = '\0';
}

/* A line being written into a caller's buffer, at most @width characters
 * (0: unlimited). */
struct top_out {
    char *buf;
    size_t len, used;
    unsigned int width, chars;
    int rc;
};

static void top_out_init(struct top_out *o, char *buf, size_t len,
                         unsigned int width)
{
    *o = (struct top_out){ .buf = buf, .len = len, .width = width };
    if ( len )
        buf[0] = '\0';
    else
        o->rc = -ENOSPC;
}

/* Append @s, characters past the width left out. */
static void top_put(struct top_out *o, const char *s)
{
    while ( *s && !o->rc && (!o->width || o->chars < o->width) )
    {
        uint32_t cp;
        size_t k = txt_utf8_next(s, &cp);

        k = k ? k : 1;
        if ( o->used + k >= o->len )
        {
            o->rc = -ENOSPC;
            break;
        }
        memcpy(o->buf + o->used, s, k);
        o->used += k;
        o->buf[o->used] = '\0';
        o->chars++;
        s += k;
    }
}

static void top_pad(struct top_out *o, size_t n)
{
    while ( n-- )
        top_put(o, " ");
}

/* @s in a field of @w characters: right-aligned, or left-aligned and cut
 * with a "~" when longer (the name column). */
static void top_field(struct top_out *o, const char *s, unsigned int w,
                      bool left)
{
    size_t n = top_text_width(s);

    if ( !left )
    {
        top_pad(o, n < w ? w - n : 0);
        top_put(o, s);
        return;
    }
    if ( n <= w )
    {
        top_put(o, s);
        top_pad(o, w - n);
        return;
    }
    if ( w )
    {
        char cut[1024];

        snprintf(cut, sizeof(cut), "%s", s);
        top_text_cut(cut, w - 1);
        top_put(o, cut);
        top_put(o, "~");
    }
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

unsigned int top_split(char *line, char **f)
{
    unsigned int n = 0;

    while ( n < TOP_MAX_FIELDS )
    {
        f[n++] = line;
        line = strchr(line, '\t');
        if ( !line )
            break;
        *line++ = '\0';
    }
    return n;
}

/* A new copy of @s escaped for the terminal; NULL on ENOMEM. */
static char *top_tty(const char *s)
{
    size_t need = txt_escape_size(s);
    char *d = malloc(need);

    if ( d )
        txt_tty_escape(d, need, s);     /* fits: txt_escape_size() */
    return d;
}

static uint64_t top_u64(const char *s)
{
    return strtoull(s, NULL, 10);
}

static uint32_t top_u32(const char *s)
{
    unsigned long v = strtoul(s, NULL, 10);

    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* @bytes over an interval of @ns nanoseconds, in KiB/s. */
static double top_kibps(const char *bytes, const char *ns)
{
    double t = (double)top_u64(ns) / 1e9;

    return t > 0 ? (double)top_u64(bytes) / 1024.0 / t : 0;
}

static int top_parse_header(struct top_model *m, char **f, unsigned int n)
{
    char errs[1024] = "";
    size_t used = 0;
    unsigned int i;

    for ( i = 5; i < n; i++ )
    {
        const char *eq = strchr(f[i], '=');
        int k;

        if ( !eq || !strcmp(eq, "=0") )
            continue;
        k = snprintf(errs + used, sizeof(errs) - used, ", errors %s", f[i]);
        if ( k < 0 || (size_t)k >= sizeof(errs) - used )
            break;
        used += (size_t)k;
    }
    free(m->backend);
    free(m->interval_ms);
    free(m->intervals);
    free(m->errors);
    m->backend = top_tty(n > 1 ? f[1] : "?");
    m->interval_ms = top_tty(n > 2 ? f[2] : "?");
    m->intervals = top_tty(n > 3 ? f[3] : "?");
    m->errors = top_tty(errs);
    return m->backend && m->interval_ms && m->intervals && m->errors ?
           0 : -ENOMEM;
}

/* A percentage field of the scheduler's counters: "-" (or absent, from
 * an older xenosd) says they are not counted.  Returns whether it is. */
static bool top_pct_field(char **f, unsigned int n, unsigned int i,
                          double *out)
{
    if ( i >= n || !strcmp(f[i], "-") )
        return false;
    *out = strtod(f[i], NULL);
    return true;
}

/* A count of the scheduler's: "-" (or absent, from an older xenosd) says
 * it is not counted.  Returns whether it is. */
static bool top_count_field(char **f, unsigned int n, unsigned int i,
                            uint64_t *out)
{
    if ( i >= n || !strcmp(f[i], "-") )
        return false;
    *out = top_u64(f[i]);
    return true;
}

/* f: T name weight cap doms cpu% total disk net memory_byte_seconds iv
 * [wait% throttled% [over_cap_windows]] */
static int top_parse_tenant(struct top_model *m, char **f, unsigned int n)
{
    struct top_tenant *t = &m->tenants[m->nr_tenants];
    double iv_s = (double)top_u64(f[10]) / 1e9;

    *t = (struct top_tenant){
        .name = top_tty(f[1]),
        .weight = top_u32(f[2]),
        .cap_pct = top_u32(f[3]),
        .nr_doms = top_u32(f[4]),
        .cpu_pct = strtod(f[5], NULL),
        .mem_bytes = iv_s > 0 ? (uint64_t)((double)top_u64(f[9]) / iv_s) : 0,
        .disk_kibps = top_kibps(f[7], f[10]),
        .net_kibps = top_kibps(f[8], f[10]),
    };
    t->sched_stats = top_pct_field(f, n, 11, &t->wait_pct) &&
                     top_pct_field(f, n, 12, &t->thr_pct);
    t->has_over = top_count_field(f, n, 13, &t->over_windows);
    if ( !t->name )
        return -ENOMEM;
    m->nr_tenants++;
    return 0;
}

/* f: D tenant name uuid domid vcpus weight cap cpu mem maxmem disk net iv
 * error [state [wait% throttled% [peak% over_cap_windows]]] */
static int top_parse_dom(struct top_model *m, char **f, unsigned int n)
{
    struct top_dom *d = &m->doms[m->nr_doms];
    uint64_t peak = 0;

    *d = (struct top_dom){
        .tenant = top_tty(f[1]),
        .name = top_tty(f[2]),
        .state = top_tty(n > 15 ? f[15] : ""),
        .domid = top_u32(f[4]),
        .vcpus = top_u32(f[5]),
        .weight = top_u32(f[6]),
        .cap_pct = top_u32(f[7]),
        .cpu_pct = strtod(f[8], NULL),
        .mem_bytes = top_u64(f[9]),
        .maxmem_bytes = top_u64(f[10]),
        .disk_kibps = top_kibps(f[11], f[13]),
        .net_kibps = top_kibps(f[12], f[13]),
        .error = strcmp(f[14], "0") != 0,
    };
    d->sched_stats = top_pct_field(f, n, 16, &d->wait_pct) &&
                     top_pct_field(f, n, 17, &d->thr_pct);
    d->has_peak = top_count_field(f, n, 18, &peak);
    d->peak_pct = peak > UINT32_MAX ? UINT32_MAX : (uint32_t)peak;
    d->has_over = top_count_field(f, n, 19, &d->over_windows);
    m->nr_doms++;               /* freed whole by top_model_free */
    return d->tenant && d->name && d->state ? 0 : -ENOMEM;
}

int top_model_parse(struct top_model *m, char *reply)
{
    char *line, *save = NULL, *f[TOP_MAX_FIELDS];
    size_t nl = 1;
    unsigned int n;
    int rc = 0;

    *m = (struct top_model){ 0 };
    for ( line = reply; (line = strchr(line, '\n')); line++ )
        nl++;
    m->tenants = calloc(nl, sizeof(*m->tenants));
    m->doms = calloc(nl, sizeof(*m->doms));
    if ( !m->tenants || !m->doms )
        rc = -ENOMEM;
    for ( line = strtok_r(reply, "\n", &save); line && !rc;
          line = strtok_r(NULL, "\n", &save) )
    {
        /* A kind letter alone ("T", "D") ends its line: nothing of it
         * may be read past its terminator. */
        if ( !line[0] || line[1] != '\t' )
            continue;
        n = top_split(line, f);
        if ( line[0] == 'H' )
            rc = top_parse_header(m, f, n);
        else if ( line[0] == 'P' )
            m->nr_pcpus = top_u32(f[1]);
        else if ( line[0] == 'T' && n >= 11 )
            rc = top_parse_tenant(m, f, n);
        else if ( line[0] == 'D' && n >= 15 )
            rc = top_parse_dom(m, f, n);
    }
    if ( !rc && !m->backend )
        rc = top_parse_header(m, f, 0);     /* no H line: "?" */
    if ( rc )
        top_model_free(m);
    return rc;
}

void top_model_free(struct top_model *m)
{
    size_t i;

    for ( i = 0; m->tenants && i < m->nr_tenants; i++ )
        free(m->tenants[i].name);
    for ( i = 0; m->doms && i < m->nr_doms; i++ )
    {
        free(m->doms[i].name);
        free(m->doms[i].tenant);
        free(m->doms[i].state);
    }
    free(m->tenants);
    free(m->doms);
    free(m->backend);
    free(m->interval_ms);
    free(m->intervals);
    free(m->errors);
    *m = (struct top_model){ 0 };
}

/* ------------------------------------------------------------------ */
/* The view: folding and order                                         */

static long top_view_find(const struct top_view *v, const char *name)
{
    size_t i;

    for ( i = 0; i < v->nr_flipped; i++ )
        if ( !strcmp(v->flipped[i], name) )
            return (long)i;
    return -1;
}

bool top_view_is_open(const struct top_view *v, const char *name)
{
    return v->all_folded == (top_view_find(v, name) >= 0);
}

int top_view_toggle(struct top_view *v, const char *name)
{
    long i = top_view_find(v, name);
    char **nf, *copy;

    if ( i >= 0 )
    {
        free(v->flipped[i]);
        v->flipped[i] = v->flipped[--v->nr_flipped];
        return 0;
    }
    copy = strdup(name);
    nf = realloc(v->flipped, (v->nr_flipped + 1) * sizeof(*nf));
    if ( !copy || !nf )
    {
        free(copy);
        if ( nf )
            v->flipped = nf;
        return -ENOMEM;
    }
    v->flipped = nf;
    v->flipped[v->nr_flipped++] = copy;
    return 0;
}

static void top_view_clear(struct top_view *v)
{
    while ( v->nr_flipped )
        free(v->flipped[--v->nr_flipped]);
}

void top_view_toggle_all(struct top_view *v, const struct top_model *m)
{
    bool any_open = false;
    size_t i;

    for ( i = 0; i < m->nr_tenants && !any_open; i++ )
        any_open = top_view_is_open(v, m->tenants[i].name);
    top_view_clear(v);
    v->all_folded = any_open;
}

void top_view_free(struct top_view *v)
{
    top_view_clear(v);
    free(v->flipped);
    v->flipped = NULL;
}

/* The sort key's comparison, larger first for the figures: <0, 0, >0. */
static int top_cmp_key(double a, double b)
{
    return a > b ? -1 : a < b;
}

/* qsort has no context argument in C11: the sort key of the sort under
 * way.  xenosctl is single-threaded. */
static enum top_sort top_sorting;

/* The figure @top_sorting sorts on (0 for the name: names break ties). */
static double top_sort_key(double cpu_pct, uint32_t cap_pct,
                           uint64_t mem_bytes)
{
    switch ( top_sorting )
    {
    case TOP_SORT_CPU: return cpu_pct;
    /* no cap is the most a tenant may use, but it sorts last */
    case TOP_SORT_CAP: return cap_pct;
    case TOP_SORT_MEM: return (double)mem_bytes;
    default: return 0;
    }
}

static int top_cmp_tenant(const void *pa, const void *pb)
{
    const struct top_tenant *a = pa, *b = pb;
    int c = top_cmp_key(top_sort_key(a->cpu_pct, a->cap_pct, a->mem_bytes),
                        top_sort_key(b->cpu_pct, b->cap_pct, b->mem_bytes));

    return c ? c : strcmp(a->name, b->name);
}

static int top_cmp_dom(const void *pa, const void *pb)
{
    const struct top_dom *a = pa, *b = pb;
    int c = top_cmp_key(top_sort_key(a->cpu_pct, a->cap_pct, a->mem_bytes),
                        top_sort_key(b->cpu_pct, b->cap_pct, b->mem_bytes));

    return c ? c : strcmp(a->name, b->name);
}

int top_rows(struct top_model *m, const struct top_view *v,
             struct top_row **rows, size_t *nr)
{
    struct top_row *r;
    size_t i, j, n = 0;

    *rows = NULL;
    *nr = 0;
    r = malloc((m->nr_tenants + m->nr_doms + 1) * sizeof(*r));
    if ( !r )
        return -ENOMEM;
    /* The model's arrays are put in the view's order: rows are indices
     * into them, so sorting the model is sorting the rows. */
    top_sorting = v->sort;
    qsort(m->tenants, m->nr_tenants, sizeof(*m->tenants), top_cmp_tenant);
    qsort(m->doms, m->nr_doms, sizeof(*m->doms), top_cmp_dom);
    for ( i = 0; i < m->nr_tenants; i++ )
    {
        const char *name = m->tenants[i].name;

        r[n++] = (struct top_row){ .tenant = i, .dom = -1 };
        if ( !top_view_is_open(v, name) )
            continue;
        for ( j = 0; j < m->nr_doms; j++ )
            if ( !strcmp(m->doms[j].tenant, name) )
                r[n++] = (struct top_row){ .tenant = i, .dom = (long)j };
    }
    *rows = r;
    *nr = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Layout and lines                                                    */

/* The name column of a row: tenants as they are (after a fold mark),
 * domains indented under them. */
#define TOP_DOM_INDENT      "  "
#define TOP_MARK_W          2

void top_fit(struct top_layout *l, const struct top_model *m,
             unsigned int width, bool marks)
{
    unsigned int total = TOP_NAME_MIN, longest = TOP_NAME_MIN, k;
    size_t i;

    *l = (struct top_layout){ .width = width, .marks = marks };
    for ( k = 1; k < TOP_NR_COLS; k++ )
    {
        l->shown[k] = true;
        total += top_cols[k].width + 1;
    }
    l->shown[TOP_COL_NAME] = true;
    for ( k = 0; width && total > width &&
          k < sizeof(top_drop_order) / sizeof(top_drop_order[0]); k++ )
    {
        l->shown[top_drop_order[k]] = false;
        total -= top_cols[top_drop_order[k]].width + 1;
    }
    for ( i = 0; i < m->nr_tenants; i++ )
    {
        size_t w = top_text_width(m->tenants[i].name) +
                   (marks ? TOP_MARK_W : 0);

        longest = w > longest ? (unsigned int)w : longest;
    }
    for ( i = 0; i < m->nr_doms; i++ )
    {
        size_t w = top_text_width(m->doms[i].name) + strlen(TOP_DOM_INDENT);

        longest = w > longest ? (unsigned int)w : longest;
    }
    l->name_w = longest;
    if ( width && width < total )
        l->name_w = width;              /* a tiny terminal: names alone */
    else if ( width && longest > width - (total - TOP_NAME_MIN) )
        l->name_w = width - (total - TOP_NAME_MIN);
}

int top_format_header(const struct top_layout *l, char *buf, size_t len)
{
    struct top_out o;
    unsigned int k;

    top_out_init(&o, buf, len, l->width);
    top_field(&o, top_cols[TOP_COL_NAME].title, l->name_w, true);
    for ( k = 1; k < TOP_NR_COLS; k++ )
    {
        if ( !l->shown[k] )
            continue;
        top_put(&o, " ");
        top_field(&o, top_cols[k].title, top_cols[k].width, false);
    }
    return o.rc;
}

/* The text of column @k for tenant @t, or for domain @d when not NULL. */
static void top_cell(enum top_col k, const struct top_tenant *t,
                     const struct top_dom *d, char *s, size_t n)
{
    uint32_t cap = d ? d->cap_pct : t->cap_pct;

    s[0] = '\0';
    switch ( k )
    {
    case TOP_COL_STATE:
        if ( d )
            snprintf(s, n, "%s", d->error ? "error" : d->state);
        break;
    case TOP_COL_ID:
        if ( d )
            snprintf(s, n, "%u", (unsigned int)d->domid);
        break;
    case TOP_COL_VCPUS:
        if ( d )
            snprintf(s, n, "%u", (unsigned int)d->vcpus);
        break;
    case TOP_COL_WEIGHT:
        snprintf(s, n, "%u", (unsigned int)(d ? d->weight : t->weight));
        break;
    case TOP_COL_CAP:
        if ( cap )
            snprintf(s, n, "%u", (unsigned int)cap);
        else
            snprintf(s, n, "-");
        break;
    case TOP_COL_DOMS:
        if ( !d )
            snprintf(s, n, "%u", (unsigned int)t->nr_doms);
        break;
    case TOP_COL_CPU:
        snprintf(s, n, "%.1f", d ? d->cpu_pct : t->cpu_pct);
        break;
    case TOP_COL_WAIT:
    case TOP_COL_THR:
        /* "-": the host's scheduler does not count it, not "none" */
        if ( !(d ? d->sched_stats : t->sched_stats) )
            snprintf(s, n, "-");
        else
            snprintf(s, n, "%.1f", k == TOP_COL_WAIT ?
                     (d ? d->wait_pct : t->wait_pct) :
                     (d ? d->thr_pct : t->thr_pct));
        break;
    case TOP_COL_PEAK:
        /* a tenant has no peak window (docs/exporters.md): blank */
        if ( d && d->has_peak )
            snprintf(s, n, "%u", (unsigned int)d->peak_pct);
        else if ( d )
            snprintf(s, n, "-");
        break;
    case TOP_COL_OVER:
        if ( d ? d->has_over : t->has_over )
            snprintf(s, n, "%llu", (unsigned long long)
                     (d ? d->over_windows : t->over_windows));
        else
            snprintf(s, n, "-");
        break;
    case TOP_COL_MEM:
        snprintf(s, n, "%.0f",
                 (double)(d ? d->mem_bytes : t->mem_bytes) / TOP_MIB);
        break;
    case TOP_COL_MAXMEM:
        if ( d )
            snprintf(s, n, "%.0f", (double)d->maxmem_bytes / TOP_MIB);
        break;
    case TOP_COL_DISK:
        snprintf(s, n, "%.1f", d ? d->disk_kibps : t->disk_kibps);
        break;
    case TOP_COL_NET:
        snprintf(s, n, "%.1f", d ? d->net_kibps : t->net_kibps);
        break;
    default:
        break;
    }
}

int top_format_row(const struct top_model *m, const struct top_view *v,
                   const struct top_row *r, const struct top_layout *l,
                   char *buf, size_t len)
{
    const struct top_tenant *t = &m->tenants[r->tenant];
    const struct top_dom *d = r->dom >= 0 ? &m->doms[r->dom] : NULL;
    size_t nlen = strlen(d ? d->name : t->name) + TOP_MARK_W + 1;
    char cell[64], *name = malloc(nlen);
    struct top_out o;
    unsigned int k;

    if ( !name )
        return -ENOMEM;
    if ( d )
        snprintf(name, nlen, TOP_DOM_INDENT "%s", d->name);
    else
        snprintf(name, nlen, "%s%s", !l->marks ? "" :
                 top_view_is_open(v, t->name) ? "v " : "> ", t->name);
    top_out_init(&o, buf, len, l->width);
    top_field(&o, name, l->name_w, true);
    free(name);
    for ( k = 1; k < TOP_NR_COLS; k++ )
    {
        if ( !l->shown[k] )
            continue;
        top_cell(k, t, d, cell, sizeof(cell));
        top_put(&o, " ");
        top_field(&o, cell, top_cols[k].width, false);
    }
    return o.rc;
}

int top_format_title(const struct top_model *m, const char *suffix,
                     unsigned int width, char *buf, size_t len)
{
    struct top_out o;

    top_out_init(&o, buf, len, width);
    top_put(&o, "xenos top - backend ");
    top_put(&o, m->backend ? m->backend : "?");
    top_put(&o, ", interval ");
    top_put(&o, m->interval_ms ? m->interval_ms : "?");
    top_put(&o, " ms, ");
    top_put(&o, m->intervals ? m->intervals : "?");
    top_put(&o, " intervals");
    top_put(&o, m->errors ? m->errors : "");
    top_put(&o, suffix ? suffix : "");
    return o.rc;
}

int top_format_summary(const struct top_model *m, unsigned int width,
                       char *buf, size_t len)
{
    unsigned int capped = 0;
    double busy = 0;
    char s[256];
    size_t i;
    int n = 0;
    struct top_out o;

    for ( i = 0; i < m->nr_doms; i++ )
        busy += m->doms[i].cpu_pct;
    for ( i = 0; i < m->nr_tenants; i++ )
        capped += m->tenants[i].cap_pct &&
                  m->tenants[i].cpu_pct * 100 >=
                  (double)m->tenants[i].cap_pct * TOP_AT_CAP_PCT;
    if ( m->nr_pcpus )
        n = snprintf(s, sizeof(s), "%u pCPUs, busy %.1f%%, ",
                     (unsigned int)m->nr_pcpus, busy / m->nr_pcpus);
    else
        n = snprintf(s, sizeof(s), "busy %.2f pCPUs, ", busy / 100);
    snprintf(s + n, sizeof(s) - (size_t)n, "%zu domains, %zu tenants, "
             "%u capped now", m->nr_doms, m->nr_tenants, capped);
    top_out_init(&o, buf, len, width);
    top_put(&o, s);
    return o.rc;
}
