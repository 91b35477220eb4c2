// The golden translation outputs (test/golden/cases) are fed to a real Envoy over ADS: Envoy
// must accept every one. (The proxyless case's ApiListeners are for gRPC clients, which Envoy
// does not take; test/integration/proxyless-grpc.test.ts runs grpc-js on the same translation.)
// And a config Envoy rejects is reported with Envoy's reason and is not sent again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../launcher/consul-agent.js';
import type { EnvoyProcess } from '../../launcher/envoy.js';
import { startGatewayEnvoy } from '../../launcher/envoy-roles.js';
import { freePorts } from '../../launcher/ports.js';
import { waitFor } from '../../launcher/wait.js';
import { buildSnapshot, type Snapshot } from '../../xds-server/cache/snapshot.js';
import type { NamedResource, ResourceSet } from '../../xds-server/translate/resource-set.js';
import { PUSH_ORDER } from '../../xds-server/xds-types.js';
import { caseNames, loadCase, readCaseOutput } from '../helpers/golden-cases.js';
import { STATIC_KEY, startStaticAds, type StaticAds } from '../helpers/static-ads.js';

function nameOf(type: string, r: Record<string, unknown>): string {
  return String(type === 'endpoint' ? r['cluster_name'] : r['name']);
}

/** A golden case's outputs as a snapshot, its listeners moved to free loopback ports. */
function goldenSnapshot(name: string, listenerPorts: readonly number[]): Snapshot {
  const resources = {} as Record<string, NamedResource[]>;
  for (const type of PUSH_ORDER) {
    resources[type] = readCaseOutput(name, type).map((r, i) => {
      const copy = structuredClone(r);
      if (type === 'listener') {
        const address = (copy['address'] as { socket_address: { address: string; port_value: number } }).socket_address;
        address.address = '127.0.0.1';
        address.port_value = listenerPorts[i]!;
      }
      return { name: nameOf(type, copy), resource: copy };
    });
  }
  return buildSnapshot(STATIC_KEY, { resources: resources as unknown as ResourceSet, notes: [] });
}

describe('golden files against a real Envoy', () => {
  let ads: StaticAds;
  let envoy: EnvoyProcess;
  let dir: string;
  let listenerPorts: number[];

  before(async () => {
    dir = tempDir('golden');
    ads = await startStaticAds();
    const [adminPort, gw, ...more] = (await freePorts(4)) as [number, number, number, number];
    listenerPorts = [gw, ...more];
    envoy = await startGatewayEnvoy({
      nodeId: 'golden',
      port: gw,
      adminPort,
      xds: { host: '127.0.0.1', port: ads.port },
      workDir: dir,
      logFile: `${dir}/envoy.log`,
    });
  });

  after(async () => {
    await envoy?.stop();
    await ads?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function waitUntilApplied(snapshot: Snapshot): Promise<void> {
    await waitFor(
      `Envoy to ACK every type of ${snapshot.types.cluster.version}`,
      () => {
        const stream = ads.registry.list()[0];
        if (!stream) return false;
        for (const type of PUSH_ORDER) {
          const st = stream.state.types[type];
          const nack = st.lastNack;
          if (nack && nack.version === snapshot.types[type].version) throw new Error(`Envoy rejected ${type}: ${nack.message}`);
          // No cluster, no endpoint subscription: nothing to ACK.
          if (type === 'endpoint' && snapshot.types.cluster.resources.size === 0) continue;
          // No login, no secret subscription.
          if (type === 'secret' && snapshot.types.secret.resources.size === 0) continue;
          if (st.ackedVersion !== snapshot.types[type].version) return false;
        }
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  }

  for (const name of caseNames().filter((n) => loadCase(n).role !== 'proxyless')) {
    it(`accepts ${name}`, async () => {
      const snapshot = goldenSnapshot(name, listenerPorts);
      ads.cache.set(snapshot);
      await waitUntilApplied(snapshot);
      const dump = await envoy.admin.configDump();
      const clusters = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump') as {
        dynamic_active_clusters?: Array<{ cluster: { name: string } }>;
      };
      assert.deepEqual(
        (clusters.dynamic_active_clusters ?? []).map((c) => c.cluster.name).sort(),
        [...snapshot.types.cluster.resources.keys()].sort(),
      );
    });
  }

  it('reports a rejected config with Envoy’s reason, does not send it again, and recovers', async () => {
    const good = goldenSnapshot('gateway-two-services', listenerPorts);
    ads.cache.set(good);
    await waitUntilApplied(good);
    const badCluster = { name: 'bad', type: 'STATIC', connect_timeout: '-1s', load_assignment: { cluster_name: 'bad' } };
    const bad = buildSnapshot(STATIC_KEY, {
      resources: {
        ...Object.fromEntries(PUSH_ORDER.map((t) => [t, [...good.types[t].resources.values()].map((r) => ({ name: r.name, resource: r.json }))])),
        cluster: [...[...good.types.cluster.resources.values()].map((r) => ({ name: r.name, resource: r.json })), { name: 'bad', resource: badCluster }],
      } as unknown as ResourceSet,
      notes: [],
    });
    const pushesBefore = ads.pushes.filter((p) => p.type === 'cluster').length;
    ads.cache.set(bad);
    const nack = await waitFor(
      'Envoy to NACK the bad cluster',
      () => ads.registry.list()[0]?.state.types.cluster.lastNack,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    assert.equal(nack.version, bad.types.cluster.version);
    assert.match(nack.message, /Invalid duration: Expected positive duration/);
    assert.equal(ads.registry.list()[0]!.state.types.cluster.ackedVersion, good.types.cluster.version, 'Envoy keeps the last good clusters');
    assert.equal(ads.pushes.filter((p) => p.type === 'cluster').length, pushesBefore + 1, 'the rejected version was sent once');
    const status = ads.registry.status((k) => ads.cache.get(k))[0]!;
    assert.equal(status.types.cluster.status, 'NACKED');
    assert.equal(status.types.cluster.last_nack?.message, nack.message);

    const fixed = goldenSnapshot('gateway-path-conflict', listenerPorts);
    ads.cache.set(fixed);
    await waitUntilApplied(fixed);
    // Envoy's NACK was answered (or not) long before it took the next version: a resend loop
    // would show here as more than the bad version once and the fixed one once.
    assert.equal(ads.pushes.filter((p) => p.type === 'cluster').length, pushesBefore + 2, 'the rejected version was not sent again');
    assert.equal(ads.registry.status((k) => ads.cache.get(k))[0]!.types.cluster.status, 'SYNCED');
  });
});
