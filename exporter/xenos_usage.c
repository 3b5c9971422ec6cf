/*
 * xenos_usage.c: xenos-usage, the usage ledger's reader for people and
 * billing scripts.
 *
 *   xenos-usage dump [--format table|csv|json] FILES...
 *   xenos-usage sum --by tenant|domain [--from T] [--to T]
 *                   [--format table|csv|json] FILES...
 *   xenos-usage ship ...   (xenos_usage_ship.c: the ledger into PostgreSQL)
 *
 * Damage in a file (docs/usage-format.md) is reported on stderr as
 * "FILE: byte OFF: why (N bytes skipped)"; reading goes on at the next
 * whole record, so only the damaged stretch is lost.  Exit status: 0 all
 * files whole, 1 damage was reported (the output holds every good
 * record), 2 bad usage or a file that could not be read.
 *
 * Names are untrusted: escaped for every format (txt_escape for the
 * table, txt_csv_str for CSV: quoted, formulas neutralised, bad UTF-8 as
 * U+FFFD; txt_json_str for JSON).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenos/cli.h>
#include <xenos/exp_usage.h>
#include <xenos/strmap.h>
#include <xenos/text.h>

#include "xenos_usage_ship.h"

#define NS_PER_S    1000000000ull

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };

struct sum_row {
    char *key;                          /* tenant name or uuid */
    char *name, *tenant;                /* domain: its last name, tenant */
    uint64_t records;
    uint64_t cpu_ns, memory_byte_seconds;
    uint64_t vbd_read_bytes, vbd_write_bytes, vbd_read_ops, vbd_write_ops;
    uint64_t vif_rx_bytes, vif_tx_bytes;
};

struct ctx {
    enum fmt fmt;
    bool by_domain;
    uint64_t from_ns, to_ns;
    const char *file;
    uint64_t nr_out;                    /* records printed */
    bool damaged;
    bool oom;
    struct sum_row *rows;
    size_t nr_rows, cap_rows;
    struct strmap idx;                  /* rows[] by key */
};

/* ------------------------------------------------------------------ */
/* Escaping                                                            */

static void put_table_str(FILE *f, const char *s)
{
    size_t cap = strlen(s) * 12 + 16;
    char *e = malloc(cap);

    if ( !s[0] )
        fputs("-", f);
    else if ( e && !txt_escape(e, cap, s, true) )
        fputs(e, f);
    else
        fputs("?", f);                  /* out of memory */
    free(e);
}

static void put_str(FILE *f, enum fmt fmt, const char *s)
{
    if ( fmt == FMT_TABLE )
        put_table_str(f, s);
    else if ( fmt == FMT_CSV )
        txt_csv_str(f, s, true);
    else
        txt_json_str(f, s);
}

static void put_time(FILE *f, uint64_t ns)
{
    time_t t = (time_t)(ns / NS_PER_S);
    struct tm tm;
    char b[32];

    gmtime_r(&t, &tm);
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(b, f);
}

/* ------------------------------------------------------------------ */
/* dump                                                                */

static const char *const dump_cols[] = {
    "seq", "host", "tenant", "uuid", "name", "start", "end", "cpu_ns",
    "vcpus", "memory_byte_seconds", "mem_max_bytes", "vbd_read_bytes", "vbd_write_bytes",
    "vbd_read_ops", "vbd_write_ops", "vif_rx_bytes", "vif_tx_bytes", "weight",
    "cap_pct",
};
#define NR_DUMP_COLS (sizeof(dump_cols) / sizeof(dump_cols[0]))

static void dump_head(enum fmt fmt)
{
    size_t i;

    if ( fmt == FMT_JSON )
    {
        fputs("[", stdout);
        return;
    }
    for ( i = 0; i < NR_DUMP_COLS; i++ )
        printf("%s%s", i ? (fmt == FMT_CSV ? "," : "\t") : "",
               dump_cols[i]);
    fputc('\n', stdout);
}

