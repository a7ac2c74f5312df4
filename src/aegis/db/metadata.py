"""The one MetaData for application tables (not the market store's), with a naming convention
so that constraint names are the same on SQLite and PostgreSQL and migrations can name them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# The largest value an ``sa.Integer`` id column holds on every back end (int4 on PostgreSQL):
# an id beyond it names no row, and passed to the driver it fails with an overflow instead.
MAX_INTEGER_ID = 2**31 - 1


def is_integer_id(value: int) -> bool:
    return 0 < value <= MAX_INTEGER_ID
