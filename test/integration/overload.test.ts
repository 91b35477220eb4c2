// Overload is a normal state: a burst past a deliberately small bound, on each kind of route
// (a model's calls at its door, before the processor), is refused at once in the gateway's JSON
// (429 or 503, with Retry-After) while a steady caller elsewhere keeps being served, and a
// refused HTTP/1.1 caller keeps its connection; a plug-in at
// its bound of calls in flight refuses at once and the route answers by its failure mode; Envoy's
// overload manager, at its heap bound, answers every new request 503 JSON and serves again once the memory is back. Real Envoy, Consul, plug-ins.
// No timing assertions: how fast is the benchmark's (bench/overload.ts).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { startGatewayEnvoy } from '../../launcher/envoy-roles.js';
import type { EnvoyProcess } from '../../launcher/envoy.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { freePorts } from '../../launcher/ports.js';
import { waitFor } from '../../launcher/wait.js';
import { request, type Answer, type GatewayError } from '../helpers/http.js';

const KEY = 'sk-overload-0123456789abcdef';
const POLICY = `policies:\n  keys:\n    credentials:\n      - type: api_key\n        keys: [{id: o1, sha256: ${sha256(KEY).toString('hex')}, subject: app, tenant: acme}]\n`;
const LIMITS = 'domain: meshgate\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: minute, requests_per_unit: 2}\n';
const SMALL = 'Limits: {MaxConcurrentRequests: 1, MaxConnections: 1, MaxPendingRequests: 1}';

/** A refusal as callers must get it: 429 or 503, the gateway's JSON with this code, Retry-After in whole seconds. */
function assertClearRefusal(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, a.text);
  assert.equal((a.body as GatewayError).error.code, code, a.text);
  assert.match(a.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `Retry-After: ${a.headers.get('retry-after')}`);
}

/** `burst` calls at once while a steady caller calls `steady` every 20 ms: every steady call must succeed. */
async function burstBeside(burst: () => Promise<Answer>[], steady: () => Promise<Answer>): Promise<Answer[]> {
  let running = true;
  const failures: string[] = [];
  let served = 0;
  const loop = (async () => {
    while (running) {
      const a = await steady();
      if (a.status === 200) served += 1;
      else failures.push(`${a.status} ${a.text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    return await Promise.all(burst());
  } finally {
    running = false;
    await loop;
    assert.deepEqual(failures, [], 'the steady caller was served throughout');
    assert.ok(served > 0, 'the steady caller called during the burst');
  }
}

/** Writes one HTTP/1.1 request on `socket` and reads its answer (framed by content-length), at most 10 s. */
function exchange(socket: net.Socket, text: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no whole answer in 10 s: ${got.toString().slice(0, 300)}`)), 10_000);
    const finish = (err?: Error, answer?: { status: number; head: string }) => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      if (err) reject(err);
      else resolve(answer!);
    };
    const onClose = () => finish(new Error(`connection closed: ${got.toString().slice(0, 300)}`));
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = got.subarray(0, end).toString();
      const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? NaN);
      if (!Number.isFinite(length)) return finish(new Error(`an answer without content-length: ${head}`));
      if (got.length >= end + 4 + length) finish(undefined, { status: Number(head.split(' ')[1]), head });
    };
    socket.on('data', onData).on('close', onClose);
    socket.write(text);
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const CHAT = (model: string) => ({ model, messages: [{ role: 'user', content: 'hello' }] });