static int dump_rec(void *vctx, const struct exp_usage_rec *r, uint64_t off)
{
    struct ctx *c = vctx;
    const char *sep = c->fmt == FMT_CSV ? "," : "\t";
    uint64_t v[] = { r->cpu_ns, r->vcpus, r->memory_byte_seconds, r->mem_max_bytes,
                     r->vbd_read_bytes, r->vbd_write_bytes, r->vbd_read_ops,
                     r->vbd_write_ops, r->vif_rx_bytes, r->vif_tx_bytes,
                     r->weight, r->cap_pct };
    size_t i;

    (void)off;
    if ( c->fmt == FMT_JSON )
    {
        printf("%s\n{\"seq\":%" PRIu64 ",\"host\":", c->nr_out ? "," : "",
               r->seq);
        txt_json_str(stdout, r->host);
        fputs(",\"tenant\":", stdout);
        txt_json_str(stdout, r->tenant[0] ? r->tenant : NULL);
        fputs(",\"uuid\":", stdout);
        txt_json_str(stdout, r->uuid);
        fputs(",\"name\":", stdout);
        txt_json_str(stdout, r->name);
        printf(",\"start_unix_ns\":%" PRIu64 ",\"end_unix_ns\":%" PRIu64,
               r->start_unix_ns, r->end_unix_ns);
        for ( i = 0; i < sizeof(v) / sizeof(v[0]); i++ )
            printf(",\"%s\":%" PRIu64, dump_cols[7 + i], v[i]);
        fputs("}", stdout);
    }
    else
    {
        printf("%" PRIu64 "%s", r->seq, sep);
        put_str(stdout, c->fmt, r->host);
        fputs(sep, stdout);
        put_str(stdout, c->fmt, r->tenant);
        fputs(sep, stdout);
        put_str(stdout, c->fmt, r->uuid);
        fputs(sep, stdout);
        put_str(stdout, c->fmt, r->name);
        fputs(sep, stdout);
        put_time(stdout, r->start_unix_ns);
        fputs(sep, stdout);
        put_time(stdout, r->end_unix_ns);
        for ( i = 0; i < sizeof(v) / sizeof(v[0]); i++ )
            printf("%s%" PRIu64, sep, v[i]);
        fputc('\n', stdout);
    }
    c->nr_out++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* sum                                                                 */

static const char *row_key(const void *rows, uint32_t i)
{
    return ((const struct sum_row *)rows)[i].key;
}

static struct sum_row *row_get(struct ctx *c, const char *key)
{
    long i = strmap_find(&c->idx, key, row_key, c->rows);
    struct sum_row *r;

    if ( i >= 0 )
        return &c->rows[i];
    if ( c->nr_rows == c->cap_rows )
    {
        size_t cap = c->cap_rows ? c->cap_rows * 2 : 64;

        r = realloc(c->rows, cap * sizeof(*r));
        if ( !r )
            return NULL;
        c->rows = r;
        c->cap_rows = cap;
    }
    r = &c->rows[c->nr_rows];
    memset(r, 0, sizeof(*r));
    r->key = strdup(key);
    if ( !r->key || strmap_add(&c->idx, (uint32_t)c->nr_rows, row_key,
                               c->rows) )
    {
        free(r->key);
        return NULL;
    }
    c->nr_rows++;
    return r;
}

static int replace(char **dst, const char *s)
{
    char *n;

    if ( *dst && !strcmp(*dst, s) )
        return 0;
    n = strdup(s);
    if ( !n )
        return -ENOMEM;
    free(*dst);
    *dst = n;
    return 0;
}

static int sum_rec(void *vctx, const struct exp_usage_rec *r, uint64_t off)
{
    struct ctx *c = vctx;
    struct sum_row *row;

    (void)off;
    /* A record belongs to the period its interval starts in, so periods
     * that tile time count each record once. */
    if ( r->start_unix_ns < c->from_ns || r->start_unix_ns >= c->to_ns )
        return 0;
    row = row_get(c, c->by_domain ? r->uuid : r->tenant);
    if ( !row || (c->by_domain && (replace(&row->name, r->name) ||
                                   replace(&row->tenant, r->tenant))) )
    {
        c->oom = true;
        return -ENOMEM;
    }
    row->records++;
    row->cpu_ns += r->cpu_ns;
    row->memory_byte_seconds += r->memory_byte_seconds;
    row->vbd_read_bytes += r->vbd_read_bytes;
    row->vbd_write_bytes += r->vbd_write_bytes;
    row->vbd_read_ops += r->vbd_read_ops;
    row->vbd_write_ops += r->vbd_write_ops;
    row->vif_rx_bytes += r->vif_rx_bytes;
    row->vif_tx_bytes += r->vif_tx_bytes;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const struct sum_row *)a)->key,
                  ((const struct sum_row *)b)->key);
}

