"""The session clock rule: open at any wall-clock hour, never stamp a tick after the wall clock."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from aegis.core.timeutil import KST, to_us
from aegis.sources.sim.calendar import close_us, first_session, is_trading_day, open_us


def kst(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return to_us(datetime(year, month, day, hour, minute, tzinfo=KST))


def test_weekend_plays_friday_from_the_open() -> None:
    assert first_session(kst(2026, 11, 22, 3, 0), 1.0) == (
        date(2026, 11, 20),
        open_us(date(2026, 11, 20)),
    )


def test_evening_plays_today_from_the_open() -> None:
    day, start = first_session(kst(2026, 11, 18, 21, 0), 1.0)
    assert (day, start) == (date(2026, 11, 18), open_us(date(2026, 11, 18)))


def test_early_morning_plays_the_previous_weekday() -> None:
    assert first_session(kst(2026, 11, 16, 7, 0), 1.0)[0] == date(2026, 11, 13)


def test_realtime_inside_trading_hours_follows_the_wall_clock() -> None:
    wall = kst(2026, 11, 18, 11, 15)
    assert first_session(wall, 1.0) == (date(2026, 11, 18), wall)


def test_fast_speed_early_in_the_day_plays_the_previous_weekday() -> None:
    assert first_session(kst(2026, 11, 18, 9, 30), 10.0) == (
        date(2026, 11, 17), open_us(date(2026, 11, 17)),
    )  # fmt: skip


@given(
    wall=st.integers(kst(2026, 1, 1, 0, 0), kst(2027, 1, 1, 0, 0)),
    speed=st.sampled_from([0.25, 0.5, 1.0, 2.0, 10.0, 60.0, 1000.0]),
)
def test_session_never_overtakes_the_wall_clock(wall: int, speed: float) -> None:
    day, start = first_session(wall, speed)
    assert is_trading_day(day)
    assert open_us(day) <= start <= wall
    # played at `speed` from `start`, every instant t keeps session(t) ≤ t, through the close
    end_wall = wall + (close_us(day) - start) / speed
    assert close_us(day) <= end_wall + 1


def test_krx_holidays_do_not_trade() -> None:
    from aegis.sources.sim.calendar import next_trading_day

    assert not is_trading_day(date(2026, 10, 9))  # 한글날, a Friday
    assert not is_trading_day(date(2026, 12, 31))  # the year-end close
    assert not is_trading_day(date(2026, 9, 24)) and not is_trading_day(date(2026, 9, 25))
    assert next_trading_day(date(2026, 10, 8)) == date(2026, 10, 12)
    assert is_trading_day(date(2026, 10, 8))


def test_a_holiday_evening_plays_the_previous_trading_day() -> None:
    assert first_session(kst(2026, 10, 9, 20, 0), 1.0)[0] == date(2026, 10, 8)


def test_the_first_trading_day_of_the_year_opens_at_ten() -> None:
    from aegis.sources.sim.calendar import session_minutes

    first = date(2027, 1, 4)  # 1 January is a holiday, then a weekend
    assert open_us(first) == kst(2027, 1, 4, 10, 0)
    assert session_minutes(first) == 330
    assert open_us(date(2027, 1, 5)) == kst(2027, 1, 5, 9, 0)
    assert first_session(kst(2027, 1, 4, 9, 30), 1.0)[0] == date(2026, 12, 30)


def test_krx_phases_of_a_day_including_off_hours() -> None:
    from aegis.sources.sim.phases import phase_at

    day = (2026, 11, 20)
    expected = {
        (8, 0): "closed", (8, 35): "pre_off_hours", (8, 50): "opening_auction",
        (9, 0): "continuous", (15, 25): "closing_auction", (15, 35): "closed",
        (15, 45): "post_off_hours", (17, 0): "after_hours_single_price", (18, 30): "closed",
    }  # fmt: skip
    assert {hm: phase_at(kst(*day, *hm)) for hm in expected} == expected
    assert phase_at(kst(2027, 1, 4, 9, 30)) == "opening_auction"  # the 10:00 first-day open
    assert phase_at(kst(2026, 10, 9, 11, 0)) == "closed"  # 한글날
