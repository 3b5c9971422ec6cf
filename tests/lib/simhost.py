"""
simhost.py: talking to a xenos-simhost over its socket (docs/sim-backend.md),
for the Python tests (tests/ship/, tests/fleet/).
"""
import os
import socket


def request(sock, req):
    """One request; the reply, up to and with its END line."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(sock)
        s.sendall((req + "\n").encode())
        buf = b""
        while not buf.endswith(b"\nEND\n"):
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
    return buf.decode()


def shutdown(sock):
    """Stop the host (it outlives xenosd by design); quiet if it is gone."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(sock)
            s.sendall(b"SHUTDOWN\n")
            s.recv(64)
    except OSError:
        pass


def xenosd_argv(src, build, state, *extra):
    """xenosd on the sim backend as tests/ship/ run it: the demo host
    (runs on until shut down), the tenants example, a sample every 100 ms,
    a ledger interval of 1 s, state in @state, no RRD; @extra after."""
    return [os.path.join(build, "xenosd/xenosd"), "--backend", "sim",
            "--scenario", os.path.join(src, "sched/sim/scenarios/demo-host.yaml"),
            "--policy-file", os.path.join(src, "policies/examples/tenants.yaml"),
            "--simhost", os.path.join(build, "sched/sim/xenos-simhost"),
            "--interval-ms", "100", "--usage-interval-s", "1",
            "--state-dir", state, "--rrd-dir", "off"] + list(extra)
