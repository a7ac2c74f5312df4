"""The ``aegis`` command."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aegis.core.config import Settings

app = typer.Typer(help="AEGIS: Korean stock market platform", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
import_app = typer.Typer(help="Load historical data", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
console = Console()


def settings_with(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _logging(level: str) -> None:
    from aegis.core.logs import setup_logging

    setup_logging(level, Settings().log_format)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (AEGIS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (AEGIS_PORT)")] = None,
    source: Annotated[
        str | None, typer.Option(help="sim|kis|kiwoom|binance, comma-separated")
    ] = None,
    ingest: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="run sources and write the store here")
    ] = True,
    replay: Annotated[str | None, typer.Option(help="simulate a real day (YYYY-MM-DD)")] = None,
    speed: Annotated[float | None, typer.Option(help="simulator speed (×)")] = None,
    symbols: Annotated[str | None, typer.Option(help="simulate only these codes")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes on this port (server mode with --no-ingest: they share the "
            "Redis bus; `aegis ingest` runs beside them)",
        ),
    ] = 1,
) -> None:
    """Serve the API, streams and dashboard (with the simulator unless told otherwise)."""
    import uvicorn

    from aegis.api.app import create_app
    from aegis.api.serving import uvicorn_options
    from aegis.store.migrate import upgrade_all

    settings = settings_with(
        host=host,
        port=port,
        source=source,
        ingest=ingest,
        sim_replay=replay,
        sim_speed=speed,
        sim_symbols=symbols,
    )
    _logging(settings.log_level)
    _require_auth_secret(settings)
    if workers > 1:
        _serve_workers(settings, workers, source, speed, symbols)
        return
    if settings.sim_replay:
        # a replay is a show, not history: each run starts from a fresh file of its own
        settings.sqlite_path.unlink(missing_ok=True)
        upgrade_all(settings.store_url, settings.app_db_url)
    elif settings.database_url is None:
        upgrade_all(settings.store_url, settings.app_db_url)  # embedded mode migrates itself
    uvicorn.run(
        create_app(settings, freeze_heap=True),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        **uvicorn_options(settings),
        log_config=None,  # uvicorn's loggers go through ours (request ids, JSON lines)
    )


def _serve_workers(
    settings: Settings,
    workers: int,
    source: str | None,
    speed: float | None,
    symbols: str | None,
) -> None:
    """``workers`` uvicorn processes accepting on one socket, each an API process of its own
    (runtime, hub, caches) fed by the shared Redis bus, as N × ``aegis serve --no-ingest``
    behind a proxy are. Only in server mode and without ingest: in embedded mode the bus is in
    memory and SQLite has one writer, so a second process would see no ticks; and ingest is one
    process (``aegis ingest``, with its leader lock and standby)."""
    import os

    import uvicorn

    from aegis.api.serving import uvicorn_options

    if settings.database_url is None or settings.redis_url is None:
        console.print(
            "[red]--workers needs server mode (AEGIS_DATABASE_URL and AEGIS_REDIS_URL): in "
            "embedded mode the bus lives in one process[/red]"
        )
        raise typer.Exit(2)
    if settings.ingest or settings.sim_replay:
        console.print(
            "[red]--workers serves the API only: run `aegis ingest` beside it and pass "
            "--no-ingest[/red]"
        )
        raise typer.Exit(2)
    # each worker builds its settings from the environment (uvicorn spawns them afresh)
    os.environ["AEGIS_INGEST"] = "false"
    for name, value in (("SOURCE", source), ("SIM_SPEED", speed), ("SIM_SYMBOLS", symbols)):
        if value is not None:
            os.environ[f"AEGIS_{name}"] = str(value)
    uvicorn.run(
        "aegis.cli.app:worker_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        **uvicorn_options(settings),
        log_config=None,
    )


def worker_app() -> Any:
    """The app of one ``--workers`` process (uvicorn calls this in each)."""
    from aegis.api.app import create_app

    settings = Settings()
    _logging(settings.log_level)
    return create_app(settings, freeze_heap=True)


def _require_auth_secret(settings: Settings) -> None:
    """Server mode without a strong AEGIS_AUTH_SECRET: a clear message, not a traceback."""
    from aegis.accounts.tokens import load_secret
    from aegis.core.errors import InsecureConfiguration

    try:
        load_secret(settings)
    except InsecureConfiguration as exc:
        console.print(f"[red]refusing to start: {exc.message}[/red]")
        raise typer.Exit(2) from exc


@app.command("ingest")
def ingest_cmd(
    source: Annotated[str | None, typer.Option(help="sim|kis|kiwoom|binance")] = None,
    replay: Annotated[str | None, typer.Option(help="simulate a real day (YYYY-MM-DD)")] = None,
) -> None:
    """Run the sources and write ticks and candles, publishing on the bus (server mode)."""
    from aegis.services.runtime import Runtime

    settings = settings_with(source=source, sim_replay=replay)
    _logging(settings.log_level)
    if settings.sim_replay:
        console.print("[red]a replay runs in one process, own store: aegis serve --replay[/]")
        raise typer.Exit(2)

    async def main() -> None:
        rt = Runtime(settings, ingest=True, trading=False)  # trading: API processes
        await rt.start()
        metrics = None
        if settings.ingest_metrics_port is not None:
            from aegis.api.metrics import make_registry, serve_metrics

            registry = make_registry(lambda: rt, lambda: None)
            metrics = await serve_metrics(registry, settings.host, settings.ingest_metrics_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console.print(f"ingesting from {settings.source} into {rt.store.kind}, bus {rt.bus.kind}")
        await stop.wait()
        if metrics is not None:
            metrics.close()
        await rt.close()

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (SQLite file or AEGIS_DATABASE_URL)."""
    from aegis.store.migrate import upgrade_all

    settings = Settings()
    upgrade_all(settings.store_url, settings.app_db_url)
    where = "PostgreSQL" if settings.database_url else str(settings.sqlite_path)
    console.print(f"[green]schema up to date[/green] ({where})")


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="a new directory for the backup")],
) -> None:
    """Back up the market store and the application database (SQLite online backup, or
    pg_dump in server mode) while the server may keep running."""
    from aegis.store.backup import backup

    settings = Settings()
    files = backup(settings.store_url, settings.app_db_url, target)
    for f in files:
        console.print(f"[green]wrote[/green] {f} ({f.stat().st_size:,} bytes)")


