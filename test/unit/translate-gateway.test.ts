// The gateway role's translation, property by property (the golden cases, test/golden/cases/
// gateway-*, cover every resource): route order and conflicts, services without instances,
// ext-authz in front of routes, identity headers, rate-limit descriptors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCase } from '../helpers/golden-cases.js';
import { gatewayOf, instance, meshOf, service } from '../helpers/mesh-fixtures.js';
import { DEFAULT_ADMISSION } from '../../xds-server/resolve/defaults.js';
import { ADMISSION_GATE_FILTER } from '../../xds-server/translate/admission-gate.js';


/** The gRPC transcoding filters, always in the chain (off unless a transcoded route turns them on). */
const TRANSCODING = ['envoy.filters.http.custom_response', 'envoy.filters.http.lua', 'envoy.filters.http.grpc_web', 'envoy.filters.http.grpc_json_transcoder'];
describe('translate: gateway role', () => {
  it('orders routes longest prefix first and reports a path claimed twice', () => {
    const t = loadCase('gateway-path-conflict').translate();
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
    const t = gatewayOf(meshOf([service('gone', [])]));
    assert.deepEqual(t.resources.endpoint[0]!.resource, { cluster_name: 'gone', endpoints: [] });
    assert.equal(t.resources.cluster[0]!.name, 'gone');
  });

  it('sets and removes a body limit in the route table alone: the listener (whose change drains connections) stays the same', () => {
    const limited = loadCase('gateway-body-limit').translate();
    const unlimited = loadCase('gateway-body-limit', { entries: '' }).translate();
    assert.deepEqual(limited.resources.listener, unlimited.resources.listener);
    assert.notDeepEqual(limited.resources.route, unlimited.resources.route);
  });

  it('puts ext-authz in front of every route but public ones, and never routes ext-authz itself', () => {
    const t = loadCase('gateway-with-authz').translate();
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

  it('gates every checked route with its own admission control, before the checks, and leaves public routes ungated', () => {
    const gateOf = (t: ReturnType<ReturnType<typeof loadCase>['translate']>) => {
      type Route = { name: string; typed_per_filter_config?: Record<string, { config?: { xds_matcher: { on_no_match: { action: { typed_config: { typed_config: { typed_config: Record<string, unknown> } } } } } } }> };
      const routes = (t.resources.route[0]!.resource as { virtual_hosts: Array<{ routes: Route[] }> }).virtual_hosts[0]!.routes;
      return (name: string) => routes.find((r) => r.name === name)!.typed_per_filter_config?.[ADMISSION_GATE_FILTER]?.config?.xds_matcher.on_no_match.action.typed_config.typed_config.typed_config;
    };
    const t = loadCase('gateway-with-authz').translate();
    const gate = gateOf(t);
    assert.deepEqual(gate('llm-chat/v1/')!['sr_threshold'], { default_value: { value: DEFAULT_ADMISSION.successRatePercent }, runtime_key: 'meshgate.admission.success_rate' });
    assert.equal(gate('llm-chat/v1/')!['sampling_window'], `${DEFAULT_ADMISSION.windowSeconds}s`);
    assert.ok(gate('embed/embed/'), 'the default policy is a check too');
    assert.equal(gate('llm-chat/test'), undefined, 'a public path asks nothing: nothing to spare');
    // In the chain after buffer (a refused call was read whole) and before ext_authz.
    const hcm = (t.resources.listener[0]!.resource as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string; disabled?: boolean }> } }> }> }).filter_chains[0]!.filters[0]!.typed_config;
    const names = hcm.http_filters.map((f) => f.name);
    assert.deepEqual(names.slice(names.indexOf('envoy.filters.http.buffer'), names.indexOf('envoy.filters.http.ext_authz') + 1), ['envoy.filters.http.buffer', ADMISSION_GATE_FILTER, 'envoy.filters.http.ext_authz']);
    assert.equal(hcm.http_filters.find((f) => f.name === ADMISSION_GATE_FILTER)!.disabled, true);

    const tuned = gateOf(loadCase('gateway-with-authz', { entries: 'Kind: service-defaults\nName: llm-chat\nAdmission: {SuccessRatePercent: 80, Aggression: 1}' }).translate());
    assert.deepEqual(tuned('llm-chat/v1/')!['sr_threshold'], { default_value: { value: 80 }, runtime_key: 'meshgate.admission.success_rate' });
    assert.deepEqual(tuned('llm-chat/v1/')!['aggression'], { default_value: 1, runtime_key: 'meshgate.admission.aggression' });
    assert.ok(tuned('embed/embed/'), 'another service keeps the default');
    const off = gateOf(loadCase('gateway-with-authz', { entries: 'Kind: service-defaults\nName: llm-chat\nAdmission: {Enabled: false}' }).translate());
    assert.equal(off('llm-chat/v1/'), undefined);
  });

  it('strips client copies of every identity header, including ones ext-authz announces', () => {
    const t = loadCase('gateway-with-authz').translate();
    const hcm = ((t.resources.listener[0]!.resource['filter_chains'] as Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string; typed_config: { mutations?: { request_mutations: Array<{ remove: string }> } } }> } }> }>)[0]!.filters[0]!.typed_config);
    assert.deepEqual(hcm.http_filters.map((f) => f.name), [
      'envoy.filters.http.header_mutation',
      'envoy.filters.http.cors',
      'envoy.filters.http.oauth2',
      'envoy.filters.http.buffer',
      ADMISSION_GATE_FILTER,
      'envoy.filters.http.ext_authz',
      ...TRANSCODING,
      'envoy.filters.http.router',
    ]);
    const removed = hcm.http_filters[0]!.typed_config.mutations!.request_mutations.map((m) => m.remove);
    assert.ok(removed.includes('x-auth-org'));
    assert.ok(removed.includes('x-auth-subject'));
  });

  it('gives ext-authz an empty cluster when it is not registered, so the gateway fails closed', () => {
    const withAuthz = loadCase('gateway-with-authz').gateway;
    const t = gatewayOf(meshOf([service('llm', [instance('llm-1')])]), withAuthz);
    assert.deepEqual(t.resources.endpoint.find((e) => e.name === 'ext-authz')!.resource, { cluster_name: 'ext-authz', endpoints: [] });
  });

  it('sends rate-limit descriptors built from ext-authz metadata, never from identity headers', () => {
    const t = loadCase('gateway-edge-with-rate-limits').translate();
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
      'envoy.filters.http.cors',
      'envoy.filters.http.oauth2',
      'envoy.filters.http.buffer',
      ADMISSION_GATE_FILTER,
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.ratelimit',
      ...TRANSCODING,
      'envoy.filters.http.router',
    ]);
    assert.ok(!routes.some((r) => r.name.startsWith('ratelimit')), 'the rate-limit service is never routed');
  });
});
