"""The moved wall clock of child processes: the hour picked, and libfaketime really moving only
the wall clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

from tests.support.clock import after_close, faketime_env, kst


def test_after_close_is_the_latest_20_kst() -> None:
    day = date(2026, 3, 4)
    assert after_close(kst(day, 20)) == kst(day, 20)
    assert after_close(kst(day, 23, 59)) == kst(day, 20)
    assert after_close(kst(day, 19, 59)) == kst(day - timedelta(days=1), 20)
    assert after_close(kst(day, 0)) == kst(day - timedelta(days=1), 20)
    assert after_close(kst(day, 20)) == datetime(2026, 3, 4, 11, tzinfo=UTC)


def test_a_child_sees_the_moved_wall_clock_and_the_real_monotonic_one() -> None:
    before = time.monotonic()
    at = datetime.now(UTC) - timedelta(days=3, hours=5)
    env = faketime_env(at)  # the shift, in whole seconds, is fixed here
    t0 = at.timestamp()
    out = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time(), time.monotonic())"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    after = time.monotonic()
    # the child's wall clock is ``at`` plus the real time since the shift was fixed (however
    # slow its start), give or take the shift's rounding; the monotonic clock is not moved
    assert t0 - 0.5 <= float(out[0]) <= t0 + (after - before) + 0.5
    assert before <= float(out[1]) <= after
