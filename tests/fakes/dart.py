"""A local OpenDART following shared/docs/protocols.md §C and protocols-trading.md §5: HTTP 200
with a ``status`` for application errors, ``013`` for no data, ``020`` for the request limit,
corpCode.xml as a ZIP (plain XML on error). Failure modes are switched by ``mode``."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY = "k" * 40
CORPS = [
    ("00126380", "삼성전자", "005930"),
    ("00164779", "SK하이닉스", "000660"),
    ("00434003", "다코", " "),
]


def _money(n: int) -> str:
    return f"{n:,}"


class FakeDart:
    def __init__(self) -> None:
        self.mode = "ok"  # ok | limit | slow | http500 | nodata | badkey-ignored
        self.calls: list[tuple[str, dict[str, str]]] = []
        # (corp_code, year, reprt_code) → {(fs_div, account_nm): amount}
        self.accounts: dict[tuple[str, str, str], dict[tuple[str, str], int]] = {}
        # the same key → {(fs_div, account_nm): 당기누적 amount} (``thstrm_add_amount``: from the
        # start of the fiscal year, on the income lines of quarterly and half-year reports)
        self.cumulative: dict[tuple[str, str, str], dict[tuple[str, str], int]] = {}
        self.filings: dict[str, list[dict[str, str]]] = {}
        # corp_code → company.json fields (the flat object of protocols-trading.md §5.2)
        self.profiles: dict[str, dict[str, str]] = {
            "00126380": {
                "corp_name": "삼성전자(주)",
                "corp_name_eng": "SAMSUNG ELECTRONICS CO,.LTD",
                "stock_name": "삼성전자",
                "stock_code": "005930",
                "ceo_nm": "전영현",
                "corp_cls": "Y",
                "jurir_no": "1301110006246",
                "bizr_no": "1248100998",
                "adres": "경기도 수원시 영통구 삼성로 129 (매탄동)",
                "hm_url": "www.samsung.com/sec",
                "ir_url": "",
                "phn_no": "031-200-1114",
                "fax_no": "031-200-7538",
                "induty_code": "264",
                "est_dt": "19690113",
                "acc_mt": "12",
            }
        }
        self.app = Starlette(
            routes=[
                Route("/api/corpCode.xml", self.corp_code),
                Route("/api/fnlttSinglAcnt.json", self.single),
                Route("/api/list.json", self.list),
                Route("/api/company.json", self.company),
            ]
        )

    async def _gate(self, request: Request) -> Response | None:
        params = dict(request.query_params)
        self.calls.append((request.url.path, params))
        if self.mode == "slow":
            await asyncio.sleep(1.5)
        if self.mode == "http500":
            return Response("oops", status_code=500)
        if params.get("crtfc_key") != KEY:
            return JSONResponse({"status": "010", "message": "등록되지 않은 키입니다."})
        if self.mode == "limit":
            return JSONResponse({"status": "020", "message": "요청 제한을 초과하였습니다."})
        if self.mode == "nodata":
            return JSONResponse({"status": "013", "message": "조회된 데이타가 없습니다."})
        return None

    async def corp_code(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.calls.append((request.url.path, params))
        if params.get("crtfc_key") != KEY:
            xml = "<result><status>010</status><message>등록되지 않은 키입니다.</message></result>"
            return Response(xml.encode(), media_type="application/xml")
        body = "".join(
            f"<list><corp_code>{c}</corp_code><corp_name>{n}</corp_name>"
            f"<stock_code>{s}</stock_code><modify_date>20240101</modify_date></list>"
            for c, n, s in CORPS
        )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(
                "CORPCODE.xml", f'<?xml version="1.0" encoding="UTF-8"?><result>{body}</result>'
            )
        return Response(buf.getvalue(), media_type="application/zip")

    async def single(self, request: Request) -> Response:
        if (err := await self._gate(request)) is not None:
            return err
        p = request.query_params
        key = (p.get("corp_code", ""), p.get("bsns_year", ""), p.get("reprt_code", ""))
        acc = self.accounts.get(key)
        if not acc:
            return JSONResponse({"status": "013", "message": "조회된 데이타가 없습니다."})
        rows: list[dict[str, Any]] = [
            {
                "rcept_no": "20250311001085",
                "reprt_code": key[2],
                "bsns_year": key[1],
                "corp_code": key[0],
                "stock_code": "005930",
                "fs_div": fs,
                "fs_nm": "연결재무제표" if fs == "CFS" else "재무제표",
                "sj_div": "BS" if name.endswith("총계") else "IS",
                "account_nm": name,
                "thstrm_nm": "제 56 기",
                "thstrm_amount": _money(amount),
                "ord": str(i),
                "currency": "KRW",
            }
            for i, ((fs, name), amount) in enumerate(acc.items())
        ]
        for row in rows:
            added = self.cumulative.get(key, {}).get((row["fs_div"], row["account_nm"]))
            if added is not None:
                row["thstrm_add_amount"] = _money(added)
        return JSONResponse({"status": "000", "message": "정상", "list": rows})

    async def list(self, request: Request) -> Response:
        if (err := await self._gate(request)) is not None:
            return err
        rows = self.filings.get(request.query_params.get("corp_code", ""), [])
        if not rows:
            return JSONResponse({"status": "013", "message": "조회된 데이타가 없습니다."})
        return JSONResponse(
            {
                "status": "000",
                "message": "정상",
                "page_no": 1,
                "page_count": 100,
                "total_count": len(rows),
                "total_page": 1,
                "list": rows,
            }
        )

    async def company(self, request: Request) -> Response:
        if (err := await self._gate(request)) is not None:
            return err
        corp = request.query_params.get("corp_code", "")
        fields = self.profiles.get(corp)
        if fields is None:
            return JSONResponse({"status": "013", "message": "조회된 데이타가 없습니다."})
        return JSONResponse({"status": "000", "message": "정상", "corp_code": corp, **fields})
