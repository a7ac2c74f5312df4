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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": 404,
                    "code": "NOT_FOUND",
                    "message": "unknown symbol 999999",
                },
                {
                    "status": 400,
                    "code": "INVALID_REQUEST",
                    "message": "unknown interval '7m'; allowed: …",
                    "details": {"allowed": "…"},
                },
            ]
        }
    )

    status: int
    code: str
    message: str
    details: dict[str, object] | None = None


class CompanySummary(Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "companyId": 1,
                    "code": "005930",
                    "name": "삼성전자",
                    "nameEn": "Samsung Electronics",
                    "market": "KOSPI",
                    "industry": "통신 및 방송 장비 제조업",
                    "kind": "stock",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "time": 1773964800,
                    "open": 199000,
                    "high": 201500,
                    "low": 198100,
                    "close": 200500,
                    "volume": 14515608,
                    "amount": 2905120000000,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"symbol": "005930", "interval": "1d", "source": "kis"}]}
    )

    symbol: str
    interval: str
    source: str | None = Field(
        description="the newest candle's source (each candle carries its own); null when empty"
    )


class CandleEnvelope(Envelope[list[CandleOut]]):
    meta: CandleMeta


class QuoteOut(Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "symbol": "005930",
                    "name": "삼성전자",
                    "market": "KOSPI",
                    "industry": "통신 및 방송 장비 제조업",
                    "price": 200500,
                    "change": 1500,
                    "changePercent": 0.75,
                    "volume": 14515608,
                    "amount": 2905120000000,
                    "open": 199000,
                    "high": 201500,
                    "low": 198100,
                    "prevClose": 199000,
                    "marketCap": 1196915000000000,
                    "time": "2026-03-20T06:30:00.000Z",
                    "source": "kis",
                }
            ]
        }
    )

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


class IngestLeadership(Wire):
    """Which process ingests (holds the ingest lock) and which wait as standbys."""

    kind: Literal["file", "postgres-advisory-lock"]
    leader: str | None  # "host:pid"
    standbys: list[str]
    this_process: Literal["leader", "standby", "api"]
    epoch: int | None = Field(
        default=None, description="the ingest lease's epoch (PostgreSQL; bumped at each takeover)"
    )


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
    leadership: IngestLeadership
    retention: RetentionStatus
    trading: dict[str, int] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Invalid request (validation errors are 400 too)"},
    404: {"model": ErrorBody, "description": "Not found"},
    503: {"model": ErrorBody, "description": "Starting up, or the stream hub is unavailable"},
}


# --- WebSocket / SSE messages --------------------------------------------------------------
# Not operations, so FastAPI does not list them: ``aegis.api.openapi`` adds them to the
# document's components, from which the web client's types are generated. ``extra="forbid"``
# lets a test hold the hub's hand-built payloads to exactly these shapes.


class StreamMessage(Wire):
    model_config = ConfigDict(extra="forbid")


class TickMessage(StreamMessage):
    type: Literal["tick"]
    symbol: str
    price: float
    volume: float
    change: float | None  # null when the previous close is not known
    change_percent: float | None
    timestamp: str
    source: str


class CandleMessage(CandleOut):
    """A live candle: the REST candle's fields and which candle it is."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "candle",
                    "symbol": "005930",
                    "interval": "5m",
                    "time": 1773964800,
                    "open": 199000,
                    "high": 199500,
                    "low": 198900,
                    "close": 199400,
                    "volume": 120511,
                    "amount": 24012000000,
                    "source": "kis",
                }
            ]
        },
    )

    type: Literal["candle"]
    symbol: str
    interval: str
    source: str


class QuotesMessage(StreamMessage):
    type: Literal["quotes"]
    data: list[QuoteOut]


class AckMessage(StreamMessage):
    type: Literal["subscribed", "unsubscribed"]
    channel: Literal["ticks", "candles", "quotes"]
    symbols: list[str] | None = None
    interval: str | None = None


class ErrorMessage(StreamMessage):
    type: Literal["error"]
    code: str
    message: str


class PingMessage(StreamMessage):
    type: Literal["ping"]


class PongMessage(StreamMessage):
    type: Literal["pong"]


class ConflatedMessage(StreamMessage):
    type: Literal["conflated"]
    count: int


class BackfillMessage(StreamMessage):
    """Ticks of one symbol that the server lost on its internal bus and read back from the
    store: older than ticks already sent, in time order, each sent once."""

    type: Literal["backfill"]
    symbol: str
    ticks: list[TickMessage]


class ResyncedMessage(StreamMessage):
    """The server rebuilt its live candles and quotes from the store after a gap on its bus:
    reload what you draw from REST (``backfill`` messages carry the missed ticks)."""

    type: Literal["resynced"]


STREAM_MESSAGES: tuple[type[Wire], ...] = (
    TickMessage,
    CandleMessage,
    QuotesMessage,
    AckMessage,
    ErrorMessage,
    PingMessage,
    PongMessage,
    ConflatedMessage,
    BackfillMessage,
    ResyncedMessage,
)
