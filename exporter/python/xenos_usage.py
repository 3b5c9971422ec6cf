"""xenos_usage: read xenosd's usage ledger in Python.

Needs only Debian's python3-protobuf and the standard library.  The
records' classes come from usage_pb2.py, which `protoc --python_out`
makes from usage.proto at build time and which is installed next to this
file (/usr/share/xenos/python/).  The framing (docs/usage-format.md) is
read here: the magic and version, then frames of a u32 little-endian
length, the protobuf payload, and a u32 CRC-32C of the length and the
payload.  Every frame's CRC is checked; the first frame of a file is a
UsageFileHeader, every later one a UsageRecord.

    import xenos_usage
    for rec in xenos_usage.records("/var/lib/xenos/usage"):
        print(rec.seq, rec.tenant.decode(errors="replace"), rec.cpu_ns)

Damage raises LedgerError naming the file and the byte offset, unless
damage="skip": then it is reported to a callback and reading goes on at
the next whole record, as xenos-usage does.

As a program:

    xenos_usage.py sum --by tenant|domain [--from T] [--to T] DIR|FILE...
    xenos_usage.py dump DIR|FILE...            (one JSON object a line)
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import usage_pb2  # noqa: E402  (generated next to this file)

MAGIC = b"XENOSUL\n"
VERSION = 1
PREAMBLE = len(MAGIC) + 4
FRAME_OVERHEAD = 8

# The counters a record carries (counters.def's LEDGER 1 column), which
# `xenos-usage sum` adds up, in its column order.
COUNTERS = ("cpu_ns", "memory_byte_seconds", "vbd_read_bytes",
            "vbd_write_bytes", "vbd_read_ops", "vbd_write_ops",
            "vif_rx_bytes", "vif_tx_bytes")
# Unknown, not zero, when sched_stats is false.
SCHED_FIELDS = ("wait_ns", "throttled_ns", "peak_window_pct")


def _crc32c_table():
    # Castagnoli, reflected: polynomial 0x1EDC6F41 reversed.
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C of the bytes @data, continuing from @crc (0 to start), as
    common/crc32c.c computes it."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class LedgerError(Exception):
    """Damage in a ledger file: .path, .offset (bytes) and .why."""

    def __init__(self, path, offset, why):
        super().__init__("%s: byte %d: %s" % (path, offset, why))
        self.path, self.offset, self.why = path, offset, why


def _frame_at(buf, off):
    """The payload of a whole frame with a good CRC at @off, or the reason
    there is none (a str)."""
    if len(buf) - off < FRAME_OVERHEAD:
        return "cut short (less than a frame)"
    (n,) = struct.unpack_from("<I", buf, off)
    if n > len(buf) - off - FRAME_OVERHEAD:
        return "length runs past the end of the file"
    (crc,) = struct.unpack_from("<I", buf, off + 4 + n)
    if crc32c(buf[off:off + 4 + n]) != crc:
        return "CRC-32C mismatch"
    return bytes(buf[off + 4:off + 4 + n])


def _decode(cls, payload):
    msg = cls()
    try:
        msg.ParseFromString(payload)
    except Exception:  # google.protobuf.message.DecodeError and kin
        return None
    return msg


def read_file(path, damage="raise", on_damage=None):
    """Yield (offset, UsageRecord) for every record of the ledger file
    @path, in order, after checking its preamble and each frame's CRC.

    damage="raise": the first damage raises LedgerError(path, offset,
    why).  damage="skip": on_damage(LedgerError) is called and reading
    resumes at the next offset where a whole record with a good CRC that
    decodes starts (docs/usage-format.md, "Damage")."""
    with open(path, "rb") as f:
        buf = f.read()

    def hurt(off, why):
        err = LedgerError(path, off, why)
        if damage == "raise":
            raise err
        if on_damage:
            on_damage(err)

    def resync(off):
        for o in range(off, len(buf) - FRAME_OVERHEAD + 1):
            p = _frame_at(buf, o)
            if isinstance(p, bytes) and _decode(usage_pb2.UsageRecord, p):
                return o
        return len(buf)

    if not buf:
        hurt(0, "empty file (zero length, no header)")
        return
    if len(buf) < PREAMBLE or buf[:len(MAGIC)] != MAGIC:
        hurt(0, "not a xenos usage ledger (bad magic)")
        off, want_hdr = resync(0), False
    else:
        (version,) = struct.unpack_from("<I", buf, len(MAGIC))
        if version != VERSION:
            hurt(len(MAGIC), "unsupported format version %d" % version)
            return
        off, want_hdr = PREAMBLE, True
    while off < len(buf):
        p = _frame_at(buf, off)
        if isinstance(p, bytes):
            cls = usage_pb2.UsageFileHeader if want_hdr else \
                usage_pb2.UsageRecord
            msg = _decode(cls, p)
            if msg is not None:
                if not want_hdr:
                    yield off, msg
                want_hdr = False
                off += len(p) + FRAME_OVERHEAD
                continue
            why = "record does not decode (CRC good)"
        else:
            why = "file header damaged" if want_hdr else p
        hurt(off, why)
        want_hdr = False
        off = resync(off + 1)


def ledger_files(path):
    """The ledger files of directory @path in time order (their names
    sort so), or [path] for a file."""
    if not os.path.isdir(path):
        return [path]
    return [os.path.join(path, n) for n in sorted(os.listdir(path))
            if n.startswith("usage-") and n.endswith(".xul")]


def records(*paths, damage="raise", on_damage=None):
    """Every UsageRecord of the ledger directories or files @paths."""
    for p in paths:
        for f in ledger_files(p):
            for _, rec in read_file(f, damage, on_damage):
                yield rec


def sched(rec, field):
    """@field of SCHED_FIELDS, or None when the record says the hypervisor
    did not count it (sched_stats false): unknown, not zero."""
    return getattr(rec, field) if rec.sched_stats else None


def as_dict(rec):
    """@rec as a dict under usage.proto's field names, as `xenos-usage
    dump --format jsonl` prints it (bytes as UTF-8, bad bytes U+FFFD; an
    empty tenant None; unknown contention counters None)."""
    d = {}
    for fd in usage_pb2.UsageRecord.DESCRIPTOR.fields:
        v = getattr(rec, fd.name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", errors="replace")
        d[fd.name] = v
    d["tenant"] = d["tenant"] or None
    for f in SCHED_FIELDS:
        d[f] = sched(rec, f)
    return d


def sum_by(recs, by="tenant", from_ns=0, to_ns=None):
    """Per tenant (or per domain uuid): {"records": n, counter: total, ...},
    over the records whose interval starts in [from_ns, to_ns), as
    `xenos-usage sum` adds them: wait_ns and throttled_ns added up and
    peak_window_pct the highest, or None unless every record of the row
    had them (sched_stats)."""
    rows = {}
    for r in recs:
        if r.start_unix_ns < from_ns or (to_ns is not None and
                                         r.start_unix_ns >= to_ns):
            continue
        key = r.tenant.decode("utf-8", errors="replace") if by == "tenant" \
            else r.uuid
        row = rows.get(key)
        if row is None:
            row = rows[key] = dict.fromkeys(("records",) + COUNTERS +
                                            SCHED_FIELDS, 0)
        row["records"] += 1
        for c in COUNTERS:
            row[c] += getattr(r, c)
        if not r.sched_stats or row["wait_ns"] is None:
            row.update(dict.fromkeys(SCHED_FIELDS))
            continue
        row["wait_ns"] += r.wait_ns
        row["throttled_ns"] += r.throttled_ns
        row["peak_window_pct"] = max(row["peak_window_pct"],
                                     r.peak_window_pct)
    return rows


def _main(argv):
    ap = argparse.ArgumentParser(
        prog="xenos_usage.py",
        description="Read xenosd's usage ledger (docs/usage-format.md).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sum", help="totals per tenant or domain, a JSON "
                                   "object a line, sorted by key")
    s.add_argument("--by", choices=("tenant", "domain"), required=True)
    s.add_argument("--from", dest="from_s", type=int, default=0,
                   help="unix seconds: records whose interval starts here "
                        "or later")
    s.add_argument("--to", dest="to_s", type=int, default=None,
                   help="unix seconds: ... and before this")
    d = sub.add_parser("dump", help="every record, a JSON object a line")
    for p in (s, d):
        p.add_argument("--skip-damaged", action="store_true",
                       help="report damage on stderr and go on (exit 1)")
        p.add_argument("paths", nargs="+", metavar="DIR|FILE")
    a = ap.parse_args(argv)
    damaged = []

    def report(err):
        damaged.append(err)
        print("xenos_usage.py: %s" % err, file=sys.stderr)

    recs = records(*a.paths, damage="skip" if a.skip_damaged else "raise",
                   on_damage=report)
    try:
        if a.cmd == "dump":
            for r in recs:
                print(json.dumps(as_dict(r)))
        else:
            rows = sum_by(recs, a.by, a.from_s * 10**9,
                          None if a.to_s is None else a.to_s * 10**9)
            key = "tenant" if a.by == "tenant" else "uuid"
            for k in sorted(rows):
                # as xenos-usage: the domains of no tenant under null
                print(json.dumps(dict({key: k or None}, **rows[k])))
    except LedgerError as e:
        print("xenos_usage.py: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("xenos_usage.py: %s" % e, file=sys.stderr)
        return 2
    return 1 if damaged else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
