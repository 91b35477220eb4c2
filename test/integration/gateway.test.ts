// A real Consul, the xds-server and a real gateway Envoy: what a caller and an operator see.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { waitFor } from '../../launcher/wait.js';
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { instancesAnswering, request, type EchoBody, type GatewayError } from '../helpers/http.js';

const RETAIN_VANISHED_MS = 4_000;

describe('gateway: Consul → xds-server → Envoy', () => {
  let mesh: GatewayMesh;

  before(async () => {
    // A vanished service keeps its route (503) this long, then it is gone (404).
    mesh = await startGatewayMesh({ xdsArgs: [`--retain-vanished=${RETAIN_VANISHED_MS}ms`] });
    for (const id of ['llm-chat-1', 'llm-chat-2']) {
      await mesh.addInstance({ service: 'llm-chat', id, meta: { 'gateway-path': '/v1/,/test' } });
    }
    // Both by name: a mix of one instance and a 404 or 503 from before the route is whole is
    // also two kinds of answer.
    const both = (seen: Map<string, number>): boolean => seen.has('llm-chat-1') && seen.has('llm-chat-2');
    await waitFor('both llm-chat instances routable', async () => both(await instancesAnswering(mesh.gatewayUrl, 10)), {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('spreads requests over both instances of a service', async () => {
    const seen = await instancesAnswering(mesh.gatewayUrl, 20);
    assert.deepEqual([...seen.keys()].sort(), ['llm-chat-1', 'llm-chat-2']);
  });

  it('answers an OpenAI-style chat completion through the gateway', async () => {
    const a = await request<{ choices: Array<{ message: { content: string } }>; usage: { total_tokens: number } }>(
      `${mesh.gatewayUrl}/v1/chat/completions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hello mesh' }] }),
      },
    );
    assert.equal(a.status, 200);
    assert.equal(a.body.choices[0]?.message.content, 'You said: hello mesh');
    assert.equal(a.body.usage.total_tokens, 2 + 4);
  });

  it('answers an unknown path with 404 in the JSON error shape', async () => {
    const a = await request<GatewayError>(`${mesh.gatewayUrl}/no/such/path`);
    assert.equal(a.status, 404);
    assert.match(a.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(a.body.error.status, 404);
    assert.equal(a.body.error.code, 'route_not_found');
    assert.equal(typeof a.body.error.message, 'string');
    assert.match(a.body.error.request_id, /^[0-9a-f-]{36}$/);
  });

  it('stops sending to an instance within 2 s of its check turning critical', async () => {
    const sick = mesh.services.find((s) => s.id === 'llm-chat-1')!;
    await sick.setHealthy(false);
    await waitFor(
      'Consul to mark llm-chat-1 critical',
      async () => {
        const entries = await mesh.consul.api.healthService('llm-chat');
        const e = entries.find((x) => x.Service.ID === 'llm-chat-1');
        return e?.Checks.some((c) => c.Status === 'critical');
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const criticalAt = Date.now();
    await waitFor(
      'no request to reach llm-chat-1',
      async () => !(await instancesAnswering(mesh.gatewayUrl, 6)).has('llm-chat-1'),
      { timeoutMs: 2_000, intervalMs: 10 },
    );
    const elapsed = Date.now() - criticalAt;
    const after = await instancesAnswering(mesh.gatewayUrl, 30);
    assert.deepEqual([...after.keys()], ['llm-chat-2'], `requests after ${elapsed} ms`);

    await sick.setHealthy(true);
    await waitFor('llm-chat-1 back in rotation', async () => (await instancesAnswering(mesh.gatewayUrl, 10)).has('llm-chat-1'), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
  });

  it('answers 503 in the JSON error shape when every instance is gone, until --retain-vanished has passed; then 404', async () => {
    const solo = await mesh.addInstance({ service: 'solo', id: 'solo-1', meta: { 'gateway-path': '/solo' } });
    await waitFor('solo-1 to answer', async () => (await request<EchoBody>(`${mesh.gatewayUrl}/solo?x=1`)).status !== 404, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    await solo.stop(); // deregisters itself
    const gone = Date.now();
    // Until Envoy has the deregistration, a request may still reach the stopping instance and get
    // a 503 upstream_unavailable; once it has, every answer is no_healthy_upstream.
    const a = await waitFor(
      'the gateway to answer 503 no_healthy_upstream for solo',
      async () => {
        const r = await request<GatewayError>(`${mesh.gatewayUrl}/solo`);
        return r.status === 503 && r.body.error.code === 'no_healthy_upstream' ? r : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.equal(a.body.error.status, 503);
    assert.equal(a.body.error.code, 'no_healthy_upstream');
    assert.match(a.body.error.request_id, /^[0-9a-f-]{36}$/);
    // Every answer until the route goes is that 503 (a flapping registration keeps its route),
    // and the 404 comes once the retention has passed, not before.
    const seen = new Set<number>();
    const notFoundAt = await waitFor(
      'the route of the vanished service to go',
      async () => {
        const status = (await request(`${mesh.gatewayUrl}/solo`)).status;
        seen.add(status);
        return status === 404 ? Date.now() : undefined;
      },
      { timeoutMs: RETAIN_VANISHED_MS + 10_000, intervalMs: 100 },
    );
    assert.deepEqual([...seen].sort(), [404, 503]);
    assert.ok(notFoundAt - gone >= RETAIN_VANISHED_MS - 500, `404 after ${notFoundAt - gone} ms, retention ${RETAIN_VANISHED_MS} ms`);
  });

  it('sends nothing to a service whose every instance is critical (no panic mode): 503, and no request reaches them', async () => {
    const sick = [];
    for (const id of ['sick-1', 'sick-2']) sick.push(await mesh.addInstance({ service: 'sick', id, meta: { 'gateway-path': '/sick' } }));
    await waitFor('sick routable', async () => (await request(`${mesh.gatewayUrl}/sick`)).status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    for (const s of sick) await s.setHealthy(false);
    await waitFor('the gateway to see both critical', async () => (await mesh.envoy.admin.clusters()).get('sick')?.every((h) => !h.healthy), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const sent = async (): Promise<number> => (await mesh.envoy.admin.stat('cluster.sick.upstream_rq_total')) ?? 0;
    const before = await sent();
    for (let i = 0; i < 20; i++) {
      const r = await request<GatewayError>(`${mesh.gatewayUrl}/sick`);
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'no_healthy_upstream');
    }
    assert.equal(await sent(), before, 'no request went to a critical instance');
    assert.equal(await mesh.envoy.admin.stat('cluster.sick.lb_healthy_panic'), 0, 'Envoy never entered panic mode');
    for (const s of sick) await s.stop();
  });

  it('removes every identity header a client sends (no ext-authz in this mesh)', async () => {
    const forged = Object.fromEntries(Object.values(DEFAULT_IDENTITY_HEADERS).map((h) => [h, 'forged']));
    const r = await request<EchoBody>(`${mesh.gatewayUrl}/test?msg=who`, { headers: forged });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body.headers).filter((h) => h.startsWith('x-auth-')), []);
  });

  it('lists the models of healthy services at GET /v1/models, to the official openai SDK, without calling a service', async () => {
    const a = await mesh.addInstance({ service: 'models-a', id: 'models-a-1', meta: { 'gateway-path': '/models-a/', models: 'llama-3.1-8b,qwen2.5-7b' } });
    await mesh.addInstance({ service: 'models-b', id: 'models-b-1', meta: { 'gateway-path': '/models-b/', models: 'qwen2.5-7b' } });
    const client = new OpenAI({ apiKey: 'not-needed-here', baseURL: `${mesh.gatewayUrl}/v1`, maxRetries: 0 });
    const list = async (): Promise<string> => {
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(`${m.id}@${m.owned_by}`);
      return ids.join(' ');
    };
    await waitFor('both services in the list', async () => (await list()) === 'llama-3.1-8b@models-a qwen2.5-7b@models-a,models-b', { timeoutMs: 15_000, intervalMs: 200 });
    // The list is the gateway's own answer: no instance of either service was asked.
    const asked = async (): Promise<number> => ((await mesh.envoy.admin.stat('cluster.models-a.upstream_rq_total')) ?? 0) + ((await mesh.envoy.admin.stat('cluster.models-b.upstream_rq_total')) ?? 0);
    const askedBefore = await asked();
    const res = await fetch(`${mesh.gatewayUrl}/v1/models`);
    assert.equal(await asked(), askedBefore, 'no request reached a model service');
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-envoy-upstream-service-time'), null, 'answered by Envoy itself');
    // A service with no healthy instance is not offered.
    await a.setHealthy(false);
    await waitFor('models-a out of the list', async () => (await list()) === 'qwen2.5-7b@models-b', { timeoutMs: 15_000, intervalMs: 200 });
    await a.setHealthy(true);
  });

  it('refuses a body over the service-defaults MaxRequestBytes with 413 JSON, and takes one under it', async () => {
    await mesh.addInstance({ service: 'small-bodies', id: 'small-bodies-1', meta: { 'gateway-path': '/small/' } });
    const post = (bytes: number) => request<GatewayError>(`${mesh.gatewayUrl}/small/upload`, { method: 'POST', body: 'x'.repeat(bytes), headers: { 'content-type': 'text/plain' } });
    await waitFor('small-bodies to take a 4 KiB body before the limit', async () => (await post(4096)).status === 200, { timeoutMs: 15_000, intervalMs: 200 });
    await mesh.consul.api.kvPut('meshgate/config/small-bodies', 'Kind: service-defaults\nName: small-bodies\nMaxRequestBytes: 1024\n');
    const refused = await waitFor(
      'the limit at the gateway',
      async () => {
        const r = await post(4096);
        return r.status === 413 ? r : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.equal(refused.body.error.code, 'payload_too_large');
    assert.equal((await post(512)).status, 200);
    // Another service has no limit of the gateway's.
    assert.equal((await request(`${mesh.gatewayUrl}/test?msg=x`, { method: 'POST', body: 'x'.repeat(4096) })).status, 200);
  });

  it('routes a service registered at run time, with nothing restarted', async () => {
    const envoyPid = mesh.envoy.process.pid;
    await mesh.addInstance({ service: 'late', id: 'late-1', meta: { 'gateway-path': '/late' } });
    const a = await waitFor(
      'late-1 to answer through the gateway',
      async () => {
        const r = await request<EchoBody>(`${mesh.gatewayUrl}/late?msg=hi`);
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(a.body.instance, 'late-1');
    assert.equal(a.body.msg, 'hi');
    assert.equal(mesh.envoy.process.pid, envoyPid);
    assert.ok(mesh.envoy.process.running());
  });

  it('answers 504 in the JSON error shape when a service is slower than its timeout', async () => {
    await mesh.addInstance({ service: 'slow', id: 'slow-1', meta: { 'gateway-path': '/slow', timeout: '300ms' } });
    await waitFor('slow-1 routable', async () => (await request(`${mesh.gatewayUrl}/slow?msg=a`)).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const started = Date.now();
    const a = await request<GatewayError>(`${mesh.gatewayUrl}/slow?delay_ms=3000`);
    assert.equal(a.status, 504);
    assert.equal(a.body.error.code, 'upstream_timeout');
    assert.ok(Date.now() - started < 2_000, 'answered at the route timeout, not the upstream delay');
  });

  it('refuses invalid service meta with its reason and does not route it', async () => {
    await mesh.addInstance({ service: 'broken', id: 'broken-1', meta: { 'gateway-path': '/broken', protocol: 'carrier-pigeon' } });
    const mesh_ = await waitFor(
      'the problem to show in /debug/mesh',
      async () => {
        const m = await mesh.xds.getJson<{ problems: Array<{ subject: string; reason: string }> }>('/debug/mesh');
        return m.problems.find((p) => p.subject === 'service/broken') ? m : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const problem = mesh_.problems.find((p) => p.subject === 'service/broken')!;
    assert.match(problem.reason, /meta "protocol": "carrier-pigeon" is not one of http, http2, grpc/);
    const metrics = await (await fetch(`${mesh.xds.adminUrl}/metrics`)).text();
    assert.match(metrics, /^meshgate_mesh_problems 1$/m);
    assert.equal((await request(`${mesh.gatewayUrl}/broken`)).status, 404);
    // and the rest of the mesh is untouched
    assert.equal((await request(`${mesh.gatewayUrl}/test?msg=ok`)).status, 200);
  });

  it("holds in Envoy's config dump exactly what the xds-server sent, and reports the ACKs", async () => {
    type Snap = Record<'cluster' | 'endpoint' | 'listener' | 'route', { version: string; resources: Array<Record<string, unknown>> }>;
    type Dump = { configs: Array<Record<string, unknown>> };
    const [role] = await mesh.xds.getJson<Array<{ role: string }>>('/debug/snapshots');
    assert.ok(role);
    const { snap, dump } = await waitFor(
      'Envoy to hold the latest versions',
      async () => {
        const s = await mesh.xds.getJson<Snap>(`/debug/snapshots/${encodeURIComponent(role.role)}`);
        const d = (await mesh.envoy.admin.configDump()) as Dump;
        const byType = (t: string) => d.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${t}`) as Record<string, unknown>;
        // The CDS and LDS versions Envoy applied last (each resource keeps the version at which
        // it last changed); RDS versions are per route table.
        const routes = byType('RoutesConfigDump')['dynamic_route_configs'] as Array<{ version_info: string }>;
        const ok =
          byType('ClustersConfigDump')['version_info'] === s.cluster.version &&
          byType('ListenersConfigDump')['version_info'] === s.listener.version &&
          routes[0]?.version_info === s.route.version;
        return ok ? { snap: s, dump: d } : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    const clustersDump = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump')!;
    const names = (clustersDump['dynamic_active_clusters'] as Array<{ cluster: { name: string } }>).map((c) => c.cluster.name).sort();
    assert.deepEqual(names, snap.cluster.resources.map((r) => r['name'] as string).sort());

    const routesDump = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump')!;
    const routeConfig = (routesDump['dynamic_route_configs'] as Array<{ route_config: { virtual_hosts: Array<{ routes: unknown[] }> } }>)[0]!;
    const sentRoutes = (snap.route.resources[0] as { virtual_hosts: Array<{ routes: unknown[] }> }).virtual_hosts[0]!.routes;
    assert.equal(routeConfig.route_config.virtual_hosts[0]!.routes.length, sentRoutes.length);

    const eds = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump')!;
    const cla = (eds['dynamic_endpoint_configs'] as Array<{ endpoint_config: { cluster_name: string; endpoints: Array<{ lb_endpoints: unknown[] }> } }>).find(
      (e) => e.endpoint_config.cluster_name === 'llm-chat',
    );
    assert.equal(cla?.endpoint_config.endpoints.flatMap((e) => e.lb_endpoints).length, 2);

    const proxies = await mesh.xds.getJson<Array<{ node_id: string; types: Record<string, { status: string; acked_version: string; latest_version: string }> }>>(
      '/debug/proxies',
    );
    const gw = proxies.find((p) => p.node_id === `it-gateway-${mesh.ports.gateway}`);
    assert.ok(gw, 'the gateway is listed');
    for (const t of ['cluster', 'endpoint', 'listener', 'route'] as const) {
      assert.equal(gw.types[t]!.status, 'SYNCED', t);
      assert.equal(gw.types[t]!.acked_version, snap[t].version, t);
    }
  });
});
