// Mesh states for translation tests, built by hand: what the sources would have produced.
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { NO_ENTRIES, type ConfigEntries, type Instance, type MeshState, type Service, type ServiceSettings } from '../../xds-server/model/mesh.js';
import type { GatewayOptions } from '../../xds-server/translate/gateway.js';

export function instance(id: string, overrides: Partial<Instance> = {}): Instance {
  return {
    id,
    node: 'node-1',
    address: '10.0.0.1',
    port: 8000,
    health: 'HEALTHY',
    zone: '',
    weight: 1,
    tags: [],
    meta: {},
    ...overrides,
  };
}

export function service(name: string, instances: Instance[], settings: Partial<ServiceSettings> = {}): Service {
  return {
    name,
    settings: { gatewayPaths: [{ prefix: `/${name}/`, separated: false }], ...settings },
    instances,
  };
}

export function meshOf(services: Service[], entries: Partial<ConfigEntries> = {}): MeshState {
  return { revision: 1, services: new Map(services.map((s) => [s.name, s])), entries: { ...NO_ENTRIES, ...entries }, problems: [] };
}

/** The fixtures every golden translation test covers, by name. */
export const GATEWAY_FIXTURES: Record<string, MeshState> = {
  empty: meshOf([]),
  'two-services': meshOf([
    service(
      'embed',
      [instance('embed-1', { address: '10.0.1.1', port: 9000, health: 'UNHEALTHY' })],
      { protocol: 'grpc', connectTimeoutMs: 250 },
    ),
    service(
      'llm-chat',
      [
        instance('llm-chat-1', { address: '10.0.0.1', zone: 'zone-a', weight: 3 }),
        instance('llm-chat-2', { address: '10.0.0.2', zone: 'zone-b', health: 'DEGRADED', node: 'node-2' }),
      ],
      {
        gatewayPaths: [
          { prefix: '/v1/', separated: false },
          { prefix: '/test', separated: true },
        ],
        requestTimeoutMs: 60_000,
      },
    ),
  ]),
  'path-conflict': meshOf([
    service('alpha', [instance('alpha-1')], { gatewayPaths: [{ prefix: '/api/', separated: false }] }),
    service('beta', [instance('beta-1', { address: '10.0.0.9' })], {
      gatewayPaths: [
        { prefix: '/api/', separated: false },
        { prefix: '/api/beta/', separated: false },
      ],
    }),
  ]),
};

/** Gateway options the translation tests use: the default listener and identity headers. */
export const GATEWAY_OPTIONS: GatewayOptions = {
  address: '0.0.0.0',
  port: 8080,
  identityHeaders: Object.values(DEFAULT_IDENTITY_HEADERS),
};

/** The same, with ext-authz in front of every route. */
export const GATEWAY_OPTIONS_AUTHZ: GatewayOptions = {
  ...GATEWAY_OPTIONS,
  authz: { service: 'ext-authz', timeoutMs: 1_000, defaultPolicy: 'default' },
};

/** With ext-authz: per-path policies, a public path, the default policy, announced headers. */
export const AUTHZ_FIXTURE: MeshState = meshOf([
  service('embed', [instance('embed-1', { address: '10.0.1.1' })]),
  service('ext-authz', [instance('ext-authz-1', { address: '10.0.9.9', port: 9191, meta: { 'identity-headers': 'x-auth-subject,x-auth-org' } })], {
    gatewayPaths: [],
  }),
  service('llm-chat', [instance('llm-chat-1')], {
    gatewayPaths: [
      { prefix: '/v1/', separated: false, authPolicy: 'llm-clients' },
      { prefix: '/test', separated: true, authPolicy: 'none' },
    ],
  }),
]);

/** The whole edge: ext-authz and rate limits per path (per API key, per tenant, per address). */
export const EDGE_FIXTURE: MeshState = meshOf([
  service('ext-authz', [instance('ext-authz-1', { address: '10.0.9.9', port: 9191 })], { gatewayPaths: [] }),
  service('llm-chat', [instance('llm-chat-1')], {
    gatewayPaths: [
      {
        prefix: '/v1/',
        separated: false,
        authPolicy: 'llm-clients',
        rateLimits: [
          { entries: [{ kind: 'generic', value: 'llm', key: 'generic_key' }, { kind: 'auth', field: 'key_id' }] },
          { entries: [{ kind: 'auth', field: 'tenant' }, { kind: 'header', header: 'x-model', key: 'model' }] },
        ],
      },
      { prefix: '/test', separated: true, authPolicy: 'none', rateLimits: [{ entries: [{ kind: 'remote_address' }] }] },
    ],
  }),
  service('ratelimit', [instance('ratelimit-1', { address: '10.0.9.8', port: 8081 })], { gatewayPaths: [] }),
]);

export const GATEWAY_OPTIONS_EDGE: GatewayOptions = {
  ...GATEWAY_OPTIONS_AUTHZ,
  ratelimit: { service: 'ratelimit', domain: 'meshgate', timeoutMs: 100, failClosed: false },
};
