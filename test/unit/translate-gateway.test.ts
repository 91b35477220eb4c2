// Golden translation for the gateway role, and proof that every resource survives encoding:
// nothing the translation wrote is silently dropped by the schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { translateGateway } from '../../xds-server/translate/gateway.js';
import { messageNameOf, PUSH_ORDER } from '../../xds-server/xds-types.js';
import { assertGolden } from '../helpers/golden.js';
import type { MeshState } from '../../xds-server/model/mesh.js';
import type { GatewayOptions } from '../../xds-server/translate/gateway.js';
import { AUTHZ_FIXTURE, EDGE_FIXTURE, GATEWAY_FIXTURES, GATEWAY_OPTIONS, GATEWAY_OPTIONS_AUTHZ, GATEWAY_OPTIONS_EDGE } from '../helpers/mesh-fixtures.js';


/** proto3 does not tell an empty repeated field from an absent one. */
function withoutEmptyLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyLists);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, withoutEmptyLists(v)]),
  );
}

const CASES: Array<[string, MeshState, GatewayOptions]> = [
  ...Object.entries(GATEWAY_FIXTURES).map(([n, s]): [string, MeshState, GatewayOptions] => [n, s, GATEWAY_OPTIONS]),
  ['with-authz', AUTHZ_FIXTURE, GATEWAY_OPTIONS_AUTHZ],
  ['edge-with-rate-limits', EDGE_FIXTURE, GATEWAY_OPTIONS_EDGE],
];

