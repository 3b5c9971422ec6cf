/*
 * xenos_usage_ship.h: `xenos-usage ship`, the ledger's shipper into
 * PostgreSQL (xenos_usage_ship.c), as xenos_usage.c calls it.  Built only
 * when libpq is found (XENOS_HAVE_SHIP).
 */
#ifndef XENOS_USAGE_SHIP_H
#define XENOS_USAGE_SHIP_H

/* The lines `xenos-usage --help` shows for ship. */
#define USAGE_SHIP_HELP                                                    \
    "       xenos-usage ship --db CONNINFO [--follow] [--batch N]\n"       \
    "                        [--poll-ms N] [--retry-s N] DIR\n"            \
    "       xenos-usage ship --db CONNINFO --verify DIR\n"                 \
    "       xenos-usage ship --schema\n"

/*
 * `xenos-usage ship ...`: @argv[0] is "ship".  Returns the exit status:
 * 0 done, 1 a record the database refused (another content under its
 * key, a gap in the ledger) or a difference --verify found, 2 bad usage,
 * a ledger that could not be read or a database that never answered.
 */
int usage_ship_main(int argc, char **argv);

#endif /* XENOS_USAGE_SHIP_H */
