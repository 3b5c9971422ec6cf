"""
pgtmp.py: a throwaway PostgreSQL server for tests and bench (tests/ship/,
tests/fleet/, bench/ship): initdb into a temporary directory, a unix
socket there and no TCP listener (so no port clash with anything), trust
authentication for the superuser `xenos`.  PostgreSQL refuses to run as
root: as root the server runs as `nobody`.  Debian's postgresql 15
(scripts/install-deps).
"""
import os
import pwd
import shutil
import subprocess

PGBIN = "/usr/lib/postgresql/15/bin"
PSQL = "/usr/bin/psql"


class Postgres:
    def __init__(self, root, fsync=True):
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        os.makedirs(self.dir)
        self.asuser = []
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chmod(root, 0o755)
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.asuser = ["runuser", "-u", "nobody", "--"]
        self._run([os.path.join(PGBIN, "initdb"), "-D", self.data, "-U",
                   "xenos", "--auth=trust", "-E", "UTF8", "--no-locale"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\n"
                    "fsync = %s\nmax_connections = 60\n"
                    % (self.dir, "on" if fsync else "off"))
        self.conninfo = "host=%s user=xenos dbname=postgres" % self.dir
        self.restarts = 0

    def _run(self, argv):
        r = subprocess.run(self.asuser + argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            raise SystemExit("pgtmp: %s failed:\n%s" % (argv[0], r.stdout))

    def start(self):
        self._run([os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-l",
                   self.log, "-w", "-t", "60", "start"])

    def stop(self, mode="fast"):
        """mode "immediate" is a crash: no checkpoint, recovery at start."""
        self._run([os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-m",
                   mode, "-w", "stop"])

    def crash_restart(self):
        self.stop("immediate")
        self.start()
        self.restarts += 1

    def sql(self, query, db="postgres"):
        """Rows of @query as lists of strings (psql -At, '|' separated)."""
        r = subprocess.run([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1",
                            "-h", self.dir, "-U", "xenos", "-d", db, "-c",
                            query], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise SystemExit("pgtmp: %s: %s" % (query, r.stderr.strip()))
        return [l.split("|") for l in r.stdout.splitlines() if l]

    def hold_usage_lock(self, db="postgres"):
        """A session that holds xenos_usage in SHARE mode: a shipper's
        COPY then waits inside its transaction.  Returns the psql process:
        release() it."""
        p = subprocess.Popen([PSQL, "-X", "-q", "-h", self.dir, "-U", "xenos",
                              "-d", db], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True)
        p.stdin.write("BEGIN;\nLOCK TABLE xenos_usage IN SHARE MODE;\n")
        p.stdin.flush()
        return p

    @staticmethod
    def release(p):
        p.stdin.write("COMMIT;\n")
        p.stdin.close()
        p.wait()

    def copy_waiting(self, db="postgres"):
        """Sessions whose COPY waits for a lock (inside a transaction)."""
        return int(self.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                            "wait_event_type = 'Lock' AND query LIKE 'COPY%'",
                            db)[0][0])

    def conn(self, db):
        return "host=%s user=xenos dbname=%s" % (self.dir, db)

    def cleanup(self):
        try:
            self.stop("immediate")
        except SystemExit:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
