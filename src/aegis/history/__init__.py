"""Daily OHLCV history: CSV readers for the formats in shared/data and KIS REST backfill."""
