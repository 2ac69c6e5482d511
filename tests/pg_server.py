"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, started on a unix
socket there (no TCP port), stopped at the end. Found on PATH or under
/usr/lib/postgresql/*/bin; when the process runs as root (which initdb refuses), the
server runs as the `postgres` user (or `nobody`) through `runuser`."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager


def binaries() -> str | None:
    """The folder of initdb/pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(found)
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(folder, "initdb")) and os.path.exists(os.path.join(folder, "pg_ctl")):
            return folder
    return None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


@contextmanager
def server():
    """Yields a psycopg connection string of a fresh database; stops the server after."""
    folder = binaries()
    if folder is None:
        raise RuntimeError("no PostgreSQL binaries")
    prefix = _run_as()
    root = tempfile.mkdtemp(prefix="verdict-pg-")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        subprocess.run(prefix + [os.path.join(folder, "initdb"), "-D", data, "-U", "verdict", "--auth=trust",
                                 "-E", "UTF8", "--locale=C"], check=True, capture_output=True, env=env)
        subprocess.run(prefix + [os.path.join(folder, "pg_ctl"), "-D", data, "-w", "-l", os.path.join(root, "log"),
                                 "-o", f"-k {root} -c listen_addresses='' -c fsync=off", "start"],
                       check=True, capture_output=True, env=env)
        try:
            yield f"host={root} dbname=postgres user=verdict"
        finally:
            subprocess.run(prefix + [os.path.join(folder, "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                           capture_output=True, env=env)
    finally:
        shutil.rmtree(root, ignore_errors=True)
