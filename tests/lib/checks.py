"""
checks.py: the verdict lines of the Python tests (tests/ship/): one
"NAME: ok: WHAT" or "NAME: FAIL: WHAT" line per check, and the failures
kept for the exit status.
"""


class Checks:
    def __init__(self, name):
        self.name = name
        self.failed = []

    def __call__(self, ok, what):
        print("%s: %s: %s" % (self.name, "ok" if ok else "FAIL", what))
        if not ok:
            self.failed.append(what)
