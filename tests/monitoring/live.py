#!/usr/bin/env python3
"""
live.py: the monitoring mixin against the real thing.  Starts xenosd on
the sim backend (the demo host of `make run`, a temporary state dir, a
free port) and a real Prometheus (a temporary dir, scrape and rule
evaluation every second, monitoring/xenos-rules.yml loaded) scraping it,
waits until it has scraped a few times, then asks Prometheus' HTTP API
for every query of the Grafana dashboard (template variables put in:
this host, a set of tenants, every domain), every template variable's
values, and every recording rule (its expression and the series it
records), and fails naming each that comes back empty.  It also checks
that each panel has one unit on a linear axis.  Waits are
bounded polls; nothing is timed.

Usage: live.py SOURCE_DIR BUILD_DIR
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DEADLINE_S = 50
TENANTS = "globex|acme|initech"         # a capped tenant among them


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, path, **params):
    url = "http://127.0.0.1:%d%s?%s" % (port, path,
                                        urllib.parse.urlencode(params, doseq=True))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def query(port, expr):
    """The result of an instant query; [] on an error the API reports."""
    try:
        d = api(port, "/api/v1/query", query=expr)
    except (OSError, ValueError) as e:
        return None, str(e)
    return d.get("data", {}).get("result", []), d.get("error", "")


def wait_for(what, fn, deadline):
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit("live: timed out waiting for %s" % what)


def dashboard_queries(path, values):
    """(title, expr) of every panel target, template variables put in."""
    with open(path) as f:
        dash = json.load(f)
    out = []
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        # One unit a panel, on a linear axis.
        d = p["fieldConfig"]["defaults"]
        if not d.get("unit") or d["custom"]["scaleDistribution"]["type"] != "linear":
            sys.exit("live: panel %r: no unit or not a linear axis" % p["title"])
        if any(o["properties"] and o["properties"][0]["id"] == "unit"
               for o in p["fieldConfig"]["overrides"]):
            sys.exit("live: panel %r: a second unit" % p["title"])
        for t in p.get("targets", []):
            out.append((p["title"], substitute(t["expr"], values)))
    variables = [v for v in dash["templating"]["list"] if v["type"] == "query"]
    return out, variables


def substitute(expr, values):
    for k, v in values.items():
        expr = expr.replace("$" + k, v).replace("${%s}" % k, v)
    if "$" in expr:
        raise SystemExit("live: a variable left in: %s" % expr)
    return expr


def rules(path):
    """(record name, expr) of every recording rule: the file is plain
    YAML of a fixed shape, read without a YAML library."""
    out, name = [], None
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*- record: (\S+)", line)
            if m:
                name = m.group(1)
                continue
            m = re.match(r"\s*expr: (.*)", line)
            if m and name:
                out.append((name, m.group(1).strip()))
                name = None
    return out


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="xenos-mixin-")
    xport, pport = free_port(), free_port()
    state = os.path.join(tmp, "state")
    procs = []
    failed = []
    try:
        log = open(os.path.join(tmp, "xenosd.log"), "w")
        procs.append(subprocess.Popen(
            [os.path.join(build, "xenosd/xenosd"), "--backend", "sim",
             "--scenario", os.path.join(src, "sched/sim/scenarios/demo-host.yaml"),
             "--policy-file", os.path.join(src, "policies/examples/tenants.yaml"),
             "--simhost", os.path.join(build, "sched/sim/xenos-simhost"),
             "--interval-ms", "1000", "--state-dir", state,
             "--listen", "127.0.0.1:%d" % xport], stderr=log))
        rule_file = os.path.join(src, "monitoring/xenos-rules.yml")
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: xenos\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (rule_file, xport))
        plog = open(os.path.join(tmp, "prometheus.log"), "w")
        procs.append(subprocess.Popen(
            ["prometheus", "--config.file", os.path.join(tmp, "prometheus.yml"),
             "--storage.tsdb.path", os.path.join(tmp, "tsdb"),
             "--web.listen-address", "127.0.0.1:%d" % pport],
            stdout=plog, stderr=plog))
        deadline = time.monotonic() + DEADLINE_S
        wait_for("prometheus ready",
                 lambda: urllib.request.urlopen(
                     "http://127.0.0.1:%d/-/ready" % pport, timeout=2).status == 200,
                 deadline)
        # A few scrapes: rate()s over a minute need two points, and the
        # recording rules evaluate after them.
        wait_for("five scrapes of xenosd",
                 lambda: (query(pport, 'count_over_time(xenos_intervals_total'
                                '{job="xenos"}[1m]) >= 5')[0] or []) != [],
                 deadline)

        instance = "127.0.0.1:%d" % xport
        # Concrete values where a regex is expected, as Grafana puts them
        # in (a dot of the address matches itself too).
        values = {"instance": instance, "tenant": TENANTS,
                  "domain": ".*", "__rate_interval": "1m", "__range": "5m",
                  "__interval": "1s"}
        panels, variables = dashboard_queries(
            os.path.join(src, "monitoring/xenos-dashboard.json"), values)
        checks = [("panel %r" % t, e) for t, e in panels]
        for name, expr in rules(rule_file):
            checks.append(("rule %s (expr)" % name, expr))
            checks.append(("rule %s (recorded)" % name, name))
        if len(panels) < 20 or len(checks) - len(panels) < 16:
            sys.exit("live: too few queries found (%d panels, %d rules)"
                     % (len(panels), (len(checks) - len(panels)) // 2))
        pending = list(checks)
        # Recorded series appear at the first evaluation after enough
        # scrapes: poll each until it answers, within the deadline.
        while pending and time.monotonic() < deadline:
            pending = [(w, e) for w, e in pending if not query(pport, e)[0]]
            if pending:
                time.sleep(0.5)
        for w, e in pending:
            failed.append("%s: no data for %s (%s)" % (w, e, query(pport, e)[1]))
        for v in variables:
            m = re.match(r"label_values\((.*),\s*(\w+)\)$", v["query"]["query"])
            if not m:
                failed.append("variable %s: not label_values(): %s"
                              % (v["name"], v["query"]["query"]))
                continue
            match = substitute(m.group(1), values)
            try:
                got = api(pport, "/api/v1/label/%s/values" % m.group(2),
                          **{"match[]": match}).get("data", [])
            except OSError as e:
                got = []
                match += " (%s)" % e
            if not got:
                failed.append("variable %s: no values for %s" % (v["name"], match))
        print("live: %d dashboard queries, %d recording rules, %d variables; "
              "%d without data" % (len(panels), (len(checks) - len(panels)) // 2,
                                   len(variables), len(failed)))
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # The simulated host outlives xenosd by design: stop it.
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(os.path.join(state, "simhost.sock"))
                s.sendall(b"SHUTDOWN\n")
                s.recv(64)
        except OSError:
            pass
        if failed:
            for name in ("xenosd.log", "prometheus.log"):
                with open(os.path.join(tmp, name), errors="replace") as f:
                    sys.stderr.write("--- %s (tail)\n%s" % (name, "".join(f.readlines()[-15:])))
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failed:
        print("live: FAIL " + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
