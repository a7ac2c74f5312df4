// Moving averages for chart overlays.

export interface Point {
  time: number;
  value: number;
}

/** Simple moving average of `closes` over `period`; the first period-1 points have no value. */
export function sma(times: readonly number[], closes: readonly number[], period: number): Point[] {
  const out: Point[] = [];
  let sum = 0;
  for (let i = 0; i < closes.length; i++) {
    sum += closes[i]!;
    if (i >= period) sum -= closes[i - period]!;
    if (i >= period - 1) out.push({ time: times[i]!, value: sum / period });
  }
  return out;
}

/** The average ending at index `end` (inclusive), or null when there are too few points. */
export function smaAt(closes: readonly number[], end: number, period: number): number | null {
  if (end < period - 1 || end >= closes.length) return null;
  let sum = 0;
  for (let i = end - period + 1; i <= end; i++) sum += closes[i]!;
  return sum / period;
}
