// The console's pure parts: the overview from its sources' answers (an unreachable source said
// once, with why), the recent-requests window and its searches, an access-log entry read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentRequests } from '../../console/access-log/recent-requests.js';
import { requestRecord, type RequestRecord } from '../../console/access-log/request-record.js';
import { buildOverview } from '../../console/overview.js';

const record = (i: number, status: number, service = 'llm-chat'): RequestRecord => ({
  at: new Date(i * 1000).toISOString(),
  requestId: `req-${i}`,
  method: 'GET',
  path: '/',
  status,
  flags: [],
  details: '',
  service,
  upstream: '',
  route: '',
  durationMs: 1,
  bytesIn: 0,
  bytesOut: 0,
});

describe('console: recent requests', () => {
  it('keeps the newest up to its capacity and searches them newest first', () => {
    const r = new RecentRequests(3);
    for (let i = 1; i <= 5; i++) r.add(record(i, i === 4 ? 503 : 200, i === 5 ? 'embed' : 'llm-chat'));
    assert.equal(r.kept, 3);
    assert.equal(r.received, 5);
    assert.deepEqual(r.search({}).map((x) => x.requestId), ['req-5', 'req-4', 'req-3']);
    assert.deepEqual(r.search({ status: '5xx' }).map((x) => x.requestId), ['req-4']);
    assert.deepEqual(r.search({ status: '200', service: 'llm-chat' }).map((x) => x.requestId), ['req-3']);
    assert.deepEqual(r.search({ requestId: 'req-1' }), [], 'req-1 is out of the window');
    assert.equal(r.search({ limit: 1 }).length, 1);
  });

  it('reads an access-log entry: status, flags, service, metadata (tenant, model, tokens), bounded texts', () => {
    const r = requestRecord({
      common_properties: {
        start_time: { seconds: 1_700_000_000, nanos: 0 },
        duration: { seconds: 0, nanos: 12_500_000 },
        upstream_cluster: 'model~llama',
        upstream_remote_address: { socket_address: { address: '10.0.0.1', port_value: 8000 } },
        response_flags: { no_healthy_upstream: false, upstream_request_timeout: true, unauthorized_details: null },
        metadata: {
          filter_metadata: {
            'envoy.filters.http.ext_authz': { fields: { tenant: { string_value: 'acme' } } },
            'meshgate.llm': { fields: { model: { string_value: 'llama' }, total_tokens: { number_value: 42 } } },
          },
        },
      },
      request: { request_method: 3, path: `/v1/${'x'.repeat(1000)}`, request_id: 'abc' },
      response: { response_code: { value: 504 }, response_code_details: 'upstream_response_timeout' },
    });
    assert.equal(r.method, 'POST');
    assert.equal(r.status, 504);
    assert.deepEqual(r.flags, ['upstream_request_timeout']);
    assert.equal(r.service, 'model~llama');
    assert.equal(r.upstream, '10.0.0.1:8000');
    assert.equal(r.durationMs, 12.5);
    assert.deepEqual([r.tenant, r.model, r.totalTokens], ['acme', 'llama', 42]);
    assert.ok(r.path.length <= 257);
    assert.equal(r.at, new Date(1_700_000_000_000).toISOString());
  });
});

