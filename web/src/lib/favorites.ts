// The logged-in user's favorites: loaded once per login, kept in a store that every star reads,
// changed through the API (the store follows the server's answer, never guesses).

import { get, writable, type Readable } from "svelte/store";
import type { components } from "./api-schema";
import type { AuthClient } from "./auth";

export type FavoriteRow = components["schemas"]["FavoriteOut"];

export class FavoritesStore {
  private readonly rows = writable<FavoriteRow[]>([]);
  readonly list: Readable<FavoriteRow[]> = { subscribe: this.rows.subscribe };
  private loaded = false;
  private loading: Promise<FavoriteRow[]> | null = null;

  constructor(private readonly auth: AuthClient) {}

  async load(): Promise<FavoriteRow[]> {
    if (!this.auth.loggedIn) {
      this.clear();
      return [];
    }
    const rows = await this.auth.request<FavoriteRow[]>("GET", "/api/v1/users/favorites");
    this.rows.set(rows);
    this.loaded = true;
    return rows;
  }

  /** Load unless loaded already in this session; every star on a page shares one request. */
  async ensure(): Promise<void> {
    if (this.loaded) return;
    this.loading ??= this.load().finally(() => (this.loading = null));
    await this.loading;
  }

  clear(): void {
    this.rows.set([]);
    this.loaded = false;
  }

  byCode(code: string): FavoriteRow | undefined {
    return get(this.rows).find((f) => f.company?.code === code);
  }

  async add(companyId: number): Promise<FavoriteRow> {
    const row = await this.auth.request<FavoriteRow>("POST", "/api/v1/users/favorites", { companyId });
    this.rows.update((rs) => [...rs.filter((r) => r.favoriteId !== row.favoriteId), row]);
    return row;
  }

  async remove(favoriteId: number): Promise<void> {
    await this.auth.request("DELETE", `/api/v1/users/favorites/${favoriteId}`);
    this.rows.update((rs) => rs.filter((r) => r.favoriteId !== favoriteId));
  }

  /** Star or un-star a company; returns whether it is a favorite afterwards. */
  async toggle(code: string, companyId: number): Promise<boolean> {
    const existing = this.byCode(code);
    if (existing) {
      await this.remove(existing.favoriteId);
      return false;
    }
    await this.add(companyId);
    return true;
  }
}

let shared: FavoritesStore | null = null;

export function favoritesFor(auth: AuthClient): FavoritesStore {
  if (!shared) shared = new FavoritesStore(auth);
  return shared;
}
