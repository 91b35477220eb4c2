// meshgate's token endpoint and its signing keys, in process (the gateway test runs them for real).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { JwksRegistry } from '../../ext-authz/credentials/jwks-cache.js';
import { hashPassword, sha256 } from '../../ext-authz/credentials/secrets.js';
import { compileDocument, type CompiledPolicy } from '../../ext-authz/policy/compile.js';
import { parsePolicyDocument } from '../../ext-authz/policy/schema.js';
import { SigningKeys, writeNewKey } from '../../ext-authz/token/signing-keys.js';
import { TokenEndpoint, type TokenRequest } from '../../ext-authz/token/token-endpoint.js';
import { orThrow } from '../../shared/validate/result.js';

describe('token endpoint', () => {
  let dir: string;
  let keys: SigningKeys;
  let policies: Map<string, CompiledPolicy>;
  const problems: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-keys-'));
    keys = new SigningKeys(dir, (p) => problems.push(p)).start(60_000);
    const doc = orThrow(
      parsePolicyDocument(`
policies:
  token-clients:
    credentials:
      - {type: basic, users: [{username: job, password_hash: "${await hashPassword('s3cret', 2 ** 14)}", subject: job, tenant: t1, plan: gold, scopes: [a, b]}]}
      - {type: api_key, keys: [{id: k1, sha256: ${sha256('mgk_one').toString('hex')}, subject: bot, scopes: [a]}]}
    issue_tokens: {issuer: "https://gw.test/", ttl: 2m}
  plain:
    credentials: [{type: api_key, keys: [{id: k2, sha256: ${sha256('mgk_two').toString('hex')}, subject: x, scopes: []}]}]
`),
    );
    policies = compileDocument(doc, { document: 'test', version: '1' }, { jwks: new JwksRegistry() });
  });
  after(() => {
    keys.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const endpoint = (policyName = 'token-clients') => new TokenEndpoint({ policies: () => policies, policyName, keys, now: () => 1_800_000_000_000 });
  const post = (body: Record<string, string>, headers: Record<string, string> = {}): TokenRequest => ({
    method: 'POST',
    path: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
    source: '10.0.0.1',
  });

  it('makes a first key in an empty directory and publishes only public halves', () => {
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.pem')).length, 1);
    const jwks = JSON.parse(keys.jwks) as { keys: Array<Record<string, unknown>> };
    assert.equal(jwks.keys.length, 1);
    assert.deepEqual([jwks.keys[0]!['kty'], jwks.keys[0]!['crv'], jwks.keys[0]!['alg'], jwks.keys[0]!['d']], ['EC', 'P-256', 'ES256', undefined]);
  });

  it('issues with client_secret_post as with Basic, with the identity’s claims and the narrower scope asked for', async () => {
    const a = await endpoint().handle(post({ grant_type: 'client_credentials', client_id: 'job', client_secret: 's3cret', scope: 'b' }));
    assert.equal(a.status, 200, a.body);
    const token = (JSON.parse(a.body) as { access_token: string }).access_token;
    const { payload } = await jwtVerify(token, createLocalJWKSet(JSON.parse(keys.jwks) as never), { issuer: 'https://gw.test/', audience: 'meshgate', currentDate: new Date(1_800_000_000_000) });
    assert.deepEqual([payload.sub, payload['tenant'], payload['plan'], payload['scope'], payload.exp! - payload.iat!], ['job', 't1', 'gold', 'b', 120]);
  });

  it('refuses a client that authenticates twice, a policy that issues nothing, and a wrong subject token type', async () => {
    const twice = await endpoint().handle(post({ grant_type: 'client_credentials', client_id: 'job', client_secret: 's3cret' }, { authorization: `Basic ${Buffer.from('job:s3cret').toString('base64')}` }));
    assert.deepEqual([twice.status, JSON.parse(twice.body).error], [400, 'invalid_request']);
    const none = await endpoint('plain').handle(post({ grant_type: 'client_credentials' }));
    assert.deepEqual([none.status, JSON.parse(none.body).error], [503, 'temporarily_unavailable']);
    const type = await endpoint().handle(post({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'mgk_one', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }));
    assert.deepEqual([type.status, JSON.parse(type.body).error], [400, 'invalid_request']);
  });

  it('signs with the newest key after a rotation, keeps the older one published, and skips a file that is not a key', async () => {
    fs.writeFileSync(path.join(dir, 'zz-not-a-key.pem'), 'hello');
    const kid = writeNewKey(dir, new Date('2099-01-01T00:00:00Z'));
    keys.reload();
    assert.ok(problems.some((p) => p.startsWith('zz-not-a-key.pem:')), problems.join('; '));
    const a = await endpoint().handle(post({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'mgk_one', subject_token_type: 'urn:meshgate:params:oauth:token-type:api_key' }));
    assert.equal(decodeProtectedHeader((JSON.parse(a.body) as { access_token: string }).access_token).kid, kid);
    assert.equal((JSON.parse(keys.jwks) as { keys: unknown[] }).keys.length, 2);
  });
});
