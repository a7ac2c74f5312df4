import { describe, expect, it } from "vitest";
import { ascendingUnique, isStrictlyAscending, prependOlder, upsertLive } from "../src/lib/candles";

interface C {
  time: number;
  close: number;
}

const bars = (...times: number[]): C[] => times.map((time) => ({ time, close: time * 10 }));
const times = (rows: readonly C[]) => rows.map((r) => r.time);

describe("prependOlder", () => {
  it("puts only bars older than the oldest held one in front", () => {
    const { rows, added } = prependOlder(bars(5, 6, 7), bars(2, 3, 4, 5, 6));
    expect(times(rows)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(added).toBe(3);
  });

  // The race behind "Value is null" on the stock page: an older-history request keyed to a
  // lone live bar (oldest = today) answered after the first page had replaced the list.
  it("judges against the list as it is when the response arrives, never duplicating bars", () => {
    const firstPage = bars(1, 2, 3, 4, 5);
    const olderThanLiveBar = bars(0, 1, 2, 3, 4); // asked with end = 5, the live bar's time
    const { rows, added } = prependOlder(firstPage, olderThanLiveBar);
    expect(times(rows)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(added).toBe(1);
    expect(isStrictlyAscending(rows)).toBe(true);
  });

  it("sorts and de-duplicates what the server sent", () => {
    const { rows } = prependOlder(bars(9), bars(4, 2, 4, 3));
    expect(times(rows)).toEqual([2, 3, 4, 9]);
  });

  it("adds nothing when every fetched bar is already held", () => {
    const current = bars(3, 4);
    const { rows, added } = prependOlder(current, bars(3, 4));
    expect(added).toBe(0);
    expect(rows).toEqual(current);
  });
});

describe("upsertLive", () => {
  it("replaces the newest bar of the same time", () => {
    const rows = bars(1, 2);
    expect(upsertLive(rows, { time: 2, close: 99 })).toBe("replaced");
    expect(rows[1]!.close).toBe(99);
    expect(rows).toHaveLength(2);
  });

  it("appends a newer bar and ignores an older one", () => {
    const rows = bars(1, 2);
    expect(upsertLive(rows, { time: 3, close: 1 })).toBe("appended");
    expect(upsertLive(rows, { time: 2, close: 1 })).toBe("stale");
    expect(times(rows)).toEqual([1, 2, 3]);
    expect(rows[1]!.close).toBe(20);
  });

  it("starts an empty list", () => {
    const rows: C[] = [];
    expect(upsertLive(rows, { time: 7, close: 1 })).toBe("appended");
    expect(times(rows)).toEqual([7]);
  });
});

describe("ascendingUnique", () => {
  it("orders by time and keeps the later row of a duplicated time", () => {
    const rows = ascendingUnique([
      { time: 3, close: 1 },
      { time: 1, close: 1 },
      { time: 3, close: 2 },
    ]);
    expect(rows).toEqual([
      { time: 1, close: 1 },
      { time: 3, close: 2 },
    ]);
  });

  it("detects unsorted and duplicated times", () => {
    expect(isStrictlyAscending(bars(1, 2, 3))).toBe(true);
    expect(isStrictlyAscending(bars(1, 3, 2))).toBe(false);
    expect(isStrictlyAscending(bars(1, 1))).toBe(false);
  });
});
