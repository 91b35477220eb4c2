// The delta (incremental) ADS state machine, driven as Envoy and grpc-js drive it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import type { Snapshot } from '../../xds-server/cache/snapshot.js';
import { decodeDeltaDiscoveryRequest, deltaResponseBytes, encodeDeltaDiscoveryRequest, type DeltaDiscoveryRequest } from '../../xds-server/server/delta-codec.js';
import { DeltaState, type DeltaResponse } from '../../xds-server/server/delta-state.js';
import type { Nack } from '../../xds-server/server/xds-protocol.js';
import { messageType } from '../../shared/proto/root.js';
import { TYPE_URLS, type XdsType } from '../../xds-server/xds-types.js';
import { gatewaySnapshot, instance, service } from '../helpers/mesh-fixtures.js';

const snapshotOf = gatewaySnapshot;

const A = service('a', [instance('a-1')]);
const B = service('b', [instance('b-1')]);
const C = service('c', [instance('c-1')]);
const ABC = snapshotOf([A, B, C]);
const ABC_B_MOVED = snapshotOf([A, service('b', [instance('b-1', { port: 7777 })]), C]);
const AC = snapshotOf([A, C]);

function harness(initial?: Snapshot) {
  const sent: DeltaResponse[] = [];
  const history: DeltaResponse[] = [];
  const nacks: Array<[XdsType, Nack]> = [];
  const acks: Array<[XdsType, string]> = [];
  const state = new DeltaState((r) => (sent.push(r), history.push(r)), {
    onAck: (t, v) => acks.push([t, v]),
    onNack: (t, n) => nacks.push([t, n]),
  });
  if (initial) state.onSnapshot(initial);
  const req = (type: XdsType, o: Partial<Omit<DeltaDiscoveryRequest, 'type_url'>> = {}): void =>
    state.onRequest({
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      ...o,
      type_url: TYPE_URLS[type],
    });
  const last = (type: XdsType): DeltaResponse => [...history].reverse().find((r) => r.type === type)!;
  const ack = (type: XdsType, o: Partial<Omit<DeltaDiscoveryRequest, 'type_url'>> = {}): void => req(type, { response_nonce: last(type).nonce, ...o });
  const take = (): DeltaResponse[] => sent.splice(0, sent.length);
  const names = (r: DeltaResponse | undefined): string[] => (r?.resources ?? []).map((x) => x.name);
  return { state, req, ack, take, names, nacks, acks };
}

/** A client subscribed to every type and in sync with `snapshot`. */
function synced(snapshot: Snapshot) {
  const h = harness(snapshot);
  h.req('cluster');
  h.ack('cluster');
  h.req('endpoint', { resource_names_subscribe: [...snapshot.types.endpoint.resources.keys()] });
  h.ack('endpoint');
  h.req('listener');
  h.ack('listener');
  h.req('route', { resource_names_subscribe: ['gateway_routes'] });
  h.ack('route');
  h.take();
  return h;
}

