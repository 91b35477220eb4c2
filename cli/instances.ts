// `meshgate instances`: every instance the xds-server routes to, with the registry it came from,
// and each registry's state — what /debug/mesh holds, as a table.
import { table } from './table.js';

export interface MeshInstances {
  readonly registries?: ReadonlyArray<{ readonly registry: string; readonly up: boolean; readonly synced: boolean; readonly reason?: string; readonly services: number; readonly instances: number }>;
  readonly services: ReadonlyArray<{ readonly name: string; readonly instances: ReadonlyArray<{ readonly id: string; readonly address: string; readonly port: number; readonly health: string; readonly registry?: string }> }>;
}

export function formatInstances(mesh: MeshInstances, service?: string): string {
  const registries = table(
    ['REGISTRY', 'STATE', 'SERVICES', 'INSTANCES'],
    (mesh.registries ?? []).map((r) => [r.registry, r.up ? (r.synced ? 'up' : 'syncing') : `down: ${r.reason ?? ''}`, String(r.services), String(r.instances)]),
  );
  const rows = mesh.services
    .filter((s) => !service || s.name === service)
    .flatMap((s) => s.instances.map((i) => [s.name, i.id, `${i.address}:${i.port}`, i.health, i.registry ?? 'consul']));
  return `${registries}\n\n${table(['SERVICE', 'INSTANCE', 'ADDRESS', 'HEALTH', 'REGISTRY'], rows)}`;
}
