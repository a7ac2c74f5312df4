"""``aegis serve`` freezes what the runtime built at startup out of the cyclic GC's reach
(``create_app(freeze_heap=True)``); apps in tests do not."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from aegis.api.app import create_app
from aegis.core.config import Settings
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.support.sources import ScriptedSource


def _app(tmp_path: Path, freeze: bool) -> TestClient:
    settings = Settings(data_dir=tmp_path)
    upgrade_all(settings.store_url, settings.app_db_url)
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[ScriptedSource([])])
    app = create_app(settings, runtime=rt, web_dist=tmp_path / "no-web", freeze_heap=freeze)
    return TestClient(app)


def test_serve_freezes_the_startup_heap_and_still_serves(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        with _app(tmp_path / "a", freeze=False) as client:
            assert gc.get_freeze_count() == 0
            assert client.get("/api/v1/system/status").status_code == 200
        with _app(tmp_path / "b", freeze=True) as client:
            assert gc.get_freeze_count() > 0
            assert client.get("/api/v1/system/status").status_code == 200
    finally:
        gc.unfreeze()  # the rest of the test process collects as usual
