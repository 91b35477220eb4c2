// Browser login, decided once per login entry: the provider's endpoints (from its discovery
// document), the client, the secrets Envoy fetches over SDS, the cookies' SameSite — or why the
// login cannot be had now. A path whose login cannot be had is closed (503), never open.
import type { BrowserLoginEntry } from '../model/config-entries/schema.js';
import type { SecretValue } from '../model/mesh.js';
import type { MeshReader } from './mesh-reader.js';

/** Envoy signs (HMAC-SHA256) and encrypts its session cookies with this key: no shorter. */
export const MIN_HMAC_SECRET_BYTES = 32;
const DEFAULT_SCOPES = ['openid', 'profile', 'email'];

/** The provider's token endpoint, as a cluster of the gateway's own (Envoy posts the code there). */
export interface LoginCluster {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

export interface ResolvedLogin {
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly authorizationEndpoint: string;
  readonly endSessionEndpoint?: string;
  readonly tokenEndpoint: { readonly url: string; readonly cluster: LoginCluster };
  readonly scopes: readonly string[];
  /** SDS resource names: the values never sit in a listener or route. */
  readonly clientSecret: string;
  readonly hmacSecret: string;
  /** Requests carrying one of these skip the login (ext-authz still decides on them). */
  readonly passThroughHeaders: readonly string[];
  readonly sameSite: 'LAX' | 'STRICT';
  /** The secrets it names, for the gateway's SDS resources. */
  readonly secrets: readonly SecretValue[];
}

/** A path's login: in force, or unavailable with the reason (the path answers 503 meanwhile). */
export type PathLogin = { readonly kind: 'login'; readonly login: ResolvedLogin } | { readonly kind: 'unavailable'; readonly name: string; readonly reason: string };

/** The SDS resource a secret is served as. */
export const secretResourceName = (name: string): string => `meshgate-secret/${name}`;

function clusterOf(url: URL): LoginCluster {
  const tls = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { name: `login~${host}:${port}`, host, port, tls };
}

function decide(m: MeshReader, name: string): PathLogin {
  const unavailable = (reason: string): PathLogin => ({ kind: 'unavailable', name, reason });
  const entry: BrowserLoginEntry | undefined = m.login(name);
  if (!entry) return unavailable(`no browser-login entry "${name}"`);
  const client = m.secret(entry.ClientSecret);
  if (!client) return unavailable(`secret "${entry.ClientSecret}" (ClientSecret) is not in the secrets directory`);
  const hmac = m.secret(entry.HmacSecret);
  if (!hmac) return unavailable(`secret "${entry.HmacSecret}" (HmacSecret) is not in the secrets directory`);
  if (hmac.bytes < MIN_HMAC_SECRET_BYTES) return unavailable(`secret "${entry.HmacSecret}" (HmacSecret) has ${hmac.bytes} bytes: at least ${MIN_HMAC_SECRET_BYTES} are needed`);
  const provider = m.loginProvider(entry.Issuer);
  if (!provider) return unavailable(`the discovery document of ${entry.Issuer} has not been read (see the problems)`);
  const scopes = [...new Set(['openid', ...(entry.Scopes ?? DEFAULT_SCOPES)])];
  return {
    kind: 'login',
    login: {
      name,
      issuer: entry.Issuer,
      clientId: entry.ClientId,
      authorizationEndpoint: provider.authorizationEndpoint,
      ...(provider.endSessionEndpoint ? { endSessionEndpoint: provider.endSessionEndpoint } : {}),
      tokenEndpoint: { url: provider.tokenEndpoint, cluster: clusterOf(new URL(provider.tokenEndpoint)) },
      scopes,
      clientSecret: secretResourceName(entry.ClientSecret),
      hmacSecret: secretResourceName(entry.HmacSecret),
      passThroughHeaders: (entry.PassThroughHeaders ?? []).map((h) => h.toLowerCase()),
      sameSite: entry.SameSite === 'Strict' ? 'STRICT' : 'LAX',
      secrets: [client, hmac],
    },
  };
}

/** A login by name, the same object while its entry, secrets and provider are. */
export function pathLogin(m: MeshReader, name: string): PathLogin {
  return m.memo('login', name, () => decide(m, name));
}

/** The issuers whose discovery documents the logins need (the discovery source fetches them). */
export function loginIssuersWanted(m: MeshReader): readonly string[] {
  return m.memo('login-issuers', '', () => [...new Set([...m.logins().values()].map((e) => e.Issuer))].sort());
}
