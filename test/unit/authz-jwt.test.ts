// JWT verification against the attacks and mistakes ext-authz must refuse.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { JwksRegistry } from '../../ext-authz/credentials/jwks-cache.js';
import { JwtCredential, type JwtSpec } from '../../ext-authz/credentials/jwt.js';
import { AUDIENCE, ISSUER, jwks, sign, testKey, type TestKey } from '../helpers/jwt-keys.js';

const NOW = 1_800_000_000; // seconds

function spec(overrides: Partial<JwtSpec> = {}): JwtSpec {
  return {
    issuer: ISSUER,
    audiences: [AUDIENCE],
    algorithms: ['RS256'],
    jwks_uri: 'https://idp.test/jwks',
    leewaySeconds: 30,
    require_expiry: true,
    claims: { subject: 'sub', tenant: 'tenant', scopes: 'scope' },
    required_claims: {},
    required_scopes: [],
    max_token_bytes: 8192,
    jwksRefreshMs: 300_000,
    jwksMinRefetchMs: 10_000,
    ...overrides,
  };
}

/** A JWKS endpoint in memory: what it serves can change, and fetches are counted. */
function fakeIdp(initial: { keys: unknown[] }) {
  const idp = { served: initial, fetches: 0, down: false };
  const fetchFn = (async () => {
    idp.fetches += 1;
    if (idp.down) throw new Error('connect ECONNREFUSED');
    return new Response(JSON.stringify(idp.served), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { idp, fetchFn };
}

describe('JWT bearer tokens', () => {
  let k1: TestKey;
  let k2: TestKey;
  let ec: TestKey;
  before(async () => {
    k1 = await testKey('k1');
    k2 = await testKey('k2');
    ec = await testKey('e1', 'ES256');
  });

  function credential(s: Partial<JwtSpec> = {}, keys = [k1]) {
    let clock = NOW * 1000;
    const { idp, fetchFn } = fakeIdp(jwks(...keys));
    const registry = new JwksRegistry({ fetch: fetchFn, now: () => clock });
    const c = new JwtCredential(spec(s), registry, () => clock);
    return { c, idp, tick: (ms: number) => (clock += ms) };
  }

  it('accepts a valid RS256 token and maps its claims to an identity', async () => {
    const { c } = credential();
    const v = await c.verify(await sign(k1, { sub: 'alice', scope: 'chat embed' }, NOW));
    assert.ok(v.ok, !v.ok ? v.reason : '');
    assert.deepEqual(v.identity, { subject: 'alice', tenant: 'team-a', scopes: ['chat', 'embed'], credential: 'jwt' });
  });

  it('refuses an algorithm the policy does not allow', async () => {
    const { c } = credential();
    const { c: ecOnly } = credential({ algorithms: ['ES256'] }, [ec]);
    assert.ok((await ecOnly.verify(await sign(ec, {}, NOW))).ok);
    const v = await c.verify(await sign(ec, {}, NOW));
    assert.deepEqual(v.ok ? 'accepted' : v.reason, 'the token algorithm is not allowed');
  });

  it('refuses alg "none"', async () => {
    const { c } = credential();
    const token = new UnsecuredJWT({ sub: 'mallory', scope: 'chat' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(NOW + 60).encode();
    const v = await c.verify(token);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason, 'the token algorithm is not allowed');
  });

  it('refuses HS256 signed with the RSA public key', async () => {
    const { c } = credential();
    const forged = await new SignJWT({ sub: 'mallory', scope: 'chat' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(NOW + 60)
      .sign(new TextEncoder().encode(k1.publicPem));
    const v = await c.verify(forged);
    assert.equal(!v.ok && v.reason, 'the token algorithm is not allowed');
  });

  it('refuses an expired token, but not within the leeway', async () => {
    const expiredLongAgo = await sign(k1, { exp: NOW - 120 }, NOW - 3600);
    const justExpired = await sign(k1, { exp: NOW - 10 }, NOW - 3600);
    const { c } = credential({ leewaySeconds: 30 });
    assert.equal((await c.verify(expiredLongAgo)).ok, false);
    const late = await c.verify(expiredLongAgo);
    assert.equal(!late.ok && late.reason, 'the token has expired');
    assert.equal((await c.verify(justExpired)).ok, true, 'within 30 s of leeway');
    const { c: strict } = credential({ leewaySeconds: 0 });
    const v = await strict.verify(justExpired);
    assert.equal(!v.ok && v.reason, 'the token has expired');
  });

  it('refuses a token whose nbf is in the future (beyond the leeway)', async () => {
    const { c } = credential({ leewaySeconds: 5 });
    const token = await new SignJWT({ scope: 'chat' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('alice')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setNotBefore(NOW + 600)
      .setExpirationTime(NOW + 3600)
      .sign(k1.privateKey);
    const v = await c.verify(token);
    assert.equal(!v.ok && v.reason, 'the token is not valid yet');
  });

  it('refuses the wrong issuer or audience, and a token without exp', async () => {
    const { c } = credential();
    const wrongIss = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('a').setIssuer('https://evil/').setAudience(AUDIENCE).setExpirationTime(NOW + 60).sign(k1.privateKey);
    const wrongAud = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('a').setIssuer(ISSUER).setAudience('other').setExpirationTime(NOW + 60).sign(k1.privateKey);
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('a').setIssuer(ISSUER).setAudience(AUDIENCE).sign(k1.privateKey);
    assert.equal(((await c.verify(wrongIss)) as { reason: string }).reason, 'the token issuer is not accepted');
    assert.equal(((await c.verify(wrongAud)) as { reason: string }).reason, 'the token audience is not accepted');
    assert.equal(((await c.verify(noExp)) as { reason: string }).reason, 'the token lacks the "exp" claim');
  });

  it('fetches the JWKS once more for an unknown kid, and no more often than the floor', async () => {
    const { c, idp, tick } = credential({ jwksMinRefetchMs: 10_000 });
    assert.ok((await c.verify(await sign(k1, {}, NOW))).ok);
    assert.equal(idp.fetches, 1);
    const unknown = await sign(k2, {}, NOW);
    const v = await c.verify(unknown);
    assert.equal(!v.ok && v.reason, 'the token is signed with an unknown key');
    assert.equal(idp.fetches, 2, 'exactly one refetch for the unknown kid');
    await c.verify(await sign(k2, { sub: 'other' }, NOW));
    assert.equal(idp.fetches, 2, 'no refetch within the floor');
    tick(11_000);
    await c.verify(await sign(k2, { sub: 'third' }, NOW));
    assert.equal(idp.fetches, 3, 'one more after the floor');
  });

  it('drops a removed key from the first request after the refresh, remembered tokens included', async () => {
    // No unknown-kid refetch can help here (its floor is a day): only the periodic refresh can
    // bring k2 in and take k1 out.
    const { c, idp, tick } = credential({ jwksRefreshMs: 60_000, jwksMinRefetchMs: 86_400_000 });
    const old = await sign(k1, { sub: 'before' }, NOW);
    assert.ok((await c.verify(old)).ok);
    idp.served = jwks(k2); // the IdP rotated: k1 is gone, k2 is new
    assert.ok((await c.verify(old)).ok, 'k1 still works before the refresh');
    assert.ok((await c.verify(await sign(k1, { sub: 'fresh' }, NOW))).ok);
    assert.equal(idp.fetches, 1);
    tick(61_000);
    const remembered = await c.verify(old);
    assert.equal(remembered.ok, false, 'the first request after the refresh: the remembered k1 token is refused');
    assert.equal((await c.verify(await sign(k1, { sub: 'after' }, NOW))).ok, false, 'a fresh k1 token too');
    assert.ok((await c.verify(await sign(k2, { sub: 'new' }, NOW))).ok, 'and k2 works');
    assert.equal(idp.fetches, 3, 'the refresh, then one unknown-kid refetch for the k1 token');
  });

  it('keeps the last keys while the identity provider is down, and asks it again no more often than the floor', async () => {
    const { c, idp, tick } = credential({ jwksRefreshMs: 1_000, jwksMinRefetchMs: 10_000 });
    assert.ok((await c.verify(await sign(k1, {}, NOW))).ok);
    idp.down = true;
    tick(5_000);
    // A token never seen before: verified now, with the keys from before the failed refresh.
    assert.ok((await c.verify(await sign(k1, { sub: 'still' }, NOW))).ok);
    assert.equal(idp.fetches, 2, 'the refresh was tried');
    assert.ok((await c.verify(await sign(k1, { sub: 'again' }, NOW))).ok);
    assert.equal(idp.fetches, 2, 'not again within the floor');
    tick(11_000);
    assert.ok((await c.verify(await sign(k1, { sub: 'later' }, NOW))).ok);
    assert.equal(idp.fetches, 3);
  });

  it('never remembers a token past its exp plus the leeway', async () => {
    const { c, tick } = credential({ leewaySeconds: 5 });
    const shortLived = await sign(k1, { exp: NOW + 10 }, NOW);
    assert.ok((await c.verify(shortLived)).ok);
    tick(14_000);
    assert.ok((await c.verify(shortLived)).ok, 'within exp + leeway');
    tick(2_000);
    const v = await c.verify(shortLived);
    assert.equal(!v.ok && v.reason, 'the token has expired');
  });

  it('refuses malformed and oversized tokens', async () => {
    const { c } = credential({ max_token_bytes: 512 });
    assert.equal(((await c.verify('not.a.jwt')) as { reason: string }).reason, 'the token is malformed');
    assert.equal(((await c.verify('a'.repeat(600))) as { reason: string }).reason, 'the token is too large');
    assert.equal(((await c.verify('')) as { reason: string }).reason, 'the token is malformed');
  });

  it('checks required claims and scopes, and says which is missing', async () => {
    const { c } = credential({ required_claims: { email_verified: true }, required_scopes: ['chat', 'admin'] });
    const v = await c.verify(await sign(k1, { email_verified: true, scope: 'chat' }, NOW));
    assert.equal(!v.ok && v.reason, 'the token lacks the scope admin');
    const w = await c.verify(await sign(k1, { email_verified: false, scope: 'chat admin' }, NOW));
    assert.equal(!w.ok && w.reason, 'the token "email_verified" claim is not accepted');
    assert.ok((await c.verify(await sign(k1, { email_verified: true, scope: 'chat admin' }, NOW))).ok);
  });

  it('accepts HS256 with a shared secret when that is all the policy allows', async () => {
    const secret = Buffer.alloc(32, 7);
    const { c } = credential({ algorithms: ['HS256'], jwks_uri: undefined, hmac_secret_base64: secret.toString('base64') } as Partial<JwtSpec>);
    const token = await new SignJWT({ scope: 'chat' }).setProtectedHeader({ alg: 'HS256' }).setSubject('svc').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(NOW + 60).sign(secret);
    assert.ok((await c.verify(token)).ok);
  });

  it('gives a Bearer challenge with the reason', async () => {
    const { c } = credential();
    const v = await c.verify('not.a.jwt');
    assert.equal(!v.ok && v.challenge, 'Bearer realm="meshgate", error="invalid_token", error_description="the token is malformed"');
  });
});