@db_app.command("restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="a directory written by `aegis db backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="replace the current data")] = False,
) -> None:
    """Replace the current databases with a backup. Stop every AEGIS process first."""
    from aegis.store.backup import restore

    if not yes:
        raise typer.BadParameter("restoring replaces all current data: add --yes to confirm")
    settings = Settings()
    roles = restore(settings.store_url, settings.app_db_url, source)
    console.print(f"[green]restored[/green] {', '.join(roles)} from {source}")


@import_app.command("ticks")
def import_ticks(file: Path) -> None:
    """Load ticks from CSV (symbol,time,price,volume[,side]) through the live ingest path."""
    from aegis.cli.importing import import_ticks_file

    _logging("WARNING")
    asyncio.run(import_ticks_file(Settings(), file, console))


@import_app.command("daily")
def import_daily(
    file: Path,
    symbol: Annotated[str | None, typer.Option(help="code, when the file does not name it")] = None,
    adjust: Annotated[
        bool, typer.Option("--adjust", help="back-adjust prices before a detected split")
    ] = False,
    keep_unadjusted: Annotated[
        bool, typer.Option("--keep-unadjusted", help="store a split series as it is")
    ] = False,
) -> None:
    """Load daily OHLCV (the formats in shared/data) as 1d candles. A series with an unadjusted
    split is refused unless --adjust or --keep-unadjusted says what to do."""
    from aegis.cli.importing import import_daily_file
    from aegis.history.csv_daily import SplitPolicy

    if adjust and keep_unadjusted:
        raise typer.BadParameter("--adjust and --keep-unadjusted exclude each other")
    policy: SplitPolicy = "adjust" if adjust else "keep" if keep_unadjusted else "error"
    _logging("WARNING")
    asyncio.run(import_daily_file(Settings(), file, symbol, console, policy))


def _register_sources() -> None:
    from aegis.cli import sources as sources_cli

    app.add_typer(sources_cli.sources_app, name="sources")
    app.add_typer(sources_cli.credentials_app, name="credentials")
    app.command("backfill")(sources_cli.backfill)


def _register_bench() -> None:
    from aegis.cli.bench import bench_app

    app.add_typer(bench_app, name="bench")


def _register_users() -> None:
    from aegis.cli.users import users_app

    app.add_typer(users_app, name="users")


def _register_trading() -> None:
    from aegis.cli.trading import backtest

    app.command("backtest")(backtest)


def _register_news() -> None:
    from aegis.cli.news import news_app

    app.add_typer(news_app, name="news")


_register_sources()
_register_bench()
_register_users()
_register_trading()
_register_news()


def main() -> None:
    from aegis.core.errors import AegisError

    try:
        app()
    except AegisError as exc:  # expected failures: one line, no traceback
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise SystemExit(1) from None
