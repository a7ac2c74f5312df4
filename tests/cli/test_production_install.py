"""A production install (the lock's runtime dependencies only, as the Dockerfile's
`uv sync --no-dev`) runs: every module of the package imports and `aegis db upgrade` creates
both databases (the store and the app database). The development environment hides a missing
runtime dependency when a dev tool pulls it in (greenlet, which SQLAlchemy's asyncio needs,
came only with playwright)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, aegis
names = [m.name for m in pkgutil.walk_packages(aegis.__path__, "aegis.")]
names.remove("aegis.__main__")  # runs the CLI
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def _run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_runtime_dependencies_alone_import_every_module_and_upgrade_the_databases(
    tmp_path: Path,
) -> None:
    uv = shutil.which("uv")
    if uv is None:
        unavailable("uv is not on PATH (make setup installs it)")
    assert uv is not None
    venv = tmp_path / "venv"
    # the Dockerfile's install: the lock's runtime packages (uv's cache, filled by `make setup`)
    sync_env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    sync_env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    _run(
        [
            uv,
            "sync",
            "-q",
            "--frozen",
            "--no-dev",
            "--no-install-project",
            "--python",
            sys.executable,
        ],
        sync_env,
    )
    python = str(venv / "bin" / "python")

    env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
    env.update(PYTHONPATH=str(ROOT / "src"), AEGIS_DATA_DIR=str(tmp_path / "var"))
    env.pop("VIRTUAL_ENV", None)
    modules = int(_run([python, "-c", IMPORT_EVERY_MODULE], env).strip().splitlines()[-1])
    assert modules > 100  # the walk found the package, not an empty path

    _run([python, "-m", "aegis", "db", "upgrade"], env)
    for name in ("aegis-sim.db", "aegis-app.db"):  # the simulator's store (the default source)
        with sqlite3.connect(tmp_path / "var" / name) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        conn.close()
        assert tables, name
