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
    log_format: Literal["plain", "json"] = "plain"  # json: one JSON object per line
    data_dir: Path = Path("var")

    # Storage: SQLite file by default; a postgresql:// URL switches to server mode.
    database_url: str | None = None
    # Bus: in-process by default; a redis:// URL switches to Redis Streams.
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
    # Research (financials, disclosures, industries): DART OpenAPI refresh when a key is set
    dart_api_key: SecretStr | None = None
    dart_base_url: str = "https://opendart.fss.or.kr/api"
    dart_timeout_seconds: float = 10.0
    dart_refresh_hours: float = 24.0
    dart_symbols: str | None = None  # comma-separated; None = companies with a DART corp code

    # Accounts (aegis.accounts): JWT signing secret (server mode refuses to start without a
    # strong one; embedded mode keeps a generated one in data_dir), token lifetimes, login
    # throttling, and the anonymous WebSocket symbol budget.
    auth_secret: SecretStr | None = None
    auth_access_ttl_seconds: int = 900
    auth_refresh_ttl_days: int = 30
    auth_login_failures: int = 10  # failed logins per email or per IP …
    auth_login_window_seconds: int = 300  # … within this window → 429
    ws_anonymous_max_symbols: int = 50

    # Rate limits (issue: production): anonymous API requests per client IP, authenticated ones
    # per user, WebSocket connection attempts per IP; "off" disables one.
    rate_limit_anon: str = "300/minute"
    rate_limit_user: str = "1200/minute"
    rate_limit_ws: str = "60/minute"

    # Hostile clients and exposure (issue 7: watch votes, floods, origins)
    ws_watch_votes_per_client: float = 10.0  # one client's total weight in the broker budget
    ws_messages_per_second: float = 20.0  # inbound client messages, sustained …
    ws_message_burst: int = 100  # … and in a burst; past that: throttled, then closed (1008)
    ws_control_queue_size: int = 64  # replies (errors, pongs, acks) waiting for a non-reader
    # Origins allowed for WebSocket/SSE/CORS beyond the server's own ("*" allows any); empty:
    # same origin only. Clients without an Origin header (CLI tools, servers) are not browsers.
    allowed_origins: list[str] = Field(default_factory=list)
    # --- trading (aegis.trading) ---
    trading_paper_cash: int = 10_000_000  # won, each user's paper account
    trading_commission_rate: str = "0.00015"  # 0.015 % per side, truncated to whole won
    # the live KIS account's fee plan (e.g. "0.000140527"); unset: trading_commission_rate
    trading_live_commission_rate: str | None = None
    # sell tax by trade date (from that day on), shared docs/krx_rules.md §4; unset: the
    # built-in aegis.trading.fees.DEFAULT_TAX_RATES (first trade dates settling in the new
    # year, from the KRX calendar)
    trading_tax_rates: dict[str, str] | None = None
    # KONEX sales (0.10 %), the same form
    trading_konex_tax_rates: dict[str, str] = Field(
        default_factory=lambda: {"2021-01-01": "0.0010"}
    )
    trading_broker_timeout_seconds: float = 5.0
    trading_duplicate_window_seconds: float = 2.0
    trading_reconcile_seconds: float = 180.0
    trading_strategies_dir: Path | None = None  # user strategies (*.py)
    kis_account: str | None = None  # live trading account "CANO-ACNT_PRDT_CD", e.g. 50123456-01
    kis_hts_id: str | None = None  # HTS login id: the key of the realtime fill notices
    kis_trading_ws_url: str | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # News and AI outlook (news-ai). RSS needs no key; Naver keys: env or `aegis credentials
    # set naver`; an LLM is used only when configured, the keyless quant analyst otherwise.
    news_rss_feeds: str | None = None  # "name|https://…,name|https://…"; None = defaults
    news_poll_seconds: float = 900.0  # 0 = no background collection
    news_timeout_seconds: float = 10.0
    news_naver_queries: int = 30  # the largest companies searched on Naver each round
    naver_client_id: SecretStr | None = None
    naver_client_secret: SecretStr | None = None
    naver_news_url: str | None = None
    llm_provider: Literal["auto", "quant", "openai", "gemini"] = "auto"
    llm_base_url: str | None = None  # any OpenAI-compatible endpoint (Ollama, vLLM, OpenAI)
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    gemini_api_key: SecretStr | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    llm_timeout_seconds: float = 30.0
    # Simulator (issue 8): previous sessions generated at full resolution on a store without
    # them (0 = daily candles only; docs/simulator.md "Start-up").
    sim_history_sessions: int = Field(default=5, ge=0, le=20)
    # Streaming fan-out (fanout). permessage-deflate costs each connection a zlib context
    # (tens of KB) and a compression per frame: off unless asked for.
    ws_compression: bool = False
    # --- trading: live KIS account connection (trading) ---
    # overrides the KIS host of a connected live account (a proxy; tests point it at a fake)
    kis_trading_rest_url: str | None = None
    kis_trading_connect_timeout_seconds: float = 10.0
    # --- operations (ops): a standby ingester takes over a leader whose lease (PostgreSQL) was
    # not renewed for this long; the lease is renewed six times within it
    ingest_lease_seconds: float = Field(default=3.0, gt=0.5, le=60)
    # `aegis ingest` serves /metrics on this port (host: AEGIS_HOST); None: not at all
    ingest_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @property
    def sqlite_path(self) -> Path:
        # Simulated data lives in its own file, so that switching to a broker never shows
        # simulated history as real (and the other way round). A replay of a past day has its
        # own file too: its ticks never land in real history.
        if self.sim_replay:
            return self.data_dir / f"aegis-replay-{self.sim_replay.strip()}.db"
        name = "aegis-sim.db" if "sim" in self.sources else "aegis.db"
        return self.data_dir / name

    @property
    def store_url(self) -> str:
        if self.sim_replay:  # a replay is always embedded: its own file, whatever the URL says
            return f"sqlite:///{self.sqlite_path}"
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
