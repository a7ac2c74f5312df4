// Minimal history-API router: a store of the current route and a navigate() helper.

import { writable } from "svelte/store";

export type Route =
  | { name: "market" }
  | { name: "grid" }
  | { name: "trading" }
  | { name: "news" }
  | { name: "stock"; code: string }
  | { name: "industries" }
  | { name: "rankings" }
  | { name: "comparisons" }
  | { name: "login" }
  | { name: "signup" }
  | { name: "favorites" }
  | { name: "account" }
  | { name: "notfound"; path: string };

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/") return { name: "market" };
  if (path === "/grid") return { name: "grid" };
  if (path === "/industries") return { name: "industries" };
  if (path === "/rankings") return { name: "rankings" };
  if (path === "/comparisons") return { name: "comparisons" };
  if (path === "/trading") return { name: "trading" };
  if (path === "/news") return { name: "news" };
  if (path === "/login") return { name: "login" };
  if (path === "/signup") return { name: "signup" };
  if (path === "/favorites") return { name: "favorites" };
  if (path === "/account") return { name: "account" };
  const m = /^\/stocks\/([^/]+)$/.exec(path);
  if (m?.[1]) return { name: "stock", code: decodeURIComponent(m[1]).toUpperCase() };
  return { name: "notfound", path };
}

const initial = typeof location === "undefined" ? "/" : location.pathname;
export const route = writable<Route>(matchRoute(initial));
export const query = writable<URLSearchParams>(
  new URLSearchParams(typeof location === "undefined" ? "" : location.search),
);

function sync(): void {
  route.set(matchRoute(location.pathname));
  query.set(new URLSearchParams(location.search));
}

export function navigate(href: string, replace = false): void {
  const url = new URL(href, location.href);
  if (url.pathname + url.search === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  sync();
  if (!replace) window.scrollTo(0, 0);
}

/** Route same-origin <a> clicks through the router instead of a full page load. */
export function installLinkInterception(): () => void {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  };
  window.addEventListener("popstate", sync);
  document.addEventListener("click", onClick);
  return () => {
    window.removeEventListener("popstate", sync);
    document.removeEventListener("click", onClick);
  };
}
