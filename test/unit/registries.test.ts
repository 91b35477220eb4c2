// The registries' pure parts: how several registries merge into one catalog, how a Curator node
// and a Eureka answer are read, the delta and its hash, the flags.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import pino from 'pino';
import { curatorJson } from '../../demo/registration/zookeeper.js';
import { parseConfig, registryOrder } from '../../xds-server/config.js';
import { MeshStore } from '../../xds-server/model/mesh-store.js';
import { curatorInstance } from '../../xds-server/sources/curator-instance.js';
import { applyDelta, eurekaInstanceOf, isUp, parseEurekaAnswer, reconcileHash, registryOf, servicesOf, type EurekaInstance } from '../../xds-server/sources/eureka-apps.js';
import { eurekaEndpoint, EurekaSource } from '../../xds-server/sources/eureka-source.js';
import { DEFAULT_REGISTRY_LIMITS } from '../../xds-server/sources/registry-limits.js';
import { RegistryMerge, type RegistrySink } from '../../xds-server/sources/registry-merge.js';
import { waitFor } from '../../launcher/wait.js';
import { instance } from '../helpers/mesh-fixtures.js';

const silent = pino({ level: 'silent' });

function merged(precedence: Parameters<typeof RegistryMerge.prototype.sink>[0][] = ['consul', 'zookeeper', 'eureka']) {
  const store = new MeshStore({ retainVanishedMs: 60_000, now: () => new Date('2026-01-01T00:00:00Z') });
  const merge = new RegistryMerge(store, precedence, () => new Date('2026-01-01T00:00:00Z'));
  return { store, merge };
}

describe('registry merge', () => {
  it('is synced only once every registry has delivered its first view', () => {
    const { store, merge } = merged();
    merge.sink('consul').synced();
    merge.sink('eureka').synced();
    assert.equal(store.synced, false);
    merge.sink('zookeeper').synced();
    assert.equal(store.synced, true);
    store.close();
  });

  it('serves the union of a service’s instances; one address:port is kept as the first registry in precedence has it', () => {
    const { store, merge } = merged();
    for (const r of ['consul', 'zookeeper', 'eureka'] as const) merge.sink(r).synced();
    merge.sink('eureka').setInstances('orders', [
      instance('e-1', { address: '10.0.0.1', port: 80, registry: 'eureka', health: 'UNHEALTHY', meta: { 'gateway-path': '/from-eureka' } }),
      instance('e-2', { address: '10.0.0.2', port: 80, registry: 'eureka', meta: { 'gateway-path': '/from-eureka' } }),
    ]);
    merge.sink('consul').setInstances('orders', [instance('c-1', { address: '10.0.0.1', port: 80, registry: 'consul', meta: { 'gateway-path': '/from-consul' } })]);
    const orders = store.state.services.get('orders')!;
    assert.deepEqual(
      orders.instances.map((i) => [i.id, i.registry, i.health]),
      [
        ['c-1', 'consul', 'HEALTHY'],
        ['e-2', 'eureka', 'HEALTHY'],
      ],
    );
    assert.equal(orders.settings.gatewayPaths[0]?.prefix, '/from-consul', 'the first registry in precedence decides the settings');

    // The first registry loses its last instance: the next one holding instances decides.
    merge.sink('consul').setInstances('orders', []);
    assert.equal(store.state.services.get('orders')!.settings.gatewayPaths[0]?.prefix, '/from-eureka');
    store.close();
  });

  it('removes a service only when no registry holds it any more', () => {
    const { store, merge } = merged();
    for (const r of ['consul', 'zookeeper', 'eureka'] as const) merge.sink(r).synced();
    merge.sink('zookeeper').setInstances('a', [instance('z-1', { registry: 'zookeeper' })]);
    merge.sink('eureka').setInstances('a', [instance('e-1', { address: '10.0.0.9', registry: 'eureka' })]);
    merge.sink('zookeeper').removeService('a');
    assert.deepEqual(
      store.state.services.get('a')!.instances.map((i) => i.id),
      ['e-1'],
    );
    merge.sink('eureka').removeService('a');
    // Remembered with no instances (503) until retention ends, as a service gone from Consul is.
    assert.deepEqual(store.state.services.get('a')!.instances, []);
    store.close();
  });

  it('shows a registry’s trouble and refusals as problems, and clears them', () => {
    const { store, merge } = merged(['consul', 'eureka']);
    const eureka = merge.sink('eureka');
    merge.sink('consul').synced();
    eureka.synced();
    eureka.trouble('ECONNREFUSED');
    eureka.trouble('ECONNREFUSED');
    eureka.refuse('orders', ['a: no port', 'b: no port']);
    assert.deepEqual(
      store.state.problems.map((p) => [p.subject, p.reason]),
      [
        ['registry/eureka', 'eureka is not answering; its last view is kept: ECONNREFUSED'],
        ['eureka/service/orders', '2 entries refused: a: no port; b: no port'],
      ],
    );
    const status = merge.status().find((s) => s.registry === 'eureka')!;
    assert.equal(status.up, false);
    assert.equal(status.errors, 2);
    eureka.trouble(undefined);
    eureka.refuse('orders', []);
    assert.deepEqual(store.state.problems, []);
    assert.equal(merge.status().find((s) => s.registry === 'eureka')!.up, true);
    store.close();
  });

  it('refuses a sink for a registry it does not read', () => {
    const { store, merge } = merged(['consul']);
    assert.throws(() => merge.sink('eureka'), /eureka is not among those read/);
    store.close();
  });
});

