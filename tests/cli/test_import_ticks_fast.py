"""The tick reader's column fast path gives what the row checker gives, and a batch import equals
a recomputation from every stored tick, also when the file is older than what is stored."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from aegis.aggregator.engine import recompute
from aegis.core.timeutil import parse_instant
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.ticks import Tick
from aegis.history import ticks_bytes, ticks_csv
from aegis.history.tick_import import import_parsed
from aegis.history.ticks_csv import read_ticks_csv
from aegis.reference import load_instruments
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

INSTRUMENTS = {i.symbol: i for i in load_instruments()}
TIMES = (
    "2024-03-04T09:00:00+09:00",
    "2024-03-04T00:00:00.5Z",
    "2024-03-03T23:59:59.999999-05:30",
    "2024-02-29T09:00:01.123+09:00",
    "2024-03-04 09:00:02.01+09:00",
)


def _rows(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        t = rnd.choice(TIMES)
        out.append(
            f"{rnd.choice(('005930', '000660'))},{t},{rnd.randint(1, 9) * 100},"
            f"{rnd.randint(0, 50)},{rnd.choice(('buy', 'sell', '', 'B', 's'))}"
        )
    return out


def test_fast_and_checked_paths_read_the_same_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "t.csv"
    f.write_text("symbol,time,price,volume,side\n" + "\n".join(_rows(500, 3)) + "\n")
    fast = read_ticks_csv(f, INSTRUMENTS)
    monkeypatch.setattr(ticks_csv, "_fast_block", lambda *a: None)
    checked = read_ticks_csv(f, INSTRUMENTS)
    assert not fast.errors and fast.ticks() == checked.ticks()
    lines = f.read_text().splitlines()[1:]
    assert [t.ts for t in fast.ticks()] == [parse_instant(x.split(",")[1]) for x in lines]
    # rows sharing (symbol, time) are numbered in file order
    seen: dict[tuple[str, int], int] = {}
    for t in fast.ticks():
        assert t.seq == seen.get((t.symbol, t.ts), 0)
        seen[(t.symbol, t.ts)] = t.seq + 1


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("005930,2024-02-30T09:00:00+09:00,100,1,", "day is out of range"),
        ("005930,2024-03-04T24:00:00+09:00,100,1,", "hour"),
        ("005930,2024-03-04T09:00:00,100,1,", "UTC offset"),
        ("005930,2024-03-04T09:00:00+09:00,-100,1,", "positive"),
        ("005930,2024-03-04T09:00:00+09:00,100.5,1,", "decimal places"),
        ("005930,2024-03-04T09:00:00+09:00,100,-1,", "non-negative"),
        ("005930,2024-03-04T09:00:00+09:00,100", "fields"),
    ],
)
def test_a_bad_value_anywhere_is_named_by_line(tmp_path: Path, bad: str, why: str) -> None:
    rows = _rows(300, 5)
    rows.insert(200, bad)
    f = tmp_path / "t.csv"
    f.write_text("symbol,time,price,volume,side\n" + "\n".join(rows) + "\n")
    parsed = read_ticks_csv(f, INSTRUMENTS)
    assert len(parsed.errors) == 1 and parsed.errors[0].startswith("line 202: ")
    assert why in parsed.errors[0]
    assert len(parsed) == 0


def _write(path: Path, ticks: list[Tick]) -> None:
    from aegis.core.timeutil import from_us

    lines = ["symbol,time,price,volume,side"]
    for t in ticks:
        stamp = from_us(t.ts).isoformat(timespec="microseconds")
        lines.append(f"{t.symbol},{stamp},{t.price},{t.volume},")
    path.write_text("\n".join(lines) + "\n")


async def test_older_file_merges_exactly_into_newer_stored_candles(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'a.db'}")
    store = SQLiteStore(tmp_path / "a.db")
    await store.start()
    rnd = random.Random(9)
    base = parse_instant("2024-03-04T09:00:00+09:00")
    day = [
        Tick(
            "005930",
            base + rnd.randrange(0, 6 * 3600) * 1_000_000,
            70_000 + rnd.randrange(50) * 100,
            rnd.randint(1, 9),
            0,
            0,
            "import",
        )
        for _ in range(400)
    ]
    day.sort(key=lambda t: t.ts)
    late_half, early_half = day[200:], day[:200]
    for i, part in enumerate((late_half, early_half, day)):  # newer first, then older, then all
        f = tmp_path / f"p{i}.csv"
        _write(f, part)
        await import_parsed(store, read_ticks_csv(f, INSTRUMENTS))
    stored = await store.get_ticks("005930", -(2**62), 2**62)
    assert len(stored) == len(day)  # same-time rows numbered apart, the whole day once
    for iv in STORED_INTERVALS:
        got = await store.get_candles("005930", iv.name, None, None, 10_000)
        assert got == recompute(stored, iv), iv.name
    await store.close()


def test_import_bench_runs_at_small_size() -> None:
    from aegis.bench.importing import run

    res = asyncio.run(asyncio.to_thread(run, 2_000, 1, True))
    assert res.imported == 2_000 and res.ticks == 2_000
    assert res.seconds > 0 and res.reimport_seconds > 0


@pytest.mark.parametrize("last", ["", "buy", "s"])
def test_fields_at_the_very_end_of_the_file(tmp_path: Path, last: str) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(
        b"symbol,time,price,volume,side\n"
        b"005930,2024-03-04T09:00:00.100+09:00,70000,3,sell\n"
        + f"005930,2024-03-04T09:00:00.200+09:00,70100,12345,{last}".encode()  # no newline
    )
    parsed = read_ticks_csv(f, INSTRUMENTS)
    assert not parsed.errors
    assert [(t.price, t.volume, t.side) for t in parsed.ticks()] == [
        (70_000, 3, -1),
        (70_100, 12_345, ticks_csv.SIDES[last]),
    ]


def test_whole_file_path_equals_the_checking_reader(tmp_path: Path) -> None:
    from aegis.bench.importing import write_session_csv
    from aegis.history import ticks_bytes

    f = tmp_path / "s.csv"
    write_session_csv(f, 5_000, seed=4)
    taken = []
    real = ticks_bytes.read_columns

    def spy(*a: object, **k: object) -> object:
        out = real(*a, **k)  # type: ignore[arg-type]
        taken.append(out is not None)
        return out

    fast = read_ticks_csv(f, INSTRUMENTS)
    checked = ticks_csv._read_checked(f, INSTRUMENTS)
    assert fast.ticks() == checked.ticks() and fast.spans == checked.spans
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ticks_csv, "read_columns", spy)
        read_ticks_csv(f, INSTRUMENTS)
    assert taken == [True]  # the plain generated file takes the whole-file path


def test_a_file_read_in_many_blocks_equals_the_checking_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks end at line ends; symbols first seen in later blocks are numbered on; a last
    line without a newline is read too."""
    from aegis.bench.importing import write_session_csv

    f = tmp_path / "s.csv"
    write_session_csv(f, 3_000, seed=5)
    f.write_bytes(f.read_bytes().rstrip(b"\n"))
    monkeypatch.setattr(ticks_csv, "BLOCK_BYTES", 1_000)  # about 20 lines per block
    calls = []
    real = ticks_bytes.read_columns  # what ticks_csv imports and calls, spied on below

    def spy(*a: object, **k: object) -> object:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(ticks_csv, "read_columns", spy)
    fast = read_ticks_csv(f, INSTRUMENTS)
    checked = ticks_csv._read_checked(f, INSTRUMENTS)

    assert len(calls) > 100 and not fast.errors
    assert fast.ticks() == checked.ticks() and fast.spans == checked.spans
    assert len(fast) == 3_000
