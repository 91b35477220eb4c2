// The state-of-the-world ADS state machine, driven as Envoy drives it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Snapshot } from '../../xds-server/cache/snapshot.js';
import type { DiscoveryRequest } from '../../xds-server/server/discovery-codec.js';
import { SotwState, type Nack, type SotwResponse } from '../../xds-server/server/sotw-state.js';
import { TYPE_URLS, type XdsType } from '../../xds-server/xds-types.js';
import { gatewaySnapshot, instance, service } from '../helpers/mesh-fixtures.js';

const snapshotOf = gatewaySnapshot;

const ONE = snapshotOf([service('a', [instance('a-1')])]);
const ONE_MOVED = snapshotOf([service('a', [instance('a-1', { port: 9999 })])]);
const TWO = snapshotOf([service('a', [instance('a-1')]), service('b', [instance('b-1')])]);

function harness(initial?: Snapshot) {
  const sent: SotwResponse[] = [];
  const history: SotwResponse[] = [];
  const nacks: Array<[XdsType, Nack]> = [];
  const acks: Array<[XdsType, string]> = [];
  const stale: XdsType[] = [];
  const state = new SotwState((r) => (sent.push(r), history.push(r)), {
    onAck: (t, v) => acks.push([t, v]),
    onNack: (t, n) => nacks.push([t, n]),
    onStaleNonce: (t) => stale.push(t),
  });
  if (initial) state.onSnapshot(initial);
  const req = (type: XdsType, o: Partial<Omit<DiscoveryRequest, 'type_url'>> = {}): void =>
    state.onRequest({ version_info: '', resource_names: [], response_nonce: '', ...o, type_url: TYPE_URLS[type] });
  /** Envoy's ACK of the last response of a type. */
  const ack = (type: XdsType, names: string[] = []): void => {
    const last = [...history].reverse().find((r) => r.type === type)!;
    req(type, { version_info: last.version, response_nonce: last.nonce, resource_names: names });
  };
  const take = (): SotwResponse[] => sent.splice(0, sent.length);
  return { state, req, ack, take, nacks, acks, stale };
}

