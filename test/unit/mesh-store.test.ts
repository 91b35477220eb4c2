import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { MeshState } from '../../xds-server/model/mesh.js';
import { MeshStore } from '../../xds-server/model/mesh-store.js';
import { instance } from '../helpers/mesh-fixtures.js';

function store(retainVanishedMs = 60_000) {
  const s = new MeshStore({ retainVanishedMs, now: () => new Date('2026-01-01T00:00:00Z') });
  const seen: MeshState[] = [];
  s.onChange((m) => seen.push(m));
  return { s, seen };
}

describe('mesh store', () => {
  it('publishes nothing before the first full sync', () => {
    const { s, seen } = store();
    s.setInstances('a', [instance('a-1')]);
    assert.equal(seen.length, 0);
    s.markSynced();
    assert.equal(seen.length, 1);
    assert.deepEqual([...seen[0]!.services.keys()], ['a']);
    s.close();
  });

  it('publishes only real changes, with instances sorted', () => {
    const { s, seen } = store();
    s.markSynced();
    s.setInstances('a', [instance('a-2'), instance('a-1')]);
    s.setInstances('a', [instance('a-1'), instance('a-2')]);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[1]!.services.get('a')!.instances.map((i) => i.id), ['a-1', 'a-2']);
    s.close();
  });

  it('keeps the last good settings when new meta is refused, and reports why', () => {
    const { s } = store();
    s.markSynced();
    s.setInstances('a', [instance('a-1', { meta: { 'gateway-path': '/good' } })]);
    s.setInstances('a', [instance('a-1', { meta: { 'gateway-path': 'bad' } })]);
    const state = s.state;
    assert.deepEqual(state.services.get('a')!.settings.gatewayPaths, [{ prefix: '/good', separated: true }]);
    assert.deepEqual(state.problems, [{ subject: 'service/a', reason: 'meta "gateway-path": path "bad" must start with "/"', since: '2026-01-01T00:00:00.000Z' }]);
    s.setInstances('a', [instance('a-1', { meta: { 'gateway-path': '/fixed' } })]);
    assert.deepEqual(s.state.problems, []);
    assert.deepEqual(s.state.services.get('a')!.settings.gatewayPaths, [{ prefix: '/fixed', separated: true }]);
    s.close();
  });

  it('does not route a service that never had valid settings', () => {
    const { s } = store();
    s.markSynced();
    s.setInstances('bad', [instance('bad-1', { meta: { protocol: 'smtp' } })]);
    assert.equal(s.state.services.has('bad'), false);
    assert.equal(s.state.problems.length, 1);
    s.close();
  });

  describe('on a mocked clock', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
    afterEach(() => mock.timers.reset());

    it('remembers a vanished service without instances for the retention time, then forgets it', () => {
      const { s } = store(30);
      s.markSynced();
      s.setInstances('a', [instance('a-1')]);
      s.removeService('a');
      assert.deepEqual(s.state.services.get('a')!.instances, []);
      mock.timers.tick(29);
      assert.equal(s.state.services.has('a'), true, 'kept until the retention ends');
      mock.timers.tick(1);
      assert.equal(s.state.services.has('a'), false);
      s.close();
    });

    it('keeps a vanished service that comes back', () => {
      const { s } = store(30);
      s.markSynced();
      s.setInstances('a', [instance('a-1')]);
      s.removeService('a');
      s.setInstances('a', [instance('a-2')]);
      mock.timers.tick(60);
      assert.deepEqual(s.state.services.get('a')!.instances.map((i) => i.id), ['a-2']);
      s.close();
    });
  });
});
