"""End-to-end fixtures: a real `aegis serve` with the simulator on a free loopback port, and
Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.clock import after_close_env

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("AEGIS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 90.0


def _unavailable(reason: str) -> None:
    """Skip, or fail when the environment promises every service is there."""
    if os.environ.get("AEGIS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (AEGIS_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dist_is_stale() -> bool:
    index = DIST / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [*(WEB / "src").rglob("*"), WEB / "index.html", WEB / "package.json"]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, rebuilt when the sources are newer (needs node_modules from `npm ci`)."""
    if _dist_is_stale():
        npm = shutil.which("npm")
        if npm is None or not (WEB / "node_modules").is_dir():
            _unavailable("web/dist is missing or stale and npm/node_modules are not available")
        assert npm is not None
        subprocess.run([npm, "run", "build"], cwd=WEB, check=True, capture_output=True)
    return DIST


class Server:
    """One `aegis serve` process; restartable on the same port and data directory.

    Its wall clock reads 20:00 KST (``after_close_env``) from the first start on: the simulator
    plays the day from the 09:00 open in continuous trading, with no morning to catch up first
    (up to 4.6 M ticks), and no auction or close comes within the run; the order path's market
    phase follows the simulator's trades, not the wall clock. A restart keeps the same clock, so
    the simulator resumes its day from the last stored tick."""

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.clock = after_close_env()
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "serve.log"

    def start(self) -> None:
        exe = str(Path(sys.executable).parent / "aegis")
        env = {
            **os.environ,
            "AEGIS_HOST": "127.0.0.1",
            "AEGIS_PORT": str(self.port),
            "AEGIS_DATA_DIR": str(self.data_dir),
            "AEGIS_SOURCE": "sim",
            "AEGIS_DATABASE_URL": "",
            "AEGIS_REDIS_URL": "",
            **self.clock,
        }
        env = {k: v for k, v in env.items() if v != ""}
        # AEGIS_E2E_SERVE_CMD runs the suite against another launcher ("{port}" is replaced).
        custom = os.environ.get("AEGIS_E2E_SERVE_CMD")
        if custom:
            cmd = shlex.split(custom.replace("{port}", str(self.port)))
        else:
            subprocess.run(
                [exe, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            cmd = [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aegis serve exited early:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"aegis serve did not become healthy:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None


# package scope: torn down when the e2e tests end, so that the sync Playwright loop is gone
# before asyncio tests elsewhere run
@pytest.fixture(scope="package")
def server(web_dist: Path) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="aegis-e2e-") as tmp:
        srv = Server(_free_port(), Path(tmp))
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="package")
def browser_context() -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package `playwright` is not installed (uv sync)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with tempfile.TemporaryDirectory(prefix="aegis-chromium-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1000},
            locale="ko-KR",
            timezone_id="UTC",  # the UI must show KST whatever the machine's zone is
        )
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(browser_context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    p = browser_context.new_page()
    p.set_default_timeout(30_000)
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield p
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # A crashed page still lets the test report its own failure.
        with contextlib.suppress(Exception):
            p.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
        p.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def wait_js(page: Page, expression: str, arg: object = None, *, timeout_ms: float = 30_000) -> None:
    """Wait until ``expression`` (a function source, e.g. ``() => …``) is truthy in the page.

    Playwright's ``wait_for_function`` compiles its predicate inside the page with ``eval``,
    which the dashboard's CSP forbids; ``page.evaluate`` runs through the debugging protocol,
    which the CSP does not govern."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression!r}")
        page.wait_for_timeout(100)
