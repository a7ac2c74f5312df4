"""Cache poisoning and bloat through query variations: cached research answers are keyed by the
validated, normalised request (parsed dates, typed numbers), never by the raw query string, so
spellings of one request share one entry and a request that does not parse is refused before
it reaches the cache."""

from __future__ import annotations

from pathlib import Path

from tests.support.app import running_app

URL = "/api/v1/companies/{cid}/valuation"


def test_spellings_of_one_request_share_one_cache_entry(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, rt, _src):
        assert rt.research is not None
        cache = rt.research.cache
        found = client.get("/api/v1/companies", params={"keyword": "005930"}).json()["data"]
        cid = next(c["companyId"] for c in found if c["code"] == "005930")
        url = URL.format(cid=cid)
        before = len(cache)
        variants = [
            "start=2026-04-01&end=2026-04-30",
            "end=2026-04-30&start=2026-04-01",  # another order
            "start=2026-04-01&end=2026-04-30&utm_source=x",  # an unknown parameter
            "start=2026-04-01&end=2026-04-30&limit=0260",  # the default limit, zero-padded
            "start=2026-04-01&end=2026-04-30&limit=260&cb=123",  # a cache buster
        ]
        bodies = []
        etags = set()
        for q in variants:
            r = client.get(f"{url}?{q}")
            assert r.status_code == 200, (q, r.text)
            bodies.append(r.json()["data"])
            etags.add(r.headers["etag"])
        assert all(b == bodies[0] for b in bodies)
        assert bodies[0]["rows"], "the window has trading days"
        assert len(etags) == 1
        assert len(cache) == before + 1  # one entry however it was spelled

        # what does not parse is refused, and leaves nothing in the cache
        for q in ("start=2026-04-01%00", "start=2026-4-1", "limit=1e3", "start=' OR 1=1 --"):
            r = client.get(f"{url}?{q}")
            assert r.status_code == 400, (q, r.text)
            assert r.json()["code"] == "INVALID_REQUEST"
        assert len(cache) == before + 1
