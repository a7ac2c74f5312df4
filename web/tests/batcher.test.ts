import { describe, expect, it } from "vitest";
import { BarBatcher } from "../src/lib/batcher";

interface B {
  time: number;
  close: number;
}

function manual() {
  const queue: (() => void)[] = [];
  return {
    schedule: (cb: () => void) => queue.push(cb),
    frame: () => queue.splice(0).forEach((cb) => cb()),
    pending: () => queue.length,
  };
}

describe("BarBatcher", () => {
  it("applies many updates of one bar once per frame, with the latest values", () => {
    const f = manual();
    const applied: B[][] = [];
    const b = new BarBatcher<B>((bars) => applied.push(bars), f.schedule);
    for (let i = 0; i < 100; i++) b.push({ time: 60, close: 1000 + i });
    expect(f.pending()).toBe(1);
    f.frame();
    expect(applied).toEqual([[{ time: 60, close: 1099 }]]);
  });

  it("hands over several bars in time order", () => {
    const f = manual();
    const applied: B[][] = [];
    const b = new BarBatcher<B>((bars) => applied.push(bars), f.schedule);
    b.push({ time: 180, close: 3 });
    b.push({ time: 120, close: 2 });
    b.push({ time: 180, close: 4 });
    f.frame();
    expect(applied[0]!.map((x) => x.time)).toEqual([120, 180]);
    expect(applied[0]![1]!.close).toBe(4);
  });

  it("drops bars older than the last drawn one", () => {
    const f = manual();
    const applied: B[][] = [];
    const b = new BarBatcher<B>((bars) => applied.push(bars), f.schedule);
    b.setLastTime(300);
    b.push({ time: 240, close: 1 });
    b.push({ time: 300, close: 2 });
    f.frame();
    expect(applied).toEqual([[{ time: 300, close: 2 }]]);
  });

  it("schedules a new frame after each flush and nothing when idle", () => {
    const f = manual();
    let calls = 0;
    const b = new BarBatcher<B>(() => calls++, f.schedule);
    f.frame();
    expect(calls).toBe(0);
    b.push({ time: 1, close: 1 });
    f.frame();
    b.push({ time: 2, close: 1 });
    expect(f.pending()).toBe(1);
    f.frame();
    expect(calls).toBe(2);
    expect(b.flushes).toBe(2);
  });

  it("forgets queued bars on reset", () => {
    const f = manual();
    let calls = 0;
    const b = new BarBatcher<B>(() => calls++, f.schedule);
    b.push({ time: 1, close: 1 });
    b.reset();
    f.frame();
    expect(calls).toBe(0);
  });
});

describe("BarBatcher hold/release", () => {
  it("queues live bars while held and applies the ones not older than the history on release", () => {
    const f = manual();
    const applied: B[][] = [];
    const b = new BarBatcher<B>((bars) => applied.push(bars), f.schedule);
    b.hold();
    b.push({ time: 60, close: 1 });
    b.push({ time: 120, close: 2 });
    f.frame();
    expect(applied).toEqual([]);
    // The history arrives and ends at 120: the bar at 60 is already drawn by it.
    b.setLastTime(120);
    b.release();
    expect(f.pending()).toBe(1);
    f.frame();
    expect(applied).toEqual([[{ time: 120, close: 2 }]]);
  });

  it("schedules nothing on release when nothing is queued", () => {
    const f = manual();
    const b = new BarBatcher<B>(() => {}, f.schedule);
    b.hold();
    b.release();
    expect(f.pending()).toBe(0);
  });

  it("keeps a flush already scheduled before hold from applying until release", () => {
    const f = manual();
    const applied: B[][] = [];
    const b = new BarBatcher<B>((bars) => applied.push(bars), f.schedule);
    b.push({ time: 60, close: 1 });
    b.hold();
    f.frame();
    expect(applied).toEqual([]);
    b.release();
    f.frame();
    expect(applied).toEqual([[{ time: 60, close: 1 }]]);
  });
});
