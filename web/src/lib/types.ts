// Shapes of the AEGIS API as the client uses them, all generated from the server's OpenAPI
// document (api-schema.d.ts, `npm run gen:api`): REST bodies and the WebSocket/SSE messages,
// which the server publishes among the document's components. A server test keeps
// web/openapi.json equal to the server's document, so these cannot drift.

import type { components } from "./api-schema";

type Schemas = components["schemas"];

export type CompanyHit = Schemas["CompanySummary"];
export type Kind = CompanyHit["kind"];
export type Company = Schemas["CompanyProfile"];
export type Candle = Schemas["CandleOut"];
export type Quote = Schemas["QuoteOut"];
export type SourceStatus = Schemas["SourceStatusOut"];
export type SystemStatus = Schemas["SystemStatus"];

// WebSocket messages from the server.
export type TickMsg = Schemas["TickMessage"];
export type CandleMsg = Schemas["CandleMessage"];
export type QuotesMsg = Schemas["QuotesMessage"];
export type BackfillMsg = Schemas["BackfillMessage"];

export type ServerMsg =
  | TickMsg
  | CandleMsg
  | QuotesMsg
  | Schemas["AckMessage"]
  | Schemas["ErrorMessage"]
  | Schemas["PongMessage"]
  | Schemas["PingMessage"]
  | Schemas["ConflatedMessage"]
  | BackfillMsg
  | Schemas["ResyncedMessage"];

export const INTERVALS = ["1m", "5m", "15m", "1h", "1d", "1w", "1M"] as const;
export type IntervalName = (typeof INTERVALS)[number];

export const INTERVAL_LABELS: Record<IntervalName, string> = {
  "1m": "1분",
  "5m": "5분",
  "15m": "15분",
  "1h": "1시간",
  "1d": "일",
  "1w": "주",
  "1M": "월",
};
