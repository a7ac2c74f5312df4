import { describe, expect, it } from "vitest";
import { get } from "svelte/store";
import { AuthClient, LEGACY_KEYS, SESSION_KEY, currentAccessToken, parseSession, passwordProblems } from "../src/lib/auth";
import { FavoritesStore } from "../src/lib/favorites";
import { applySavedLayouts, collectLayouts, defaultLayout, LAYOUT_PREFIX, CURRENT_KEY, MAX_SAVED_LAYOUTS } from "../src/lib/layouts";
import { applyTick } from "../src/lib/live";
import { MemStorage } from "./support";


/** A fake of the accounts API following its contract: rotating single-use refresh tokens. */
class FakeServer {
  n = 0;
  access = new Set<string>();
  refresh = new Set<string>();
  calls: string[] = [];
  favorites: { favoriteId: number; companyId: number }[] = [];

  json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }
  err(status: number, code: string) {
    return this.json(status, { status, code, message: code });
  }
  tokens() {
    const a = `access-${++this.n}`;
    const r = `refresh-${this.n}`;
    this.access.add(a);
    this.refresh.add(r);
    return { accessToken: a, refreshToken: r, tokenType: "Bearer", expiresIn: 900 };
  }
  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = String(input);
    const method = init?.method ?? "GET";
    this.calls.push(`${method} ${path}`);
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    const auth = new Headers(init?.headers).get("Authorization")?.replace("Bearer ", "");
    if (path.endsWith("/login")) {
      return body.password === "SecurePass123!" ? this.json(200, { data: this.tokens() }) : this.err(401, "UNAUTHORIZED");
    }
    if (path.endsWith("/refresh")) {
      if (!this.refresh.delete(body.refreshToken)) return this.err(401, "UNAUTHORIZED");
      return this.json(200, { data: this.tokens() });
    }
    if (!auth || !this.access.has(auth)) return this.err(401, "UNAUTHORIZED");
    if (path.endsWith("/logout")) {
      this.access.delete(auth);
      return this.json(200, { data: { done: true } });
    }
    if (path.endsWith("/me")) return this.json(200, { data: { userId: 1, email: "a@example.com", username: "alice", isAdmin: false, createdAt: "2026-12-02T00:00:00+00:00" } });
    if (path.endsWith("/favorites") && method === "GET") return this.json(200, { data: this.favorites.map((f) => ({ ...f, company: { code: `C${f.companyId}` } })) });
    if (path.endsWith("/favorites") && method === "POST") {
      const f = { favoriteId: this.favorites.length + 1, companyId: body.companyId as number };
      this.favorites.push(f);
      return this.json(201, { data: { ...f, company: { code: `C${f.companyId}` } } });
    }
    const del = /\/favorites\/(\d+)$/.exec(path);
    if (del && method === "DELETE") {
      this.favorites = this.favorites.filter((f) => f.favoriteId !== Number(del[1]));
      return this.json(200, { data: { done: true } });
    }
    return this.err(404, "NOT_FOUND");
  };
}

function setup(now = { t: 1_000_000 }) {
  const server = new FakeServer();
  const storage = new MemStorage();
  const client = new AuthClient({ fetch: server.fetch, storage, now: () => now.t, lock: (fn) => fn() });
  return { server, storage, client, now };
}

