"""Caches for what is read often and changes rarely (company profiles, financials, rankings,
industry lists, analysis results): an in-process LRU with TTL in front of Redis (server mode),
invalidated by events on the bus, one load per key at a time."""

from aegis.cache.tiered import CacheRegistry, TieredCache

__all__ = ["CacheRegistry", "TieredCache"]
