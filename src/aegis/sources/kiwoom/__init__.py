"""Kiwoom REST API realtime (protocols.md §B): token, WebSocket LOGIN, REG type 0B, PING."""
