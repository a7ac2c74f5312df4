import { describe, expect, it } from "vitest";
import { ERROR_LABEL, userMessage } from "../src/lib/api";
import { barIndexAtOrBefore, CrosshairBus } from "../src/lib/crosshair";
import { choseong, isChoseongQuery } from "../src/lib/hangul";
import { sma, smaAt } from "../src/lib/indicators";
import { LAYOUT_PREFIX, defaultLayout, listLayouts, loadLayout, parseLayout, saveLayout } from "../src/lib/layouts";
import { matchRoute } from "../src/lib/router";
import { loadSettings, palette } from "../src/lib/settings";
import { MemStorage } from "./support";


describe("grid layouts", () => {
  it("keeps each named layout under its own key", () => {
    const s = new MemStorage();
    const a = { ...defaultLayout(), size: 4 as const };
    saveLayout(s, "단타", a);
    saveLayout(s, "기본", defaultLayout());
    expect(listLayouts(s)).toEqual(["기본", "단타"]);
    expect(s.getItem(`${LAYOUT_PREFIX}단타`)).not.toBeNull();
    expect(loadLayout(s, "단타").size).toBe(4);
  });
  it("repairs corrupt or partial entries", () => {
    expect(parseLayout("{bad json")).toBeNull();
    const l = parseLayout(JSON.stringify({ size: 9, cells: [{ symbol: "000660", interval: "7x" }] }))!;
    expect(l.size).toBe(2);
    expect(l.cells).toHaveLength(16);
    expect(l.cells[0]).toEqual({ symbol: "000660", interval: "1m" });
  });
});

describe("settings", () => {
  it("defaults to dark with Korean colours (red up, blue down)", () => {
    const s = loadSettings(undefined);
    expect(s.theme).toBe("dark");
    const p = palette(s);
    expect(p.up).toBe("#f04452");
    expect(p.down).toBe("#3485fa");
  });
  it("flips to green up / red down", () => {
    const p = palette({ theme: "dark", rise: "green", crosshairSync: false });
    expect(p.down).toBe("#f04452");
  });
  it("survives a corrupt stored value", () => {
    expect(loadSettings({ getItem: () => "{" }).theme).toBe("dark");
  });
});

describe("router", () => {
  it("matches the app's routes", () => {
    expect(matchRoute("/")).toEqual({ name: "market" });
    expect(matchRoute("/grid/")).toEqual({ name: "grid" });
    expect(matchRoute("/stocks/005930")).toEqual({ name: "stock", code: "005930" });
    expect(matchRoute("/stocks/0126z0")).toEqual({ name: "stock", code: "0126Z0" });
    expect(matchRoute("/nope")).toEqual({ name: "notfound", path: "/nope" });
  });
});

describe("hangul", () => {
  it("extracts initial consonants", () => {
    expect(choseong("삼성전자")).toBe("ㅅㅅㅈㅈ");
    expect(isChoseongQuery("ㅅㅅㅈㅈ")).toBe(true);
    expect(isChoseongQuery("삼성")).toBe(false);
  });
});

describe("indicators and crosshair", () => {
  it("computes simple moving averages", () => {
    expect(sma([1, 2, 3, 4], [2, 4, 6, 8], 2)).toEqual([
      { time: 2, value: 3 },
      { time: 3, value: 5 },
      { time: 4, value: 7 },
    ]);
    expect(smaAt([2, 4, 6, 8], 3, 3)).toBe(6);
    expect(smaAt([2, 4], 1, 3)).toBeNull();
  });
  it("finds the bar at or before a time", () => {
    expect(barIndexAtOrBefore([10, 20, 30], 25)).toBe(1);
    expect(barIndexAtOrBefore([10, 20, 30], 5)).toBe(-1);
    expect(barIndexAtOrBefore([10, 20, 30], 30)).toBe(2);
  });
  it("sends crosshair moves to every other cell", () => {
    const bus = new CrosshairBus();
    const got: [number, number | null][] = [];
    bus.join(0, (t) => got.push([0, t]));
    bus.join(1, (t) => got.push([1, t]));
    bus.publish(0, 42);
    expect(got).toEqual([[1, 42]]);
  });
});

describe("error messages a user reads", () => {
  it("lead an English server message with the code's Korean meaning", () => {
    expect(userMessage(409, "ALREADY_EXISTS", "email is already registered")).toBe("이미 있습니다 (email is already registered)");
    expect(userMessage(400, "INVALID_REQUEST", "from must be before to")).toBe("요청이 올바르지 않습니다 (from must be before to)");
    expect(userMessage(418, "SOMETHING_NEW", "odd")).toBe("요청을 처리하지 못했습니다 (odd)");
  });

  it("show a Korean server message as it is, and never a 5xx body", () => {
    const ko = "이메일 또는 비밀번호가 올바르지 않습니다.";
    expect(userMessage(401, "UNAUTHORIZED", ko)).toBe(ko);
    expect(userMessage(500, "INTERNAL_ERROR", "internal error")).not.toContain("internal error");
    expect(userMessage(404, "NOT_FOUND", undefined)).toBe("찾을 수 없습니다 (HTTP 404)");
  });

  it("has a Korean meaning for every error code of seed 002's appendix A", () => {
    for (const code of ["MISSING_FIELD", "INVALID_REQUEST", "INVALID_PASSWORD", "UNAUTHORIZED", "NOT_FOUND", "ALREADY_EXISTS", "TOO_MANY_REQUESTS"]) {
      expect(ERROR_LABEL[code]).toMatch(/[가-힣]/);
    }
  });
});
