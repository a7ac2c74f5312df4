import { describe, expect, it } from "vitest";
import { filterQuotes, industries, isEquity, mergeQuotes, sortQuotes, topBy } from "../src/lib/market";
import type { Quote } from "../src/lib/types";

function q(symbol: string, p: Partial<Quote> = {}): Quote {
  return {
    symbol,
    name: symbol,
    market: "KOSPI",
    industry: null,
    price: 1000,
    change: 0,
    changePercent: 0,
    volume: 10,
    amount: 10_000,
    open: 1000,
    high: 1000,
    low: 1000,
    prevClose: 1000,
    marketCap: 1e9,
    time: "2025-06-13T00:00:00Z",
    source: "sim",
    ...p,
  };
}

describe("mergeQuotes", () => {
  it("adds new rows and replaces changed ones", () => {
    const m = new Map<string, Quote>();
    expect(mergeQuotes(m, [q("A"), q("B")])).toBe(true);
    expect(mergeQuotes(m, [q("A", { price: 1100, time: "2025-06-13T00:00:01Z" })])).toBe(true);
    expect(m.get("A")!.price).toBe(1100);
    expect(m.size).toBe(2);
  });
  it("reports no change for an identical row", () => {
    const m = new Map<string, Quote>();
    mergeQuotes(m, [q("A")]);
    expect(mergeQuotes(m, [q("A")])).toBe(false);
  });
});

describe("ranking helpers", () => {
  const rows = [
    q("A", { changePercent: 5, volume: 100, marketCap: 3e12, industry: "반도체" }),
    q("B", { changePercent: -3, volume: 300, marketCap: 1e12, market: "KOSDAQ", industry: "게임" }),
    q("C", { changePercent: 1, volume: 0, marketCap: null, market: "KOSDAQ GLOBAL" }),
    q("KOSPI", { market: "INDEX" }),
  ];
  it("ranks gainers and losers, leaving untraded rows out", () => {
    expect(topBy(rows, "changePercent", 2, true).map((r) => r.symbol)).toEqual(["A", "KOSPI"]);
    expect(topBy(rows, "changePercent", 1, false).map((r) => r.symbol)).toEqual(["B"]);
  });
  it("sorts by market cap with missing values last in both directions", () => {
    expect(sortQuotes(rows, "marketCap", true).at(-1)!.symbol).toBe("C");
    expect(sortQuotes(rows, "marketCap", false).at(-1)!.symbol).toBe("C");
  });
  it("filters by market (KOSDAQ includes KOSDAQ GLOBAL) and industry", () => {
    expect(filterQuotes(rows, { market: "KOSDAQ", industry: "" }).map((r) => r.symbol)).toEqual(["B", "C"]);
    expect(filterQuotes(rows, { market: "", industry: "반도체" }).map((r) => r.symbol)).toEqual(["A"]);
  });
  it("lists distinct industries and keeps indices out of equities", () => {
    expect(industries(rows)).toEqual(["게임", "반도체"]);
    expect(rows.filter(isEquity).map((r) => r.symbol)).toEqual(["A", "B", "C"]);
  });
});
