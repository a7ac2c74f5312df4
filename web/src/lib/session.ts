// The logged-in user's access token for pages that need one (comparisons), kept in localStorage.

import { ApiError } from "./api";

const KEY = "aegis.accessToken";

export function accessToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setAccessToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // private mode: the session lasts as long as the page
  }
}

/** JSON request with the bearer token; error envelopes become ApiError (401 clears the token). */
export async function authed<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK", "서버에 연결할 수 없습니다");
  }
  const json = (await res.json().catch(() => null)) as { data?: T; code?: string; message?: string } | null;
  if (!res.ok) {
    if (res.status === 401) setAccessToken(null);
    throw new ApiError(res.status, json?.code ?? "HTTP_ERROR", json?.message ?? `HTTP ${res.status}`);
  }
  return json?.data as T;
}

export async function login(email: string, password: string): Promise<void> {
  const data = await authed<{ accessToken: string }>("POST", "/api/v1/users/login", { email, password });
  setAccessToken(data.accessToken);
}
