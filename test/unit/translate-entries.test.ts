// Config entries through translation, property by property (the golden cases, test/golden/
// cases/sidecar-*, gateway-with-entries and proxyless-with-resolver, cover every resource):
// splits, subsets, failover, scoping; and the config entry store and validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigEntries } from '../../xds-server/model/config-entries/schema.js';
import { createConfigEntryStore } from '../../xds-server/model/config-entries/entry-store.js';
import { parseSubsetFilter, matchesFilter } from '../../xds-server/model/config-entries/subset-filter.js';
import { loadCase } from '../helpers/golden-cases.js';
import { instance, sidecarOf } from '../helpers/mesh-fixtures.js';

describe('translate: config entries', () => {
  it('splits by weight, resolves subsets and fails over by priority', () => {
    const chain = loadCase('sidecar-service-splitter').resolve().services.get('web')!.chain;
    assert.equal(chain.fallback.action.kind, 'split');
    assert.deepEqual(chain.fallback.action.kind === 'split' && chain.fallback.action.splits.map((s) => [s.target.id, s.weight]), [['v1.web', 90], ['v2.web', 9.5], ['web-dr', 0.5]]);
    const resolver = loadCase('sidecar-service-resolver').translate();
    const cla = resolver.resources.endpoint.find((e) => e.name === 'v1.web')!.resource as { endpoints: Array<{ priority?: number; lb_endpoints: Array<{ endpoint: { hostname: string } }> }> };
    assert.deepEqual(
      cla.endpoints.map((e) => [e.priority ?? 0, e.lb_endpoints.map((l) => l.endpoint.hostname)]),
      [[0, ['web-1']], [1, ['web-3']], [2, ['web-dr-1']]],
      'OnlyPassing drops web-2; failover v2 at priority 1, web-dr at 2',
    );
  });

  it('gives a subset that no resolver defines no endpoints, and says so', () => {
    const t = loadCase('sidecar-no-entries', { entries: 'Kind: service-splitter\nName: web\nSplits: [{Weight: 100, ServiceSubset: v9}]\n' }).translate();
    assert.deepEqual(t.resources.endpoint.find((e) => e.name === 'v9.web')!.resource, { cluster_name: 'v9.web', endpoints: [] });
    assert.ok(t.notes.some((n) => n.includes('subset "v9" of web is not defined')));
  });

  it('scopes a sidecar to its declared upstreams', () => {
    const mesh = loadCase('sidecar-no-entries');
    const t = sidecarOf(mesh.state, { ...mesh.sidecar!, service: 'admin' });
    assert.deepEqual(t.resources.cluster.map((c) => c.name), ['local_app'], 'admin declares no upstreams');
  });
});

describe('config entry store', () => {
  it('takes one entry per KV key or a set per file, refuses a duplicate, and keeps the last good version', () => {
    const store = createConfigEntryStore();
    assert.equal(store.setDocument('kv:meshgate/config/web', 'Kind: service-defaults\nName: web\nProtocol: http2\n'), undefined);
    assert.equal(store.setDocument('file:entries.yaml', 'Kind: service-defaults\nName: api\n---\n- {Kind: service-splitter, Name: api, Splits: [{Weight: 100, Service: web}]}\n'), undefined);
    assert.deepEqual([...store.items.keys()].sort(), ['service-defaults/api', 'service-defaults/web', 'service-splitter/api']);
    assert.match(store.setDocument('kv:meshgate/config/other', 'Kind: service-defaults\nName: web\n') ?? '', /service-defaults\/web is already defined by kv:meshgate\/config\/web/);
    assert.match(store.setDocument('kv:meshgate/config/web', 'Kind: service-defaults\nName: web\nProtocol: h3\n') ?? '', /Protocol/);
    assert.equal((store.items.get('service-defaults/web') as { Protocol?: string }).Protocol, 'http2', 'the last good entry stays');
    const many = parseConfigEntries('Kind: service-defaults\nName: a\n---\nKind: service-defaults\nName: b\n');
    assert.equal(many.ok, false, 'without `many`, one entry per document');
  });
});

describe('config entry validation', () => {
  const reason = (yaml: string): string => {
    const r = parseConfigEntries(yaml);
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };

  it('names the field of every problem', () => {
    assert.match(reason('Kind: service-splitter\nName: web\nSplits: [{Weight: 50}, {Weight: 40}]'), /Splits: the weights must add up to 100/);
    assert.match(reason('Kind: service-resolver\nName: web\nDefaultSubset: v3\nSubsets: {v1: {Filter: "Service.Meta.v == 1"}}'), /DefaultSubset: subset "v3" is not defined in Subsets/);
    assert.match(reason('Kind: service-resolver\nName: web\nSubsets: {v1: {Filter: "Service.Name matches web"}}'), /Subsets\.v1\.Filter: cannot read "Service\.Name matches web"/);
    assert.match(reason('Kind: service-router\nName: web\nRoutes: [{Match: {HTTP: {PathPrefix: /a, PathExact: /b}}}]'), /Routes\[0\]\.Match\.HTTP: give at most one of PathExact, PathPrefix or PathRegex/);
    assert.match(reason('Kind: service-router\nName: web\nRoutes: [{Match: {HTTP: {PathRegex: "(["}}}]'), /PathRegex: is not a regular expression Envoy \(RE2\) accepts/);
    assert.match(reason('Kind: service-resolver\nName: web\nLoadBalancer: {Policy: round_robin, HashPolicies: [{SourceIP: true}]}'), /hash policies need Policy ring_hash or maglev/);
    assert.match(
      reason('Kind: service-router\nName: web\nRoutes: [{Match: {HTTP: {Header: [{Name: x, Regex: "(?=look)ahead"}]}}}]'),
      /Header\[0\]\.Regex: is not a regular expression Envoy \(RE2\) accepts: .*invalid perl operator/,
      'JavaScript would accept a look-ahead; Envoy would reject the route',
    );
    assert.match(reason('Kind: service-defaults\nName: Web'), /Name: must be a service name/);
    assert.match(reason('Kind: service-defaults\nName: web\nProtocol: tcp'), /Protocol: Invalid option/);
    assert.match(reason('Kind: ingress-gateway\nName: web'), /Kind: Invalid discriminator value. Expected 'service-defaults'/);
    assert.match(reason('Kind: service-defaults\nName: web\nPasiveHealthCheck: {}'), /Unrecognized key/);
  });

  it('reads subset filters on meta and tags', () => {
    const f = parseSubsetFilter('Service.Meta.version == "v2" and Service.Tags not contains legacy');
    assert.ok(Array.isArray(f));
    assert.equal(matchesFilter(instance('a', { meta: { version: 'v2' } }), f as never), true);
    assert.equal(matchesFilter(instance('a', { meta: { version: 'v2' }, tags: ['legacy'] }), f as never), false);
    assert.equal(matchesFilter(instance('a', { meta: { version: 'v1' } }), f as never), false);
  });
});
