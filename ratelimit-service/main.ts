// ratelimit-service entry point: config sources → ConfigStore → RateLimiter (memory or Redis
// counters) → ShouldRateLimit server, plus admin and Consul registration.
import { listenHttp } from '../shared/admin-http.js';
import { ConsulClient } from '../shared/consul/client.js';
import { registerComponent } from '../shared/component-config.js';
import { reportDocumentEvents } from '../shared/documents/report-events.js';
import { startDocumentSources } from '../shared/documents/start-sources.js';
import { createLogger } from '../shared/log.js';
import { tuneGcForRequestPath } from '../shared/request-path-gc.js';
import { loadEnvoyProtos, RATELIMIT_SERVICE_PROTO } from '../shared/proto/root.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { ratelimitAdminApp } from './admin.js';
import type { CounterBackend } from './backends/backend.js';
import { MemoryBackend } from './backends/memory.js';
import { RedisBackend } from './backends/redis.js';
import { parseConfig, USAGE } from './config.js';
import { RatelimitMetrics } from './metrics.js';
import { createConfigStore } from './rules/config-store.js';
import { RateLimiter } from './service/rate-limiter.js';
import { rateLimitServer } from './service/rls-server.js';

const log = createLogger('ratelimit-service');

tuneGcForRequestPath();

runService('ratelimit-service', log, async () => {
  const config = configOrUsage(() => parseConfig(process.argv.slice(2)), USAGE);
  loadEnvoyProtos([RATELIMIT_SERVICE_PROTO]);
  const metrics = new RatelimitMetrics();
  const store = createConfigStore();
  reportDocumentEvents(store, log, { what: 'rate limit config', namesField: 'domains', refusals: metrics.refusals, inForce: metrics.domains });

  // Health callbacks fire asynchronously, once everything below exists.
  function notReady(): string | undefined {
    if (sources.pending.size) return `waiting for the first answer from ${[...sources.pending].join(', ')}`;
    if (!backend.available()) {
      const because = backend.unavailableBecause?.();
      return `the ${backend.name} backend is unreachable${because ? ` (${because})` : ''}; answering with failure mode "${config.failureMode}"`;
    }
    return undefined;
  }
  function updateHealth(): void {
    metrics.backendUp.set(backend.available() ? 1 : 0);
    server.setServing(notReady() === undefined);
  }
  const backend: CounterBackend =
    config.backend === 'redis'
      ? new RedisBackend({
          ...config.redis,
          breaker: config.circuit,
          log,
          onStateChange: () => updateHealth(),
          onCircuitChange: (node, open) => metrics.circuitOpen.set({ node }, open ? 1 : 0),
        })
      : new MemoryBackend();
  const consul = config.consul ? new ConsulClient(config.consul) : undefined;
  const sources = startDocumentSources({
    paths: config.configPaths,
    consul,
    consulPrefix: config.consulPrefix,
    sink: store,
    log,
    what: 'rate limit config',
    onWatchError: () => metrics.consulWatchErrors.inc({ watch: 'kv' }),
    onFirstAnswer: () => updateHealth(),
  });

  const limiter = new RateLimiter(
    () => store.items,
    backend,
    {
      keyPrefix: config.keyPrefix,
      nearLimitRatio: config.nearLimitRatio,
      expiryJitterSeconds: config.expiryJitterSeconds,
      failureMode: config.failureMode,
      globalShadowMode: config.globalShadowMode,
      globalQuotaMode: config.globalQuotaMode,
      localCache: config.localCache,
    },
    metrics,
  );
  const server = rateLimitServer(limiter, metrics, log, config.h2Limits);
  updateHealth();
  store.onEvent(updateHealth);

  const port = await server.listen(config.listen.host, config.listen.port);
  const admin = await listenHttp(ratelimitAdminApp({ store, metrics, ready: notReady, backend: backend.name, limiter }), config.admin.host, config.admin.port);
  const deregister = await registerComponent(consul, config, port, log, {
    // Alive, not ready: with Redis down this service still answers (by its failure mode), so
    // Envoy should keep asking it.
    check: (address) => ({ http: `http://${config.admin.host === '0.0.0.0' ? address : config.admin.host}:${admin.port}/healthz` }),
  });
  log.info(
    { listen: `${config.listen.host}:${port}`, admin: `${config.admin.host}:${admin.port}`, backend: backend.name, domains: store.items.size },
    'ratelimit-service started',
  );

  return async () => {
    await deregister();
    sources.stop();
    await server.close();
    await admin.close();
    await backend.close();
    consul?.close();
  };
});
