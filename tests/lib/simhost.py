"""
simhost.py: talking to a xenos-simhost over its socket (docs/sim-backend.md),
for the Python tests (tests/ship/, tests/fleet/).
"""
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
