// A gRPC service served as JSON over HTTP at the gateway, its descriptors found by reflection:
// real Consul, xds-server and Envoy, the demo's gRPC inference service (@grpc/grpc-js, its
// compiled descriptors served over reflection), callers with fetch, grpc-js and hand-framed
// gRPC-Web. Descriptors from Consul KV for a service without reflection; a broken one refused
// with its reason while the last good one serves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { repoRoot } from '../../launcher/repo.js';
import { sharedProtoPath } from '../../shared/proto/root.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { request, type GatewayError } from '../helpers/http.js';

const require = createRequire(import.meta.url);
const PROTOS = path.join(repoRoot(), 'demo', 'protos');
const SERVICE = 'meshgate.demo.v1.Inference';
/** Every route asks ext-authz: transcoded ones as any other. */
const KEY = 'mgk_transcoding_test_key';
const AUTH = { 'x-api-key': KEY };
const POLICY = `policies:\n  default:\n    credentials:\n      - type: api_key\n        keys:\n          - {id: k1, sha256: ${sha256(KEY).toString('hex')}, subject: app, tenant: team-a}\n`;

interface MeshView {
  descriptors: Array<{ service: string; source: string; grpcServices: string[]; methods: Array<{ method: string }> }>;
  problems: Array<{ subject: string; reason: string }>;
}

