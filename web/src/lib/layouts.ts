// Chart-grid layouts in localStorage, one key per named layout so several can be kept.

import { INTERVALS, type IntervalName } from "./types";

export interface CellConfig {
  symbol: string;
  interval: IntervalName;
}

export interface GridLayout {
  size: 1 | 2 | 3 | 4;
  cells: CellConfig[]; // always 16 entries; the first size*size are shown
  crosshairSync: boolean;
}

export const LAYOUT_PREFIX = "aegis.grid.layout.";
export const CURRENT_KEY = "aegis.grid.current";
export const DEFAULT_LAYOUT_NAME = "기본";

// Large, liquid names so a fresh grid shows something meaningful on a real feed too.
const DEFAULT_SYMBOLS = [
  "005930", "000660", "373220", "207940", "005380", "000270", "068270", "035420",
  "005490", "105560", "035720", "051910", "006400", "055550", "012330", "028260",
];

export function defaultLayout(symbols: readonly string[] = DEFAULT_SYMBOLS): GridLayout {
  const cells: CellConfig[] = [];
  for (let i = 0; i < 16; i++) cells.push({ symbol: symbols[i % symbols.length] ?? "005930", interval: "1m" });
  return { size: 2, cells, crosshairSync: false };
}

function isInterval(v: unknown): v is IntervalName {
  return typeof v === "string" && (INTERVALS as readonly string[]).includes(v);
}

/** Parse stored JSON defensively: a corrupt or old entry falls back to defaults cell by cell. */
export function parseLayout(raw: string | null): GridLayout | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<GridLayout>;
    const base = defaultLayout();
    const size = v.size === 1 || v.size === 2 || v.size === 3 || v.size === 4 ? v.size : base.size;
    const cells = base.cells.map((d, i) => {
      const c = Array.isArray(v.cells) ? (v.cells[i] as Partial<CellConfig> | undefined) : undefined;
      return {
        symbol: typeof c?.symbol === "string" && c.symbol ? c.symbol : d.symbol,
        interval: isInterval(c?.interval) ? c.interval : d.interval,
      };
    });
    return { size, cells, crosshairSync: v.crosshairSync === true };
  } catch {
    return null;
  }
}

type Store = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key" | "length">;

export function listLayouts(storage: Store): string[] {
  const names: string[] = [];
  for (let i = 0; i < storage.length; i++) {
    const k = storage.key(i);
    if (k?.startsWith(LAYOUT_PREFIX)) names.push(k.slice(LAYOUT_PREFIX.length));
  }
  return names.sort((a, b) => a.localeCompare(b, "ko"));
}

export function loadLayout(storage: Store, name: string): GridLayout {
  return parseLayout(storage.getItem(LAYOUT_PREFIX + name)) ?? defaultLayout();
}

export function saveLayout(storage: Store, name: string, layout: GridLayout): void {
  storage.setItem(LAYOUT_PREFIX + name, JSON.stringify(layout));
  storage.setItem(CURRENT_KEY, name);
}

export function deleteLayout(storage: Store, name: string): void {
  storage.removeItem(LAYOUT_PREFIX + name);
}

export function currentLayoutName(storage: Store): string {
  return storage.getItem(CURRENT_KEY) || DEFAULT_LAYOUT_NAME;
}

// --- saved per user on the server when logged in ----------------------------------------------
/** What `GET/PUT /api/v1/users/me/layouts` carries: every named layout and the current one. */
export interface SavedLayouts {
  current: string;
  layouts: Record<string, GridLayout>;
}

/** The server keeps at most this many layouts per user. */
export const MAX_SAVED_LAYOUTS = 20;

export function collectLayouts(storage: Store): SavedLayouts {
  const current = currentLayoutName(storage);
  const layouts: Record<string, GridLayout> = { [current]: loadLayout(storage, current) };
  for (const name of listLayouts(storage)) {
    if (Object.keys(layouts).length >= MAX_SAVED_LAYOUTS) break;
    layouts[name] = loadLayout(storage, name);
  }
  return { current, layouts };
}

/** The server's copy replaces the local one (it is what the user saved on any device). */
export function applySavedLayouts(storage: Store, saved: SavedLayouts): void {
  for (const name of listLayouts(storage)) if (!(name in saved.layouts)) deleteLayout(storage, name);
  for (const [name, layout] of Object.entries(saved.layouts)) {
    storage.setItem(LAYOUT_PREFIX + name, JSON.stringify(parseLayout(JSON.stringify(layout)) ?? defaultLayout()));
  }
  storage.setItem(CURRENT_KEY, saved.current);
}