static void sum_print(struct ctx *c)
{
    static const char *const cols[] = {
        "records", "cpu_ns", "memory_byte_seconds", "vbd_read_bytes", "vbd_write_bytes",
        "vbd_read_ops", "vbd_write_ops", "vif_rx_bytes", "vif_tx_bytes",
    };
    const char *sep = c->fmt == FMT_CSV ? "," : "\t";
    size_t i, j;

    if ( c->nr_rows )
        qsort(c->rows, c->nr_rows, sizeof(*c->rows), row_cmp);
    if ( c->fmt == FMT_JSON )
        fputs("[", stdout);
    else
    {
        fputs(c->by_domain ? "uuid" : "tenant", stdout);
        if ( c->by_domain )
            printf("%sname%stenant", sep, sep);
        for ( j = 0; j < sizeof(cols) / sizeof(cols[0]); j++ )
            printf("%s%s", sep, cols[j]);
        fputc('\n', stdout);
    }
    for ( i = 0; i < c->nr_rows; i++ )
    {
        const struct sum_row *r = &c->rows[i];
        uint64_t v[] = { r->records, r->cpu_ns, r->memory_byte_seconds,
                         r->vbd_read_bytes, r->vbd_write_bytes, r->vbd_read_ops,
                         r->vbd_write_ops, r->vif_rx_bytes, r->vif_tx_bytes };

        if ( c->fmt == FMT_JSON )
        {
            printf("%s\n{\"%s\":", i ? "," : "",
                   c->by_domain ? "uuid" : "tenant");
            txt_json_str(stdout, c->by_domain || r->key[0] ? r->key : NULL);
            if ( c->by_domain )
            {
                fputs(",\"name\":", stdout);
                txt_json_str(stdout, r->name);
                fputs(",\"tenant\":", stdout);
                txt_json_str(stdout, r->tenant[0] ? r->tenant : NULL);
            }
            for ( j = 0; j < sizeof(v) / sizeof(v[0]); j++ )
                printf(",\"%s\":%" PRIu64, cols[j], v[j]);
            fputs("}", stdout);
            continue;
        }
        put_str(stdout, c->fmt, r->key);
        if ( c->by_domain )
        {
            fputs(sep, stdout);
            put_str(stdout, c->fmt, r->name);
            fputs(sep, stdout);
            put_str(stdout, c->fmt, r->tenant);
        }
        for ( j = 0; j < sizeof(v) / sizeof(v[0]); j++ )
            printf("%s%" PRIu64, sep, v[j]);
        fputc('\n', stdout);
    }
    if ( c->fmt == FMT_JSON )
        fputs("\n]\n", stdout);
}

/* ------------------------------------------------------------------ */
/* Main                                                                */

static void on_damage(void *vctx, uint64_t off, uint64_t len,
                      const char *why)
{
    struct ctx *c = vctx;

    c->damaged = true;
    fprintf(stderr, "xenos-usage: %s: byte %" PRIu64 ": %s (%" PRIu64
            " bytes skipped)\n", c->file, off, why, len);
}

/* T: unix seconds, or ISO-8601 UTC (2026-11-01, 2026-11-01T00:00:00Z,
 * 2026-11-01T00:00Z).  0 or -EINVAL. */
static int parse_time(const char *s, uint64_t *ns)
{
    static const char *const fmts[] = {
        "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%dT%H:%M", "%Y-%m-%d",
    };
    unsigned long long v;
    struct tm tm;
    size_t i;
    char *end;

    if ( s[0] >= '0' && s[0] <= '9' && !strchr(s, '-') )
    {
        errno = 0;
        v = strtoull(s, &end, 10);
        if ( errno || *end || v > UINT64_MAX / NS_PER_S )
            return -EINVAL;
        *ns = v * NS_PER_S;
        return 0;
    }
    for ( i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++ )
    {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, fmts[i], &tm);
        if ( end && !*end )
        {
            time_t t = timegm(&tm);

            if ( t < 0 )
                return -EINVAL;
            *ns = (uint64_t)t * NS_PER_S;
            return 0;
        }
    }
    return -EINVAL;
}

/* --help: on stdout, exit status 0. */
static int usage(void)
{
    printf(
        "usage: xenos-usage dump [--format table|csv|json] FILES...\n"
        "       xenos-usage sum --by tenant|domain [--from T] [--to T]\n"
        "                       [--format table|csv|json] FILES...\n"
        USAGE_SHIP_HELP
        "       xenos-usage --version | --help\n"
        "T: unix seconds or ISO-8601 UTC (2026-11-01T00:00:00Z); a record\n"
        "counts in [from, to) by its interval's start.\n"
        "Exit: 0 whole, 1 damage reported (good records still used), 2 "
        "error.\n");
    return 0;
}

