// HTTP Basic (RFC 7617) against scrypt password hashes.
// - Parsing is strict: canonical base64 (RFC 4648 §4, padding and zero pad bits), UTF-8, a
//   non-empty user-id before the first colon, no control characters.
// - An unknown user costs the same scrypt work as a known one, so response times do not tell
//   which user names exist.
// - Outcomes are remembered for a minute, keyed by an HMAC of the credentials under a key made
//   at start (so the map holds nothing a memory dump could turn into a password guess faster
//   than scrypt): a valid user pays the KDF once a minute, not per request, and the same wrong
//   password tried again costs a lookup. A remembered failure answers faster than a first one,
//   but says only what the caller already knows — that exact pair failed a moment ago — and it
//   is the same for known and unknown users. Both are dropped with the policy (a new instance).
// - The same credentials checked concurrently share one KDF run; the KDF itself runs in the
//   process's FairPool (bounded, cancellable, apart from JWT and API keys), taken in turn per
//   client address: keyed by user name instead, a flood of guesses at one name would shut out
//   that very user's correct login.
import { createHmac, randomBytes } from 'node:crypto';
import type { CallContext } from '../../shared/grpc/unary-server.js';
import type { Identity } from '../identity.js';
import type { CheckAttributes } from '../request.js';
import { authorizationWith, type Credential, type Verification } from './credential.js';
import { sharedKdfPool, type FairPool } from './fair-pool.js';
import { constantTimeEqual, parsePasswordHash, verifyPassword, type PasswordHash, type SecretComparator } from './secrets.js';

export interface BasicSpec {
  readonly realm: string;
  readonly users: ReadonlyArray<{ username: string; password_hash: string; subject?: string; tenant?: string; plan?: string; scopes: string[] }>;
}

const MAX_HEADER = 1024;
const REMEMBER_MS = 60_000;
const REMEMBER_MAX = 10_000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The user-id and password of a Basic credential, or why it is malformed. */
export function parseBasic(raw: string): { username: string; password: string } | string {
  if (raw.length === 0 || !BASE64.test(raw)) return 'the Basic credentials are not base64';
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.toString('base64') !== raw) return 'the Basic credentials are not canonical base64'; // non-zero pad bits
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return 'the Basic credentials are not UTF-8';
  }
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'the Basic credentials are malformed';
  if (CONTROL.test(decoded)) return 'the Basic credentials contain control characters';
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

type Outcome = { readonly identity: Identity | undefined; readonly until: number };

export class BasicCredential implements Credential {
  readonly kind = 'basic' as const;
  readonly challenge: string;
  readonly carriers = { headers: [] as string[], query: [] as string[] };
  private readonly users = new Map<string, { hash: PasswordHash; identity: Identity }>();
  private readonly decoy: PasswordHash;
  private readonly cacheKey = randomBytes(32);
  private readonly remembered = new Map<string, Outcome>();
  private readonly inflight = new Map<string, Promise<Verification>>();

  /** Throws with a reason naming the user when a password hash cannot be used. */
  constructor(
    spec: BasicSpec,
    private readonly compare: SecretComparator = constantTimeEqual,
    private readonly now: () => number = Date.now,
    private readonly kdf: FairPool = sharedKdfPool,
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

  async verify(raw: string, req?: CheckAttributes, call?: CallContext): Promise<Verification> {
    if (raw.length > MAX_HEADER) return { ok: false, reason: 'the Basic credentials are too large' };
    const parsed = parseBasic(raw);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    const key = createHmac('sha256', this.cacheKey).update(parsed.username).update('\0').update(parsed.password).digest('base64');
    const hit = this.remembered.get(key);
    if (hit && hit.until > this.now()) return verdict(hit.identity);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.check(parsed.username, parsed.password, key, req?.source || `user:${parsed.username}`, call).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const v = await pending;
    // Shared with a caller who gave up: this one has not, so it checks for itself.
    if (v === ABANDONED && !call?.cancelled) return this.verify(raw, req, call);
    return v;
  }

  private async check(username: string, password: string, key: string, client: string, call: CallContext | undefined): Promise<Verification> {
    const user = this.users.get(username);
    const outcome = await this.kdf.run(client, () => verifyPassword(password, user?.hash ?? this.decoy, this.compare), call);
    if (!outcome.ran) {
      return outcome.why === 'busy' ? { ok: false, reason: 'too many password checks are waiting; try again shortly' } : ABANDONED;
    }
    const identity = outcome.value && user ? user.identity : undefined;
    if (this.remembered.size >= REMEMBER_MAX) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, { identity, until: this.now() + REMEMBER_MS });
    return verdict(identity);
  }
}

const ABANDONED: Verification = Object.freeze({ ok: false, reason: 'the check was abandoned by its caller' });

function verdict(identity: Identity | undefined): Verification {
  return identity ? { ok: true, identity } : { ok: false, reason: 'the user name or password is wrong' };
}
