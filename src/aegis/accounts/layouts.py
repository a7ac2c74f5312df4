"""The dashboard's chart-grid layouts, saved per user (the web keeps them in localStorage when
logged out). One JSON document per user: ``{"current": name, "layouts": {name: layout}}``;
the shape is validated by the router's schema before it gets here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.tables import layouts


class Layouts:
    def __init__(self, db: AsyncEngine) -> None:
        self.db = db

    async def get(self, user_id: int) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            raw = await conn.scalar(sa.select(layouts.c.layout).where(layouts.c.user_id == user_id))
        if raw is None:
            return None
        doc: dict[str, Any] = orjson.loads(raw)
        return doc

    async def put(self, user_id: int, doc: dict[str, Any]) -> None:
        text = orjson.dumps(doc).decode()
        try:
            await self._put(user_id, text)
        except sa.exc.IntegrityError:
            # a concurrent first save inserted the row between our update and insert: the
            # row exists now, so this attempt updates it
            await self._put(user_id, text)

    async def _put(self, user_id: int, text: str) -> None:
        now = datetime.now(UTC)
        async with self.db.begin() as conn:
            updated = await conn.execute(
                layouts.update()
                .where(layouts.c.user_id == user_id)
                .values(layout=text, updated_at=now)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    layouts.insert().values(user_id=user_id, layout=text, updated_at=now)
                )