describe('Curator service instances (ZooKeeper)', () => {
  const node = (o: Partial<Parameters<typeof curatorJson>[0]> = {}, healthy = true) =>
    curatorJson({ connect: '', basePath: '/services', service: 'orders', instance: 'orders-1', address: '10.1.2.3', port: 8080, meta: { zone: 'eu-1', weight: '3', tags: 'b,a', 'gateway-path': '/orders' }, ...o }, 'uuid-1', healthy, 1);

  it('reads what Spring Cloud Zookeeper writes: address, port, metadata, zone, weight, tags', () => {
    const r = curatorInstance(node(), '/services/orders/uuid-1');
    assert.ok(r.ok);
    assert.deepEqual(
      { ...r.value },
      {
        id: 'uuid-1',
        node: '10.1.2.3',
        address: '10.1.2.3',
        port: 8080,
        health: 'HEALTHY',
        zone: 'eu-1',
        weight: 3,
        tags: ['a', 'b'],
        meta: { zone: 'eu-1', weight: '3', tags: 'b,a', 'gateway-path': '/orders', instance_status: 'UP' },
        registry: 'zookeeper',
      },
    );
  });

  it('is not healthy when OUT_OF_SERVICE or disabled', () => {
    const out = curatorInstance(node({}, false), 'p');
    assert.ok(out.ok && out.value.health === 'UNHEALTHY');
    const json = JSON.parse(node().toString()) as Record<string, unknown>;
    const disabled = curatorInstance(Buffer.from(JSON.stringify({ ...json, enabled: false })), 'p');
    assert.ok(disabled.ok && disabled.value.health === 'UNHEALTHY');
  });

  it('refuses what it cannot route, with the reason', () => {
    const json = JSON.parse(node().toString()) as Record<string, unknown>;
    const reason = (bytes: Buffer | undefined) => {
      const r = curatorInstance(bytes, '/services/orders/x');
      assert.ok(!r.ok);
      return `${r.field}: ${r.reason}`;
    };
    assert.match(reason(undefined), /holds no data/);
    assert.match(reason(Buffer.from('{')), /^\/services\/orders\/x: not JSON/);
    assert.match(reason(Buffer.from(JSON.stringify({ ...json, port: null, sslPort: 8443 }))), /only an sslPort/);
    assert.match(reason(Buffer.from(JSON.stringify({ ...json, port: 70000 }))), /port/);
    assert.match(reason(Buffer.from(JSON.stringify({ ...json, address: 'orders.local' }))), /not an IP address/);
    assert.match(reason(Buffer.from(JSON.stringify({ ...json, id: 5 }))), /id/);
  });
});

