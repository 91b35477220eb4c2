// The demo's OpenID provider (demo/identity-provider.ts) as a process: the demo and the tests
// start it on a port, with the browser login's callback URLs, and wait for its discovery document.
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { distPath } from './repo.js';

export interface IdentityProviderOptions {
  readonly port: number;
  /** The browser login's callback URLs (the console client's redirect URIs). */
  readonly loginRedirects?: readonly string[];
  /** Where a sign-out may return to. */
  readonly logoutRedirects?: readonly string[];
  readonly logFile?: string;
}

export interface IdentityProviderProcess {
  readonly issuer: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startIdentityProvider(o: IdentityProviderOptions): Promise<IdentityProviderProcess> {
  const issuer = `http://127.0.0.1:${o.port}`;
  const args = [
    distPath('demo', 'identity-provider.js'),
    `--port=${o.port}`,
    ...(o.loginRedirects ?? []).map((u) => `--login-redirect=${u}`),
    ...(o.logoutRedirects ?? []).map((u) => `--logout-redirect=${u}`),
  ];
  const proc = startProcess('oidc-provider', process.execPath, { args, ...(o.logFile ? { logFile: o.logFile } : {}) });
  await waitServing(proc, 'the identity provider to answer its discovery document', async () => (await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined))?.ok === true, {
    timeoutMs: 15_000,
    intervalMs: 50,
  });
  return { issuer, process: proc, stop: () => proc.stop('SIGTERM', 3_000) };
}
