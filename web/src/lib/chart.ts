// Shared Lightweight Charts setup: theme, Korean number formats and KST-shifted time axis.

import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  createChart,
  type CandlestickData,
  type DeepPartial,
  type ChartOptions,
  type HistogramData,
  type IChartApi,
  type UTCTimestamp,
} from "lightweight-charts";
import { chartTimeLabel, formatNumber, toChartTime } from "./format";
import { chartTheme, palette, type Settings } from "./settings";
import type { Candle } from "./types";

export function chartOptions(s: Settings, intraday: boolean): DeepPartial<ChartOptions> {
  const t = chartTheme(s);
  return {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: t.background },
      textColor: t.text,
      fontSize: 11,
      attributionLogo: false, // attribution is a link in the status bar / footer instead
      panes: { separatorColor: t.border, separatorHoverColor: t.grid },
    },
    grid: { vertLines: { color: t.grid }, horzLines: { color: t.grid } },
    rightPriceScale: { borderColor: t.border },
    timeScale: { borderColor: t.border, timeVisible: intraday, secondsVisible: false, rightOffset: 3 },
    crosshair: { mode: CrosshairMode.Normal },
    localization: {
      locale: "ko-KR",
      priceFormatter: (p: number) => formatNumber(p),
      timeFormatter: (time: unknown) => chartTimeLabel(time as number, intraday),
    },
  };
}

/** Price-scale steps: KRX stocks trade in whole won; indices (points) and crypto have decimals. */
export function priceFormatFor(symbol: string) {
  const decimals = symbol === "KOSPI" || symbol === "KOSDAQ" || symbol.endsWith("USDT");
  return decimals
    ? { type: "price" as const, precision: 2, minMove: 0.01 }
    : { type: "price" as const, precision: 0, minMove: 1 };
}

export function candleColors(s: Settings) {
  const p = palette(s);
  return {
    upColor: p.up,
    downColor: p.down,
    borderUpColor: p.up,
    borderDownColor: p.down,
    wickUpColor: p.up,
    wickDownColor: p.down,
  };
}

export function toCandleData(c: Candle): CandlestickData<UTCTimestamp> {
  return { time: toChartTime(c.time) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close };
}

export function toVolumeData(c: Candle, s: Settings): HistogramData<UTCTimestamp> {
  const p = palette(s);
  return {
    time: toChartTime(c.time) as UTCTimestamp,
    value: c.volume,
    color: (c.close >= c.open ? p.up : p.down) + "88",
  };
}

export { createChart, CandlestickSeries, HistogramSeries, type IChartApi };