describe('bursts past small bounds: fast JSON refusals with Retry-After, a steady caller served', () => {
  let mesh: GatewayMesh;
  let steady: () => Promise<Answer>;
  let overwhelmed: ModelServiceProcess;

  before(async () => {
    mesh = await startGatewayMesh({ llm: true, authzPolicy: POLICY, ratelimitConfig: LIMITS, xdsArgs: ['--auth-default-policy=none'] });
    const kv = (key: string, text: string) => mesh.consul.api.kvPut(`meshgate/config/${key}`, text);
    await kv('slow', `Kind: service-defaults\nName: slow\n${SMALL}\n`);
    await kv('guarded', `Kind: service-defaults\nName: guarded\n${SMALL}\n`);
    await kv('chat-slow', `Kind: service-defaults\nName: chat-slow\n${SMALL}\n`);
    await kv('inference', `Kind: service-defaults\nName: inference\n${SMALL}\n`);
    await mesh.addInstance({ service: 'steady', id: 'steady-1', meta: { 'gateway-path': '/steady/', 'auth-policy': 'none' } });
    await mesh.addInstance({ service: 'slow', id: 'slow-1', meta: { 'gateway-path': '/slow/', 'auth-policy': 'none' } });
    await mesh.addInstance({ service: 'guarded', id: 'guarded-1', meta: { 'gateway-path': '/guarded/', 'auth-policy': 'keys' } });
    overwhelmed = await mesh.addInstance({ service: 'overwhelmed', id: 'overwhelmed-1', meta: { 'gateway-path': '/overwhelmed/', 'auth-policy': 'keys' } });
    await mesh.addInstance({ service: 'limited', id: 'limited-1', meta: { 'gateway-path': '/limited/', 'auth-policy': 'none', 'rate-limits': '/limited/=remote_address' } });
    await mesh.addInstance({ service: 'chat-slow', id: 'chat-slow-1', meta: { models: 'slow-model', 'gateway-path': 'none' }, extraArgs: ['--slots', '1', '--work-ms', '300'] });
    await mesh.addInstance({ program: 'grpc-inference', service: 'inference', id: 'inference-1', meta: { protocol: 'grpc', transcode: 'on', 'auth-policy': 'none' } });
    steady = () => request(`${mesh.gatewayUrl}/steady/test?msg=steady`);
    await waitFor('every route', async () => {
      const answers = await Promise.all([
        steady(),
        request(`${mesh.gatewayUrl}/slow/test`),
        request(`${mesh.gatewayUrl}/guarded/test`, { headers: { 'x-api-key': KEY } }),
        request(`${mesh.gatewayUrl}/overwhelmed/test`, { headers: { 'x-api-key': KEY } }),
        post(`${mesh.gatewayUrl}/v1/chat/completions`, CHAT('slow-model')),
        post(`${mesh.gatewayUrl}/v1/inference/embed`, { model: 'm', input: ['a'] }),
      ]);
      return answers.every((a) => a.status === 200);
    }, { timeoutMs: 30_000, intervalMs: 250 });
    // Each service's bounds are in Envoy (one in flight, one waiting), not just in Consul.
    await waitFor('the small bounds in Envoy', async () => {
      const dump = JSON.stringify(await mesh.envoy.admin.configDump(false));
      return ['slow', 'guarded', 'inference'].every((s) => new RegExp(`"name":"${s}".{0,4000}?"max_pending_requests":1`).test(dump));
    }, { timeoutMs: 15_000, intervalMs: 200 });
  });

  after(async () => {
    await mesh?.stop();
  });

  const refusedAndServed = (answers: Answer[], code: string) => {
    const refused = answers.filter((a) => a.status !== 200);
    assert.ok(answers.some((a) => a.status === 200), 'some of the burst was served');
    assert.ok(refused.length > 0, `some of the burst was refused: ${answers.map((a) => a.status).join(',')}`);
    for (const a of refused) assertClearRefusal(a, 503, code);
  };

  it('a plain route: past one in flight and one waiting, 503 upstream_overloaded', async () => {
    const before = (await mesh.envoy.admin.stat('cluster.slow.upstream_rq_pending_overflow')) ?? 0;
    const answers = await burstBeside(() => Array.from({ length: 10 }, () => request(`${mesh.gatewayUrl}/slow/test?delay_ms=300`)), steady);
    refusedAndServed(answers, 'upstream_overloaded');
    assert.ok(((await mesh.envoy.admin.stat('cluster.slow.upstream_rq_pending_overflow')) ?? 0) > before, 'counted in upstream_rq_pending_overflow');
  });

  it('an ext_authz route: the same, for callers ext-authz let through', async () => {
    const answers = await burstBeside(() => Array.from({ length: 10 }, () => request(`${mesh.gatewayUrl}/guarded/test?delay_ms=300`, { headers: { 'x-api-key': KEY } })), steady);
    refusedAndServed(answers, 'upstream_overloaded');
  });

  it("a checked route whose service refuses for load: its gate sheds calls before ext-authz is asked (503 load_shed, Retry-After), another checked route is untouched, and it recovers", async () => {
    const checked = async () => (await mesh.envoy.admin.stat('http.gateway.ext_authz.ok')) ?? 0;
    const guarded = () => request(`${mesh.gatewayUrl}/guarded/test`, { headers: { 'x-api-key': KEY } });
    await overwhelmed.failWith(503);
    try {
      const checksBefore = await checked();
      // 20 callers at once, 15 rounds: far more than the gate's 10 calls a second, in well under its 5 s window.
      const answers: Answer[] = [];
      for (let round = 0; round < 15; round++) {
        answers.push(...(await Promise.all(Array.from({ length: 20 }, () => request(`${mesh.gatewayUrl}/overwhelmed/test`, { headers: { 'x-api-key': KEY } })))));
      }
      const gated = answers.filter((a) => a.status === 503 && (a.body as GatewayError)?.error?.code === 'load_shed');
      assert.ok(gated.length > answers.length / 3, `the gate shed a good share of the calls: ${gated.length} of ${answers.length}`);
      for (const a of gated) assertClearRefusal(a, 503, 'load_shed');
      assert.ok(answers.every((a) => a.status === 503), 'every call answered 503, by the service or by the gate');
      assert.equal((await checked()) - checksBefore, answers.length - gated.length, 'ext-authz was asked for exactly the calls the gate let through');
      const stats = await (await fetch(`${mesh.envoy.admin.baseUrl}/stats?filter=admission_control.rq_rejected`)).text();
      assert.match(stats, /admission_control\.rq_rejected: [1-9]/, 'Envoy counts the gate’s refusals');
      // The other guarded route keeps its own success rate: served at once.
      for (let i = 0; i < 5; i++) assert.equal((await guarded()).status, 200);
    } finally {
      await overwhelmed.failWith(undefined);
    }
    // Its window passes, and the route serves again.
    await waitFor('the overwhelmed route serves again', async () => (await request(`${mesh.gatewayUrl}/overwhelmed/test`, { headers: { 'x-api-key': KEY } })).status === 200, { timeoutMs: 20_000, intervalMs: 200 });
  });

  it('a rate-limited route: past the limit, 429 rate_limited with Retry-After until the window ends', async () => {
    const answers = await burstBeside(() => Array.from({ length: 6 }, () => request(`${mesh.gatewayUrl}/limited/test`)), steady);
    assert.equal(answers.filter((a) => a.status === 200).length, 2, answers.map((a) => a.status).join(','));
    for (const a of answers.filter((x) => x.status !== 200)) {
      assertClearRefusal(a, 429, 'rate_limited');
      assert.ok(Number(a.headers.get('retry-after')) <= 60, 'no longer than the minute window');
    }
  });

  it("a POST refused past a service's bounds keeps the caller's HTTP/1.1 connection: the next call on it is served", async () => {
    // Two slow calls fill the plain route's bounds (one in flight, one waiting); a POST then is
    // refused by Envoy the moment it is routed, which the gateway does only once it has read the
    // body whole, so the same connection carries the next call.
    const held = Array.from({ length: 2 }, () => request(`${mesh.gatewayUrl}/slow/test?delay_ms=1500`));
    const socket = net.connect(mesh.ports.gateway, '127.0.0.1');
    try {
      await waitFor('the slow route full', async () =>
        ((await mesh.envoy.admin.stat('cluster.slow.upstream_rq_active')) ?? 0) >= 1 && ((await mesh.envoy.admin.stat('cluster.slow.upstream_rq_pending_active')) ?? 0) >= 1,
        { timeoutMs: 5_000, intervalMs: 20 });
      const body = JSON.stringify({ data: 'x'.repeat(4096) });
      const refused = await exchange(socket, `POST /slow/test HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      assert.equal(refused.status, 503, refused.head);
      assert.doesNotMatch(refused.head, /^connection: close/im, 'the refusal does not end the connection');
      const served = await exchange(socket, 'GET /steady/test?msg=after HTTP/1.1\r\nhost: gw\r\n\r\n');
      assert.equal(served.status, 200, served.head);
    } finally {
      socket.destroy();
      await Promise.all(held);
    }
  });

  it("the model route: past its model's bound, 503 upstream_overloaded at its door (before the processor reads the call); the steady caller fine", async () => {
    // The door's bound is the model cluster's: one in flight, one waiting. Envoy counts a call
    // refused past a cluster's bound in flight as active_overflow, past its waiting one as pending.
    const refusedAt = async (cluster: string) =>
      ((await mesh.envoy.admin.stat(`cluster.${cluster}.upstream_rq_active_overflow`)) ?? 0) + ((await mesh.envoy.admin.stat(`cluster.${cluster}.upstream_rq_pending_overflow`)) ?? 0);
    const doorFull = () => refusedAt('door~slow-model');
    const routerFull = () => refusedAt('model~slow-model');
    const resolved = (await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/resolved`)).json()) as { gateway?: { models?: { routed?: Array<{ id: string; door?: { cluster: string; max_calls: number } }> } } };
    assert.deepEqual(resolved.gateway?.models?.routed?.find((m) => m.id === 'slow-model')?.door, { cluster: 'door~slow-model', max_calls: 2 }, 'the door in the resolved mesh');
    const [doorBefore, routerBefore] = [await doorFull(), await routerFull()];
    const answers = await burstBeside(() => Array.from({ length: 8 }, () => post(`${mesh.gatewayUrl}/v1/chat/completions`, CHAT('slow-model'))), steady);
    refusedAndServed(answers, 'upstream_overloaded');
    const refused = answers.filter((a) => a.status === 503).length;
    assert.equal((await doorFull()) - doorBefore + ((await routerFull()) - routerBefore), refused, 'each refusal counted at the door or, the processor having routed it, at the model cluster');
    assert.ok((await doorFull()) > doorBefore, 'refused at the door: ext_proc never opened a stream for it');
    const streamed = await burstBeside(() => Array.from({ length: 8 }, () => post(`${mesh.gatewayUrl}/v1/chat/completions`, { ...CHAT('slow-model'), stream: true })), steady);
    refusedAndServed(streamed, 'upstream_overloaded');
    for (const a of streamed.filter((x) => x.status === 200)) assert.match(a.text, /data: \[DONE\]/);
  });

  it('a transcoded route: a gRPC service past its bounds, 503 upstream_overloaded in JSON', async () => {
    // A served Generate streams newline-delimited JSON: read as text, the refusals as JSON.
    const generate = async (): Promise<Answer> => {
      const res = await fetch(`${mesh.gatewayUrl}/v1/inference/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'one two three four five six' }), signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: res.status === 200 ? text : JSON.parse(text) };
    };
    const answers = await burstBeside(() => Array.from({ length: 10 }, generate), steady);
    refusedAndServed(answers, 'upstream_overloaded');
    for (const a of answers.filter((x) => x.status === 200)) assert.match(a.text, /"text":" six"/, 'a served stream is whole');
  });
});

describe('a plug-in at its bound of calls in flight refuses at once', () => {
  let mesh: GatewayMesh;

  before(async () => {
    // The processor holds a stream for each model call: two at once, then it refuses.
    mesh = await startGatewayMesh({ llm: true, llmArgs: ['--h2-max-calls-in-flight=2'] });
    await mesh.addInstance({ service: 'chat', id: 'chat-1', meta: { models: 'pace-model', 'gateway-path': 'none' } });
    await waitFor('the model route', async () => (await post(`${mesh.gatewayUrl}/v1/chat/completions`, CHAT('pace-model'))).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('answers a third model call 503 JSON with Retry-After while two streams are open, counts it, and serves once they end', async () => {
    const metric = async () => Number(/^meshgate_grpc_calls_refused_busy_total (\d+)/m.exec(await (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text())?.[1] ?? NaN);
    const refusedBefore = await metric();
    // Two streams paced 150 ms a chunk: open for about two seconds.
    const held = [0, 1].map(async () => {
      const res = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-demo-pace-ms': '150' },
        body: JSON.stringify({ ...CHAT('pace-model'), stream: true }),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: res.status, text: await res.text() };
    });
    await waitFor('both streams at the processor', async () => /^meshgate_grpc_calls_in_flight 2$/m.test(await (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text()), { timeoutMs: 10_000, intervalMs: 20 });
    const third = await post(`${mesh.gatewayUrl}/v1/chat/completions`, CHAT('pace-model'));
    assert.equal(third.status, 503, third.text);
    assert.match(third.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.doesNotThrow(() => JSON.parse(third.text), 'a JSON body');
    assert.ok((await metric()) > refusedBefore, 'meshgate_grpc_calls_refused_busy_total counted it');
    for (const h of await Promise.all(held)) {
      assert.equal(h.status, 200);
      assert.match(h.text, /data: \[DONE\]/, 'the held streams were not disturbed');
    }
    await waitFor('a call served again', async () => (await post(`${mesh.gatewayUrl}/v1/chat/completions`, CHAT('pace-model'))).status === 200, { timeoutMs: 10_000, intervalMs: 100 });
  });
});

describe("Envoy's overload manager at its heap bound", () => {
  let mesh: GatewayMesh;
  let envoy: EnvoyProcess | undefined;
  const sockets: net.Socket[] = [];

  before(async () => {
    mesh = await startGatewayMesh({});
    // Bodies up to 16 MiB on /uploads/: the buffer filter holds each until it is whole.
    await mesh.consul.api.kvPut('meshgate/config/uploads', 'Kind: service-defaults\nName: uploads\nMaxRequestBytes: 16777216\n');
    await mesh.addInstance({ service: 'uploads', id: 'uploads-1', meta: { 'gateway-path': '/uploads/' } });
    await waitFor('the uploads route', async () => (await request(`${mesh.gatewayUrl}/uploads/test`)).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await envoy?.stop();
    await mesh?.stop();
  });

  it('answers 503 gateway_overloaded with Retry-After past 0.95 of the heap bound, and serves again once the memory is freed', async () => {
    // A second gateway Envoy on the same xds-server, its heap bound 48 MiB above what the first one uses.
    const memory = JSON.parse(await mesh.envoy.admin.get('/memory')) as Record<string, string>;
    const used = Number(memory['heap_size']) - Number(memory['pageheap_unmapped']) - Number(memory['pageheap_free']);
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    envoy = await startGatewayEnvoy({ nodeId: `overload-${port}`, port, adminPort, xds: { host: '127.0.0.1', port: mesh.ports.xds }, workDir: mesh.dir, maxHeapBytes: used + 48 * 1024 * 1024 });
    const url = `http://127.0.0.1:${port}/uploads/test`;
    await waitFor('the second gateway routes', async () => (await request(url).catch(() => undefined))?.status === 200, { timeoutMs: 20_000, intervalMs: 200 });
    const pressure = async () => (await envoy!.admin.stat('overload.envoy.resource_monitors.fixed_heap.pressure')) ?? NaN;
    assert.ok((await pressure()) < 90, `heap pressure before: ${await pressure()}%`);

    // Unfinished uploads of 6 MiB each (of 8 announced) until the pressure passes 95%.
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const upload = () =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write(`POST /uploads/test HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${8 * 1024 * 1024}\r\n\r\n`);
          let sent = 0;
          const more = (): void => {
            while (sent < 6 * 1024 * 1024) {
              sent += chunk.length;
              if (!s.write(chunk)) return void s.once('drain', more);
            }
            resolve();
          };
          more();
        });
        s.on('error', reject);
        sockets.push(s);
      });
    await waitFor('the heap pressure past 95%', async () => {
      if ((await pressure()) >= 95) return true;
      if (sockets.length >= 40) throw new Error(`40 uploads held and the pressure is ${await pressure()}%`);
      await upload();
      return false;
    }, { timeoutMs: 60_000, intervalMs: 300 });

    const refused = await request(url);
    assertClearRefusal(refused, 503, 'gateway_overloaded');
    assert.ok(((await envoy.admin.stat('overload.envoy.overload_actions.stop_accepting_requests.active')) ?? 0) > 0, 'the action shows as active');

    for (const s of sockets.splice(0)) s.destroy();
    await waitFor('served again', async () => (await request(url)).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
    assert.ok((await pressure()) < 95, `heap pressure after: ${await pressure()}%`);
  });
});
