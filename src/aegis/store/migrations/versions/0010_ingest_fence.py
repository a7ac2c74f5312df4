"""Ingest fencing (PostgreSQL only): a lease row with an epoch, and a statement trigger on
``ticks`` and ``candles`` that refuses writes from an ingester whose epoch was superseded.

- ``ingest_lease``: one row. The leading ``aegis ingest`` renews ``renewed_at`` every half second;
  a standby that sees it older than the lease takes over and bumps ``epoch``.
- The ingester's store connections carry ``aegis.ingest_epoch`` (a session setting). Every
  INSERT/UPDATE/DELETE statement on ``ticks``/``candles`` from such a session locks the lease row
  ``FOR KEY SHARE`` where ``epoch`` still equals its own, or fails. The takeover's epoch bump is
  a key update: it waits for write transactions in flight, and every later one sees the new
  epoch. So an old leader that resumes after a pause cannot write one row. Sessions without the
  setting (``aegis import``, tests, API processes) are not affected.
- SQLite (embedded mode, one process on one machine) has no lease: its file lock suffices.

See docs/operations.md ("Fencing a paused leader").

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FENCED_TABLES = ("ticks", "candles")

_FUNCTION = """
CREATE OR REPLACE FUNCTION aegis_ingest_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mine text := current_setting('aegis.ingest_epoch', true);
BEGIN
    IF mine IS NULL OR mine = '' THEN
        RETURN NULL;  -- not an ingester session
    END IF;
    PERFORM 1 FROM ingest_lease WHERE id = 1 AND epoch = mine::bigint FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'aegis ingest epoch % was superseded: this ingester is fenced', mine
            USING ERRCODE = 'AEF01';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE ingest_lease (
            id smallint PRIMARY KEY CHECK (id = 1),
            epoch bigint NOT NULL UNIQUE,
            holder text NOT NULL,
            backend_pid integer NOT NULL,
            renewed_at timestamptz NOT NULL
        )
        """
    )
    op.execute(_FUNCTION)
    for table in FENCED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_ingest_fence BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION aegis_ingest_fence()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in FENCED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_ingest_fence ON {table}")
    op.execute("DROP FUNCTION IF EXISTS aegis_ingest_fence()")
    op.execute("DROP TABLE IF EXISTS ingest_lease")
