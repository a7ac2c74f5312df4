"""Wire schemas (camelCase), separate from storage models. They document the API in OpenAPI
(from which the web client's types are generated); hot paths serialize dicts of the same shape."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Envelope(Wire, Generic[T]):
    status: int = 200
    message: str
    data: T


class ErrorBody(Wire):
    status: int
    code: str
    message: str
    details: dict[str, object] | None = None


class CompanySummary(Wire):
    company_id: int
    code: str
    name: str
    name_en: str | None
    market: str
    industry: str | None
    kind: Literal["stock", "index", "crypto"]


class Company(CompanySummary):
    products: str | None
    listing_date: str | None
    shares: int | None
    market_cap: int | None
    prev_close: float | None
    price_scale: int
    source: str = Field(
        description="where prevClose and marketCap come from: the quoted day's candle source "
        "(sim, kis, …) or import (the shipped real listing)"
    )


class CandleOut(Wire):
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    amount: float | None = Field(
        description="traded value; null where the data do not give it (never an estimate)"
    )
    source: str = Field(
        description="where this candle comes from: sim, kis, kiwoom, binance, import, backfill "
        "(unknown: stored before sources were recorded)"
    )


class CandleMeta(Wire):
    symbol: str
    interval: str
    source: str | None = Field(
        description="the newest candle's source (each candle carries its own); null when empty"
    )


class CandleEnvelope(Envelope[list[CandleOut]]):
    meta: CandleMeta


class QuoteOut(Wire):
    symbol: str
    name: str
    market: str
    industry: str | None
    price: float
    change: float | None
    change_percent: float | None
    volume: float
    amount: float | None
    open: float
    high: float
    low: float
    prev_close: float | None
    market_cap: int | None
    time: str
    source: str = Field(description="the quoted day candle's source: sim, kis, kiwoom, …")


class SourceStatusOut(Wire):
    name: str
    state: str
    simulated: bool
    subscriptions: int
    last_message_time: str | None
    reconnects: int
    messages: int
    error: str | None
    details: dict[str, object]


class ClientCounts(Wire):
    websocket: int
    sse: int


class RetentionRemoval(Wire):
    at: str = Field(description="when the pass ran (UTC)")
    target: str = Field(description='"ticks" or "candles_<interval>"')
    before: str = Field(description="rows older than this were removed (UTC)")
    rows: int


class RetentionStatus(Wire):
    tick_days: int | None
    candle_days: dict[str, int | None]
    kept_sources: list[str] = Field(
        description="sources never removed by the windows (AEGIS_RETENTION_KEEPS_HISTORY)"
    )
    last_run: str | None = Field(description="this process's last pass; null if it runs none")
    removed: list[RetentionRemoval] = Field(description="what passes removed, newest first")


class SystemStatus(Wire):
    version: str
    uptime_seconds: float
    mode: Literal["embedded", "server"]
    ingesting: bool
    sources: list[SourceStatusOut]
    ticks_per_second: float
    lag_ms: float
    clients: ClientCounts
    store: dict[str, object]
    bus: dict[str, object]
    ingest: dict[str, object] | None
    rise_color: Literal["red", "green"]
    retention: RetentionStatus


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Invalid request"},
    404: {"model": ErrorBody, "description": "Not found"},
}
