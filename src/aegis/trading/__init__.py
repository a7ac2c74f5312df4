"""Trading: orders and their state machine over an append-only event log, brokers (paper, KIS),
portfolio accounting, the safety system, strategies and backtests. Transport-free: the API layer
only calls :class:`aegis.trading.service.TradingService`."""
