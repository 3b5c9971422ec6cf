"""ledger.py (ctest usage_ledger): the usage ledger as billing reads it,
on a real ledger that xenosd wrote on the sim backend.

    /usr/bin/python3 tests/ledger/ledger.py SOURCE_DIR BUILD_DIR

Run with Debian's python3: the shipped reader (exporter/python/
xenos_usage.py, built beside protoc's usage_pb2.py in
BUILD/exporter/python) promises to need only python3-protobuf and the
standard library.

1. The reader's CRC-32C against the C implementation's test vectors
   (tests/test_crc32c.c: "123456789", 32 zero bytes, a CRC continued) and
   RFC 3720 B.4's.
2. xenosd samples the simulated host (lifecycle.yaml: domains reboot,
   migrate, are destroyed and created) every 100 ms, ledger intervals of
   1 s; it is killed (-9) once it has written a record and started again,
   runs until the host's time has run out, then stops (SIGTERM).
3. The Python reader against xenos-usage: every record equal to `dump
   --format jsonl`'s line, and the totals of `sum --by tenant` and `--by
   domain` equal; the first record of each domain partial (its span
   inside its interval), every record's span inside its interval.
4. xenos-usage reconcile: ledger = checkpoint = the host's ground truth
   (exit 0); then planted differences it must find: a record taken out of
   a copy of the ledger, a checkpoint copy with one domain's CPU changed
   (its CRC made good again), each named by domain, tenant and counter
   with the exact amount (exit 1).
5. A corrupted frame: the reader raises an error naming the file and the
   frame's offset, the same offset xenos-usage reports; reading on past
   it (skip), its sums equal xenos-usage's on the damaged file.
"""
import csv
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

src, build = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(build, "exporter", "python"))
import xenos_usage  # noqa: E402

USAGE = os.path.join(build, "exporter", "xenos-usage")
fails = []


def check(ok, what):
    print("ledger: %s: %s" % ("ok" if ok else "FAILED", what))
    if not ok:
        fails.append(what)


def run(*args, status=0):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != status:
        sys.exit("ledger: %s: exit %d (want %d)\n%s%s" % (
            " ".join(args), p.returncode, status, p.stdout, p.stderr))
    return p


def host_req(sock, req):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock)
        s.sendall(req.encode() + b"\n")
        out = b""
        while not out.endswith(b"END\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode()


def wait_for(what, fn, limit_s=60):
    # Polls for a state, never times anything: the limit only keeps a
    # broken run from hanging.
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.05)
    sys.exit("ledger: timed out waiting for %s" % what)


# 1. CRC-32C
vectors = [(b"123456789", 0xE3069283), (bytes(32), 0x8A9136AA),
           (b"\xff" * 32, 0x62A8AB43), (bytes(range(32)), 0x46DD794E),
           (bytes(range(31, -1, -1)), 0x113FDB5C)]
check(all(xenos_usage.crc32c(d) == c for d, c in vectors) and
      xenos_usage.crc32c(b"56789", xenos_usage.crc32c(b"1234")) ==
      0xE3069283, "CRC-32C: the C implementation's and RFC 3720's vectors")

