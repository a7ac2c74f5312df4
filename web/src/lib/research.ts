// Research API (financials, disclosures, industries, rankings) and pure helpers for its views.

import { ApiError } from "./api";

export interface FinancialRow {
  year: number;
  quarter: number | null;
  revenue: number | null;
  operatingProfit: number | null;
  netIncome: number | null;
  totalAssets: number | null;
  totalLiabilities: number | null;
  totalEquity: number | null;
  source: string;
  status: string | null;
}

export interface Financials {
  companyId: number;
  code: string;
  period: "annual" | "quarterly";
  basis: "CFS" | "OFS";
  availableBases: string[];
  rows: FinancialRow[];
  sources: { id: string; description: string }[];
  reason: string | null;
  dart: { configured: boolean; lastError: { message: string } | null };
}

export interface Report {
  rceptNo: string;
  title: string;
  filedAt: string;
  category: string | null;
  filer: string | null;
  url: string;
  source: string;
}

export interface Reports {
  total: number;
  reports: Report[];
  dart: { configured: boolean; lastError: { message: string } | null };
}

export interface Industry {
  industryId: number;
  name: string;
  memberCount: number;
  marketCap: number;
  changePercent: number | null;
  sources: string[];
  asOf: string | null;
  rank?: number;
}

export interface RankedCompany {
  rank: number;
  companyId: number | null;
  code: string;
  name: string;
  market: string;
  industryId: number | null;
  industry: string | null;
  price: number | null;
  changePercent: number | null;
  volume: number | null;
  amount: number | null;
  marketCap: number | null;
  source: string;
  asOf: string;
}

async function get<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") qs.set(k, String(v));
  let res: Response;
  try {
    res = await fetch(qs.size ? `${path}?${qs}` : path, { signal, headers: { Accept: "application/json" } });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK", "서버에 연결할 수 없습니다");
  }
  const body = (await res.json().catch(() => null)) as { data?: T; code?: string; message?: string } | null;
  if (!res.ok) throw new ApiError(res.status, body?.code ?? "HTTP_ERROR", body?.message ?? `HTTP ${res.status}`);
  return body?.data as T;
}

export const getFinancials = (id: number, period: string, basis?: string, signal?: AbortSignal) =>
  get<Financials>(`/api/v1/companies/${id}/financials`, { period, basis }, signal);
export const getReports = (id: number, limit = 50, signal?: AbortSignal) =>
  get<Reports>(`/api/v1/companies/${id}/reports`, { limit }, signal);
export const getIndustries = (signal?: AbortSignal) => get<Industry[]>("/api/v1/rankings/industries", {}, signal);
export const getRankings = (by: string, market: string, limit = 100, signal?: AbortSignal) =>
  get<RankedCompany[]>("/api/v1/rankings/companies", { by, market, limit }, signal);
export const getIndustryCompanies = (id: number, by = "marketCap", signal?: AbortSignal) =>
  get<RankedCompany[]>(`/api/v1/rankings/industries/${id}/companies`, { by }, signal);

/** "2024", "2024 3Q". */
export function periodLabel(r: { year: number; quarter: number | null }): string {
  return r.quarter ? `${r.year} ${r.quarter}Q` : String(r.year);
}

export interface Bar {
  x: number;
  y: number;
  height: number;
  value: number;
  negative: boolean;
}

/**
 * Bars for one series in a chart of `height` px whose zero line sits where the largest positive
 * and the most negative value leave room for each other. Missing values get no bar (null).
 */
export function barLayout(values: (number | null)[], width: number, height: number): { bars: (Bar | null)[]; zeroY: number } {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(0, ...present);
  const min = Math.min(0, ...present);
  const span = max - min || 1;
  const zeroY = (max / span) * height;
  const slot = values.length ? width / values.length : width;
  const bars = values.map((v, i) => {
    if (v === null || !Number.isFinite(v)) return null;
    const h = (Math.abs(v) / span) * height;
    return { x: i * slot, y: v >= 0 ? zeroY - h : zeroY, height: h, value: v, negative: v < 0 };
  });
  return { bars, zeroY };
}

/** Profit margin in percent, or null when either figure is missing or revenue is zero. */
export function margin(profit: number | null, revenue: number | null): number | null {
  if (profit === null || revenue === null || revenue === 0) return null;
  return Math.round((profit / revenue) * 10_000) / 100;
}

/** A figure's source as Korean text for badges: sim → 시뮬레이션. */
export function sourceLabel(source: string): string {
  if (source === "sim") return "시뮬레이션";
  if (source === "krx-snapshot") return "KRX 2026-03-20";
  if (source === "store") return "저장된 시세";
  return source;
}
