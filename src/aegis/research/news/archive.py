"""The shipped headline archive (real 2025–2026 headlines, see data/SOURCE.md)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import datetime
from importlib import resources

from aegis.research.news.models import Incoming

ARCHIVE_FILE = "headlines.csv.gz"
ORIGIN = "archive"


def load_archive() -> list[Incoming]:
    raw = resources.files("aegis.research.news").joinpath("data", ARCHIVE_FILE).read_bytes()
    out: list[Incoming] = []
    for r in csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8"))):
        out.append(
            Incoming(
                title=r["title"],
                url=r["url"],
                published_at=int(datetime.fromisoformat(r["published_at"]).timestamp()),
                press=r["press"] or None,
                alt_urls=(r["alt_url"],) if r["alt_url"] else (),
                nouns=tuple(r["nouns"].split()),
            )
        )
    return out
