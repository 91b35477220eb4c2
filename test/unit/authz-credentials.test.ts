import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiKeyCredential } from '../../ext-authz/credentials/api-key.js';
import { BasicCredential, parseBasic } from '../../ext-authz/credentials/basic.js';
import { FairPool } from '../../ext-authz/credentials/fair-pool.js';
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

  it('reads a key sent the way OpenAI clients send it, Authorization: Bearer, after the named header, and leaves a JWT alone', () => {
    const both = new ApiKeyCredential({ ...spec, header: 'x-api-key', bearer: true });
    assert.equal(both.find(req({ authorization: 'Bearer right-key' })), 'right-key');
    assert.equal(both.find(req({ 'x-api-key': 'named', authorization: 'Bearer right-key' })), 'named', 'the named header first');
    assert.equal(both.find(req({ authorization: 'Basic abc' })), undefined);
    assert.equal(both.find(req({ authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' })), undefined, 'a JWT is for a jwt credential');
    const only = new ApiKeyCredential({ ...spec, bearer: true });
    assert.equal(only.find(req({ 'x-api-key': 'right-key' })), undefined, 'no header unless named');
    assert.equal(only.find(req({ authorization: 'bearer right-key' })), 'right-key');
    assert.equal(only.challenge, 'Bearer realm="meshgate"');
    assert.ok(only.verify(only.find(req({ authorization: 'Bearer right-key' }))!).ok);
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

  it('parses strictly: canonical base64 (RFC 4648), UTF-8, no control characters (RFC 7617)', () => {
    const b64 = (t: string | Buffer) => Buffer.from(t).toString('base64');
    assert.deepEqual(parseBasic(b64('ops:pa:ss wörd')), { username: 'ops', password: 'pa:ss wörd' });
    assert.deepEqual(parseBasic(b64('ops:')), { username: 'ops', password: '' });
    assert.equal(parseBasic(`${b64('ops:x')}xyz`), 'the Basic credentials are not base64', 'bytes after the padding');
    assert.equal(parseBasic(b64('ops:x').replace(/=+$/, '')), 'the Basic credentials are not base64', 'padding missing');
    assert.equal(parseBasic('b3BzOnh='), 'the Basic credentials are not canonical base64', 'non-zero pad bits ("ops:x" is b3BzOng=)');
    assert.equal(parseBasic('b3Bz Ong='), 'the Basic credentials are not base64');
    assert.equal(parseBasic(b64(Buffer.from([0x6f, 0x3a, 0xff, 0xfe]))), 'the Basic credentials are not UTF-8');
    assert.equal(parseBasic(b64('ops:a\u0000b')), 'the Basic credentials contain control characters');
    assert.equal(parseBasic(b64('o\tps:x')), 'the Basic credentials contain control characters');
    assert.equal(parseBasic(b64(':x')), 'the Basic credentials are malformed', 'an empty user-id');
  });

  it('pays the KDF once per credential a minute: valid, wrong and concurrent attempts alike', async () => {
    let clock = 1_000_000;
    let kdfRuns = 0;
    const c = new BasicCredential(
      { realm: 'mg', users: [{ username: 'ops', password_hash: await hashPassword('s3cret', 2 ** 14), scopes: [] }] },
      (a, b) => {
        kdfRuns += 1;
        return constantTimeEqual(a, b);
      },
      () => clock,
      new FairPool({ concurrency: 1, perKey: 4, maxQueued: 16 }),
    );
    const good = Buffer.from('ops:s3cret').toString('base64');
    const bad = Buffer.from('ops:guess').toString('base64');
    for (let i = 0; i < 5; i++) assert.ok((await c.verify(good)).ok);
    assert.equal(kdfRuns, 1, 'a valid user: one KDF');
    const wrong = await Promise.all(Array.from({ length: 50 }, () => c.verify(bad)));
    assert.ok(wrong.every((v) => !v.ok && v.reason === 'the user name or password is wrong'));
    assert.equal(kdfRuns, 2, '50 identical wrong attempts at once: one KDF');
    await c.verify(bad);
    assert.equal(kdfRuns, 2, 'and again later: none');
    clock += 61_000;
    assert.ok((await c.verify(good)).ok);
    assert.equal(kdfRuns, 3, 'remembered for a minute only');
  });

  it('refuses a policy with an unusable password hash, naming the user', () => {
    assert.throws(() => new BasicCredential({ realm: 'mg', users: [{ username: 'ops', password_hash: 'md5$abc', scopes: [] }] }), /users\[0\]\.password_hash: expected scrypt/);
  });
});

describe('the KDF pool', () => {
  const gate = () => {
    let open!: () => void;
    const p = new Promise<void>((r) => (open = r));
    return { p, open };
  };

  it('runs one at a time, in turn per key, refuses past its bounds and drops what was abandoned', async () => {
    const pool = new FairPool({ concurrency: 1, perKey: 2, maxQueued: 4 });
    const order: string[] = [];
    const first = gate();
    const running = pool.run('a', async () => {
      await first.p;
      order.push('a0');
    });
    const a1 = pool.run('a', async () => order.push('a1'));
    const a2 = pool.run('a', async () => order.push('a2'));
    assert.deepEqual(await pool.run('a', async () => order.push('a3')), { ran: false, why: 'busy' }, 'two waiting for "a" is its bound');
    const call = { cancelled: false, onCancel: undefined as (() => void) | undefined };
    const b0 = pool.run('b', async () => order.push('b0'), call);
    const c0 = pool.run('c', async () => order.push('c0'));
    assert.deepEqual(await pool.run('d', async () => order.push('d0')), { ran: false, why: 'busy' }, 'four waiting in all is the bound');
    call.onCancel?.(); // b's caller gave up
    assert.deepEqual(await b0, { ran: false, why: 'cancelled' });
    assert.deepEqual(pool.stats, { running: 1, queued: 3 }, 'and left its place in the queue');
    first.open();
    await Promise.all([running, a1, a2, c0]);
    assert.deepEqual(order, ['a0', 'a1', 'c0', 'a2'], '"c" did not wait behind every "a"; "b" never ran');
    assert.deepEqual(pool.stats, { running: 0, queued: 0 });
  });
});
