"""OpenDART client: corpCode.xml, fnlttSinglAcnt.json, list.json, company.json.

DART answers application errors with HTTP 200 and a ``status`` in the body (``000`` ok, ``013``
no data — not an error, ``020`` request limit, ``010``/``011``/``012``/``901`` key problems,
``800`` maintenance). Each becomes a precise exception; the key is a query parameter and is never
put in an exception message or a log line."""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import httpx
from pydantic import SecretStr

from aegis.core.errors import UpstreamError, UpstreamTimeout

log = logging.getLogger(__name__)

REPORT_CODES = {1: "11013", 2: "11012", 3: "11014", 4: "11011"}  # Q1, half, Q3, annual
NO_DATA = "013"
KEY_ERRORS = {"010", "011", "012", "901"}


class DartError(UpstreamError):
    """DART answered with an error status (``details.status``)."""


class DartKeyError(DartError):
    """The API key is unknown, disabled, expired or not allowed from this IP."""


class DartRateLimited(DartError):
    """Status 020 (or HTTP 429): the daily request limit is used up; retry on the next cycle."""

    status = 429
    code = "UPSTREAM_RATE_LIMITED"


class DartTimeout(UpstreamTimeout):
    """DART did not answer in time."""


@dataclass(frozen=True, slots=True)
class CorpCode:
    corp_code: str
    corp_name: str
    stock_code: str  # "" for unlisted companies


def _amount(text: object) -> int | None:
    """'258,935,494,000,000', '-1,234' or '' → int."""
    s = str(text or "").strip().replace(",", "")
    if not s or s == "-":
        return None
    try:
        return int(s)
    except ValueError:
        return None


