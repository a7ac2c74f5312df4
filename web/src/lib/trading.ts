// Trading API client (orders, portfolio, trades, safety, backtests) with the logged-in user's
// access token, and the KRX tick grid used to snap prices in the order ticket.

import { ApiError } from "./api";
import { auth } from "./auth";

export class TradingError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = "TradingError";
  }
}

export interface Order {
  orderId: string;
  clientOrderId: string | null;
  symbol: string;
  side: "BUY" | "SELL";
  type: "LIMIT" | "MARKET";
  quantity: number;
  price: number | null;
  status: string;
  filledQuantity: number;
  averageFillPrice: number | null;
  createdAt: string;
  reason: string | null;
}

export interface Position {
  symbol: string;
  name: string;
  quantity: number;
  averagePrice: number;
  marketPrice: number | null;
  marketValue: number;
  unrealizedPnl: number;
  realizedPnl: number;
}

export interface Portfolio {
  cash: number;
  availableCash: number;
  totalValue: number;
  marketValue: number;
  realizedPnl: number;
  unrealizedPnl: number;
  dayPnl: number;
  positions: Position[];
}

export interface Trade {
  tradeId: string;
  orderId: string;
  symbol: string;
  side: "BUY" | "SELL";
  price: number;
  quantity: number;
  amount: number;
  commission: number;
  tax: number;
  realizedPnl: number;
  time: string;
}

export interface PageMeta {
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export interface TradingStatus {
  enabled: boolean;
  state: "ACTIVE" | "REDUCING" | "HALTED";
  limits: Record<string, number>;
  triggers: { kind: string; message: string; time: number }[];
  openOrders: number;
}

export interface BacktestSummary {
  id: number;
  strategy: string;
  params: Record<string, unknown>;
  createdAt: string;
}

export interface BacktestReport {
  id: number;
  strategy: string;
  symbols: string[];
  interval: string;
  initialCash: number;
  finalEquity: number;
  totalReturn: number;
  cagr: number | null;
  maxDrawdown: number;
  sharpe: number | null;
  trades: number;
  winRate: number | null;
  perSymbol: { symbol: string; trades: number; winRate: number | null; realizedPnl: number }[];
}

/** A trading API call with the app's one login session (refreshed once on a 401, dropped when
 * stale); errors become TradingError carrying the rejection reason. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<{ data: T; meta?: PageMeta }> {
  try {
    const env = await auth().requestEnvelope<T>(method, path, body);
    return { data: env.data, meta: env.meta as PageMeta | undefined };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const reason = typeof e.details.reason === "string" ? e.details.reason : undefined;
    throw new TradingError(e.status, e.code, e.message, reason);
  }
}

export const placeOrder = (o: {
  symbol: string;
  side: "BUY" | "SELL";
  type: "LIMIT" | "MARKET";
  quantity: number;
  price?: number;
  clientOrderId?: string;
}) => call<Order>("POST", "/api/v1/orders", o).then((r) => r.data);
export const listOrders = (status = "") =>
  call<Order[]>("GET", `/api/v1/orders${status ? `?status=${status}` : ""}`).then((r) => r.data);
export const cancelOrder = (id: string) => call<Order>("DELETE", `/api/v1/orders/${id}`).then((r) => r.data);
export const getPortfolio = () => call<Portfolio>("GET", "/api/v1/portfolio").then((r) => r.data);
export const resetPortfolio = () => call<Portfolio>("POST", "/api/v1/portfolio/reset", {}).then((r) => r.data);
export interface TradeFilter {
  page: number;
  pageSize: number;
  symbol?: string;
  side?: string;
  /** first day shown, YYYY-MM-DD (KST) */
  start?: string;
  /** last day shown, YYYY-MM-DD (KST), inclusive as the date picker reads */
  end?: string;
}

/** The day after a YYYY-MM-DD calendar day (plain date arithmetic, no time zone involved). */
function nextDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** The trade log's query string. The API's `end` is exclusive (a bare date is KST midnight), so
 * the chosen last day is sent as the next day: otherwise that day's trades were left out, and a
 * one-day range (start = end) was refused. */
export function tradesQuery(q: TradeFilter): URLSearchParams {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") qs.set(k, String(v));
  if (q.end && /^\d{4}-\d{2}-\d{2}$/.test(q.end)) qs.set("end", nextDay(q.end));
  return qs;
}

export function listTrades(q: TradeFilter) {
  return call<Trade[]>("GET", `/api/v1/trades?${tradesQuery(q)}`);
}
export const tradingStatus = () => call<TradingStatus>("GET", "/api/v1/system/trading").then((r) => r.data);
export const setTrading = (action: "on" | "off" | "kill") =>
  call<TradingStatus>("POST", `/api/v1/system/trading/${action}`).then((r) => r.data);
export const listBacktests = () => call<BacktestSummary[]>("GET", "/api/v1/backtests").then((r) => r.data);
export const getBacktest = (id: number) => call<BacktestReport>("GET", `/api/v1/backtests/${id}`).then((r) => r.data);
export async function backtestChart(id: number): Promise<string> {
  const res = await auth().fetchAuthed("GET", `/api/v1/backtests/${id}/equity.png`);
  if (!res.ok) throw new TradingError(res.status, "HTTP_ERROR", "차트를 불러오지 못했습니다");
  return URL.createObjectURL(await res.blob());
}

