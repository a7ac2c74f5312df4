"""URL normalisation for deduplication: one article, one key, however it was linked."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

# Parameters that say where a reader came from, not which article it is.
# (Naver's sid/sid1/sid2 name the section the reader came through.)
_TRACKING = frozenset(("sid", "sid1", "sid2", "fbclid", "gclid", "ref", "ncid"))


def normalise_url(url: str) -> str:
    """``https://www.Example.com/a/?utm_source=x&b=2&a=1#top`` → ``example.com/a?a=1&b=2``.

    Scheme, ``www.``/``m.``, default ports, fragments, trailing slashes and tracking
    parameters are dropped; the remaining query is sorted. Naver's ``n.news.naver.com``,
    ``news.naver.com`` and ``m.news.naver.com`` article links share one key."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    if host in ("n.news.naver.com", "news.naver.com"):
        host = "news.naver.com"
    path = parts.path.rstrip("/") or ""
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=False)
        if k.lower() not in _TRACKING and not k.lower().startswith("utm_")
    ]
    query.sort()
    key = host + path
    if query:
        key += "?" + urlencode(query)
    return key
