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

export interface Metric {
  value: number | null;
  reason: string | null;
  asOf: string | null;
  source: string | null;
}

export interface ComparisonSummary {
  comparisonId: number;
  name: string;
  period: string;
  companies: { companyId: number; companyName: string; symbol: string }[];
  createdAt: string;
}

export interface ComparisonDetail extends ComparisonSummary {
  asOf: string | null;
  performance: { companyId: number; symbol: string; startDate: string | null; points: { time: number; value: number }[]; reason: string | null }[];
  table: {
    companyId: number;
    symbol: string;
    name: string;
    price: Metric;
    marketCap: Metric;
    per: Metric;
    pbr: Metric;
    revenueGrowth: Metric;
    operatingMargin: Metric;
    high52w: Metric;
    low52w: Metric;
  }[];
}

export const PERIODS = ["1M", "3M", "6M", "1Y", "3Y"] as const;
export const LINE_COLORS = ["#e03131", "#1c7ed6", "#2f9e44", "#f08c00", "#7048e8", "#0c8599", "#c2255c", "#5c940d", "#e8590c", "#495057"];

/**
 * SVG paths for several normalised lines sharing one time axis and one value axis (100 = start).
 * Returns the y of the 100 line too, so the chart can draw the baseline.
 */
export function linePaths(
  lines: { time: number; value: number }[][],
  width: number,
  height: number,
): { paths: string[]; baseY: number; min: number; max: number } {
  const all = lines.flat();
  if (!all.length) return { paths: lines.map(() => ""), baseY: height / 2, min: 100, max: 100 };
  const t0 = Math.min(...all.map((p) => p.time));
  const t1 = Math.max(...all.map((p) => p.time));
  const min = Math.min(100, ...all.map((p) => p.value));
  const max = Math.max(100, ...all.map((p) => p.value));
  const span = max - min || 1;
  const x = (t: number) => (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * width);
  const y = (v: number) => height - ((v - min) / span) * height;
  const paths = lines.map((pts) =>
    pts.map((p, i) => `${i ? "L" : "M"}${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(""),
  );
  return { paths, baseY: y(100), min, max };
}