class DartClient:
    def __init__(
        self,
        api_key: SecretStr,
        base_url: str = "https://opendart.fss.or.kr/api",
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _get(self, path: str, params: dict[str, str]) -> httpx.Response:
        query = {"crtfc_key": self._key.get_secret_value(), **params}
        try:
            resp = await self._client.get(f"{self._base}/{path}", params=query)
        except httpx.TimeoutException as exc:
            raise DartTimeout(f"DART {path} timed out", details={"endpoint": path}) from exc
        except httpx.HTTPError as exc:
            # the exception text may hold the URL with the key: name only the endpoint
            raise DartError(
                f"DART {path} unreachable ({type(exc).__name__})", details={"endpoint": path}
            ) from exc
        if resp.status_code == 429:
            raise DartRateLimited("DART request limit reached", details={"endpoint": path})
        if resp.status_code != 200:
            raise DartError(
                f"DART {path} answered HTTP {resp.status_code}",
                details={"endpoint": path, "httpStatus": resp.status_code},
            )
        return resp

    async def _json(self, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        """The body of a JSON endpoint; None for status 013 (no data)."""
        resp = await self._get(path, params)
        try:
            body = resp.json()
        except ValueError as exc:
            raise DartError(f"DART {path} sent a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise DartError(f"DART {path} sent an unexpected body")
        _check(path, str(body.get("status", "")), str(body.get("message", "")))
        if body.get("status") == NO_DATA:
            return None
        return body

    async def corp_codes(self) -> list[CorpCode]:
        """Every company's 고유번호 (a ZIP holding CORPCODE.xml; errors come as plain XML)."""
        resp = await self._get("corpCode.xml", {})
        data = resp.content
        if not data.startswith(b"PK"):
            try:
                root = ElementTree.fromstring(data)
            except ElementTree.ParseError as exc:
                raise DartError("DART corpCode.xml sent neither a zip nor XML") from exc
            _check("corpCode.xml", root.findtext("status") or "", root.findtext("message") or "")
            raise DartError("DART corpCode.xml sent XML without a status")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                name = next(n for n in zf.namelist() if n.upper().endswith(".XML"))
                root = ElementTree.fromstring(zf.read(name))
        except (zipfile.BadZipFile, StopIteration, ElementTree.ParseError) as exc:
            raise DartError("DART corpCode.xml zip is damaged") from exc
        return [
            CorpCode(
                (el.findtext("corp_code") or "").strip(),
                (el.findtext("corp_name") or "").strip(),
                (el.findtext("stock_code") or "").strip(),
            )
            for el in root.iter("list")
        ]

    async def single_accounts(
        self, corp_code: str, year: int, reprt_code: str
    ) -> list[dict[str, Any]]:
        """Main accounts of one report (both CFS and OFS rows); [] when DART has none."""
        body = await self._json(
            "fnlttSinglAcnt.json",
            {"corp_code": corp_code, "bsns_year": str(year), "reprt_code": reprt_code},
        )
        return [] if body is None else list(body.get("list") or [])

    async def disclosures(
        self, corp_code: str, bgn_de: str, end_de: str, page_no: int = 1, page_count: int = 100
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of filings and the number of pages."""
        body = await self._json(
            "list.json",
            {
                "corp_code": corp_code,
                "bgn_de": bgn_de,
                "end_de": end_de,
                "page_no": str(page_no),
                "page_count": str(page_count),
            },
        )
        if body is None:
            return [], 0
        return list(body.get("list") or []), int(body.get("total_page") or 1)

    async def company(self, corp_code: str) -> DartCompany | None:
        """기업개황 (company.json); None when DART has no profile for the code (013)."""
        body = await self._json("company.json", {"corp_code": corp_code})
        return None if body is None else parse_company(body)


@dataclass(frozen=True, slots=True)
class DartCompany:
    corp_code: str
    corp_name: str
    corp_name_eng: str | None
    stock_code: str | None
    ceo: str | None
    homepage: str | None
    ir_url: str | None
    address: str | None
    phone: str | None
    industry_code: str | None
    established_on: str | None  # YYYY-MM-DD
    fiscal_month: int | None
    corp_class: str | None


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _url(text: str | None) -> str | None:
    # hm_url often comes without a scheme ("www.samsung.com/sec")
    if text is None:
        return None
    return text if text.startswith(("http://", "https://")) else f"http://{text}"


def parse_company(body: dict[str, Any]) -> DartCompany:
    """company.json's flat object (all strings, protocols-trading.md §5.2) → DartCompany."""
    corp_code, corp_name = _text(body, "corp_code"), _text(body, "corp_name")
    if corp_code is None or corp_name is None:
        raise DartError("DART company.json sent a profile without corp_code or corp_name")
    est = _text(body, "est_dt")
    month = _text(body, "acc_mt")
    return DartCompany(
        corp_code=corp_code,
        corp_name=corp_name,
        corp_name_eng=_text(body, "corp_name_eng"),
        stock_code=_text(body, "stock_code"),
        ceo=_text(body, "ceo_nm"),
        homepage=_url(_text(body, "hm_url")),
        ir_url=_url(_text(body, "ir_url")),
        address=_text(body, "adres"),
        phone=_text(body, "phn_no"),
        industry_code=_text(body, "induty_code"),
        established_on=(
            f"{est[:4]}-{est[4:6]}-{est[6:]}" if est and len(est) == 8 and est.isdigit() else None
        ),
        fiscal_month=int(month) if month and month.isdigit() and 1 <= int(month) <= 12 else None,
        corp_class=_text(body, "corp_cls"),
    )


def _check(path: str, status: str, message: str) -> None:
    if status in ("000", NO_DATA):
        return
    details = {"endpoint": path, "status": status, "dartMessage": message}
    if status == "020":
        raise DartRateLimited("DART request limit reached (status 020)", details=details)
    if status in KEY_ERRORS:
        raise DartKeyError(f"DART refused the API key (status {status})", details=details)
    raise DartError(f"DART {path} failed with status {status}: {message}", details=details)


FLOWS = ("revenue", "operating_profit", "net_income")


def statement_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, int | None]]:
    """fnlttSinglAcnt rows → per basis (CFS/OFS) the figures we keep, from ``thstrm_amount``;
    an income line's ``thstrm_add_amount`` (당기누적: from the start of the fiscal year, given
    by quarterly and half-year reports) as ``<field>_ytd``."""
    names = {
        "매출액": "revenue",
        "수익(매출액)": "revenue",
        "영업수익": "revenue",
        "영업이익": "operating_profit",
        "영업이익(손실)": "operating_profit",
        "당기순이익": "net_income",
        "당기순이익(손실)": "net_income",
        "자산총계": "total_assets",
        "부채총계": "total_liabilities",
        "자본총계": "total_equity",
    }
    out: dict[str, dict[str, int | None]] = {}
    for r in rows:
        field = names.get(str(r.get("account_nm", "")).strip())
        basis = str(r.get("fs_div", ""))
        if field is None or basis not in ("CFS", "OFS"):
            continue
        figures = out.setdefault(basis, {})
        if figures.get(field) is None:
            figures[field] = _amount(r.get("thstrm_amount"))
        if field in FLOWS and figures.get(f"{field}_ytd") is None:
            ytd = _amount(r.get("thstrm_add_amount"))
            if ytd is not None:
                figures[f"{field}_ytd"] = ytd
    return out
