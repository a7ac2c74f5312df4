import { describe, expect, it } from "vitest";
import { priceLimits, snapToTick, stepTick, tickSize } from "../src/lib/trading";

describe("KRX tick grid", () => {
  it("has the bands in force since 2023-01-25", () => {
    expect(tickSize(1_999)).toBe(1);
    expect(tickSize(2_000)).toBe(5);
    expect(tickSize(19_990)).toBe(10);
    expect(tickSize(166_500)).toBe(100);
    expect(tickSize(236_000)).toBe(500);
    expect(tickSize(500_000)).toBe(1_000);
  });

  it("snaps to the nearest grid price and steps across bands", () => {
    expect(snapToTick(71_550)).toBe(71_500);
    expect(snapToTick(71_560)).toBe(71_600);
    expect(snapToTick(236_750)).toBe(236_500);
    expect(stepTick(199_900, 1)).toBe(200_000);
    expect(stepTick(200_000, 1)).toBe(200_500);
    expect(stepTick(200_000, -1)).toBe(199_900);
  });

  it("rounds the ±30 % limits inward (checked on real data)", () => {
    expect(priceLimits(19_680).upper).toBe(25_550);
    expect(priceLimits(51_900).upper).toBe(67_400);
    expect(priceLimits(238_000)).toEqual({ lower: 166_600, upper: 309_000 });
  });
});
