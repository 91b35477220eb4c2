// Scale by structure: translation is shared across roles and rebuilds, encodings are shared
// across roles, and a change reaches only the roles that read the changed service.
import { waitFor } from '../../launcher/wait.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { buildSnapshot } from '../../xds-server/cache/snapshot.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { Controller } from '../../xds-server/controller.js';
import { MeshStore } from '../../xds-server/model/mesh-store.js';
import type { Snapshot } from '../../xds-server/cache/snapshot.js';
import { MeshResolver } from '../../xds-server/resolve/mesh-resolver.js';
import { TranslationCache } from '../../xds-server/translate/cache.js';
import { translateSidecar, type SidecarRole } from '../../xds-server/translate/sidecar.js';
import { GATEWAY_SETTINGS, instance, meshOf, service } from '../helpers/mesh-fixtures.js';

const sidecar = (svc: string, appPort = 8080): SidecarRole => ({ kind: 'sidecar', service: svc, appPort, inboundAddress: '127.0.0.1', inboundPort: 15000, outboundPort: 15001 });

describe('resolution and translation shared across roles', () => {
  const llm = service('llm', [instance('llm-1'), instance('llm-2')]);
  const embed = service('embed', [instance('embed-1')]);
  const state = meshOf([
    llm,
    embed,
    service('a', [instance('a-1')], { upstreams: ['llm', 'embed'] }),
    service('b', [instance('b-1')], { upstreams: ['llm'] }),
    service('c', [instance('c-1')], { upstreams: ['embed'] }),
  ]);

  it('gives every role the same cluster and endpoint objects, and so the same encoded bytes', () => {
    const resolved = new MeshResolver(GATEWAY_SETTINGS).resolve(state);
    const cache = new TranslationCache();
    const a = translateSidecar(resolved.sidecars.get('a')!, sidecar('a'), cache);
    const b = translateSidecar(resolved.sidecars.get('b')!, sidecar('b'), cache);
    const find = (t: typeof a, type: 'cluster' | 'endpoint') => t.resources[type].find((r) => r.name === 'llm')!.resource;
    assert.equal(find(a, 'cluster'), find(b, 'cluster'));
    assert.equal(find(a, 'endpoint'), find(b, 'endpoint'));
    const sa = buildSnapshot('a', a);
    const sb = buildSnapshot('b', b);
    assert.equal(sa.types.endpoint.resources.get('llm'), sb.types.endpoint.resources.get('llm'), 'one encoding for both roles');
    assert.deepEqual(a, translateSidecar(resolved.sidecars.get('a')!, sidecar('a')), 'the cache changes nothing in the result');
  });

  it('resolves and translates again only what read a changed service', () => {
    const resolver = new MeshResolver(GATEWAY_SETTINGS);
    const cache = new TranslationCache();
    const first = resolver.resolve(state);
    const before = translateSidecar(first.sidecars.get('a')!, sidecar('a'), cache);
    // What the mesh store publishes when one service changes: a new object for it, the rest kept.
    const services = new Map(state.services);
    services.set('llm', service('llm', [instance('llm-1'), instance('llm-2', { port: 9999 })]));
    const second = resolver.resolve({ ...state, revision: state.revision + 1, services });
    assert.notEqual(second.sidecars.get('a'), first.sidecars.get('a'), 'a calls llm: a new view');
    assert.equal(second.sidecars.get('c'), first.sidecars.get('c'), 'c calls embed only: the same view, so its role is not translated again');
    assert.equal(second.services.get('embed'), first.services.get('embed'));
    const after = translateSidecar(second.sidecars.get('a')!, sidecar('a'), cache);
    const ep = (t: typeof before, n: string) => t.resources.endpoint.find((r) => r.name === n)!.resource;
    assert.equal(ep(after, 'embed'), ep(before, 'embed'), 'untouched upstream: same object');
    assert.notEqual(ep(after, 'llm'), ep(before, 'llm'));
    assert.equal((ep(after, 'llm')['endpoints'] as Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }> }>)[0]!.lb_endpoints[1]!.endpoint.address.socket_address.port_value, 9999);
  });

  it('resolves again what read a changed config entry only', () => {
    const resolver = new MeshResolver(GATEWAY_SETTINGS);
    const first = resolver.resolve(state);
    const withDefaults = { ...state, revision: 2, entries: { ...state.entries, defaults: new Map([['embed', { Kind: 'service-defaults' as const, Name: 'embed', RequestTimeoutMs: 5_000 }]]) } };
    const second = resolver.resolve(withDefaults);
    assert.equal(second.services.get('embed')!.policy.requestTimeoutMs, 5_000);
    assert.equal(second.services.get('embed')!.policy.decidedBy.requestTimeout, 'service-defaults');
    assert.equal(second.sidecars.get('b'), first.sidecars.get('b'), 'b calls llm only: untouched');
    assert.notEqual(second.sidecars.get('c'), first.sidecars.get('c'));
  });
});

describe('controller', () => {
  it('rebuilds, and pushes to, only the roles whose upstreams changed', async () => {
    const store = new MeshStore({ retainVanishedMs: 60_000 });
    const cache = new SnapshotCache();
    const controller = new Controller(
      store,
      cache,
      { roleDefaults: { gatewayAddress: '127.0.0.1', gatewayPort: 8080 }, gateway: { identityHeaders: [] }, debounceQuietMs: 1, debounceMaxMs: 5 },
      pino({ level: 'silent' }),
    );
    for (const [name, upstreams] of [['a', 'llm'], ['b', 'embed'], ['llm', ''], ['embed', '']] as const) {
      store.setInstances(name, [instance(`${name}-1`, { meta: upstreams ? { upstreams } : {} })]);
    }
    store.markSynced();
    const heard = new Map<string, Snapshot[]>();
    for (const svc of ['a', 'b']) {
      const key = controller.keyFor({ id: `${svc}-sidecar`, cluster: svc, userAgent: 'envoy', metadata: { role: 'sidecar', service: svc, app_port: 8080 } });
      heard.set(svc, []);
      controller.watch(key, (s) => heard.get(svc)!.push(s));
    }
    assert.deepEqual([...heard.values()].map((l) => l.length), [1, 1]);
    store.setInstances('embed', [instance('embed-1'), instance('embed-2')]);
    // b hears the change; a, rebuilt (or not) in the same pass, must not have by then.
    await waitFor('b to hear the change of embed', () => heard.get('b')!.length === 2, { timeoutMs: 2_000, intervalMs: 1 });
    assert.equal(heard.get('a')!.length, 1, "a calls llm only: embed's change does not reach it");
    // Only what the connected proxies read is resolved; operators get every view on demand.
    assert.equal(controller.resolved?.gateway, undefined, 'no gateway connected: its view is not resolved');
    assert.deepEqual([...controller.resolved!.sidecars.keys()], ['a', 'b']);
    assert.ok(controller.resolveInFull()?.gateway);
    const localities = heard.get('b')![1]!.types.endpoint.resources.get('embed')!.json['endpoints'] as Array<{ lb_endpoints: Array<{ endpoint: { hostname: string } }> }>;
    assert.deepEqual(localities.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.hostname)), ['embed-1', 'embed-2']);
    controller.close();
    store.close();
  });
});
