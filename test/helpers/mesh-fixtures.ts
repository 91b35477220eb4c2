// Small mesh states for tests, built by hand: what the sources would have produced. (The golden
// cases are data: test/golden/cases, read by golden-cases.ts.)
import assert from 'node:assert/strict';
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { entriesOf } from '../../xds-server/model/config-entries/entry-store.js';
import { entryId, parseConfigEntries, type ConfigEntry } from '../../xds-server/model/config-entries/schema.js';
import { NO_ENTRIES, type ConfigEntries, type Instance, type MeshState, type Service, type ServiceSettings } from '../../xds-server/model/mesh.js';
import { buildSnapshot, type Snapshot } from '../../xds-server/cache/snapshot.js';
import { translateGateway, type GatewayOptions } from '../../xds-server/translate/gateway.js';

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
  return { revision: 1, services: new Map(services.map((s) => [s.name, s])), entries: { ...NO_ENTRIES, ...entries }, descriptors: new Map(), problems: [] };
}

/** Gateway options the translation tests use: the default listener and identity headers. */
export const GATEWAY_OPTIONS: GatewayOptions = {
  address: '0.0.0.0',
  port: 8080,
  identityHeaders: Object.values(DEFAULT_IDENTITY_HEADERS),
};

/** Config entries from YAML documents, validated as the model does. */
export function entries(...yamlDocs: string[]): Partial<ConfigEntries> {
  const items = new Map<string, ConfigEntry>();
  for (const doc of yamlDocs) {
    const r = parseConfigEntries(doc);
    assert.ok(r.ok, r.ok ? '' : describeRefusal(r));
    for (const e of r.value) items.set(entryId(e), e);
  }
  return entriesOf(items);
}

/** A gateway snapshot of `services` (key "gw"), for the ADS state machines' tests. */
export function gatewaySnapshot(services: Service[]): Snapshot {
  return buildSnapshot('gw', translateGateway(meshOf(services), GATEWAY_OPTIONS));
}
