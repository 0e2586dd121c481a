"""A throw-away PostgreSQL cluster of a test's own, for tests that stop or restart PostgreSQL.

The server of ``REGISTRY_TEST_POSTGRES_URL`` is shared: other tests running at the same time, and people, use it.
A test that restarts it breaks their connections and, on a shared machine, someone else's work. Such a test gets a
cluster of its own instead: ``initdb`` into a temporary directory, a free port on 127.0.0.1 only, trust
authentication, its Unix socket in the data directory, no fsync (nothing in it has to survive a crash of the machine).
``scratch_cluster`` always stops it and removes its files, also when the test fails.

``initdb`` and ``postgres`` refuse to run as root, and the suite runs as root in CI: as root they run as the
``postgres`` OS user (``runuser``), in a directory that user owns; as anyone else, as that user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.servers import free_port

OS_USER = "postgres"
"""Who runs the server when the suite runs as root: Debian's PostgreSQL packages create this user."""

SUPERUSER = "postgres"
TIMEOUT_SECONDS = 60


def pg_bindir() -> Path | None:
    """The directory with ``initdb``, ``pg_ctl`` and ``postgres``: on PATH, or Debian's newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian keeps the server binaries off PATH)."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).parent] if on_path else []
    versions = Path("/usr/lib/postgresql")
    if versions.is_dir():
        numbered = [p for p in versions.iterdir() if re.fullmatch(r"\d+", p.name)]
        candidates += [p / "bin" for p in sorted(numbered, key=lambda p: int(p.name), reverse=True)]
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def unavailable() -> str | None:
    """Why no scratch cluster can be made on this machine, or None when one can."""
    if pg_bindir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} OS user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return f"running as root and there is no runuser to run PostgreSQL as {OS_USER!r}"
    return None


class PgCluster:
    """One scratch cluster: its URLs, and stop, start and restart the way an operator would (``pg_ctl``)."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.data_dir = root / "data"
        self.log_path = root / "postgres.log"
        self.port = port

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        """The maintenance database's URL (the superuser's, for creating databases)."""
        return self.url_for("postgres")

    def create_database(self, name: str) -> str:
        """Creates an empty database and returns its URL."""
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url_for(name)

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        self._configure(settings)

    def move_to(self, port: int) -> None:
        """Another port before the next start: the one ``free_port`` found was taken before the server bound it."""
        self.port = port
        self._configure({"port": str(port)})

    def _configure(self, settings: dict[str, str]) -> None:
        # The last setting in postgresql.conf wins; appending (as root too) leaves the file the postgres user's.
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# tests/support/pg_cluster.py\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        self._pg_ctl("start", "-l", str(self.log_path))

    def stop(self, mode: str = "fast") -> None:
        """``fast`` (the default of ``pg_ctl`` and ``pg_ctlcluster``) disconnects the clients and shuts down cleanly;
        ``immediate`` is a crash."""
        self._pg_ctl("stop", "-m", mode)

    def restart(self) -> None:
        """What the test used to do to the shared server with ``pg_ctlcluster restart``: a fast shutdown, then start."""
        self._pg_ctl("restart", "-m", "fast", "-l", str(self.log_path))

    def is_running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", str(TIMEOUT_SECONDS), *args)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        # With -l the postmaster writes to the log file, not to these pipes, so reading them to the end cannot hang.
        result = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=TIMEOUT_SECONDS + 30, check=False
        )
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {result.stdout}{result.stderr}\n{log}")


@contextmanager
def scratch_cluster() -> Iterator[PgCluster]:
    """A started scratch cluster; stopped and removed afterwards, whatever happened in between.

    The directory is made by ``mkdtemp`` under the system temp directory (world-traversable, unlike pytest's
    ``tmp_path`` under root's 0700 ``/tmp/pytest-of-root``) and given to the ``postgres`` user when running as root.
    """
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError(unavailable() or "no PostgreSQL server binaries")
    root = Path(tempfile.mkdtemp(prefix="rr-pg-"))
    try:
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = PgCluster(bindir, root, free_port())
        cluster.init()
        try:
            _start_on_a_free_port(cluster)
            yield cluster
        finally:
            if cluster.is_running():
                try:
                    cluster.stop("fast")
                except (RuntimeError, subprocess.TimeoutExpired):
                    cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start_on_a_free_port(cluster: PgCluster, attempts: int = 3) -> None:
    """Starts the cluster; another process on this shared machine may take the free port first, so a failed start is
    retried on another one."""
    for attempt in range(attempts):
        try:
            cluster.start()
            return
        except RuntimeError:
            if attempt == attempts - 1 or cluster.is_running():
                raise
            cluster.move_to(free_port())
