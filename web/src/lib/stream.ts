// One multiplexed WebSocket for the whole app: reference-counted subscriptions, reconnect with
// backoff, re-subscribe after reconnect, latency and message-rate figures for the status bar.

import { writable, type Readable } from "svelte/store";
import { currentAccessToken } from "./auth";
import { backoffDelay } from "./backoff";
import type { CandleMsg, Quote, ServerMsg, TickMsg } from "./types";

export type ConnState = "connecting" | "open" | "reconnecting";

export interface StreamStatus {
  state: ConnState;
  /** Has the socket ever been open? Lets the UI tell "starting" from "lost". */
  everOpened: boolean;
  attempt: number;
  retryInMs: number | null;
  latencyMs: number | null;
  msgsPerSec: number;
  source: string | null;
  conflated: number;
  /** Ticks the server lost on its own feed and sent again later (`backfill`). */
  backfilled: number;
  lastError: string | null;
}

export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface StreamOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  now?: () => number;
  pingEveryMs?: number;
  /** No message at all for this long → the connection is considered dead. */
  silenceLimitMs?: number;
  /** A logged-in user's access token, sent first on every connect (larger symbol budget). */
  token?: () => string | null;
}

type Fn<T> = (msg: T) => void;

const OPEN = 1;

function candleKey(symbol: string, interval: string): string {
  return `c|${interval}|${symbol}`;
}

export class StreamClient {
  private socket: SocketLike | null = null;
  private readonly opts: Required<StreamOptions>;
  private readonly refs = new Map<string, number>();
  private readonly tickListeners = new Map<string, Set<Fn<TickMsg>>>();
  private readonly candleListeners = new Map<string, Set<Fn<CandleMsg>>>();
  private readonly quoteListeners = new Set<Fn<Quote[]>>();
  private readonly reconnectListeners = new Set<() => void>();
  /** The newest tick time seen per symbol (ISO strings of one format compare as times). */
  private readonly lastTickTime = new Map<string, string>();
  private pendingSub = new Set<string>();
  private pendingUnsub = new Set<string>();
  private flushQueued = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private rateTimer: ReturnType<typeof setInterval> | null = null;
  private pingSentAt: number | null = null;
  private lastMessageAt = 0;
  private msgCount = 0;
  private stopped = true;
  private authRejected = false; // closed 4401: reconnect anonymously until a new token
  private snapshot: StreamStatus = {
    state: "connecting",
    everOpened: false,
    attempt: 0,
    retryInMs: null,
    latencyMs: null,
    msgsPerSec: 0,
    source: null,
    conflated: 0,
    backfilled: 0,
    lastError: null,
  };
  private readonly statusStore = writable<StreamStatus>(this.snapshot);
  readonly status: Readable<StreamStatus> = { subscribe: this.statusStore.subscribe };