tmp = tempfile.mkdtemp(prefix="xenos-ledger-")
state = os.path.join(tmp, "state")
os.mkdir(state, 0o700)
sock = os.path.join(state, "simhost.sock")
xd = None
try:
    # 2. a real ledger
    log = open(os.path.join(tmp, "xenosd.log"), "w")
    xenosd = [
        os.path.join(build, "xenosd", "xenosd"), "--backend", "sim",
        "--scenario", os.path.join(src, "sched/sim/scenarios/lifecycle.yaml"),
        "--policy-file", os.path.join(src, "policies/examples/tenants.yaml"),
        "--simhost", os.path.join(build, "sched/sim/xenos-simhost"),
        "--speed", "20", "--interval-ms", "100", "--usage-interval-s", "1",
        "--listen", "off", "--rrd-dir", "off", "--state-dir", state]
    xd = subprocess.Popen(xenosd, stdout=log, stderr=subprocess.STDOUT)
    ledger = os.path.join(state, "usage")

    def records_now():
        if not os.path.isdir(ledger):
            return 0
        return len(list(xenos_usage.records(ledger, damage="skip")))
    # A crash once it has written a record: the next run resumes from the
    # checkpoint and usage.state, and must claim no span the dead one saw.
    wait_for("a first record", lambda: records_now() > 0)
    xd.kill()
    xd.wait()
    xd = subprocess.Popen(xenosd, stdout=log, stderr=subprocess.STDOUT)

    def host_ended():
        try:
            kv = dict(t.split("=", 1) for t in
                      host_req(sock, "PING").split("\n")[0].split()[2:])
        except OSError:
            return False
        return int(kv["time_ns"]) >= int(kv["end_ns"])
    wait_for("the simulated host's time to run out", host_ended)
    # Two ledger intervals after the end: every sample of it accounted.
    n0 = records_now()
    wait_for("two more ledger intervals",
             lambda: records_now() >= n0 + 12)
    xd.send_signal(signal.SIGTERM)
    check(xd.wait(timeout=30) == 0, "xenosd stops cleanly")
    xd = None
    files = xenos_usage.ledger_files(ledger)

    # 3. Python against xenos-usage
    recs = list(xenos_usage.records(ledger))
    c_dump = [json.loads(line) for line in
              run(USAGE, "dump", "--format", "jsonl", *files).stdout
              .splitlines()]
    check(len(recs) > 30 and [xenos_usage.as_dict(r) for r in recs] ==
          c_dump, "%d records, each equal to dump --format jsonl's line"
          % len(recs))
    for by, key in (("tenant", "tenant"), ("domain", "uuid")):
        c_sum = {(r[key] or ""): {k: v for k, v in r.items()
                                  if k not in ("tenant", "uuid", "name")}
                 for r in map(json.loads, run(
                     USAGE, "sum", "--by", by, "--format", "jsonl", *files)
                     .stdout.splitlines())}
        py_sum = xenos_usage.sum_by(recs, by)
        check(c_sum == py_sum and len(py_sum) > 3,
              "sum --by %s: %d rows, equal to xenos-usage's (cpu %d ns)"
              % (by, len(py_sum), sum(r["cpu_ns"] for r in py_sum.values())))
    first = {}
    for r in recs:
        first.setdefault(r.uuid, r)
    check(all(r.start_unix_ns <= r.span_start_unix_ns <= r.span_end_unix_ns
              <= r.end_unix_ns for r in recs),
          "every record's span lies inside its interval")
    check(all(r.span_start_unix_ns > r.start_unix_ns
              for r in first.values()),
          "the first record of each of %d domains is partial" % len(first))
    by_dom = {}
    for r in recs:
        by_dom.setdefault(r.uuid, []).append(r)
    check(all(a.span_end_unix_ns <= b.span_start_unix_ns
              for rs in by_dom.values() for a, b in zip(rs, rs[1:])),
          "no two spans of a domain overlap, across a kill -9 and restart")
    # The domains still there at the stop were watched throughout the
    # intervals between the host's end and the stop.
    last = max(r.start_unix_ns for r in recs)
    live = {r.uuid for r in recs if r.start_unix_ns == last}
    full = {r.uuid for r in recs if (r.span_start_unix_ns, r.span_end_unix_ns)
            == (r.start_unix_ns, r.end_unix_ns)}
    check(live and live <= full and all(
        r.span_end_unix_ns < r.end_unix_ns for r in recs
        if r.start_unix_ns == last),
        "%d domains there at the stop: full intervals (span == interval) "
        "before, a partial one at the stop" % len(live))
    # The simulated host runs fcredit, which counts contention: its
    # records say so and carry the figures; a record without them (a life
    # that ended before its interval closed) has them null, never 0.
    check(any(r.sched_stats for r in recs) and all(
        (c_dump[i]["wait_ns"] is None) == (not recs[i].sched_stats)
        for i in range(len(recs))),
        "contention: sched_stats true with wait_ns (fcredit), null without")

    # 4. reconcile
    p = run(USAGE, "reconcile", "--state-dir", state, "--sim-host", sock)
    check(p.stdout.count("\n") == 1 and "0 differences" in p.stderr,
          "reconcile: ledger = checkpoint = ground truth: " +
          " / ".join(l.split(": ", 2)[2] for l in p.stderr.splitlines()))

    # a record taken out of a copy of the ledger
    cut = os.path.join(tmp, "cut")
    shutil.copytree(ledger, cut)
    victim = os.path.join(cut, os.path.basename(files[0]))
    buf = open(victim, "rb").read()
    frames = [(off, r) for off, r in xenos_usage.read_file(victim)]
    off, r = frames[2]
    end = off + len(r.SerializeToString()) + 8
    open(victim, "wb").write(buf[:off] + buf[end:])
    p = run(USAGE, "reconcile", "--state-dir", state, "--ledger", cut,
            "--format", "jsonl", status=1)
    diffs = [json.loads(line) for line in p.stdout.splitlines()]
    want = {("domain", r.uuid), ("tenant", r.tenant.decode() or None)}
    got = {(d["level"], d["key"]) for d in diffs}
    cpu = [d for d in diffs if d["counter"] == "cpu_ns"]
    check(got == want and len(cpu) == 2 and
          all(d["b_minus_a"] == r.cpu_ns and d["a"] == "ledger"
              for d in cpu),
          "reconcile finds a record taken out: %s, tenant %s, cpu_ns "
          "short by %d" % (r.uuid, r.tenant.decode(), r.cpu_ns))

    # a checkpoint with one domain's CPU changed, its CRC made good
    lines = open(os.path.join(state, "checkpoint")).read().splitlines(True)
    i = next(i for i, l in enumerate(lines) if l.startswith("dom "))
    kv = dict(t.split("=", 1) for t in lines[i].split()[1:])
    old = int(kv["t.cpu_ns"])
    lines[i] = lines[i].replace("t.cpu_ns=%d " % old,
                                "t.cpu_ns=%d " % (old + 1000))
    body = "".join(lines[:-1])
    ck = os.path.join(tmp, "checkpoint")
    open(ck, "w").write(body + "end crc32c=%08x\n" %
                        xenos_usage.crc32c(body.encode()))
    p = run(USAGE, "reconcile", "--state-dir", state, "--checkpoint", ck,
            "--sim-host", sock, "--format", "csv", status=1)
    rows = list(csv.reader(io.StringIO(p.stdout)))
    # a, b, level, key, name, counter, a_value, b_value, b_minus_a
    check(rows[0][0] == "a" and [(r[0], r[1], r[2], r[3], r[5], r[8])
                                 for r in rows[1:] if r[2] == "domain"] ==
          [("ledger", "checkpoint", "domain", kv["uuid"], "cpu_ns", "1000"),
           ("checkpoint", "host", "domain", kv["uuid"], "cpu_ns", "-1000")],
          "reconcile finds 1000 ns planted in the checkpoint's %s, against "
          "the ledger and the host" % kv["uuid"])

    # The contention counters when a record has them: a ledger framed
    # here, as docs/usage-format.md says, from records made with protoc's
    # classes (no writer fills them yet: issue 16's other half).
    def frame(msg):
        p = msg.SerializeToString()
        head = struct.pack("<I", len(p))
        return head + p + struct.pack("<I", xenos_usage.crc32c(head + p))
    hdr = xenos_usage.usage_pb2.UsageFileHeader(version=1, host="h",
                                                interval_s=60, rotate_s=3600)
    mk = xenos_usage.usage_pb2.UsageRecord
    crafted = [mk(seq=1, host="h", tenant=b"a", uuid="u1", cpu_ns=10,
                  sched_stats=True, wait_ns=5, throttled_ns=1,
                  peak_window_pct=30),
               mk(seq=2, host="h", tenant=b"a", uuid="u2", cpu_ns=20,
                  sched_stats=True, wait_ns=7, throttled_ns=0,
                  peak_window_pct=40),
               mk(seq=3, host="h", tenant=b"b", uuid="u3", cpu_ns=30,
                  sched_stats=True, wait_ns=9),
               mk(seq=4, host="h", tenant=b"b", uuid="u4", cpu_ns=40)]
    cf = os.path.join(tmp, "usage-20261207T000000Z.xul")
    with open(cf, "wb") as f:
        f.write(xenos_usage.MAGIC + struct.pack("<I", 1) + frame(hdr) +
                b"".join(frame(r) for r in crafted))
    c_dump = [json.loads(l) for l in run(USAGE, "dump", "--format", "jsonl",
                                         cf).stdout.splitlines()]
    c_sum = {r["tenant"]: r for r in map(json.loads, run(
        USAGE, "sum", "--by", "tenant", "--format", "jsonl", cf)
        .stdout.splitlines())}
    py_sum = xenos_usage.sum_by(xenos_usage.records(cf))
    check([xenos_usage.as_dict(r) for r in xenos_usage.records(cf)] == c_dump
          and [r["wait_ns"] for r in c_dump] == [5, 7, 9, None] and
          (c_sum["a"]["wait_ns"], c_sum["a"]["throttled_ns"],
           c_sum["a"]["peak_window_pct"]) == (12, 1, 40) and
          c_sum["b"]["wait_ns"] is None and
          py_sum == {k: {x: y for x, y in v.items() if x != "tenant"}
                     for k, v in c_sum.items()} and
          run(USAGE, "dump", "--format", "csv", cf).stdout.splitlines()[4]
          .endswith(",false,,,"),
          "contention counters: printed where known, null/empty where "
          "sched_stats is false, summed only when all are known")

    # 5. a corrupted frame
    bad = os.path.join(tmp, "bad.xul")
    buf = bytearray(open(files[0], "rb").read())
    off = frames[3][0]
    buf[off + 10] ^= 0x40
    open(bad, "wb").write(buf)
    try:
        list(xenos_usage.read_file(bad))
        err = None
    except xenos_usage.LedgerError as e:
        err = e
    p = run(USAGE, "sum", "--by", "tenant", "--format", "jsonl", bad,
            status=1)
    check(err is not None and err.path == bad and err.offset == off and
          "%s: byte %d: CRC-32C mismatch" % (bad, off) in p.stderr and
          str(err) == "%s: byte %d: CRC-32C mismatch" % (bad, off),
          "a corrupted frame: %s (xenos-usage: the same file and offset)"
          % err)
    seen = []
    py_sum = xenos_usage.sum_by(
        xenos_usage.records(bad, damage="skip", on_damage=seen.append))
    c_sum = {(r["tenant"] or ""): {k: v for k, v in r.items()
                                   if k != "tenant"}
             for r in map(json.loads, p.stdout.splitlines())}
    check(len(seen) == 1 and py_sum == c_sum,
          "reading past it: the same sums as xenos-usage's")
    p = subprocess.run([sys.executable, os.path.join(
        build, "exporter", "python", "xenos_usage.py"), "sum", "--by",
        "tenant", bad], capture_output=True, text=True)
    check(p.returncode == 1 and "byte %d: CRC-32C mismatch" % off in
          p.stderr, "xenos_usage.py sum: exit 1, %s" % p.stderr.strip())
finally:
    if xd:
        xd.kill()
        xd.wait()
    try:
        host_req(sock, "SHUTDOWN")
    except OSError:
        pass
    if fails:
        print(open(os.path.join(tmp, "xenosd.log")).read())
    shutil.rmtree(tmp, ignore_errors=True)

if fails:
    sys.exit("ledger: %d failed" % len(fails))
