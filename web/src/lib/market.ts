// Whole-market quote table: REST snapshot + WebSocket `quotes` deltas, plus the pure helpers
// that rank, filter and sort it.

import { writable, type Readable } from "svelte/store";
import { getQuotes } from "./api";
import { stream } from "./stream";
import type { Quote } from "./types";

export type SortKey = "marketCap" | "price" | "changePercent" | "volume" | "amount" | "name";

/** Apply a delta of changed rows; returns true when anything changed. */
export function mergeQuotes(map: Map<string, Quote>, rows: readonly Quote[]): boolean {
  let changed = false;
  for (const r of rows) {
    const old = map.get(r.symbol);
    if (old && old.time === r.time && old.price === r.price && old.volume === r.volume) continue;
    map.set(r.symbol, old ? { ...old, ...r } : r);
    changed = true;
  }
  return changed;
}

// Listed equities only: indices and crypto pairs are shown elsewhere, not in rankings.
const EQUITY_MARKETS = new Set(["KOSPI", "KOSDAQ", "KOSDAQ GLOBAL", "KONEX"]);
export function isEquity(q: Quote): boolean {
  return EQUITY_MARKETS.has(q.market);
}

export function topBy(rows: readonly Quote[], key: SortKey, n: number, descending = true): Quote[] {
  const sorted = sortQuotes(rows.filter((r) => r.volume > 0 || key === "marketCap"), key, descending);
  return sorted.slice(0, n);
}

export function sortQuotes(rows: readonly Quote[], key: SortKey, descending: boolean): Quote[] {
  const dir = descending ? -1 : 1;
  const out = rows.slice();
  if (key === "name") {
    out.sort((a, b) => dir * a.name.localeCompare(b.name, "ko"));
  } else {
    // Missing values always sink to the bottom, whatever the direction.
    out.sort((a, b) => {
      const x = a[key];
      const y = b[key];
      if (x == null) return y == null ? 0 : 1;
      if (y == null) return -1;
      return dir * (x - y) || a.symbol.localeCompare(b.symbol);
    });
  }
  return out;
}

export interface Filter {
  market: string; // "" = all
  industry: string; // "" = all
}

export function filterQuotes(rows: readonly Quote[], f: Filter): Quote[] {
  return rows.filter(
    (r) =>
      (!f.market || r.market === f.market || (f.market === "KOSDAQ" && r.market === "KOSDAQ GLOBAL")) &&
      (!f.industry || r.industry === f.industry),
  );
}

export function industries(rows: readonly Quote[]): string[] {
  const set = new Set<string>();
  for (const r of rows) if (r.industry) set.add(r.industry);
  return [...set].sort((a, b) => a.localeCompare(b, "ko"));
}

export interface MarketState {
  quotes: Map<string, Quote>;
  version: number;
  loading: boolean;
  error: string | null;
}

/** The live market table; starts loading on first subscriber, stops streaming on the last. */
export function marketStore(): Readable<MarketState> {
  const quotes = new Map<string, Quote>();
  let version = 0;
  return writable<MarketState>({ quotes, version, loading: true, error: null }, (set) => {
    let alive = true;
    const publish = (loading: boolean, error: string | null) =>
      set({ quotes, version: ++version, loading, error });
    const load = () =>
      getQuotes()
        .then((rows) => {
          if (!alive) return;
          mergeQuotes(quotes, rows);
          publish(false, null);
        })
        .catch((e: Error) => alive && publish(quotes.size === 0, e.message));
    load();
    const offQuotes = stream().subscribeQuotes((rows) => {
      if (mergeQuotes(quotes, rows)) publish(false, null);
    });
    const offReconnect = stream().onReconnect(load);
    return () => {
      alive = false;
      offQuotes();
      offReconnect();
    };
  });
}
