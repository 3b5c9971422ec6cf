/*
 * xenos_usage.c: xenos-usage, the usage ledger's reader for people and
 * billing scripts.
 *
 *   xenos-usage dump [--format table|csv|json|jsonl] FILES...
 *   xenos-usage sum --by tenant|domain [--from T] [--to T]
 *                   [--format table|csv|json|jsonl] FILES...
 *   xenos-usage reconcile [--state-dir DIR] [--ledger DIR]
 *                   [--checkpoint FILE] [--sim-host SOCKET]
 *                   [--counters xen|sim:SOCKET]
 *                   [--db CONNINFO [--host NAME]]
 *                   [--format table|csv|jsonl]
 *   xenos-usage ship ...   (xenos_usage_ship.c: the ledger into PostgreSQL)
 *
 * Damage in a file (docs/usage-format.md) is reported on stderr as
 * "FILE: byte OFF: why (N bytes skipped)"; reading goes on at the next
 * whole record, so only the damaged stretch is lost.  Exit status: 0 all
 * files whole, 1 damage was reported (the output holds every good
 * record), 2 bad usage or a file that could not be read.
 *
 * reconcile holds the ledger against the collector's checkpoint, that
 * against the simulated host's ground truth and the host's live counters
 * (the xen or sim backend, as xenosd reads them), and the ledger against
 * the billing database, record by record and in totals (sources:
 * xenos_usage_src.c, xenos_usage_src_db.c; the comparison: usage_cmp.c),
 * a line per differing counter or record; exit 1 on any difference.
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
#include <xenos/text.h>

#include "xenos_usage_src.h"
#include "xenos_usage_ship.h"

#define NS_PER_S    1000000000ull

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_JSONL };

struct ctx {
    enum fmt fmt;
    bool by_domain;
    uint64_t from_ns, to_ns;
    const char *file;
    uint64_t nr_out;                    /* records printed */
    bool damaged;
    bool oom;
    /* sum's totals: the same tables reconcile compares (usage_cmp.c) */
    struct exp_usage_src sum;
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

/*
 * The columns of dump, in usage.proto's field order and under its field
 * names (docs/usage-format.md, "xenos-usage").  The contention counters
 * are unknown, not zero, when sched_stats is false: null in JSON, empty
 * in CSV, "-" in the table.
 */
enum col_kind { COL_STR, COL_TIME, COL_U64, COL_BOOL, COL_SCHED };

#define DUMP_COLS(X)                                                    \
    X(seq, COL_U64) X(host, COL_STR) X(tenant, COL_STR) X(uuid, COL_STR) \
    X(name, COL_STR) X(start_unix_ns, COL_TIME) X(end_unix_ns, COL_TIME) \
    X(cpu_ns, COL_U64) X(vcpus, COL_U64)                                \
    X(memory_byte_seconds, COL_U64) X(mem_max_bytes, COL_U64)           \
    X(vbd_read_bytes, COL_U64) X(vbd_write_bytes, COL_U64)              \
    X(vbd_read_ops, COL_U64) X(vbd_write_ops, COL_U64)                  \
    X(vif_rx_bytes, COL_U64) X(vif_tx_bytes, COL_U64)                   \
    X(weight, COL_U64) X(cap_pct, COL_U64)                              \
    X(span_start_unix_ns, COL_TIME) X(span_end_unix_ns, COL_TIME)       \
    X(sched_stats, COL_BOOL) X(wait_ns, COL_SCHED)                      \
    X(throttled_ns, COL_SCHED) X(peak_window_pct, COL_SCHED)

static const struct dump_col {
    const char *name;
    enum col_kind kind;
} dump_cols[] = {
#define X(f, k) { #f, k },
    DUMP_COLS(X)
#undef X
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
    if ( fmt == FMT_JSONL )
        return;
    for ( i = 0; i < NR_DUMP_COLS; i++ )
        printf("%s%s", i ? (fmt == FMT_CSV ? "," : "\t") : "",
               dump_cols[i].name);
    fputc('\n', stdout);
}

