// Login state and authenticated requests: tokens in localStorage (shared by the tabs of one
// browser), the access token renewed shortly before it expires and once more on a 401, with one
// refresh at a time across tabs — a refresh token is single-use, and presenting a spent one
// makes the server end the whole session.

import { writable, type Readable } from "svelte/store";
import { ApiError, unwrap, unwrapEnvelope, type Envelope } from "./api";
import type { components } from "./api-schema";

type Schemas = components["schemas"];
export type Me = Schemas["UserOut"];
type TokenOut = Schemas["TokenOut"];

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** ms since the epoch (client clock) when the access token expires */
  expiresAt: number;
}

type Store = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export interface AuthOptions {
  fetch?: typeof fetch;
  storage?: Store;
  now?: () => number;
  /** Runs `fn` while holding a lock shared by every tab (navigator.locks where available). */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export const SESSION_KEY = "aegis.auth.session";
/** Keys of the token stores that pages kept before there was one session (comparisons, 모의투자):
 * removed on start, so that a token left there by an older build is never sent. */
export const LEGACY_KEYS = ["aegis.accessToken"] as const;
/** Renew this long before expiry, so that a request never leaves with a token about to lapse. */
export const RENEW_BEFORE_MS = 30_000;

function browserLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? (locks.request("aegis-auth-refresh", fn) as Promise<T>) : fn();
}

export function parseSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<Session>;
    if (typeof v.accessToken === "string" && typeof v.refreshToken === "string" && typeof v.expiresAt === "number") {
      return { accessToken: v.accessToken, refreshToken: v.refreshToken, expiresAt: v.expiresAt };
    }
  } catch {
    // corrupt entry: treated as logged out
  }
  return null;
}

/** The stored access token while it is still valid (synchronous: for the WebSocket handshake). */
export function currentAccessToken(storage: Pick<Storage, "getItem">, now = Date.now()): string | null {
  const s = parseSession(storage.getItem(SESSION_KEY));
  return s && s.expiresAt - now > RENEW_BEFORE_MS ? s.accessToken : null;
}

export class AuthClient {
  private readonly fetch: typeof fetch;
  private readonly storage: Store;
  private readonly now: () => number;
  private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>;
  private refreshing: Promise<Session | null> | null = null;
  private readonly meStore = writable<Me | null>(null);
  private readonly sessionStore = writable<Session | null>(null);
  /** The logged-in user (null when logged out or not loaded yet). */
  readonly me: Readable<Me | null> = { subscribe: this.meStore.subscribe };
  readonly session: Readable<Session | null> = { subscribe: this.sessionStore.subscribe };

  constructor(opts: AuthOptions = {}) {
    this.fetch = opts.fetch ?? ((...a) => fetch(...a));
    this.storage = opts.storage ?? localStorage;
    this.now = opts.now ?? (() => Date.now());
    this.lock = opts.lock ?? browserLock;
    for (const k of LEGACY_KEYS) this.storage.removeItem(k);
    this.sessionStore.set(this.stored());
  }

  private stored(): Session | null {
    return parseSession(this.storage.getItem(SESSION_KEY));
  }

  private save(s: Session | null): void {
    if (s) this.storage.setItem(SESSION_KEY, JSON.stringify(s));
    else this.storage.removeItem(SESSION_KEY);
    this.sessionStore.set(s);
    if (!s) this.meStore.set(null);
  }

  /** Another tab logged in, out or refreshed. */
  syncFromStorage(): void {
    const s = this.stored();
    this.sessionStore.set(s);
    if (!s) this.meStore.set(null);
  }

  get loggedIn(): boolean {
    return this.stored() !== null;
  }

