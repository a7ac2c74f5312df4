"""Korean initial consonants (초성), for company search: ``ㅅㅅㅈㅈ`` finds 삼성전자."""

from __future__ import annotations

# The 19 leading consonants in Unicode syllable order (U+AC00 + (lead × 21 + vowel) × 28 + tail).
_LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_SYLLABLE_FIRST = 0xAC00
_SYLLABLE_LAST = 0xD7A3
_PER_LEAD = 21 * 28


def chosung(name: str) -> str:
    """Each precomposed Hangul syllable becomes its initial consonant; every other character
    (Latin letters, digits, compatibility jamo already typed as ㅅ) is kept as it is, so that
    ``SK하이닉스`` → ``SKㅎㅇㄴㅅ`` and a query typed in jamo matches itself."""
    out = []
    for ch in name:
        code = ord(ch)
        if _SYLLABLE_FIRST <= code <= _SYLLABLE_LAST:
            out.append(_LEADS[(code - _SYLLABLE_FIRST) // _PER_LEAD])
        else:
            out.append(ch)
    return "".join(out)


def is_chosung_query(text: str) -> bool:
    """True when the text is made only of initial consonants (a 초성 search such as ``ㅅㅅ``)."""
    return bool(text) and all(ch in _LEADS for ch in text)
