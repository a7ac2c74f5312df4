"""The DART client and refresh against a local fake OpenDART (loopback HTTP server)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research import dartprofile
from aegis.research.dart import (
    DartClient,
    DartError,
    DartKeyError,
    DartRateLimited,
    DartTimeout,
    statement_rows,
)
from aegis.research.refresh import RefreshStatus, refresh, store_corp_codes
from aegis.research.seed import seed_research
from aegis.research.tables import dart_companies, dart_corps, disclosures, financials
from tests.fakes.dart import KEY, FakeDart
from tests.fakes.http import HttpServer
from tests.support.app import running_app

T = 10**12  # 1 조


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeDart, str]]:
    dart = FakeDart()
    server = HttpServer(dart.app)
    await server.start()
    try:
        yield dart, f"{server.url}/api"
    finally:
        await server.stop()


def client(url: str, key: str = KEY, timeout: float = 5.0) -> DartClient:
    return DartClient(SecretStr(key), url, timeout)


def samsung_2025(dart: FakeDart) -> None:
    revenue = {"11013": 79, "11012": 74, "11014": 86, "11011": 333}
    op = {"11013": 6, "11012": 4, "11014": 12, "11011": 43}
    for code in revenue:
        dart.accounts[("00126380", "2025", code)] = {
            ("CFS", "매출액"): revenue[code] * T,
            ("CFS", "영업이익"): op[code] * T,
            ("CFS", "당기순이익"): op[code] * T // 2,
            ("CFS", "자산총계"): 500 * T,
            ("CFS", "부채총계"): 100 * T,
            ("CFS", "자본총계"): 400 * T,
            ("OFS", "매출액"): revenue[code] * T // 2,
        }


async def test_corp_codes_come_from_the_zip(fake: tuple[FakeDart, str]) -> None:
    _, url = fake
    c = client(url)
    codes = await c.corp_codes()
    await c.close()
    assert [(x.corp_code, x.stock_code) for x in codes][:2] == [
        ("00126380", "005930"),
        ("00164779", "000660"),
    ]
    assert codes[2].stock_code == ""  # unlisted: a single space in the file


async def test_unknown_key_is_a_key_error_without_the_key(fake: tuple[FakeDart, str]) -> None:
    _, url = fake
    c = client(url, key="x" * 40)
    with pytest.raises(DartKeyError) as exc:
        await c.single_accounts("00126380", 2025, "11011")
    assert exc.value.details["status"] == "010"
    assert "x" * 40 not in str(exc.value) and "x" * 40 not in str(exc.value.details)
    with pytest.raises(DartKeyError):
        await c.corp_codes()  # the XML error body instead of a zip
    await c.close()


async def test_no_data_is_empty_not_an_error(fake: tuple[FakeDart, str]) -> None:
    dart, url = fake
    dart.mode = "nodata"
    c = client(url)
    assert await c.single_accounts("00126380", 2030, "11011") == []
    assert await c.disclosures("00126380", "20250101", "20250131") == ([], 0)
    await c.close()


@pytest.mark.parametrize(
    ("mode", "error"), [("limit", DartRateLimited), ("http500", DartError), ("slow", DartTimeout)]
)
async def test_failures_become_precise_errors(
    fake: tuple[FakeDart, str], mode: str, error: type[Exception]
) -> None:
    dart, url = fake
    dart.mode = mode
    c = client(url, timeout=0.5)
    with pytest.raises(error):
        await c.single_accounts("00126380", 2025, "11011")
    await c.close()


async def test_company_overview_is_parsed(fake: tuple[FakeDart, str]) -> None:
    _, url = fake
    c = client(url)
    body = await c.company("00126380")
    none = await c.company("99999999")  # 013: DART has no profile
    await c.close()
    assert body is not None and body.ceo == "전영현"
    assert body.corp_name == "삼성전자(주)" and body.corp_code == "00126380"
    assert body.homepage == "http://www.samsung.com/sec"  # hm_url comes without a scheme
    assert body.ir_url is None  # "" is absent, not an empty link
    assert body.established_on == "1969-01-13" and body.fiscal_month == 12
    assert body.industry_code == "264" and body.corp_class == "Y"
    assert none is None


async def test_a_profile_without_a_name_is_an_error_and_stores_nothing(
    app_db: AsyncEngine, fake: tuple[FakeDart, str]
) -> None:
    dart, url = fake
    dart.profiles["00126380"] = {"ceo_nm": "누군가", "corp_name": " "}
    c = client(url)
    await store_corp_codes(app_db, c)
    with pytest.raises(DartError):
        await c.company("00126380")
    status = await refresh(app_db, c, ["005930"], RefreshStatus(True), [2025])
    await c.close()
    assert status.last_error is not None and "company.json" in status.last_error["message"]
    async with app_db.connect() as conn:
        n = (await conn.execute(sa.select(sa.func.count()).select_from(dart_companies))).scalar()
    assert n == 0


def test_statement_rows_pick_accounts_per_basis() -> None:
    rows = [
        {"fs_div": "CFS", "account_nm": "매출액", "thstrm_amount": "258,935,494,000,000"},
        {"fs_div": "OFS", "account_nm": "영업이익", "thstrm_amount": "-11,526,297,000,000"},
        {"fs_div": "CFS", "account_nm": "기타", "thstrm_amount": "1"},
        {"fs_div": "CFS", "account_nm": "자산총계", "thstrm_amount": ""},
    ]
    assert statement_rows(rows) == {
        "CFS": {"revenue": 258_935_494_000_000, "total_assets": None},
        "OFS": {"operating_profit": -11_526_297_000_000},
    }


async def test_refresh_writes_statements_and_q4_is_year_minus_three_quarters(
    app_db: AsyncEngine, fake: tuple[FakeDart, str]
) -> None:
    dart, url = fake
    samsung_2025(dart)
    dart.filings["00126380"] = [
        {
            "corp_code": "00126380",
            "corp_name": "삼성전자",
            "stock_code": "005930",
            "corp_cls": "Y",
            "report_nm": "분기보고서 (2025.09)",
            "rcept_no": "20251114002447",
            "flr_nm": "삼성전자",
            "rcept_dt": "20251114",
            "rm": "",
        }
    ]
    c = client(url)
    assert await store_corp_codes(app_db, c) == 2
    status = await refresh(app_db, c, ["005930", "000660"], RefreshStatus(True), [2025])
    await c.close()
    assert status.last_error is None and status.last_ok
    async with app_db.connect() as conn:
        rows = {
            (r.basis, r.quarter): r
            for r in (
                await conn.execute(
                    sa.select(financials).where(
                        financials.c.symbol == "005930", financials.c.year == 2025
                    )
                )
            ).all()
        }
        filing = (
            await conn.execute(
                sa.select(disclosures).where(disclosures.c.rcept_no == "20251114002447")
            )
        ).one()
        corp = (
            await conn.execute(
                sa.select(dart_corps.c.corp_code).where(dart_corps.c.symbol == "000660")
            )
        ).scalar()
    assert rows[("CFS", 0)].revenue == 333 * T and rows[("CFS", 0)].source == "opendart-api"
    assert rows[("CFS", 4)].revenue == (333 - 79 - 74 - 86) * T
    assert rows[("CFS", 4)].total_assets == 500 * T
    assert rows[("OFS", 0)].revenue == 333 * T // 2
    assert filing.filed_at == "2025-11-14" and filing.symbol == "005930"
    assert corp == "00164779"
    assert status.written["profiles"] == 1  # 000660 has no profile in the fake (013)


async def test_q4_is_the_year_minus_the_nine_month_cumulative_of_the_q3_report(
    app_db: AsyncEngine, fake: tuple[FakeDart, str]
) -> None:
    # the first quarter's report is missing (DART: no data), but the third quarter's report
    # carries 1–9월 누적 on its income lines: Q4 = annual − 9-month cumulative. The sum of three
    # own-quarter amounts used to be required, so no Q4 row was written
    dart, url = fake
    samsung_2025(dart)
    del dart.accounts[("00126380", "2025", "11013")]
    dart.cumulative[("00126380", "2025", "11014")] = {
        ("CFS", "매출액"): (79 + 74 + 86) * T,
        ("CFS", "영업이익"): (6 + 4 + 12) * T,
        ("CFS", "당기순이익"): (6 + 4 + 12) * T // 2,
    }
    c = client(url)
    await store_corp_codes(app_db, c)
    status = await refresh(app_db, c, ["005930"], RefreshStatus(True), [2025])
    await c.close()
    assert status.last_error is None
    async with app_db.connect() as conn:
        q4 = (
            await conn.execute(
                sa.select(financials).where(
                    financials.c.symbol == "005930",
                    financials.c.basis == "CFS",
                    financials.c.year == 2025,
                    financials.c.quarter == 4,
                )
            )
        ).one()
    assert q4.revenue == (333 - 79 - 74 - 86) * T
    assert q4.operating_profit == (43 - 6 - 4 - 12) * T
    assert q4.net_income == (43 * T // 2) - (6 + 4 + 12) * T // 2
    assert q4.total_assets == 500 * T


async def test_refresh_stores_the_company_profile_and_replaces_it_on_the_next_run(
    app_db: AsyncEngine, fake: tuple[FakeDart, str]
) -> None:
    dart, url = fake
    c = client(url)
    await store_corp_codes(app_db, c)
    await refresh(app_db, c, ["005930"], RefreshStatus(True), [2025])
    first = await dartprofile.load(app_db, "005930")
    dart.profiles["00126380"] = {**dart.profiles["00126380"], "ceo_nm": "새 대표"}
    await refresh(app_db, c, ["005930"], RefreshStatus(True), [2025])
    await c.close()
    second = await dartprofile.load(app_db, "005930")
    assert first is not None and second is not None
    assert first["ceo"] == "전영현" and second["ceo"] == "새 대표"
    assert second["source"] == "opendart:company.json"
    assert str(second["asOf"]) >= str(first["asOf"]) and str(second["asOf"]).endswith("+00:00")
    assert second["establishedOn"] == "1969-01-13" and str(second["homepage"]).startswith("http://")
    assert await dartprofile.load(app_db, "000660") is None


async def test_refresh_timeout_keeps_stale_data_and_records_the_error(
    app_db: AsyncEngine, fake: tuple[FakeDart, str]
) -> None:
    dart, url = fake
    await seed_research(app_db, only=["financials@1", "dart_corps@1"])

    async def count() -> int:
        async with app_db.connect() as conn:
            n = (await conn.execute(sa.select(sa.func.count()).select_from(financials))).scalar()
        return int(n or 0)

    before = await count()
    dart.mode = "slow"
    c = client(url, timeout=0.3)
    status = await refresh(app_db, c, ["005930"], RefreshStatus(True))
    await c.close()
    assert status.last_error is not None and status.last_error["code"] == "UPSTREAM_TIMEOUT"
    assert status.last_ok is None
    assert await count() == before


def test_running_app_keeps_stale_data_and_reports_a_dart_timeout(tmp_path: Path) -> None:
    """End to end: with a key set, the server's refresh times out against the fake; the
    company's statements are still served and the response says why they may be stale."""
    dart = FakeDart()
    dart.mode = "slow"
    with (
        _serving(dart) as url,
        running_app(
            tmp_path,
            dart_api_key=KEY,
            dart_base_url=url,
            dart_timeout_seconds=0.3,
            dart_symbols="005930",
        ) as (client, rt, _),
    ):
        deadline = time.monotonic() + 60
        while rt.research is not None and rt.research.dart.last_error is None:
            assert time.monotonic() < deadline, "the refresh never finished"
            time.sleep(0.05)
        cid = client.get("/api/v1/companies", params={"keyword": "005930"}).json()["data"][0][
            "companyId"
        ]
        body = client.get(f"/api/v1/companies/{cid}/financials").json()["data"]
    assert body["rows"], "stored statements must still be served"
    assert body["dart"]["configured"] is True
    assert body["dart"]["lastError"]["code"] == "UPSTREAM_TIMEOUT"
    assert KEY not in str(body)
    assert any(path.endswith("fnlttSinglAcnt.json") for path, _ in dart.calls)


