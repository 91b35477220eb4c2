// Signing keys from a JWKS URL. Fetched on first use and again by the first request once
// `refreshMs` has passed — that request waits for the new set, so a removed key is refused from
// the first request after the refresh; a token with an unknown `kid` triggers one refetch, at
// most once per `minRefetchMs` (so a rotated key works at once, but garbage tokens cannot
// hammer the identity provider). When the provider is down the last keys stay in use, and it
// is asked again at most once per `minRefetchMs`. `version` changes whenever the set of keys
// does, so that what was verified with an older set can be verified again.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface JwksCacheOptions {
  readonly refreshMs: number;
  readonly minRefetchMs: number;
  readonly timeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
  readonly onFetch?: (uri: string, result: 'ok' | 'error', detail?: string) => void;
}

export interface JwksStatus {
  readonly uri: string;
  readonly keys: number;
  readonly kids: string[];
  readonly fetched_at: string | null;
  readonly fetches: number;
  readonly last_error: string | null;
}

export class JwksCache {
  private keySet: JWTVerifyGetKey | undefined;
  private kids: string[] = [];
  private fetchedAt = 0;
  /** The served keys as text, to tell a changed set from the same one fetched again. */
  private keysText = '';
  /** Bumped whenever the key set changes. */
  version = 0;
  /** After a failed fetch: no new attempt before this. */
  private retryAt = Number.NEGATIVE_INFINITY;
  /** When an unknown kid last caused a refetch: the floor applies between those. */
  private lastUnknownKidFetch = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private lastError: string | undefined;
  private fetches = 0;

  constructor(
    readonly uri: string,
    private readonly options: JwksCacheOptions,
  ) {}

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** jose's key resolver. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const refreshing = this.ensureFresh();
    if (refreshing) await refreshing;
    if (!this.keySet) throw new errors.JWKSNoMatchingKey(`signing keys from ${this.uri} are not available${this.lastError ? `: ${this.lastError}` : ''}`);
    try {
      return await this.keySet(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || this.now() - this.lastUnknownKidFetch < this.options.minRefetchMs) throw err;
      this.lastUnknownKidFetch = this.now();
      await this.refresh();
      return await this.keySet(header, token);
    }
  };

  /**
   * Fetches when there are no keys yet or they are older than `refreshMs` (unless a failed
   * fetch is too recent). Undefined when nothing is to be waited for: the common case costs no
   * promise.
   */
  ensureFresh(): Promise<void> | undefined {
    const now = this.now();
    if (this.keySet && now - this.fetchedAt <= this.options.refreshMs) return undefined;
    if (now < this.retryAt) return undefined;
    return this.refresh();
  }

  /** Fetch now (concurrent callers share one fetch). Keeps the old keys if it fails. */
  refresh(): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.fetchKeys().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  status(): JwksStatus {
    return {
      uri: this.uri,
      keys: this.kids.length,
      kids: this.kids,
      fetched_at: this.fetchedAt ? new Date(this.fetchedAt).toISOString() : null,
      fetches: this.fetches,
      last_error: this.lastError ?? null,
    };
  }

  private async fetchKeys(): Promise<void> {
    this.fetches += 1;
    const fetchFn = this.options.fetch ?? globalThis.fetch;
    try {
      const res = await fetchFn(this.uri, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 3_000), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as JSONWebKeySet;
      if (!body || !Array.isArray(body.keys)) throw new Error('the answer is not a JWKS (no "keys" array)');
      const text = JSON.stringify(body.keys);
      if (text !== this.keysText) {
        this.keySet = createLocalJWKSet(body);
        this.keysText = text;
        this.version += 1;
      }
      this.kids = body.keys.map((k) => String(k.kid ?? '')).filter(Boolean);
      this.fetchedAt = this.now();
      this.retryAt = Number.NEGATIVE_INFINITY;
      this.lastError = undefined;
      this.options.onFetch?.(this.uri, 'ok');
    } catch (err) {
      this.retryAt = this.now() + this.options.minRefetchMs;
      this.lastError = (err as Error).message;
      this.options.onFetch?.(this.uri, 'error', this.lastError);
    }
  }
}

/** JWKS caches shared by URI, so that reloading policies does not refetch every key set. */
export class JwksRegistry {
  private readonly caches = new Map<string, JwksCache>();

  constructor(private readonly defaults: Omit<JwksCacheOptions, 'refreshMs' | 'minRefetchMs'> = {}) {}

  get(uri: string, refreshMs: number, minRefetchMs: number): JwksCache {
    const key = `${uri} ${refreshMs} ${minRefetchMs}`;
    let cache = this.caches.get(key);
    if (!cache) {
      cache = new JwksCache(uri, { ...this.defaults, refreshMs, minRefetchMs });
      this.caches.set(key, cache);
    }
    return cache;
  }

  status(): JwksStatus[] {
    return [...this.caches.values()].map((c) => c.status());
  }
}
