"""Which companies a headline mentions, by name or six-digit code.

Names are matched longest first at the start of a word ("LG전자" is not "LG"), and the rest of
the word may only be a particle ("삼성전자가", "카카오의"). Short or everyday-word names ("대상",
"LG", "SK") are ambiguous: they link only when the headline names them as a stock (followed by
주가/株/(code)) or also carries their code. "LG CNS" does not mention LG.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_CODE = re.compile(r"(?<![0-9A-Za-z])(\d{6}|\d{5}[A-Z])(?![0-9A-Za-z])")
_WORD_CHAR = re.compile(r"[가-힣A-Za-z0-9&]")
PARTICLES = (
    "으로부터", "에서부터", "으로서", "으로써", "에게서", "이라며", "이라고", "에서는", "에서도",
    "까지", "부터", "에서", "에게", "으로", "보다", "처럼", "마저", "조차", "이며", "이나", "과의",
    "와의", "에는", "에도", "로는", "로도", "만의", "이다", "이자", "측은", "측이",
    "은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도", "로", "만", "측", "株", "주",
)  # fmt: skip


def _words(text: str) -> list[str]:
    return text.split()


_STOCK_MARKERS = ("주가", "株", "주식", "목표가", "목표주가", "시총")
# Listed names that are also everyday words; they need the stock markers like short names.
COMMON_WORDS = frozenset(
    _words(
        "대상 한국 진로 국보 보령 전방 대원 서원 동방 신원 일신 삼양 미래 세방 태양 대성 우진 한양 "
        "동양 신화 경인 대동 서울 부산 인천 광주 대구 세원 하이 코리아 휴림 금강 우리 백산 대창 "
        "조선 에이스 이건 유니온 화승 모나미 계양 오리온 풀무원 영풍 사조 한화 현대 삼성 신세계 "
        "효성 두산 롯데 금호 동원 코스모 오로라 아이큐 알파 베타 제이에스 이노 고려 "
        "미래에셋 키움"
    )
)


# Names the press uses for a listed company (alias → listed name).
ALIASES = {
    "네이버": "NAVER",
    "현대자동차": "현대차",
    "포스코홀딩스": "POSCO홀딩스",
    "LG엔솔": "LG에너지솔루션",
    "삼성바이오": "삼성바이오로직스",
    "한화에어로": "한화에어로스페이스",
    "하이닉스": "SK하이닉스",
    "셀트리온헬스케어": "셀트리온",
    "현대모비스": "현대모비스",
    "기아차": "기아",
    "두산에너빌": "두산에너빌리티",
    "삼성SDI": "삼성SDI",
    "에코프로비엠": "에코프로비엠",
    "KB금융지주": "KB금융",
    "신한금융지주": "신한지주",
}


@dataclass(frozen=True, slots=True)
class Listed:
    symbol: str
    name: str


class Linker:
    def __init__(self, companies: Iterable[Listed]) -> None:
        self._by_name: dict[str, str] = {}
        self._codes: set[str] = set()
        for c in companies:
            self._codes.add(c.symbol)
            key = c.name.replace(" ", "")
            if key and key not in self._by_name:
                self._by_name[key] = c.symbol
        for alias, name in ALIASES.items():
            symbol = self._by_name.get(name.replace(" ", ""))
            if symbol is not None:
                self._by_name.setdefault(alias, symbol)
        self._lengths = sorted({len(n) for n in self._by_name}, reverse=True)
        self._first = {n[0] for n in self._by_name}

    @staticmethod
    def ambiguous(name: str) -> bool:
        return len(name) <= 2 or name in COMMON_WORDS

    def link(self, text: str) -> list[str]:
        """Codes of the companies ``text`` mentions, in order of first mention."""
        found: dict[str, None] = {}
        codes = {m.group(1) for m in _CODE.finditer(text)} & self._codes
        i, n = 0, len(text)
        while i < n:
            at_word_start = i == 0 or not _WORD_CHAR.match(text[i - 1])
            if not at_word_start or text[i] not in self._first:
                i += 1
                continue
            hit = self._longest(text, i)
            if hit is None:
                i += 1
                continue
            name, symbol = hit
            end = i + len(name)
            if self._accept(text, end, name, symbol, codes):
                found.setdefault(symbol, None)
            i = end
        for code in sorted(codes):
            found.setdefault(code, None)
        return list(found)

    def _longest(self, text: str, i: int) -> tuple[str, str] | None:
        for length in self._lengths:
            cand = text[i : i + length]
            if len(cand) == length and cand in self._by_name:
                return cand, self._by_name[cand]
        return None

    def _accept(self, text: str, end: int, name: str, symbol: str, codes: set[str]) -> bool:
        rest = text[end:]
        tail = re.match(r"[가-힣A-Za-z0-9&]*", rest)
        word_rest = tail.group(0) if tail else ""
        if word_rest and word_rest not in PARTICLES:
            return False  # part of a longer word ("대상자", "LG화학" when only LG is listed)
        if not self.ambiguous(name):
            return True
        if symbol in codes:
            return True
        after = rest[len(word_rest) :].lstrip()
        if word_rest in ("株", "주") or after.startswith(_STOCK_MARKERS):
            return True
        return after.startswith(f"({symbol}") or rest.startswith(f"({symbol}")