const eurekaInstance = (app: string, id: string, status = 'UP', extra: Partial<EurekaInstance> = {}): EurekaInstance => ({
  instanceId: id,
  hostName: 'host',
  app,
  ipAddr: '10.0.0.1',
  status,
  overriddenStatus: 'UNKNOWN',
  port: { $: 8080, '@enabled': 'true' },
  securePort: { $: 443, '@enabled': 'false' },
  metadata: { '@class': 'java.util.Collections$EmptyMap' },
  ...extra,
});

describe('Eureka answers', () => {
  it('reads a full answer, lists or single objects alike', () => {
    const list = parseEurekaAnswer(JSON.stringify({ applications: { apps__hashcode: 'UP_1_', application: [{ name: 'A', instance: [eurekaInstance('A', 'a-1')] }] } }));
    const single = parseEurekaAnswer(JSON.stringify({ applications: { apps__hashcode: 'UP_1_', application: { name: 'A', instance: eurekaInstance('A', 'a-1') } } }));
    assert.ok(list.ok && single.ok);
    assert.deepEqual(list.value, single.value);
    const empty = parseEurekaAnswer('{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}');
    assert.ok(empty.ok && empty.value.instances.length === 0);
  });

  it('refuses what is not a registry, with the reason', () => {
    const html = parseEurekaAnswer('<html>login</html>');
    assert.ok(!html.ok && /not JSON/.test(html.reason));
    const other = parseEurekaAnswer('{"apps":[]}');
    assert.ok(!other.ok && /applications/.test(other.reason));
  });

  it('computes Eureka’s reconcile hash: statuses in name order with their counts', () => {
    assert.equal(reconcileHash([eurekaInstance('A', '1'), eurekaInstance('A', '2', 'DOWN'), eurekaInstance('B', '3')]), 'DOWN_1_UP_2_');
    assert.equal(reconcileHash([]), '');
  });

  it('applies a delta (added, modified, deleted) and checks it against the server’s hash', () => {
    const full = parseEurekaAnswer(JSON.stringify({ applications: { apps__hashcode: 'UP_2_', application: [{ name: 'A', instance: [eurekaInstance('A', 'a-1'), eurekaInstance('A', 'a-2')] }] } }));
    assert.ok(full.ok);
    const registry = registryOf(full.value);
    const delta = (hash: string) => ({
      hashcode: hash,
      instances: [eurekaInstance('A', 'a-1', 'DOWN', { actionType: 'MODIFIED' }), eurekaInstance('A', 'a-2', 'UP', { actionType: 'DELETED' }), eurekaInstance('B', 'b-1', 'UP', { actionType: 'ADDED' })],
    });
    const good = applyDelta(registry, delta('DOWN_1_UP_1_'));
    assert.equal(good.consistent, true);
    assert.deepEqual([...good.registry.keys()].sort(), ['A/a-1', 'B/b-1']);
    assert.equal(good.registry.get('A/a-1')!.status, 'DOWN');
    assert.equal(registry.size, 2, 'the registry applied to is not changed');
    assert.equal(applyDelta(registry, delta('UP_3_')).consistent, false);
    assert.equal(good.changed, true);
    // The same delta again (a server keeps its changes for minutes), with renewed leases: nothing read changed.
    const again = applyDelta(good.registry, {
      hashcode: 'DOWN_1_UP_1_',
      instances: delta('').instances.map((i) => ({ ...i, leaseInfo: { lastRenewalTimestamp: 2 }, lastUpdatedTimestamp: '9' }) as EurekaInstance),
    });
    assert.deepEqual([again.consistent, again.changed], [true, false]);
  });

  it('counts only UP healthy, and an override other than UP wins', () => {
    assert.equal(isUp(eurekaInstance('A', '1')), true);
    for (const s of ['STARTING', 'DOWN', 'OUT_OF_SERVICE', 'UNKNOWN']) assert.equal(isUp(eurekaInstance('A', '1', s)), false, s);
    assert.equal(isUp(eurekaInstance('A', '1', 'UP', { overriddenStatus: 'OUT_OF_SERVICE' })), false);
    assert.equal(isUp(eurekaInstance('A', '1', 'UP', { overriddenStatus: undefined, overriddenstatus: 'DOWN' })), false);
  });

  it('takes the enabled port, metadata without @class, and refuses an instance with only a secure port', () => {
    const r = eurekaInstanceOf(eurekaInstance('ORDERS', 'o-1', 'UP', { metadata: { zone: 'z', 'gateway-path': '/o' } }));
    assert.ok(r.ok);
    assert.equal(r.value.port, 8080);
    assert.deepEqual(r.value.meta, { zone: 'z', 'gateway-path': '/o' });
    assert.equal(r.value.zone, 'z');
    const secure = eurekaInstanceOf(eurekaInstance('ORDERS', 'o-2', 'UP', { port: { $: 8080, '@enabled': 'false' }, securePort: { $: 8443, '@enabled': 'true' } }));
    assert.ok(!secure.ok && /only its securePort/.test(secure.reason));
  });

  it('names services by the lower-cased app, within the limits, refusing names that cannot be services', () => {
    const registry = new Map(
      [eurekaInstance('ORDERS', 'o-1'), eurekaInstance('ORDERS', 'o-2'), eurekaInstance('ORDERS', 'o-3'), eurekaInstance('PAY_MENTS', 'p-1'), eurekaInstance('USERS', 'u-1')].map((i) => [`${i.app}/${i.instanceId}`, i]),
    );
    const { services, refusals } = servicesOf(registry, { ...DEFAULT_REGISTRY_LIMITS, maxInstancesPerService: 2 });
    assert.deepEqual([...services.keys()], ['orders', 'users']);
    assert.equal(services.get('orders')!.instances.length, 2);
    assert.match(services.get('orders')!.refusals[0]!, /3 instances, past the limit of 2/);
    assert.match(refusals[0]!, /PAY_MENTS: not a service name/);
  });

  it('moves credentials in the URL to a basic-auth header', () => {
    const e = eurekaEndpoint('http://us%40r:p%3Ass@127.0.0.1:8761/eureka/');
    assert.equal(e.base, 'http://127.0.0.1:8761/eureka');
    assert.equal(e.headers['authorization'], `Basic ${Buffer.from('us@r:p:ss').toString('base64')}`);
  });
});

