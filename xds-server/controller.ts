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
import type { SnapshotSource } from './server/ads-server.js';
import type { NodeInfo } from './server/node.js';
import { translateGateway, type GatewayOptions } from './translate/gateway.js';
import { translateProxyless } from './translate/proxyless.js';
import { translateSidecar } from './translate/sidecar.js';
import type { MeshState } from './model/mesh.js';
import type { XdsMetrics } from './admin/metrics.js';
import type { Translation } from './translate/resource-set.js';

export interface ControllerOptions {
  readonly roleDefaults: RoleDefaults;
  /** Gateway settings every gateway role shares (identity headers, ext-authz). */
  readonly gateway: Omit<GatewayOptions, 'address' | 'port'>;
  readonly debounceQuietMs: number;
  readonly debounceMaxMs: number;
}

export function translateRole(role: Role, state: MeshState, options: ControllerOptions): Translation {
  switch (role.kind) {
    case 'gateway':
      return translateGateway(state, { ...options.gateway, address: role.address, port: role.port });
    case 'sidecar':
      return translateSidecar(state, role);
    case 'proxyless':
      return translateProxyless(state, new Set([options.gateway.authz?.service, options.gateway.ratelimit?.service].filter((x): x is string => !!x)));
  }
}

export class Controller implements SnapshotSource {
  private readonly roles = new Map<string, Role>();
  private readonly debouncer: Debouncer;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MeshStore,
    private readonly cache: SnapshotCache,
    private readonly options: ControllerOptions,
    private readonly log: Logger,
    private readonly metrics?: XdsMetrics,
  ) {
    this.debouncer = new Debouncer(() => this.rebuildAll(), options.debounceQuietMs, options.debounceMaxMs);
    this.unsubscribe = store.onChange((state) => {
      this.metrics?.services.set(state.services.size);
      this.metrics?.problems.set(state.problems.length);
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

  /** Role keys with a snapshot, for debug views. */
  roleKeys(): string[] {
    return [...this.roles.keys()];
  }

  close(): void {
    this.debouncer.cancel();
    this.unsubscribe();
  }

  private rebuildAll(): void {
    for (const key of this.roles.keys()) this.rebuild(key);
  }

  private rebuild(key: string): void {
    const role = this.roles.get(key);
    if (!role) return;
    const started = process.hrtime.bigint();
    try {
      const snapshot = buildSnapshot(key, translateRole(role, this.store.state, this.options), this.cache.get(key));
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