  constructor(opts: StreamOptions) {
    this.opts = {
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      now: () => performance.now(),
      pingEveryMs: 5_000,
      silenceLimitMs: 45_000,
      token: () => null,
      ...opts,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    this.rateTimer = setInterval(() => {
      const n = this.msgCount;
      this.msgCount = 0;
      this.patch({ msgsPerSec: n });
    }, 1_000);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.retryTimer = this.pingTimer = this.rateTimer = null;
    const s = this.socket;
    this.socket = null;
    s?.close(1000, "client stop");
  }

  subscribeTicks(symbol: string, fn: Fn<TickMsg>): () => void {
    return this.add(`t|${symbol}`, this.tickListeners, symbol, fn);
  }

  subscribeCandles(symbol: string, interval: string, fn: Fn<CandleMsg>): () => void {
    const key = candleKey(symbol, interval);
    return this.add(key, this.candleListeners, key, fn);
  }

  subscribeQuotes(fn: Fn<Quote[]>): () => void {
    this.quoteListeners.add(fn);
    this.ref("q");
    return () => {
      if (this.quoteListeners.delete(fn)) this.unref("q");
    };
  }

  /** After a login (or a renewed token): authenticate the open connection with it. */
  authenticate(token: string): void {
    this.authRejected = false;
    this.send({ action: "auth", token });
  }

  /** Called after every re-connection (not a first connect that worked at once), and when the
   * server rebuilt its live state after a gap on its own feed (`resynced`): fill gaps from REST. */
  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn);
    return () => this.reconnectListeners.delete(fn);
  }

  /** Subscription keys currently held (for tests and diagnostics). */
  activeKeys(): string[] {
    return [...this.refs.keys()].sort();
  }

  private add<T>(key: string, map: Map<string, Set<Fn<T>>>, mapKey: string, fn: Fn<T>): () => void {
    let set = map.get(mapKey);
    if (!set) map.set(mapKey, (set = new Set()));
    set.add(fn);
    this.ref(key);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      set.delete(fn);
      if (set.size === 0) map.delete(mapKey);
      this.unref(key);
    };
  }

  private ref(key: string): void {
    const n = this.refs.get(key) ?? 0;
    this.refs.set(key, n + 1);
    if (n === 0) {
      if (!this.pendingUnsub.delete(key)) this.pendingSub.add(key);
      this.queueFlush();
    }
  }

  private unref(key: string): void {
    const n = this.refs.get(key) ?? 0;
    if (n <= 1) {
      this.refs.delete(key);
      if (!this.pendingSub.delete(key)) this.pendingUnsub.add(key);
      this.queueFlush();
    } else {
      this.refs.set(key, n - 1);
    }
  }

  // Subscriptions made in the same task (e.g. 16 grid cells mounting) go out as few messages.
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (this.socket?.readyState !== OPEN) return; // sent in full on open
      const sub = [...this.pendingSub];
      const unsub = [...this.pendingUnsub];
      this.pendingSub.clear();
      this.pendingUnsub.clear();
      for (const m of buildMessages("unsubscribe", unsub)) this.send(m);
      for (const m of buildMessages("subscribe", sub)) this.send(m);
    });
  }

  private connect(): void {
    this.patch({ state: this.attempt === 0 && !this.current().everOpened ? "connecting" : "reconnecting", retryInMs: null });
    let s: SocketLike;
    try {
      s = this.opts.createSocket(this.opts.url);
    } catch (e) {
      this.scheduleRetry(String(e));
      return;
    }
    this.socket = s;
    s.onopen = () => this.handleOpen(s);
    s.onmessage = (ev) => this.handleData(ev.data);
    s.onerror = () => {
      // The close event that always follows carries the useful part.
    };
    s.onclose = (ev) => {
      if (this.socket !== s) return;
      this.socket = null;
      if (ev.code === 4401) this.authRejected = true;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = null;
      if (!this.stopped) this.scheduleRetry(ev.code ? `연결 종료 (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})` : "연결 종료");
    };
  }

  private handleOpen(s: SocketLike): void {
    // After a drop, or after a first connect that only succeeded on retry, REST calls made
    // meanwhile may have failed or gone stale: listeners refetch.
    const refill = this.current().everOpened || this.attempt > 0;
    this.attempt = 0;
    this.lastMessageAt = this.opts.now();
    this.pendingSub.clear();
    this.pendingUnsub.clear();
    const token = this.authRejected ? null : this.opts.token?.();
    if (token) s.send(JSON.stringify({ action: "auth", token }));
    for (const m of buildMessages("subscribe", [...this.refs.keys()])) s.send(JSON.stringify(m));
    this.patch({ state: "open", everOpened: true, attempt: 0, retryInMs: null, lastError: null });
    this.pingTimer = setInterval(() => this.heartbeat(), this.opts.pingEveryMs);
    this.heartbeat();
    if (refill) for (const fn of this.reconnectListeners) fn();
  }

  private heartbeat(): void {
    const now = this.opts.now();
    if (now - this.lastMessageAt > this.opts.silenceLimitMs) {
      // Half-open TCP: the browser may never fire close on its own.
      this.socket?.close(4000, "silent");
      return;
    }
    this.pingSentAt = now;
    this.send({ action: "ping" });
  }

  private scheduleRetry(reason: string): void {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.patch({ state: "reconnecting", attempt: this.attempt, retryInMs: delay, lastError: reason });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private send(msg: object): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(msg));
  }

  /** Feed raw frame data (string JSON object or array). Public for tests. */
  handleData(data: unknown): void {
    this.lastMessageAt = this.opts.now();
    if (typeof data !== "string") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (Array.isArray(parsed)) for (const m of parsed) this.dispatch(m as ServerMsg);
    else this.dispatch(parsed as ServerMsg);
  }

  private dispatch(m: ServerMsg): void {
    this.msgCount += 1;
    switch (m.type) {
      case "tick":
        this.noteSource(m.source);
        this.deliverTick(m);
        break;
      case "backfill":
        // Ticks the server's feed lost, read back from its store: older than what was shown.
        // Only those still newer than the last tick seen move prices; charts reload their bars
        // on the `resynced` that comes with a gap.
        this.patch({ backfilled: this.current().backfilled + m.ticks.length });
        for (const t of m.ticks) {
          const last = this.lastTickTime.get(t.symbol);
          if (last === undefined || t.timestamp > last) this.deliverTick(t);
        }
        break;
      case "resynced":
        for (const fn of this.reconnectListeners) fn();
        break;
      case "candle": {
        this.noteSource(m.source);
        const set = this.candleListeners.get(candleKey(m.symbol, m.interval));
        if (set) for (const fn of set) fn(m);
        break;
      }
      case "quotes":
        if (m.data[0]) this.noteSource(m.data[0].source);
        for (const fn of this.quoteListeners) fn(m.data);
        break;
      case "pong":
        if (this.pingSentAt !== null) {
          this.patch({ latencyMs: Math.round(this.opts.now() - this.pingSentAt) });
          this.pingSentAt = null;
        }
        break;
      case "ping":
        this.send({ action: "pong" });
        break;
      case "conflated":
        this.patch({ conflated: this.current().conflated + m.count });
        break;
      case "error":
        this.patch({ lastError: `${m.code}: ${m.message}` });
        break;
      default:
        break;
    }
  }

  private deliverTick(m: TickMsg): void {
    const last = this.lastTickTime.get(m.symbol);
    if (last === undefined || m.timestamp > last) this.lastTickTime.set(m.symbol, m.timestamp);
    const set = this.tickListeners.get(m.symbol);
    if (set) for (const fn of set) fn(m);
  }

  private noteSource(source: string): void {
    if (this.current().source !== source) this.patch({ source });
  }

  private current(): StreamStatus {
    return this.snapshot;
  }

  private patch(p: Partial<StreamStatus>): void {
    this.snapshot = { ...this.snapshot, ...p };
    this.statusStore.set(this.snapshot);
  }
}

/** Group subscription keys into as few protocol messages as possible. */
export function buildMessages(action: "subscribe" | "unsubscribe", keys: string[]): object[] {
  const ticks: string[] = [];
  const candles = new Map<string, string[]>();
  const out: object[] = [];
  for (const k of keys) {
    const [kind, a, b] = k.split("|");
    if (kind === "t" && a) ticks.push(a);
    else if (kind === "c" && a && b) {
      const list = candles.get(a) ?? [];
      list.push(b);
      candles.set(a, list);
    } else if (kind === "q") out.push({ action, channel: "quotes" });
  }
  if (ticks.length) out.push({ action, symbols: ticks });
  for (const [interval, symbols] of candles) out.push({ action, channel: "candles", interval, symbols });
  return out;
}

export function defaultStreamUrl(): string {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}/ws/stocks?batch=1`;
}

let shared: StreamClient | null = null;

/** The app-wide stream, started on first use. */
export function stream(): StreamClient {
  if (!shared) {
    shared = new StreamClient({ url: defaultStreamUrl(), token: () => currentAccessToken(localStorage) });
    shared.start();
  }
  return shared;
}
