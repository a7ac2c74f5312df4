"""Child processes on a moved wall clock: libfaketime (Debian package ``libfaketime``, installed by
``.ci/run``) preloaded with a fixed offset, so that a test's ``aegis`` processes see the KST hour
the test needs whatever the hour it runs at.

Only the wall clock moves: the monotonic clock (timeouts, pacing) is left alone, and the offset is
fixed, so processes started later with the same environment share one continuous clock (compute
the environment once per test). PostgreSQL, Redis and the test process keep the real clock.

``after_close_env()``: the latest 20:00 KST. A simulator started after the close plays that day's
(or the last trading day's) whole session from the 09:00 open, with nothing to catch up, and at
10x its continuous trading lasts 38 minutes: no test sees an auction, a close or a catch-up. The
latest rather than the next 20:00: a clock behind Redis's is the safe side (a subscriber that
cannot reach Redis starts from its own "now", which must not be ahead of the stream's ids).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.support.services import unavailable

KST = timedelta(hours=9)
AFTER_CLOSE_HOUR = 20
FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)


def faketime_lib() -> str:
    """The library's path; skips the test without it (fails under AEGIS_REQUIRE_SERVICES)."""
    found = next((lib for lib in FAKETIME_LIBS if Path(lib).exists()), None)
    if found is None:
        unavailable("libfaketime is not installed (apt-get install libfaketime)")
    assert found is not None
    return found


def kst(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` KST on ``day``, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - KST


def kst_today() -> date:
    return (datetime.now(UTC) + KST).date()


def after_close(now: datetime | None = None) -> datetime:
    """The latest 20:00 KST not after ``now``."""
    now = now or datetime.now(UTC)
    return kst((now + KST - timedelta(hours=AFTER_CLOSE_HOUR)).date(), AFTER_CLOSE_HOUR)


def faketime_env(at: datetime) -> dict[str, str]:
    """Environment variables that make a child process's wall clock read ``at`` now."""
    shift = round((at - datetime.now(UTC)).total_seconds())
    return {
        "LD_PRELOAD": faketime_lib(),
        "FAKETIME": f"{shift:+d}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def after_close_env() -> dict[str, str]:
    return faketime_env(after_close())