  private fromWire(t: TokenOut): Session {
    return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: this.now() + t.expiresIn * 1000 };
  }

  private async post<T>(path: string, body: unknown, token?: string): Promise<T> {
    let res: Response;
    try {
      res = await this.fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body ?? {}),
      });
    } catch {
      throw new ApiError(0, "NETWORK", "서버에 연결할 수 없습니다");
    }
    return unwrap<T>(res);
  }

  async signup(email: string, username: string, password: string): Promise<number> {
    const data = await this.post<{ userId: number }>("/api/v1/users/signup", { email, username, password });
    return data.userId;
  }

  async login(email: string, password: string): Promise<Me> {
    const t = await this.post<TokenOut>("/api/v1/users/login", { email, password });
    this.save(this.fromWire(t));
    return this.loadMe();
  }

  /** Ends the session on the server (best effort) and here. */
  async logout(): Promise<void> {
    const s = this.stored();
    this.save(null);
    if (s) {
      try {
        await this.post("/api/v1/users/logout", {}, s.accessToken);
      } catch {
        // expired or offline: the tokens are gone from this browser either way
      }
    }
  }

  /** Every other session of the user ends; this one continues with the new tokens. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    const t = await this.request<TokenOut>("POST", "/api/v1/users/me/password", { currentPassword, newPassword });
    this.save(this.fromWire(t));
  }

  async loadMe(): Promise<Me> {
    const me = await this.request<Me>("GET", "/api/v1/users/me");
    this.meStore.set(me);
    return me;
  }

  /** A valid access token, renewed first when it is about to expire; null when logged out. */
  async accessToken(): Promise<string | null> {
    const s = this.stored();
    if (!s) return null;
    if (s.expiresAt - this.now() > RENEW_BEFORE_MS) return s.accessToken;
    return (await this.refresh(s.refreshToken))?.accessToken ?? null;
  }

  /** One refresh at a time (in this tab and across tabs). `spent` is the refresh token the caller
   * saw: if another tab rotated it meanwhile, its result is used instead of spending it again. */
  refresh(spent: string): Promise<Session | null> {
    if (!this.refreshing) {
      this.refreshing = this.lock(async () => {
        const current = this.stored();
        if (!current) return null;
        if (current.refreshToken !== spent) return current; // rotated by another tab
        try {
          const t = await this.post<TokenOut>("/api/v1/users/refresh", { refreshToken: current.refreshToken });
          const next = this.fromWire(t);
          this.save(next);
          return next;
        } catch (e) {
          // 4xx: the refresh token is spent, revoked, expired, from another server or malformed —
          // the session is over. Network trouble and 5xx keep it for the next attempt.
          if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
            this.save(null);
            return null;
          }
          throw e;
        }
      }).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** An authenticated request: on 401 the token is refreshed once and the request repeated; when
   * that fails too the stale session is dropped (logged-out state) and a 401 ApiError thrown. */
  async fetchAuthed(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const send = async (token: string): Promise<Response> => {
      try {
        return await this.fetch(path, {
          method,
          signal,
          headers: {
            Accept: "application/json",
            Authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (e) {
        if ((e as Error).name === "AbortError") throw e;
        throw new ApiError(0, "NETWORK", "서버에 연결할 수 없습니다");
      }
    };
    const token = await this.accessToken();
    if (!token) throw new ApiError(401, "UNAUTHORIZED", "로그인이 필요합니다");
    let res = await send(token);
    if (res.status === 401) {
      const s = this.stored();
      const renewed = s ? await this.refresh(s.refreshToken) : null;
      if (!renewed) {
        this.save(null);
        throw new ApiError(401, "UNAUTHORIZED", "로그인이 만료되었습니다. 다시 로그인해 주세요.");
      }
      res = await send(renewed.accessToken);
      if (res.status === 401) {
        // a fresh token refused: the account is gone or its tokens were revoked meanwhile
        this.save(null);
        throw new ApiError(401, "UNAUTHORIZED", "로그인이 만료되었습니다. 다시 로그인해 주세요.");
      }
    }
    return res;
  }

  /** An authenticated API call returning the envelope's data. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return unwrap<T>(await this.fetchAuthed(method, path, body, signal));
  }

  /** An authenticated API call returning the whole envelope (data and meta, e.g. paging). */
  async requestEnvelope<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Envelope<T>> {
    return unwrapEnvelope<T>(await this.fetchAuthed(method, path, body, signal));
  }
}

let shared: AuthClient | null = null;

/** The app's one AuthClient (kept in step with other tabs through the storage event). */
export function auth(): AuthClient {
  if (!shared) {
    const client = new AuthClient();
    shared = client;
    if (typeof window !== "undefined") {
      window.addEventListener("storage", (e) => {
        if (e.key === SESSION_KEY) client.syncFromStorage();
      });
    }
  }
  return shared;
}

/** Password rules of the server (checked there too), for immediate feedback in forms. */
export function passwordProblems(pw: string): string[] {
  const out: string[] = [];
  if (pw.length < 8) out.push("8자 이상");
  if (!/\p{L}/u.test(pw)) out.push("영문자");
  if (!/\d/.test(pw)) out.push("숫자");
  if (!/[^\p{L}\d\s]/u.test(pw)) out.push("특수문자");
  return out;
}
