"""Industry membership (Naver/WICS industries), read from the shipped sector map.

The ``research`` package owns industries; until its map is merged, news and analysis read the
same source file through this one function, which is the single place to point at theirs.
Industry ids are 1-based positions of the industry names in Korean sort order (기타 excluded),
so they are stable for a given map.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SECTOR_FILE = "sector_naver_wics_industry_2026-05-06.csv"
UNCLASSIFIED = "기타"  # ETFs, ETNs, SPACs


@dataclass(frozen=True, slots=True)
class Industry:
    id: int
    name: str
    members: tuple[str, ...]  # stock codes


@lru_cache(maxsize=1)
def industries() -> tuple[Industry, ...]:
    text = resources.files("aegis.research.news").joinpath("data", SECTOR_FILE).read_text("utf-8")
    groups: dict[str, list[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        code, sector = (row.get("code") or "").strip(), (row.get("sector") or "").strip()
        if code and sector and sector != UNCLASSIFIED:
            groups.setdefault(sector, []).append(code.zfill(6))
    return tuple(
        Industry(i, name, tuple(groups[name])) for i, name in enumerate(sorted(groups), start=1)
    )


def industry(industry_id: int) -> Industry | None:
    found = industries()
    return found[industry_id - 1] if 1 <= industry_id <= len(found) else None


def industry_of(symbol: str) -> Industry | None:
    for ind in industries():
        if symbol in ind.members:
            return ind
    return None
