// The LLM processor's admin HTTP: health, readiness, metrics, and /status — its settings, the
// model tables the gateway has sent, and the calls in flight.
import type express from 'express';
import { adminApp } from '../shared/admin-http.js';
import type { ProcessorConfig } from './config.js';
import type { ProcessorMetrics } from './metrics/processor.js';
import type { ProcessorServer } from './server/processor-server.js';

export function processorAdminApp(deps: {
  config: ProcessorConfig;
  server: ProcessorServer;
  metrics: ProcessorMetrics;
  ready: () => string | undefined;
  cacheStats: () => { entries: number; bytes: number } | undefined;
  picker: () => Record<string, unknown> | undefined;
}): express.Express {
  const app = adminApp({ metrics: deps.metrics.registry, notReadyReason: deps.ready });
  app.get('/status', (_req, res) => {
    res.json({
      ready: deps.ready() === undefined,
      max_request_bytes: deps.config.maxRequestBytes,
      max_response_bytes: deps.config.maxResponseBytes,
      tenant_header: deps.config.tenantHeader,
      streams_open: deps.server.openStreams,
      model_tables: deps.server.tableSummaries(),
      endpoint_picker: deps.picker() ?? 'off',
      cache: { backend: deps.config.cache.backend, ttl_ms: deps.config.cache.ttlMs, ...(deps.cacheStats() ?? {}) },
    });
  });
  return app;
}
