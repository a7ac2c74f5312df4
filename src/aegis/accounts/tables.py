"""Accounts tables on the shared application metadata (migration ``0003_accounts``).

Every row that belongs to a user references ``users.id`` with ``ON DELETE CASCADE``, so deleting
an account removes its sessions, favorites and layouts (and other packages' rows likewise)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from aegis.db.metadata import metadata


def as_utc(dt: datetime) -> datetime:
    """Timestamps are stored in UTC; SQLite hands them back without a zone."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("username", sa.String(30), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    # bumped on password change: every access token issued before carries an older version
    sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per issued refresh token; a login starts a family, each refresh adds one and marks its
# parent used. Presenting a used or revoked token again revokes the whole family (reuse).
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("family", sa.String(32), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex
    sa.Column("expires_at", sa.BigInteger, nullable=False),  # epoch seconds
    sa.Column("used_at", sa.BigInteger),
    sa.Column("revoked_at", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Access-token ids revoked before their expiry (logout), kept until then.
revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("jti", sa.String(32), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

favorites = sa.Table(
    "favorites",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # instruments live in the market store (another SQLite file in embedded mode): no FK
    sa.Column("company_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("user_id", "company_id"),
)

# The dashboard's chart grid, one JSON document per user.
layouts = sa.Table(
    "layouts",
    metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("layout", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


async def lock_user(conn: AsyncConnection, user_id: int) -> None:
    """Serialises this transaction with every other one that locks the same user, until it ends,
    so a per-user limit (count the user's rows, then insert) holds when requests race. Call it
    first in the transaction. PostgreSQL: a row lock on the user (under read committed the count
    after it sees the rows that the previous holder committed). SQLite has no row locks and its
    plain reads lock nothing, so a write that changes nothing takes the database write lock."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            sa.select(users.c.id).where(users.c.id == user_id).with_for_update(key_share=True)
        )
    else:
        await conn.execute(
            users.update().where(users.c.id == user_id).values(token_version=users.c.token_version)
        )
