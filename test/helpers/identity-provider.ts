// The tests' identity provider (the demo's, demo/identity-provider.ts) as a child process that can
// be stopped and started again on the same port, and the calls a test makes to it as a client.
import type { Page } from 'playwright-core';
import { startIdentityProvider, type IdentityProviderProcess } from '../../launcher/identity-provider.js';

import { PROVIDER_CLIENTS } from '../../demo/identity-provider.js';

/** The provider's clients: `app` gets tokens for itself (client_credentials, tenant acme); `introspector` is meshgate's own; `console` the gateway's login. */
export const IDP_CLIENTS = PROVIDER_CLIENTS;

const basic = (c: { id: string; secret: string }) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;

export class IdentityProvider {
  private proc: IdentityProviderProcess | undefined;

  constructor(
    readonly port: number,
    private readonly logFile?: string,
    /** The browser login's callback URLs, and where a logout may return to. */
    private readonly redirects: { readonly login: readonly string[]; readonly logout: readonly string[] } = { login: [], logout: [] },
  ) {}

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get introspectionEndpoint(): string {
    return `${this.issuer}/token/introspection`;
  }

  async start(): Promise<this> {
    this.proc = await startIdentityProvider({ port: this.port, loginRedirects: this.redirects.login, logoutRedirects: this.redirects.logout, ...(this.logFile ? { logFile: this.logFile } : {}) });
    return this;
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }

  /** An opaque access token for the app client (client_credentials). */
  async token(scope = 'models:read'): Promise<string> {
    const res = await fetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic(IDP_CLIENTS.app), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`no token from the provider: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  /** RFC 7009 revocation, by the client the token was issued to. */
  async revoke(token: string): Promise<void> {
    const res = await fetch(`${this.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic(IDP_CLIENTS.app), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    if (!res.ok) throw new Error(`revocation: HTTP ${res.status}`);
  }

  async stats(): Promise<{ introspections: number; maxInFlight: number; inFlight: number }> {
    return (await fetch(`${this.issuer}/_stats`)).json() as Promise<{ introspections: number; maxInFlight: number; inFlight: number }>;
  }

  async resetStats(): Promise<void> {
    await fetch(`${this.issuer}/_stats/reset`, { method: 'POST' });
  }
}

/**
 * A browser's login at the provider: open `url` (behind the gateway's login), log in as `who` on
 * the provider's page (any password), consent the first time, and be back at `url`.
 */
export async function logInInBrowser(page: Page, url: string, issuer: string, who: string): Promise<void> {
  await page.goto(url, { timeout: 15_000 });
  await page.waitForURL((u) => u.origin === issuer, { timeout: 15_000 });
  await page.fill('input[name="login"]', who);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  // The consent page, the first time a person logs in to the client.
  await page.waitForURL((u) => u.origin === issuer && !u.pathname.includes('/login'), { timeout: 15_000 }).catch(() => undefined);
  if (new URL(page.url()).origin === issuer) await page.click('button[type="submit"]');
  await page.waitForURL(url, { timeout: 15_000 });
}