describe('Eureka source against an HTTP server', () => {
  it('keeps the last good registry when the server answers garbage, shows why, and fetches in full after', async () => {
    let answer = JSON.stringify({ applications: { apps__hashcode: 'UP_1_', application: [{ name: 'ORDERS', instance: [eurekaInstance('ORDERS', 'o-1')] }] } });
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url!);
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const calls: string[] = [];
    const sink: RegistrySink = {
      setInstances: (s, i) => calls.push(`set ${s} ${i.length}`),
      removeService: (s) => calls.push(`remove ${s}`),
      refuse: () => undefined,
      synced: () => calls.push('synced'),
      trouble: (r) => calls.push(`trouble ${r ?? 'none'}`),
    };
    const source = new EurekaSource({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka`, intervalMs: 20, timeoutMs: 1_000, limits: DEFAULT_REGISTRY_LIMITS, sink, log: silent });
    try {
      source.start();
      await waitFor('the first sync', () => calls.includes('synced'), { timeoutMs: 2_000, intervalMs: 5 });
      answer = '<html>maintenance</html>';
      await waitFor('the garbage refused', () => calls.some((c) => /answered what is not a Eureka registry.*not JSON/.test(c)), { timeoutMs: 2_000, intervalMs: 5 });
      assert.ok(!calls.includes('remove orders'), 'the last view stays');
      const before = paths.length;
      answer = JSON.stringify({ applications: { apps__hashcode: '', application: [] } });
      await waitFor('the registry read again', () => calls.includes('remove orders'), { timeoutMs: 2_000, intervalMs: 5 });
      assert.equal(paths[before], '/eureka/apps', 'after garbage the next fetch is a full one');
      assert.ok(paths.slice(1, before).some((p) => p === '/eureka/apps/delta'), 'deltas between');
    } finally {
      source.stop();
      server.close();
    }
  });
});

describe('Eureka source with several servers', () => {
  it('stays with the server that answers, and reads a new one in full', async () => {
    const body = (n: number) => JSON.stringify({ applications: { apps__hashcode: 'UP_1_', application: [{ name: `APP-${n}`, instance: [eurekaInstance(`APP-${n}`, `a-${n}`)] }] } });
    const hits: string[] = [];
    const serve = (n: number) =>
      http.createServer((req, res) => {
        hits.push(`${n} ${req.url}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end(body(n));
      });
    const [a, b] = [serve(1), serve(2)];
    await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => b.listen(0, '127.0.0.1', r));
    const portA = (a.address() as AddressInfo).port;
    a.close(); // the first server is down from the start
    const seen: string[] = [];
    const sink: RegistrySink = { setInstances: (s) => seen.push(s), removeService: () => undefined, refuse: () => undefined, synced: () => undefined, trouble: () => undefined };
    const source = new EurekaSource({ url: `http://127.0.0.1:${portA}/eureka, http://127.0.0.1:${(b.address() as AddressInfo).port}/eureka`, intervalMs: 20, timeoutMs: 500, limits: DEFAULT_REGISTRY_LIMITS, sink, log: silent });
    try {
      source.start();
      await waitFor('the second server read', () => seen.includes('app-2'), { timeoutMs: 2_000, intervalMs: 5 });
      await waitFor('deltas from it', () => hits.includes('2 /eureka/apps/delta'), { timeoutMs: 2_000, intervalMs: 5 });
      assert.equal(hits[0], '2 /eureka/apps', 'a new server is read in full first');
    } finally {
      source.stop();
      b.close();
    }
  });
});

