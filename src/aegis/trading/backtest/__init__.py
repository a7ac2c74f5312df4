"""Backtests over stored candles with the strategies that also run live and on paper."""
