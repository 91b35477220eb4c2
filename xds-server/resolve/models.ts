// The gateway's model catalog: every model a service says it serves (meta `models`), with the
// services that serve it now — those with at least one healthy instance. A model whose every
// service is down is not in the catalog (callers are not offered what nobody can answer).
import type { MeshState } from '../model/mesh.js';

export interface CatalogModel {
  readonly id: string;
  /** Sorted. */
  readonly services: readonly string[];
}

export function modelCatalog(state: MeshState, internal: ReadonlySet<string> = new Set()): CatalogModel[] {
  const byModel = new Map<string, string[]>();
  for (const service of state.services.values()) {
    if (internal.has(service.name) || !service.settings.models?.length) continue;
    if (!service.instances.some((i) => i.health === 'HEALTHY')) continue;
    for (const id of service.settings.models) {
      const list = byModel.get(id);
      if (list) list.push(service.name);
      else byModel.set(id, [service.name]);
    }
  }
  return [...byModel.keys()].sort().map((id) => ({ id, services: byModel.get(id)!.sort() }));
}
