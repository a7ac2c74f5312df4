"""Listing profile fields the market registry does not hold (representative, homepage, region),
read once from the shipped KRX listing."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aegis.reference.listing import LISTING_FILE

LISTING_DAY = "2026-03-22"


@dataclass(frozen=True, slots=True)
class ListingProfile:
    representative: str | None
    homepage: str | None
    region: str | None
    settle_month: str | None


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def _homepage(text: str | None) -> str | None:
    url = _clean(text)
    if url is None:
        return None
    return url if url.startswith(("http://", "https://")) else f"http://{url}"


def read_profiles(path: Path = LISTING_FILE) -> dict[str, ListingProfile]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {
            row["Code"]: ListingProfile(
                _clean(row["Representative"]),
                _homepage(row["HomePage"]),
                _clean(row["Region"]),
                _clean(row["SettleMonth"]),
            )
            for row in csv.DictReader(f)
        }
