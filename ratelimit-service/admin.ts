// ratelimit-service admin HTTP: /healthz (alive), /readyz (config loaded and backend reachable),
// /metrics, and /rlconfig — the loaded limits (text, like envoyproxy/ratelimit's; ?format=json
// for the documents, their versions and the last refusal of each).
import type express from 'express';
import { adminApp } from '../shared/admin-http.js';
import type { RatelimitMetrics } from './metrics.js';
import { dumpConfig, type ConfigStore } from './rules/config-store.js';

export function ratelimitAdminApp(deps: { store: ConfigStore; metrics: RatelimitMetrics; ready: () => string | undefined; backend: string }): express.Express {
  const app = adminApp({ metrics: deps.metrics.registry, notReadyReason: deps.ready });
  app.get('/rlconfig', (req, res) => {
    if (req.query['format'] === 'json') {
      res.json({
        backend: deps.backend,
        domains: [...deps.store.items.values()].map((d) => ({
          domain: d.name,
          limits: d.limits.map((l) => ({
            key: `${d.name}.${l.statsKey}`,
            unit: l.unlimited ? null : l.unit,
            requests_per_unit: l.unlimited ? null : l.requestsPerUnit,
            unlimited: l.unlimited,
            shadow_mode: l.shadowMode,
            name: l.name ?? null,
            replaces: l.replaces,
            detailed_metric: l.detailedMetric,
            algorithm: l.algorithm,
          })),
        })),
        documents: deps.store.status(),
      });
      return;
    }
    res.type('text/plain').send(dumpConfig(deps.store.items));
  });
  return app;
}
