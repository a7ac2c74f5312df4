// Coalesces live bar updates so each chart calls series.update at most once per bar per
// animation frame, however many messages arrive in between. A held batcher queues bars
// without drawing them: live bars must not reach a chart before its history does.

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
  private held = false;
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
    this.wake();
  }

  /** Queue bars without applying them until `release`. */
  hold(): void {
    this.held = true;
  }

  /** Apply what was queued while held (next frame), and everything after it. */
  release(): void {
    this.held = false;
    this.wake();
  }

  private wake(): void {
    if (!this.scheduled && !this.held && this.pending.size > 0) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.held || this.pending.size === 0) return;
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
