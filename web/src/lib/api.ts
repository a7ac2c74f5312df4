// REST client: unwraps the {status, message, data} envelope and turns error envelopes into ApiError.

import type { Candle, Company, CompanyHit, Quote, SystemStatus } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** the error envelope's `details` (e.g. `reason` of a rejected order) */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** What a user reads for a server-side failure: never the server's bare "internal error". */
export const SERVER_TROUBLE = "서버에 일시적인 문제가 있습니다. 잠시 후 다시 시도해 주세요.";

export interface Envelope<T> {
  status: number;
  message: string;
  data: T;
  meta?: Record<string, unknown>;
}

/** The whole success envelope (data and meta); error envelopes become ApiError. */
export async function getEnvelope<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<Envelope<T>> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") qs.set(k, String(v));
  const url = qs.size ? `${path}?${qs}` : path;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { Accept: "application/json" } });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK", "서버에 연결할 수 없습니다");
  }
  return unwrapEnvelope<T>(res);
}

/** Korean for each error code (seed 002 appendix A and the server's own codes). */
export const ERROR_LABEL: Record<string, string> = {
  MISSING_FIELD: "필수 항목이 빠졌습니다",
  INVALID_REQUEST: "요청이 올바르지 않습니다",
  INVALID_PASSWORD: "비밀번호 규칙에 맞지 않습니다",
  UNAUTHORIZED: "로그인이 필요합니다",
  FORBIDDEN: "권한이 없습니다",
  NOT_FOUND: "찾을 수 없습니다",
  ALREADY_EXISTS: "이미 있습니다",
  TOO_MANY_REQUESTS: "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요",
  ORDER_REJECTED: "주문이 거절되었습니다",
  ORDER_STATE: "지금 상태의 주문에는 할 수 없습니다",
  TRADING_STANDBY: "이 서버는 매매를 맡고 있지 않습니다",
  BROKER_KEY_REJECTED: "증권사가 키를 거절했습니다",
  BROKER_UNREACHABLE: "증권사에 연결할 수 없습니다",
  BROKER_ERROR: "증권사 오류",
  NOT_READY: "아직 준비되지 않았습니다",
};

/**
 * What a user reads for an error envelope. The server's messages are written for developers and
 * are mostly English: the user reads the Korean meaning of the code first, the server's words
 * after it. A message already in Korean is shown as it is; a 5xx never shows the server's text.
 */
export function userMessage(status: number, code: string, message: string | undefined): string {
  if (status >= 500) return `${SERVER_TROUBLE} (${code})`;
  if (message && /[가-힣]/.test(message)) return message;
  const lead = ERROR_LABEL[code] ?? "요청을 처리하지 못했습니다";
  return message ? `${lead} (${message})` : `${lead} (HTTP ${status})`;
}

/** The success envelope of a response, or an ApiError carrying the error envelope's code and
 * message. */
export async function unwrapEnvelope<T>(res: Response): Promise<Envelope<T>> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // A proxy error page or an empty body: fall through to the status check.
  }
  if (!res.ok) {
    const b = (body ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    const code = b.code ?? "HTTP_ERROR";
    throw new ApiError(res.status, code, userMessage(res.status, code, b.message), b.details ?? {});
  }
  return body as Envelope<T>;
}

/** The envelope's `data`, or an ApiError carrying the error envelope's code and message. */
export async function unwrap<T>(res: Response): Promise<T> {
  return (await unwrapEnvelope<T>(res)).data;
}

/** The envelope's data. */
export async function get<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<T> {
  return (await getEnvelope<T>(path, params, signal)).data;
}

export function searchCompanies(keyword: string, limit = 10, signal?: AbortSignal): Promise<CompanyHit[]> {
  return get<CompanyHit[]>("/api/v1/companies", { keyword, limit }, signal);
}

export function getCompany(companyId: number, signal?: AbortSignal): Promise<Company> {
  return get<Company>(`/api/v1/companies/${companyId}`, {}, signal);
}

/** The company whose code is exactly `code`, or null when none is listed. */
export async function findCompanyByCode(code: string, signal?: AbortSignal): Promise<CompanyHit | null> {
  const hits = await searchCompanies(code, 20, signal);
  return hits.find((h) => h.code.toUpperCase() === code.toUpperCase()) ?? null;
}

export interface CandleQuery {
  interval: string;
  start?: number;
  end?: number;
  limit?: number;
}

export function getCandles(code: string, q: CandleQuery, signal?: AbortSignal): Promise<Candle[]> {
  return get<Candle[]>(`/api/v1/candles/${encodeURIComponent(code)}`, { ...q }, signal);
}

export function getQuotes(symbols?: string[], signal?: AbortSignal): Promise<Quote[]> {
  return get<Quote[]>("/api/v1/quotes", symbols?.length ? { symbols: symbols.join(",") } : {}, signal);
}

export function getSystemStatus(signal?: AbortSignal): Promise<SystemStatus> {
  return get<SystemStatus>("/api/v1/system/status", {}, signal);
}
