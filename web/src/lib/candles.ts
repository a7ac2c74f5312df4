// Keeping a chart's candle list strictly ascending by time. Lightweight Charts' production
// build does not validate setData: unsorted or duplicate times corrupt its index and it
// later throws "Value is null" while drawing, so every merge goes through here.

export interface Timed {
  time: number;
}

/** True when every time is greater than the one before it. */
export function isStrictlyAscending(rows: readonly Timed[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i]!.time <= rows[i - 1]!.time) return false;
  return true;
}

/** `rows` in time order with one row per time (the later one wins). */
export function ascendingUnique<T extends Timed>(rows: readonly T[]): T[] {
  if (isStrictlyAscending(rows)) return [...rows];
  const byTime = new Map<number, T>();
  for (const r of rows) byTime.set(r.time, r);
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/**
 * `fetched` history put before `current`: only rows older than the oldest one we hold, in
 * time order, one per time. Judged against `current` as it is when the response arrives, not
 * when it was requested, since the list may have been replaced in between.
 */
export function prependOlder<T extends Timed>(current: readonly T[], fetched: readonly T[]): { rows: T[]; added: number } {
  const oldest = current[0]?.time ?? Infinity;
  const older = ascendingUnique(fetched.filter((r) => r.time < oldest));
  return { rows: older.length ? [...older, ...current] : [...current], added: older.length };
}

/**
 * A live bar applied to `rows` in place: it replaces the last bar of the same time, is appended
 * when newer, and is ignored when older (a chart can only update its newest bar).
 */
export function upsertLive<T extends Timed>(rows: T[], bar: T): "replaced" | "appended" | "stale" {
  const last = rows[rows.length - 1];
  if (last && last.time === bar.time) {
    rows[rows.length - 1] = bar;
    return "replaced";
  }
  if (last && bar.time < last.time) return "stale";
  rows.push(bar);
  return "appended";
}
