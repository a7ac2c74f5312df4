"""Korea Investment & Securities (KIS) Open API: realtime trades/book over WebSocket, REST
quotes, daily chart and same-day trades for gap backfill (see shared docs/protocols.md §A)."""
