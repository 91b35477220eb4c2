// Where the response cache keeps answers: in this process (least recently used first out,
// bounded in bytes and by age), or on Redis (shared by every processor; its own memory policy,
// a TTL per key). A Redis that does not answer in time is a miss, never a wait or an error: the
// cache only ever saves work.
import type { Redis } from 'ioredis';

export interface CacheStore {
  /** A Buffer, undefined (a miss), or a promise of either (Redis). */
  get(key: string): Buffer | undefined | Promise<Buffer | undefined>;
  set(key: string, value: Buffer): void;
  readonly kind: 'memory' | 'redis';
  /** Entries and bytes held (memory only). */
  stats(): { entries: number; bytes: number } | undefined;
  close(): Promise<void>;
}

export interface CacheBounds {
  readonly ttlMs: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
}

export class MemoryStore implements CacheStore {
  readonly kind = 'memory' as const;
  // A Map iterates in insertion order: deleting and re-adding on a hit keeps it least-recent first.
  private readonly entries = new Map<string, { value: Buffer; expires: number }>();
  private bytes = 0;

  constructor(
    private readonly b: CacheBounds,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expires <= this.now()) {
      this.bytes -= e.value.length;
      return undefined;
    }
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.b.maxEntryBytes || value.length > this.b.maxBytes) return;
    const had = this.entries.get(key);
    if (had) {
      this.entries.delete(key);
      this.bytes -= had.value.length;
    }
    this.entries.set(key, { value, expires: this.now() + this.b.ttlMs });
    this.bytes += value.length;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.b.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.value.length;
    }
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }
}

const PREFIX = 'meshgate:llm-cache:';

export class RedisStore implements CacheStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly client: Redis,
    private readonly b: CacheBounds,
    private readonly timeoutMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  get(key: string): Promise<Buffer | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.timeoutMs)));
    const asked = this.client.getBuffer(PREFIX + key).then(
      (v) => v ?? undefined,
      (err: Error) => {
        this.onError(err);
        return undefined;
      },
    );
    return Promise.race([asked, late]).finally(() => clearTimeout(timer));
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.b.maxEntryBytes) return;
    this.client.set(PREFIX + key, value, 'PX', this.b.ttlMs).catch((err: Error) => this.onError(err));
  }

  stats(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
