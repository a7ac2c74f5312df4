"""Binance spot trades over the combined stream (protocols.md §E)."""