def test_running_app_serves_the_stored_dart_profile_with_source_and_as_of(
    tmp_path: Path,
) -> None:
    """End to end: with a key set, the server's refresh stores company.json; GET /companies/{id}
    serves it with its source and when it was fetched. Without a key: null and why."""
    dart = FakeDart()
    with _serving(dart) as url:
        with running_app(
            _dir(tmp_path / "keyed"),
            dart_api_key=KEY,
            dart_base_url=url,
            dart_symbols="005930",
        ) as (client, rt, _):
            deadline = time.monotonic() + 60
            while rt.research is not None and rt.research.dart.last_run is None:
                assert time.monotonic() < deadline, "the refresh never finished"
                time.sleep(0.05)
            while rt.research is not None and rt.research.dart.last_ok is None:
                assert rt.research.dart.last_error is None, rt.research.dart.last_error
                assert time.monotonic() < deadline, "the refresh never finished"
                time.sleep(0.05)
            cid = client.get("/api/v1/companies", params={"keyword": "005930"}).json()["data"][0][
                "companyId"
            ]
            body = client.get(f"/api/v1/companies/{cid}").json()["data"]
        with running_app(_dir(tmp_path / "keyless")) as (client, _, _):
            bare = client.get(f"/api/v1/companies/{cid}").json()["data"]
    profile = body["dartProfile"]
    assert profile["corpName"] == "삼성전자(주)" and profile["ceo"] == "전영현"
    assert profile["source"] == "opendart:company.json" and profile["asOf"]
    assert body["dartProfileReason"] is None
    assert body["representative"]  # the listing's fields stay beside it
    assert bare["dartProfile"] is None
    assert "AEGIS_DART_API_KEY" in bare["dartProfileReason"]


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _serving(dart: FakeDart) -> Iterator[str]:
    """The fake on its own loop in a thread, for tests that run a synchronous TestClient app."""
    loop = asyncio.new_event_loop()
    server = HttpServer(dart.app)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    try:
        yield f"{server.url}/api"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def test_refresh_dates_are_kst_days_not_the_machines_utc_date(
    app_db: AsyncEngine, fake: tuple[FakeDart, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 00:30 KST on 1 January the machine's UTC date is still 31 December: the filings window
    must end today in Seoul, and the default fiscal years follow the Korean year."""
    from aegis.research import refresh as refresh_mod

    new_year_kst = 1_798_731_000_000_000  # 2027-01-01 00:30 KST = 2026-12-31 15:30 UTC
    monkeypatch.setattr(refresh_mod, "now_us", lambda: new_year_kst)
    dart, url = fake
    c = client(url)
    assert await store_corp_codes(app_db, c) == 2
    await refresh(app_db, c, ["005930"], RefreshStatus(True))
    await c.close()
    listed = [p for path, p in dart.calls if path == "/api/list.json"]
    years = {p["bsns_year"] for path, p in dart.calls if "bsns_year" in p}
    assert listed and {p["end_de"] for p in listed} == {"20270101"}
    assert years == {"2026", "2027"}  # last year and this one, counted in Seoul
