"""Korean text for search and keywords: kiwipiepy nouns, Hangul bigrams, stop-words.

The search index of a headline is its nouns (Kiwi morphemes) plus the character bigrams of
each Hangul run and the lower-cased Latin/number words; a query is matched by the bigrams and
words of its own text (AND), so "반도체주" finds "반도체" headlines and particles never matter.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi  # type: ignore[import-untyped]

_HANGUL_RUN = re.compile(r"[가-힣]+")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[.&][A-Za-z0-9]+)*")
NOUN_TAGS = frozenset(("NNG", "NNP", "SL"))


def _words(text: str) -> list[str]:
    return text.split()


# Words every market headline has; they say nothing in a keyword cloud.
STOP_WORDS = frozenset(
    _words(
        """
    기자 뉴스 사진 제공 속보 단독 종합 오늘 내일 어제 올해 지난해 작년 이번 이날 당시 최근 관련 대해
    위해 통해 대한 가운데 이후 이전 전일 전날 대비 가량 수준 기록 전망 예상 발표 진행 확인 가능 경우
    사실 부분 정도 이상 이하 시간 오전 오후 하루 주간 모습 상황 의견 입장 분야 대상 결과 내용 때문
    그룹 회사 기업 업체 시장 증시 주식 종목 주가 투자 투자자 증권 거래 코스피 코스닥 상승 하락 마감
    개장 출발 만에 억원 조원 만원 달러 원 명 개 곳 건 번 등 것 수 및 중 후 전 말 초 월 일 년
    the and for with
    """
    )
)
_KIWI_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def kiwi() -> Kiwi:
    """One analyser per process (loading its model takes about a second)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def nouns(texts: Sequence[str]) -> list[list[str]]:
    """Keyword candidates of each text: nouns and Latin words of two or more characters,
    stop-words removed, upper-cased Latin (HBM, AI)."""
    if not texts:
        return []
    with _KIWI_LOCK:  # Kiwi is not documented as thread-safe
        analysed = kiwi().tokenize(list(texts))
    out: list[list[str]] = []
    for tokens in analysed:
        # join written-together name parts: "SK"+"하이닉스", "HD"+"현대중공업" → one word
        merged: list[tuple[str, str, int]] = []  # (form, tag, end)
        for t in tokens:
            if t.tag not in NOUN_TAGS:
                merged.append(("", t.tag, t.start + t.len))
                continue
            form = t.form.upper() if t.tag == "SL" else t.form
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and prev[2] == t.start
                and (prev[1] == "SL" or (prev[1] == "NNP" and t.tag == "NNP"))
                and t.tag != "SL"
            ):
                merged[-1] = (prev[0] + form, "NNP", t.start + t.len)
            else:
                merged.append((form, t.tag, t.start + t.len))
        words = [
            form
            for form, tag, _ in merged
            if tag in NOUN_TAGS and len(form) >= 2 and form.lower() not in STOP_WORDS
        ]
        out.append(words)
    return out


def bigrams(text: str) -> list[str]:
    """Character bigrams of each Hangul run (a one-letter run stays whole) and Latin/number
    words, lower-cased: the units both the index and the query are cut into."""
    grams: list[str] = []
    for run in _HANGUL_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    grams.extend(w.lower() for w in _LATIN_WORD.findall(text))
    return grams


def index_terms(title: str, title_nouns: Iterable[str]) -> str:
    """The space-separated terms a headline is indexed by (full-text column)."""
    seen: dict[str, None] = {}
    for term in (*bigrams(title), *(n.lower() for n in title_nouns)):
        seen.setdefault(term, None)
    return " ".join(seen)


def query_terms(q: str) -> list[str]:
    """The terms a search must all match; empty when the query has no letters or digits."""
    seen: dict[str, None] = {}
    for term in bigrams(q):
        seen.setdefault(term, None)
    return list(seen)
