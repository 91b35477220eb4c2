// Small mesh states for tests, built by hand: what the sources would have produced. (The golden
// cases are data: test/golden/cases, read by golden-cases.ts.)
import assert from 'node:assert/strict';
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { entriesOf } from '../../xds-server/model/config-entries/entry-store.js';
import { entryId, parseConfigEntries, type ConfigEntry } from '../../xds-server/model/config-entries/schema.js';
import { NO_ENTRIES, type ConfigEntries, type Instance, type MeshState, type Service, type ServiceSettings } from '../../xds-server/model/mesh.js';
import { buildSnapshot, type Snapshot } from '../../xds-server/cache/snapshot.js';
import type { GatewaySettings } from '../../xds-server/resolve/gateway-settings.js';
import { MeshResolver, resolveMesh } from '../../xds-server/resolve/mesh-resolver.js';
import { translateGateway } from '../../xds-server/translate/gateway.js';
import type { Translation } from '../../xds-server/translate/resource-set.js';
import { translateSidecar, type SidecarRole } from '../../xds-server/translate/sidecar.js';

export function instance(id: string, overrides: Partial<Instance> = {}): Instance {
  return {
    id,
    node: 'node-1',
    address: '10.0.0.1',
    port: 8000,
    health: 'HEALTHY',
    registry: 'consul',
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
  return { revision: 1, services: new Map(services.map((s) => [s.name, s])), entries: { ...NO_ENTRIES, ...entries }, descriptors: new Map(), secrets: new Map(), loginProviders: new Map(), problems: [] };
}

/** Gateway settings the translation tests use: the default identity headers, no filters. */
export const GATEWAY_SETTINGS: GatewaySettings = { identityHeaders: Object.values(DEFAULT_IDENTITY_HEADERS) };
/** The gateway listener's address the translation tests use. */
export const GATEWAY_ADDRESS = { address: '0.0.0.0', port: 8080 } as const;

/** The gateway's translation of a state, as the controller makes it: resolved, then translated. */
export function gatewayOf(state: MeshState, settings: GatewaySettings = GATEWAY_SETTINGS): Translation {
  return translateGateway(resolveMesh(state, settings).gateway!, GATEWAY_ADDRESS);
}

/** A sidecar's translation of a state, resolved then translated. */
export function sidecarOf(state: MeshState, role: SidecarRole): Translation {
  return translateSidecar(new MeshResolver(GATEWAY_SETTINGS).resolve(state, { gateway: false, proxyless: false, sidecars: [role.service] }).sidecars.get(role.service)!, role);
}

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
  return buildSnapshot('gw', gatewayOf(meshOf(services)));
}