describe('translate: gateway role', () => {
  for (const [name, state, options] of CASES) {
    it(`matches the golden file for "${name}"`, () => {
      const t = translateGateway(state, options);
      const out = {
        notes: t.notes,
        ...Object.fromEntries(PUSH_ORDER.map((type) => [type, t.resources[type].map((r) => r.resource)])),
      };
      assertGolden(`gateway/${name}`, out);
    });

    it(`encodes every resource of "${name}" without losing a field`, () => {
      const t = translateGateway(state, options);
      for (const type of PUSH_ORDER) {
        for (const r of t.resources[type]) {
          const roundTrip = decodeMessage(messageNameOf(type), encodeMessage(messageNameOf(type), r.resource));
          assert.deepEqual(roundTrip, withoutEmptyLists(r.resource), `${type} ${r.name}`);
        }
      }
    });
  }

  it('is pure: the same state gives the same resources', () => {
    const state = GATEWAY_FIXTURES['two-services']!;
    assert.deepEqual(translateGateway(state, GATEWAY_OPTIONS), translateGateway(state, GATEWAY_OPTIONS));
  });

  it('orders routes longest prefix first and reports a path claimed twice', () => {
    const t = translateGateway(GATEWAY_FIXTURES['path-conflict']!, GATEWAY_OPTIONS);
    const routes = (t.resources.route[0]!.resource as { virtual_hosts: Array<{ routes: Array<{ match: { prefix: string }; route: { cluster: string } }> }> })
      .virtual_hosts[0]!.routes;
    // Each path twice: idempotent methods (retried on a reset too) first, then the rest.
    assert.deepEqual(
      [...new Set(routes.map((r) => `${r.match.prefix} ${r.route.cluster}`))],
      ['/api/beta/ beta', '/api/ alpha'],
    );
    assert.deepEqual(t.notes, ['path /api/ is claimed by alpha and beta; alpha gets it']);
  });

  it('routes a service with no instances (503, not 404) and gives it an empty load assignment', () => {
    const state = { ...GATEWAY_FIXTURES['empty']!, services: new Map([['gone', { ...GATEWAY_FIXTURES['path-conflict']!.services.get('alpha')!, name: 'gone', instances: [] }]]) };
    const t = translateGateway(state, GATEWAY_OPTIONS);
    assert.deepEqual(t.resources.endpoint[0]!.resource, { cluster_name: 'gone', endpoints: [] });
    assert.equal(t.resources.cluster[0]!.name, 'gone');
  });

  it('puts ext-authz in front of every route but public ones, and never routes ext-authz itself', () => {
    const t = translateGateway(AUTHZ_FIXTURE, GATEWAY_OPTIONS_AUTHZ);
    type Route = { name: string; typed_per_filter_config: Record<string, { disabled?: boolean; check_settings?: { context_extensions: Record<string, string> } }> };
    const routes = (t.resources.route[0]!.resource as { virtual_hosts: Array<{ routes: Route[] }> }).virtual_hosts[0]!.routes;
    const authzOf = (name: string) => routes.find((r) => r.name === name)!.typed_per_filter_config['envoy.filters.http.ext_authz']!;
    assert.deepEqual(authzOf('llm-chat/v1/').check_settings!.context_extensions, { policy: 'llm-clients', route: 'llm-chat/v1/' });
    assert.equal(authzOf('llm-chat/test').disabled, true);
    assert.deepEqual(authzOf('embed/embed/').check_settings!.context_extensions, { policy: 'default', route: 'embed/embed/' });
    assert.ok(!routes.some((r) => r.name.startsWith('ext-authz')));
    const cluster = t.resources.cluster.find((c) => c.name === 'ext-authz')!.resource;
    assert.ok(cluster['typed_extension_protocol_options'], 'ext-authz is spoken to over HTTP/2');
  });

  it('strips client copies of every identity header, including ones ext-authz announces', () => {
    const t = translateGateway(AUTHZ_FIXTURE, GATEWAY_OPTIONS_AUTHZ);
    const hcm = ((t.resources.listener[0]!.resource['filter_chains'] as Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string; typed_config: { mutations?: { request_mutations: Array<{ remove: string }> } } }> } }> }>)[0]!.filters[0]!.typed_config);
    assert.deepEqual(hcm.http_filters.map((f) => f.name), ['envoy.filters.http.header_mutation', 'envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    const removed = hcm.http_filters[0]!.typed_config.mutations!.request_mutations.map((m) => m.remove);
    assert.ok(removed.includes('x-auth-org'));
    assert.ok(removed.includes('x-auth-subject'));
  });

  it('gives ext-authz an empty cluster when it is not registered, so the gateway fails closed', () => {
    const t = translateGateway(GATEWAY_FIXTURES['empty']!, GATEWAY_OPTIONS_AUTHZ);
    assert.deepEqual(t.resources.endpoint.find((e) => e.name === 'ext-authz')!.resource, { cluster_name: 'ext-authz', endpoints: [] });
  });

  it('sends rate-limit descriptors built from ext-authz metadata, never from identity headers', () => {
    const t = translateGateway(EDGE_FIXTURE, GATEWAY_OPTIONS_EDGE);
    type Route = { name: string; route: { rate_limits?: Array<{ actions: Array<Record<string, unknown>> }> } };
    const routes = (t.resources.route[0]!.resource as { virtual_hosts: Array<{ routes: Route[] }> }).virtual_hosts[0]!.routes;
    const v1 = routes.find((r) => r.name === 'llm-chat/v1/')!.route.rate_limits!;
    assert.deepEqual(v1[0]!.actions[1], {
      metadata: { descriptor_key: 'key_id', metadata_key: { key: 'envoy.filters.http.ext_authz', path: [{ key: 'key_id' }] }, source: 'DYNAMIC' },
    });
    assert.deepEqual(routes.find((r) => r.name === 'llm-chat/test')!.route.rate_limits, [{ actions: [{ remote_address: {} }] }]);
    const hcm = (t.resources.listener[0]!.resource['filter_chains'] as Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string }> } }> }>)[0]!.filters[0]!.typed_config;
    assert.deepEqual(hcm.http_filters.map((f) => f.name), [
      'envoy.filters.http.header_mutation',
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.ratelimit',
      'envoy.filters.http.router',
    ]);
    assert.ok(!routes.some((r) => r.name.startsWith('ratelimit')), 'the rate-limit service is never routed');
  });
});
