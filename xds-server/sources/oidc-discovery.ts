// OpenID Connect discovery for the browser logins: each issuer the resolved mesh wants is read
// at ISSUER/.well-known/openid-configuration, its answer checked (the issuer it names is the one
// asked, the endpoints are http(s) URLs), and handed to the mesh. Read again every `refreshMs`,
// and after a failure with a growing back-off; a failure keeps the last good document (a login
// that never had one stays closed, with the reason among the problems).
import type { Logger } from 'pino';
import { z } from 'zod';
import { fetchText } from '../../shared/fetch-text.js';
import { backoffDelay } from '../../shared/consul/backoff.js';
import { describeIssues } from '../../shared/validate/zod.js';
import type { LoginProvider, LoginSink } from '../model/mesh.js';

const MAX_DOCUMENT_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
const RETRY = { baseMs: 1_000, maxMs: 60_000 };

const httpUrl = z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL');
const discoveryDocument = z.object({
  issuer: z.string(),
  authorization_endpoint: httpUrl,
  token_endpoint: httpUrl,
  end_session_endpoint: httpUrl.optional(),
  jwks_uri: httpUrl.optional(),
});

/** A discovery document read as a login needs it, or why not. */
export function parseDiscovery(issuer: string, text: string, now: Date): { ok: true; provider: LoginProvider } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the discovery document is not JSON' };
  }
  const r = discoveryDocument.safeParse(raw);
  if (!r.success) return { ok: false, reason: `the discovery document: ${describeIssues(r.error)}` };
  // OpenID Connect Discovery 1.0 §4.3: the issuer must be exactly the one asked.
  if (r.data.issuer !== issuer) return { ok: false, reason: `the discovery document names issuer ${JSON.stringify(r.data.issuer)}, not ${issuer}` };
  return {
    ok: true,
    provider: {
      issuer,
      authorizationEndpoint: r.data.authorization_endpoint,
      tokenEndpoint: r.data.token_endpoint,
      ...(r.data.end_session_endpoint ? { endSessionEndpoint: r.data.end_session_endpoint } : {}),
      ...(r.data.jwks_uri ? { jwksUri: r.data.jwks_uri } : {}),
      fetchedAt: now.toISOString(),
    },
  };
}

export interface OidcDiscoveryOptions {
  readonly sink: LoginSink;
  readonly log: Logger;
  readonly refreshMs: number;
}

interface Watch {
  timer: NodeJS.Timeout | undefined;
  failures: number;
}

export class OidcDiscoverySource {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly options: OidcDiscoveryOptions) {}

  /** The issuers wanted now: new ones are read at once, those no longer wanted let go. */
  want(issuers: readonly string[]): void {
    const wanted = new Set(issuers);
    for (const [issuer, w] of this.watches) {
      if (wanted.has(issuer)) continue;
      if (w.timer) clearTimeout(w.timer);
      this.watches.delete(issuer);
      this.options.sink.dropLoginProvider(issuer);
    }
    for (const issuer of wanted) {
      if (this.watches.has(issuer)) continue;
      const w: Watch = { timer: undefined, failures: 0 };
      this.watches.set(issuer, w);
      void this.read(issuer, w);
    }
  }

  stop(): void {
    for (const w of this.watches.values()) if (w.timer) clearTimeout(w.timer);
    this.watches.clear();
  }

  private async read(issuer: string, w: Watch): Promise<void> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const fetched = await fetchText(url, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES);
    if (this.watches.get(issuer) !== w) return;
    const parsed = fetched.ok ? parseDiscovery(issuer, fetched.text, new Date()) : { ok: false as const, reason: `${url}: ${fetched.reason}` };
    let delay: number;
    if (parsed.ok) {
      if (w.failures) this.options.log.info({ issuer }, 'OpenID discovery document read again');
      w.failures = 0;
      this.options.sink.setLoginProvider(parsed.provider);
      delay = this.options.refreshMs;
    } else {
      w.failures++;
      this.options.log.warn({ issuer, reason: parsed.reason, failures: w.failures }, 'OpenID discovery failed: the last good document stays');
      this.options.sink.refuseLoginProvider(issuer, parsed.reason);
      delay = backoffDelay(w.failures, RETRY);
    }
    w.timer = setTimeout(() => void this.read(issuer, w), delay);
    w.timer.unref();
  }
}
