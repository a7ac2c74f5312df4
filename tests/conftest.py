"""Shared fixtures. Server-backed fixtures (PostgreSQL, Redis) live in tests/support/services.py."""

from __future__ import annotations

pytest_plugins = [
    "tests.support.services",
    "tests.support.db",
    "tests.support.shared",
    "tests.support.hangdump",
]
