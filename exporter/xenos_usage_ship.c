/*
 * xenos_usage_ship.c: `xenos-usage ship`, the usage ledger of one host
 * loaded into PostgreSQL, exactly once (docs/fleet.md).
 *
 *   xenos-usage ship --db CONNINFO [--follow] [--batch N] [--poll-ms N]
 *                    [--retry-s N] DIR
 *   xenos-usage ship --db CONNINFO --verify DIR
 *   xenos-usage ship --schema
 *
 * Design.  The database holds the shipped position: xenos_ship_position
 * has one row per host, the next sequence number to ship.  A batch is one
 * transaction that locks that row (SELECT ... FOR UPDATE), checks it is
 * the batch's first seq, COPYs the records into xenos_usage (primary key
 * (host, seq)) and moves the position past them; the rows and the
 * position commit together or not at all.  So a crash of the shipper (at
 * any instruction), of PostgreSQL or of the link only ever loses an
 * uncommitted transaction, and the next run starts at the committed
 * position: no record twice, none skipped.  Nothing is kept on the
 * shipper's side, so any copy of the shipper on any machine may resume a
 * host, and two at once serialise on the row lock.
 *
 * What is shipped: every whole record (good CRC) of a file the shipper
 * has read and then fsynced itself.  A record on disk never changes (the
 * writer fsyncs before it moves on, and recovery keeps what is on disk:
 * docs/usage-format.md, Durability); only one written but not yet synced
 * could be taken back by a crash of the host and come again with other
 * content, and the shipper's fsync closes that window without waiting
 * for usage.state, which xenosd saves only every 60 intervals.  Records
 * are taken in seq order from 1; a seq the ledger lacks (a damaged record)
 * stops the shipping with an error naming it, rather than skipping it.
 * A row already under a record's key is compared column by column: equal
 * is counted as already there, different is an error naming host and seq.
 *
 * Errors of the link or of the server going away (SQLSTATE classes 08,
 * 53, 57, 40, or a connection found dead) are retried: reconnect with
 * backoff (0.1 s doubling to 5 s), for --retry-s at most (default 60 s
 * once, forever with --follow).  Any other database error is fatal.
 *
 * Single-threaded; SIGTERM and SIGINT end --follow between transactions.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <xenos/cli.h>
#include <xenos/text.h>

#include "usage_impl.h"
#include "xenos_usage_ship.h"

#define PROG                "xenos-usage"
#define SHIP_BATCH_DEFAULT  1000
#define SHIP_POLL_MS        1000
#define SHIP_RETRY_S_ONCE   60
#define SHIP_BACKOFF_MIN_MS 100
#define SHIP_BACKOFF_MAX_MS 5000
/* pg_advisory_xact_lock key of the schema's creation: "xenosusg". */
#define SHIP_SCHEMA_LOCK    "8675309766935404"

/*
 * The columns of xenos_usage, in the order of COPY: name, SQL type, and
 * the record's value (a uint64 or uint32 field, a string, a bool).  The
 * table, the COPY, the comparison and --schema all come from this list.
 */
#define SHIP_COLUMNS(X)                                                  \
    X(host, "text NOT NULL")                                             \
    X(seq, "bigint NOT NULL")                                            \
    X(tenant, "text NOT NULL")                                           \
    X(uuid, "text NOT NULL")                                             \
    X(name, "text NOT NULL")                                             \
    X(start_unix_ns, "bigint NOT NULL")                                  \
    X(end_unix_ns, "bigint NOT NULL")                                    \
    X(cpu_ns, "bigint NOT NULL")                                         \
    X(vcpus, "integer NOT NULL")                                         \
    X(memory_byte_seconds, "bigint NOT NULL")                            \
    X(mem_max_bytes, "bigint NOT NULL")                                  \
    X(vbd_read_bytes, "bigint NOT NULL")                                 \
    X(vbd_write_bytes, "bigint NOT NULL")                                \
    X(vbd_read_ops, "bigint NOT NULL")                                   \
    X(vbd_write_ops, "bigint NOT NULL")                                  \
    X(vif_rx_bytes, "bigint NOT NULL")                                   \
    X(vif_tx_bytes, "bigint NOT NULL")                                   \
    X(weight, "integer NOT NULL")                                        \
    X(cap_pct, "integer NOT NULL")                                       \
    X(span_start_unix_ns, "bigint")                                      \
    X(span_end_unix_ns, "bigint")                                        \
    X(sched_stats, "boolean NOT NULL")                                   \
    X(wait_ns, "bigint")                                                 \
    X(throttled_ns, "bigint")                                            \
    X(peak_window_pct, "integer")

enum {
#define X(n, t) COL_##n,
    SHIP_COLUMNS(X)
#undef X
    NR_COLS
};

static const char *const col_name[NR_COLS] = {
#define X(n, t) #n,
    SHIP_COLUMNS(X)
#undef X
};

static const char *const col_type[NR_COLS] = {
#define X(n, t) t,
    SHIP_COLUMNS(X)
#undef X
};

/* The views: a record counts wholly in the hour (month) its interval
 * starts in, as `xenos-usage sum --from/--to` counts it, so hours tile
 * the months and each record is counted once (docs/fleet.md). */
