// Signing keys and tokens for JWT tests, made with jose, and an identity provider's JWKS
// endpoint on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly publicPem: string;
}

export async function testKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

export function jwks(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

export const ISSUER = 'https://idp.test/';
export const AUDIENCE = 'meshgate';

/** A token from `key`, valid for an hour from `nowSeconds` unless the claims say otherwise. */
export function sign(key: TestKey, claims: JWTPayload = {}, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ scope: 'chat', tenant: 'team-a', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(typeof claims.sub === 'string' ? claims.sub : 'user-1')
    .setIssuedAt(nowSeconds)
    .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : nowSeconds + 3600)
    .sign(key.privateKey);
}

/** An HTTP server answering every request with the JWKS of `keys`; its URL, and how to stop it. */
export async function startJwksServer(...keys: TestKey[]): Promise<{ url: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks(...keys)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, close: () => server.close() };
}