describe('console: the overview', () => {
  const mesh = {
    ok: true as const,
    data: {
      synced: true,
      services: [{ name: 'llm-chat', settings: { models: ['llama'] }, instances: [{ id: 'a', address: '10.0.0.1', port: 1, health: 'HEALTHY', registry: 'consul' }, { id: 'b', address: '10.0.0.2', port: 1, health: 'UNHEALTHY', registry: 'eureka' }] }],
      problems: [{ subject: 'service llm-b', reason: 'meta "timeout": "soon" is not a duration', since: 't' }],
      registries: [
        { registry: 'consul', up: true, synced: true, since: 't0', services: 3, instances: 5 },
        { registry: 'eureka', up: false, synced: true, reason: 'ECONNREFUSED', since: 't1', services: 1, instances: 1 },
      ],
    },
  };
  const proxies = {
    ok: true as const,
    data: [{ node_id: 'gw', role: 'gateway:0.0.0.0:8080', api: 'delta', peer: 'x', types: { cluster: { status: 'SYNCED', acked_version: '1', last_nack: null }, route: { status: 'NACKED', acked_version: '1', last_nack: { version: '2', message: 'bad regex', at: 't' } } } }],
  };
  const entries = { ok: true as const, data: { documents: [{ id: 'consul:x', state: 'refused', last_refusal: { reason: 'Kind: unknown', at: 't2' } }] } };

  it('joins services with their traffic, proxies with their worst status and Envoy’s reason, and every refusal', () => {
    const sample = (service: string, value: number) => ({ ok: true as const, data: [{ labels: { service }, value }] });
    const none = { ok: true as const, data: [] };
    const o = buildOverview({
      mesh,
      proxies,
      entries,
      prometheus: {
        traffic: { rps: sample('llm-chat', 2.5), successRatio: sample('llm-chat', 0.99), p50Ms: sample('llm-chat', 12), p99Ms: sample('llm-chat', Number.NaN), requestBytesPerSecond: none, responseBytesPerSecond: none, tokensPerSecond: sample('llm-chat', 40), ttftP50Seconds: none, refusedPerSecond: sample('llm-chat', 7) },
        alerts: { ok: true, data: [{ labels: { alertname: 'MeshgateProxyNacked', severity: 'page' }, annotations: { summary: 'proxy gw rejects' }, state: 'firing', activeAt: 't' }] },
        authz: { ok: true, data: [{ labels: { policy: 'default', result: 'unauthenticated' }, value: 3.2 }] },
        near: none,
        over: { ok: true, data: [{ labels: { descriptor: 'generic_key_tokens' }, value: 1 }] },
        pools: {
          queued: { ok: true, data: [{ labels: { priority: 'standard', tenant: 'flood' }, value: 12.2 }, { labels: { priority: 'standard', tenant: 'chat' }, value: 2 }] },
          refused: { ok: true, data: [{ labels: { priority: 'sheddable', tenant: 'flood', reason: 'sheddable' }, value: 4 }, { labels: { priority: 'standard', tenant: 'flood', reason: 'waited_too_long' }, value: 1 }] },
          waiting: { ok: true, data: [{ labels: { gen_ai_request_model: 'llama', priority: 'standard' }, value: 3 }, { labels: { gen_ai_request_model: 'llama', priority: 'critical' }, value: 0 }] },
        },
        targets: { ok: true, data: [{ labels: { job: 'meshgate', instance: 'ext-authz-1' }, health: 'down', lastError: 'connection refused' }] },
      },
    });
    assert.deepEqual(o.unreachable, []);
    assert.deepEqual(o.services[0], { name: 'llm-chat', models: ['llama'], healthy: 1, instances: mesh.data.services[0]!.instances, traffic: { rps: 2.5, successRatio: 0.99, p50Ms: 12, tokensPerSecond: 40, refusedPerSecond: 7 } });
    assert.deepEqual(o.proxies, [{ node: 'gw', role: 'gateway', api: 'delta', status: 'NACKED', nack: { type: 'route', message: 'bad regex', at: 't' } }]);
    assert.deepEqual(o.registries, mesh.data.registries, 'each registry with its state, as the xds-server reports it');
    assert.deepEqual(o.configRefusals.map((r) => r.subject), ['service llm-b', 'config entry consul:x']);
    assert.deepEqual(o.alerts[0], { name: 'MeshgateProxyNacked', state: 'firing', severity: 'page', summary: 'proxy gw rejects', since: 't' });
    assert.deepEqual(o.authz, [{ policy: 'default', result: 'unauthenticated', lastHour: 3 }]);
    assert.deepEqual(o.ratelimit, [{ descriptor: 'generic_key_tokens', near: 0, over: 1 }]);
    assert.deepEqual(o.downTargets, [{ job: 'meshgate', instance: 'ext-authz-1', error: 'connection refused' }]);
    assert.deepEqual(o.pools, {
      callers: [
        { priority: 'standard', tenant: 'chat', queued: 2, refused: 0, refusedBy: {} },
        { priority: 'standard', tenant: 'flood', queued: 12, refused: 1, refusedBy: { waited_too_long: 1 } },
        { priority: 'sheddable', tenant: 'flood', queued: 0, refused: 4, refusedBy: { sheddable: 4 } },
      ],
      waiting: [{ model: 'llama', priority: 'standard', count: 3 }],
    });
  });

  it('says once per source what it could not read, and shows the rest', () => {
    const down = { ok: false as const, source: 'prometheus', reason: 'ECONNREFUSED' };
    const o = buildOverview({
      mesh,
      proxies: { ok: false, source: 'xds-server', reason: 'no answer within 3000 ms' },
      entries,
      prometheus: { traffic: { rps: down, successRatio: down, p50Ms: down, p99Ms: down, requestBytesPerSecond: down, responseBytesPerSecond: down, tokensPerSecond: down, ttftP50Seconds: down, refusedPerSecond: down }, alerts: down, authz: down, near: down, over: down, pools: { queued: down, refused: down, waiting: down }, targets: down },
    });
    assert.deepEqual([...o.unreachable].sort((a, b) => (a.source < b.source ? -1 : 1)), [{ source: 'prometheus', reason: 'ECONNREFUSED' }, { source: 'xds-server', reason: 'no answer within 3000 ms' }]);
    assert.equal(o.services.length, 1);
    assert.deepEqual(o.proxies, []);
    assert.deepEqual(buildOverview({ mesh, proxies, entries }).unreachable, [{ source: 'prometheus', reason: 'not configured (--prometheus): no traffic series or alerts' }]);
  });
});
