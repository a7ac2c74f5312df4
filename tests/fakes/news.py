"""A fake Korean press RSS server and a fake Naver news search API (protocols.md §D).

RSS fault modes per path: ``/ok.xml`` (RSS 2.0), ``/atom.xml``, ``/broken.xml`` (malformed XML),
``/html`` (an HTML page, not a feed), ``/slow.xml`` (never answers until released), ``/500``.
Naver: headers checked (401 ``024`` otherwise), ``display``/``start``/``sort`` validated with
SE02/SE03/SE04, ``force(status, body)`` for the next answer, ``stall()`` to time clients out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.http import HttpServer

NAVER_ID = "fakeNaverClientId"
NAVER_SECRET = "fakeNaverSecret"

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>가짜 경제신문 증권</title><link>https://press.example/</link>
<item><title>삼성전자, HBM4 양산 돌입…반도체 회복 기대</title>
<link>https://press.example/article/1?utm_source=rss</link>
<pubDate>Tue, 01 Dec 2026 09:10:00 +0900</pubDate>
<description>리드 문장은 저장하지 않는다</description></item>
<item><title><![CDATA[SK하이닉스 "AI 메모리 수요 견조"]]></title>
<link>https://press.example/article/2</link>
<pubDate>Tue, 01 Dec 2026 10:00:00 +0900</pubDate></item>
<item><title>날짜 없는 기사</title><link>https://press.example/article/3</link></item>
<item><title>링크 없는 기사</title><pubDate>Tue, 01 Dec 2026 11:00:00 +0900</pubDate></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom 증권</title>
<entry><title>카카오 목표주가 상향</title><link href="https://atom.example/a/9"/>
<updated>2026-12-01T03:00:00Z</updated></entry></feed>"""


class FakePress:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.hits: dict[str, int] = {}
        self.server = HttpServer(
            Starlette(routes=[Route("/{name:path}", self._serve, methods=["GET"])])
        )

    @property
    def url(self) -> str:
        return self.server.url

    async def _serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        if name == "ok.xml":
            return Response(RSS, media_type="application/rss+xml")
        if name == "atom.xml":
            return Response(ATOM, media_type="application/atom+xml")
        if name == "broken.xml":
            return Response(RSS[: len(RSS) // 2], media_type="application/rss+xml")
        if name == "html":
            return Response("<html><body>not a feed</body></html>", media_type="text/html")
        if name == "slow.xml":
            await self.release.wait()
            return Response(RSS, media_type="application/rss+xml")
        if name == "500":
            return Response("oops", status_code=500)
        return Response("not found", status_code=404)

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        self.release.set()
        await self.server.stop()


def naver_item(title: str, n: int, pub: str = "Tue, 01 Dec 2026 13:00:00 +0900") -> dict[str, str]:
    return {
        "title": title,
        "originallink": f"https://www.naverpress.example/news/{n}",
        "link": f"https://n.news.naver.com/mnews/article/009/{n:010d}?sid=101",
        "description": "<b>요약</b>은 저장하지 않는다",
        "pubDate": pub,
    }


class FakeNaver:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self.items: dict[str, list[dict[str, str]]] = {}
        self._forced: tuple[int, dict[str, Any] | str] | None = None
        self._stall = asyncio.Event()
        self._stalled = False
        self.server = HttpServer(
            Starlette(routes=[Route("/v1/search/news.json", self._search, methods=["GET"])])
        )

    @property
    def url(self) -> str:
        return self.server.url + "/v1/search/news.json"

    def force(self, status: int, body: dict[str, Any] | str) -> None:
        """Answer the next search with ``status`` and ``body`` (a str is sent as plain text)."""
        self._forced = (status, body)

    def stall(self) -> None:
        self._stalled = True

    async def _search(self, request: Request) -> Response:
        if self._stalled:
            await self._stall.wait()
        if (
            request.headers.get("X-Naver-Client-Id") != NAVER_ID
            or request.headers.get("X-Naver-Client-Secret") != NAVER_SECRET
        ):
            return JSONResponse(
                {
                    "errorMessage": "Authentication failed (인증에 실패했습니다.)",
                    "errorCode": "024",
                },
                status_code=401,
            )
        if self._forced is not None:
            status, body = self._forced
            self._forced = None
            if isinstance(body, str):
                return PlainTextResponse(body, status_code=status)
            return JSONResponse(body, status_code=status)
        q = request.query_params
        query = q.get("query", "")
        if not query:
            return JSONResponse(
                {
                    "errorMessage": "Incorrect query request (잘못된 쿼리요청입니다.)",
                    "errorCode": "SE01",
                },
                status_code=400,
            )
        display = int(q.get("display", "10"))
        if not 1 <= display <= 100:
            return JSONResponse(
                {
                    "errorMessage": "Invalid display value (부적절한 display 값입니다.)",
                    "errorCode": "SE02",
                },
                status_code=400,
            )
        if not 1 <= int(q.get("start", "1")) <= 1000:
            return JSONResponse({"errorMessage": "Invalid start value", "errorCode": "SE03"}, 400)
        if q.get("sort", "sim") not in ("sim", "date"):
            return JSONResponse({"errorMessage": "Invalid sort value", "errorCode": "SE04"}, 400)
        self.queries.append(query)
        items = self.items.get(query, [])[:display]
        return JSONResponse(
            {
                "lastBuildDate": "Tue, 01 Dec 2026 13:05:00 +0900",
                "total": len(items),
                "start": 1,
                "display": len(items),
                "items": items,
            }
        )

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        self._stall.set()
        await self.server.stop()
