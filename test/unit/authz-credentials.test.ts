import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiKeyCredential } from '../../ext-authz/credentials/api-key.js';
import { BasicCredential } from '../../ext-authz/credentials/basic.js';
import { constantTimeEqual, hashPassword, sha256 } from '../../ext-authz/credentials/secrets.js';
import { attributesOf } from '../../ext-authz/request.js';

const req = (headers: Record<string, string> = {}, target = '/v1/chat') => attributesOf('POST', target, headers, {}, 'r1');

describe('API keys', () => {
  const spec = { keys: [{ id: 'k1', sha256: sha256('right-key').toString('hex'), subject: 'bot', tenant: 't1', scopes: ['chat'] }] };

  it('accepts a listed key from the header and names its caller and key id', () => {
    const c = new ApiKeyCredential(spec);
    const raw = c.find(req({ 'x-api-key': 'right-key' }));
    assert.equal(raw, 'right-key');
    const v = c.verify(raw!);
    assert.ok(v.ok);
    assert.deepEqual(v.identity, { subject: 'bot', tenant: 't1', scopes: ['chat'], credential: 'api_key', keyId: 'k1' });
    assert.deepEqual(c.carriers.headers, ['x-api-key']);
  });

  it('refuses a wrong key, an empty one and an oversized one', () => {
    const c = new ApiKeyCredential(spec);
    assert.deepEqual(c.verify('wrong-key'), { ok: false, reason: 'the API key is not valid' });
    assert.equal(c.verify('').ok, false);
    assert.equal(c.verify('x'.repeat(10_000)).ok, false);
  });

  it('reads a key from a query parameter when configured so', () => {
    const c = new ApiKeyCredential({ ...spec, query: 'api_key' });
    assert.equal(c.find(req({}, '/v1/chat?api_key=right-key&x=1')), 'right-key');
    assert.equal(c.find(req({ 'x-api-key': 'right-key' })), undefined);
    assert.deepEqual(c.carriers.query, ['api_key']);
  });

  it('confirms a match with the constant-time comparison', () => {
    const calls: Array<[number, number]> = [];
    const spy = (a: Uint8Array, b: Uint8Array) => {
      calls.push([a.length, b.length]);
      return constantTimeEqual(a, b);
    };
    const c = new ApiKeyCredential(spec, spy);
    assert.ok(c.verify('right-key').ok);
    assert.deepEqual(calls, [[32, 32]]);
  });

  it('compares in constant time: equal lengths go through timingSafeEqual', () => {
    assert.equal(constantTimeEqual(Buffer.from('abc'), Buffer.from('abc')), true);
    assert.equal(constantTimeEqual(Buffer.from('abc'), Buffer.from('abd')), false);
    assert.equal(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd')), false);
  });
});

describe('Basic', () => {
  it('accepts the right password, refuses a wrong one and an unknown user alike', async () => {
    const hash = await hashPassword('s3cret', 2 ** 14);
    const compared: number[] = [];
    const c = new BasicCredential({ realm: 'mg', users: [{ username: 'ops', password_hash: hash, tenant: 'infra', scopes: ['admin'] }] }, (a, b) => {
      compared.push(a.length);
      return constantTimeEqual(a, b);
    });
    const ok = await c.verify(Buffer.from('ops:s3cret').toString('base64'));
    assert.ok(ok.ok);
    assert.deepEqual(ok.identity, { subject: 'ops', tenant: 'infra', scopes: ['admin'], credential: 'basic' });
    assert.deepEqual(await c.verify(Buffer.from('ops:wrong').toString('base64')), { ok: false, reason: 'the user name or password is wrong' });
    assert.deepEqual(await c.verify(Buffer.from('nobody:s3cret').toString('base64')), { ok: false, reason: 'the user name or password is wrong' });
    assert.equal(compared.length, 3, 'an unknown user costs a comparison too');
    assert.equal(c.challenge, 'Basic realm="mg", charset="UTF-8"');
  });

  it('refuses malformed credentials and finds them only with the Basic scheme', async () => {
    const c = new BasicCredential({ realm: 'mg', users: [{ username: 'ops', password_hash: await hashPassword('x', 2 ** 14), scopes: [] }] });
    assert.deepEqual(await c.verify(Buffer.from('no-colon').toString('base64')), { ok: false, reason: 'the Basic credentials are malformed' });
    assert.equal(c.find(req({ authorization: 'basic b3BzOng=' })), 'b3BzOng=');
    assert.equal(c.find(req({ authorization: 'Bearer abc' })), undefined);
  });

  it('refuses a policy with an unusable password hash, naming the user', () => {
    assert.throws(() => new BasicCredential({ realm: 'mg', users: [{ username: 'ops', password_hash: 'md5$abc', scopes: [] }] }), /users\[0\]\.password_hash: expected scrypt/);
  });
});
