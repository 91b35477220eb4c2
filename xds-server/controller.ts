// Wires the one-way pipeline: mesh state → resolve (incremental) → translate (per role) →
// encoded snapshot → cache. It is the SnapshotSource the ADS server reads from. Nothing is
// built, and so nothing is served, before the store's first full sync. A role is translated
// again only when the resolved view it reads is a new object (the resolver keeps what did not
// change as the same object): a sidecar whose upstreams did not change is not touched, and its
// proxies hear nothing.
import type { Logger } from 'pino';
import type { XdsMetrics } from './admin/metrics.js';
import { Debouncer } from './cache/debouncer.js';
import { buildSnapshot, type Snapshot } from './cache/snapshot.js';
import type { SnapshotCache } from './cache/snapshot-cache.js';
import type { MeshStore } from './model/mesh-store.js';
import type { GatewaySettings } from './resolve/gateway-settings.js';
import { MeshResolver } from './resolve/mesh-resolver.js';
import type { ResolvedGateway, ResolvedMesh, ResolvedProxyless, ResolvedSidecar } from './resolve/resolved-mesh.js';
import { roleKey, roleOf, type Role, type RoleDefaults } from './roles.js';
import type { SnapshotSource } from './server/ads-server.js';
import type { NodeInfo } from './server/node.js';
import { TranslationCache } from './translate/cache.js';
import { translateGateway } from './translate/gateway.js';
import { translateProxyless } from './translate/proxyless.js';
import type { Translation } from './translate/resource-set.js';
import { translateSidecar } from './translate/sidecar.js';
import { withStatsEndpoint } from './translate/stats-endpoint.js';

export interface ControllerOptions {
  readonly roleDefaults: RoleDefaults;
  /** What every gateway role shares (identity headers, the filters' services). */
  readonly gateway: GatewaySettings;
  readonly debounceQuietMs: number;
  readonly debounceMaxMs: number;
}

/** The part of the resolved mesh a role's translation reads (undefined: not resolved for it yet). */
function viewOf(role: Role, resolved: ResolvedMesh): object | undefined {
  switch (role.kind) {
    case 'gateway':
      return resolved.gateway;
    case 'sidecar':
      return resolved.sidecars.get(role.service);
    case 'proxyless':
      return resolved.proxyless;
  }
}

