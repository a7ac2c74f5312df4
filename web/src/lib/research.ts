// Research API (financials, disclosures, industries, rankings) and pure helpers for its views.

import { get } from "./api";
import type { components } from "./api-schema";

type Schemas = components["schemas"];
export type FinancialRow = Schemas["FinancialRow"];
export type Financials = Schemas["Financials"];
export type Report = Schemas["Report"];
export type Reports = Schemas["Reports"];
export type Industry = Schemas["IndustryOut"] & { rank?: number };
export type RankedCompany = Schemas["RankedCompany"];
export type Metric = Schemas["Metric"];
export type ComparisonSummary = Schemas["ComparisonSummary"];
export type ComparisonDetail = Schemas["ComparisonDetail"];
export type Valuation = Schemas["Valuation"];

export const getFinancials = (id: number, period: string, basis?: string, signal?: AbortSignal) =>
  get<Financials>(`/api/v1/companies/${id}/financials`, { period, basis }, signal);
export const getValuation = (id: number, limit = 1, signal?: AbortSignal) =>
  get<Valuation>(`/api/v1/companies/${id}/valuation`, { limit }, signal);
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
