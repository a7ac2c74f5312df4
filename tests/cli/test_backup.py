"""`aegis db backup` / `aegis db restore` on both back ends: a restore brings back exactly the
data of the backup, and refuses what it cannot restore without changing anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from aegis.core.errors import InvalidRequest
from aegis.store.backup import backup, restore
from aegis.store.migrate import upgrade_all


def _sqlite_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT symbol, name FROM instruments ORDER BY symbol").fetchall()
    conn.close()
    return rows


def _sqlite_exec(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
    conn.close()


def test_sqlite_backup_then_restore_brings_back_the_backed_up_rows(tmp_path: Path) -> None:
    store, app = tmp_path / "var" / "aegis.db", tmp_path / "var" / "aegis-app.db"
    store_url, app_url = f"sqlite:///{store}", f"sqlite:///{app}"
    upgrade_all(store_url, app_url)
    _sqlite_exec(
        store,
        "INSERT INTO instruments (symbol, name, market, kind) VALUES "
        "('005930', '삼성전자', 'KOSPI', 'stock')",
    )
    files = backup(store_url, app_url, tmp_path / "bk")
    assert {f.name for f in files} == {"aegis.db", "aegis-app.db"}

    _sqlite_exec(store, "DELETE FROM instruments")
    _sqlite_exec(
        store,
        "INSERT INTO instruments (symbol, name, market, kind) VALUES "
        "('000660', 'SK하이닉스', 'KOSPI', 'stock')",
    )
    assert restore(store_url, app_url, tmp_path / "bk") == ["store", "app"]
    assert _sqlite_rows(store) == [("005930", "삼성전자")]


def test_backup_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade_all(store_url, store_url)
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "other").write_text("x")
    with pytest.raises(InvalidRequest, match="not empty"):
        backup(store_url, store_url, tmp_path / "bk")


def test_restore_refuses_a_directory_that_is_no_backup_and_changes_nothing(
    tmp_path: Path,
) -> None:
    store = tmp_path / "aegis.db"
    url = f"sqlite:///{store}"
    upgrade_all(url, url)
    before = store.read_bytes()
    (tmp_path / "junk").mkdir()
    with pytest.raises(InvalidRequest, match="not an AEGIS backup"):
        restore(url, url, tmp_path / "junk")
    assert store.read_bytes() == before


def test_restore_refuses_a_backup_from_the_other_mode(tmp_path: Path) -> None:
    store, app = tmp_path / "aegis.db", tmp_path / "aegis-app.db"
    upgrade_all(f"sqlite:///{store}", f"sqlite:///{app}")
    backup(f"sqlite:///{store}", f"sqlite:///{app}", tmp_path / "bk")
    with pytest.raises(InvalidRequest, match="mode"):
        restore("postgresql://x@127.0.0.1:1/x", "postgresql://x@127.0.0.1:1/x", tmp_path / "bk")


@pytest.mark.services
async def test_postgres_backup_then_restore_brings_back_the_backed_up_rows(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade_all(postgres_url, postgres_url)
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "INSERT INTO instruments (symbol, name, market, kind) "
            "VALUES ('005930', '삼성전자', 'KOSPI', 'stock')"
        )
        files = backup(postgres_url, postgres_url, tmp_path / "bk")
        assert [f.name for f in files] == ["postgres.dump"]
        await conn.execute("DELETE FROM instruments")
    finally:
        await conn.close()

    assert restore(postgres_url, postgres_url, tmp_path / "bk") == ["store+app"]
    conn = await asyncpg.connect(postgres_url)
    try:
        rows = await conn.fetch("SELECT symbol, name FROM instruments")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("005930", "삼성전자")]


@pytest.mark.services
async def test_postgres_restore_brings_back_day_partitioned_ticks_and_a_cut_dump_changes_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    from aegis.core.timeutil import now_us
    from aegis.store.backup import BackupError

    upgrade_all(postgres_url, postgres_url)
    ts = now_us()
    insert = (
        "INSERT INTO ticks (symbol, ts, seq, price, volume, side, source) "
        "VALUES ('005930', $1, 0, 70000, 1, 1, 'kis')"
    )
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(insert, ts)
        backup(postgres_url, postgres_url, tmp_path / "bk")
        await conn.execute(insert, ts + 1)  # after the backup
        dump = (tmp_path / "bk" / "postgres.dump").read_bytes()
        (tmp_path / "cut").mkdir()
        (tmp_path / "cut" / "manifest.json").write_bytes(
            (tmp_path / "bk" / "manifest.json").read_bytes()
        )
        (tmp_path / "cut" / "postgres.dump").write_bytes(dump[: len(dump) * 2 // 3])

        with pytest.raises(BackupError, match="failed"):
            restore(postgres_url, postgres_url, tmp_path / "cut")
        assert await conn.fetchval("SELECT count(*) FROM ticks") == 2  # nothing changed

        restore(postgres_url, postgres_url, tmp_path / "bk")
        assert [r[0] for r in await conn.fetch("SELECT ts FROM ticks")] == [ts]
        kind = "SELECT relkind::text FROM pg_class WHERE relname = 'ticks'"
        assert await conn.fetchval(kind) == "p"
    finally:
        await conn.close()
