// User preferences kept in localStorage: theme and which colour means "rising".

import { writable } from "svelte/store";

export interface Settings {
  theme: "dark" | "light";
  /** Korean convention is red for rising, blue for falling; "green" flips to green up / red down. */
  rise: "red" | "green";
  crosshairSync: boolean;
}

const KEY = "aegis.settings";
export const DEFAULT_SETTINGS: Settings = { theme: "dark", rise: "red", crosshairSync: false };

export function loadSettings(storage: Pick<Storage, "getItem"> | undefined): Settings {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return { ...DEFAULT_SETTINGS };
    const v = JSON.parse(raw) as Partial<Settings>;
    return {
      theme: v.theme === "light" ? "light" : "dark",
      rise: v.rise === "green" ? "green" : "red",
      crosshairSync: v.crosshairSync === true,
    };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

const storage = typeof localStorage === "undefined" ? undefined : localStorage;
export const settings = writable<Settings>(loadSettings(storage));

settings.subscribe((s) => {
  storage?.setItem(KEY, JSON.stringify(s));
});

export interface Palette {
  up: string;
  down: string;
  flat: string;
}

export function palette(s: Settings): Palette {
  const red = "#f04452";
  const blue = "#3485fa";
  const green = "#16a34a";
  return s.rise === "red" ? { up: red, down: blue, flat: "#8b95a1" } : { up: green, down: red, flat: "#8b95a1" };
}

export interface ChartTheme {
  background: string;
  text: string;
  grid: string;
  border: string;
}

export function chartTheme(s: Settings): ChartTheme {
  return s.theme === "dark"
    ? { background: "#12161c", text: "#c3cad4", grid: "#1f262f", border: "#2b333d" }
    : { background: "#ffffff", text: "#333d4b", grid: "#eef1f4", border: "#d9dee4" };
}
