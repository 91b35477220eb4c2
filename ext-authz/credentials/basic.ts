// HTTP Basic against scrypt password hashes. An unknown user costs the same scrypt work as a
// known one, so response times do not tell which user names exist. Successful checks are
// remembered briefly (by a digest of the credentials), so Basic stays cheap on a hot path.
import { createHash } from 'node:crypto';
import type { Identity } from '../identity.js';
import type { CheckAttributes } from '../request.js';
import { authorizationWith, type Credential, type Verification } from './credential.js';
import { constantTimeEqual, parsePasswordHash, verifyPassword, type PasswordHash, type SecretComparator } from './secrets.js';

export interface BasicSpec {
  readonly realm: string;
  readonly users: ReadonlyArray<{ username: string; password_hash: string; subject?: string; tenant?: string; plan?: string; scopes: string[] }>;
}

const MAX_HEADER = 1024;
const REMEMBER_MS = 60_000;
const REMEMBER_MAX = 1_000;

export class BasicCredential implements Credential {
  readonly kind = 'basic' as const;
  readonly challenge: string;
  readonly carriers = { headers: [] as string[], query: [] as string[] };
  private readonly users = new Map<string, { hash: PasswordHash; identity: Identity }>();
  private readonly decoy: PasswordHash;
  private readonly remembered = new Map<string, { identity: Identity; until: number }>();

  /** Throws with a reason naming the user when a password hash cannot be used. */
  constructor(
    spec: BasicSpec,
    private readonly compare: SecretComparator = constantTimeEqual,
    private readonly now: () => number = Date.now,
  ) {
    this.challenge = `Basic realm="${spec.realm}", charset="UTF-8"`;
    spec.users.forEach((u, i) => {
      const hash = parsePasswordHash(u.password_hash);
      if (typeof hash === 'string') throw new Error(`users[${i}].password_hash: ${hash}`);
      if (this.users.has(u.username)) throw new Error(`users[${i}].username: ${u.username} is listed twice`);
      this.users.set(u.username, {
        hash,
        identity: Object.freeze({
          subject: u.subject ?? u.username,
          ...(u.tenant ? { tenant: u.tenant } : {}),
          ...(u.plan ? { plan: u.plan } : {}),
          scopes: Object.freeze([...u.scopes]),
          credential: 'basic' as const,
        }),
      });
    });
    const first = this.users.values().next().value!.hash;
    this.decoy = { ...first, hash: Buffer.alloc(first.hash.length) };
  }

  find(req: CheckAttributes): string | undefined {
    return authorizationWith(req, 'Basic');
  }

  async verify(raw: string): Promise<Verification> {
    if (raw.length > MAX_HEADER) return { ok: false, reason: 'the Basic credentials are too large' };
    const decoded = Buffer.from(raw, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { ok: false, reason: 'the Basic credentials are malformed' };
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = createHash('sha256').update(decoded).digest('hex');
    const hit = this.remembered.get(key);
    if (hit && hit.until > this.now()) return { ok: true, identity: hit.identity };
    const user = this.users.get(username);
    const ok = await verifyPassword(password, user?.hash ?? this.decoy, this.compare);
    if (!ok || !user) return { ok: false, reason: 'the user name or password is wrong' };
    if (this.remembered.size >= REMEMBER_MAX) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, { identity: user.identity, until: this.now() + REMEMBER_MS });
    return { ok: true, identity: user.identity };
  }
}