#define SHIP_VIEW_SUMS                                                   \
    "count(*) AS records, count(DISTINCT uuid) AS domains, "            \
    "count(DISTINCT host) AS hosts, sum(cpu_ns) AS cpu_ns, "            \
    "sum(memory_byte_seconds) AS memory_byte_seconds, "                 \
    "sum(vbd_read_bytes) AS vbd_read_bytes, "                           \
    "sum(vbd_write_bytes) AS vbd_write_bytes, "                         \
    "sum(vbd_read_ops) AS vbd_read_ops, "                               \
    "sum(vbd_write_ops) AS vbd_write_ops, "                             \
    "sum(vif_rx_bytes) AS vif_rx_bytes, sum(vif_tx_bytes) AS vif_tx_bytes, " \
    "sum(wait_ns) AS wait_ns, sum(throttled_ns) AS throttled_ns, "      \
    "max(peak_window_pct) AS peak_window_pct, "                         \
    "count(*) FILTER (WHERE sched_stats) AS sched_stats_records "
#define SHIP_VIEW(name, unit)                                            \
    "CREATE OR REPLACE VIEW " name " AS SELECT tenant, date_trunc('"     \
    unit "', timestamp 'epoch' + (start_unix_ns / 1000000000) * "       \
    "interval '1 second') AS " unit ", " SHIP_VIEW_SUMS                  \
    "FROM xenos_usage GROUP BY 1, 2;\n"

static const char ship_schema_tail[] =
    "CREATE TABLE IF NOT EXISTS xenos_ship_position (\n"
    "    host text PRIMARY KEY,\n"
    "    next_seq bigint NOT NULL,\n"
    "    updated_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS xenos_usage_tenant_start\n"
    "    ON xenos_usage (tenant, start_unix_ns);\n"
    SHIP_VIEW("xenos_usage_tenant_hourly", "hour")
    SHIP_VIEW("xenos_usage_tenant_monthly", "month");

/* One record's column values as PostgreSQL prints them, NUL-separated in
 * buf; off[c] == UINT32_MAX is NULL. */
struct ship_rec {
    uint64_t seq;
    char *buf;
    uint32_t off[NR_COLS];
};

struct ship {
    const char *dir, *conninfo;
    bool follow, verify;
    uint32_t batch, poll_ms, retry_s;
    PGconn *db;
    char *host;                         /* of the ledger's records */
    uint64_t pos;                       /* the database's next seq */
    uint64_t limit;                     /* stop the scan at this seq */
    char cursor[USAGE_NAME_LEN];        /* file to start scanning at */
    /* the scan of one file */
    const char *file;
    uint64_t want;                      /* next seq expected */
    bool stop;                          /* reached limit */
    bool any_start;                     /* take the first seq there is */
    bool again;                         /* the position moved under us */
    /* Is this ledger the one the database's rows came from?  Checked once
     * (the first cycle, which reads every file): the record just below
     * the position against its row, and the ledger not ending below it. */
    bool anchored;
    bool have_anchor;
    struct ship_rec anchor;             /* seq pos - 1, from the ledger */
    uint64_t seen_max;                  /* the last seq the scan met */
    struct ship_rec *recs;
    size_t nr, cap;
    struct txt_buf line;
    char err[512];                      /* a fatal error, said once */
    /* figures */
    uint64_t shipped, present, txs;
    uint64_t v_equal, v_differ, v_missing;
};

#define SCAN_STOP   1                   /* on_rec: limit reached */

static volatile sig_atomic_t ship_quit;

static void on_quit(int sig)
{
    (void)sig;
    ship_quit = 1;
}

