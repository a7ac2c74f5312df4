"""The hang dump names the ``await`` a hung async test is stuck on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HUNG = """
import asyncio
import pytest

async def wait_for_a_reply_that_never_comes() -> None:
    await asyncio.sleep(6)

@pytest.mark.timeout(61)  # the dump comes 60 s ahead of the deadline: after 1 s here
async def test_stuck() -> None:
    await wait_for_a_reply_that_never_comes()
"""


def test_a_test_near_its_timeout_prints_where_each_task_waits(tmp_path: Path) -> None:
    (tmp_path / "test_stuck.py").write_text(HUNG)
    res = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider",
            "-p", "tests.support.hangdump", "-o", "asyncio_mode=auto", "--rootdir", str(tmp_path),
            str(tmp_path / "test_stuck.py"),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "asyncio tasks of the test's event loop" in out
    assert "in wait_for_a_reply_that_never_comes" in out  # the awaited frame, not only the test's
    assert "await asyncio.sleep(6)" in out
