import { describe, expect, it } from "vitest";
import { bbandsSeries, emaSeries, macdSeries, rsiSeries, smaSeries, type Series } from "../src/lib/indicators";
import { cloudOrder, cloudSizes, feedNotice, providerLine, type Analysis } from "../src/lib/newsai";
import { matchRoute } from "../src/lib/router";
import ref from "./fixtures/talib_005930.json";

function same(got: Series, want: (number | null)[]) {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i];
    if (w === null || w === undefined) expect(g).toBeNull();
    else expect(g).toBeCloseTo(w, 6);
  });
}

describe("chart studies equal TA-Lib on real 005930 closes", () => {
  const c = ref.close;
  it("SMA and EMA", () => {
    same(smaSeries(c, 20), ref.sma20);
    same(emaSeries(c, 20), ref.ema20);
  });
  it("RSI (Wilder)", () => same(rsiSeries(c, 14), ref.rsi14));
  it("Bollinger bands", () => {
    const b = bbandsSeries(c, 20, 2);
    same(b.upper, ref.upper);
    same(b.middle, ref.middle);
    same(b.lower, ref.lower);
  });
  it("MACD with TA-Lib's seeding", () => {
    const m = macdSeries(c, 12, 26, 9);
    same(m.macd, ref.macd);
    same(m.signal, ref.signal);
    same(m.hist, ref.hist);
  });
  it("short inputs are all warm-up", () => {
    expect(rsiSeries([1, 2, 3], 14)).toEqual([null, null, null]);
    expect(macdSeries([1, 2, 3], 12, 26, 9).macd).toEqual([null, null, null]);
    expect(rsiSeries(new Array(20).fill(5), 14)[19]).toBe(0);
  });
});

describe("news and analysis helpers", () => {
  it("says plainly when no feed is reachable", () => {
    const msg = "뉴스 피드에 연결할 수 없습니다 (rss:한국경제 증권: ConnectError). 인터넷 연결을 확인하세요.";
    expect(feedNotice({ live: false, lastSuccessAt: null, naverConfigured: false, message: msg })).toEqual({ tone: "warn", text: msg });
    expect(feedNotice({ live: true, lastSuccessAt: "2026-12-02T10:00:00+09:00", naverConfigured: true, message: "" }).tone).toBe("ok");
  });
  it("sizes cloud words by count", () => {
    const s = cloudSizes([{ word: "a", count: 10 }, { word: "b", count: 5 }, { word: "c", count: 0 }], 10, 30);
    expect(s).toEqual([30, 20, 10]);
    expect(cloudSizes([{ word: "a", count: 3 }], 10, 30)).toEqual([20]);
    expect(cloudSizes([])).toEqual([]);
    expect(cloudOrder([1, 2, 3, 4, 5])).toEqual([4, 2, 1, 3, 5]);
  });
  it("names the provider and the reason of a fallback", () => {
    const a = { provider: "quant", model: "aegis-quant-1", fallback: { provider: "openai", model: "llama3", reason: "LLM: timed out after 30 s" } } as Analysis;
    expect(providerLine(a)).toBe("키 없는 퀀트 분석 (aegis-quant-1) — openai (llama3) 호출 실패로 대체: LLM: timed out after 30 s");
    expect(providerLine({ ...a, provider: "gemini", model: "gemini-2.5-flash", fallback: null })).toBe("gemini · gemini-2.5-flash");
  });
});

describe("news route", () => {
  it("matches /news", () => {
    expect(matchRoute("/news")).toEqual({ name: "news" });
    expect(matchRoute("/news/")).toEqual({ name: "news" });
  });
});
