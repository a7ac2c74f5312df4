"""A fake of Naver's daily chart endpoint (``fchart.stock.naver.com/sise.nhn``), the source
FinanceDataReader reads KRX stock history from: the same query, the same EUC-KR XML with one
``<item data="YYYYMMDD|open|high|low|close|volume" />`` per day, oldest first, at most ``count``
days. Unknown codes get an empty ``chartdata``, as Naver answers them. Failure modes: a 5xx
reply, and a malformed item."""

from __future__ import annotations

from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOST = "https://fchart.stock.naver.com"

Row = tuple[date, int, int, int, int, int]


class FakeNaverChart:
    def __init__(self, series: dict[str, list[Row]]) -> None:
        self.series = series
        self.requests: list[dict[str, str]] = []
        self.fail_status: int | None = None
        self.garbage = False
        self.app = Starlette(routes=[Route("/sise.nhn", self.sise)])

    async def sise(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.requests.append(q)
        if self.fail_status is not None:
            return Response("Service Unavailable", status_code=self.fail_status)
        symbol = q.get("symbol", "")
        count = int(q.get("count", "500"))
        rows = self.series.get(symbol, [])[-count:]
        items = "\n".join(
            f'\t\t<item data="{d:%Y%m%d}|{o}|{h}|{lo}|{c}|{v}" />' for d, o, h, lo, c, v in rows
        )
        if self.garbage:
            items += '\n\t\t<item data="2026xx01|a|b|c|d|e" />'
        origin = f"{rows[0][0]:%Y%m%d}" if rows else ""
        body = (
            '<?xml version="1.0" encoding="EUC-KR" ?>\n<protocol>\n'
            f'\t<chartdata symbol="{symbol}" name="" count="{count}" timeframe="day" '
            f'precision="0" origintime="{origin}">\n{items}\n\t</chartdata>\n</protocol>\n'
        )
        return Response(body.encode("euc-kr"), media_type="text/xml; charset=EUC-KR")