/** A WebSocket on a trading stream with the access token; reconnects until closed. */
export function tradingSocket(path: "/ws/portfolio" | "/ws/events", onMessage: (m: Record<string, unknown>) => void): () => void {
  let ws: WebSocket | null = null;
  let closed = false;
  let delay = 500;
  const open = async () => {
    const token = await auth().accessToken().catch(() => null);
    if (closed || !token) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}${path}?token=${encodeURIComponent(token)}`);
    ws.onmessage = (e) => {
      delay = 500;
      onMessage(JSON.parse(e.data as string) as Record<string, unknown>);
    };
    ws.onclose = (e) => {
      // 4401: the server refused the token — check the session (refresh once, else logged out)
      if (e.code === 4401) void auth().loadMe().catch(() => {});
      if (!closed) setTimeout(() => void open(), (delay = Math.min(delay * 2, 10_000)));
    };
  };
  void open();
  return () => {
    closed = true;
    ws?.close();
  };
}

// --- the KRX tick grid (since 2023-01-25), as aegis.domain.krx ------------------------------
const BANDS: [number, number][] = [
  [2_000, 1],
  [5_000, 5],
  [20_000, 10],
  [50_000, 50],
  [200_000, 100],
  [500_000, 500],
];

export function tickSize(price: number): number {
  for (const [bound, tick] of BANDS) if (price < bound) return tick;
  return 1_000;
}

/** The nearest grid price (ties go down). */
export function snapToTick(price: number): number {
  if (!Number.isFinite(price) || price < 1) return 1;
  const down = price - (price % tickSize(price));
  const up = down === price ? price : down + tickSize(down);
  return price - down <= up - price ? down : up;
}

/** ``n`` ticks up (n > 0) or down (n < 0) along the grid. */
export function stepTick(price: number, n: number): number {
  let p = snapToTick(price);
  for (let i = 0; i < Math.abs(n); i++) {
    if (n > 0) p += tickSize(p);
    else {
      const below = p - 1;
      p = below >= 1 ? Math.max(1, below - (below % tickSize(below))) : 1;
    }
  }
  return p;
}

/** Today's price limits: ±30 % of the previous close, rounded inward to the grid. */
export function priceLimits(prevClose: number): { lower: number; upper: number } {
  const hi = Math.floor((prevClose * 130) / 100);
  const lo = Math.ceil((prevClose * 70) / 100);
  const upper = hi - (hi % tickSize(hi));
  const loDown = lo - (lo % tickSize(lo));
  const lower = loDown === lo ? lo : loDown + tickSize(loDown);
  return { lower, upper };
}

export const SIDE_LABEL = { BUY: "매수", SELL: "매도" } as const;
export const STATE_LABEL: Record<TradingStatus["state"], string> = {
  ACTIVE: "정상",
  REDUCING: "축소 전용 (보유 줄이는 주문만)",
  HALTED: "정지",
};
/** What the ticket says once an order is placed: the answer is a moment's state, so an order
 * still working is "접수" (it may fill a second later), never "미체결" left on screen. */
export function placedText(o: Pick<Order, "side" | "status" | "quantity" | "filledQuantity">): string {
  const side = SIDE_LABEL[o.side];
  if (o.status === "FILLED") return `${side} 주문 체결 (${o.quantity.toLocaleString("ko-KR")}주)`;
  if (o.status === "NEW" || o.status === "ACCEPTED" || o.status === "PARTIALLY_FILLED")
    return `${side} 주문 접수 (${o.quantity.toLocaleString("ko-KR")}주)`;
  return `${side} 주문 ${STATUS_LABEL[o.status] ?? o.status}`;
}

/** Safety triggers (`status.triggers`, `/ws/events` safety messages) by kind. */
export const TRIGGER_LABEL: Record<string, string> = {
  TRADING_ON: "매매 켜짐",
  TRADING_OFF: "매매 꺼짐",
  KILL_SWITCH: "긴급 정지",
  STATE_ACTIVE: "정상으로 전환",
  STATE_REDUCING: "축소 전용으로 전환",
  STATE_HALTED: "매매 정지",
};
export const STATUS_LABEL: Record<string, string> = {
  NEW: "접수중",
  ACCEPTED: "미체결",
  PARTIALLY_FILLED: "부분체결",
  FILLED: "체결",
  CANCELLED: "취소",
  REJECTED: "거부",
  EXPIRED: "만료",
  UNKNOWN: "확인중",
};
export const REASON_LABEL: Record<string, string> = {
  TICK_SIZE: "호가단위 오류",
  PRICE_LIMIT: "가격제한폭 초과",
  INSUFFICIENT_CASH: "주문가능금액 부족",
  INSUFFICIENT_POSITION: "매도가능수량 부족",
  MARKET_CLOSED: "장운영시간이 아닙니다",
  TRADING_OFF: "매매가 꺼져 있습니다",
  HALTED: "매매 정지 상태",
  MAX_POSITION: "보유한도 초과",
  MAX_ORDER_VALUE: "주문금액 한도 초과",
  ORDER_RATE: "주문 빈도 초과",
  DUPLICATE: "중복 주문",
};