describe('ADS state of the world', () => {
  it('answers a first request with the current version of every resource', () => {
    const h = harness(ONE);
    h.req('cluster');
    const [r, ...rest] = h.take();
    assert.equal(rest.length, 0);
    assert.equal(r!.type, 'cluster');
    assert.equal(r!.version, ONE.types.cluster.version);
    assert.deepEqual(r!.resources.map((x) => x.name), ['a']);
  });

  it('serves nothing before the first snapshot, then answers what waits', () => {
    const h = harness();
    h.req('cluster');
    h.req('listener');
    assert.deepEqual(h.take(), []);
    h.state.onSnapshot(ONE);
    assert.deepEqual(h.take().map((r) => r.type), ['cluster']);
  });

  it('records an ACK and sends nothing more until the content changes', () => {
    const h = harness(ONE);
    h.req('cluster');
    h.take();
    h.ack('cluster');
    assert.deepEqual(h.acks, [['cluster', ONE.types.cluster.version]]);
    assert.equal(h.state.types.cluster.ackedVersion, ONE.types.cluster.version);
    h.state.onSnapshot(ONE); // same content
    assert.deepEqual(h.take(), []);
    h.state.onSnapshot(TWO);
    assert.deepEqual(h.take().map((r) => [r.type, r.version]), [['cluster', TWO.types.cluster.version]]);
  });

  it('records a NACK with its reason and never re-sends the rejected version', () => {
    const h = harness(ONE);
    h.req('cluster');
    const [r] = h.take();
    h.req('cluster', { version_info: '', response_nonce: r!.nonce, error_detail: { code: 3, message: 'bad cluster a' } });
    assert.equal(h.nacks.length, 1);
    assert.equal(h.nacks[0]![1].message, 'bad cluster a');
    assert.equal(h.nacks[0]![1].version, ONE.types.cluster.version);
    assert.equal(h.state.types.cluster.ackedVersion, undefined);
    // Envoy keeps its watch open; the same snapshot must not loop back to it.
    h.state.onSnapshot(ONE);
    h.req('cluster', { version_info: '', response_nonce: r!.nonce, error_detail: { code: 3, message: 'bad cluster a' } });
    assert.deepEqual(h.take(), []);
    assert.equal(h.nacks.length, 1, 'a repeated request for the same nonce is not a second NACK');
    // New content goes out.
    h.state.onSnapshot(TWO);
    assert.deepEqual(h.take().map((x) => x.version), [TWO.types.cluster.version]);
  });

  it('ignores a request whose nonce is not the latest (stale)', () => {
    const h = harness(ONE);
    h.req('cluster');
    const [first] = h.take();
    h.ack('cluster');
    h.state.onSnapshot(TWO);
    const [second] = h.take();
    assert.notEqual(first!.nonce, second!.nonce);
    h.req('cluster', { version_info: first!.version, response_nonce: first!.nonce });
    assert.deepEqual(h.stale, ['cluster']);
    assert.equal(h.state.types.cluster.ackedVersion, first!.version, 'the stale request acknowledged nothing');
    h.ack('cluster');
    assert.equal(h.state.types.cluster.ackedVersion, second!.version);
  });

  it('does not resend to a reconnecting client that already has the current version', () => {
    const h = harness(ONE);
    h.req('cluster', { version_info: ONE.types.cluster.version });
    assert.deepEqual(h.take(), []);
    assert.equal(h.state.types.cluster.ackedVersion, ONE.types.cluster.version);
    const other = harness(ONE);
    other.req('cluster', { version_info: 'something-older' });
    assert.deepEqual(other.take().map((r) => r.version), [ONE.types.cluster.version]);
  });

  it('sends only the endpoints a client names, and the newly named ones when the names change', () => {
    const h = harness(TWO);
    h.req('endpoint', { resource_names: ['a'] });
    assert.deepEqual(h.take()[0]!.resources.map((r) => r.name), ['a']);
    h.ack('endpoint', ['a', 'b']);
    const [again] = h.take();
    assert.equal(again!.version, TWO.types.endpoint.version);
    assert.deepEqual(again!.resources.map((r) => r.name), ['b'], 'a is unchanged and already there');
    h.ack('endpoint', ['a', 'b']);
    assert.deepEqual(h.take(), []);
  });

  it('sends nothing for an endpoint request that names no resource', () => {
    const h = harness(TWO);
    h.req('endpoint', { resource_names: [] });
    assert.deepEqual(h.take(), []);
  });

  it('sends clusters then endpoints at once, and holds listeners and routes until the clusters are ACKed', () => {
    const h = harness(ONE);
    h.req('cluster');
    h.ack('cluster');
    h.req('endpoint', { resource_names: ['a'] });
    h.ack('endpoint', ['a']);
    h.req('listener');
    h.ack('listener');
    h.req('route', { resource_names: ['gateway_routes'] });
    h.ack('route', ['gateway_routes']);
    h.take();

    h.state.onSnapshot(TWO); // a new service: new cluster, endpoints and route
    assert.deepEqual(h.take().map((r) => r.type), ['cluster', 'endpoint']);
    // Envoy asks for the new cluster's endpoints before it ACKs the clusters (it holds that ACK
    // until the new cluster has warmed): the endpoints must not wait for the cluster ACK.
    h.ack('endpoint', ['a', 'b']);
    const eds = h.take();
    assert.deepEqual(eds.map((r) => [r.type, r.resources.map((x) => x.name)]), [['endpoint', ['b']]], 'the new cluster only');
    h.ack('endpoint', ['a', 'b']);
    assert.deepEqual(h.take(), [], 'routes wait for the cluster ACK');
    h.ack('cluster');
    assert.deepEqual(h.take().map((r) => r.type), ['route']);
  });

  it('does not wait for an endpoint ACK that Envoy never sends (endpoints of removed clusters)', () => {
    const h = harness(TWO);
    h.req('cluster');
    h.ack('cluster');
    h.req('endpoint', { resource_names: ['a', 'b'] });
    h.ack('endpoint', ['a', 'b']);
    h.req('listener');
    h.ack('listener');
    h.req('route', { resource_names: ['gateway_routes'] });
    h.ack('route', ['gateway_routes']);
    h.take();
    const EMPTY = snapshotOf([]);
    h.state.onSnapshot(EMPTY); // every service gone
    assert.deepEqual(h.take().map((r) => r.type), ['cluster', 'endpoint']);
    // Envoy drops the clusters, unwatches their endpoints and accepts the empty endpoint answer
    // without a request; it ACKs the clusters.
    h.ack('cluster');
    const after = h.take();
    assert.deepEqual(after.map((r) => [r.type, r.version]), [['route', EMPTY.types.route.version]]);
  });

  it('follows every cluster change with the endpoints, even unchanged (re-created clusters need them)', () => {
    const h = harness(ONE);
    h.req('cluster');
    h.ack('cluster');
    h.req('endpoint', { resource_names: ['a'] });
    h.ack('endpoint', ['a']);
    h.take();
    const tuned = snapshotOf([service('a', [instance('a-1')], { connectTimeoutMs: 5_000 })]);
    assert.equal(tuned.types.endpoint.version, ONE.types.endpoint.version, 'same endpoints');
    h.state.onSnapshot(tuned);
    assert.deepEqual(h.take().map((r) => [r.type, r.version]), [
      ['cluster', tuned.types.cluster.version],
      ['endpoint', tuned.types.endpoint.version],
    ]);
  });

  it('answers an endpoint-only change with endpoints only', () => {
    const h = harness(ONE);
    for (const t of ['cluster', 'endpoint', 'listener', 'route'] as const) {
      h.req(t, t === 'endpoint' ? { resource_names: ['a'] } : t === 'route' ? { resource_names: ['gateway_routes'] } : {});
      h.ack(t, t === 'endpoint' ? ['a'] : t === 'route' ? ['gateway_routes'] : []);
    }
    h.take();
    h.state.onSnapshot(ONE_MOVED);
    assert.deepEqual(h.take().map((r) => r.type), ['endpoint']);
  });

  it('sends only the changed endpoints once the client has its set, and the newly subscribed ones', () => {
    const THREE = snapshotOf([service('a', [instance('a-1')]), service('b', [instance('b-1')]), service('c', [instance('c-1')])]);
    const B_MOVED = snapshotOf([service('a', [instance('a-1')]), service('b', [instance('b-1', { port: 7777 })]), service('c', [instance('c-1')])]);
    const h = harness(THREE);
    h.req('endpoint', { resource_names: ['a', 'b', 'c'] });
    assert.deepEqual(h.take()[0]!.resources.map((r) => r.name), ['a', 'b', 'c']);
    h.ack('endpoint', ['a', 'b', 'c']);
    h.state.onSnapshot(B_MOVED);
    const [change] = h.take();
    assert.deepEqual(change!.resources.map((r) => r.name), ['b'], 'one endpoint change, one ClusterLoadAssignment');
    assert.equal(change!.version, B_MOVED.types.endpoint.version);
    h.ack('endpoint', ['a', 'b']);
    const [shrunk] = h.take();
    assert.deepEqual(shrunk!.resources.map((r) => r.name), [], 'fewer names: nothing new to send, only the answer');
    h.ack('endpoint', ['a', 'b', 'c']);
    assert.deepEqual(h.take()[0]!.resources.map((r) => r.name), ['c']);
  });

  it('follows a cluster answer with the endpoints of the clusters it changed or added only', () => {
    const THREE = snapshotOf([service('a', [instance('a-1')]), service('b', [instance('b-1')]), service('c', [instance('c-1')])]);
    const B_TUNED = snapshotOf([service('a', [instance('a-1')]), service('b', [instance('b-1')], { connectTimeoutMs: 5_000 }), service('c', [instance('c-1')])]);
    const h = harness(THREE);
    h.req('cluster');
    h.ack('cluster');
    h.req('endpoint', { resource_names: ['a', 'b', 'c'] });
    h.ack('endpoint', ['a', 'b', 'c']);
    h.take();
    h.state.onSnapshot(B_TUNED);
    assert.deepEqual(h.take().map((r) => [r.type, r.resources.map((x) => x.name)]), [
      ['cluster', ['a', 'b', 'c']],
      ['endpoint', ['b']],
    ]);
  });

  it('ignores types it does not serve', () => {
    let unknown = '';
    const state = new SotwState(() => assert.fail('nothing should be sent'), { onUnknownType: (u) => (unknown = u) });
    state.onSnapshot(ONE);
    state.onRequest({ version_info: '', resource_names: [], response_nonce: '', type_url: 'type.googleapis.com/envoy.service.runtime.v3.Runtime' });
    assert.match(unknown, /Runtime$/);
  });
});
