// Strategies from the dashboard: the available ones, backtests over stored candles, and runs on
// the caller's paper account. Shapes come from the OpenAPI document (api-schema.d.ts); the calls
// go through the trading client so refusals carry their reason.

import type { components } from "./api-schema";
import { call } from "./trading";

export type Strategy = components["schemas"]["StrategyOut"];
export type StrategyRun = components["schemas"]["RunOut"];
export type BacktestRequest = components["schemas"]["BacktestIn"];
export type BacktestResult = components["schemas"]["BacktestReport"];
export type ParamValue = number | string;

/** Korean names of the built-in strategies; a strategy from the user's folder shows its own name. */
export const STRATEGY_LABEL: Record<string, { name: string; text: string }> = {
  ma_cross: {
    name: "이동평균 교차",
    text: "단기 이동평균이 장기 이동평균을 위로 뚫으면(골든크로스) 매수, 아래로 뚫으면(데드크로스) 매도",
  },
  breakout: {
    name: "돌파",
    text: "종가가 최근 lookback봉 최고가를 넘으면 매수, 최근 exit봉 최저가 아래로 내려가면 매도",
  },
  rsi: {
    name: "RSI",
    text: "와일더 RSI가 low 아래로 내려가면 매수, high 위로 올라가면 매도",
  },
};

/** Intervals a backtest or a run can use (the stored ones), with their Korean names. */
export const STRATEGY_INTERVALS: { value: string; label: string }[] = [
  { value: "1d", label: "일봉" },
  { value: "1h", label: "1시간" },
  { value: "15m", label: "15분" },
  { value: "5m", label: "5분" },
  { value: "1m", label: "1분" },
];

export class FormError extends Error {}

/** Codes typed by the user ("005930, 000660" or one per line): trimmed, upper-cased, each once,
 * in the order given. */
export function parseSymbols(text: string, max: number): string[] {
  const seen: string[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    const code = raw.trim().toUpperCase();
    if (code && !seen.includes(code)) seen.push(code);
  }
  if (seen.length === 0) throw new FormError("종목코드를 하나 이상 입력하세요");
  if (seen.length > max) throw new FormError(`종목은 ${max}개까지입니다`);
  for (const code of seen) {
    if (!/^[0-9A-Z]{1,20}$/.test(code)) throw new FormError(`종목코드가 올바르지 않습니다: ${clip(code)}`);
  }
  return seen;
}

function clip(s: string): string {
  return s.length > 20 ? `${s.slice(0, 20)}…` : s;
}

/** The parameters a form sends: each default's type decides how its text is read (a number stays
 * a number; a blank keeps the default). */
export function parseParams(
  defaults: Record<string, unknown>,
  inputs: Record<string, string>,
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    const text = (inputs[key] ?? "").trim();
    if (typeof fallback === "number") {
      if (text === "") {
        out[key] = fallback;
        continue;
      }
      const n = Number(text);
      if (!Number.isFinite(n)) throw new FormError(`${key}: 숫자를 입력하세요`);
      if (Number.isInteger(fallback) && !Number.isInteger(n)) throw new FormError(`${key}: 정수를 입력하세요`);
      out[key] = n;
    } else if (typeof fallback === "string") {
      out[key] = text === "" ? fallback : text;
    }
  }
  return out;
}

/** A backtest's period: both days given, from before to (KST days; the server reads them so). */
export function checkPeriod(from: string, to: string): void {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(from) || !day.test(to)) throw new FormError("기간의 시작일과 종료일을 고르세요");
  if (from >= to) throw new FormError("시작일은 종료일보다 앞서야 합니다");
}

export const listStrategies = () => call<Strategy[]>("GET", "/api/v1/strategies").then((r) => r.data);
export const runBacktest = (body: BacktestRequest) =>
  call<BacktestResult>("POST", "/api/v1/backtests", body).then((r) => r.data);
export const listRuns = () => call<StrategyRun[]>("GET", "/api/v1/strategies/runs").then((r) => r.data);
export const startRun = (body: components["schemas"]["RunIn"]) =>
  call<StrategyRun>("POST", "/api/v1/strategies/runs", body).then((r) => r.data);
export const stopRun = (id: number) =>
  call<StrategyRun>("DELETE", `/api/v1/strategies/runs/${id}`).then((r) => r.data);