function inferenceClient(address: string): grpc.Client & Record<string, (...a: unknown[]) => unknown> {
  const definition = protoLoader.loadSync(path.join(PROTOS, 'meshgate', 'demo', 'v1', 'inference.proto'), {
    includeDirs: [PROTOS, sharedProtoPath('googleapis'), path.dirname(require.resolve('protobufjs/package.json'))],
    keepCase: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { meshgate: { demo: { v1: { Inference: grpc.ServiceClientConstructor } } } };
  return new pkg.meshgate.demo.v1.Inference(address, grpc.credentials.createInsecure()) as never;
}

describe('JSON ↔ gRPC transcoding at the gateway, descriptors by reflection', () => {
  let mesh: GatewayMesh;
  let inference: ModelServiceProcess;
  const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    request<Record<string, unknown>>(`${mesh.gatewayUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH, ...headers }, body: JSON.stringify(body) });
  /** A stream's answer as text (newline-delimited JSON is not one JSON document). */
  const streamText = async (body: unknown): Promise<string> =>
    (await fetch(`${mesh.gatewayUrl}/v1/inference/generate`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })).text();
  const meshView = async (): Promise<MeshView> => (await request<MeshView>(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/mesh`)).body;
  const defaults = async (name: string, yaml: string): Promise<void> => mesh.consul.api.kvPut(`meshgate/config/${name}-defaults`, `Kind: service-defaults\nName: ${name}\n${yaml}`);

  before(async () => {
    mesh = await startGatewayMesh({ xdsArgs: ['--descriptor-refresh=1h'], authzPolicy: POLICY });
    inference = await mesh.addInstance({ program: 'grpc-inference', service: 'inference', id: 'inference-1', meta: { protocol: 'grpc', transcode: 'on' }, extraArgs: ['--pace-ms=40'] });
    await waitFor('the REST path routed', async () => (await post('/v1/inference/embed', { model: 'm', input: ['x'] })).status === 200, { timeoutMs: 20_000, intervalMs: 100 });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('takes JSON at the gRPC path and the annotations’ REST paths, calls the instance over gRPC, answers JSON', async () => {
    for (const p of [`/${SERVICE}/Embed`, '/v1/inference/embed']) {
      const a = await post(p, { model: 'embed-small', input: ['hello world', 'one'] });
      assert.equal(a.status, 200, `${p}: ${a.text}`);
      assert.match(a.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(a.body, { model: 'embed-small', instance: 'inference-1', data: [{ values: [11, 2, 0.5] }, { values: [3, 1, 0.5] }] });
    }
    const info = await request<Record<string, unknown>>(`${mesh.gatewayUrl}/v1/inference/info`, { headers: AUTH });
    assert.equal(info.status, 200, info.text);
    assert.deepEqual(info.body, { instance: 'inference-1', service: 'inference' });
    // The service's descriptor, as the xds-server holds it.
    const view = await meshView();
    const d = view.descriptors.find((x) => x.service === 'inference');
    assert.ok(d, JSON.stringify(view));
    assert.match(d.source, /^reflection inference-1 \(127\.0\.0\.1:\d+\)$/);
    assert.deepEqual(d.grpcServices, [SERVICE]);
    assert.deepEqual(d.methods.map((m) => m.method).sort(), ['Embed', 'Generate', 'Info']);
  });

  it('asks ext-authz on the transcoded paths as on any route: no key, a 401 in JSON that reaches no instance', async () => {
    const calls = async () => (await mesh.envoy.admin.stat('cluster.inference.upstream_rq_total')) ?? 0;
    const before = await calls();
    for (const p of [`/${SERVICE}/Embed`, '/v1/inference/embed']) {
      const a = await request<GatewayError>(`${mesh.gatewayUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":["x"]}' });
      assert.equal(a.status, 401, `${p}: ${a.text}`);
      assert.equal(a.body.error.code, 'unauthenticated');
    }
    assert.equal(await calls(), before);
  });

  it('streams a server-streaming method as newline-delimited JSON, each message as the instance sends it', async () => {
    const res = await fetch(`${mesh.gatewayUrl}/v1/inference/generate`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ prompt: 'one two three' }), signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    const arrivals: Array<{ at: number; text: string }> = [];
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) arrivals.push({ at: Date.now(), text: decoder.decode(chunk as Uint8Array) });
    const lines = arrivals.map((a) => a.text).join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { text: string; index?: number });
    assert.deepEqual(lines.map((l) => l.text).join(''), 'You said: one two three');
    assert.equal(lines.length, 5);
    // Paced 40 ms apart by the instance: they arrive over time, not in one piece at the end.
    assert.ok(arrivals.length >= 3, `${arrivals.length} chunks`);
    assert.ok(arrivals.at(-1)!.at - arrivals[0]!.at >= 80, 'the messages arrived as they were sent');
  });

  it('maps each gRPC status to its HTTP status, in the gateway’s JSON error shape with the decoded message', async () => {
    const cases: Array<[code: number, name: string, http: number, kind: string]> = [
      [3, 'INVALID_ARGUMENT', 400, 'bad_request'],
      [5, 'NOT_FOUND', 404, 'not_found'],
      [16, 'UNAUTHENTICATED', 401, 'unauthenticated'],
      [7, 'PERMISSION_DENIED', 403, 'forbidden'],
      [8, 'RESOURCE_EXHAUSTED', 429, 'rate_limited'],
      [14, 'UNAVAILABLE', 503, 'unavailable'],
      [4, 'DEADLINE_EXCEEDED', 504, 'gateway_timeout'],
    ];
    for (const [code, name, http, kind] of cases) {
      const a = await post('/v1/inference/generate', { prompt: 'x', fail_with: code });
      assert.equal(a.status, http, `${name}: ${a.text}`);
      const e = a.body as unknown as GatewayError;
      assert.equal(e.error.status, http);
      assert.equal(e.error.code, kind);
      assert.equal(e.error.message, `asked to fail with code ${code}`);
      assert.ok(e.error.request_id);
      assert.equal(a.headers.get('grpc-status-name'), name);
    }
    // A unary method's error too (the instance refuses an empty input).
    const a = await post(`/${SERVICE}/Embed`, { model: 'm', input: [] });
    assert.equal(a.status, 400, a.text);
    assert.equal((a.body as unknown as GatewayError).error.message, 'input must have at least one text');
  });

  it('answers an unknown method, or a known path with another verb, 404 in JSON and calls nobody; a body that is not JSON, 400', async () => {
    const calls = async () => (await mesh.envoy.admin.stat('cluster.inference.upstream_rq_total')) ?? 0;
    const before = await calls();
    for (const [method, p] of [
      ['POST', `/${SERVICE}/Nope`],
      ['GET', '/v1/inference/embed'],
    ] as const) {
      const a = await request<GatewayError>(`${mesh.gatewayUrl}${p}`, { method, headers: { ...AUTH, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: '{}' } : {}) });
      assert.equal(a.status, 404, `${method} ${p}: ${a.text}`);
      assert.equal(a.body.error.code, 'not_found');
      assert.match(a.body.error.message, /Could not resolve .* to a method/);
    }
    assert.equal(await calls(), before);
    // A body that is not JSON at all: 400, in JSON. (The call's headers may have gone upstream
    // already — the transcoder converts as the body comes — and the stream is then reset.)
    const bad = await request<GatewayError>(`${mesh.gatewayUrl}/v1/inference/embed`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"model": ' });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.code, 'bad_request');
  });

  it('still serves native gRPC callers through the same route, their errors as gRPC statuses', async () => {
    const client = inferenceClient(`127.0.0.1:${mesh.ports.gateway}`);
    try {
      const call = (req: unknown) =>
        new Promise<{ err: grpc.ServiceError | null; res: unknown }>((resolve) => {
          const metadata = new grpc.Metadata();
          metadata.set('x-api-key', KEY);
          (client['Embed'] as (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void).call(client, req, metadata, (err, res) => resolve({ err, res }));
        });
      const ok = await call({ model: 'm', input: ['a b'] });
      assert.equal(ok.err, null);
      assert.equal((ok.res as { instance: string }).instance, 'inference-1');
      const bad = await call({ model: 'm', input: [] });
      assert.equal(bad.err?.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(bad.err?.details, 'input must have at least one text');
    } finally {
      client.close();
    }
  });

  it('serves server-sent events and refuses a body past the limit, as the service-defaults say', async () => {
    await defaults('inference', 'MaxRequestBytes: 1024\nTranscoding: {Streams: sse}');
    await waitFor('events', async () => (await streamText({ prompt: 'a b' })).startsWith('data: '), { timeoutMs: 10_000, intervalMs: 100 });
    const events = await streamText({ prompt: 'a b' });
    assert.deepEqual(
      events.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')).text),
      ['You', ' said:', ' a', ' b'],
    );
    const big = await post('/v1/inference/embed', { model: 'm', input: ['x'.repeat(4096)] });
    assert.equal(big.status, 413, big.text);
    assert.equal((big.body as unknown as GatewayError).error.code, 'payload_too_large');
    await mesh.consul.api.kvDelete('meshgate/config/inference-defaults');
    await waitFor('newline-delimited again', async () => (await streamText({ prompt: 'a' })).startsWith('{'), { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('answers gRPC-Web (hand-framed) with the CORS policy of the service-defaults, for the origins it names only', async () => {
    await defaults('inference', 'Transcoding: {GrpcWeb: {AllowOrigins: ["https://app.example"]}}');
    const frame = (flags: number, payload: Uint8Array): Buffer => {
      const head = Buffer.from([flags, 0, 0, 0, 0]);
      head.writeUInt32BE(payload.length, 1);
      return Buffer.concat([head, payload]);
    };
    const web = () =>
      fetch(`${mesh.gatewayUrl}/${SERVICE}/Info`, {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', origin: 'https://app.example', ...AUTH },
        body: frame(0, new Uint8Array()),
        signal: AbortSignal.timeout(5_000),
      });
    await waitFor('gRPC-Web answered', async () => (await web()).headers.get('content-type')?.startsWith('application/grpc-web') ?? false, { timeoutMs: 10_000, intervalMs: 100 });
    const res = await web();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    const body = Buffer.from(await res.arrayBuffer());
    // A data frame (flag 0) with the InfoResponse, then the trailers frame (flag 0x80).
    assert.equal(body[0], 0);
    const length = body.readUInt32BE(1);
    const root = protobuf.Root.fromJSON({ nested: { InfoResponse: { fields: { instance: { type: 'string', id: 1 }, service: { type: 'string', id: 2 } } } } });
    const info = root.lookupType('InfoResponse').decode(body.subarray(5, 5 + length)) as unknown as { instance: string; service: string };
    assert.deepEqual({ instance: info.instance, service: info.service }, { instance: 'inference-1', service: 'inference' });
    const trailers = body.subarray(5 + length);
    assert.equal(trailers[0], 0x80);
    assert.match(trailers.subarray(5).toString(), /grpc-status:\s*0/);

    // A browser's preflight carries no credentials: CORS answers it before ext-authz.
    const preflight = (origin: string) =>
      fetch(`${mesh.gatewayUrl}/${SERVICE}/Info`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web' }, signal: AbortSignal.timeout(5_000) });
    const allowed = await preflight('https://app.example');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /x-grpc-web/);
    const other = await preflight('https://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    await mesh.consul.api.kvDelete('meshgate/config/inference-defaults');
  });

  it('serves a method the service gained when it restarted with a new version, with nothing else changed', async () => {
    const tokenize = () => post('/v1/inference/tokenize', { text: 'a b c' });
    assert.equal((await tokenize()).status, 404, 'not a method yet');
    await inference.stop();
    const started = Date.now();
    inference = await mesh.addInstance({ program: 'grpc-inference', service: 'inference', id: 'inference-1', meta: { protocol: 'grpc', transcode: 'on' }, extraArgs: ['--api=v2'] });
    await waitFor('Tokenize reachable', async () => (await tokenize()).status === 200, { timeoutMs: 20_000, intervalMs: 50 });
    const a = await tokenize();
    assert.deepEqual(a.body, { tokens: ['a', 'b', 'c'], instance: 'inference-1' });
    process.stdout.write(`# new method reachable ${Date.now() - started} ms after the restart began\n`);
    assert.equal((await post('/v1/inference/embed', { model: 'm', input: ['x'] })).status, 200, 'the other methods still served');
  });

  it('takes a descriptor from Consul KV for a service without reflection, and keeps the last good one when a broken one comes', async () => {
    // The reflection-served service hands its paths over: transcoding off for it.
    await defaults('inference', 'Transcoding: {Enabled: false}');
    await mesh.addInstance({ program: 'grpc-inference', service: 'inference-plain', id: 'inference-plain-1', meta: { protocol: 'grpc', transcode: 'on' }, extraArgs: ['--reflection=off'] });
    await waitFor(
      'the reflection failure reported',
      async () => (await meshView()).problems.some((p) => p.subject === 'descriptor/inference-plain' && /no reflection service/.test(p.reason)),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal((await post('/v1/inference/embed', { model: 'm', input: ['x'] })).status, 404, 'nobody transcodes it now');

    await mesh.consul.api.kvPut('meshgate/descriptors/inference-plain', fs.readFileSync(path.join(PROTOS, 'inference.pb')).toString('base64'));
    await waitFor('served from the KV descriptor', async () => (await post('/v1/inference/embed', { model: 'm', input: ['x'] })).body['instance'] === 'inference-plain-1', { timeoutMs: 15_000, intervalMs: 100 });
    const view = await meshView();
    assert.match(view.descriptors.find((d) => d.service === 'inference-plain')!.source, /^consul kv meshgate\/descriptors\/inference-plain/);
    assert.ok(!view.problems.some((p) => p.subject === 'descriptor/inference-plain'), 'the problem cleared');

    await mesh.consul.api.kvPut('meshgate/descriptors/inference-plain', 'not a descriptor set!');
    await waitFor(
      'the broken descriptor refused',
      async () => (await meshView()).problems.some((p) => p.subject === 'descriptor/inference-plain' && /not base64/.test(p.reason)),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const metrics = await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/metrics`)).text();
    assert.match(metrics, /meshgate_xds_descriptor_fetches_total\{service="inference-plain",source="consul",result="refused"\} 1/);
    const a = await post('/v1/inference/embed', { model: 'm', input: ['x'] });
    assert.equal(a.status, 200, 'the last good descriptor serves');
    assert.equal(a.body['instance'], 'inference-plain-1');
  });

  it('compiles .proto text from Consul KV (buf), and refuses text that does not compile with buf’s reason while the last good serves', async () => {
    // The next version's text: Tokenize becomes reachable (the instance serves v1 only, so it
    // answers UNIMPLEMENTED — as JSON, 501 — which shows the descriptor changed).
    const v2 = fs.readFileSync(path.join(PROTOS, 'meshgate', 'demo', 'v1', 'inference_v2.proto'), 'utf8');
    await mesh.consul.api.kvPut('meshgate/descriptors/inference-plain', v2);
    await waitFor('Tokenize routed from the .proto text', async () => (await post('/v1/inference/tokenize', { text: 'a b' })).status === 501, { timeoutMs: 15_000, intervalMs: 100 });
    const view = await meshView();
    const d = view.descriptors.find((x) => x.service === 'inference-plain')!;
    assert.match(d.source, /^consul kv meshgate\/descriptors\/inference-plain \(index \d+\), compiled by buf$/);
    assert.deepEqual(d.methods.map((m) => m.method).sort(), ['Embed', 'Generate', 'Info', 'Tokenize']);
    assert.ok(!view.problems.some((p) => p.subject === 'descriptor/inference-plain'));
    const unimplemented = await post('/v1/inference/tokenize', { text: 'a b' });
    assert.equal((unimplemented.body as unknown as GatewayError).error.code, 'not_implemented');

    await mesh.consul.api.kvPut('meshgate/descriptors/inference-plain', v2.replace('string text = 1;', 'strin text = 1;'));
    await waitFor(
      'the text that does not compile refused',
      async () => (await meshView()).problems.some((p) => p.subject === 'descriptor/inference-plain' && /does not compile: .*cannot find `strin`/.test(p.reason)),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal((await post('/v1/inference/tokenize', { text: 'a b' })).status, 501, 'the last good (compiled) descriptor serves');
    assert.equal((await post('/v1/inference/embed', { model: 'm', input: ['x'] })).status, 200);
  });
});
