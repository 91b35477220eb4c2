import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSnapshot } from '../../xds-server/cache/snapshot.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { diffTypeSnapshots } from '../../xds-server/cache/snapshot-diff.js';
import { gatewayOf, instance, meshOf, service } from '../helpers/mesh-fixtures.js';

const A = service('a', [instance('a-1')]);
const B = service('b', [instance('b-1')]);

describe('snapshots', () => {
  it('version each type by content: equal content, equal version, on any server', () => {
    const one = buildSnapshot('k', gatewayOf(meshOf([A, B])));
    const two = buildSnapshot('k', gatewayOf(meshOf([B, A])));
    for (const t of ['cluster', 'endpoint', 'listener', 'route'] as const) assert.equal(one.types[t].version, two.types[t].version);
  });

  it('change only the versions of what changed', () => {
    const one = buildSnapshot('k', gatewayOf(meshOf([A, B])));
    const moved = buildSnapshot('k', gatewayOf(meshOf([A, service('b', [instance('b-1', { port: 1 })])])));
    assert.equal(moved.types.cluster.version, one.types.cluster.version);
    assert.notEqual(moved.types.endpoint.version, one.types.endpoint.version);
    assert.equal(moved.types.endpoint.resources.get('a')!.version, one.types.endpoint.resources.get('a')!.version);
  });

  it('diff two snapshots of a type into changed and removed resources, once for every stream', () => {
    const C = service('c', [instance('c-1')]);
    const one = buildSnapshot('k', gatewayOf(meshOf([A, B, C])));
    const two = buildSnapshot('k', gatewayOf(meshOf([A, service('b', [instance('b-1', { port: 1 })]), service('d', [instance('d-1')])])), one);
    const d = diffTypeSnapshots(one.types.endpoint, two.types.endpoint);
    assert.deepEqual(d.changed.map((r) => r.name), ['b', 'd']);
    assert.deepEqual(d.removed, ['c']);
    assert.equal(diffTypeSnapshots(one.types.endpoint, two.types.endpoint), d, 'memoized: the next stream gets the same diff');
    const same = diffTypeSnapshots(two.types.listener, two.types.listener);
    assert.deepEqual([same.changed, same.removed], [[], []]);
    assert.equal(two.types.listener, one.types.listener, 'an unchanged type keeps its TypeSnapshot object');
  });

  it('reuse the encoding of unchanged resources from the previous snapshot', () => {
    const one = buildSnapshot('k', gatewayOf(meshOf([A, B])));
    const next = buildSnapshot('k', gatewayOf(meshOf([A, service('b', [instance('b-2')])])), one);
    assert.equal(next.types.cluster.resources.get('a'), one.types.cluster.resources.get('a'), 'same object, not re-encoded');
    assert.notEqual(next.types.endpoint.resources.get('b'), one.types.endpoint.resources.get('b'));
  });

  it('notify watchers only when a version changed', () => {
    const cache = new SnapshotCache();
    const seen: string[] = [];
    cache.watch('k', (s) => seen.push(s.types.endpoint.version));
    const one = buildSnapshot('k', gatewayOf(meshOf([A])));
    assert.equal(cache.set(one), true);
    assert.equal(cache.set(buildSnapshot('k', gatewayOf(meshOf([A])))), false);
    cache.set(buildSnapshot('k', gatewayOf(meshOf([A, B]))));
    assert.equal(seen.length, 2);
    const late: string[] = [];
    cache.watch('k', (s) => late.push(s.key));
    assert.deepEqual(late, ['k'], 'a new watcher gets the current snapshot at once');
  });
});