static void fatal(struct ship *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fatal(struct ship *c, const char *fmt, ...)
{
    va_list ap;

    if ( c->err[0] )
        return;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static void rec_free_all(struct ship *c)
{
    size_t i;

    for ( i = 0; i < c->nr; i++ )
        free(c->recs[i].buf);
    c->nr = 0;
}

static const char *rec_col(const struct ship_rec *r, int col)
{
    return r->off[col] == UINT32_MAX ? NULL : r->buf + r->off[col];
}

/* @d's bytes as valid UTF-8 (each byte of a bad sequence as U+FFFD, as
 * the other outputs do; a NUL ends it: names never hold one). */
static void put_utf8(struct txt_buf *b, const uint8_t *d, size_t len)
{
    char tmp[5];
    size_t i = 0;

    while ( i < len && d[i] )
    {
        uint32_t cp;
        size_t n, k;

        /* txt_utf8_next reads a NUL-terminated string: give it one. */
        for ( k = 0; k < 4 && i + k < len; k++ )
            tmp[k] = (char)d[i + k];
        tmp[k] = '\0';
        n = txt_utf8_next(tmp, &cp);
        if ( n )
            txt_put(b, (const char *)d + i, n);
        else
            txt_put(b, "\xef\xbf\xbd", 3);
        i += n ? n : 1;
    }
}

/* A record's columns into @r.  0, -ENOMEM, or -ERANGE with c->err said
 * (a value that does not fit PostgreSQL's bigint). */
static int rec_fill(struct ship *c, struct ship_rec *r,
                    const Xenos__UsageRecord *m)
{
    struct txt_buf b;
    uint64_t u[NR_COLS];
    bool have[NR_COLS] = { false };
    int i;

    txt_buf_init(&b);
#define U(col, v) (u[COL_##col] = (v), have[COL_##col] = true)
    U(seq, m->seq);
    U(start_unix_ns, m->start_unix_ns);
    U(end_unix_ns, m->end_unix_ns);
    U(vcpus, m->vcpus);
#define X(f) U(f, m->f);
    USAGE_FIELDS(X)
#undef X
    U(mem_max_bytes, m->mem_max_bytes);
    U(weight, m->weight);
    U(cap_pct, m->cap_pct);
    /* A writer from before fields 20-25 left the span zero: unknown. */
    if ( m->span_end_unix_ns )
    {
        U(span_start_unix_ns, m->span_start_unix_ns);
        U(span_end_unix_ns, m->span_end_unix_ns);
    }
    if ( m->sched_stats )
    {
        U(wait_ns, m->wait_ns);
        U(throttled_ns, m->throttled_ns);
        U(peak_window_pct, m->peak_window_pct);
    }
#undef U
    for ( i = 0; i < NR_COLS; i++ )
    {
        r->off[i] = (uint32_t)b.len;
        switch ( i )
        {
        case COL_host:
            txt_puts(&b, m->host);
            break;
        case COL_tenant:
            put_utf8(&b, m->tenant.data, m->tenant.len);
            break;
        case COL_uuid:
            txt_puts(&b, m->uuid);
            break;
        case COL_name:
            put_utf8(&b, m->name.data, m->name.len);
            break;
        case COL_sched_stats:
            txt_putc(&b, m->sched_stats ? 't' : 'f');
            break;
        default:
            if ( !have[i] )
            {
                r->off[i] = UINT32_MAX;
                continue;
            }
            if ( u[i] > INT64_MAX )
            {
                txt_buf_free(&b);
                fatal(c, "%s/%s: host %s seq %" PRIu64 ": %s = %" PRIu64
                      " does not fit PostgreSQL's bigint", c->dir, c->file,
                      m->host, m->seq, col_name[i], u[i]);
                return -ERANGE;
            }
            txt_put_u64(&b, u[i]);
        }
        txt_putc(&b, '\0');
    }
    if ( b.oom )
    {
        txt_buf_free(&b);
        return -ENOMEM;
    }
    r->seq = m->seq;
    r->buf = b.p;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The ledger                                                          */

/* The ledger files of @dir, sorted (names sort in time and seq order):
 * *@names (free_names), their number or -errno. */
static int list_files(const char *dir, char ***names)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;
    size_t n;

    if ( fd < 0 )
        return -errno;
    rc = exp_usage_files(fd, names, &n);
    close(fd);
    return rc ? rc : (int)n;
}

static void free_names(char **v, int n)
{
    exp_usage_files_free(v, (size_t)n);
}

/* scan: take the records from c->want up to c->limit, in order. */
static int collect_rec(void *ctx, const Xenos__UsageRecord *m, uint64_t off)
{
    struct ship *c = ctx;
    struct ship_rec *r;
    int rc;

    (void)off;
    if ( !c->host && !(c->host = strdup(m->host)) )
        return -ENOMEM;
    if ( strcmp(m->host, c->host) )
    {
        fatal(c, "%s/%s: seq %" PRIu64 " is of host '%s', not '%s': one "
              "ledger directory is one host's", c->dir, c->file, m->seq,
              m->host, c->host);
        return -EBADMSG;
    }
    if ( m->seq > c->seen_max )
        c->seen_max = m->seq;
    if ( !c->anchored && !c->have_anchor && c->pos > 1 &&
         m->seq == c->pos - 1 )
    {
        if ( (rc = rec_fill(c, &c->anchor, m)) )
            return rc;
        c->have_anchor = true;
    }
    if ( m->seq < c->want )
        return 0;                       /* shipped already */
    if ( c->any_start )
    {
        c->want = m->seq;               /* --verify: from the first there */
        c->any_start = false;
    }
    if ( m->seq >= c->limit )
    {
        c->stop = true;
        return SCAN_STOP;
    }
    if ( m->seq != c->want )
    {
        fatal(c, "host %s: seq %" PRIu64 " is missing from %s (the next "
              "record there is seq %" PRIu64 ", in %s): not shipping past "
              "it", c->host, c->want, c->dir, m->seq, c->file);
        return -EBADMSG;
    }
    if ( c->nr == c->cap )
    {
        size_t cap = c->cap ? c->cap * 2 : 1024;

        r = realloc(c->recs, cap * sizeof(*r));
        if ( !r )
            return -ENOMEM;
        c->recs = r;
        c->cap = cap;
    }
    rc = rec_fill(c, &c->recs[c->nr], m);
    if ( rc )
        return rc;
    c->nr++;
    c->want++;
    return 0;
}

/* Damage: a torn tail of a file being written is normal; a record lost
 * in the middle shows as a missing seq, which collect_rec refuses. */
static void collect_damage(void *ctx, uint64_t off, uint64_t len,
                           const char *why)
{
    (void)ctx;
    (void)off;
    (void)len;
    (void)why;
}

/* The records of @name from c->want on into c->recs.  0, SCAN_STOP
 * (c->limit reached), or -errno (c->err said for a bad ledger). */
static int scan_file(struct ship *c, const char *name)
{
    struct usage_scan sc = { .on_rec = collect_rec,
                             .damage = collect_damage, .ctx = c };
    char path[4096];
    uint8_t *buf;
    size_t len;
    int fd, rc;

    c->file = name;
    if ( snprintf(path, sizeof(path), "%s/%s", c->dir, name) >=
         (int)sizeof(path) )
        return -ENAMETOOLONG;
    /* A file gone since the listing has no record to give: a record of
     * it that is wanted shows as a seq missing from the next file.  (Not
     * an error here: ship_cycle takes -ENOENT for "no record yet".) */
    rc = usage_slurp(path, &buf, &len);
    if ( rc == -ENOENT )
        return 0;
    if ( rc )
    {
        fatal(c, "%s: %s", path, strerror(-rc));
        return rc;
    }
    /* What was read is on disk once this returns, so it is final: only a
     * record the writer had not fsynced yet could still change (a host
     * crash takes it back, and it comes again over a longer interval). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if ( fd < 0 || fsync(fd) )
    {
        rc = -errno;
        if ( fd >= 0 )
            close(fd);
        free(buf);
        if ( rc == -ENOENT )
            return 0;
        fatal(c, "%s: fsync: %s", path, strerror(-rc));
        return rc;
    }
    close(fd);
    sc.b = buf;
    sc.n = len;
    rc = usage_scan_file(&sc);
    if ( sc.hdr )
        xenos__usage_file_header__free_unpacked(sc.hdr, NULL);
    free(buf);
    return rc == -EBADMSG && !c->err[0] ? 0 : rc;
}

/* ------------------------------------------------------------------ */
/* The database                                                        */

/* Is the failure of @res (may be NULL) worth a reconnect? */
static bool db_transient(struct ship *c, const PGresult *res)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                         : NULL;

    if ( PQstatus(c->db) != CONNECTION_OK || !res )
        return true;
    if ( !st )                          /* libpq's own error: the link */
        return PQresultStatus(res) == PGRES_FATAL_ERROR;
    return !strncmp(st, "08", 2) || !strncmp(st, "53", 2) ||
           !strncmp(st, "57", 2) || !strncmp(st, "40", 2);
}

/* @res's status is not @want: -ECONNRESET (retry) or -EIO (c->err said,
 * naming @what).  Clears @res. */
static int db_fail(struct ship *c, PGresult *res, const char *what)
{
    bool again = db_transient(c, res);
    const char *msg = res ? PQresultErrorMessage(res) : "";

    if ( !msg[0] )
        msg = PQerrorMessage(c->db);
    if ( !msg[0] && res )
        msg = PQresStatus(PQresultStatus(res));
    if ( again )
        fprintf(stderr, PROG ": ship: database: %s: %s", what,
                msg[0] ? msg : "connection lost\n");
    else
        fatal(c, "database: %s: %s", what, msg);
    PQclear(res);
    return again ? -ECONNRESET : -EIO;
}

/* Run @sql with @n text @params; the result if its status is @want, else
 * NULL and *@rc set as db_fail. */
static PGresult *db_exec(struct ship *c, const char *sql, int n,
                         const char *const *params, ExecStatusType want,
                         int *rc)
{
    PGresult *res = PQexecParams(c->db, sql, n, NULL, params, NULL, NULL, 0);

    if ( res && PQresultStatus(res) == want )
        return res;
    *rc = db_fail(c, res, sql);
    return NULL;
}

static int db_cmd(struct ship *c, const char *sql)
{
    int rc = 0;
    PGresult *res = db_exec(c, sql, 0, NULL, PGRES_COMMAND_OK, &rc);

    PQclear(res);
    return rc;
}

static void db_rollback(struct ship *c)
{
    PQclear(PQexec(c->db, "ROLLBACK"));
}

/* The whole schema, as --schema prints it and db_schema runs it. */
static int schema_sql(struct txt_buf *b)
{
    int i;

    txt_puts(b, "CREATE TABLE IF NOT EXISTS xenos_usage (\n");
    for ( i = 0; i < NR_COLS; i++ )
    {
        txt_puts(b, "    ");
        txt_puts(b, col_name[i]);
        txt_putc(b, ' ');
        txt_puts(b, col_type[i]);
        txt_puts(b, ",\n");
    }
    txt_puts(b, "    shipped_at timestamptz NOT NULL DEFAULT now(),\n"
                "    PRIMARY KEY (host, seq)\n);\n");
    txt_puts(b, ship_schema_tail);
    txt_putc(b, '\0');
    return b->oom ? -ENOMEM : 0;
}

/* Create what is missing, once among shippers starting together (an
 * advisory lock: concurrent CREATE ... IF NOT EXISTS can still collide).
 * A schema made beforehand by an administrator is left as it is, so a
 * shipper's role needs no CREATE right. */
static int db_schema(struct ship *c)
{
    struct txt_buf b;
    PGresult *res;
    bool have;
    int rc = 0;

    res = db_exec(c, "SELECT to_regclass('xenos_usage_tenant_monthly') "
                  "IS NOT NULL", 0, NULL, PGRES_TUPLES_OK, &rc);
    if ( !res )
        return rc;
    have = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if ( have )
        return 0;
    txt_buf_init(&b);
    if ( schema_sql(&b) )
    {
        txt_buf_free(&b);
        return -ENOMEM;
    }
    if ( !(rc = db_cmd(c, "BEGIN")) &&
         (res = db_exec(c, "SELECT pg_advisory_xact_lock(" SHIP_SCHEMA_LOCK
                        ")", 0, NULL, PGRES_TUPLES_OK, &rc)) )
    {
        PQclear(res);
        /* a shipper that waited for the lock finds it all made: quietly */
        res = PQexec(c->db, "SET LOCAL client_min_messages = warning");
        PQclear(res);
        res = PQexec(c->db, b.p);
        if ( PQresultStatus(res) != PGRES_COMMAND_OK )
            rc = db_fail(c, res, "creating the schema");
        else
        {
            PQclear(res);
            rc = db_cmd(c, "COMMIT");
        }
    }
    if ( rc )
        db_rollback(c);
    txt_buf_free(&b);
    return rc;
}

static int db_connect(struct ship *c)
{
    c->db = PQconnectdb(c->conninfo);
    if ( !c->db )
        return -ENOMEM;
    if ( PQstatus(c->db) != CONNECTION_OK )
    {
        fprintf(stderr, PROG ": ship: database: %s", PQerrorMessage(c->db));
        return -ECONNRESET;
    }
    if ( PQsetClientEncoding(c->db, "UTF8") )
        return db_fail(c, NULL, "client_encoding UTF8");
    return db_schema(c);
}

static void db_close(struct ship *c)
{
    PQfinish(c->db);
    c->db = NULL;
}

/* The host's position (its row made if new: 1) into c->pos. */
static int db_position(struct ship *c)
{
    const char *p[] = { c->host };
    PGresult *res;
    int rc = 0;

    res = db_exec(c, "INSERT INTO xenos_ship_position (host, next_seq) "
                  "VALUES ($1, 1) ON CONFLICT (host) DO NOTHING", 1, p,
                  PGRES_COMMAND_OK, &rc);
    if ( !res )
        return rc;
    PQclear(res);
    res = db_exec(c, "SELECT next_seq FROM xenos_ship_position WHERE "
                  "host = $1", 1, p, PGRES_TUPLES_OK, &rc);
    if ( !res )
        return rc;
    if ( PQntuples(res) != 1 )
    {
        /* deleted between the two statements: made again next cycle */
        PQclear(res);
        return -EAGAIN;
    }
    c->pos = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static const char *select_cols(void)
{
    static char sql[1024];
    size_t n = 0;
    int i;

    if ( sql[0] )
        return sql;
    for ( i = 0; i < NR_COLS; i++ )
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s",
                              i ? ", " : "", col_name[i]);
    return sql;
}

/*
 * Compare the rows the database has for recs[0..n) (seq consecutive)
 * with them: present[i] set for an equal row.  With @differ NULL a
 * different row is fatal (c->err names host, seq and column); else it is
 * counted there and said on stderr.  0 or an error as db_fail.
 */
static int db_compare(struct ship *c, const struct ship_rec *recs, size_t n,
                      bool *present, uint64_t *differ)
{
    char lo[24], hi[24], sql[1536];
    const char *p[] = { c->host, lo, hi };
    PGresult *res;
    int rc = 0, row, i;

    snprintf(lo, sizeof(lo), "%" PRIu64, recs[0].seq);
    snprintf(hi, sizeof(hi), "%" PRIu64, recs[n - 1].seq);
    snprintf(sql, sizeof(sql), "SELECT %s FROM xenos_usage WHERE host = $1 "
             "AND seq BETWEEN $2 AND $3", select_cols());
    res = db_exec(c, sql, 3, p, PGRES_TUPLES_OK, &rc);
    if ( !res )
        return rc;
    for ( row = 0; row < PQntuples(res); row++ )
    {
        uint64_t seq = strtoull(PQgetvalue(res, row, COL_seq), NULL, 10);
        const struct ship_rec *r = &recs[seq - recs[0].seq];

        for ( i = 0; i < NR_COLS; i++ )
        {
            const char *want = rec_col(r, i);
            bool null = PQgetisnull(res, row, i);

            if ( null == !want &&
                 (null || !strcmp(want, PQgetvalue(res, row, i))) )
                continue;
            if ( differ )
            {
                (*differ)++;
                fprintf(stderr, PROG ": ship: host %s seq %" PRIu64 ": the "
                        "database's %s is '%s', the ledger's '%s'\n",
                        c->host, seq, col_name[i],
                        null ? "NULL" : PQgetvalue(res, row, i),
                        want ? want : "NULL");
            }
            else
                fatal(c, "host %s seq %" PRIu64 ": already in the database "
                      "with other content (%s: '%s' there, '%s' in the "
                      "ledger)", c->host, seq, col_name[i],
                      null ? "NULL" : PQgetvalue(res, row, i),
                      want ? want : "NULL");
            break;
        }
        if ( i < NR_COLS && !differ )
        {
            PQclear(res);
            return -EEXIST;
        }
        present[seq - recs[0].seq] = i == NR_COLS;
    }
    PQclear(res);
    return 0;
}

/*
 * Is the ledger the one the database's rows of this host came from?  A
 * host reinstalled under the same name starts a new ledger at seq 1: its
 * records below the position would pass for shipped, and be lost.  So the
 * ledger's record just below the position must equal its row (a row gone
 * from the database, pruned, cannot be checked and is passed over), and
 * the ledger must not end below it (ship_cycle).  0, or -EEXIST with the
 * error said.
 */
static int anchor_check(struct ship *c)
{
    uint64_t differ = 0;
    bool present = false;
    int rc;

    rc = db_compare(c, &c->anchor, 1, &present, &differ);
    if ( !rc && differ )
    {
        fatal(c, "host %s seq %" PRIu64 ": the ledger's record differs from "
              "the database's row: this ledger is not the one the database "
              "has shipped from (a host reinstalled under the same name?); "
              "not shipping", c->host, c->anchor.seq);
        rc = -EEXIST;
    }
    free(c->anchor.buf);
    c->anchor.buf = NULL;
    c->have_anchor = false;
    return rc;
}

/* One record as a line of COPY's text format into c->line. */
static void copy_line(struct ship *c, const struct ship_rec *r)
{
    int i;

    for ( i = 0; i < NR_COLS; i++ )
    {
        const char *s = rec_col(r, i);

        if ( i )
            txt_putc(&c->line, '\t');
        if ( !s )
        {
            txt_puts(&c->line, "\\N");
            continue;
        }
        for ( ; *s; s++ )
        {
            switch ( *s )
            {
            case '\\': txt_puts(&c->line, "\\\\"); break;
            case '\n': txt_puts(&c->line, "\\n"); break;
            case '\r': txt_puts(&c->line, "\\r"); break;
            case '\t': txt_puts(&c->line, "\\t"); break;
            default: txt_putc(&c->line, *s);
            }
        }
    }
    txt_putc(&c->line, '\n');
}

/*
 * Ship recs[0..n) (seq consecutive from c->pos) in one transaction.  0
 * (c->pos past them), -EAGAIN (another shipper moved the position: read
 * it again), -ECONNRESET (retry), -EEXIST/-EIO (fatal, c->err said).
 */
static int ship_tx(struct ship *c, const struct ship_rec *recs, size_t n)
{
    char next[24], sql[1536];
    const char *p[] = { c->host, next };
    bool *present = calloc(n, sizeof(*present));
    PGresult *res;
    size_t i, fresh = 0;
    int rc = 0;

    if ( !present )
        return -ENOMEM;
    if ( (rc = db_cmd(c, "BEGIN")) )
        goto out;
    res = db_exec(c, "SELECT next_seq FROM xenos_ship_position WHERE "
                  "host = $1 FOR UPDATE", 1, p, PGRES_TUPLES_OK, &rc);
    if ( !res )
        goto out_rollback;
    if ( PQntuples(res) != 1 ||
         strtoull(PQgetvalue(res, 0, 0), NULL, 10) != recs[0].seq )
    {
        PQclear(res);
        rc = -EAGAIN;
        goto out_rollback;
    }
    PQclear(res);
    if ( (rc = db_compare(c, recs, n, present, NULL)) )
        goto out_rollback;
    txt_buf_reset(&c->line);
    for ( i = 0; i < n; i++ )
        if ( !present[i] )
        {
            copy_line(c, &recs[i]);
            fresh++;
        }
    if ( c->line.oom )
    {
        rc = -ENOMEM;
        goto out_rollback;
    }
    if ( fresh )
    {
        snprintf(sql, sizeof(sql), "COPY xenos_usage (%s) FROM STDIN",
                 select_cols());
        res = db_exec(c, sql, 0, NULL, PGRES_COPY_IN, &rc);
        if ( !res )
            goto out_rollback;
        PQclear(res);
        if ( PQputCopyData(c->db, c->line.p, (int)c->line.len) != 1 ||
             PQputCopyEnd(c->db, NULL) != 1 )
        {
            rc = db_fail(c, NULL, "COPY");
            goto out_rollback;
        }
        res = PQgetResult(c->db);
        if ( PQresultStatus(res) != PGRES_COMMAND_OK )
        {
            rc = db_fail(c, res, "COPY");
            while ( (res = PQgetResult(c->db)) )
                PQclear(res);
            goto out_rollback;
        }
        PQclear(res);
        while ( (res = PQgetResult(c->db)) )
            PQclear(res);
    }
    snprintf(next, sizeof(next), "%" PRIu64, recs[n - 1].seq + 1);
    res = db_exec(c, "UPDATE xenos_ship_position SET next_seq = $2, "
                  "updated_at = now() WHERE host = $1", 2, p,
                  PGRES_COMMAND_OK, &rc);
    if ( !res )
        goto out_rollback;
    PQclear(res);
    /* A COMMIT whose answer is lost may have committed or not: either
     * way the position read afresh after the reconnect tells. */
    if ( (rc = db_cmd(c, "COMMIT")) )
        goto out;
    c->pos = recs[n - 1].seq + 1;
    c->shipped += fresh;
    c->present += n - fresh;
    c->txs++;
    goto out;

out_rollback:
    if ( PQstatus(c->db) == CONNECTION_OK )
        db_rollback(c);
out:
    free(present);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Cycles                                                              */

/* The ledger's host (its first record's) into c->host: 0, -ENOENT (no
 * record yet) or an error. */
static int find_host(struct ship *c, char **names, int nr)
{
    int i, rc;

    c->want = 0;
    c->limit = 0;                       /* stop at the first record */
    for ( i = 0; i < nr && !c->host; i++ )
    {
        rc = scan_file(c, names[i]);
        if ( rc < 0 )
            return rc;
    }
    return c->host ? 0 : -ENOENT;
}

/*
 * Ship what is settled, from the database's position on.  Returns the
 * number of records newly settled in the database (shipped or found
 * there), or an error as ship_tx.
 */
static int ship_cycle(struct ship *c)
{
    char **names;
    uint64_t done = 0;
    bool first;
    int nr, i, rc;

    nr = list_files(c->dir, &names);
    /* --follow may start before xenosd has made its ledger directory */
    if ( nr == -ENOENT && c->follow )
        return 0;
    if ( nr < 0 )
    {
        fatal(c, "%s: %s", c->dir, strerror(-nr));
        return nr;
    }
    rc = c->host ? 0 : find_host(c, names, nr);
    if ( !rc )
        rc = db_position(c);
    c->limit = UINT64_MAX;
    c->stop = false;
    c->want = c->pos;
    first = !c->anchored && !c->cursor[0];
    c->seen_max = 0;
    for ( i = 0; !rc && i < nr && !c->stop; i++ )
    {
        size_t k, n;

        if ( strcmp(names[i], c->cursor) < 0 )
            continue;
        rec_free_all(c);
        rc = scan_file(c, names[i]);
        if ( rc < 0 )
            break;
        if ( c->have_anchor && (rc = anchor_check(c)) )
            break;
        for ( k = 0; k < c->nr && !ship_quit; k += n )
        {
            n = c->nr - k < c->batch ? c->nr - k : c->batch;
            if ( (rc = ship_tx(c, &c->recs[k], n)) )
                break;
            done += n;
            snprintf(c->cursor, sizeof(c->cursor), "%s", names[i]);
        }
        if ( ship_quit )
            break;
    }
    if ( rc == SCAN_STOP || rc == -ENOENT )
        rc = 0;
    if ( !rc && first && !ship_quit )
    {
        /* A ledger ending below the position has nothing to ship, and
         * would say nothing of having lost what the database holds. */
        if ( c->pos > 1 && c->seen_max && c->seen_max < c->pos - 1 )
        {
            fatal(c, "host %s: the ledger %s ends at seq %" PRIu64 " but the "
                  "database has shipped up to seq %" PRIu64 ": this ledger "
                  "is not the one the database has shipped from (a host "
                  "reinstalled under the same name, or an old copy?); not "
                  "shipping", c->host, c->dir, c->seen_max, c->pos - 1);
            rc = -EEXIST;
        }
        else
            c->anchored = true;
    }
    if ( rc == -EAGAIN )
    {
        c->cursor[0] = '\0';            /* another shipper: start over */
        c->again = true;
        rc = 0;
    }
    c->stop = false;
    rec_free_all(c);
    free_names(names, nr);
    return rc ? rc : (int)(done > INT32_MAX ? INT32_MAX : done);
}

/* --verify: every record of the ledger below the position against its
 * row, and no row at or past the position.  0 all equal, 1 a difference,
 * or an error as ship_tx. */
static int verify(struct ship *c)
{
    char **names;
    char buf[24];
    const char *p[] = { c->host, buf };
    uint64_t first = 0, rows;
    PGresult *res;
    int nr, i, rc;

    nr = list_files(c->dir, &names);
    if ( nr < 0 )
    {
        fatal(c, "%s: %s", c->dir, strerror(-nr));
        return nr;
    }
    rc = find_host(c, names, nr);
    if ( rc == -ENOENT )
        fatal(c, "%s: no ledger record to verify", c->dir);
    if ( !rc )
        rc = db_position(c);
    c->stop = false;
    c->any_start = true;
    c->anchored = true;                 /* it compares every record */
    c->limit = c->pos;
    for ( i = 0; !rc && i < nr && !c->stop; i++ )
    {
        bool *present;
        size_t k, n, j;

        rec_free_all(c);
        rc = scan_file(c, names[i]);
        if ( rc < 0 )
            break;
        rc = 0;
        if ( c->nr && !first )
            first = c->recs[0].seq;
        if ( !(present = calloc(c->nr + 1, sizeof(*present))) )
            rc = -ENOMEM;
        for ( k = 0; !rc && k < c->nr; k += n )
        {
            uint64_t differ = c->v_differ, equal = 0;

            n = c->nr - k < c->batch ? c->nr - k : c->batch;
            rc = db_compare(c, &c->recs[k], n, present + k, &c->v_differ);
            for ( j = k; j < k + n; j++ )
                equal += present[j];
            c->v_equal += equal;
            c->v_missing += n - equal - (c->v_differ - differ);
        }
        free(present);
    }
    rec_free_all(c);
    free_names(names, nr);
    if ( rc && rc != SCAN_STOP )
        return rc;
    snprintf(buf, sizeof(buf), "%" PRIu64, c->pos);
    res = db_exec(c, "SELECT count(*) FROM xenos_usage WHERE host = $1 "
                  "AND seq >= $2", 2, p, PGRES_TUPLES_OK, &rc);
    if ( !res )
        return rc;
    rows = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    printf("verify: host %s: position %" PRIu64 "; ledger seq %" PRIu64
           "..%" PRIu64 ": %" PRIu64 " equal in the database, %" PRIu64
           " different, %" PRIu64 " missing; %" PRIu64 " rows at or past "
           "the position\n", c->host, c->pos, first, c->pos - 1,
           c->v_equal, c->v_differ, c->v_missing, rows);
    if ( first > 1 )
        printf("verify: host %s: seq 1..%" PRIu64 " are not in %s: not "
               "verified\n", c->host, first - 1, c->dir);
    return c->v_differ || c->v_missing || rows ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    /* a signal ends the sleep early: ship_quit is then looked at */
    nanosleep(&ts, NULL);
}

static int run(struct ship *c)
{
    uint32_t backoff = SHIP_BACKOFF_MIN_MS;
    uint64_t fail_since = 0;
    int rc;

    while ( !ship_quit )
    {
        rc = c->db ? 0 : db_connect(c);
        if ( !rc )
            rc = c->verify ? verify(c) : ship_cycle(c);
        if ( rc == -ECONNRESET )
        {
            uint64_t t = now_ms();

            db_close(c);
            c->cursor[0] = '\0';
            if ( !fail_since )
                fail_since = t;
            if ( c->retry_s && t - fail_since >= c->retry_s * 1000ull )
            {
                fatal(c, "database: no answer for %" PRIu32 " s (--retry-s)",
                      c->retry_s);
                return 2;
            }
            sleep_ms(backoff);
            backoff = backoff * 2 > SHIP_BACKOFF_MAX_MS ? SHIP_BACKOFF_MAX_MS
                                                        : backoff * 2;
            continue;
        }
        fail_since = 0;
        backoff = SHIP_BACKOFF_MIN_MS;
        if ( c->verify )
            return rc < 0 ? (c->err[0] && rc != -ENOMEM ? 1 : 2) : rc;
        if ( rc < 0 )
            return rc == -EEXIST || rc == -EBADMSG || rc == -ERANGE ? 1 : 2;
        /* once: one pass over the files ships all there is, unless
         * another shipper of this host moved the position meanwhile */
        if ( !c->follow && !c->again )
            return 0;
        c->again = false;
        if ( rc == 0 )
            sleep_ms(c->poll_ms);
    }
    return 0;
}

static int print_schema(void)
{
    struct txt_buf b;
    int rc;

    txt_buf_init(&b);
    rc = schema_sql(&b);
    if ( !rc )
        fputs(b.p, stdout);
    txt_buf_free(&b);
    return rc ? 2 : 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if ( errno || end == s || *end || v < min || v > UINT32_MAX ||
         s[0] == '-' )
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static const struct option ship_opts[] = {
    { "db", required_argument, NULL, 'd' },
    { "follow", no_argument, NULL, 'f' },
    { "verify", no_argument, NULL, 'v' },
    { "batch", required_argument, NULL, 'b' },
    { "poll-ms", required_argument, NULL, 'p' },
    { "retry-s", required_argument, NULL, 'r' },
    { "schema", no_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

int usage_ship_main(int argc, char **argv)
{
    struct ship c = { .batch = SHIP_BATCH_DEFAULT, .poll_ms = SHIP_POLL_MS,
                      .retry_s = UINT32_MAX };
    struct sigaction sa = { .sa_handler = on_quit };
    bool schema = false;
    int opt, status;

    opterr = 0;
    optind = 1;
    while ( (opt = getopt_long(argc, argv, ":h", ship_opts, NULL)) != -1 )
    {
        switch ( opt )
        {
        case 'd':
            c.conninfo = optarg;
            break;
        case 'f':
            c.follow = true;
            break;
        case 'v':
            c.verify = true;
            break;
        case 's':
            schema = true;
            break;
        case 'b':
        case 'p':
        case 'r':
            if ( parse_u32(optarg, opt == 'r' ? 0 : 1,
                           opt == 'b' ? &c.batch : opt == 'p' ? &c.poll_ms
                                                              : &c.retry_s) )
                return cli_usage_error(PROG, "ship: --%s: a whole number "
                                       "%s, not '%s'", opt == 'b' ? "batch"
                                       : opt == 'p' ? "poll-ms" : "retry-s",
                                       opt == 'r' ? ">= 0" : ">= 1", optarg);
            break;
        case 'h':
            /* the help's lines are indented under "usage: " */
            printf("usage: %s", &USAGE_SHIP_HELP[sizeof("usage: ") - 1]);
            return 0;
        default:
            return cli_bad_option(PROG, opt, argv);
        }
    }
    if ( schema )
        return optind < argc || c.conninfo
            ? cli_usage_error(PROG, "ship --schema takes nothing else")
            : print_schema();
    if ( !c.conninfo )
        return cli_usage_error(PROG, "ship needs --db CONNINFO (a libpq "
                               "connection string or URI)");
    if ( optind + 1 != argc )
        return cli_usage_error(PROG, "ship needs one ledger DIR");
    if ( c.verify && c.follow )
        return cli_usage_error(PROG, "ship: --verify and --follow exclude "
                               "each other");
    c.dir = argv[optind];
    if ( c.retry_s == UINT32_MAX )
        c.retry_s = c.follow ? 0 : SHIP_RETRY_S_ONCE;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    txt_buf_init(&c.line);
    status = run(&c);
    if ( c.err[0] )
        fprintf(stderr, PROG ": ship: %s%s", c.err,
                c.err[strlen(c.err) - 1] == '\n' ? "" : "\n");
    if ( !c.verify && c.host )
        printf("ship: host %s: %" PRIu64 " records shipped, %" PRIu64
               " already there, %" PRIu64 " transactions; position %"
               PRIu64 "\n", c.host, c.shipped, c.present, c.txs, c.pos);
    if ( c.db )
        db_close(&c);
    rec_free_all(&c);
    free(c.recs);
    free(c.anchor.buf);
    free(c.host);
    txt_buf_free(&c.line);
    if ( fflush(stdout) )
        return 2;
    return status;
}