describe('ADS delta', () => {
  it('treats a first cluster request without names as the wildcard and sends every cluster with its version', () => {
    const h = harness(ABC);
    h.req('cluster');
    const [r, ...rest] = h.take();
    assert.equal(rest.length, 0);
    assert.deepEqual(h.names(r), ['a', 'b', 'c']);
    assert.deepEqual(r!.resources.map((x) => x.version), ['a', 'b', 'c'].map((n) => ABC.types.cluster.resources.get(n)!.version));
    assert.equal(r!.systemVersion, ABC.types.cluster.version);
    assert.deepEqual(r!.removed, []);
  });

  it('sends one ClusterLoadAssignment for one endpoint change, and nothing of the other types', () => {
    const h = synced(ABC);
    h.state.onSnapshot(ABC_B_MOVED);
    const out = h.take();
    assert.deepEqual(out.map((r) => [r.type, h.names(r), r.removed]), [['endpoint', ['b'], []]]);
    h.ack('endpoint');
    assert.deepEqual(h.acks.at(-1), ['endpoint', ABC_B_MOVED.types.endpoint.version]);
  });

  it('sends named subscriptions only, forgets unsubscribed names, and sends a resubscribed one again', () => {
    const h = harness(ABC);
    h.req('endpoint', { resource_names_subscribe: ['a'] });
    assert.deepEqual(h.names(h.take()[0]), ['a']);
    h.ack('endpoint', { resource_names_subscribe: ['b'] });
    assert.deepEqual(h.names(h.take()[0]), ['b'], 'only the newly subscribed name');
    h.ack('endpoint', { resource_names_unsubscribe: ['b'] });
    assert.deepEqual(h.take(), [], 'unsubscribing sends nothing');
    h.state.onSnapshot(ABC_B_MOVED);
    assert.deepEqual(h.take(), [], 'a change to an unsubscribed resource is not sent');
    h.req('endpoint', { resource_names_subscribe: ['b'] });
    const [again] = h.take();
    assert.deepEqual(h.names(again), ['b']);
    assert.equal(again!.resources[0]!.version, ABC_B_MOVED.types.endpoint.resources.get('b')!.version);
  });

  it('names removed resources in removed_resources, to wildcard and named subscribers alike', () => {
    const h = synced(ABC);
    h.state.onSnapshot(AC);
    const out = h.take();
    const byType = new Map(out.map((r) => [r.type, r]));
    assert.deepEqual(byType.get('cluster')?.removed, ['b']);
    assert.deepEqual(h.names(byType.get('cluster')), []);
    assert.deepEqual(byType.get('endpoint')?.removed, ['b']);
    assert.equal(byType.has('route'), false, 'routes wait for the cluster ACK');
    h.ack('cluster');
    assert.deepEqual(h.take().map((r) => [r.type, h.names(r)]), [['route', ['gateway_routes']]]);
  });

  it('tells a client that a resource it asks for does not exist', () => {
    const h = harness(ABC);
    h.req('endpoint', { resource_names_subscribe: ['a', 'nope'] });
    const [r] = h.take();
    assert.deepEqual(h.names(r), ['a']);
    assert.deepEqual(r!.removed, ['nope']);
  });

  it('sends nothing on reconnect for resources the client already has at their current version', () => {
    const versions = (s: Snapshot, t: XdsType) => Object.fromEntries([...s.types[t].resources].map(([n, r]) => [n, r.version]));
    const h = harness(ABC);
    h.req('cluster', { initial_resource_versions: versions(ABC, 'cluster') });
    assert.deepEqual(h.take(), []);
    assert.equal(h.state.types.cluster.ackedVersion, ABC.types.cluster.version, 'counted as in sync');
    h.req('endpoint', { resource_names_subscribe: ['a', 'b'], initial_resource_versions: versions(ABC, 'endpoint') });
    assert.deepEqual(h.take(), []);

    // A client that was away while b moved and c went away.
    const away = harness(snapshotOf([A, service('b', [instance('b-1', { port: 7777 })])]));
    away.req('endpoint', { resource_names_subscribe: ['a', 'b', 'c'], initial_resource_versions: versions(ABC, 'endpoint') });
    const [r] = away.take();
    assert.deepEqual(away.names(r), ['b']);
    assert.deepEqual(r!.removed, ['c']);
    away.req('cluster', { initial_resource_versions: versions(ABC, 'cluster') });
    const [clusters] = away.take();
    assert.deepEqual(away.names(clusters), [], 'clusters a and b are unchanged');
    assert.deepEqual(clusters!.removed, ['c']);
  });

  it('records a NACK with its reason and does not send the rejected version again', () => {
    const h = harness(ABC);
    h.req('cluster');
    const [r] = h.take();
    h.req('cluster', { response_nonce: r!.nonce, error_detail: { code: 3, message: 'cluster b: bad' } });
    assert.deepEqual(h.nacks.map(([t, n]) => [t, n.version, n.message]), [['cluster', ABC.types.cluster.version, 'cluster b: bad']]);
    assert.equal(h.state.types.cluster.ackedVersion, undefined);
    h.state.onSnapshot(ABC);
    h.req('cluster', { response_nonce: r!.nonce, error_detail: { code: 3, message: 'cluster b: bad' } });
    assert.deepEqual(h.take(), [], 'no loop');
    assert.equal(h.nacks.length, 1, 'the nonce was answered once');
    // Another cluster changes: only that one goes out, not the rejected one.
    const withD = snapshotOf([A, B, C, service('d', [instance('d-1')])]);
    h.state.onSnapshot(withD);
    assert.deepEqual(h.names(h.take()[0]), ['d']);
  });

  it('follows a changed cluster with its endpoints, since Envoy re-creates it', () => {
    const h = synced(ABC);
    const tuned = snapshotOf([A, service('b', [instance('b-1')], { connectTimeoutMs: 5_000 }), C]);
    h.state.onSnapshot(tuned);
    assert.deepEqual(h.take().map((r) => [r.type, h.names(r)]), [
      ['cluster', ['b']],
      ['endpoint', ['b']],
    ]);
  });

  it('applies the subscription changes of a request whose nonce is stale', () => {
    const h = harness(ABC);
    h.req('endpoint', { resource_names_subscribe: ['a'] });
    const [first] = h.take();
    h.req('endpoint', { resource_names_subscribe: ['b'] });
    h.take();
    h.req('endpoint', { response_nonce: first!.nonce, resource_names_subscribe: ['c'] });
    const [r] = h.take();
    assert.deepEqual(h.names(r), ['c']);
  });

  it('subscribes to everything with "*" on top of named subscriptions', () => {
    const h = harness(ABC);
    h.req('endpoint', { resource_names_subscribe: ['a'] });
    h.ack('endpoint');
    h.take();
    h.req('endpoint', { resource_names_subscribe: ['*'] });
    assert.deepEqual(h.names(h.take()[0]), ['b', 'c'], 'a is already there');
  });

  it('holds nothing per stream in the steady state: identical streams share their subscription set', () => {
    const one = synced(ABC);
    const two = synced(ABC);
    assert.equal(one.state.types.endpoint.names, two.state.types.endpoint.names);
    for (const t of ['cluster', 'endpoint', 'listener', 'route'] as const) {
      assert.equal(one.state.types[t].exceptions.size, 0);
      assert.equal(one.state.types[t].base, ABC.types[t]);
    }
  });
});

