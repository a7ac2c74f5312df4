import { describe, expect, it } from "vitest";
import { STATE_LABEL, TRIGGER_LABEL, placedText, priceLimits, tradesQuery, snapToTick, stepTick, tickSize } from "../src/lib/trading";

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

describe("trade log filter", () => {
  it("includes the chosen end day (the API's end is exclusive)", () => {
    // 종료일 2026-12-03 must show that day's trades: the API gets the next KST day
    const qs = tradesQuery({ page: 1, pageSize: 50, start: "2026-12-03", end: "2026-12-03" });
    expect(qs.get("start")).toBe("2026-12-03");
    expect(qs.get("end")).toBe("2026-12-04");
  });
  it("crosses month and year ends and leaves blank fields out", () => {
    expect(tradesQuery({ page: 1, pageSize: 50, end: "2026-02-28" }).get("end")).toBe("2026-03-01");
    expect(tradesQuery({ page: 1, pageSize: 50, end: "2026-12-31" }).get("end")).toBe("2027-01-01");
    const qs = tradesQuery({ page: 2, pageSize: 50, symbol: "", side: "SELL", start: "", end: "" });
    expect([...qs.keys()].sort()).toEqual(["page", "pageSize", "side"]);
  });
});

describe("safety state", () => {
  it("has a Korean label for every state the API reports", () => {
    for (const s of ["ACTIVE", "REDUCING", "HALTED"] as const) expect(STATE_LABEL[s]).toMatch(/[가-힣]/);
  });
});

describe("order ticket answer", () => {
  it("calls a working order 접수, never a lasting 미체결, and a filled one 체결", () => {
    const o = { side: "BUY" as const, quantity: 1200, filledQuantity: 0 };
    expect(placedText({ ...o, status: "ACCEPTED" })).toBe("매수 주문 접수 (1,200주)");
    expect(placedText({ ...o, status: "NEW" })).not.toContain("미체결");
    expect(placedText({ ...o, side: "SELL", status: "FILLED", filledQuantity: 1200 })).toBe("매도 주문 체결 (1,200주)");
  });
});

describe("safety trigger labels", () => {
  it("name every trigger kind the server records in Korean", () => {
    for (const kind of ["TRADING_ON", "TRADING_OFF", "KILL_SWITCH", "STATE_ACTIVE", "STATE_REDUCING", "STATE_HALTED"]) {
      expect(TRIGGER_LABEL[kind]).toMatch(/[가-힣]/);
    }
  });
});
