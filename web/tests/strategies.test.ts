import { describe, expect, it } from "vitest";
import { checkPeriod, FormError, parseParams, parseSymbols } from "../src/lib/strategies";

describe("strategy form: symbols", () => {
  it("reads codes split by commas, spaces or lines, upper-cased, each once in order", () => {
    expect(parseSymbols(" 005930, 000660\n005930 btcusdt ", 20)).toEqual(["005930", "000660", "BTCUSDT"]);
  });

  it("refuses an empty list, too many codes and characters no code has", () => {
    expect(() => parseSymbols(" , ", 20)).toThrow(FormError);
    expect(() => parseSymbols("005930 000660 035420", 2)).toThrow("2개까지");
    expect(() => parseSymbols("005930 삼성전자", 20)).toThrow("올바르지 않습니다");
    expect(() => parseSymbols("00593;0", 20)).toThrow(FormError);
  });
});

describe("strategy form: parameters", () => {
  const defaults = { fast: 5, slow: 20, k: 2.5, mode: "close" };

  it("reads numbers where the default is a number and keeps a blank at its default", () => {
    expect(parseParams(defaults, { fast: "3", slow: "", k: "1.5", mode: "open" })).toEqual({
      fast: 3,
      slow: 20,
      k: 1.5,
      mode: "open",
    });
  });

  it("sends only the strategy's own parameters", () => {
    expect(parseParams({ fast: 5 }, { fast: "7", injected: "1" })).toEqual({ fast: 7 });
  });

  it("refuses text, infinity and a fraction where the default is an integer", () => {
    expect(() => parseParams(defaults, { fast: "x" })).toThrow("fast: 숫자");
    expect(() => parseParams(defaults, { k: "Infinity" })).toThrow("k: 숫자");
    expect(() => parseParams(defaults, { fast: "2.5" })).toThrow("fast: 정수");
  });
});

describe("strategy form: period", () => {
  it("needs both days, the first before the second", () => {
    expect(() => checkPeriod("2024-01-01", "2026-12-01")).not.toThrow();
    expect(() => checkPeriod("", "2026-12-01")).toThrow(FormError);
    expect(() => checkPeriod("2026-12-01", "2026-12-01")).toThrow("앞서야");
    expect(() => checkPeriod("2026-12-02", "2026-12-01")).toThrow("앞서야");
  });
});
