// The xds-server's admin HTTP: health, readiness, metrics and the debug views operators use to
// ask which proxy has which version, why one rejected its config, and what the mesh looks like.
import type express from 'express';
import { adminApp } from '../../shared/admin-http.js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { ConfigEntryStore } from '../model/config-entries/entry-store.js';
import type { MeshStore } from '../model/mesh-store.js';
import type { ResolvedMesh } from '../resolve/resolved-mesh.js';
import type { ProxyRegistry } from '../server/proxy-registry.js';
import type { RegistryStatus } from '../sources/registry-merge.js';
import { PUSH_ORDER } from '../xds-types.js';
import type { XdsMetrics } from './metrics.js';
import { prometheusTargets } from './prometheus-targets.js';
import { resolvedView } from './resolved-view.js';

export interface AdminDeps {
  readonly store: MeshStore;
  readonly entryStore: ConfigEntryStore;
  readonly cache: SnapshotCache;
  readonly registry: ProxyRegistry;
  readonly metrics: XdsMetrics;
  /** The mesh as last resolved (undefined before the first full sync). */
  readonly resolved: () => ResolvedMesh | undefined;
  /** Each registry read: up or why not, synced, how much it holds. */
  readonly registries: () => readonly RegistryStatus[];
}

export function xdsAdminApp({ store, cache, registry, metrics, entryStore, resolved, registries }: AdminDeps): express.Express {
  const app = adminApp({
    metrics: metrics.registry,
    notReadyReason: () => {
      if (store.synced) return undefined;
      const waiting = registries().filter((r) => !r.synced);
      return waiting.length
        ? `waiting for the first full sync of ${waiting.map((r) => (r.up ? r.registry : `${r.registry} (${r.reason})`)).join(', ')}`
        : 'waiting for the first full sync of the config entries and descriptors';
    },
  });

  // Prometheus HTTP service discovery (http_sd_configs): what Consul says is scrapable.
  app.get('/prometheus/targets', (_req, res) => {
    res.json(prometheusTargets(store.state));
  });

  app.get('/debug/proxies', (_req, res) => {
    res.json(registry.status((key) => cache.get(key)));
  });

  app.get('/debug/proxies/:node/config', (req, res) => {
    const config = registry.config(req.params.node, (key) => cache.get(key));
    if (!config) {
      res.status(404).json({ error: `no proxy with node id ${req.params.node} is connected` });
      return;
    }
    res.json(config);
  });

  app.get('/debug/snapshots', (_req, res) => {
    res.json(
      cache.keys().map((key) => {
        const snap = cache.get(key)!;
        return {
          role: key,
          built_at: snap.builtAt.toISOString(),
          notes: snap.notes,
          types: Object.fromEntries(
            PUSH_ORDER.map((t) => [t, { version: snap.types[t].version, resources: [...snap.types[t].resources.keys()] }]),
          ),
        };
      }),
    );
  });

  // The resources a role is served, as proto3 JSON: what its Envoys should show in config_dump.
  app.get('/debug/snapshots/:role', (req, res) => {
    const snap = cache.get(req.params.role);
    if (!snap) {
      res.status(404).json({ error: `no snapshot for role ${req.params.role}` });
      return;
    }
    res.json(
      Object.fromEntries(
        PUSH_ORDER.map((t) => [t, { version: snap.types[t].version, resources: [...snap.types[t].resources.values()].map((r) => r.json) }]),
      ),
    );
  });

  // Every config entry document: in force (with the entry) or refused, and the last refusal.
  app.get('/debug/config-entries', (_req, res) => {
    res.json({
      entries: [...entryStore.items.values()],
      documents: entryStore.status(),
    });
  });

  app.get('/debug/registries', (_req, res) => {
    res.json(registries());
  });

  app.get('/debug/mesh', (_req, res) => {
    const state = store.state;
    res.json({
      synced: store.synced,
      revision: state.revision,
      registries: registries(),
      services: [...state.services.values()],
      // The descriptor sets in force, without their bytes (/debug/descriptors/:service has them).
      descriptors: [...state.descriptors.values()].map(({ base64, ...d }) => ({ ...d, bytes: Buffer.byteLength(base64, 'base64') })),
      problems: state.problems,
    });
  });

  // Every setting as resolved, with the layer that decided it; ?service= for one service.
  app.get('/debug/resolved', (req, res) => {
    const r = resolved();
    if (!r) {
      res.status(503).json({ error: 'nothing resolved yet: waiting for the first full Consul sync' });
      return;
    }
    const service = typeof req.query['service'] === 'string' ? req.query['service'] : undefined;
    const view = resolvedView(r, service);
    if (!view) {
      res.status(404).json({ error: `no service ${service} in the resolved mesh` });
      return;
    }
    res.json(view);
  });

  // A transcoded service's descriptor set as Envoy gets it (a FileDescriptorSet), to inspect
  // with `protoc --decode_raw` or `buf`.
  app.get('/debug/descriptors/:service', (req, res) => {
    const d = store.state.descriptors.get(req.params.service);
    if (!d) {
      res.status(404).json({ error: `no descriptor in force for ${req.params.service}` });
      return;
    }
    res.type('application/octet-stream').send(Buffer.from(d.base64, 'base64'));
  });

  return app;
}
