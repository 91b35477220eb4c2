// Wires the one-way pipeline: mesh state → translate (per role) → encoded snapshot → cache.
// It is the SnapshotSource the ADS server reads from. Nothing is built, and so nothing is
// served, before the store's first full sync.
import type { Logger } from 'pino';
import { Debouncer } from './cache/debouncer.js';
import { buildSnapshot } from './cache/snapshot.js';
import type { SnapshotCache } from './cache/snapshot-cache.js';
import type { MeshStore } from './model/mesh-store.js';
import type { Snapshot } from './cache/snapshot.js';
import { roleKey, roleOf, type Role, type RoleDefaults } from './roles.js';
import { withStatsEndpoint } from './translate/stats-endpoint.js';
import type { SnapshotSource } from './server/ads-server.js';
import type { NodeInfo } from './server/node.js';
import { translateGateway, type GatewayOptions } from './translate/gateway.js';
import { translateProxyless } from './translate/proxyless.js';
import { translateSidecar } from './translate/sidecar.js';
import type { MeshState } from './model/mesh.js';
import type { XdsMetrics } from './admin/metrics.js';
import type { Translation } from './translate/resource-set.js';
import { TranslationMemo } from './translate/memo.js';

export interface ControllerOptions {
  readonly roleDefaults: RoleDefaults;
  /** Gateway settings every gateway role shares (identity headers, ext-authz). */
  readonly gateway: Omit<GatewayOptions, 'address' | 'port'>;
  readonly debounceQuietMs: number;
  readonly debounceMaxMs: number;
}

/** The services the gateway's filters call (ext-authz, ratelimit): never a routing target. */
function infrastructure(gateway: ControllerOptions['gateway']): ReadonlySet<string> {
  return new Set([gateway.authz?.service, gateway.ratelimit?.service].filter((x): x is string => !!x));
}

/** Services whose record differs between two states (added, changed or gone). */
function changedServices(before: MeshState, after: MeshState): Set<string> {
  const out = new Set<string>();
  for (const [name, s] of after.services) if (before.services.get(name) !== s) out.add(name);
  for (const name of before.services.keys()) if (!after.services.has(name)) out.add(name);
  if (before.descriptors !== after.descriptors) {
    for (const [name, d] of after.descriptors) if (before.descriptors.get(name) !== d) out.add(name);
    for (const name of before.descriptors.keys()) if (!after.descriptors.has(name)) out.add(name);
  }
  return out;
}

export class Controller implements SnapshotSource {
  private readonly roles = new Map<string, Role>();
  /** The services each role's last translation read (absent: the whole mesh). */
  private readonly dependsOn = new Map<string, ReadonlySet<string> | undefined>();
  private readonly memo = new TranslationMemo();
  private readonly infrastructure: ReadonlySet<string>;
  /** The state the last full rebuild saw: what changed since decides which roles to rebuild. */
  private builtState: MeshState | undefined;
  private readonly debouncer: Debouncer;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MeshStore,
    private readonly cache: SnapshotCache,
    private readonly options: ControllerOptions,
    private readonly log: Logger,
    private readonly metrics?: XdsMetrics,
  ) {
    this.infrastructure = infrastructure(options.gateway);
    this.debouncer = new Debouncer(() => this.rebuildAll(), options.debounceQuietMs, options.debounceMaxMs);
    this.unsubscribe = store.onChange((state) => {
      this.metrics?.services.set(state.services.size);
      this.metrics?.problems.set(state.problems.length);
      this.metrics?.descriptors.set(state.descriptors.size);
      this.metrics?.ready.set(1);
      this.debouncer.trigger();
    });
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

  /**
   * Rebuild the roles a change can affect: a sidecar whose upstreams did not change is not even
   * translated again, and so its proxies hear nothing (no push for unrelated endpoints).
   */
  private rebuildAll(): void {
    const state = this.store.state;
    const before = this.builtState;
    const everything = !before || before.entries !== state.entries;
    const changed = everything ? undefined : changedServices(before, state);
    this.builtState = state;
    for (const key of this.roles.keys()) {
      const deps = this.dependsOn.get(key);
      if (everything || deps === undefined || !this.cache.get(key) || [...changed!].some((s) => deps.has(s))) this.rebuild(key);
    }
    if (changed && [...changed].some((s) => !state.services.has(s))) this.memo.prune(state);
  }

  private translate(role: Role, state: MeshState): Translation {
    switch (role.kind) {
      case 'gateway':
        return withStatsEndpoint(translateGateway(state, { ...this.options.gateway, address: role.address, port: role.port }, this.memo), role.stats);
      case 'sidecar':
        return withStatsEndpoint(translateSidecar(state, role, this.memo), role.stats);
      case 'proxyless':
        return translateProxyless(state, this.infrastructure, this.memo);
    }
  }

  private rebuild(key: string): void {
    const role = this.roles.get(key);
    if (!role) return;
    const started = process.hrtime.bigint();
    try {
      const translation = this.translate(role, this.store.state);
      this.dependsOn.set(key, translation.dependsOn);
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
