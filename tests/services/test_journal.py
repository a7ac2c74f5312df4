"""The tick journal: what ingest accepted but had not stored when the process died is stored on
the next start; what was stored is not journaled for long; a torn frame is ignored."""

from __future__ import annotations

from pathlib import Path

from aegis.bus.memory import MemoryBus
from aegis.domain.ticks import BUY, Tick
from aegis.services.ingest import IngestService
from aegis.services.journal import TickJournal
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

T0 = 1_764_640_800_000_000  # 2025-12-02 00:00 UTC


def tick(i: int) -> Tick:
    return Tick("005930", T0 + i * 1_000_000, 70_000 + i * 100, 1 + i, BUY, i, "sim")


async def open_ingest(tmp_path: Path) -> tuple[IngestService, SQLiteStore]:
    db = tmp_path / "s.db"
    if not db.exists():
        upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    ingest = IngestService(
        store, MemoryBus(), flush_seconds=3600, journal=TickJournal(tmp_path / "journal")
    )
    await ingest.start()
    return ingest, store


async def test_ticks_accepted_but_not_stored_before_a_crash_are_stored_on_restart(
    tmp_path: Path,
) -> None:
    ingest, store = await open_ingest(tmp_path)
    await ingest.ticks([tick(0), tick(1)])
    await ingest.flush()
    await ingest.ticks([tick(2), tick(3)])  # accepted (and published), not yet stored
    assert ingest.pending == 2
    # the process dies here: no close(), no flush
    ingest.abandon()
    await store.close()

    ingest, store = await open_ingest(tmp_path)
    try:
        assert ingest.replayed == 2
        rows = await store.get_ticks("005930", T0, T0 + 10_000_000)
        assert [t.seq for t in rows] == [0, 1, 2, 3]
        day = await store.latest_candles("1d")
        assert [(c.volume, c.trades) for c in day] == [(1 + 2 + 3 + 4, 4)]
    finally:
        await ingest.close()
        await store.close()


async def test_a_flush_empties_the_journal(tmp_path: Path) -> None:
    ingest, store = await open_ingest(tmp_path)
    try:
        await ingest.ticks([tick(0)])
        journal = ingest.journal
        assert journal is not None
        assert journal.appended == 1
        await ingest.flush()
        # only the fresh, empty segment is left
        segments = journal.segments()
        assert len(segments) == 1
        assert list(journal.replay(segments)) == []
    finally:
        await ingest.close()
        await store.close()


def test_a_torn_last_frame_is_ignored(tmp_path: Path) -> None:
    journal = TickJournal(tmp_path / "j")
    journal.open()
    journal.append(b"first")
    journal.append(b"second")
    journal.close()
    seg = journal.segments()[-1]
    path = tmp_path / "j" / f"{seg:012d}.seg"
    path.write_bytes(path.read_bytes()[:-3])  # the last write cut short
    assert list(TickJournal(tmp_path / "j").replay([seg])) == [b"first"]
