// Several registries, one mesh. Each registry source tells the merge what it holds of each
// service; the merge hands the store one instance list per service. The rule, decided here and
// nowhere else (docs/registries.md#precedence):
//  - a service's instances are the union of what every registry holds of it;
//  - one address:port held by two registries is one instance, kept as the registry first in the
//    precedence order (--registries) has it;
//  - a service's settings (its meta) are read from the first registry in that order that holds
//    an instance of it.
// The catalog counts as synced once every registry has delivered a complete first view, and a
// registry that stops answering keeps its last view (the sources never clear it on an error).
import type { Instance, RegistryName } from '../model/mesh.js';
import type { MeshStore } from '../model/mesh-store.js';

/** What one registry source reports. */
export interface RegistrySink {
  /** What the registry holds of a service now (possibly nothing). */
  setInstances(service: string, instances: readonly Instance[]): void;
  /** The service is no longer in the registry (its refusals go with it). */
  removeService(service: string): void;
  /** Entries of a service the registry answered that were refused, with why ([] once none are). */
  refuse(service: string, reasons: readonly string[]): void;
  /** The registry's complete first view has been delivered. */
  synced(): void;
  /** Whether the registry answers: undefined when it does, else why not. */
  trouble(reason: string | undefined): void;
}

export interface RegistryStatus {
  readonly registry: RegistryName;
  readonly synced: boolean;
  /** Answering now. */
  readonly up: boolean;
  /** Why it is not, while it is not. */
  readonly reason?: string;
  /** When it last changed between up and down. */
  readonly since: string;
  readonly services: number;
  readonly instances: number;
  /** Troubles reported since the start (each failed watch or poll). */
  readonly errors: number;
}

/** How many refusals of one service are named in its problem; the rest are counted. */
const REFUSALS_NAMED = 5;

interface RegistryState {
  readonly services: Map<string, readonly Instance[]>;
  synced: boolean;
  reason: string | undefined;
  since: string;
  errors: number;
}

export class RegistryMerge {
  private readonly registries = new Map<RegistryName, RegistryState>();

  /** `precedence`: the registries read, first decides (see the rule above). */
  constructor(
    private readonly store: MeshStore,
    private readonly precedence: readonly RegistryName[],
    private readonly now: () => Date = () => new Date(),
  ) {
    if (precedence.length === 0) throw new Error('at least one registry must be read');
    for (const r of precedence) this.registries.set(r, { services: new Map(), synced: false, reason: undefined, since: this.now().toISOString(), errors: 0 });
  }

  /** The sink a registry's source reports to. */
  sink(registry: RegistryName): RegistrySink {
    const state = this.registries.get(registry);
    if (!state) throw new Error(`registry ${registry} is not among those read (${this.precedence.join(', ')})`);
    return {
      setInstances: (service, instances) => {
        state.services.set(service, instances);
        this.publish(service);
      },
      removeService: (service) => {
        if (!state.services.delete(service)) return;
        this.store.setSourceProblem(`${registry}/service/${service}`, undefined);
        this.publish(service);
      },
      refuse: (service, reasons) => {
        const named = reasons.slice(0, REFUSALS_NAMED).join('; ');
        const more = reasons.length > REFUSALS_NAMED ? ` (and ${reasons.length - REFUSALS_NAMED} more)` : '';
        const count = `${reasons.length} ${reasons.length === 1 ? 'entry' : 'entries'}`;
        this.store.setSourceProblem(`${registry}/service/${service}`, reasons.length ? `${count} refused: ${named}${more}` : undefined);
      },
      synced: () => {
        if (state.synced) return;
        state.synced = true;
        if ([...this.registries.values()].every((s) => s.synced)) this.store.markSynced('catalog');
      },
      trouble: (reason) => {
        if (reason !== undefined) state.errors += 1;
        if (reason === state.reason) return;
        if ((reason === undefined) !== (state.reason === undefined)) state.since = this.now().toISOString();
        state.reason = reason;
        this.store.setSourceProblem(`registry/${registry}`, reason === undefined ? undefined : `${registry} is not answering; its last view is kept: ${reason}`);
      },
    };
  }

  status(): RegistryStatus[] {
    return this.precedence.map((registry) => {
      const s = this.registries.get(registry)!;
      let instances = 0;
      for (const list of s.services.values()) instances += list.length;
      return {
        registry,
        synced: s.synced,
        up: s.reason === undefined,
        ...(s.reason !== undefined ? { reason: s.reason } : {}),
        since: s.since,
        services: s.services.size,
        instances,
        errors: s.errors,
      };
    });
  }

  /** The merged view of one service, to the store. */
  private publish(service: string): void {
    const seen = new Set<string>();
    const merged: Instance[] = [];
    let settingsMeta: Readonly<Record<string, string>> | undefined;
    let held = false;
    for (const registry of this.precedence) {
      const instances = this.registries.get(registry)!.services.get(service);
      if (!instances) continue;
      held = true;
      if (settingsMeta === undefined && instances.length > 0) settingsMeta = firstById(instances).meta;
      for (const i of instances) {
        const at = `${i.address}:${i.port}`;
        if (seen.has(at)) continue;
        seen.add(at);
        merged.push(i);
      }
    }
    if (held) this.store.setInstances(service, merged, settingsMeta);
    else this.store.removeService(service);
  }
}

function firstById(instances: readonly Instance[]): Instance {
  return instances.reduce((a, b) => (b.id < a.id ? b : a));
}
