// Config entry fixtures for golden translation: one mesh per entry kind, written as an operator
// would write them (parsed and validated like any Consul KV document).
import assert from 'node:assert/strict';
import type { ConfigEntries, MeshState } from '../../xds-server/model/mesh.js';
import { entriesOf } from '../../xds-server/model/config-entries/entry-store.js';
import { entryId, parseConfigEntries, type ConfigEntry } from '../../xds-server/model/config-entries/schema.js';
import type { SidecarRole } from '../../xds-server/translate/sidecar.js';
import { instance, meshOf, service } from './mesh-fixtures.js';

export function entries(...yamlDocs: string[]): Partial<ConfigEntries> {
  const items = new Map<string, ConfigEntry>();
  for (const doc of yamlDocs) {
    const r = parseConfigEntries(doc);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    for (const e of r.value) items.set(entryId(e), e);
  }
  return entriesOf(items);
}

/** web (v1, v2 canary), web-dr (another region), admin, and the client service calling web. */
export function entryMesh(...yamlDocs: string[]): MeshState {
  return meshOf(
    [
      service('admin', [instance('admin-1', { address: '10.0.3.1' })]),
      service('client', [instance('client-1', { address: '10.0.9.1' })], { upstreams: ['admin', 'web', 'web-dr'] }),
      service('web', [
        instance('web-1', { address: '10.0.1.1', meta: { version: 'v1' } }),
        instance('web-2', { address: '10.0.1.2', meta: { version: 'v1' }, health: 'UNHEALTHY' }),
        instance('web-3', { address: '10.0.1.3', meta: { version: 'v2' }, tags: ['canary'] }),
      ]),
      service('web-dr', [instance('web-dr-1', { address: '10.9.1.1', zone: 'dr' })]),
    ],
    entries(...yamlDocs),
  );
}

export const CLIENT_SIDECAR: SidecarRole = { kind: 'sidecar', service: 'client', inboundAddress: '0.0.0.0', inboundPort: 15000, appPort: 8080, outboundPort: 15001 };

export const ENTRY_FIXTURES: Record<string, string[]> = {
  'no-entries': [],
  'service-defaults': [
    `
Kind: service-defaults
Name: web
Protocol: http2
ConnectTimeoutMs: 250
RequestTimeoutMs: 120000
Limits: {MaxConnections: 100, MaxPendingRequests: 50, MaxConcurrentRequests: 200, MaxRetries: 3}
RetryBudget: {BudgetPercent: 20, MinRetryConcurrency: 3}
PassiveHealthCheck: {Interval: 5s, MaxFailures: 3, MaxEjectionPercent: 50, BaseEjectionTime: 30s}
ActiveHealthCheck: {Path: /health, Interval: 2s, Timeout: 500ms}
`,
  ],
  'service-router': [
    `
Kind: service-router
Name: web
Routes:
  - Match: {HTTP: {PathPrefix: /admin}}
    Destination: {Service: admin, PrefixRewrite: /, RequestTimeout: 5s}
  - Match: {HTTP: {Header: [{Name: x-debug, Present: true}]}}
    Destination: {ServiceSubset: v2}
  - Match: {HTTP: {PathExact: /checkout, Methods: [GET, HEAD], QueryParam: [{Name: beta, Exact: "1"}]}}
    Destination: {NumRetries: 3, RetryOn: [5xx, reset], RetryOnStatusCodes: [429], PerTryTimeout: 2s, RetryBackOff: {BaseInterval: 100ms, MaxInterval: 1s}}
  - Match: {HTTP: {PathRegex: "^/v[0-9]+/items$", Header: [{Name: x-tenant, Regex: "^acme-.*", Invert: true}]}}
`,
    `
Kind: service-resolver
Name: web
Subsets:
  v1: {Filter: "Service.Meta.version == v1"}
  v2: {Filter: "Service.Tags contains canary"}
`,
  ],
  'service-splitter': [
    `
Kind: service-splitter
Name: web
Splits:
  - {Weight: 90, ServiceSubset: v1}
  - {Weight: 9.5, ServiceSubset: v2}
  - {Weight: 0.5, Service: web-dr}
`,
    `
Kind: service-resolver
Name: web
Subsets:
  v1: {Filter: "Service.Meta.version == v1"}
  v2: {Filter: "Service.Tags contains canary and Service.Meta.version != v1"}
`,
  ],
  'service-resolver': [
    `
Kind: service-resolver
Name: web
DefaultSubset: v1
ConnectTimeout: 3s
RequestTimeout: 45s
Subsets:
  v1: {Filter: "Service.Meta.version == v1", OnlyPassing: true}
  v2: {Filter: "Service.Tags contains canary"}
Failover:
  v1: {Targets: [{ServiceSubset: v2}, {Service: web-dr}]}
LoadBalancer:
  Policy: ring_hash
  RingHashConfig: {MinimumRingSize: 1024, MaximumRingSize: 8192}
  HashPolicies:
    - {Field: header, FieldValue: x-user}
    - {Field: cookie, FieldValue: session, CookieConfig: {TTL: 1h, Path: /}}
    - {SourceIP: true, Terminal: true}
`,
    `
Kind: service-resolver
Name: admin
LoadBalancer: {Policy: least_request, LeastRequestConfig: {ChoiceCount: 3}}
`,
  ],
};