describe('delta codec', () => {
  it('decodes a request with initial resource versions and encodes a response Envoy can parse', () => {
    const req = decodeDeltaDiscoveryRequest(
      encodeDeltaDiscoveryRequest({
        type_url: TYPE_URLS.endpoint,
        resource_names_subscribe: ['a', 'b'],
        initial_resource_versions: { a: 'v1' },
        response_nonce: '7',
        node: { id: 'n1' },
      }),
    );
    assert.deepEqual(req.resource_names_subscribe, ['a', 'b']);
    assert.deepEqual(req.initial_resource_versions, { a: 'v1' });
    assert.equal(req.response_nonce, '7');

    const a = ABC.types.endpoint.resources.get('a')!;
    const bytes = deltaResponseBytes('sys1', TYPE_URLS.endpoint, '9', [a], ['gone']);
    const type = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    const decoded = type.toObject(type.decode(bytes), { defaults: false }) as {
      system_version_info: string;
      nonce: string;
      type_url: string;
      removed_resources: string[];
      resources: Array<{ name: string; version: string; resource: { type_url: string; value: Uint8Array } }>;
      control_plane: { identifier: string };
    };
    assert.equal(decoded.system_version_info, 'sys1');
    assert.equal(decoded.nonce, '9');
    assert.deepEqual(decoded.removed_resources, ['gone']);
    assert.equal(decoded.resources[0]!.name, 'a');
    assert.equal(decoded.resources[0]!.version, a.version);
    assert.equal(decoded.resources[0]!.resource.type_url, TYPE_URLS.endpoint);
    const cla = messageType('envoy.config.endpoint.v3.ClusterLoadAssignment').decode(decoded.resources[0]!.resource.value) as unknown as { cluster_name: string };
    assert.equal(cla.cluster_name, 'a');
    assert.match(decoded.control_plane.identifier, /^meshgate-xds-server@/);
    assert.ok(protobuf.util.isString(decoded.type_url));
  });
});