describe('registry flags', () => {
  it('reads the registries configured, in the default or the given order', () => {
    assert.deepEqual(registryOrder(undefined, new Set(['consul', 'eureka'])), ['consul', 'eureka']);
    assert.deepEqual(registryOrder('eureka,consul', new Set(['consul', 'eureka'])), ['eureka', 'consul']);
    assert.throws(() => registryOrder('consul,zookeeper', new Set(['consul'])), /zookeeper is listed but not configured/);
    assert.throws(() => registryOrder('consul', new Set(['consul', 'eureka'])), /eureka is read but not listed/);
    assert.throws(() => registryOrder('consul,nacos', new Set(['consul'])), /"nacos" is not one of consul, zookeeper, eureka/);
    const c = parseConfig(['--zookeeper=127.0.0.1:2181/chroot', '--eureka=http://127.0.0.1:8761/eureka', '--registries=zookeeper,consul,eureka', '--registry-max-instances=10'], {});
    assert.deepEqual(c.registries, ['zookeeper', 'consul', 'eureka']);
    assert.equal(c.zookeeper?.basePath, '/services');
    assert.equal(c.eureka?.intervalMs, 2_000);
    assert.equal(c.registryLimits.maxInstancesPerService, 10);
    assert.throws(() => parseConfig(['--zookeeper=x', '--zookeeper-base-path=services/'], {}), /--zookeeper-base-path/);
    assert.throws(() => parseConfig(['--eureka=127.0.0.1:8761'], {}), /--eureka: .* is not an http\(s\) URL/);
  });
});
