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
    const message = res.status >= 500 ? `${SERVER_TROUBLE} (${code})` : (b.message ?? `HTTP ${res.status}`);
    throw new ApiError(res.status, code, message, b.details ?? {});
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
