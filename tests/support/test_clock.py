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
    at = datetime.now(UTC) - timedelta(days=3, hours=5)
    before = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time(), time.monotonic())"],
        env={**os.environ, **faketime_env(at)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    after = time.monotonic()
    # a minute's slack for a slow start; the shift is three days
    assert abs(float(out[0]) - at.timestamp()) < 60
    assert before <= float(out[1]) <= after
