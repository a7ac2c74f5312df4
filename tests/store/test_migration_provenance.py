"""Revision 0002 on a database that already holds candles from revision 0001 (SQLite and
PostgreSQL): rows keep their values and learn their source from their closing tick."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from aegis.store.migrate import sqlalchemy_url, upgrade

T0 = 1_700_000_000_000_000


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aegis.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_upgrade_labels_old_candles_by_their_closing_tick_and_allows_unknown_amount(
    url: str,
) -> None:
    upgrade(url, "0001")
    engine = sa.create_engine(sqlalchemy_url(url))
    cols = (
        'symbol, "interval", start, open, high, low, close, volume, amount, trades, '
        "first_ts, first_seq, last_ts, last_seq"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ticks (symbol, ts, seq, price, volume, side, source) "
                "VALUES ('005930', :ts, 3, 70100, 7, 1, 'import')"
            ),
            {"ts": T0 + 30},
        )
        conn.execute(
            sa.text(
                f"INSERT INTO candles ({cols}) VALUES "
                "('005930', '1m', :t0, 70000, 70100, 70000, 70100, 9, 630700, 2, :t0, 0, "
                ":last, 3), "
                "('KOSPI', '1d', :t0, 250000, 251000, 249000, 250500, 100, 25050000, 0, :t0, "
                "0, :t0, 0)"
            ),
            {"t0": T0, "last": T0 + 30},
        )
    engine.dispose()

    upgrade(url)

    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text("SELECT symbol, close, amount, source FROM candles ORDER BY symbol")
        ).all()
        conn.execute(
            sa.text(
                f"INSERT INTO candles ({cols}, source) VALUES ('KOSPI', '1d', :t1, 1, 1, 1, 1, "
                "1, NULL, 0, :t1, 0, :t1, 0, 'import')"
            ),
            {"t1": T0 + 86_400_000_000},
        )
        logged = conn.execute(sa.text("SELECT count(*) FROM retention_log")).scalar_one()
    engine.dispose()

    assert [(r[0], r[1], int(r[2]), r[3]) for r in rows] == [
        ("005930", 70100, 630700, "import"),
        ("KOSPI", 250500, 25050000, "unknown"),
    ]
    assert logged == 0
