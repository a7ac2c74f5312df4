import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { get } from "svelte/store";
import { backoffDelay } from "../src/lib/backoff";
import { StreamClient, buildMessages, type SocketLike } from "../src/lib/stream";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  subscribes() {
    return this.sent.filter((m) => (m as { action: string }).action === "subscribe");
  }
}

describe("StreamClient", () => {
  let sockets: FakeSocket[];
  let client: StreamClient;
  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    client = new StreamClient({
      url: "ws://test/ws/stocks?batch=1",
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      now: () => Date.now(),
    });
  });
  afterEach(() => {
    client.stop();
    vi.useRealTimers();
  });

  it("sends all subscriptions made before open as grouped messages on open", async () => {
    client.start();
    client.subscribeCandles("005930", "1m", () => {});
    client.subscribeCandles("000660", "1m", () => {});
    client.subscribeTicks("005930", () => {});
    client.subscribeQuotes(() => {});
    await Promise.resolve();
    sockets[0]!.open();
    const subs = sockets[0]!.subscribes();
    expect(subs).toHaveLength(3);
    expect(subs).toEqual(
      expect.arrayContaining([
        { action: "subscribe", symbols: ["005930"] },
        { action: "subscribe", channel: "candles", interval: "1m", symbols: ["005930", "000660"] },
        { action: "subscribe", channel: "quotes" },
      ]),
    );
  });

  it("shares one server subscription between listeners and drops it after the last leaves", async () => {
    client.start();
    sockets[0]!.open();
    const a = client.subscribeCandles("005930", "5m", () => {});
    const b = client.subscribeCandles("005930", "5m", () => {});
    await Promise.resolve();
    expect(sockets[0]!.subscribes()).toEqual([{ action: "subscribe", channel: "candles", interval: "5m", symbols: ["005930"] }]);
    a();
    await Promise.resolve();
    expect(sockets[0]!.sent.some((m) => (m as { action: string }).action === "unsubscribe")).toBe(false);
    b();
    await Promise.resolve();
    expect(sockets[0]!.sent).toContainEqual({ action: "unsubscribe", channel: "candles", interval: "5m", symbols: ["005930"] });
    expect(client.activeKeys()).toEqual([]);
  });

  it("routes messages, including batched arrays, to the right listeners", () => {
    client.start();
    sockets[0]!.open();
    const ticks: number[] = [];
    const candles: number[] = [];
    client.subscribeTicks("005930", (t) => ticks.push(t.price));
    client.subscribeCandles("005930", "1m", (c) => candles.push(c.close));
    sockets[0]!.receive([
      { type: "tick", symbol: "005930", price: 71000, volume: 1, change: 0, changePercent: 0, timestamp: "", source: "sim" },
      { type: "tick", symbol: "000660", price: 1, volume: 1, change: 0, changePercent: 0, timestamp: "", source: "sim" },
      { type: "candle", symbol: "005930", interval: "1m", time: 60, open: 1, high: 1, low: 1, close: 71000, volume: 1, amount: 1, source: "sim" },
      { type: "candle", symbol: "005930", interval: "5m", time: 60, open: 1, high: 1, low: 1, close: 5, volume: 1, amount: 1, source: "sim" },
    ]);
    expect(ticks).toEqual([71000]);
    expect(candles).toEqual([71000]);
    expect(get(client.status).source).toBe("sim");
  });

  it("reconnects with backoff after a drop, re-subscribes and tells listeners to fill gaps", async () => {
    client.start();
    client.subscribeCandles("005930", "1m", () => {});
    sockets[0]!.open();
    let refills = 0;
    client.onReconnect(() => refills++);
    sockets[0]!.close(1006, "");
    expect(get(client.status).state).toBe("reconnecting");
    expect(get(client.status).everOpened).toBe(true);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(get(client.status).state).toBe("open");
    expect(sockets[1]!.subscribes()).toEqual([{ action: "subscribe", channel: "candles", interval: "1m", symbols: ["005930"] }]);
    expect(refills).toBe(1);
  });

  it("asks for a refill when the first connection only succeeds on a retry", () => {
    client.start();
    let refills = 0;
    client.onReconnect(() => refills++);
    sockets[0]!.close(1006, "");
    vi.advanceTimersByTime(10_000);
    sockets[1]!.open();
    expect(refills).toBe(1);
  });

  it("does not refill on a first connect that works at once", () => {
    client.start();
    let refills = 0;
    client.onReconnect(() => refills++);
    sockets[0]!.open();
    expect(refills).toBe(0);
  });

  it("after a gap on the server's feed: counts backfilled ticks, never moves a price back, refills charts", () => {
    client.start();
    sockets[0]!.open();
    const prices: number[] = [];
    client.subscribeTicks("005930", (t) => prices.push(t.price));
    let refills = 0;
    client.onReconnect(() => refills++);
    const tick = (price: number, second: number) => ({
      type: "tick", symbol: "005930", price, volume: 1, change: null, changePercent: null,
      timestamp: `2026-03-20T00:00:${String(second).padStart(2, "0")}.000Z`, source: "sim",
    });
    sockets[0]!.receive([tick(100, 10)]);
    sockets[0]!.receive([{ type: "backfill", symbol: "005930", ticks: [tick(98, 5), tick(99, 8)] }, { type: "resynced" }]);
    expect(prices).toEqual([100]); // older than the shown price: not applied
    expect(get(client.status).backfilled).toBe(2);
    expect(refills).toBe(1); // charts reload their bars from REST
    sockets[0]!.receive({ type: "backfill", symbol: "005930", ticks: [tick(101, 12)] });
    expect(prices).toEqual([100, 101]); // newer than anything seen: it is the latest price
  });

  it("answers server heartbeats and measures latency from its own pings", () => {
    let now = 1_000;
    const c = new StreamClient({
      url: "ws://x",
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      now: () => now,
    });
    c.start();
    const s = sockets[0]!;
    s.open();
    expect(s.sent).toContainEqual({ action: "ping" });
    now += 12;
    s.receive({ type: "pong" });
    expect(get(c.status).latencyMs).toBe(12);
    s.receive({ type: "ping" });
    expect(s.sent).toContainEqual({ action: "pong" });
    c.stop();
  });

  it("counts messages per second", () => {
    client.start();
    sockets[0]!.open();
    for (let i = 0; i < 5; i++) sockets[0]!.receive({ type: "quotes", data: [] });
    vi.advanceTimersByTime(1_000);
    expect(get(client.status).msgsPerSec).toBe(5);
  });
});

