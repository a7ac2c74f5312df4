import { describe, expect, it } from "vitest";
import { ALERT_KINDS, AlertFormError, alertValue, describeAlert } from "../src/lib/alerts";

describe("alert form", () => {
  it("reads a price with thousands separators and refuses what the server would", () => {
    expect(alertValue("ABOVE", "75,000")).toBe(75_000);
    expect(() => alertValue("BELOW", "0")).toThrow(AlertFormError);
    expect(() => alertValue("ABOVE", "71500.5")).toThrow("정수");
    expect(() => alertValue("ABOVE", "abc")).toThrow("숫자");
    expect(() => alertValue("ABOVE", "")).toThrow("숫자");
  });

  it("takes a signed non-zero % change and an RSI level inside 0–100", () => {
    expect(alertValue("CHANGE_PCT", "-3")).toBe(-3);
    expect(() => alertValue("CHANGE_PCT", "0")).toThrow(AlertFormError);
    expect(alertValue("RSI_BELOW", "30")).toBe(30);
    expect(() => alertValue("RSI_ABOVE", "100")).toThrow("RSI");
  });

  it("sends 0 for the crosses, which take no value", () => {
    expect(alertValue("GOLDEN_CROSS", "anything")).toBe(0);
    expect(ALERT_KINDS.DEAD_CROSS.value).toBeNull();
  });

  it("describes an alert in Korean with won and signed %", () => {
    expect(describeAlert({ kind: "ABOVE", value: 75000 })).toBe("가격 이상 75,000원");
    expect(describeAlert({ kind: "CHANGE_PCT", value: 5 })).toBe("등락률 도달 +5%");
    expect(describeAlert({ kind: "CHANGE_PCT", value: -3 })).toBe("등락률 도달 -3%");
    expect(describeAlert({ kind: "GOLDEN_CROSS", value: 0 })).toBe("골든크로스(5/20)");
  });
});
