// Korean number, money and time formatting. Pure functions; unit-tested in tests/format.test.ts.

const KST_OFFSET_S = 9 * 3600;
const JO = 1_000_000_000_000;
const EOK = 100_000_000;
const MAN = 10_000;

const intFmt = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });
const dec2Fmt = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

const DASH = "–";

function finite(n: number | null | undefined): n is number {
  return typeof n === "number" && Number.isFinite(n);
}

/** 1234567 → "1,234,567"; fractional values (index levels) keep two decimals. */
export function formatNumber(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  return Number.isInteger(n) ? intFmt.format(n) : dec2Fmt.format(n);
}

/** A price: KRW are whole numbers; indices and crypto keep two decimals. */
export const formatPrice = formatNumber;

/** 72000 → "72,000원". */
export function formatKRW(n: number | null | undefined): string {
  return finite(n) ? `${intFmt.format(Math.round(n))}원` : DASH;
}

/**
 * Large money amounts the Korean way: "1조 2,345억", "3,456억", "1,234만", "9,999".
 * Rounds to the unit below the leading one, so the figure stays short.
 */
export function formatAmount(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  if (a >= JO) {
    const totalEok = Math.round(a / EOK);
    const jo = Math.floor(totalEok / 10_000);
    const eok = totalEok % 10_000;
    return `${sign}${intFmt.format(jo)}조${eok ? ` ${intFmt.format(eok)}억` : ""}`;
  }
  if (a >= EOK) return `${sign}${intFmt.format(Math.round(a / EOK))}억`;
  if (a >= MAN) return `${sign}${intFmt.format(Math.round(a / MAN))}만`;
  return `${sign}${intFmt.format(Math.round(a))}`;
}

/** Table-friendly short form with one unit: "412.3조", "3,456억", "1,234만". */
export function formatAmountShort(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  if (a >= JO) return `${sign}${(a / JO).toFixed(a >= 100 * JO ? 1 : 2)}조`;
  if (a >= EOK) return `${sign}${intFmt.format(Math.round(a / EOK))}억`;
  if (a >= MAN) return `${sign}${intFmt.format(Math.round(a / MAN))}만`;
  return `${sign}${intFmt.format(Math.round(a))}`;
}

/** 1.234 → "+1.23%", -0.5 → "-0.50%", 0 → "0.00%". Input is already in percent. */
export function formatPercent(p: number | null | undefined): string {
  if (!finite(p)) return DASH;
  const r = Math.round(p * 100) / 100;
  if (r === 0) return "0.00%";
  return `${r > 0 ? "+" : "-"}${Math.abs(r).toFixed(2)}%`;
}

/** Signed change with a Korean arrow: "▲1,200", "▼300", "0". */
export function formatChange(c: number | null | undefined): string {
  if (!finite(c)) return DASH;
  if (c === 0) return "0";
  return `${c > 0 ? "▲" : "▼"}${formatNumber(Math.abs(c))}`;
}

/** -1, 0 or 1: which colour a change gets. */
export function direction(c: number | null | undefined): -1 | 0 | 1 {
  if (!finite(c) || c === 0) return 0;
  return c > 0 ? 1 : -1;
}

/**
 * -1, 0 or 1: how `value` stands against `base` (a day's high or low against the previous close,
 * a comparison line against its start of 100). No base or no value: 0, uncoloured.
 */
export function directionVs(value: number | null | undefined, base: number | null | undefined): -1 | 0 | 1 {
  return finite(value) && finite(base) ? direction(value - base) : 0;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function kstDate(epochSeconds: number): Date {
  return new Date((epochSeconds + KST_OFFSET_S) * 1000);
}

function toEpochSeconds(t: number | string | Date): number {
  if (typeof t === "number") return t;
  if (t instanceof Date) return t.getTime() / 1000;
  return Date.parse(t) / 1000;
}

/** "09:05:03" in KST, from epoch seconds, an ISO string or a Date. */
export function formatKstTime(t: number | string | Date): string {
  const s = toEpochSeconds(t);
  if (!Number.isFinite(s)) return DASH;
  const d = kstDate(s);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** "2025-06-13" in KST. */
export function formatKstDate(t: number | string | Date): string {
  const s = toEpochSeconds(t);
  if (!Number.isFinite(s)) return DASH;
  const d = kstDate(s);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** "2025-06-13 09:05" in KST. */
export function formatKstDateTime(t: number | string | Date): string {
  const s = toEpochSeconds(t);
  if (!Number.isFinite(s)) return DASH;
  const d = kstDate(s);
  return `${formatKstDate(s)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/**
 * When a quote is from: the KST time alone on the current KST day, else the KST date and time
 * (on a weekend or holiday the last quote is days old and a bare "15:30:00" reads as today).
 */
export function formatKstAsOf(t: number | string | Date, nowSeconds = Date.now() / 1000): string {
  const s = toEpochSeconds(t);
  if (!Number.isFinite(s)) return DASH;
  return formatKstDate(s) === formatKstDate(nowSeconds) ? formatKstTime(s) : formatKstDateTime(s);
}

/**
 * Lightweight Charts lays out its time axis in UTC. Shifting every bar by +9 h makes the axis,
 * its day boundaries and the crosshair label read KST wall-clock time.
 */
export function toChartTime(epochSeconds: number): number {
  return epochSeconds + KST_OFFSET_S;
}

export function fromChartTime(chartTime: number): number {
  return chartTime - KST_OFFSET_S;
}

/** Crosshair label for a shifted chart time: date only for daily and longer bars. */
export function chartTimeLabel(chartTime: number, intraday: boolean): string {
  const d = new Date(chartTime * 1000);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return intraday ? `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : date;
}

/** Is this interval shorter than a day? ("1m", "15m", "1h" yes; "1d", "1w", "1M" no.) */
export function isIntraday(interval: string): boolean {
  return /^\d+[mh]$/.test(interval);
}
