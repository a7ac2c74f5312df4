// News, keyword and AI-outlook API calls plus the pure helpers their panels use.

import { getEnvelope, type Envelope } from "./api";

export interface NewsCompany {
  companyId: number | null;
  code: string;
  name: string;
}

export interface NewsItem {
  newsId: number;
  title: string;
  press: string | null;
  url: string;
  publishedAt: string;
  origin: "archive" | "rss" | "naver";
  feed: string;
  companies: NewsCompany[];
}

export interface FeedState {
  live: boolean;
  lastSuccessAt: string | null;
  naverConfigured: boolean;
  message: string;
}

export interface NewsPage {
  items: NewsItem[];
  hasMore: boolean;
  feeds: FeedState;
}

export interface Keyword {
  word: string;
  count: number;
}

export interface KeywordResult {
  keywords: Keyword[];
  from: string;
  to: string;
  headlines: number;
  feeds: FeedState;
}

export interface AnalysisComponent {
  name: string;
  label: string;
  score: number;
  weight: number;
  value: number;
  detail: string;
}

export interface Analysis {
  subject: Record<string, unknown>;
  day: string;
  provider: "quant" | "openai" | "gemini";
  model: string;
  growthScore: number;
  outlook: "긍정" | "중립" | "부정";
  rationale: string;
  components: AnalysisComponent[];
  inputs: Record<string, unknown>;
  fallback: { provider: string; model: string; reason: string } | null;
  generatedAt: string;
  cached: boolean;
  disclaimer: string;
}

function toPage(env: Envelope<NewsItem[]>): NewsPage {
  const meta = (env.meta ?? {}) as { hasMore?: boolean; feeds?: FeedState };
  return { items: env.data, hasMore: Boolean(meta.hasMore), feeds: meta.feeds ?? { live: false, lastSuccessAt: null, naverConfigured: false, message: "" } };
}

export async function getCompanyNews(companyId: number, offset = 0, signal?: AbortSignal): Promise<NewsPage> {
  return toPage(await getEnvelope<NewsItem[]>(`/api/v1/companies/${companyId}/news`, { limit: 20, offset }, signal));
}

export async function searchNews(q: string, from?: string, to?: string, offset = 0, signal?: AbortSignal): Promise<NewsPage> {
  return toPage(await getEnvelope<NewsItem[]>("/api/v1/news", { q, from, to, limit: 30, offset }, signal));
}

export async function getKeywords(window: string, limit = 50, signal?: AbortSignal): Promise<KeywordResult> {
  const env = await getEnvelope<Keyword[]>("/api/v1/news/keywords", { window, limit }, signal);
  const m = (env.meta ?? {}) as { from: string; to: string; headlines: number; feeds: FeedState };
  return { keywords: env.data, from: m.from, to: m.to, headlines: m.headlines, feeds: m.feeds };
}

export async function getCompanyAnalysis(companyId: number, signal?: AbortSignal): Promise<Analysis> {
  return (await getEnvelope<Analysis>(`/api/v1/companies/${companyId}/analysis`, {}, signal)).data;
}

/** Where the shown headlines come from, in one Korean sentence (no feed → says so and how to fix). */
export function feedNotice(f: FeedState): { tone: "ok" | "warn"; text: string } {
  return f.live ? { tone: "ok", text: "실시간 뉴스 피드에서 수집 중입니다." } : { tone: "warn", text: f.message };
}

export const ORIGIN_LABELS: Record<NewsItem["origin"], string> = {
  archive: "아카이브",
  rss: "RSS",
  naver: "네이버",
};

/** Font sizes for a word cloud: linear in the count between `min` and `max` px. */
export function cloudSizes(words: readonly Keyword[], min = 12, max = 40): number[] {
  if (!words.length) return [];
  const counts = words.map((w) => w.count);
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  return counts.map((c) => (hi === lo ? (min + max) / 2 : min + ((c - lo) / (hi - lo)) * (max - min)));
}

/** A stable, non-alphabetical order so large words are spread through the cloud. */
export function cloudOrder<T>(items: readonly T[]): T[] {
  const out: T[] = [];
  items.forEach((it, i) => (i % 2 === 0 ? out.push(it) : out.unshift(it)));
  return out;
}

export const OUTLOOK_CLASS: Record<Analysis["outlook"], "up" | "flat" | "down"> = {
  긍정: "up",
  중립: "flat",
  부정: "down",
};

/** "퀀트 분석 (aegis-quant-1)" / "openai · gpt-4o-mini" and, after a failure, why it fell back. */
export function providerLine(a: Analysis): string {
  const who = a.provider === "quant" ? `키 없는 퀀트 분석 (${a.model})` : `${a.provider} · ${a.model}`;
  if (!a.fallback) return who;
  return `${who} — ${a.fallback.provider} (${a.fallback.model}) 호출 실패로 대체: ${a.fallback.reason}`;
}
