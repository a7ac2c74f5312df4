"""Build the shipped headline archive ``src/aegis/research/news/data/headlines.csv.gz`` from the
three news files in ``shared/data/news/`` (see SOURCE.md beside the output).

Kept per article: publication time (ISO 8601 with offset), press, title, link(s) and the title's
nouns (kiwipiepy, precomputed so that seeding needs no analyser). Leads, descriptions and other
publisher text are dropped on purpose. Run: ``uv run python scripts/build_news_seed.py [shared]``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from aegis.research.news.text import nouns
from aegis.research.news.urls import normalise_url

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/aegis/research/news/data/headlines.csv.gz"
_OID = re.compile(r"/article/(\d{3})/")


def _domain(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def main(shared: Path) -> None:
    news = shared / "data" / "news"
    rows: list[dict[str, str]] = []
    oid_press: dict[str, str] = {}
    with open(news / "news_naverfinance_mainnews_2025-01-30_to_2025-05-17_YU-AI-Team-Project.csv",
              encoding="utf-8") as fh:  # fmt: skip
        for r in csv.DictReader(fh):
            m = _OID.search(r["url"])
            if m and r["press"]:
                oid_press.setdefault(m.group(1), r["press"])
            rows.append({
                "published_at": r["published_at_kst"].replace(" ", "T") + "+09:00",
                "press": r["press"], "title": r["title"], "url": r["url"], "alt_url": "",
                "origin": "naverfinance-mainnews",
            })  # fmt: skip
    with open(news / "news_naver_search_by_stock_2026-01_to_2026-03_xxonbang.csv",
              encoding="utf-8") as fh:  # fmt: skip
        for r in csv.DictReader(fh):
            naver, original = r["naver_link"], r["original_link"]
            m = _OID.search(naver)
            press = oid_press.get(m.group(1)) if m else None
            rows.append({
                "published_at": r["published_at_kst_inferred_year"].replace(" ", "T") + ":00+09:00",
                "press": press or _domain(original or naver), "title": r["title"],
                "url": original or naver, "alt_url": naver if naver != original else "",
                "origin": "naver-search",
            })  # fmt: skip
    with open(news / "news_company_clusters_2026_BilBu1127.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["language"] != "Korean":
                continue
            rows.append({
                "published_at": r["first_published_at_utc"].replace("Z", "+00:00"),
                "press": r["source_domain"], "title": r["title"], "url": r["url"], "alt_url": "",
                "origin": "news-clusters",
            })  # fmt: skip
    seen: set[str] = set()
    unique: list[dict[str, str]] = []
    for r in rows:
        keys = {normalise_url(u) for u in (r["url"], r["alt_url"]) if u}
        if not r["title"].strip() or keys & seen:
            continue
        seen |= keys
        r["title"] = " ".join(r["title"].split())
        unique.append(r)
    unique.sort(key=lambda r: r["published_at"])
    for r, words in zip(unique, nouns([r["title"] for r in unique]), strict=True):
        r["nouns"] = " ".join(words)
    buf = io.StringIO()
    fields = ["published_at", "press", "title", "url", "alt_url", "origin", "nouns"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(unique)
    OUT.write_bytes(gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0))
    print(f"{len(unique)} headlines ({len(rows) - len(unique)} duplicates dropped) -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent.parent / "shared")
