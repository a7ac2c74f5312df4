"""An app wired to a temporary SQLite store and the in-process bus, for in-process tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from aegis.api.app import create_app
from aegis.core.config import Settings
from aegis.domain.ticks import Tick
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.support.sources import ScriptedSource


@contextmanager
def running_app(
    tmp_path: Path,
    batches: Sequence[Sequence[Tick]] = (),
    web_dist: Path | None = None,
    **overrides: object,
) -> Iterator[tuple[TestClient, Runtime, ScriptedSource]]:
    settings = Settings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    upgrade_all(settings.store_url, settings.app_db_url)
    source = ScriptedSource(batches)
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[source])
    app = create_app(settings, runtime=rt, web_dist=web_dist or tmp_path / "no-web")
    with TestClient(app) as client:
        yield client, rt, source
