// Price alerts and the Telegram opt-in (`/api/v1/alerts`, `/api/v1/notifications/telegram`),
// with the logged-in user's session. Shapes from the OpenAPI document.

import type { components } from "./api-schema";
import { call } from "./trading";

export type Alert = components["schemas"]["AlertOut"];
export type AlertKind = Alert["kind"];
export type Telegram = components["schemas"]["TelegramOut"];

/** Each kind: its Korean name (the server's own words) and what its value is. */
export const ALERT_KINDS: Record<AlertKind, { label: string; value: string | null }> = {
  ABOVE: { label: "가격 이상", value: "가격(원)" },
  BELOW: { label: "가격 이하", value: "가격(원)" },
  CHANGE_PCT: { label: "등락률 도달", value: "등락률(%, 예: 5 또는 -3)" },
  RSI_ABOVE: { label: "RSI 이상", value: "RSI(0~100)" },
  RSI_BELOW: { label: "RSI 이하", value: "RSI(0~100)" },
  GOLDEN_CROSS: { label: "골든크로스(5/20)", value: null },
  DEAD_CROSS: { label: "데드크로스(5/20)", value: null },
};

export class AlertFormError extends Error {}

/** The value an alert of ``kind`` is sent with, from the text typed; the same rules as the
 * server's, said in Korean before anything is sent. */
export function alertValue(kind: AlertKind, text: string): number {
  if (ALERT_KINDS[kind].value === null) return 0;
  const t = text.trim().replace(/,/g, "");
  const v = Number(t);
  if (t === "" || !Number.isFinite(v)) throw new AlertFormError("값을 숫자로 입력하세요");
  if ((kind === "ABOVE" || kind === "BELOW") && !(v > 0 && Number.isInteger(v)))
    throw new AlertFormError("가격은 1원 이상의 정수로 입력하세요");
  if ((kind === "RSI_ABOVE" || kind === "RSI_BELOW") && !(v > 0 && v < 100))
    throw new AlertFormError("RSI는 0과 100 사이로 입력하세요");
  if (kind === "CHANGE_PCT" && v === 0) throw new AlertFormError("등락률은 0이 아닌 값으로 입력하세요 (예: 5 또는 -3)");
  return v;
}

/** "가격 이상 75,000원", "등락률 도달 -3%", "골든크로스(5/20)". */
export function describeAlert(a: Pick<Alert, "kind" | "value">): string {
  const k = ALERT_KINDS[a.kind];
  if (k.value === null) return k.label;
  if (a.kind === "ABOVE" || a.kind === "BELOW") return `${k.label} ${a.value.toLocaleString("ko-KR")}원`;
  if (a.kind === "CHANGE_PCT") return `${k.label} ${a.value > 0 ? "+" : ""}${a.value}%`;
  return `${k.label} ${a.value}`;
}

export const listAlerts = () => call<Alert[]>("GET", "/api/v1/alerts").then((r) => r.data);
export const createAlert = (symbol: string, kind: AlertKind, value: number) =>
  call<Alert>("POST", "/api/v1/alerts", { symbol, kind, value }).then((r) => r.data);
export const deleteAlert = (id: number) => call<{ deleted: boolean }>("DELETE", `/api/v1/alerts/${id}`);
export const getTelegram = () => call<Telegram>("GET", "/api/v1/notifications/telegram").then((r) => r.data);
export const setTelegram = (chatId: string, enabled: boolean) =>
  call<Telegram>("PUT", "/api/v1/notifications/telegram", { chatId, enabled }).then((r) => r.data);
