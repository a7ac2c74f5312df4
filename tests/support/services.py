"""Real PostgreSQL and Redis servers on loopback for server-mode tests (owner: services helper).

Fixtures:

- ``postgres_server`` (session): one PostgreSQL cluster in a temporary directory on a free port.
- ``postgres_url`` (function): a fresh, empty database on that server for each test.
- ``redis_server`` (session): one ``redis-server`` without persistence on a free port.
- ``redis_url`` (function): that server's URL, flushed before each test.
- ``redis_factory`` (function): start extra Redis servers a test may stop and restart.

Without the binaries these fixtures skip with the reason, unless ``AEGIS_REQUIRE_SERVICES=1``
(CI), where a missing server is a failure, so that CI never passes by skipping.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin")))
START_TIMEOUT_S = 30.0


def services_required() -> bool:
    return os.environ.get("AEGIS_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip, or fail where CI demands the real servers."""
    if services_required():
        pytest.fail(f"AEGIS_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S} s")


OWNER_FILE = "owner.pid"


def claim(root: Path) -> None:
    """Mark a server directory as this process's, so that a later run can clean up after a
    run that was killed before its teardown."""
    (root / OWNER_FILE).write_text(str(os.getpid()))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(root: Path) -> bool:
    try:
        return not pid_alive(int((root / OWNER_FILE).read_text()))
    except (OSError, ValueError):
        return False  # no owner recorded: not ours to judge


def _die_with_parent() -> None:
    """Child processes (redis-server) end when the test process dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# --- PostgreSQL --------------------------------------------------------------------------


def find_pg_bin() -> Path | None:
    override = os.environ.get("AEGIS_PG_BIN")
    for d in (override,) if override else PG_BIN_DIRS:
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file():
            return Path(d)
    return None


class PostgresServer:
    """A throwaway cluster: trust auth on 127.0.0.1 only; no fsync unless ``durable`` (test
    data is disposable; benchmarks want the real cost)."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.bin_dir = bin_dir
        self.durable = durable
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="aegis-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        # initdb refuses to run as root: as root, the cluster belongs to the postgres user.
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        claim(self.root)
        self._db_counter = itertools.count(1)

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [*self._as_user, *args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if res.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}\n{log}")

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._opts = opts
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            str(int(START_TIMEOUT_S)),
            "start",
        )
        wait_for_port(self.port, None, "postgres")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server as a crash would (no shutdown checkpoint), keeping its data."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
        )

    def resume(self) -> None:
        """Start the halted server again on the same port and data (it recovers from WAL)."""
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._opts,
            "-w",
            "-t",
            str(int(START_TIMEOUT_S)),
            "start",
        )
        wait_for_port(self.port, None, "postgres")

    def psql(self, sql: str, database: str = "postgres") -> str:
        res = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url(database),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {res.stderr}")
        return res.stdout.strip()

    def create_database(self) -> str:
        name = f"aegis_test_{os.getpid()}_{next(self._db_counter)}"
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        # WITH (FORCE) ends connections a failed test may have left open (PostgreSQL ≥ 13).
        with contextlib.suppress(RuntimeError):
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reap_orphaned_postgres(bin_dir: Path) -> None:
    """Stop clusters whose test run died before its teardown (pg_ctl detaches them)."""
    for root in Path(tempfile.gettempdir()).glob("aegis-pg-*"):
        if orphaned(root):
            cmd = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            subprocess.run(cmd, capture_output=True, timeout=60, check=False)
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        unavailable(
            "PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin; "
            "install the 'postgresql' package (see .ci/run)"
        )
        raise AssertionError("unreachable")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("running as root needs 'runuser' to start PostgreSQL as user postgres")
    reap_orphaned_postgres(bin_dir)
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for this test (dropped afterwards)."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


# --- Redis -------------------------------------------------------------------------------


class RedisServer:
    """``redis-server`` without persistence; can be stopped and started again on the same port
    (to test reconnection)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="aegis-redis-"))
        claim(self.dir)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()
        wait_for_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            s.sendall(b"FLUSHALL\r\n")
            reply = s.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL failed: {reply!r}")


def _redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable(
            "redis-server not found on PATH; install the 'redis-server' package (see .ci/run)"
        )
        raise AssertionError("unreachable")
    return binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    for root in Path(tempfile.gettempdir()).glob("aegis-redis-*"):
        if orphaned(root):  # its server died with its test run; only the directory is left
            shutil.rmtree(root, ignore_errors=True)
    server = RedisServer(_redis_binary())
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


class RedisFactory:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.servers: list[RedisServer] = []

    def __call__(self) -> RedisServer:
        server = RedisServer(self.binary)
        self.servers.append(server)
        server.start()
        return server


@pytest.fixture
def redis_factory() -> Iterator[RedisFactory]:
    """Private Redis servers for tests that stop and restart them."""
    factory = RedisFactory(_redis_binary())
    try:
        yield factory
    finally:
        for server in factory.servers:
            server.cleanup()
