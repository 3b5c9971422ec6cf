/*
 * top.c: `xenosctl top` as a terminal program (curses) and as plain text
 * for scripts (top.h).
 *
 * Design: everything shown is a line of top_model.c, already cut to the
 * terminal's width; this file only places lines, reads keys and keeps
 * time.  The screen is a title line, the host summary, the column header
 * (all three stay put), the rows (scrolled to keep the selection in
 * sight), and a key line at the bottom.  One loop waits in getch() until
 * the next refresh is due, so a key or a resize (KEY_RESIZE) is answered
 * at once and a refresh never waits for a key.  When xenosd cannot be
 * reached the rows go, "reconnecting..." says why, and a new attempt is
 * made every TOP_RETRY_MS until it answers again.
 *
 * Locking: none; single-threaded.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

#define TOP_RETRY_MS        1000
#define TOP_DELAY_MAX_S     3600
#define TOP_LINE_MAX        4096
#define TOP_TOP_LINES       3           /* title, summary, column header */

/* ------------------------------------------------------------------ */
/* Batch                                                               */

static void top_print_rows(struct top_model *m, const struct top_view *v,
                           const struct top_layout *l)
{
    struct top_row *rows;
    size_t nr, i, len = TOP_LINE_MAX;
    char *line = malloc(len);

    if ( !line || top_rows(m, v, &rows, &nr) )
    {
        free(line);
        printf("(out of memory)\n");
        return;
    }
    for ( i = 0; i < nr; i++ )
    {
        /* a name is never cut here: give a long one the room it needs */
        while ( top_format_row(m, v, &rows[i], l, line, len) == -ENOSPC )
        {
            char *nl = realloc(line, len * 2);

            if ( !nl )
                break;
            line = nl;
            len *= 2;
        }
        printf("%s\n", line);
    }
    free(rows);
    free(line);
}

