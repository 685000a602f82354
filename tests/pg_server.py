"""Start a throw-away PostgreSQL server for the tests (and the bench).

Uses the server binaries of the machine (``/usr/lib/postgresql/<n>/bin`` on Debian,
or ``pg_ctl`` on PATH, or TAXGATE_PG_BIN). PostgreSQL refuses to run as root, so
when we are root the server runs as the ``postgres`` system user (created if
missing) from a data folder it owns under a fresh temp folder. Each call starts its
own server on its own free port, so pytest-xdist workers never share one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_USER = "postgres"


def find_bindir() -> Path:
    env = os.environ.get("TAXGATE_PG_BIN")
    if env:
        return Path(env)
    def major(p: Path) -> int:
        name = p.parent.parent.name
        return int(name) if name.isdigit() else 0

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=major)
    if debian:
        return debian[-1].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: install postgresql (Debian: postgresql-15) "
        "or set TAXGATE_PG_BIN, or point TAXGATE_TEST_PG_URL at a server"
    )


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when we are root (None: run as we are)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=True, capture_output=True)
        return pwd.getpwnam(PG_USER)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running server; ``url`` names its ``postgres`` database."""

    root: Path
    data: Path
    bindir: Path
    port: int
    user: pwd.struct_passwd | None

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _run(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                             "-w", "stop"], timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def _run(user: pwd.struct_passwd | None, cmd: list[str], timeout: float = 120) -> None:
    if user is not None:
        cmd = ["runuser", "-u", user.pw_name, "--", *cmd] if shutil.which("runuser") else [
            "su", user.pw_name, "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd="/")
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {proc.stderr.strip()[-2000:]}")


def start_server(attempts: int = 3) -> PgServer:
    """initdb a fresh cluster in a temp folder and start it on a free local port."""
    bindir = find_bindir()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="taxgate-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    _run(user, [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync"])
    last: Exception | None = None
    for _ in range(attempts):
        port = _free_port()
        opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        try:
            _run(user, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                        "-w", "-t", "60", "-o", opts, "start"])
            return PgServer(root, data, bindir, port, user)
        except RuntimeError as exc:  # port taken in between: try another
            last = exc
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start: {last}")


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
