// Proxyless gRPC: a grpc-js client with an xds:/// target, configured by the xds-server alone
// (no Envoy on the path), reaching the demo gRPC echo service registered in a real Consul.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { waitFor } from '../../launcher/wait.js';
import { ECHO_METHOD, ECHO_SERVICE } from '../../demo/grpc-echo-api.js';

interface Echo {
  message: string | null;
  instance: string;
  service: string;
}

describe('proxyless gRPC: grpc-js resolves xds:///echo from the xds-server', () => {
  let mesh: GatewayMesh;
  let client: grpc.Client;
  const instances: ModelServiceProcess[] = [];

  function say(message: string): Promise<Echo> {
    return new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        `/${ECHO_SERVICE}/${ECHO_METHOD}`,
        (m: { message: string }) => Buffer.from(JSON.stringify(m)),
        (b: Buffer) => JSON.parse(b.toString()) as Echo,
        { message },
        { deadline: Date.now() + 3_000 },
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
  }

  async function answering(count: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const key = await say(`m${i}`).then(
        (r) => r.instance,
        (err: grpc.ServiceError) => `error:${grpc.status[err.code]}: ${err.details}`,
      );
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return seen;
  }

  before(async () => {
    mesh = await startGatewayMesh();
    for (const id of ['echo-1', 'echo-2']) {
      instances.push(await mesh.addInstance({ program: 'grpc-echo', service: 'echo', id, meta: { protocol: 'grpc' } }));
    }
    // The bootstrap a proxyless client is deployed with: where the xds-server is, and its role.
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${mesh.ports.xds}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'proxyless-it', cluster: 'it', metadata: { role: 'proxyless' }, locality: {} },
    });
    grpcXds.register();
    client = new grpc.Client('xds:///echo', grpc.credentials.createInsecure());
    // By name: an error is a key of its own and must not stand in for an instance.
    await waitFor(
      'both echo instances answering over xDS',
      async () => {
        const seen = await answering(10);
        return seen.has('echo-1') && seen.has('echo-2');
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  after(async () => {
    client?.close();
    await mesh?.stop();
  });

  it('spreads calls across the instances', async () => {
    const seen = await answering(20);
    assert.deepEqual([...seen.keys()].sort(), ['echo-1', 'echo-2']);
    assert.ok(seen.get('echo-1')! >= 5 && seen.get('echo-2')! >= 5, JSON.stringify([...seen]));
    const r = await say('hello');
    assert.equal(r.message, 'hello');
    assert.equal(r.service, 'echo');
  });

  it('is a proxyless proxy the xds-server knows and keeps in sync', async () => {
    const proxies = (await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/proxies`)).json()) as Array<{
      node_id: string;
      role: string;
      user_agent: string;
      types: Record<string, { status: string }>;
    }>;
    const p = proxies.find((x) => x.node_id === 'proxyless-it');
    assert.ok(p, JSON.stringify(proxies.map((x) => x.node_id)));
    assert.equal(p.role, 'proxyless');
    assert.match(p.user_agent, /^gRPC Node/);
    for (const t of ['cluster', 'endpoint', 'listener', 'route']) assert.equal(p.types[t]!.status, 'SYNCED', t);
  });

  it('fails over when an instance goes down', async () => {
    await instances[0]!.process.stop('SIGKILL');
    // A call in flight when it died may fail; after that, every call reaches the survivor.
    await waitFor('a call to succeed after the crash', async () => (await say('after')).instance === 'echo-2', { timeoutMs: 5_000, intervalMs: 50 });
    assert.deepEqual([...(await answering(20))], [['echo-2', 20]]);
    // Consul notices too, and the endpoint leaves the client's config.
    await waitFor(
      'echo-1 out of the proxyless client config',
      async () => {
        const r = await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/proxies/proxyless-it/config`);
        const config = (await r.json()) as { types: { endpoint: { resources: Array<{ config: { endpoints?: Array<{ lb_endpoints: Array<{ endpoint: { hostname: string }; health_status: string }> }> } }> } } };
        const hosts = config.types.endpoint.resources.flatMap((x) => x.config.endpoints ?? []).flatMap((l) => l.lb_endpoints);
        return hosts.every((h) => h.endpoint.hostname !== 'echo-1' || h.health_status === 'UNHEALTHY');
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.deepEqual([...(await answering(10))], [['echo-2', 10]]);
  });
});
