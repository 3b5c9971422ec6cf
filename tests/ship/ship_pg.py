#!/usr/bin/env python3
"""
ship_pg.py: `xenos-usage ship` into a real PostgreSQL (tests/lib/pgtmp.py)
from the live ledger of a real xenosd on the sim backend (the demo host,
ledger interval 1 s), while this test:
- kills the shipper -9 at random moments, and every third time inside a
  batch: its COPY waits for a lock the test holds (position row locked,
  rows sent, nothing committed) when it is killed;
- crashes PostgreSQL (pg_ctl stop -m immediate) and starts it again under
  a running `ship --follow`;
- kills xenosd -9 once and restarts it.
At the end: the table holds seq 1..N of the host with no gap and no
double, N is the ledger's count, the per-tenant sums equal `xenos-usage
sum --by tenant` of the ledger, and `ship --verify` finds every row equal.
Two shippers of the one host at once share the work, each record once.
Then the refusals: a row changed in the database under a key the shipper
meets again is an error naming host and seq; a ledger with a damaged
record stops at the seq it lacks; a ledger file gone since the listing
is passed over.  Seeded (XENOS_SHIP_SEED=N repeats a
run); about 40 s.

Usage: ship_pg.py SOURCE_DIR BUILD_DIR
"""
import csv
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import checks  # noqa: E402
import pgtmp  # noqa: E402
import simhost  # noqa: E402

