// Crosshair sync between grid cells: one cell publishes the hovered time, the others follow.

export type CrosshairListener = (time: number | null, from: number) => void;

export class CrosshairBus {
  private listeners = new Map<number, CrosshairListener>();

  join(id: number, fn: CrosshairListener): () => void {
    this.listeners.set(id, fn);
    return () => this.listeners.delete(id);
  }

  publish(from: number, time: number | null): void {
    for (const [id, fn] of this.listeners) if (id !== from) fn(time, from);
  }
}

/** Index of the last bar whose time is <= t in an ascending array, or -1. */
export function barIndexAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}
