// The introspection credential's own rules, against an HTTP endpoint of the test's that answers
// as RFC 7662 §2.2 says a provider does (the integration test runs the real oidc-provider).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { IntrospectionCredential, type IntrospectionSpec } from '../../ext-authz/credentials/introspection.js';
import { parsePolicyDocument } from '../../ext-authz/policy/schema.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { attributesOf, type CheckAttributes } from '../../ext-authz/request.js';

const NOW = 1_800_000_000_000;

describe('introspection credential', () => {
  const answers = new Map<string, Record<string, unknown>>();
  const calls: Array<{ authorization: string | undefined; body: URLSearchParams }> = [];
  let server: http.Server;
  let endpoint: string;
  let delayMs = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        calls.push({ authorization: req.headers.authorization, body: form });
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers.get(form.get('token') ?? '') ?? { active: false })), delayMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
  });
  after(() => server.close());

  const spec = (o: Partial<IntrospectionSpec> = {}): IntrospectionSpec => ({
    endpoint,
    client_id: 'mesh gate',
    client_secret: 's3cret:with/odd&chars',
    client_auth: 'client_secret_basic',
    token_type_hint: 'access_token',
    audiences: [],
    required_scopes: [],
    claims: { subject: 'sub', scopes: 'scope' },
    max_token_bytes: 4096,
    cacheTtlMs: 60_000,
    negativeCacheTtlMs: 10_000,
    timeoutMs: 1_000,
    maxConcurrency: 2,
    maxWaiting: 4,
    leewaySeconds: 0,
    ...o,
  });
  const req = (source = '10.0.0.1'): CheckAttributes => attributesOf('GET', '/', {}, {}, 'r', source);

  it('authenticates as RFC 6749 §2.3.1 says (form-encoded id and secret in Basic) and sends the token type hint', async () => {
    answers.set('t-basic', { active: true, sub: 'alice', scope: 'a b', exp: NOW / 1000 + 600 });
    calls.length = 0;
    const v = await new IntrospectionCredential(spec(), () => NOW).verify('t-basic', req());
    assert.ok(v.ok);
    assert.deepEqual([v.identity.subject, v.identity.scopes, v.identity.credential], ['alice', ['a', 'b'], 'introspection']);
    assert.equal(calls[0]!.authorization, `Basic ${Buffer.from('mesh+gate:s3cret%3Awith%2Fodd%26chars').toString('base64')}`);
    assert.equal(calls[0]!.body.get('token_type_hint'), 'access_token');
    calls.length = 0;
    await new IntrospectionCredential(spec({ client_auth: 'client_secret_post' }), () => NOW).verify('t-basic', req());
    assert.equal(calls[0]!.authorization, undefined);
    assert.equal(calls[0]!.body.get('client_secret'), 's3cret:with/odd&chars');
  });

  it('checks what a JWT would be checked for: expiry, not-before, issuer, audience, scopes, a subject', async () => {
    const c = new IntrospectionCredential(spec({ issuer: 'https://idp', audiences: ['meshgate'], required_scopes: ['read'] }), () => NOW);
    const good = { active: true, sub: 's', iss: 'https://idp', aud: ['x', 'meshgate'], scope: 'read', exp: NOW / 1000 + 60 };
    const cases: Array<[Record<string, unknown>, string | undefined]> = [
      [good, undefined],
      [{ ...good, exp: NOW / 1000 - 1 }, 'the token has expired'],
      [{ ...good, nbf: NOW / 1000 + 60 }, 'the token is not valid yet'],
      [{ ...good, iss: 'https://other' }, 'the token issuer is not accepted'],
      [{ ...good, aud: 'x' }, 'the token audience is not accepted'],
      [{ ...good, scope: 'write' }, 'the token lacks the scope read'],
      [{ ...good, sub: undefined, client_id: 'svc-a' }, undefined],
      [{ ...good, sub: undefined }, 'the token has no "sub" claim'],
      [{ active: false }, 'the token is not active'],
    ];
    for (const [i, [answer, reason]] of cases.entries()) {
      answers.set(`case-${i}`, answer);
      const v = await c.verify(`case-${i}`, req());
      assert.equal(v.ok ? undefined : v.reason, reason, JSON.stringify(answer));
    }
  });

  it('remembers an answer by the token’s hash: a positive one until exp or cache_ttl, a negative one for negative_cache_ttl', async () => {
    let now = NOW;
    const c = new IntrospectionCredential(spec({ cacheTtlMs: 10_000, negativeCacheTtlMs: 1_000 }), () => now);
    answers.set('t-cache', { active: true, sub: 'bob', exp: NOW / 1000 + 5 });
    calls.length = 0;
    for (let i = 0; i < 3; i++) assert.ok((await c.verify('t-cache', req())).ok);
    assert.equal(calls.length, 1);
    now = NOW + 5_000; // its exp, before cache_ttl
    answers.set('t-cache', { active: false });
    assert.equal((await c.verify('t-cache', req())).ok, false);
    assert.equal(calls.length, 2);
    now += 500;
    assert.equal((await c.verify('t-cache', req())).ok, false);
    assert.equal(calls.length, 2, 'the negative answer is remembered');
    now += 1_000;
    answers.set('t-cache', { active: true, sub: 'bob' });
    assert.ok((await c.verify('t-cache', req())).ok);
    assert.equal(calls.length, 3);
  });

  it('asks once for callers presenting the same token at once, and refuses past its bounds at once', async () => {
    const c = new IntrospectionCredential(spec({ maxConcurrency: 1, maxWaiting: 1 }), () => NOW);
    answers.set('t-same', { active: true, sub: 'carol' });
    calls.length = 0;
    delayMs = 50;
    try {
      const same = await Promise.all(Array.from({ length: 20 }, () => c.verify('t-same', req())));
      assert.ok(same.every((v) => v.ok));
      assert.equal(calls.length, 1);
      const distinct = await Promise.all(Array.from({ length: 6 }, (_, i) => c.verify(`t-flood-${i}`, req())));
      const busy = distinct.filter((v) => !v.ok && /too many introspections in flight/.test(v.reason));
      assert.equal(busy.length, 4, 'one running, one waiting, the rest refused');
    } finally {
      delayMs = 0;
    }
  });

  it('asks again for a caller whose shared call was given up by the one who started it', async () => {
    const c = new IntrospectionCredential(spec({ maxConcurrency: 1, maxWaiting: 4 }), () => NOW);
    answers.set('t-busy', { active: true, sub: 'x' });
    answers.set('t-shared', { active: true, sub: 'dave' });
    delayMs = 60;
    try {
      const first = c.verify('t-busy', req()); // holds the one place
      const quitter = { cancelled: false, onCancel: undefined as (() => void) | undefined };
      const started = c.verify('t-shared', req(), quitter as never); // waits for its turn
      const sharer = c.verify('t-shared', req()); // shares the quitter's call
      quitter.cancelled = true;
      quitter.onCancel?.();
      assert.equal((await started).ok, false);
      const v = await sharer;
      assert.ok(v.ok, v.ok ? '' : v.reason);
      await first;
    } finally {
      delayMs = 0;
    }
  });

  it('fails closed on a provider that errs, answers garbage or is too slow, and remembers none of it', async () => {
    const broken = http.createServer((rq, res) => {
      if (rq.url === '/500') res.writeHead(500).end('oops');
      else if (rq.url === '/html') res.writeHead(200).end('<html>');
      else if (rq.url === '/no-active') res.writeHead(200).end('{"sub":"x"}');
      else setTimeout(() => res.writeHead(200).end('{"active":true,"sub":"x"}'), 500);
    });
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    try {
      for (const [path, reason] of [
        ['/500', /HTTP 500/],
        ['/html', /not JSON/],
        ['/no-active', /without "active"/],
        ['/slow', /no answer within 100 ms/],
      ] as const) {
        const v = await new IntrospectionCredential(spec({ endpoint: `${base}${path}`, timeoutMs: 100 }), () => NOW).verify('tok', req());
        assert.ok(!v.ok && /^the token could not be introspected: /.test(v.reason) && reason.test(v.reason), `${path}: ${v.ok ? 'allowed' : v.reason}`);
      }
    } finally {
      broken.close();
    }
  });

  it('is declared in a policy with its defaults; a missing secret or a bad endpoint is refused with the field', () => {
    const doc = (extra: string) => `policies:\n  p:\n    credentials:\n      - type: introspection\n${extra}`;
    const ok = parsePolicyDocument(doc('        endpoint: https://idp/introspect\n        client_id: mg\n        client_secret: s\n'));
    assert.ok(ok.ok, ok.ok ? '' : describeRefusal(ok));
    const c = ok.value.policies['p']!.credentials[0] as { client_auth: string; cache_ttl: string; max_concurrency: number; token_type_hint: string };
    assert.deepEqual([c.client_auth, c.cache_ttl, c.max_concurrency, c.token_type_hint], ['client_secret_basic', '5m', 8, 'access_token']);
    const noSecret = parsePolicyDocument(doc('        endpoint: https://idp/introspect\n        client_id: mg\n'));
    assert.ok(!noSecret.ok && /client_secret/.test(describeRefusal(noSecret)));
    const badUrl = parsePolicyDocument(doc('        endpoint: ftp://idp\n        client_id: mg\n        client_secret: s\n'));
    assert.ok(!badUrl.ok && /endpoint/.test(describeRefusal(badUrl)));
  });
});