describe("buildMessages", () => {
  it("groups candle subscriptions by interval", () => {
    expect(buildMessages("subscribe", ["c|1m|A", "c|5m|B", "c|1m|C"])).toEqual([
      { action: "subscribe", channel: "candles", interval: "1m", symbols: ["A", "C"] },
      { action: "subscribe", channel: "candles", interval: "5m", symbols: ["B"] },
    ]);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially up to the cap, with jitter in the upper half", () => {
    expect(backoffDelay(0, 500, 10_000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 10_000, () => 1)).toBe(4_000);
    expect(backoffDelay(10, 500, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(3, 500, 10_000, () => 0)).toBe(2_000);
  });
});

describe("StreamClient authentication", () => {
  it("sends the token first on connect and goes anonymous after a 4401 close", async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    const client = new StreamClient({
      url: "ws://test/ws/stocks",
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      now: () => Date.now(),
      token: () => "tok",
    });
    try {
      client.start();
      client.subscribeTicks("005930", () => {});
      await Promise.resolve();
      sockets[0]!.open();
      expect(sockets[0]!.sent[0]).toEqual({ action: "auth", token: "tok" });
      sockets[0]!.close(4401, "invalid token");
      await vi.advanceTimersByTimeAsync(60_000);
      sockets[1]!.open();
      expect(sockets[1]!.sent.some((m) => (m as { action: string }).action === "auth")).toBe(false);
      expect(sockets[1]!.subscribes()).toHaveLength(1);
      client.authenticate("new");
      expect(sockets[1]!.sent.at(-1)).toEqual({ action: "auth", token: "new" });
    } finally {
      client.stop();
      vi.useRealTimers();
    }
  });
});
