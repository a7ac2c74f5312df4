"""The tick journal: every accepted tick batch is appended to a local file *before* it is
published, so a tick a client has seen survives a kill -9 of the ingesting process even when the
periodic store write had not run yet. On start the journal is replayed through ingest (the
store's dedup makes the replay idempotent); after each successful store write the segments it
covered are deleted, so the journal holds about one flush interval of ticks.

Frames are ``<u32 length><payload>`` (the bus's encoded batch, reused), each written with one
``write`` call: after a kill the data is in the kernel's page cache and survives; a torn last
frame (power loss mid-write) is ignored on replay.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_LEN = struct.Struct("<I")
SUFFIX = ".seg"


class TickJournal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._segment = 0
        self.appended = 0

    def _path(self, n: int) -> Path:
        return self.directory / f"{n:012d}{SUFFIX}"

    def segments(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return sorted(int(p.stem) for p in self.directory.glob(f"*{SUFFIX}") if p.stem.isdigit())

    def open(self) -> list[int]:
        """Start a fresh segment after any left by a previous run; returns those (to replay)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        left = self.segments()
        self._segment = (left[-1] + 1) if left else 1
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return left

    def replay(self, segments: list[int]) -> Iterator[bytes]:
        for n in segments:
            data = self._path(n).read_bytes()
            pos = 0
            while pos + _LEN.size <= len(data):
                (size,) = _LEN.unpack_from(data, pos)
                end = pos + _LEN.size + size
                if end > len(data):
                    log.warning("journal segment %d ends in a torn frame; ignored", n)
                    break
                yield data[pos + _LEN.size : end]
                pos = end

    def append(self, payload: bytes) -> None:
        assert self._fd is not None, "journal not open"
        os.write(self._fd, _LEN.pack(len(payload)) + payload)
        self.appended += 1

    def rotate(self) -> int:
        """Begin a new segment; returns the number of the one just closed: everything appended
        so far is in segments up to it."""
        assert self._fd is not None, "journal not open"
        closed = self._segment
        os.close(self._fd)
        self._segment += 1
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return closed

    def drop_through(self, n: int) -> None:
        """Delete segments up to ``n``: their ticks are in the store."""
        for seg in self.segments():
            if seg > n:
                break
            self._path(seg).unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
