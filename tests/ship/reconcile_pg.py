#!/usr/bin/env python3
"""
reconcile_pg.py: `xenos-usage reconcile --db` against a real PostgreSQL
(tests/lib/pgtmp.py) filled by `xenos-usage ship` from the ledger of a
real xenosd on the sim backend (the demo host, ledger interval 1 s),
stopped cleanly, so ledger, checkpoint and database must agree exactly.
Then, each planted in the database and taken back:
- a row deleted: named as HOST:SEQ (1 in the ledger, 0 in the database),
  its domain and tenant short by its counters;
- a row altered (cpu_ns + 7): its domain and tenant 7 ns over, no record
  line;
- a row present twice (the primary key dropped, as a schema made by hand
  might lack it): named as HOST:SEQ, 2 in the database;
- the last rows not shipped yet (position moved back, rows deleted): told
  apart from rows lost below the position;
and the errors: another host than the ledger's, a database without the
table, a counter no record can have.
`reconcile --counters sim:SOCKET` (the host's live counters through the
backend, as `--counters xen` reads a real hypervisor's), while the
simulated host runs on after xenosd stopped: every domain grew since the
checkpoint by no more than its vCPUs could run; then in copies of the
checkpoint, a domain's counter claimed 10 s ahead of the host (found:
the host's total is short) and a last sample claimed later than it was
(the growth exceeds the bound: found).  About 15 s.

Usage: reconcile_pg.py SOURCE_DIR BUILD_DIR
"""
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
sys.path.insert(0, os.path.join(os.path.abspath(sys.argv[2]),
                                "exporter", "python"))
import checks  # noqa: E402
import pgtmp  # noqa: E402
import simhost  # noqa: E402
import xenos_usage  # noqa: E402  (its CRC-32C seals a planted checkpoint)

