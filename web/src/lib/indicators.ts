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

// Studies for the chart panes, with TA-Lib's definitions (the server's
// /companies/{id}/indicators uses TA-Lib itself; tests compare these with its values).
// Each returns one value per input, null during the warm-up, like TA-Lib's NaN.

export type Series = (number | null)[];

/** TA-Lib SMA. */
export function smaSeries(x: readonly number[], period: number): Series {
  const out: Series = new Array(x.length).fill(null);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i]!;
    if (i >= period) sum -= x[i - period]!;
    if (i >= period - 1) out[i] = sum / period;
  }
  return out;
}

/** EMA seeded with the SMA of the `period` values ending at `seedEnd` (TA-Lib's INT_EMA). */
function emaFrom(x: readonly number[], period: number, seedEnd: number): Series {
  const out: Series = new Array(x.length).fill(null);
  if (seedEnd >= x.length || seedEnd < period - 1) return out;
  const k = 2 / (period + 1);
  let prev = 0;
  for (let i = seedEnd - period + 1; i <= seedEnd; i++) prev += x[i]!;
  prev /= period;
  out[seedEnd] = prev;
  for (let i = seedEnd + 1; i < x.length; i++) {
    prev = (x[i]! - prev) * k + prev;
    out[i] = prev;
  }
  return out;
}

/** TA-Lib EMA: the first value is the SMA of the first `period` values. */
export function emaSeries(x: readonly number[], period: number): Series {
  return emaFrom(x, period, period - 1);
}

/** TA-Lib RSI (Wilder's smoothing); 0 when prices did not move at all. */
export function rsiSeries(x: readonly number[], period: number): Series {
  const out: Series = new Array(x.length).fill(null);
  if (x.length <= period) return out;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= period; i++) {
    const d = x[i]! - x[i - 1]!;
    if (d < 0) loss -= d;
    else gain += d;
  }
  gain /= period;
  loss /= period;
  out[period] = gain + loss !== 0 ? (100 * gain) / (gain + loss) : 0;
  for (let i = period + 1; i < x.length; i++) {
    const d = x[i]! - x[i - 1]!;
    gain *= period - 1;
    loss *= period - 1;
    if (d < 0) loss -= d;
    else gain += d;
    gain /= period;
    loss /= period;
    out[i] = gain + loss !== 0 ? (100 * gain) / (gain + loss) : 0;
  }
  return out;
}

export interface Bands {
  upper: Series;
  middle: Series;
  lower: Series;
}

/** TA-Lib BBANDS with an SMA middle and the population standard deviation. */
export function bbandsSeries(x: readonly number[], period: number, dev: number): Bands {
  const middle = smaSeries(x, period);
  const upper: Series = new Array(x.length).fill(null);
  const lower: Series = new Array(x.length).fill(null);
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i]!;
    sq += x[i]! * x[i]!;
    if (i >= period) {
      sum -= x[i - period]!;
      sq -= x[i - period]! * x[i - period]!;
    }
    if (i >= period - 1) {
      const mean = sum / period;
      const variance = sq / period - mean * mean;
      const sd = variance > 0 ? Math.sqrt(variance) : 0;
      upper[i] = middle[i]! + dev * sd;
      lower[i] = middle[i]! - dev * sd;
    }
  }
  return { upper, middle, lower };
}

export interface Macd {
  macd: Series;
  signal: Series;
  hist: Series;
}

/** TA-Lib MACD: both averages start where the slow one can (the fast one seeded with the SMA
 * of its last `fast` values there); the line is shown once the signal exists. */
export function macdSeries(x: readonly number[], fast: number, slow: number, signal: number): Macd {
  const n = x.length;
  const macd: Series = new Array(n).fill(null);
  const sig: Series = new Array(n).fill(null);
  const hist: Series = new Array(n).fill(null);
  const start = slow - 1;
  if (n <= start) return { macd, signal: sig, hist };
  const f = emaFrom(x, fast, start);
  const s = emaFrom(x, slow, start);
  const line: number[] = [];
  for (let i = start; i < n; i++) line.push(f[i]! - s[i]!);
  const sl = emaFrom(line, signal, signal - 1);
  for (let j = signal - 1; j < line.length; j++) {
    const i = start + j;
    macd[i] = line[j]!;
    sig[i] = sl[j]!;
    hist[i] = line[j]! - sl[j]!;
  }
  return { macd, signal: sig, hist };
}
