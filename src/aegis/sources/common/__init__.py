"""Helpers shared by the broker connectors: rate limiting, backoff, dedup, reconnect loop."""