/* One value of record @r in column @col, as format @fmt wants it. */
static void dump_val(enum fmt fmt, const struct exp_usage_rec *r,
                     const struct dump_col *col, const char *s, uint64_t v)
{
    bool json = fmt == FMT_JSON || fmt == FMT_JSONL;

    switch ( col->kind )
    {
    case COL_STR:
        if ( json && !s[0] && !strcmp(col->name, "tenant") )
            s = NULL;                   /* tenant: none */
        if ( json )
            txt_json_str(stdout, s);
        else
            put_str(stdout, fmt, s);
        break;
    case COL_TIME:
        if ( fmt == FMT_TABLE )
            put_time(stdout, v);
        else
            printf("%" PRIu64, v);
        break;
    case COL_BOOL:
        fputs(fmt == FMT_TABLE ? (v ? "yes" : "no") : (v ? "true" : "false"),
              stdout);
        break;
    case COL_SCHED:
        if ( r->sched_stats )
            printf("%" PRIu64, v);
        else if ( json )
            fputs("null", stdout);
        else if ( fmt == FMT_TABLE )
            fputs("-", stdout);
        break;
    case COL_U64:
        printf("%" PRIu64, v);
        break;
    }
}

static int dump_rec(void *vctx, const struct exp_usage_rec *r, uint64_t off)
{
    struct ctx *c = vctx;
    bool json = c->fmt == FMT_JSON || c->fmt == FMT_JSONL;
    const char *sep = json || c->fmt == FMT_CSV ? "," : "\t";
    const struct dump_col *col = dump_cols;

    (void)off;
    if ( c->fmt == FMT_JSON )
        printf("%s\n", c->nr_out ? "," : "");
    if ( json )
        fputc('{', stdout);
    /* Each kind takes its value from the record's member of the same
     * name: a string, or a number. */
#define DUMP_STR_COL_STR(f) r->f
#define DUMP_STR_COL_TIME(f) NULL
#define DUMP_STR_COL_U64(f) NULL
#define DUMP_STR_COL_BOOL(f) NULL
#define DUMP_STR_COL_SCHED(f) NULL
#define DUMP_NUM_COL_STR(f) 0
#define DUMP_NUM_COL_TIME(f) r->f
#define DUMP_NUM_COL_U64(f) r->f
#define DUMP_NUM_COL_BOOL(f) r->f
#define DUMP_NUM_COL_SCHED(f) r->f
#define X(f, k)                                                         \
    if ( col != dump_cols )                                             \
        fputs(sep, stdout);                                             \
    if ( json )                                                         \
        printf("\"%s\":", col->name);                                   \
    dump_val(c->fmt, r, col, DUMP_STR_##k(f), (uint64_t)DUMP_NUM_##k(f)); \
    col++;
    DUMP_COLS(X)
#undef X
    if ( json )
        fputc('}', stdout);
    if ( c->fmt != FMT_JSON )
        fputc('\n', stdout);
    c->nr_out++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* sum                                                                 */

static int sum_rec(void *vctx, const struct exp_usage_rec *r, uint64_t off)
{
    struct ctx *c = vctx;

    (void)off;
    /* A record belongs to the period its interval starts in, so periods
     * that tile time count each record once. */
    if ( r->start_unix_ns < c->from_ns || r->start_unix_ns >= c->to_ns )
        return 0;
    if ( exp_usage_src_add_rec(&c->sum, r) )
    {
        c->oom = true;
        return -ENOMEM;
    }
    return 0;
}

/* sum's contention columns: wait and throttled time added up, the peak
 * the highest; null/empty/- when a record of the row lacks them. */
static const char *const sched_sums[] = {
    "wait_ns", "throttled_ns", "peak_window_pct",
};
#define NR_SCHED_SUMS ((int)(sizeof(sched_sums) / sizeof(sched_sums[0])))

/* The rows, sorted by key: 0, or -ENOMEM (nothing printed). */
static int sum_print(struct ctx *c)
{
    const struct exp_usage_table *t = c->by_domain ? &c->sum.doms
                                                   : &c->sum.tenants;
    const struct exp_usage_row **rows = exp_usage_sorted(t);
    const char *sep = c->fmt == FMT_CSV ? "," : "\t";
    bool json = c->fmt == FMT_JSON || c->fmt == FMT_JSONL;
    uint32_t i;
    int j;

    if ( t->n && !rows )
        return -ENOMEM;
    if ( c->fmt == FMT_JSON )
        fputs("[", stdout);
    else if ( !json )
    {
        fputs(c->by_domain ? "uuid" : "tenant", stdout);
        if ( c->by_domain )
            printf("%sname%stenant", sep, sep);
        printf("%srecords", sep);
        for ( j = 0; j < EXP_USAGE_NR_COUNTERS; j++ )
            printf("%s%s", sep, exp_usage_counters[j]);
        for ( j = 0; j < NR_SCHED_SUMS; j++ )
            printf("%s%s", sep, sched_sums[j]);
        fputc('\n', stdout);
    }
    for ( i = 0; i < t->n; i++ )
    {
        const struct exp_usage_row *r = rows[i];
        const char *name = r->name ? r->name : "";
        const char *tenant = r->tenant ? r->tenant : "";
        /* Unknown unless every record of the row had them. */
        bool known = r->records && !r->sched_unknown;
        uint64_t sv[NR_SCHED_SUMS] = { r->wait_ns, r->throttled_ns,
                                       r->peak_window_pct };

        if ( json )
        {
            if ( c->fmt == FMT_JSON )
                printf("%s\n", i ? "," : "");
            printf("{\"%s\":", c->by_domain ? "uuid" : "tenant");
            txt_json_str(stdout, c->by_domain || r->key[0] ? r->key : NULL);
            if ( c->by_domain )
            {
                fputs(",\"name\":", stdout);
                txt_json_str(stdout, name);
                fputs(",\"tenant\":", stdout);
                txt_json_str(stdout, tenant[0] ? tenant : NULL);
            }
            printf(",\"records\":%" PRIu64, r->records);
            for ( j = 0; j < EXP_USAGE_NR_COUNTERS; j++ )
                printf(",\"%s\":%" PRIu64, exp_usage_counters[j], r->v[j]);
            for ( j = 0; j < NR_SCHED_SUMS; j++ )
                if ( known )
                    printf(",\"%s\":%" PRIu64, sched_sums[j], sv[j]);
                else
                    printf(",\"%s\":null", sched_sums[j]);
            fputs(c->fmt == FMT_JSONL ? "}\n" : "}", stdout);
            continue;
        }
        put_str(stdout, c->fmt, r->key);
        if ( c->by_domain )
        {
            fputs(sep, stdout);
            put_str(stdout, c->fmt, name);
            fputs(sep, stdout);
            put_str(stdout, c->fmt, tenant);
        }
        printf("%s%" PRIu64, sep, r->records);
        for ( j = 0; j < EXP_USAGE_NR_COUNTERS; j++ )
            printf("%s%" PRIu64, sep, r->v[j]);
        for ( j = 0; j < NR_SCHED_SUMS; j++ )
            if ( known )
                printf("%s%" PRIu64, sep, sv[j]);
            else
                printf("%s%s", sep, c->fmt == FMT_TABLE ? "-" : "");
        fputc('\n', stdout);
    }
    if ( c->fmt == FMT_JSON )
        fputs("\n]\n", stdout);
    free(rows);
    return 0;
}

/* ------------------------------------------------------------------ */
/* reconcile                                                           */

#define RECONCILE_STATE_DIR_DEFAULT "/var/lib/xenos"

struct rc_opts {
    const char *state_dir, *ledger_dir, *checkpoint, *sim_host;
    const char *db, *host, *counters;
};

static void rc_damage(const char *file, uint64_t off, uint64_t len,
                      const char *why)
{
    fprintf(stderr, "xenos-usage: %s: byte %" PRIu64 ": %s (%" PRIu64
            " bytes skipped)\n", file, off, why, len);
}

static void rc_head(enum fmt fmt)
{
    static const char *const cols[] = {
        "a", "b", "level", "key", "name", "counter", "a_value", "b_value",
        "b_minus_a",
    };
    size_t i;

    if ( fmt == FMT_JSONL )
        return;
    for ( i = 0; i < sizeof(cols) / sizeof(cols[0]); i++ )
        printf("%s%s", i ? (fmt == FMT_CSV ? "," : "\t") : "", cols[i]);
    fputc('\n', stdout);
}

/* One line of reconcile's output in @fmt: @level is "domain", "tenant"
 * or "record" (@key then HOST:SEQ, @counter "records"). */
static void rc_line(enum fmt fmt, const char *a, const char *b,
                    const char *level, const char *key, const char *name,
                    const char *counter, uint64_t va, uint64_t vb)
{
    const char *sep = fmt == FMT_CSV ? "," : "\t";
    /* b - a, signed, without overflow for any two u64 */
    const char *sign = vb >= va ? "" : "-";
    uint64_t mag = vb >= va ? vb - va : va - vb;

    if ( fmt == FMT_JSONL )
    {
        printf("{\"a\":\"%s\",\"b\":\"%s\",\"level\":\"%s\",\"key\":",
               a, b, level);
        txt_json_str(stdout, !strcmp(level, "tenant") && !key[0] ? NULL
                                                                 : key);
        fputs(",\"name\":", stdout);
        txt_json_str(stdout, name);
        printf(",\"counter\":\"%s\",\"a_value\":%" PRIu64 ",\"b_value\":%"
               PRIu64 ",\"b_minus_a\":%s%" PRIu64 "}\n", counter, va, vb,
               sign, mag);
        return;
    }
    printf("%s%s%s%s%s%s", a, sep, b, sep, level, sep);
    put_str(stdout, fmt, key);
    fputs(sep, stdout);
    put_str(stdout, fmt, name ? name : "");
    printf("%s%s%s%" PRIu64 "%s%" PRIu64 "%s%s%" PRIu64 "\n", sep, counter,
           sep, va, sep, vb, sep, sign, mag);
}

/* One comparison of totals under way. */
struct rc_cmp {
    enum fmt fmt;
    /* NULL, or the most b may exceed a by, per domain and tenant (the
     * host's counters grew since the checkpoint's last sample). */
    const struct exp_usage_src *slack;
    long shown;                         /* differences printed */
    uint64_t within, within_ns;         /* growth inside the slack */
};

/* One difference of totals: a line in @ctx's format, unless it is growth
 * inside the slack. */
static void rc_diff(void *ctx, const struct exp_usage_src *a,
                    const struct exp_usage_src *b, bool tenant,
                    const char *key, const char *name, const char *counter,
                    uint64_t va, uint64_t vb)
{
    struct rc_cmp *x = ctx;

    if ( x->slack && vb >= va )
    {
        const struct exp_usage_row *r = exp_usage_find(
            tenant ? &x->slack->tenants : &x->slack->doms, key);

        if ( r && vb - va <= r->v[0] )
        {
            x->within++;
            x->within_ns += tenant ? 0 : vb - va;
            return;
        }
    }
    x->shown++;
    rc_line(x->fmt, a->what, b->what, tenant ? "tenant" : "domain", key,
            name, counter, va, vb);
}

/* @a against @b (@slack: NULL, or what b may exceed a by): differences
 * printed, a summary on stderr; how many differences, or -ENOMEM. */
static long rc_compare(enum fmt fmt, const struct exp_usage_src *a,
                       const struct exp_usage_src *b,
                       const struct exp_usage_src *slack)
{
    struct rc_cmp x = { .fmt = fmt, .slack = slack };
    long n = exp_usage_compare(a, b, rc_diff, &x);

    if ( n < 0 )
        return n;
    fprintf(stderr, "xenos-usage: reconcile: %s against %s: %" PRIu32
            " and %" PRIu32 " domains, %" PRIu32 " and %" PRIu32
            " tenants: %ld difference%s", a->what, b->what, a->doms.n,
            b->doms.n, a->tenants.n, b->tenants.n, x.shown,
            x.shown == 1 ? "" : "s");
    if ( slack )
        fprintf(stderr, " (%" PRIu64 " more within what the host could run "
                "since the checkpoint's last sample: %" PRIu64 " ns of "
                "the domains')", x.within, x.within_ns);
    fputc('\n', stderr);
    return x.shown;
}

/* The ledger's records against the database's rows, by seq. */
struct rc_recs {
    enum fmt fmt;
    const char *host;
    const struct exp_usage_src *ledger, *db;
    uint64_t next_seq;                  /* the database's ship position */
    uint64_t missing, unshipped, extra, twice;
};

static void rc_rec(void *vctx, uint64_t seq, const char *uuid, uint32_t na,
                   uint32_t nb)
{
    struct rc_recs *x = vctx;
    const struct exp_usage_row *d = exp_usage_find(&x->ledger->doms, uuid);
    char key[300];

    if ( !d || !d->name )
        d = exp_usage_find(&x->db->doms, uuid);
    if ( !nb )
    {
        x->missing++;
        x->unshipped += seq >= x->next_seq;
    }
    else if ( !na )
        x->extra++;
    if ( nb > 1 )
        x->twice++;
    snprintf(key, sizeof(key), "%s:%" PRIu64, x->host, seq);
    rc_line(x->fmt, "ledger", "database", "record", key,
            d && d->name ? d->name : uuid, "records", na, nb);
}

/* The records of @la and @lb, @a's and @b's (ledger and database):
 * differences printed, a summary on stderr; how many. */
static long rc_compare_recs(struct rc_recs *x, struct usrc_recs *la,
                            struct usrc_recs *lb)
{
    long n = usrc_recs_compare(la, lb, rc_rec, x);
    char pos[48] = "none: nothing shipped";

    if ( x->next_seq )
        snprintf(pos, sizeof(pos), "%" PRIu64, x->next_seq);
    fprintf(stderr, "xenos-usage: reconcile: ledger against database: host "
            "%s: %zu records and %zu rows (ship position %s): %" PRIu64
            " missing from the database (%" PRIu64 " of them at or past the "
            "position: not shipped yet), %" PRIu64 " only in the database, %"
            PRIu64 " there more than once\n", x->host, la->n, lb->n, pos,
            x->missing, x->unshipped, x->extra, x->twice);
    return n;
}

/* --db: the host to read (--host, else the ledger's) and its rows into
 * @sd and @dids.  0 or -errno with @err. */
static int rc_db(const struct rc_opts *o, const struct usrc_recs *lids,
                 struct exp_usage_src *sd, struct usrc_recs *dids,
                 struct rc_recs *rx, char *err, size_t errlen)
{
    const char *host = o->host ? o->host : lids->host;

    if ( lids->many_hosts )
    {
        snprintf(err, errlen, "the ledger holds records of more than one "
                 "host (%s and others): one ledger directory is one host's",
                 lids->host);
        return -EINVAL;
    }
    if ( !host[0] )
    {
        snprintf(err, errlen, "the ledger has no record to name its host: "
                 "--host NAME");
        return -EINVAL;
    }
    if ( lids->n && strcmp(host, lids->host) )
    {
        snprintf(err, errlen, "--host %s: the ledger is host %s's", host,
                 lids->host);
        return -EINVAL;
    }
    rx->host = host;
#ifdef XENOS_HAVE_SHIP
    return usrc_db(sd, dids, &rx->next_seq, o->db, host, err, errlen);
#else
    (void)sd;
    (void)dids;
    snprintf(err, errlen, "--db is not built in (libpq was not found at "
             "build time)");
    return -ENOTSUP;
#endif
}

/*
 * xenos-usage reconcile: the ledger against the collector's checkpoint,
 * (--sim-host) the checkpoint against the simulated host's ground truth,
 * (--counters) against the host's counters now, within what the host can
 * have run since the checkpoint's last sample, and (--db) the ledger
 * against the billing database: record by record, then in totals.  Exit
 * 0: they agree, 1: a difference (or damage), 2: an error.
 */
static int reconcile(enum fmt fmt, const struct rc_opts *o)
{
    char ledger[4096], ckpt[4096], err[1024] = "";
    struct exp_usage_src sl, sc, sh, sd, sv, slack, bc, bh;
    struct usrc_recs lids = { 0 }, dids = { 0 };
    struct rc_recs rx = { .fmt = fmt, .ledger = &sl, .db = &sd };
    struct acct_collector *col = NULL;
    uint32_t all = (1u << EXP_USAGE_NR_COUNTERS) - 1;
    long n = 0, m;
    int rc, status = 0;

    snprintf(ledger, sizeof(ledger), "%s", o->ledger_dir ? o->ledger_dir
             : "");
    if ( !o->ledger_dir )
        snprintf(ledger, sizeof(ledger), "%s/usage", o->state_dir);
    snprintf(ckpt, sizeof(ckpt), "%s", o->checkpoint ? o->checkpoint : "");
    if ( !o->checkpoint )
        snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", o->state_dir);
    exp_usage_src_init(&sl, "ledger", all);
    exp_usage_src_init(&sc, "checkpoint", all);
    /* The simulated host counts CPU time exactly; its other counters are
     * the domains' own, not a truth to hold the accounting against. */
    exp_usage_src_init(&sh, "host", 1u << 0);
    exp_usage_src_init(&sd, "database", all);
    /* The host's counters, as the collector would account them now:
     * CPU time, the one counter the hypervisor keeps that the bound
     * below holds. */
    exp_usage_src_init(&sv, "counters", 1u << 0);
    exp_usage_src_init(&slack, "slack", 1u << 0);
    exp_usage_src_init(&bc, "checkpoint_reading", 1u << 0);
    exp_usage_src_init(&bh, "counter", 1u << 0);
    rc = usrc_ledger(&sl, o->db ? &lids : NULL, ledger, rc_damage, err,
                     sizeof(err));
    if ( rc == -EBADMSG )
    {
        status = 1;
        rc = 0;
    }
    if ( !rc && o->db )
        rc = rc_db(o, &lids, &sd, &dids, &rx, err, sizeof(err));
    if ( !rc )
        rc = usrc_checkpoint_load(&col, ckpt, err, sizeof(err));
    if ( !rc )
        rc = usrc_collector(&sc, col);
    if ( !rc && o->sim_host )
        rc = usrc_sim_truth(&sh, o->sim_host, col, err, sizeof(err));
    if ( !rc && o->counters )
        rc = usrc_live(&sv, &slack, &bc, &bh, o->counters, ckpt, col, err,
                       sizeof(err));
    if ( rc )
    {
        fprintf(stderr, "xenos-usage: reconcile: %s\n", err[0] ? err
                : strerror(-rc));
        status = 2;
        goto out;
    }
    rc_head(fmt);
    n = rc_compare(fmt, &sl, &sc, NULL);
    if ( n >= 0 && o->sim_host )
    {
        m = rc_compare(fmt, &sc, &sh, NULL);
        n = m < 0 ? m : n + m;
    }
    if ( n >= 0 && o->counters )
    {
        m = rc_compare(fmt, &sc, &sv, &slack);
        n = m < 0 ? m : n + m;
    }
    /* Counters below the checkpoint's reading: only when there are any,
     * as the totals' summary has said how the rest stand. */
    if ( n >= 0 && bc.doms.n )
    {
        m = rc_compare(fmt, &bc, &bh, NULL);
        n = m < 0 ? m : n + m;
    }
    if ( n >= 0 && o->db )
    {
        n += rc_compare_recs(&rx, &lids, &dids);
        m = rc_compare(fmt, &sl, &sd, NULL);
        n = m < 0 ? m : n + m;
    }
    if ( n < 0 )
    {
        fprintf(stderr, "xenos-usage: reconcile: %s\n", strerror(ENOMEM));
        status = 2;
    }
    else if ( n )
        status = 1;
 out:
    acct_collector_free(col);
    exp_usage_src_deinit(&sl);
    exp_usage_src_deinit(&sc);
    exp_usage_src_deinit(&sh);
    exp_usage_src_deinit(&sd);
    exp_usage_src_deinit(&sv);
    exp_usage_src_deinit(&slack);
    exp_usage_src_deinit(&bc);
    exp_usage_src_deinit(&bh);
    usrc_recs_free(&lids);
    usrc_recs_free(&dids);
    return status;
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
        "usage: xenos-usage dump [--format table|csv|json|jsonl] FILES...\n"
        "       xenos-usage sum --by tenant|domain [--from T] [--to T]\n"
        "                       [--format table|csv|json|jsonl] FILES...\n"
        "       xenos-usage reconcile [--state-dir DIR] [--ledger DIR]\n"
        "                       [--checkpoint FILE] [--sim-host SOCKET]\n"
        "                       [--counters xen|sim:SOCKET]\n"
        "                       [--db CONNINFO [--host NAME]]\n"
        "                       [--format table|csv|jsonl]\n"
        USAGE_SHIP_HELP
        "       xenos-usage --version | --help\n"
        "T: unix seconds or ISO-8601 UTC (2026-11-01T00:00:00Z); a record\n"
        "counts in [from, to) by its interval's start.\n"
        "reconcile: the ledger (DIR/usage) against the checkpoint\n"
        "(DIR/checkpoint; DIR: /var/lib/xenos), and that against the\n"
        "simulated host's ground truth and (--counters) against the\n"
        "host's counters now, within what ran since its last sample, and\n"
        "(--db) the ledger against\n"
        "the billing database (host NAME, default the ledger's) record by\n"
        "record and in totals; a line per difference.\n"
        "Exit: 0 whole (reconcile: they agree), 1 damage reported (good\n"
        "records still used; reconcile: a difference), 2 error.\n");
    return 0;
}

static const struct option long_opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "by", required_argument, NULL, 'b' },
    { "from", required_argument, NULL, 'F' },
    { "to", required_argument, NULL, 'T' },
    { "state-dir", required_argument, NULL, 'S' },
    { "ledger", required_argument, NULL, 'L' },
    { "checkpoint", required_argument, NULL, 'C' },
    { "sim-host", required_argument, NULL, 'H' },
    { "db", required_argument, NULL, 'D' },
    { "host", required_argument, NULL, 'N' },
    { "counters", required_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, CLI_OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
    struct ctx c = { .fmt = FMT_TABLE, .to_ns = UINT64_MAX };
    uint32_t all = (1u << EXP_USAGE_NR_COUNTERS) - 1;
    struct rc_opts ro = { .state_dir = RECONCILE_STATE_DIR_DEFAULT };
    bool sum, by_set = false, rc_set = false;
    int opt, i, rc, status = 0;

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
            else if ( !strcmp(optarg, "jsonl") )
                c.fmt = FMT_JSONL;
            else
                return cli_usage_error("xenos-usage", "--format: table, csv, "
                                       "json or jsonl, not '%s'", optarg);
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
        case 'S':
        case 'L':
        case 'C':
        case 'H':
        case 'D':
        case 'N':
        case 'V':
            rc_set = true;
            *(opt == 'S' ? &ro.state_dir : opt == 'L' ? &ro.ledger_dir
              : opt == 'C' ? &ro.checkpoint : opt == 'H' ? &ro.sim_host
              : opt == 'D' ? &ro.db : opt == 'N' ? &ro.host
              : &ro.counters) = optarg;
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
        return cli_usage_error("xenos-usage", "no command (dump, sum, "
                               "reconcile or ship)");
    if ( !strcmp(argv[optind], "reconcile") )
    {
        if ( by_set || c.from_ns || c.to_ns != UINT64_MAX )
            return cli_usage_error("xenos-usage", "--by, --from and --to "
                                   "are for sum, not reconcile");
        if ( c.fmt == FMT_JSON )
            return cli_usage_error("xenos-usage", "reconcile: --format "
                                   "table, csv or jsonl");
        if ( optind + 1 < argc )
            return cli_usage_error("xenos-usage", "reconcile reads no "
                                   "FILES ('%s'): --ledger DIR",
                                   argv[optind + 1]);
        if ( ro.host && !ro.db )
            return cli_usage_error("xenos-usage", "reconcile: --host names "
                                   "the host in --db's database");
        status = reconcile(c.fmt, &ro);
        if ( fflush(stdout) || ferror(stdout) )
        {
            fprintf(stderr, "xenos-usage: writing the output failed\n");
            return 2;
        }
        return status;
    }
    if ( rc_set )
        return cli_usage_error("xenos-usage", "--state-dir, --ledger, "
                               "--checkpoint, --sim-host, --counters, --db "
                               "and --host are for reconcile");
    if ( !strcmp(argv[optind], "ship") )
        return cli_usage_error("xenos-usage", "'ship' takes its own options: "
                               "xenos-usage ship [OPTION]... DIR");
    if ( strcmp(argv[optind], "dump") && strcmp(argv[optind], "sum") )
        return cli_usage_error("xenos-usage", "unknown command '%s' (dump, "
                               "sum, reconcile or ship)", argv[optind]);
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
    exp_usage_src_init(&c.sum, "ledger", all);
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
    if ( sum && sum_print(&c) )
    {
        fprintf(stderr, "xenos-usage: %s\n", strerror(ENOMEM));
        status = 2;
    }
    else if ( c.fmt == FMT_JSON )
        fputs("\n]\n", stdout);
    exp_usage_src_deinit(&c.sum);
    if ( fflush(stdout) || ferror(stdout) )
    {
        fprintf(stderr, "xenos-usage: writing the output failed\n");
        return 2;
    }
    return status;
}
