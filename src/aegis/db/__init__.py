"""The application database: users, favorites, research data, orders… written once with
SQLAlchemy Core on async engines for SQLite (embedded) and PostgreSQL (server mode).

The hot market-data store (ticks, candles) keeps its own hand-tuned back ends in
``aegis.store``; both share one Alembic chain (``aegis.store.migrations``).

Each feature package owns its tables in its own ``tables.py`` on :data:`metadata`.
"""

from aegis.db.engine import create_app_engine, to_async_url
from aegis.db.metadata import metadata

__all__ = ["create_app_engine", "metadata", "to_async_url"]
