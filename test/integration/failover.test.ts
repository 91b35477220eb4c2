// An instance lost under load, the way a person tries failover: GETs keep flowing through the
// gateway, and through a caller's sidecar, while one instance of the service they call is killed
// with SIGKILL. In-flight requests it had are reset; the resolved retry policy repeats them
// (idempotent methods) on another instance, and new ones never pick it (connect failures are
// retried too) until Consul marks it critical. Nobody sees an error — also where a
// service-router gives GETs retry conditions of their own (as the demo's llm-chat does): those
// are added to the defaults, never put in their place.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh, type SidecarInstance } from '../../launcher/mesh.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { freePorts } from '../../launcher/ports.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { request, trafficOf, type EchoBody } from '../helpers/http.js';

describe('failover: an instance killed under load', () => {
  let mesh: GatewayMesh;
  let victims: ModelServiceProcess[];
  let agent: SidecarInstance;

  before(async () => {
    mesh = await startGatewayMesh();
    victims = [];
    for (const id of ['victim-1', 'victim-2', 'victim-3']) victims.push(await mesh.addInstance({ service: 'victim', id, meta: { 'gateway-path': '/victim/' } }));
    agent = await mesh.addSidecarInstance({ service: 'agent', id: 'agent-1', meta: { upstreams: 'victim', 'gateway-path': 'none' } });
    // GETs retry a 503 too: the route's conditions, merged with the defaults (connect-failure,
    // refused-stream, and reset for idempotent methods).
    await mesh.consul.api.kvPut(
      'meshgate/config/victim-router',
      'Kind: service-router\nName: victim\nRoutes:\n  - Match: {HTTP: {Methods: [GET, HEAD]}}\n    Destination: {NumRetries: 2, RetryOnStatusCodes: [503], PerTryTimeout: 5s}\n',
    );
    await waitFor('the router in the agent sidecar', async () => JSON.stringify(await agent.envoy.admin.configDump(false)).includes('retriable-status-codes'), { timeoutMs: 20_000, intervalMs: 200 });
    // Every instance answers, through the gateway and through the agent's sidecar.
    await waitFor(
      'all three victims to answer through the gateway',
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 12; i++) {
          const r = await request<EchoBody>(`${mesh.gatewayUrl}/victim/x`);
          if (r.status === 200) seen.add(r.body.instance);
        }
        return seen.size === 3;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    await waitFor('the agent to reach victim through its sidecar', async () => (await (await agent.call('victim', '/x')).json() as { status: number }).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('retries a GET on every default condition and the route’s own, in the sidecar as at the gateway', async () => {
    for (const envoy of [agent.envoy, mesh.envoy]) {
      const dump = (await envoy.admin.configDump(false)) as { configs: Array<{ dynamic_route_configs?: Array<{ route_config: { virtual_hosts: Array<{ routes: Array<{ match: { headers?: Array<{ string_match?: { safe_regex?: { regex: string } } }> }; route?: { retry_policy?: { retry_on: string } } }> }> } }> }> };
      const routes = dump.configs.flatMap((c) => c.dynamic_route_configs ?? []).flatMap((r) => r.route_config.virtual_hosts.flatMap((v) => v.routes));
      const get = routes.find((r) => r.match.headers?.some((h) => h.string_match?.safe_regex?.regex === '^(GET|HEAD)$'));
      assert.ok(get, 'a route for GET|HEAD');
      assert.deepEqual(get.route?.retry_policy?.retry_on.split(',').sort(), ['connect-failure', 'refused-stream', 'reset', 'retriable-status-codes']);
    }
  });

  it('answers every GET while one instance dies with SIGKILL, through the gateway and through a sidecar', async () => {
    // Each request is held 30 ms by the instance, so the dying one has requests in flight.
    const viaGateway = trafficOf(() => fetch(`${mesh.gatewayUrl}/victim/slow?delay_ms=30`, { signal: AbortSignal.timeout(10_000) }), { concurrency: 16, pauseMs: 0 });
    const viaSidecar = trafficOf(
      async () => {
        const res = await agent.call('victim', '/slow?delay_ms=30');
        const answer = (await res.json()) as { status: number; body: unknown };
        // The app relays what its sidecar answered.
        return new Response(JSON.stringify(answer.body), { status: answer.status });
      },
      { concurrency: 16, pauseMs: 0 },
    );
    await sleep(1_000);
    const killed = victims[1]!;
    await killed.process.stop('SIGKILL', 0);
    await sleep(3_000);
    const [gateway, sidecar] = await Promise.all([viaGateway.stop(), viaSidecar.stop()]);
    assert.deepEqual([...gateway.keys()], ['200'], `through the gateway: ${JSON.stringify([...gateway])} ${viaGateway.failures.join(' | ')}`);
    assert.deepEqual([...sidecar.keys()], ['200'], `through the sidecar: ${JSON.stringify([...sidecar])} ${viaSidecar.failures.join(' | ')}`);
    assert.ok(gateway.get('200')! > 200 && sidecar.get('200')! > 200, `enough traffic: ${gateway.get('200')}, ${sidecar.get('200')}`);

    // Envoy did retry: the gateway's cluster counts retries (resets and connect failures).
    const stats = await (await fetch(`http://127.0.0.1:${mesh.ports.envoyAdmin}/stats?filter=^cluster\\.victim\\.upstream_rq_retry$`)).text();
    assert.match(stats, /cluster\.victim\.upstream_rq_retry: [1-9]/, stats);
  });

  it('does not repeat a POST the dying instance may have acted on', async () => {
    // A POST in flight when its instance dies is not retried (it may have had its effect): the
    // caller gets the gateway's 503, as the resolved retry policy promises. Connect failures
    // (nothing was sent) are still retried, so new POSTs go elsewhere.
    const survivor = victims[0]!;
    const posts = trafficOf(() => fetch(`${mesh.gatewayUrl}/victim/post?delay_ms=300`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(10_000) }), { concurrency: 6, pauseMs: 0 });
    await sleep(700);
    await victims[2]!.process.stop('SIGKILL', 0);
    await sleep(1_500);
    const counts = await posts.stop();
    assert.ok((counts.get('200') ?? 0) > 0, JSON.stringify([...counts]));
    assert.ok((counts.get('503') ?? 0) > 0, `the POSTs in flight on the killed instance are not repeated: ${JSON.stringify([...counts])}`);
    assert.ok([...counts.keys()].every((k) => k === '200' || k === '503'), `${JSON.stringify([...counts])} ${posts.failures.join(' | ')}`);
    assert.ok(posts.failures.every((f) => !f.startsWith('503') || /reset/.test(f)), posts.failures.join(' | '));
    assert.equal((await request<EchoBody>(`${mesh.gatewayUrl}/victim/after`)).body.instance, survivor.id, 'the one left answers');
  });

  it('retries a connect failure on another instance, for every method, and ejects the instance that refuses connections', async () => {
    // An instance Consul calls healthy whose port nobody listens on (a process gone, its
    // registration not yet): each connection to it fails and the request goes to the other
    // instance; after three failures in a row it is left out (default outlier detection on
    // connection failures), so callers stop paying for the failed connect.
    const [closed] = await freePorts(1);
    await mesh.consul.api.register({ ID: 'ghost-dead', Name: 'ghost', Address: '127.0.0.1', Port: closed!, Meta: { 'gateway-path': '/ghost/' } });
    await mesh.addInstance({ service: 'ghost', id: 'ghost-1', meta: { 'gateway-path': '/ghost/' } });
    await waitFor('both ghost instances healthy at the gateway', async () => (await mesh.envoy.admin.clusters()).get('ghost')?.filter((h) => h.healthy).length === 2, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) {
      for (const method of ['GET', 'POST']) {
        const r = await request<EchoBody>(`${mesh.gatewayUrl}/ghost/x`, { method, ...(method === 'POST' ? { body: 'x' } : {}) });
        answers.push(r.status === 200 ? r.body.instance : `${method} ${r.status}`);
      }
    }
    assert.deepEqual([...new Set(answers)], ['ghost-1'], answers.join(' '));
    assert.ok(((await mesh.envoy.admin.stat('cluster.ghost.upstream_cx_connect_fail')) ?? 0) > 0, 'connections to the dead port failed');
    assert.ok(((await mesh.envoy.admin.stat('cluster.ghost.upstream_rq_retry_success')) ?? 0) > 0, 'and were retried elsewhere');
    assert.equal(await mesh.envoy.admin.stat('cluster.ghost.outlier_detection.ejections_active'), 1, 'the refusing instance is ejected');
  });
});
