// Live prices over REST rows: a tick replaces price, change and change rate of its symbol.

import type { TickMsg } from "./types";

export interface LivePrice {
  price: number;
  change: number | null;
  changePercent: number | null;
  time: string;
}

export function applyTick(prices: Record<string, LivePrice>, t: TickMsg): Record<string, LivePrice> {
  const prev = prices[t.symbol];
  // ticks may arrive out of order after a reconnect: never move backwards in time
  if (prev && prev.time > t.timestamp) return prices;
  return { ...prices, [t.symbol]: { price: t.price, change: t.change, changePercent: t.changePercent, time: t.timestamp } };
}