export class Controller implements SnapshotSource {
  private readonly roles = new Map<string, Role>();
  /** The resolved view each role's snapshot was translated from. */
  private readonly builtFrom = new Map<string, object>();
  private readonly resolver: MeshResolver;
  private readonly translations = new TranslationCache();
  private current: ResolvedMesh | undefined;
  private readonly resolvedListeners = new Set<(resolved: ResolvedMesh) => void>();
  private readonly debouncer: Debouncer;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MeshStore,
    private readonly cache: SnapshotCache,
    private readonly options: ControllerOptions,
    private readonly log: Logger,
    private readonly metrics?: XdsMetrics,
  ) {
    this.resolver = new MeshResolver(options.gateway);
    this.debouncer = new Debouncer(() => this.rebuildAll(), options.debounceQuietMs, options.debounceMaxMs);
    this.unsubscribe = store.onChange((state) => {
      this.metrics?.services.set(state.services.size);
      this.metrics?.problems.set(state.problems.length);
      this.metrics?.descriptors.set(state.descriptors.size);
      this.metrics?.ready.set(1);
      this.debouncer.trigger();
    });
  }

  /** The mesh as last resolved (undefined before the first full sync): the views proxies read. */
  get resolved(): ResolvedMesh | undefined {
    return this.current;
  }

  /** Every view of the newest state, for operators (undefined before the first full sync). */
  resolveInFull(): ResolvedMesh | undefined {
    return this.store.synced ? this.resolver.resolve(this.store.state) : undefined;
  }

  /** Called with every new resolved mesh (the descriptor fetcher takes its wanted list from it). */
  onResolved(listener: (resolved: ResolvedMesh) => void): () => void {
    this.resolvedListeners.add(listener);
    if (this.current) listener(this.current);
    return () => this.resolvedListeners.delete(listener);
  }

  keyFor(node: NodeInfo): string {
    const role = roleOf(node, this.options.roleDefaults);
    const key = roleKey(role);
    if (!this.roles.has(key)) this.roles.set(key, role);
    return key;
  }

  watch(key: string, listener: (snapshot: Snapshot) => void): () => void {
    if (!this.cache.get(key) && this.store.synced) this.rebuild(key);
    return this.cache.watch(key, listener);
  }

  /** The role behind a key (every connected stream's key has one). */
  role(key: string): Role | undefined {
    return this.roles.get(key);
  }

  /** Role keys with a snapshot, for debug views. */
  roleKeys(): string[] {
    return [...this.roles.keys()];
  }

  close(): void {
    this.debouncer.cancel();
    this.unsubscribe();
  }

  private resolve(): ResolvedMesh {
    const started = process.hrtime.bigint();
    const roles = [...this.roles.values()];
    // Only the views a connected (or once connected) proxy reads: nobody waits for the rest.
    const resolved = this.resolver.resolve(this.store.state, {
      services: false,
      gateway: roles.some((r) => r.kind === 'gateway'),
      proxyless: roles.some((r) => r.kind === 'proxyless'),
      sidecars: roles.flatMap((r) => (r.kind === 'sidecar' ? [r.service] : [])),
    });
    this.metrics?.resolveSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.current = resolved;
    for (const l of this.resolvedListeners) l(resolved);
    return resolved;
  }

  /** Resolve the newest state, then translate every role whose view changed. */
  private rebuildAll(): void {
    let resolved: ResolvedMesh;
    try {
      resolved = this.resolve();
    } catch (err) {
      // A resolution bug must not take the last good snapshots away.
      this.log.error({ err }, 'resolving the mesh failed; proxies keep their snapshots');
      return;
    }
    for (const [key, role] of this.roles) {
      const view = viewOf(role, resolved);
      if (view && (!this.cache.get(key) || view !== this.builtFrom.get(key))) this.translateRole(key, role, view);
    }
  }

  private rebuild(key: string): void {
    const role = this.roles.get(key);
    if (!role) return;
    let view: object | undefined;
    try {
      // The first proxy of a role the last resolve did not build a view for: its view alone (a
      // fleet connecting one sidecar after another must not resolve the whole mesh each time).
      view = this.current && viewOf(role, this.current);
      view ??= this.resolver.view(this.store.state, role);
    } catch (err) {
      this.log.error({ role: key, err }, 'resolving the mesh failed; nothing built for this role yet');
      return;
    }
    this.translateRole(key, role, view);
  }

  private translate(role: Role, view: object): Translation {
    switch (role.kind) {
      case 'gateway':
        return withStatsEndpoint(translateGateway(view as ResolvedGateway, role, this.translations), role.stats);
      case 'sidecar':
        return withStatsEndpoint(translateSidecar(view as ResolvedSidecar, role, this.translations), role.stats);
      case 'proxyless':
        return translateProxyless(view as ResolvedProxyless, this.translations);
    }
  }

  private translateRole(key: string, role: Role, view: object): void {
    const started = process.hrtime.bigint();
    try {
      const translation = this.translate(role, view);
      this.builtFrom.set(key, view);
      const snapshot = buildSnapshot(key, translation, this.cache.get(key));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics?.snapshotBuildSeconds.observe(seconds);
      if (this.cache.set(snapshot)) {
        this.metrics?.snapshots.inc();
        this.log.info(
          {
            role: key,
            revision: this.store.state.revision,
            ms: Math.round(seconds * 10_000) / 10,
            versions: Object.fromEntries(Object.entries(snapshot.types).map(([t, s]) => [t, s.version])),
          },
          'snapshot updated',
        );
        for (const note of snapshot.notes) this.log.warn({ role: key }, note);
      }
    } catch (err) {
      // A translation or encoding bug must not take the last good snapshot away.
      this.log.error({ role: key, err }, 'snapshot build failed; proxies keep the previous one');
    }
  }
}
