"""The shared data folder beside the checkout (``<repo>/../shared/data``, as CI lays it out;
``AEGIS_SHARED_DATA`` points elsewhere, e.g. from a git worktree). Tests that read it skip where it
is absent, and fail instead under ``AEGIS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.services import unavailable

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    override = os.environ.get("AEGIS_SHARED_DATA")
    return Path(override) if override else REPO.parent / "shared" / "data"


def require_shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        unavailable(f"shared data not found at {path} (set AEGIS_SHARED_DATA)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return require_shared_data()