check = checks.Checks("reconcile_pg")


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    usage = os.path.join(build, "exporter/xenos-usage")
    tmp = tempfile.mkdtemp(prefix="xenos-reconcile-")
    state = os.path.join(tmp, "state")
    ledger = os.path.join(state, "usage")
    os.mkdir(state, 0o750)
    pg = pgtmp.Postgres(tmp)
    xenosd = None
    log = open(os.path.join(tmp, "xenosd.log"), "w")

    def reconcile(*args, fmt="jsonl", db=None):
        r = subprocess.run([usage, "reconcile", "--state-dir", state,
                            "--db", db or pg.conninfo, "--format", fmt]
                           + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        lines = [json.loads(l) for l in r.stdout.splitlines()] \
            if fmt == "jsonl" and r.returncode < 2 else []
        return r, lines

    def records():
        files = sorted(os.path.join(ledger, f) for f in os.listdir(ledger)
                       if f.endswith(".xul")) if os.path.isdir(ledger) else []
        if not files:
            return []
        d = subprocess.run([usage, "dump", "--format", "jsonl"] + files,
                           stdout=subprocess.PIPE, text=True)
        return [json.loads(l) for l in d.stdout.splitlines()]

    try:
        pg.start()
        xenosd = subprocess.Popen(
            simhost.xenosd_argv(src, build, state, "--listen", "off"),
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while len(records()) < 150 and time.monotonic() < deadline:
            time.sleep(0.5)
        xenosd.send_signal(signal.SIGTERM)
        check(xenosd.wait(timeout=30) == 0, "xenosd stops cleanly")
        xenosd = None
        recs = records()
        host = recs[0]["host"]
        r = subprocess.run([usage, "ship", "--db", pg.conninfo, ledger],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(r.returncode == 0, "ship: %s%s" % (r.stdout.strip(),
                                                 r.stderr.strip()))

        # The host's live counters: the simulated host runs on.
        sock = os.path.join(state, "simhost.sock")
        ckpt = open(os.path.join(state, "checkpoint")).read()
        last = int(ckpt.split("last_sample_ns=")[1].split()[0])

        def host_ns():
            return int(simhost.request(sock, "PING").split("time_ns=")[1]
                       .split()[0])
        while host_ns() < last + 1000000000 and time.monotonic() < deadline:
            time.sleep(0.1)
        r = subprocess.run([usage, "reconcile", "--state-dir", state,
                            "--counters", "sim:" + sock], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        grew = [l for l in r.stderr.splitlines() if "against counters" in l]
        check(r.returncode == 0 and grew and "0 differences (" in grew[0]
              and " 0 ns of" not in grew[0], "--counters: every domain "
              "grew within its bound since the checkpoint (%s)"
              % (grew and grew[0]))

        def planted(old, new):
            body = ckpt.rsplit("end crc32c=", 1)[0].replace(old, new, 1)
            path = os.path.join(tmp, "checkpoint")
            with open(path, "w") as f:
                f.write(body + "end crc32c=%08x\n"
                        % xenos_usage.crc32c(body.encode()))
            return subprocess.run(
                [usage, "reconcile", "--state-dir", state, "--checkpoint",
                 path, "--counters", "sim:" + sock, "--format", "jsonl"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        dom = next(l for l in ckpt.splitlines() if l.startswith("dom "))
        kv = dict(t.split("=", 1) for t in dom.split()[1:])
        lcpu = int(kv["l.cpu_ns"])
        r = planted(" l.cpu_ns=%d " % lcpu, " l.cpu_ns=%d " % (lcpu + 10**10))
        got = [json.loads(l) for l in r.stdout.splitlines()]
        got = [(d["a"], d["b"], d["level"], d["key"], d["a_value"])
               for d in got if d["b_minus_a"] < 0]
        check(r.returncode == 1 and got == [
            ("checkpoint_reading", "counter", "domain", kv["uuid"],
             lcpu + 10**10)] and "1 difference" in r.stderr,
            "--counters: a checkpoint reading 10 s ahead of the host's "
            "counter of %s is found" % kv["uuid"])
        now = host_ns()
        r = planted("last_sample_ns=%d " % last, "last_sample_ns=%d " % now)
        over = [json.loads(l) for l in r.stdout.splitlines()]
        check(r.returncode == 1 and over and all(
            d["b_minus_a"] > 0 and d["b"] == "counters" for d in over),
            "--counters: a last sample claimed %.1f s later than it was: "
            "%d domains and tenants grew past their bound"
            % ((now - last) / 1e9, len(over)))

        # Clean: the three agree, record by record and in totals.
        r, lines = reconcile(fmt="table")
        check(r.returncode == 0 and r.stdout.count("\n") == 1 and
              "%d records and %d rows (ship position %d): 0 missing from the "
              "database (0 of them at or past the position: not shipped "
              "yet), 0 only in the database, 0 there more than once"
              % (len(recs), len(recs), len(recs) + 1) in r.stderr and
              ("ledger against database: %d and %d domains"
               % ((len({x["uuid"] for x in recs}),) * 2)) in r.stderr and
              r.stderr.count(": 0 differences") == 2,
              "clean: %d records, ledger = checkpoint = database (%s)"
              % (len(recs), " / ".join(r.stderr.splitlines())))

        # A row deleted.
        victim = next(x for x in recs[len(recs) // 2:] if x["cpu_ns"] > 0)
        seq = victim["seq"]
        pg.sql("CREATE TABLE saved AS SELECT * FROM xenos_usage "
               "WHERE seq = %d" % seq)
        pg.sql("DELETE FROM xenos_usage WHERE seq = %d" % seq)
        r, lines = reconcile()
        rec = [l for l in lines if l["level"] == "record"]
        cpu = {(l["level"], l["key"]): l["b_minus_a"] for l in lines
               if l["counter"] == "cpu_ns"}
        check(r.returncode == 1 and len(rec) == 1 and
              rec[0]["key"] == "%s:%d" % (host, seq) and
              (rec[0]["a_value"], rec[0]["b_value"]) == (1, 0) and
              rec[0]["name"] == victim["name"] and
              cpu == {("domain", victim["uuid"]): -victim["cpu_ns"],
                      ("tenant", victim["tenant"]): -victim["cpu_ns"]} and
              "1 missing from the database (0 of them at or past" in r.stderr,
              "a deleted row is named %s, its domain and tenant short by "
              "%d ns" % (rec and rec[0]["key"], victim["cpu_ns"]))
        pg.sql("INSERT INTO xenos_usage SELECT * FROM saved")
        r, _ = reconcile()
        check(r.returncode == 0, "put back: they agree again")

        # A row altered.
        pg.sql("UPDATE xenos_usage SET cpu_ns = cpu_ns + 7 WHERE seq = %d"
               % seq)
        r, lines = reconcile(fmt="csv")
        rows = list(csv.reader(io.StringIO(r.stdout)))
        check(r.returncode == 1 and rows[0][0] == "a" and
              sorted((x[2], x[5], x[8]) for x in rows[1:]) ==
              [("domain", "cpu_ns", "7"), ("tenant", "cpu_ns", "7")] and
              all(x[0:2] == ["ledger", "database"] for x in rows[1:]),
              "an altered row: its domain and tenant 7 ns over, no record "
              "line (%s)" % r.stdout.strip().replace("\n", " | "))
        pg.sql("UPDATE xenos_usage SET cpu_ns = cpu_ns - 7 WHERE seq = %d"
               % seq)

        # A row twice: possible only where the key was dropped.
        pg.sql("ALTER TABLE xenos_usage DROP CONSTRAINT xenos_usage_pkey")
        pg.sql("INSERT INTO xenos_usage SELECT * FROM saved")
        r, lines = reconcile()
        rec = [l for l in lines if l["level"] == "record"]
        check(r.returncode == 1 and len(rec) == 1 and
              rec[0]["key"] == "%s:%d" % (host, seq) and
              (rec[0]["a_value"], rec[0]["b_value"]) == (1, 2) and
              "1 there more than once" in r.stderr and
              any(l["counter"] == "cpu_ns" and l["level"] == "domain" and
                  l["b_minus_a"] == victim["cpu_ns"] for l in lines),
              "a row present twice is named %s, 2 in the database"
              % (rec and rec[0]["key"]))
        pg.sql("DELETE FROM xenos_usage WHERE ctid = (SELECT max(ctid) FROM "
               "xenos_usage WHERE seq = %d)" % seq)
        r, _ = reconcile()
        check(r.returncode == 0, "one copy taken out: they agree again")

        # The last three not shipped yet: the position says so.
        last = len(recs)
        pg.sql("DELETE FROM xenos_usage WHERE seq > %d" % (last - 3))
        pg.sql("UPDATE xenos_ship_position SET next_seq = %d" % (last - 2))
        r, lines = reconcile()
        keys = [l["key"] for l in lines if l["level"] == "record"]
        check(r.returncode == 1 and keys == ["%s:%d" % (host, s)
                                            for s in range(last - 2, last + 1)]
              and "3 missing from the database (3 of them at or past the "
              "position: not shipped yet)" in r.stderr,
              "three not shipped yet: named, and told from lost rows")
        r = subprocess.run([usage, "ship", "--db", pg.conninfo, ledger],
                           stdout=subprocess.PIPE, text=True)
        r, _ = reconcile()
        check(r.returncode == 0, "shipped: they agree again")

        # Errors: exit 2, saying what is wrong.
        r, _ = reconcile("--host", "elsewhere")
        check(r.returncode == 2 and "--host elsewhere: the ledger is host "
              "%s's" % host in r.stderr, "another host: %s"
              % r.stderr.strip())
        pg.sql("CREATE DATABASE empty")
        r, _ = reconcile(db=pg.conn("empty"))
        check(r.returncode == 2 and "database empty: no table xenos_usage: "
              "never shipped into" in r.stderr and
              r.stderr.count("\n") == 1, "no table: %s" % r.stderr.strip())
        pg.sql("UPDATE xenos_usage SET vif_rx_bytes = -1 WHERE seq = %d"
               % seq)
        r, _ = reconcile()
        check(r.returncode == 2 and "database: host %s seq %d: vif_rx_bytes "
              "= '-1': not a counter" % (host, seq) in r.stderr,
              "a negative counter: %s" % r.stderr.strip())
        r = subprocess.run([usage, "reconcile", "--state-dir", state,
                            "--host", host], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        check(r.returncode == 2 and "--host names the host in --db's"
              in r.stderr, "--host without --db: a usage error")
    finally:
        if xenosd and xenosd.poll() is None:
            xenosd.kill()
            xenosd.wait()
        simhost.shutdown(os.path.join(state, "simhost.sock"))
        pg.cleanup()
        if check.failed:
            log.close()
            with open(os.path.join(tmp, "xenosd.log"),
                      errors="replace") as f:
                sys.stderr.write("--- xenosd.log (tail)\n%s"
                                 % "".join(f.readlines()[-20:]))
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
