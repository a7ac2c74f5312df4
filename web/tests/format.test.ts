import { describe, expect, it } from "vitest";
import {
  chartTimeLabel,
  direction,
  directionVs,
  formatAmount,
  formatAmountShort,
  formatChange,
  formatKRW,
  formatKstAsOf,
  formatKstDate,
  formatKstDateTime,
  formatKstTime,
  formatNumber,
  formatPercent,
  fromChartTime,
  isIntraday,
  toChartTime,
} from "../src/lib/format";

describe("KRW and numbers", () => {
  it("puts thousands separators in whole won", () => {
    expect(formatNumber(1234567)).toBe("1,234,567");
    expect(formatKRW(72000)).toBe("72,000원");
    expect(formatKRW(0)).toBe("0원");
  });
  it("keeps two decimals for index levels", () => {
    expect(formatNumber(2650.1)).toBe("2,650.10");
  });
  it("shows a dash for missing values", () => {
    expect(formatNumber(null)).toBe("–");
    expect(formatKRW(undefined)).toBe("–");
    expect(formatPercent(Number.NaN)).toBe("–");
  });
});

describe("억/조 amounts", () => {
  it("writes 조 with the 억 remainder", () => {
    expect(formatAmount(412_345_678_901_234)).toBe("412조 3,457억");
    expect(formatAmount(1_000_000_000_000)).toBe("1조");
  });
  it("writes 억 and 만 below 1조", () => {
    expect(formatAmount(345_600_000_000)).toBe("3,456억");
    expect(formatAmount(12_340_000)).toBe("1,234만");
    expect(formatAmount(9_999)).toBe("9,999");
  });
  it("keeps the sign of negative amounts", () => {
    expect(formatAmount(-250_000_000)).toBe("-3억");
  });
  it("has a one-unit short form for tables", () => {
    expect(formatAmountShort(412_345_678_901_234)).toBe("412.3조");
    expect(formatAmountShort(1_234_000_000_000)).toBe("1.23조");
    expect(formatAmountShort(345_600_000_000)).toBe("3,456억");
  });
});

describe("percent and change", () => {
  it("signs percentages and rounds to two places", () => {
    expect(formatPercent(1.234)).toBe("+1.23%");
    expect(formatPercent(-0.5)).toBe("-0.50%");
    expect(formatPercent(0.001)).toBe("0.00%");
  });
  it("marks changes with Korean arrows", () => {
    expect(formatChange(1200)).toBe("▲1,200");
    expect(formatChange(-300)).toBe("▼300");
    expect(formatChange(0)).toBe("0");
  });
  it("classifies direction", () => {
    expect(direction(5)).toBe(1);
    expect(direction(-1)).toBe(-1);
    expect(direction(0)).toBe(0);
    expect(direction(null)).toBe(0);
  });
});

describe("as-of stamp", () => {
  const now = Date.parse("2026-12-04T01:00:00Z") / 1000; // Friday 10:00 KST
  it("shows the time alone for a quote of the same KST day, though the UTC day differs", () => {
    expect(formatKstAsOf("2026-12-03T15:30:00Z", now)).toBe("00:30:00");
  });
  it("names the day of a quote from an earlier KST day (weekend, holiday, stale feed)", () => {
    expect(formatKstAsOf("2026-12-03T06:30:00Z", now)).toBe("2026-12-03 15:30");
    expect(formatKstAsOf("2026-12-03T14:59:59Z", now)).toBe("2026-12-03 23:59");
  });
});

describe("colour against a base price", () => {
  it("colours a day's high and low against the previous close, not by being high or low", () => {
    // a stock down all day: its high is still below yesterday's close, so it reads as falling
    expect(directionVs(69_500, 70_000)).toBe(-1);
    // a stock up all day: its low is above yesterday's close, so it reads as rising
    expect(directionVs(70_500, 70_000)).toBe(1);
    expect(directionVs(70_000, 70_000)).toBe(0);
  });
  it("leaves a figure uncoloured when there is no base", () => {
    expect(directionVs(70_000, null)).toBe(0);
    expect(directionVs(null, 70_000)).toBe(0);
  });
  it("treats a comparison line still at its start (100) as unchanged", () => {
    expect(directionVs(100, 100)).toBe(0);
    expect(directionVs(99.9, 100)).toBe(-1);
  });
});

describe("KST time", () => {
  // 2025-06-13 00:00:00Z is 09:00 in Seoul.
  const t = Date.UTC(2025, 5, 13, 0, 0, 0) / 1000;
  it("formats epoch seconds in KST whatever the machine's zone", () => {
    expect(formatKstTime(t)).toBe("09:00:00");
    expect(formatKstDate(t)).toBe("2025-06-13");
    expect(formatKstDateTime(t + 5 * 60)).toBe("2025-06-13 09:05");
  });
  it("reads ISO strings", () => {
    expect(formatKstTime("2025-06-13T06:30:15Z")).toBe("15:30:15");
  });
  it("crosses the date line at 15:00 UTC", () => {
    expect(formatKstDate(Date.UTC(2025, 5, 12, 15, 0, 0) / 1000)).toBe("2025-06-13");
  });
  it("shifts chart times so the axis reads KST and shifts them back", () => {
    const c = toChartTime(t);
    expect(chartTimeLabel(c, true)).toBe("2025-06-13 09:00");
    expect(chartTimeLabel(toChartTime(Date.UTC(2025, 5, 12, 15) / 1000), false)).toBe("2025-06-13");
    expect(fromChartTime(c)).toBe(t);
  });
  it("tells intraday intervals from daily and longer", () => {
    expect(isIntraday("1m")).toBe(true);
    expect(isIntraday("1h")).toBe(true);
    expect(isIntraday("1d")).toBe(false);
    expect(isIntraday("1M")).toBe(false);
  });
});
