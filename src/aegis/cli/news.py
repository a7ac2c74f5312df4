"""``aegis news collect|status``: one collection round now, and what each feed last did."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from aegis.core.config import Settings

news_app = typer.Typer(help="뉴스 수집 (RSS, Naver)", no_args_is_help=True)
console = Console()


async def _with_service(settings: Settings, collect: bool) -> None:
    from datetime import datetime, timedelta, timezone

    from aegis.db import create_app_engine
    from aegis.reference import load_instruments
    from aegis.research.news.setup import build_news
    from aegis.store.migrate import upgrade

    upgrade(settings.app_db_url)
    engine = create_app_engine(settings.app_db_url)
    try:
        svc = build_news(settings, engine, load_instruments())
        if collect:
            result = await svc.collect_once()
            for name, got in result.items():
                ok = isinstance(got, int)
                console.print(f"{name}: " + (f"새 기사 {got}건" if ok else f"[red]{got}[/]"))
        summary = await svc.summary()
        kst = timezone(timedelta(hours=9))

        def when(ts: int | None) -> str:
            return "–" if ts is None else datetime.fromtimestamp(ts, kst).strftime("%Y-%m-%d %H:%M")

        table = Table("피드", "종류", "마지막 성공 (KST)", "누적", "마지막 오류")
        for f in summary.feeds:
            table.add_row(f.name, f.kind, when(f.last_success_at), str(f.total_count),
                          f.last_error or "")  # fmt: skip
        console.print(table)
        console.print(summary.message)
    finally:
        await engine.dispose()


@news_app.command("collect")
def collect() -> None:
    """설정된 RSS 피드와 (키가 있으면) Naver 뉴스 검색을 지금 한 번 수집합니다."""
    asyncio.run(_with_service(Settings(), collect=True))


@news_app.command("status")
def status() -> None:
    """피드별 마지막 수집 결과."""
    asyncio.run(_with_service(Settings(), collect=False))