int top_batch(const struct top_opts *o, top_fetch_cb fetch, void *ctx)
{
    struct top_view v = { .sort = o->sort };
    char line[TOP_LINE_MAX], *reply;
    struct top_layout l;
    struct top_model m;
    long k;

    for ( k = 0; k < (o->iterations > 0 ? o->iterations : 1) ||
          o->iterations < 0; k++ )
    {
        if ( k )
        {
            struct timespec ts = { .tv_sec = o->delay_s };

            printf("\n");
            fflush(stdout);
            nanosleep(&ts, NULL);
        }
        if ( fetch(ctx, &reply, NULL, 0) )
            return 1;
        if ( top_model_parse(&m, reply) )
        {
            free(reply);
            fprintf(stderr, "xenosctl: out of memory\n");
            return 1;
        }
        top_fit(&l, &m, 0, false);
        top_format_title(&m, NULL, 0, line, sizeof(line));
        printf("%s\n", line);
        top_format_summary(&m, 0, line, sizeof(line));
        printf("%s\n\n", line);
        top_format_header(&l, line, sizeof(line));
        printf("%s\n", line);
        top_print_rows(&m, &v, &l);
        fflush(stdout);
        top_model_free(&m);
        free(reply);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The screen                                                          */

static const char *const top_help[] = {
    "q quit   c n a m sort by CPU, name, cap, memory   s next sort",
    "f fold/unfold all   enter/space fold the selected tenant",
    "up/down j/k PgUp/PgDn Home/End move   + - d delay   h ? help",
};
#define TOP_NR_HELP (sizeof(top_help) / sizeof(top_help[0]))

struct top_screen {
    const struct top_opts *o;
    struct top_model m;
    bool have;                          /* m holds a reply */
    struct top_view v;
    struct top_row *rows;
    size_t nr_rows;
    size_t sel, first;                  /* selected row, first shown */
    char *sel_tenant, *sel_dom;         /* the selection, by name */
    long delay_s;
    bool help;
    char why[512];                      /* why xenosd is not answering */
};

static long long top_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remember the selected row by name, so it stays selected when rows
 * move after a refresh or a new sort. */
static void top_remember(struct top_screen *s)
{
    const struct top_row *r;

    free(s->sel_tenant);
    free(s->sel_dom);
    s->sel_tenant = s->sel_dom = NULL;
    if ( s->sel >= s->nr_rows )
        return;
    r = &s->rows[s->sel];
    s->sel_tenant = strdup(s->m.tenants[r->tenant].name);
    if ( r->dom >= 0 )
        s->sel_dom = strdup(s->m.doms[r->dom].name);
}

/* Rows anew from the model and view; the selection follows its names. */
static void top_rebuild(struct top_screen *s)
{
    size_t i;

    free(s->rows);
    s->rows = NULL;
    s->nr_rows = 0;
    if ( !s->have || top_rows(&s->m, &s->v, &s->rows, &s->nr_rows) )
        return;
    for ( i = 0; s->sel_tenant && i < s->nr_rows; i++ )
    {
        const struct top_row *r = &s->rows[i];

        if ( strcmp(s->m.tenants[r->tenant].name, s->sel_tenant) )
            continue;
        if ( r->dom < 0 ? !s->sel_dom :
             s->sel_dom && !strcmp(s->m.doms[r->dom].name, s->sel_dom) )
        {
            s->sel = i;
            return;
        }
    }
    if ( s->sel >= s->nr_rows )
        s->sel = s->nr_rows ? s->nr_rows - 1 : 0;
}

/* Ask xenosd; the model is replaced, or emptied with the reason kept. */
static void top_refresh(struct top_screen *s, top_fetch_cb fetch, void *ctx)
{
    char *reply;
    int rc = fetch(ctx, &reply, s->why, sizeof(s->why));

    top_model_free(&s->m);
    s->have = false;
    if ( !rc )
    {
        rc = top_model_parse(&s->m, reply);
        free(reply);
        if ( rc )
            snprintf(s->why, sizeof(s->why), "out of memory");
    }
    s->have = !rc;
    if ( s->have )
        s->why[0] = '\0';
    top_rebuild(s);
}

/* Write @text on line @y, cut to the width, in @attr (the whole line). */
static void top_put_line(int y, const char *text, attr_t attr)
{
    char line[TOP_LINE_MAX];

    snprintf(line, sizeof(line), "%s", text);
    top_text_cut(line, (unsigned int)COLS);
    attrset(attr);
    mvaddstr(y, 0, line);
    if ( attr )
        mvchgat(y, 0, -1, attr, 0, NULL);
    attrset(A_NORMAL);
}

static void top_draw(struct top_screen *s)
{
    unsigned int w = COLS > 0 ? (unsigned int)COLS : 1;
    int nfoot = s->help ? (int)TOP_NR_HELP : 1;
    int body = LINES - TOP_TOP_LINES - nfoot, y;
    char line[TOP_LINE_MAX], suffix[128];
    struct top_layout l;
    size_t i;

    erase();
    top_fit(&l, &s->m, w, true);
    snprintf(suffix, sizeof(suffix), " - sort %s, every %ld s",
             top_sort_names[s->v.sort], s->delay_s);
    if ( s->have )
    {
        top_format_title(&s->m, suffix, w, line, sizeof(line));
        top_put_line(0, line, A_NORMAL);
        top_format_summary(&s->m, w, line, sizeof(line));
        top_put_line(1, line, A_NORMAL);
    }
    else
    {
        top_put_line(0, "xenos top - reconnecting...", A_BOLD);
        snprintf(line, sizeof(line), "xenosd at %s: %s", s->o->where,
                 s->why[0] ? s->why : "not answering");
        top_put_line(1, line, A_NORMAL);
    }
    top_format_header(&l, line, sizeof(line));
    top_put_line(2, line, A_REVERSE);
    if ( body < 1 )
        body = 1;
    /* keep the selection in sight */
    if ( s->sel < s->first )
        s->first = s->sel;
    if ( s->sel >= s->first + (size_t)body )
        s->first = s->sel - (size_t)body + 1;
    if ( s->first + (size_t)body > s->nr_rows )
        s->first = s->nr_rows > (size_t)body ? s->nr_rows - (size_t)body : 0;
    for ( i = s->first, y = TOP_TOP_LINES;
          i < s->nr_rows && y < TOP_TOP_LINES + body && y < LINES; i++, y++ )
    {
        top_format_row(&s->m, &s->v, &s->rows[i], &l, line, sizeof(line));
        top_put_line(y, line, i == s->sel ? A_BOLD | A_STANDOUT : A_NORMAL);
    }
    if ( s->help )
        for ( i = 0; i < TOP_NR_HELP; i++ )
            top_put_line(LINES - nfoot + (int)i, top_help[i], A_NORMAL);
    else
    {
        snprintf(line, sizeof(line), "%zu/%zu  q quit, c n a m sort, f fold, "
                 "+ - delay, h help", s->nr_rows ? s->sel + 1 : 0,
                 s->nr_rows);
        top_put_line(LINES - 1, line, A_DIM);
    }
    refresh();
}

static void top_move(struct top_screen *s, long by)
{
    long to = (long)s->sel + by;

    if ( to >= (long)s->nr_rows )
        to = (long)s->nr_rows - 1;
    s->sel = to < 0 ? 0 : (size_t)to;
    top_remember(s);
}

/* Fold or unfold the selected row's tenant; the selection goes to it. */
static void top_fold_selected(struct top_screen *s)
{
    size_t i;

    if ( s->sel >= s->nr_rows )
        return;
    i = s->rows[s->sel].tenant;
    top_view_toggle(&s->v, s->m.tenants[i].name);   /* ENOMEM: no fold */
    free(s->sel_tenant);
    free(s->sel_dom);
    s->sel_tenant = strdup(s->m.tenants[i].name);
    s->sel_dom = NULL;
    top_rebuild(s);
}

/* A key: false to quit. */
static bool top_key(struct top_screen *s, int ch)
{
    long page = LINES - TOP_TOP_LINES - 1;

    switch ( ch )
    {
    case 'q': case 'Q': return false;
    case 'c': s->v.sort = TOP_SORT_CPU; break;
    case 'n': s->v.sort = TOP_SORT_NAME; break;
    case 'a': s->v.sort = TOP_SORT_CAP; break;
    case 'm': s->v.sort = TOP_SORT_MEM; break;
    case 's': s->v.sort = (s->v.sort + 1) % TOP_NR_SORTS; break;
    case 'f': top_view_toggle_all(&s->v, &s->m); break;
    case ' ': case '\n': case '\r': case KEY_ENTER:
        top_fold_selected(s);
        return true;
    case KEY_UP: case 'k': top_move(s, -1); return true;
    case KEY_DOWN: case 'j': top_move(s, 1); return true;
    case KEY_PPAGE: top_move(s, -(page > 1 ? page : 1)); return true;
    case KEY_NPAGE: top_move(s, page > 1 ? page : 1); return true;
    case KEY_HOME: case 'g': top_move(s, -(long)s->nr_rows); return true;
    case KEY_END: case 'G': top_move(s, (long)s->nr_rows); return true;
    case '+':
        s->delay_s += s->delay_s < TOP_DELAY_MAX_S;
        return true;
    case '-':
        s->delay_s -= s->delay_s > 1;
        return true;
    case 'd':   /* 1, 2, 5, 10 s, round again */
        s->delay_s = s->delay_s < 2 ? 2 : s->delay_s < 5 ? 5 :
                     s->delay_s < 10 ? 10 : 1;
        return true;
    case 'h': case '?': s->help = !s->help; return true;
    default: return true;               /* KEY_RESIZE too: just redraw */
    }
    top_rebuild(s);                     /* a new order or fold */
    return true;
}

int top_screen(const struct top_opts *o, top_fetch_cb fetch, void *ctx)
{
    struct top_screen s = {
        .o = o, .v = { .sort = o->sort }, .delay_s = o->delay_s,
    };
    long long next = 0;
    long done = 0;

    setlocale(LC_CTYPE, "");
    if ( !initscr() )
    {
        fprintf(stderr, "xenosctl: cannot drive this terminal\n");
        return 1;
    }
    cbreak();
    noecho();
    nonl();                             /* enter reads as '\r' */
    keypad(stdscr, TRUE);
    curs_set(0);
    for ( ;; )
    {
        long long now = top_now_ms();
        int ch;

        if ( now >= next )
        {
            if ( o->iterations >= 0 && done++ >= o->iterations )
                break;
            top_refresh(&s, fetch, ctx);
            next = now + (s.have ? s.delay_s * 1000 : TOP_RETRY_MS);
        }
        top_draw(&s);
        timeout((int)(next - now > 0 ? next - now : 0));
        ch = getch();
        if ( ch != ERR && !top_key(&s, ch) )
            break;
        /* a shorter delay counts from the last refresh */
        if ( s.have && next > top_now_ms() + s.delay_s * 1000 )
            next = top_now_ms() + s.delay_s * 1000;
    }
    endwin();
    top_model_free(&s.m);
    top_view_free(&s.v);
    free(s.rows);
    free(s.sel_tenant);
    free(s.sel_dom);
    return 0;
}
