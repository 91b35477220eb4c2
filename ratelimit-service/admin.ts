// ratelimit-service admin HTTP: /healthz (alive), /readyz (config loaded and backend reachable),
// /metrics, and /rlconfig — the loaded limits (text, like envoyproxy/ratelimit's; ?format=json
// for the documents, their versions and the last refusal of each); and the reference's own
// endpoints that users' tooling calls: POST /json (ShouldRateLimit in JSON) and /healthcheck.
import express from 'express';
import { adminApp } from '../shared/admin-http.js';
import type { RatelimitMetrics } from './metrics.js';
import { dumpConfig, type ConfigStore } from './rules/config-store.js';
import { jsonAnswer, parseJsonRequest } from './service/json-endpoint.js';
import type { RateLimiter } from './service/rate-limiter.js';
import type { RlsRequest } from './service/request.js';

export function ratelimitAdminApp(deps: {
  store: ConfigStore;
  metrics: RatelimitMetrics;
  ready: () => string | undefined;
  backend: string;
  limiter: RateLimiter;
}): express.Express {
  const app = adminApp({ metrics: deps.metrics.registry, notReadyReason: deps.ready });
  // The reference answers "OK" while healthy, 500 otherwise.
  app.get('/healthcheck', (_req, res) => {
    if (deps.ready()) res.status(500).end();
    else res.type('text/plain').send('OK');
  });
  app.post('/json', express.text({ type: () => true, limit: '1mb' }), async (req, res) => {
    let request: RlsRequest;
    try {
      request = parseJsonRequest(typeof req.body === 'string' ? req.body : '');
    } catch {
      res.status(400).type('text/plain').send('Bad Request\n');
      return;
    }
    try {
      const answer = await deps.limiter.shouldRateLimit(request);
      res.status(answer.overall === 'OVER_LIMIT' ? 429 : 200).json(jsonAnswer(answer));
    } catch {
      res.status(400).type('text/plain').send('Bad Request\n');
    }
  });
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