check = checks.Checks("ship_pg")


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    usage = os.path.join(build, "exporter/xenos-usage")
    seed = int(os.environ.get("XENOS_SHIP_SEED", time.time_ns() % 100000))
    rnd = random.Random(seed)
    print("ship_pg: seed %d" % seed)
    tmp = tempfile.mkdtemp(prefix="xenos-ship-")
    state = os.path.join(tmp, "state")
    ledger = os.path.join(state, "usage")
    os.mkdir(state, 0o750)
    pg = pgtmp.Postgres(tmp)
    xenosd = None
    shipper = None
    log = open(os.path.join(tmp, "xenosd.log"), "w")
    slog = open(os.path.join(tmp, "ship.log"), "w")

    def start_xenosd():
        return subprocess.Popen(
            simhost.xenosd_argv(src, build, state, "--listen", "127.0.0.1:0"),
            stderr=log)

    def ship(*args, follow=False):
        argv = [usage, "ship", "--db", pg.conninfo]
        if follow:
            argv += ["--follow", "--poll-ms", "100"]
        return subprocess.Popen(argv + list(args) + [ledger], stdout=slog,
                                stderr=slog)

    kills = midtx = 0
    try:
        pg.start()
        xenosd = start_xenosd()
        t_end = time.monotonic() + 24
        phase = 0
        while time.monotonic() < t_end:
            phase += 1
            if phase % 3 == 0:
                # a backlog of a second or two, then the shipper held
                # inside a batch (its COPY waits for a lock this test
                # holds: the position row locked, nothing committed) and
                # killed there
                time.sleep(rnd.uniform(1.0, 2.0))
                holder = pg.hold_usage_lock()
                shipper = ship("--batch", str(rnd.randint(1, 40)),
                               follow=True)
                deadline = time.monotonic() + 20
                while not pg.copy_waiting() and time.monotonic() < deadline:
                    time.sleep(0.02)
                midtx += pg.copy_waiting() == 1
                shipper.kill()
                shipper.wait()
                pg.release(holder)
            else:
                shipper = ship("--batch", str(rnd.randint(3, 40)), follow=True)
                time.sleep(rnd.uniform(0.2, 1.5))
            if phase == 4:
                pg.crash_restart()              # under a running shipper
                time.sleep(rnd.uniform(0.5, 1.5))
            if phase == 5:
                xenosd.kill()
                xenosd.wait()
                xenosd = start_xenosd()
            if shipper.poll() is not None and phase % 3:
                check(False, "ship --follow ended by itself (status %s)"
                      % shipper.returncode)
            shipper.kill()
            shipper.wait()
            kills += 1
        xenosd.send_signal(signal.SIGTERM)
        xenosd.wait(timeout=30)
        xenosd = None

        r = subprocess.run([usage, "ship", "--db", pg.conninfo, ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 0, "ship once after the run exits 0 (%s%s)"
              % (r.stdout.strip(), r.stderr.strip()))
        host = socket.gethostname()
        files = sorted(os.path.join(ledger, f) for f in os.listdir(ledger)
                       if f.endswith(".xul"))
        dump = subprocess.run([usage, "dump", "--format", "csv"] + files,
                              stdout=subprocess.PIPE, text=True, check=True)
        recs = list(csv.DictReader(io.StringIO(dump.stdout)))
        hosts = pg.sql("SELECT DISTINCT host FROM xenos_usage")
        if hosts:
            host = hosts[0][0]
        n, lo, hi, distinct = pg.sql(
            "SELECT count(*), min(seq), max(seq), count(DISTINCT seq) "
            "FROM xenos_usage WHERE host = '%s'" % host)[0]
        n, lo, hi, distinct = int(n), int(lo), int(hi), int(distinct)
        pos = int(pg.sql("SELECT next_seq FROM xenos_ship_position")[0][0])
        print("ship_pg: %d records in the ledger, %d rows (seq %d..%d), "
              "position %d; shipper kill -9 %d (%d inside a batch), "
              "PostgreSQL crash-restarts %d, xenosd kill -9 1"
              % (len(recs), n, lo, hi, pos, kills, midtx, pg.restarts))
        check(len(recs) > 300, "the ledger has records (%d)" % len(recs))
        check(len(hosts) == 1, "one host in the table")
        check(n == len(recs) and lo == 1 and hi == n and distinct == n,
              "seq 1..N, no gap, no double (%d rows, %d records)"
              % (n, len(recs)))
        check(pos == n + 1, "position is past the last row")
        check(midtx == (phase // 3), "every held shipper was killed inside "
              "its batch (%d of %d)" % (midtx, phase // 3))
        s = subprocess.run([usage, "sum", "--by", "tenant", "--format", "csv"]
                           + files, stdout=subprocess.PIPE, text=True,
                           check=True)
        want = {r["tenant"]: (int(r["records"]), int(r["cpu_ns"]),
                              int(r["memory_byte_seconds"]))
                for r in csv.DictReader(io.StringIO(s.stdout))}
        got = {t: (int(a), int(b), int(c)) for t, a, b, c in pg.sql(
            "SELECT tenant, sum(records), sum(cpu_ns), "
            "sum(memory_byte_seconds) FROM xenos_usage_tenant_hourly "
            "GROUP BY tenant")}
        check(got == want, "per-tenant records, cpu_ns and memory (hourly "
              "view) equal the ledger's sum (%d tenants)" % len(want))
        monthly = pg.sql("SELECT sum(cpu_ns) FROM xenos_usage_tenant_monthly")
        check(int(monthly[0][0]) == sum(v[1] for v in want.values()),
              "the monthly view's cpu_ns equals the ledger's")
        r = subprocess.run([usage, "ship", "--db", pg.conninfo, "--verify",
                            ledger], stdout=subprocess.PIPE, text=True)
        check(r.returncode == 0 and " 0 different, 0 missing; 0 rows" in
              r.stdout, "--verify: every row equal (%s)" % r.stdout.strip())

        # Two shippers of one host at once, into a fresh database: they
        # take turns on the position row, and each record lands once.
        pg.sql("CREATE DATABASE twin")
        twins = [subprocess.Popen([usage, "ship", "--batch", "5", "--db",
                                   pg.conn("twin"), ledger],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [t.communicate() for t in twins]
        shipped = sum(int(re.search(r"(\d+) records shipped", o).group(1))
                      for o, _ in outs if "records shipped" in o)
        tn, td, thi = (int(v) for v in pg.sql(
            "SELECT count(*), count(DISTINCT seq), max(seq) FROM xenos_usage",
            db="twin")[0])
        check(all(t.returncode == 0 for t in twins) and shipped == n and
              tn == td == thi == n, "two shippers at once: %d rows, seq "
              "1..%d, %d shipped between them (%s)" % (tn, thi, shipped,
              "; ".join(o.strip() + e.strip() for o, e in outs)))

        # Refusals.  Position back by 5: the rows are there and equal.
        pg.sql("UPDATE xenos_ship_position SET next_seq = next_seq - 5")
        r = subprocess.run([usage, "ship", "--db", pg.conninfo, ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 0 and "0 records shipped, 5 already there"
              in r.stdout, "rows met again and equal: counted, not doubled "
              "(%s)" % r.stdout.strip())
        victim = n - 2
        pg.sql("UPDATE xenos_usage SET cpu_ns = cpu_ns + 1 WHERE seq = %d"
               % victim)
        r = subprocess.run([usage, "ship", "--db", pg.conninfo, "--verify",
                            ledger], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        check(r.returncode == 1 and "1 different" in r.stdout and
              "seq %d: the database's cpu_ns" % victim in r.stderr,
              "--verify names the changed row (%s)" % r.stderr.strip())
        pg.sql("UPDATE xenos_ship_position SET next_seq = %d" % (victim - 1))
        r = subprocess.run([usage, "ship", "--db", pg.conninfo, ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 1 and "host %s seq %d: already in the database "
              "with other content (cpu_ns" % (host, victim) in r.stderr,
              "other content under a key: an error naming host and seq (%s)"
              % r.stderr.strip())
        check(int(pg.sql("SELECT next_seq FROM xenos_ship_position")[0][0])
              == victim - 1, "and the position stays before it")

        # A ledger file gone between the listing and its reading (here a
        # link to nothing, sorting first): nothing of it to ship; the
        # other files are shipped whole and no error is left behind.
        gone = os.path.join(tmp, "gone")
        os.mkdir(gone)
        for f in files:
            shutil.copy(f, gone)
        os.symlink(os.path.join(tmp, "nothing"),
                   os.path.join(gone, "usage-19700101T000000Z.xul"))
        pg.sql("CREATE DATABASE gone")
        r = subprocess.run([usage, "ship", "--db", pg.conn("gone"), gone],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        m = int(pg.sql("SELECT count(*) FROM xenos_usage", db="gone")[0][0])
        check(r.returncode == 0 and m == n and not r.stderr,
              "a ledger file gone since the listing: the rest shipped "
              "(%d rows of %d), no error (%s%s)" % (m, n, r.stdout.strip(),
                                                    r.stderr.strip()))

        # A damaged record: shipping stops at the seq it lacks.
        bad = os.path.join(tmp, "damaged")
        os.mkdir(bad)
        for f in files:
            shutil.copy(f, bad)
        first = os.path.join(bad, os.path.basename(files[0]))
        with open(first, "r+b") as f:
            f.seek(300)                 # inside the first records
            b = f.read(1)
            f.seek(300)
            f.write(bytes([b[0] ^ 0xff]))
        pg.sql("CREATE DATABASE damaged")
        r = subprocess.run([usage, "ship", "--db", pg.conn("damaged"), bad],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        m = pg.sql("SELECT coalesce(max(seq), 0), count(*) FROM xenos_usage",
                   db="damaged")[0]
        check(r.returncode == 1 and "is missing from" in r.stderr and
              int(m[0]) == int(m[1]), "a damaged record stops shipping at "
              "its seq, nothing past it (%s; %s rows)" % (r.stderr.strip(),
                                                          m[1]))

        # A ledger that is not the one the database shipped from (a host
        # reinstalled under the same name starts again at seq 1): its
        # records below the position would pass for shipped.  The record
        # just below the position must equal its row, and the ledger must
        # not end below it.
        pg.sql("CREATE DATABASE reinst")
        r = subprocess.run([usage, "ship", "--db", pg.conn("reinst"), ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 0, "a ledger shipped whole (%s)"
              % r.stderr.strip())
        pg.sql("UPDATE xenos_usage SET cpu_ns = cpu_ns + 1 WHERE seq = %d"
               % n, db="reinst")
        r = subprocess.run([usage, "ship", "--db", pg.conn("reinst"), ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 1 and "host %s seq %d: the ledger's record "
              "differs from the database's row" % (host, n) in r.stderr,
              "the record below the position differs from its row: refused,"
              " naming host and seq (%s)" % r.stderr.strip())
        pg.sql("UPDATE xenos_usage SET cpu_ns = cpu_ns - 1 WHERE seq = %d"
               % n, db="reinst")
        pg.sql("UPDATE xenos_ship_position SET next_seq = %d" % (n + 10),
               db="reinst")
        r = subprocess.run([usage, "ship", "--db", pg.conn("reinst"), ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 1 and "ends at seq %d but the database has "
              "shipped up to seq %d" % (n, n + 9) in r.stderr,
              "a ledger ending below the position: refused (%s)"
              % r.stderr.strip())
        pg.sql("UPDATE xenos_ship_position SET next_seq = %d" % (n + 1),
               db="reinst")
        r = subprocess.run([usage, "ship", "--db", pg.conn("reinst"), ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 0 and "0 records shipped" in r.stdout,
              "the same ledger again: nothing to ship, no error (%s%s)"
              % (r.stdout.strip(), r.stderr.strip()))
    finally:
        for p in (shipper, xenosd):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        simhost.shutdown(os.path.join(state, "simhost.sock"))
        if os.environ.get("XENOS_SHIP_KEEP"):
            pg.stop()
        else:
            pg.cleanup()
        if check.failed:
            slog.close()
            with open(os.path.join(tmp, "ship.log"), errors="replace") as f:
                sys.stderr.write("--- ship.log (tail)\n%s"
                                 % "".join(f.readlines()[-int(os.environ.get("XENOS_SHIP_LOG_LINES", "20")):]))
        if os.environ.get("XENOS_SHIP_KEEP"):
            print("ship_pg: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
