"""Backups of both databases: SQLite files through SQLite's online backup API (consistent while
the server runs), PostgreSQL through ``pg_dump``/``pg_restore`` (custom format).

A backup is a directory holding one file per database and ``manifest.json`` saying what each
file is, so that ``restore`` needs only the directory.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aegis import __version__
from aegis.core.errors import AegisError, InvalidRequest

MANIFEST = "manifest.json"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class BackupError(AegisError):
    code = "BACKUP_ERROR"


@dataclass(frozen=True)
class Database:
    """One database of this installation: ``sqlite:///path`` or a ``postgresql://`` URL."""

    role: str  # "store", "app", or "store+app" when both live in one PostgreSQL database
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:///")

    @property
    def path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def file_name(self) -> str:
        return self.path.name if self.is_sqlite else "postgres.dump"


def databases(store_url: str, app_db_url: str) -> list[Database]:
    if store_url == app_db_url:
        return [Database("store+app", store_url)]
    return [Database("store", store_url), Database("app", app_db_url)]


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for d in PG_BIN_DIRS:
        if (d / name).is_file():
            return str(d / name)
    raise BackupError(
        f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)"
    )


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        # the URL (with its password) is an argument: never echo the command, only the error
        raise BackupError(f"{Path(cmd[0]).name} failed: {res.stderr.strip()[-2000:]}")


def _pg_restore(url: str, file: Path) -> None:
    """Replace the database's objects with the dump's, in one transaction that commits only
    when the whole dump was read. Not ``pg_restore --clean``: with day partitions (revision
    0007) it stops at dropping a partition's inherited key (PostgreSQL 15). The schema is
    emptied instead, and the dump's SQL follows."""
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as load_err:
        # files, not pipes, for what they say: nobody reads those while the SQL flows
        dump = subprocess.Popen(
            [_pg_tool("pg_restore"), "--no-owner", "-f", "-", str(file)],
            stdout=subprocess.PIPE,
            stderr=dump_err,
        )
        load = subprocess.Popen(
            [_pg_tool("psql"), "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-d", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=load_err,
        )
        assert dump.stdout is not None and load.stdin is not None
        try:
            with dump.stdout, load.stdin:
                load.stdin.write(b"BEGIN;\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n")
                shutil.copyfileobj(dump.stdout, load.stdin)
                if dump.wait() == 0:
                    load.stdin.write(b"COMMIT;\n")  # else psql ends without: rolled back
        except BrokenPipeError:
            pass  # psql stopped at an error: its message follows
        dumped, loaded = dump.wait(), load.wait()
        if dumped != 0 or loaded != 0:
            tool, out = ("pg_restore", dump_err) if dumped != 0 else ("psql (restore)", load_err)
            out.seek(0)
            message = out.read().decode(errors="replace").strip()[-2000:]
            # the URL (with its password) is an argument: never echo the command, only the error
            raise BackupError(f"{tool} failed: {message}")


def _sqlite_copy(src: Path, dest: Path) -> None:
    with sqlite3.connect(src) as s, sqlite3.connect(dest) as d:
        s.backup(d)
    # `with` commits but does not close: close explicitly so the file is complete on disk
    s.close()
    d.close()


def backup(store_url: str, app_db_url: str, target: Path) -> list[Path]:
    """Write every database into ``target`` (a new or empty directory). Returns the files."""
    if target.exists() and any(target.iterdir()):
        raise InvalidRequest(f"{target} is not empty: give a new directory")
    target.mkdir(parents=True, exist_ok=True)
    entries = []
    written = []
    for db in databases(store_url, app_db_url):
        out = target / db.file_name
        if db.is_sqlite:
            if not db.path.is_file():
                continue  # a database this installation never created (e.g. no app data yet)
            _sqlite_copy(db.path, out)
        else:
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "-f", str(out), db.url])
        entries.append(
            {"role": db.role, "kind": "sqlite" if db.is_sqlite else "postgresql", "file": out.name}
        )
        written.append(out)
    if not entries:
        raise BackupError("nothing to back up: no database exists yet (run `aegis db upgrade`)")
    manifest = {
        "aegisVersion": __version__,
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "databases": entries,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return written


def restore(store_url: str, app_db_url: str, source: Path) -> list[str]:
    """Replace this installation's databases with the backup in ``source``. The servers must be
    stopped. Returns the roles restored."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        entries = manifest["databases"]
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidRequest(f"{source} is not an AEGIS backup ({MANIFEST}: {exc})") from exc
    by_role = {db.role: db for db in databases(store_url, app_db_url)}
    restored = []
    for entry in entries:
        file = source / str(entry["file"])
        if not file.is_file():
            raise InvalidRequest(f"backup file missing: {file}")
        role = str(entry["role"])
        db = by_role.get(role)
        if db is None:
            raise InvalidRequest(
                f"the backup holds a '{role}' database but this installation has "
                f"{', '.join(by_role)}: use the mode (embedded or server) it came from"
            )
        if db.is_sqlite != (entry["kind"] == "sqlite"):
            raise InvalidRequest(f"the backup's {role} database is {entry['kind']}")
        if db.is_sqlite:
            db.path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):  # a stale WAL would replay onto the restored file
                Path(f"{db.path}{suffix}").unlink(missing_ok=True)
            _sqlite_copy(file, db.path)
        else:
            _pg_restore(db.url, file)
        restored.append(role)
    return restored