describe("AuthClient", () => {
  it("logs in, keeps the session in storage and loads the user", async () => {
    const { client, storage } = setup();
    const me = await client.login("a@example.com", "SecurePass123!");
    expect(me.username).toBe("alice");
    expect(get(client.me)?.email).toBe("a@example.com");
    const s = parseSession(storage.getItem(SESSION_KEY));
    expect(s?.accessToken).toBe("access-1");
    expect(s?.expiresAt).toBe(1_000_000 + 900_000);
  });

  it("wrong password: ApiError 401 and nothing stored", async () => {
    const { client, storage } = setup();
    await expect(client.login("a@example.com", "nope")).rejects.toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(storage.getItem(SESSION_KEY)).toBeNull();
  });

  it("renews the access token shortly before it expires", async () => {
    const { client, server, now } = setup();
    await client.login("a@example.com", "SecurePass123!");
    now.t += 900_000 - 10_000; // 10 s left
    expect(await client.accessToken()).toBe("access-2");
    expect(server.calls.filter((c) => c.endsWith("/refresh"))).toHaveLength(1);
  });

  it("on a 401 refreshes once and repeats the request", async () => {
    const { client, server } = setup();
    await client.login("a@example.com", "SecurePass123!");
    server.access.clear(); // e.g. the server restarted with a new secret… or the token was revoked
    const me = await client.request<{ username: string }>("GET", "/api/v1/users/me");
    expect(me.username).toBe("alice");
    expect(server.calls.slice(-3)).toEqual(["GET /api/v1/users/me", "POST /api/v1/users/refresh", "GET /api/v1/users/me"]);
  });

  it("concurrent 401s share one refresh: a refresh token is spent only once", async () => {
    const { client, server } = setup();
    await client.login("a@example.com", "SecurePass123!");
    server.access.clear();
    await Promise.all([1, 2, 3].map(() => client.request("GET", "/api/v1/users/me")));
    expect(server.calls.filter((c) => c.endsWith("/refresh"))).toHaveLength(1);
  });

  it("adopts a refresh made by another tab instead of spending the old token again", async () => {
    const { client, server, storage } = setup();
    await client.login("a@example.com", "SecurePass123!");
    const other = new AuthClient({ fetch: server.fetch, storage, now: () => 1_000_000, lock: (fn) => fn() });
    const spent = parseSession(storage.getItem(SESSION_KEY))!.refreshToken;
    await other.refresh(spent); // tab 2 rotates
    const s = await client.refresh(spent); // tab 1 saw the same, now stale, token
    expect(s?.refreshToken).toBe(parseSession(storage.getItem(SESSION_KEY))!.refreshToken);
    expect(server.calls.filter((c) => c.endsWith("/refresh"))).toHaveLength(1);
  });

  it("a refused refresh ends the session", async () => {
    const { client, server, storage } = setup();
    await client.login("a@example.com", "SecurePass123!");
    server.access.clear();
    server.refresh.clear();
    await expect(client.request("GET", "/api/v1/users/me")).rejects.toMatchObject({ status: 401 });
    expect(storage.getItem(SESSION_KEY)).toBeNull();
    expect(get(client.session)).toBeNull();
    expect(get(client.me)).toBeNull();
  });

  it("logout forgets the tokens even when the server cannot be told", async () => {
    const { client, storage, server } = setup();
    await client.login("a@example.com", "SecurePass123!");
    await client.logout();
    expect(storage.getItem(SESSION_KEY)).toBeNull();
    expect(server.calls.at(-1)).toBe("POST /api/v1/users/logout");
    expect(server.access.size).toBe(0);
  });

  it("a session left by another server or login (unknown tokens) is dropped: logged out, no error page", async () => {
    const server = new FakeServer();
    const storage = new MemStorage();
    // what a previous session left behind: tokens this server never issued, still "valid" by the clock
    storage.setItem(SESSION_KEY, JSON.stringify({ accessToken: "old-access", refreshToken: "old-refresh", expiresAt: 9e15 }));
    const client = new AuthClient({ fetch: server.fetch, storage, now: () => 1_000_000, lock: (fn) => fn() });
    expect(get(client.session)).not.toBeNull();
    await expect(client.loadMe()).rejects.toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(server.calls).toEqual(["GET /api/v1/users/me", "POST /api/v1/users/refresh"]);
    expect(storage.getItem(SESSION_KEY)).toBeNull();
    expect(get(client.session)).toBeNull();
    // and logging in afterwards works as from a clean browser
    expect((await client.login("a@example.com", "SecurePass123!")).username).toBe("alice");
  });

  it("a refresh answered 400 (malformed token) ends the session too; a 5xx keeps it", async () => {
    const { client, server, storage } = setup();
    await client.login("a@example.com", "SecurePass123!");
    server.access.clear();
    const real = server.fetch;
    server.fetch = async (input, init) => (String(input).endsWith("/refresh") ? server.err(503, "SERVICE_UNAVAILABLE") : real(input, init));
    const c2 = new AuthClient({ fetch: server.fetch, storage, now: () => 1_000_000, lock: (fn) => fn() });
    const err = await c2.request("GET", "/api/v1/users/me").catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503 });
    expect((err as Error).message).not.toContain("internal error");
    expect(storage.getItem(SESSION_KEY)).not.toBeNull(); // a server hiccup is not a logout
    server.fetch = async (input, init) => (String(input).endsWith("/refresh") ? server.err(400, "INVALID_REQUEST") : real(input, init));
    const c3 = new AuthClient({ fetch: server.fetch, storage, now: () => 1_000_000, lock: (fn) => fn() });
    await expect(c3.request("GET", "/api/v1/users/me")).rejects.toMatchObject({ status: 401 });
    expect(storage.getItem(SESSION_KEY)).toBeNull();
  });

  it("removes the token keys of the old per-page logins on start", () => {
    const storage = new MemStorage();
    for (const k of LEGACY_KEYS) storage.setItem(k, "stale-token");
    new AuthClient({ fetch: new FakeServer().fetch, storage, lock: (fn) => fn() });
    for (const k of LEGACY_KEYS) expect(storage.getItem(k)).toBeNull();
  });

  it("requests without a session fail with 401 without calling the server", async () => {
    const { client, server } = setup();
    await expect(client.request("GET", "/api/v1/users/me")).rejects.toMatchObject({ status: 401 });
    expect(server.calls).toEqual([]);
  });
});

