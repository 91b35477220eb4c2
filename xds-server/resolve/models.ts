// The gateway's model catalog: every model a service says it serves (meta `models`), with the
// services that serve it now — those with at least one healthy instance. A model whose every
// service is down is not in the catalog (callers are not offered what nobody can answer).
import type { MeshState } from '../model/mesh.js';

export interface CatalogModel {
  readonly id: string;
  /** Sorted. */
  readonly services: readonly string[];
}

/** Undefined when no service declares models (the gateway then has no model list at all). */
export function modelCatalog(state: MeshState, internal: ReadonlySet<string> = new Set()): CatalogModel[] | undefined {
  const byModel = new Map<string, string[]>();
  let declared = false;
  for (const service of state.services.values()) {
    if (internal.has(service.name) || !service.settings.models?.length) continue;
    declared = true;
    if (!service.instances.some((i) => i.health === 'HEALTHY')) continue;
    for (const id of service.settings.models) {
      const list = byModel.get(id);
      if (list) list.push(service.name);
      else byModel.set(id, [service.name]);
    }
  }
  return declared ? [...byModel.keys()].sort().map((id) => ({ id, services: byModel.get(id)!.sort() })) : undefined;
}
