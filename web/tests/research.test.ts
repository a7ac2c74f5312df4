import { describe, expect, it } from "vitest";
import { barLayout, margin, periodLabel, sourceLabel } from "../src/lib/research";

describe("barLayout", () => {
  it("puts the zero line at the bottom when all values are positive", () => {
    const { bars, zeroY } = barLayout([100, 50], 200, 100);
    expect(zeroY).toBe(100);
    expect(bars[0]).toMatchObject({ x: 0, y: 0, height: 100, negative: false });
    expect(bars[1]).toMatchObject({ x: 100, y: 50, height: 50 });
  });

  it("draws losses below the zero line", () => {
    const { bars, zeroY } = barLayout([30, -10], 100, 40);
    expect(zeroY).toBe(30);
    expect(bars[1]).toMatchObject({ y: 30, height: 10, negative: true });
  });

  it("leaves a gap for missing values", () => {
    const { bars } = barLayout([null, 5], 100, 10);
    expect(bars[0]).toBeNull();
    expect(bars[1]?.height).toBe(10);
  });
});

describe("labels", () => {
  it("names years and quarters", () => {
    expect(periodLabel({ year: 2024, quarter: null })).toBe("2024");
    expect(periodLabel({ year: 2025, quarter: 3 })).toBe("2025 3Q");
  });

  it("computes margins only from present figures", () => {
    expect(margin(25, 200)).toBe(12.5);
    expect(margin(null, 200)).toBeNull();
    expect(margin(5, 0)).toBeNull();
  });

  it("labels simulated figures as such", () => {
    expect(sourceLabel("sim")).toBe("시뮬레이션");
    expect(sourceLabel("krx-snapshot")).toContain("2026-03-20");
  });
});

import { matchRoute } from "../src/lib/router";

describe("research routes", () => {
  it("matches the industries and rankings pages", () => {
    expect(matchRoute("/industries")).toEqual({ name: "industries" });
    expect(matchRoute("/rankings/")).toEqual({ name: "rankings" });
    expect(matchRoute("/comparisons")).toEqual({ name: "comparisons" });
  });
});

import { linePaths } from "../src/lib/research";

describe("linePaths", () => {
  it("scales every line onto one time and value axis around 100", () => {
    const { paths, baseY, min, max } = linePaths(
      [
        [{ time: 0, value: 100 }, { time: 10, value: 120 }],
        [{ time: 0, value: 100 }, { time: 10, value: 80 }],
      ],
      100,
      40,
    );
    expect(min).toBe(80);
    expect(max).toBe(120);
    expect(baseY).toBe(20);
    expect(paths[0]).toBe("M0.0,20.0L100.0,0.0");
    expect(paths[1]).toBe("M0.0,20.0L100.0,40.0");
  });

  it("gives empty paths when there are no points", () => {
    expect(linePaths([[], []], 10, 10).paths).toEqual(["", ""]);
  });
});