describe("session helpers", () => {
  it("parseSession rejects corrupt entries", () => {
    expect(parseSession("{")).toBeNull();
    expect(parseSession(JSON.stringify({ accessToken: 1 }))).toBeNull();
    expect(parseSession(null)).toBeNull();
  });

  it("currentAccessToken gives a token only while it is valid", () => {
    const st = new MemStorage();
    st.setItem(SESSION_KEY, JSON.stringify({ accessToken: "a", refreshToken: "r", expiresAt: 100_000 }));
    expect(currentAccessToken(st, 0)).toBe("a");
    expect(currentAccessToken(st, 90_000)).toBeNull();
  });

  it("passwordProblems mirrors the server rules", () => {
    expect(passwordProblems("SecurePass123!")).toEqual([]);
    expect(passwordProblems("한글비밀번호1!")).toEqual([]);
    expect(passwordProblems("short1!")).toEqual(["8자 이상"]);
    expect(passwordProblems("abcdefgh")).toEqual(["숫자", "특수문자"]);
    expect(passwordProblems("12345678")).toEqual(["영문자", "특수문자"]);
  });
});

describe("FavoritesStore", () => {
  it("toggles through the API and follows its answers", async () => {
    const { client, server } = setup();
    await client.login("a@example.com", "SecurePass123!");
    const favs = new FavoritesStore(client);
    await favs.ensure();
    expect(get(favs.list)).toEqual([]);
    expect(await favs.toggle("C7", 7)).toBe(true);
    expect(get(favs.list).map((f) => f.companyId)).toEqual([7]);
    expect(server.favorites).toHaveLength(1);
    expect(await favs.toggle("C7", 7)).toBe(false);
    expect(get(favs.list)).toEqual([]);
    expect(server.favorites).toHaveLength(0);
  });

  it("several stars loading at once make one request", async () => {
    const { client, server } = setup();
    await client.login("a@example.com", "SecurePass123!");
    const favs = new FavoritesStore(client);
    await Promise.all([favs.ensure(), favs.ensure(), favs.ensure()]);
    expect(server.calls.filter((c) => c === "GET /api/v1/users/favorites")).toHaveLength(1);
  });

  it("is empty when logged out, without calling the server", async () => {
    const { client, server } = setup();
    const favs = new FavoritesStore(client);
    expect(await favs.load()).toEqual([]);
    expect(server.calls).toEqual([]);
  });
});

describe("saved layouts", () => {
  it("collects every named layout with the current one first and applies the server copy", () => {
    const st = new MemStorage();
    st.setItem(LAYOUT_PREFIX + "기본", JSON.stringify(defaultLayout()));
    st.setItem(LAYOUT_PREFIX + "old", JSON.stringify(defaultLayout()));
    st.setItem(CURRENT_KEY, "기본");
    const doc = collectLayouts(st);
    expect(doc.current).toBe("기본");
    expect(Object.keys(doc.layouts).sort()).toEqual(["old", "기본"]);
    applySavedLayouts(st, { current: "반도체", layouts: { 반도체: { ...defaultLayout(), size: 3 } } });
    expect(st.getItem(LAYOUT_PREFIX + "old")).toBeNull();
    expect(JSON.parse(st.getItem(LAYOUT_PREFIX + "반도체")!).size).toBe(3);
    expect(st.getItem(CURRENT_KEY)).toBe("반도체");
  });

  it("never sends more layouts than the server keeps", () => {
    const st = new MemStorage();
    for (let i = 0; i < 30; i++) st.setItem(`${LAYOUT_PREFIX}l${i}`, JSON.stringify(defaultLayout()));
    st.setItem(CURRENT_KEY, "l29");
    const doc = collectLayouts(st);
    expect(Object.keys(doc.layouts)).toHaveLength(MAX_SAVED_LAYOUTS);
    expect(doc.layouts.l29).toBeDefined();
  });
});

describe("applyTick", () => {
  it("updates a symbol's live price and ignores older ticks", () => {
    const t = (price: number, ts: string) => ({ type: "tick" as const, symbol: "005930", price, volume: 1, change: 100, changePercent: 0.1, timestamp: ts, source: "sim" });
    let p = applyTick({}, t(71_000, "2026-12-02T00:00:01.000Z"));
    p = applyTick(p, t(70_900, "2026-12-02T00:00:00.000Z"));
    expect(p["005930"]?.price).toBe(71_000);
  });
});
