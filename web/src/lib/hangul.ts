// Initial-consonant (초성) extraction, used to highlight and rank search matches locally.

const CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ";
const SYLLABLE_START = 0xac00;
const SYLLABLE_END = 0xd7a3;

/** "삼성전자" → "ㅅㅅㅈㅈ"; non-syllables pass through unchanged. */
export function choseong(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code >= SYLLABLE_START && code <= SYLLABLE_END) {
      out += CHOSEONG[Math.floor((code - SYLLABLE_START) / 588)];
    } else {
      out += ch;
    }
  }
  return out;
}

/** True when the query is made only of initial consonants (so it is a 초성 search). */
export function isChoseongQuery(q: string): boolean {
  return q.length > 0 && [...q].every((c) => CHOSEONG.includes(c));
}
