// Coalesces live bar updates so each chart calls series.update at most once per bar per
// animation frame, however many messages arrive in between.

export interface Bar {
  time: number;
}

export type Scheduler = (cb: () => void) => void;

const rafScheduler: Scheduler = (cb) => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => cb());
  else setTimeout(cb, 16);
};

export class BarBatcher<T extends Bar> {
  private pending = new Map<number, T>();
  private scheduled = false;
  private lastApplied = -Infinity;
  flushes = 0;

  constructor(
    private readonly apply: (bars: T[]) => void,
    private readonly schedule: Scheduler = rafScheduler,
  ) {}

  /** The newest time already drawn; older bars are dropped (the chart cannot insert them). */
  setLastTime(time: number): void {
    this.lastApplied = time;
    for (const t of this.pending.keys()) if (t < time) this.pending.delete(t);
  }

  push(bar: T): void {
    if (bar.time < this.lastApplied) return;
    this.pending.set(bar.time, bar); // a later message for the same bar replaces the earlier one
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const bars = [...this.pending.values()].sort((a, b) => a.time - b.time);
    this.pending.clear();
    const last = bars[bars.length - 1];
    if (last) this.lastApplied = last.time;
    this.flushes += 1;
    this.apply(bars);
  }

  /** Forget queued bars (e.g. when the chart switches symbol or interval). */
  reset(): void {
    this.pending.clear();
    this.lastApplied = -Infinity;
  }
}
