"""Strategies: one small interface run unchanged live, on paper and in backtests."""