static const struct option long_opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "by", required_argument, NULL, 'b' },
    { "from", required_argument, NULL, 'F' },
    { "to", required_argument, NULL, 'T' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, CLI_OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
    struct ctx c = { .fmt = FMT_TABLE, .to_ns = UINT64_MAX };
    bool sum, by_set = false;
    int opt, i, rc, status = 0;
    size_t k;

    /* ship has options of its own: it parses them itself. */
    if ( argc > 1 && !strcmp(argv[1], "ship") )
#ifdef XENOS_HAVE_SHIP
        return usage_ship_main(argc - 1, argv + 1);
#else
    {
        fprintf(stderr, "xenos-usage: ship is not built in (libpq was not "
                "found at build time)\n");
        return 2;
    }
#endif
    opterr = 0;
    while ( (opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1 )
    {
        switch ( opt )
        {
        case 'f':
            if ( !strcmp(optarg, "table") )
                c.fmt = FMT_TABLE;
            else if ( !strcmp(optarg, "csv") )
                c.fmt = FMT_CSV;
            else if ( !strcmp(optarg, "json") )
                c.fmt = FMT_JSON;
            else
                return cli_usage_error("xenos-usage", "--format: table, csv "
                                       "or json, not '%s'", optarg);
            break;
        case 'b':
            by_set = true;
            if ( !strcmp(optarg, "domain") )
                c.by_domain = true;
            else if ( strcmp(optarg, "tenant") )
                return cli_usage_error("xenos-usage", "--by: tenant or "
                                       "domain, not '%s'", optarg);
            break;
        case 'F':
        case 'T':
            if ( parse_time(optarg, opt == 'F' ? &c.from_ns : &c.to_ns) )
                return cli_usage_error("xenos-usage", "--%s: not unix "
                                       "seconds nor ISO-8601 UTC: '%s'",
                                       opt == 'F' ? "from" : "to", optarg);
            break;
        case 'h':
            return usage();
        case CLI_OPT_VERSION:
            return cli_version("xenos-usage");
        default:
            return cli_bad_option("xenos-usage", opt, argv);
        }
    }
    /* The options may stand before or after the command (getopt_long
     * moves the words that are not options to the end, in order). */
    if ( optind >= argc )
        return cli_usage_error("xenos-usage", "no command (dump or sum)");
    if ( strcmp(argv[optind], "dump") && strcmp(argv[optind], "sum") )
        return cli_usage_error("xenos-usage", "unknown command '%s' (dump "
                               "or sum)", argv[optind]);
    sum = !strcmp(argv[optind++], "sum");
    if ( sum && !by_set )
        return cli_usage_error("xenos-usage", "sum needs --by tenant or "
                               "--by domain");
    if ( !sum && (by_set || c.from_ns || c.to_ns != UINT64_MAX) )
        return cli_usage_error("xenos-usage", "--by, --from and --to are "
                               "for sum, not dump");
    if ( optind >= argc )
        return cli_usage_error("xenos-usage", "no FILES to read");
    if ( !sum )
        dump_head(c.fmt);
    for ( i = optind; i < argc; i++ )
    {
        c.file = argv[i];
        rc = exp_usage_read(argv[i], sum ? sum_rec : dump_rec, on_damage,
                            &c, NULL);
        if ( rc == -EBADMSG )
            status = status ? status : 1;
        else if ( rc )
        {
            fprintf(stderr, "xenos-usage: %s: %s\n", argv[i],
                    strerror(-rc));
            status = 2;
            if ( c.oom )
                break;
        }
    }
    if ( sum )
        sum_print(&c);
    else if ( c.fmt == FMT_JSON )
        fputs("\n]\n", stdout);
    for ( k = 0; k < c.nr_rows; k++ )
    {
        free(c.rows[k].key);
        free(c.rows[k].name);
        free(c.rows[k].tenant);
    }
    free(c.rows);
    strmap_free(&c.idx);
    if ( fflush(stdout) || ferror(stdout) )
    {
        fprintf(stderr, "xenos-usage: writing the output failed\n");
        return 2;
    }
    return status;
}
