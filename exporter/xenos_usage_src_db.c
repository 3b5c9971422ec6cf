/*
 * xenos_usage_src_db.c: the billing database as a source for xenos-usage
 * reconcile (xenos_usage_src.h): one host's rows of the table that
 * `xenos-usage ship` fills (docs/fleet.md), with libpq.
 *
 * Design.  The rows are streamed in seq order (libpq's single-row mode,
 * so a year of a host is never held at once) and each is added as the
 * ledger's reader adds a record (exp_usage_src_add_rec): the database's
 * totals come from the same arithmetic as the ledger's, so they are equal
 * to the unit or a row differs.  Each row's (host, seq) is kept too, so a
 * row missing or present twice (a schema made without the primary key)
 * can be named.  Read-only: one SELECT of the rows, one of the ship
 * position, in one REPEATABLE READ transaction so both see one moment
 * while shippers go on.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "xenos_usage_src.h"

/* The columns read, in this order: the record's identity, the ledger's
 * counters (EXP_USAGE_COUNTERS: the table's columns carry their names),
 * the contention counters. */
enum {
    DB_SEQ, DB_UUID, DB_NAME, DB_TENANT,
#define X(f) DB_##f,
    EXP_USAGE_COUNTERS(X)
#undef X
    DB_SCHED, DB_WAIT, DB_THROTTLED, DB_PEAK, DB_NR_COLS
};

static const char db_select[] =
    "SELECT seq, uuid, name, tenant"
#define X(f) ", " #f
    EXP_USAGE_COUNTERS(X)
#undef X
    ", sched_stats, wait_ns, throttled_ns, peak_window_pct "
    "FROM xenos_usage WHERE host = $1 ORDER BY seq";

/* Column @col of row 0 of @res as a u64 into *@v: 0, or -ERANGE with @err
 * naming host, seq and column (a value no counter can have, such as one
 * changed by hand to a negative). */
static int db_u64(const PGresult *res, int col, const char *host,
                  uint64_t *v, char *err, size_t errlen)
{
    const char *s = PQgetvalue(res, 0, col);
    char *end;

    if ( PQgetisnull(res, 0, col) )
    {
        *v = 0;
        return 0;
    }
    errno = 0;
    *v = strtoull(s, &end, 10);
    if ( s[0] == '-' || errno || end == s || *end )
    {
        snprintf(err, errlen, "database: host %s seq %s: %s = '%s': not a "
                 "counter", host, PQgetvalue(res, 0, DB_SEQ),
                 PQfname(res, col), s);
        return -ERANGE;
    }
    return 0;
}

/* One row (of a PGRES_SINGLE_TUPLE result) into @s and @ids. */
static int db_row(struct exp_usage_src *s, struct usrc_recs *ids,
                  const PGresult *res, const char *host, char *err,
                  size_t errlen)
{
    uint64_t u[DB_NR_COLS] = { 0 };
    struct exp_usage_rec r = {
        .host = host,
        .uuid = PQgetvalue(res, 0, DB_UUID),
        .name = PQgetvalue(res, 0, DB_NAME),
        .tenant = PQgetvalue(res, 0, DB_TENANT),
        .sched_stats = !strcmp(PQgetvalue(res, 0, DB_SCHED), "t"),
    };
    int col, rc;

    for ( col = DB_SEQ; col < DB_NR_COLS; col++ )
        if ( col != DB_UUID && col != DB_NAME && col != DB_TENANT &&
             col != DB_SCHED &&
             (rc = db_u64(res, col, host, &u[col], err, errlen)) )
            return rc;
    r.seq = u[DB_SEQ];
#define X(f) r.f = u[DB_##f];
    EXP_USAGE_COUNTERS(X)
#undef X
    r.wait_ns = u[DB_WAIT];
    r.throttled_ns = u[DB_THROTTLED];
    r.peak_window_pct = (uint32_t)u[DB_PEAK];
    rc = exp_usage_src_add_rec(s, &r);
    if ( !rc )
        rc = usrc_recs_add(ids, host, r.seq, r.uuid);
    if ( rc )
        snprintf(err, errlen, "%s", strerror(-rc));
    return rc;
}

/* @sql's result (status @want) or NULL with @err said. */
static PGresult *db_query(PGconn *db, const char *sql, const char *host,
                          ExecStatusType want, char *err, size_t errlen)
{
    const char *p[] = { host };
    PGresult *res = PQexecParams(db, sql, host ? 1 : 0, NULL, p, NULL, NULL,
                                 0);

    if ( res && PQresultStatus(res) == want )
        return res;
    snprintf(err, errlen, "database: %s", res && PQresultErrorMessage(res)[0]
             ? PQresultErrorMessage(res) : PQerrorMessage(db));
    PQclear(res);
    return NULL;
}

int usrc_db(struct exp_usage_src *s, struct usrc_recs *ids,
            uint64_t *next_seq, const char *conninfo, const char *host,
            char *err, size_t errlen)
{
    const char *p[] = { host };
    PGconn *db = PQconnectdb(conninfo);
    PGresult *res;
    int rc = -EIO;
    size_t n;

    *next_seq = 0;
    snprintf(ids->host, sizeof(ids->host), "%s", host);
    if ( PQstatus(db) != CONNECTION_OK )
    {
        snprintf(err, errlen, "database: %s", PQerrorMessage(db));
        goto out;
    }
    res = db_query(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   NULL, PGRES_COMMAND_OK, err, errlen);
    if ( !res )
        goto out;
    PQclear(res);
    /* A database that was never shipped into says so in a line, not in
     * the server's three about a relation. */
    res = db_query(db, "SELECT to_regclass('xenos_usage') IS NULL, "
                   "to_regclass('xenos_ship_position') IS NULL", NULL,
                   PGRES_TUPLES_OK, err, errlen);
    if ( !res )
        goto out;
    if ( !strcmp(PQgetvalue(res, 0, 0), "t") ||
         !strcmp(PQgetvalue(res, 0, 1), "t") )
    {
        snprintf(err, errlen, "database %s: no table %s: never shipped "
                 "into (`xenos-usage ship --schema` prints the tables)",
                 PQdb(db), !strcmp(PQgetvalue(res, 0, 0), "t")
                 ? "xenos_usage" : "xenos_ship_position");
        PQclear(res);
        goto out;
    }
    PQclear(res);
    /* No position row: the host never shipped (0). */
    res = db_query(db, "SELECT next_seq FROM xenos_ship_position WHERE "
                   "host = $1", host, PGRES_TUPLES_OK, err, errlen);
    if ( !res )
        goto out;
    if ( PQntuples(res) == 1 )
        *next_seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if ( !PQsendQueryParams(db, db_select, 1, NULL, p, NULL, NULL, 0) ||
         !PQsetSingleRowMode(db) )
    {
        snprintf(err, errlen, "database: %s", PQerrorMessage(db));
        goto out;
    }
    rc = 0;
    while ( (res = PQgetResult(db)) )
    {
        ExecStatusType st = PQresultStatus(res);

        if ( st == PGRES_SINGLE_TUPLE && !rc )
            rc = db_row(s, ids, res, host, err, errlen);
        else if ( st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !rc )
        {
            snprintf(err, errlen, "database: %s",
                     PQresultErrorMessage(res));
            rc = -EIO;
        }
        PQclear(res);
    }
 out:
    if ( rc && !err[0] )
        snprintf(err, errlen, "database: %s", strerror(-rc));
    /* libpq's and the server's messages end in a newline: ours do not. */
    n = strlen(err);
    if ( n && err[n - 1] == '\n' )
        err[n - 1] = '\0';
    PQfinish(db);
    return rc;
}
