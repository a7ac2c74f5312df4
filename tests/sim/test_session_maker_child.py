"""The child process making previous sessions does not outlive a server killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# a server stand-in: starts a SessionMaker (its child is spawned at once), says the child's
# pid, then idles until killed
SERVER = """
import sys, time
from tests.sim.conftest import small_market
from aegis.sources.sim.daily import DailyChain
from aegis.sources.sim.history import SessionMaker
from aegis.sources.sim.session import emit_mask
from aegis.sources.sim.universe import Universe

if __name__ == "__main__":
    u = Universe.build(small_market(), 7)
    maker = SessionMaker(u, 7, DailyChain(u, 7).anchors, emit_mask(u, None))
    pool = maker._pool
    assert pool is not None
    pool.submit(int).result()  # the child is up
    print(*pool._processes, flush=True)
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too (its parent, init here, reaps it in its own time)
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_the_session_maker_child_exits_when_the_server_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            assert line.strip(), f"no child pid (exit {server.poll()})"
            child = int(line.split()[0])
            assert alive(child)
            server.send_signal(signal.SIGKILL)
            server.wait()
            deadline = time.monotonic() + 120  # generous: how soon is not what this proves
            while alive(child) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not alive(child), "the child outlived its killed server"
        finally:
            server.kill()
