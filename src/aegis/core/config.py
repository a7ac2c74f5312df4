"""The one settings object: environment variables prefixed ``AEGIS_`` and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SourceName = Literal["sim", "kis", "kiwoom", "binance"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AEGIS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    data_dir: Path = Path("var")

    # Storage: SQLite file by default; a postgresql:// URL switches to server mode.
    database_url: str | None = None
    # Bus: in-process by default; a redis:// URL switches to Redis pub/sub.
    redis_url: str | None = None

    # Sources: comma-separated, e.g. "kis,binance". "sim" is the keyless default.
    source: str = "sim"
    ingest: bool = True  # False: serve only, ticks come over the bus from `aegis ingest`

    # Simulator
    sim_seed: int = 42
    sim_speed: float = 1.0
    sim_symbols: str | None = None  # comma-separated subset; None = whole market
    sim_replay: str | None = None  # YYYY-MM-DD: follow that real day's daily OHLCV
    sim_tick_rate: float = 200.0  # mean market-wide trades per simulated second

    # Retention (days); None keeps forever
    tick_retention_days: int = 7
    candle_retention_days: dict[str, int | None] = Field(
        default_factory=lambda: {"1m": 90, "5m": 365, "15m": 730, "1h": None, "1d": None}
    )

    # Streaming limits
    ws_max_symbols: int = 200
    ws_max_message_bytes: int = 16_384
    ws_queue_size: int = 1_000
    ws_heartbeat_seconds: float = 20.0
    ws_drop_after_seconds: float = 10.0  # conflated for this long without draining → closed
    ws_batch_window_seconds: float = 0.02  # ?batch=1 clients: frames at most this often
    api_max_limit: int = 50_000

    # Display preferences served to the web client
    rise_color: Literal["red", "green"] = "red"

    # Credentials (never logged: SecretStr)
    secret_key: SecretStr | None = None
    kis_app_key: SecretStr | None = None
    kis_app_secret: SecretStr | None = None
    kis_paper: bool = False
    kis_rest_url: str | None = None
    kis_symbols: str | None = None  # comma-separated; clients' watch lists come first anyway
    kis_ws_url: str | None = None
    kiwoom_app_key: SecretStr | None = None
    kiwoom_secret_key: SecretStr | None = None
    kiwoom_rest_url: str | None = None
    kiwoom_ws_url: str | None = None
    kiwoom_symbols: str | None = None
    binance_ws_url: str | None = None
    binance_rest_url: str | None = None
    binance_symbols: str = "btcusdt,ethusdt"

    # Data provenance and retention (fix-data): imported and backfilled ticks and candles are
    # history the user brought in on purpose; the live retention windows above leave them alone
    # unless this is set to false.
    retention_keeps_history: bool = True

    @property
    def sqlite_path(self) -> Path:
        # Simulated data lives in its own file, so that switching to a broker never shows
        # simulated history as real (and the other way round).
        name = "aegis-sim.db" if "sim" in self.sources else "aegis.db"
        return self.data_dir / name

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def app_db_url(self) -> str:
        """Users, favorites, research data, orders: kept whichever source runs (so switching
        from the simulator to a broker keeps accounts), in PostgreSQL beside the store in
        server mode."""
        return self.database_url or f"sqlite:///{self.data_dir / 'aegis-app.db'}"

    @property
    def sources(self) -> list[str]:
        return [s.strip() for s in self.source.split(",") if s.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
