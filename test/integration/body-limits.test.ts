// A body over a route's limit is refused at once — 413 in the gateway's JSON, within a second —
// on every kind of route that has one, with every filter of the chain in front of it: ext_authz
// (valid credentials, so the check passes and the body reaches the limit), the rate-limit
// filter, the LLM processor and the token budgets. Over HTTP/1.1 and HTTP/2, with and without
// `Expect: 100-continue`: curl as the caller, as a user would try it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { request } from '../helpers/http.js';

const KEY = 'sk-bodies-0123456789abcdef';
const POLICY = `
policies:
  default:
    credentials:
      - type: api_key
        bearer: true
        keys:
          - {id: b1, sha256: ${sha256(KEY).toString('hex')}, subject: app, tenant: acme}
`;
const RATELIMIT = `domain: meshgate
descriptors:
  - key: tenant
    rate_limit: {unit: hour, requests_per_unit: 100000}
  - key: generic_key
    value: tokens
    descriptors:
      - key: tenant
        rate_limit: {unit: minute, requests_per_unit: 1000000}
`;

/** POST `file` over HTTP/1.1 with curl (the caller the user tried), at most 10 s. */
function curl(url: string, file: string, expect: boolean, chunked = false): Promise<Answer> {
  const args = [
    '-sS',
    '--max-time', '10',
    '-o', '-',
    '-w', '\n%{http_code}',
    '--http1.1',
    '-H', `authorization: Bearer ${KEY}`,
    '-H', 'content-type: application/json',
    // curl sends Expect: 100-continue itself for a body over 1 MiB; an empty value stops it.
    '-H', expect ? 'Expect: 100-continue' : 'Expect:',
    ...(chunked ? ['-H', 'transfer-encoding: chunked'] : []),
    '--data-binary', `@${file}`,
    url,
  ];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const nl = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(nl + 1)), body: out.slice(0, nl), ms: performance.now() - started });
    });
  });
}

/**
 * POST `file` over HTTP/2 with node's client, at most 10 s; with Expect, the body only after
 * the gateway's 100 (or its answer). curl 7.88 loses an HTTP/2 answer that arrives while it is
 * still sending the body, so it cannot be the caller here.
 */
function h2post(url: string, file: string, expect: boolean): Promise<Answer> {
  const u = new URL(url);
  const body = fs.readFileSync(file);
  const started = performance.now();
  return new Promise((resolve) => {
    const session = http2.connect(u.origin);
    const done = (a: Omit<Answer, 'ms'>): void => {
      clearTimeout(timer);
      session.destroy();
      resolve({ ...a, ms: performance.now() - started });
    };
    const timer = setTimeout(() => done({ status: 0, body: 'no answer in 10 s' }), 10_000);
    session.on('error', (err) => done({ status: 0, body: String(err) }));
    const stream = session.request({
      ':method': 'POST',
      ':path': u.pathname,
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
      ...(expect ? { expect: '100-continue' } : {}),
    });
    let status = 0;
    let text = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => done({ status, body: text }));
    stream.on('error', (err) => done({ status, body: text || String(err) }));
    if (expect) stream.once('continue', () => stream.end(body));
    else stream.end(body);
  });
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

