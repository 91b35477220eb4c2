// Revoked token ids, shared by every ext-authz replica: one Consul KV key per revoked `jti` under
// a prefix (meshgate/authz/revoked/ by default), its value the token's `exp`, watched with a
// blocking query, so a revocation at any replica (POST /oauth/revoke) is refused by all within
// the watch's round trip. An entry whose token has expired anyway is dropped (and its key
// deleted). Without Consul the list is this process's own.
import type { Logger } from 'pino';
import { BlockingQuery } from '../../shared/consul/blocking-query.js';
import type { ConsulClient, ConsulKvEntry } from '../../shared/consul/client.js';

export const DEFAULT_REVOCATIONS_PREFIX = 'meshgate/authz/revoked/';
/** A bound on the list, whatever the store holds: past it the soonest-expiring entries are kept out. */
const MAX_REVOKED = 100_000;
const JTI = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RevocationCheck {
  has(jti: string): boolean;
}

export class Revocations implements RevocationCheck {
  private revoked = new Map<string, number>();
  private query: BlockingQuery<ConsulKvEntry[]> | undefined;

  constructor(
    private readonly consul: ConsulClient | undefined,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): this {
    if (!this.consul) return this;
    const consul = this.consul;
    this.query = new BlockingQuery({
      name: 'revocations',
      fetch: (index, wait, signal) => consul.kvPrefix(this.prefix, index, wait, signal),
      onData: (entries) => this.read(entries),
      onError: (err, failures) => {
        if (failures === 1 || failures % 10 === 0) this.log.warn({ err: err.message, failures }, 'cannot watch revoked tokens; the last list stays');
      },
    }).start();
    return this;
  }

  stop(): void {
    this.query?.stop();
  }

  has(jti: string): boolean {
    const exp = this.revoked.get(jti);
    return exp !== undefined && exp * 1000 > this.now();
  }

  /** Revoke a token id until its exp (seconds); at once here, and for every replica through Consul. */
  async revoke(jti: string, exp: number): Promise<void> {
    if (!JTI.test(jti)) throw new Error('not a token id');
    this.revoked.set(jti, exp);
    await this.consul?.consul.kv.set(`${this.prefix}${jti}`, String(exp));
  }

  private read(entries: ReadonlyArray<{ Key: string; Value: string | null }>): void {
    const nowS = this.now() / 1000;
    const next = new Map<string, number>();
    for (const e of entries) {
      const jti = e.Key.slice(this.prefix.length);
      const exp = Number(e.Value);
      if (!JTI.test(jti) || !Number.isFinite(exp)) continue;
      if (exp <= nowS) {
        // Expired anyway: nobody needs the entry any more.
        void this.consul?.consul.kv.del(e.Key).catch(() => undefined);
        continue;
      }
      if (next.size < MAX_REVOKED) next.set(jti, exp);
    }
    // What this replica revoked a moment ago stays even if the watch has not brought it back yet.
    for (const [jti, exp] of this.revoked) if (!next.has(jti) && exp > nowS && next.size < MAX_REVOKED) next.set(jti, exp);
    this.revoked = next;
  }
}