describe('body limits: 413 JSON at once, whatever filters run before the limit', () => {
  let mesh: GatewayMesh;
  let modelBody: string;
  let plainBody: string;

  before(async () => {
    mesh = await startGatewayMesh({ llm: true, authzPolicy: POLICY, ratelimitConfig: RATELIMIT, xdsArgs: ['--llm-token-budgets=generic:tokens,auth:tenant'] });
    await mesh.addInstance({ service: 'chat', id: 'chat-1', meta: { models: 'llama-3.1-8b', 'gateway-path': '/v1/', 'rate-limits': '/v1/=auth:tenant' } });
    await mesh.addInstance({ service: 'uploads', id: 'uploads-1', meta: { 'gateway-path': '/uploads/', 'rate-limits': '/uploads/=auth:tenant' } });
    await mesh.consul.api.kvPut('meshgate/config/uploads', 'Kind: service-defaults\nName: uploads\nMaxRequestBytes: 65536\n');
    // One service with no limit of its own (the default for HTTP/1.1), one that streams (0).
    await mesh.addInstance({ service: 'files', id: 'files-1', meta: { 'gateway-path': '/files/' } });
    await mesh.addInstance({ service: 'streamed', id: 'streamed-1', meta: { 'gateway-path': '/streamed/' } });
    await mesh.consul.api.kvPut('meshgate/config/streamed', 'Kind: service-defaults\nName: streamed\nMaxRequestBytes: 0\n');
    modelBody = path.join(mesh.dir, 'model-3mib.json');
    fs.writeFileSync(modelBody, JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x'.repeat(3 * 1024 * 1024) }] }));
    plainBody = path.join(mesh.dir, 'plain-3mib.json');
    fs.writeFileSync(plainBody, JSON.stringify({ data: 'y'.repeat(3 * 1024 * 1024) }));
    const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    // Ready: the model route answers, the upload limit is in force (Envoy answers that itself),
    // and the upload service is healthy in Consul (a body under the limit reaches it).
    await waitFor(
      'the model route, the upload limit and a healthy upload service',
      async () => {
        const chat = await request(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }) });
        const over = await request(`${mesh.gatewayUrl}/uploads/x`, { method: 'POST', headers: auth, body: 'z'.repeat(70_000) });
        const under = await request(`${mesh.gatewayUrl}/uploads/x`, { method: 'POST', headers: auth, body: 'z'.repeat(1_000) });
        const files = await request(`${mesh.gatewayUrl}/files/x`, { method: 'POST', headers: auth, body: 'z'.repeat(1_000) });
        const streamed = await request(`${mesh.gatewayUrl}/streamed/x`, { method: 'POST', headers: auth, body: 'z'.repeat(1_000) });
        return chat.status === 200 && over.status === 413 && under.status === 200 && files.status === 200 && streamed.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });

  after(async () => {
    await mesh?.stop();
  });

  for (const http2 of [false, true]) {
    for (const expect of [false, true]) {
      const how = `${http2 ? 'HTTP/2' : 'HTTP/1.1'}${expect ? ', Expect: 100-continue' : ''}`;
      for (const [route, url, file] of [
        ['the model API (ext_authz, rate limit, processor, budgets)', '/v1/chat/completions', () => modelBody],
        ['a service with MaxRequestBytes (ext_authz, rate limit)', '/uploads/file', () => plainBody],
      ] as const) {
        it(`${route}, ${how}: 413 JSON within 1 s`, async () => {
          const a = await (http2 ? h2post : curl)(`${mesh.gatewayUrl}${url}`, file(), expect);
          assert.equal(a.status, 413, a.body.slice(0, 300));
          const body = JSON.parse(a.body) as { error: { code: string; status: number } };
          assert.equal(body.error.code, 'payload_too_large');
          assert.ok(a.ms < 1_000, `answered in ${Math.round(a.ms)} ms`);
        });
      }
    }
  }

  for (const [route, url, file] of [
    ['the model API', '/v1/chat/completions', () => modelBody],
    ['a service with MaxRequestBytes', '/uploads/file', () => plainBody],
  ] as const) {
    it(`${route}, HTTP/1.1 chunked (no length to go by): 413 JSON within 1 s`, async () => {
      const a = await curl(`${mesh.gatewayUrl}${url}`, file(), false, true);
      assert.equal(a.status, 413, a.body.slice(0, 300));
      assert.ok(a.ms < 1_000, `answered in ${Math.round(a.ms)} ms`);
    });
  }

  it('still takes a body under the limit with the same credentials', async () => {
    const r = await request(`${mesh.gatewayUrl}/uploads/ok`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: 'z'.repeat(60_000) });
    assert.equal(r.status, 200, r.text.slice(0, 300));
  });

  it('a service that sets no limit: 1 MiB by default, 413 JSON past it over HTTP/1.1 and HTTP/2; up to it, served', async () => {
    for (const post of [curl, h2post]) {
      const a = await post(`${mesh.gatewayUrl}/files/upload`, plainBody, false);
      assert.equal(a.status, 413, a.body.slice(0, 300));
      assert.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'payload_too_large');
    }
    const under = await request(`${mesh.gatewayUrl}/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: 'z'.repeat(1024 * 1024 - 1024) });
    assert.equal(under.status, 200, under.text.slice(0, 300));
    const resolved = (await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/resolved`)).json()) as unknown;
    assert.match(JSON.stringify(resolved), /"service":"files".{0,1000}?"maxRequestBytes":1048576.{0,1000}?"maxRequestBytes":"default"/, 'the default in the resolved mesh, decided by default');
  });

  it('a service with MaxRequestBytes 0: a body past 1 MiB streamed to it, served', async () => {
    const a = await curl(`${mesh.gatewayUrl}/streamed/upload`, plainBody, false);
    assert.equal(a.status, 200, a.body.slice(0, 300));
  });
});
