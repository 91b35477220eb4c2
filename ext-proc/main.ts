// The LLM processor's entry point: settings → ext_proc server, plus admin and Consul
// registration. It keeps no configuration of its own: the gateway's ext_proc filter sends the
// model table on every stream, written by the xds-server from Consul.
import { listenHttp } from '../shared/admin-http.js';
import { ConsulClient } from '../shared/consul/client.js';
import { registerComponent } from '../shared/component-config.js';
import { createLogger } from '../shared/log.js';
import { loadEnvoyProtos } from '../shared/proto/root.js';
import { tuneGcForRequestPath } from '../shared/request-path-gc.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { processorAdminApp } from './admin.js';
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore, type CacheStore } from './cache/store.js';
import { parseConfig, USAGE, type ProcessorConfig } from './config.js';
import { RequestLog } from './log/request-log.js';
import { ProcessorMetrics } from './metrics/processor.js';
import { EndpointPicker } from './picker/endpoint-picker.js';
import { EXT_PROC_PROTO } from './server/codec.js';
import { ProcessorServer } from './server/processor-server.js';

const log = createLogger('ext-proc');

function openCache(c: ProcessorConfig['cache'], onError: () => void): CacheStore | undefined {
  if (c.backend === 'off') return undefined;
  if (c.backend === 'memory') return new MemoryStore(c);
  // Commands fail at once while Redis is away (a miss), instead of queueing until it is back.
  const client = new Redis({ ...c.redis!, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false });
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'cache Redis error'));
  return new RedisStore(client, c, c.timeoutMs, (err) => {
    onError();
    log.debug({ err: err.message }, 'cache operation failed (a miss)');
  });
}

tuneGcForRequestPath();

runService('ext-proc', log, async () => {
  const config = configOrUsage(() => parseConfig(process.argv.slice(2)), USAGE);
  loadEnvoyProtos([EXT_PROC_PROTO]);
  const metrics = new ProcessorMetrics(config.metricBounds);
  const requestLog = new RequestLog({ ...config.requestLog, maxPendingBytes: 8 * 1024 * 1024, dropped: metrics.requestLogDropped });
  const cacheStore = openCache(config.cache, () => metrics.cacheErrors.inc());
  const picker: EndpointPicker | undefined = config.picker
    ? new EndpointPicker({ ...config.picker, nodeId: `ext-proc~${config.serviceId}` }, metrics.pickerStats((): EndpointPicker | undefined => picker), (message) => {
        metrics.pickerErrors.inc();
        log.warn({ err: message, xds: config.picker!.xds }, 'the endpoint picker lost its ADS stream (reconnecting; the last pools are kept)');
      })
    : undefined;
  const server = new ProcessorServer({
    settings: {
      maxRequestBytes: config.maxRequestBytes,
      maxResponseBytes: config.maxResponseBytes,
      tenantHeader: config.tenantHeader,
      now: Date.now,
      logFieldBytes: config.requestLog.maxFieldBytes,
      ...(cacheStore
        ? { cache: { store: cacheStore, maxEntryBytes: config.cache.maxEntryBytes, onLookup: (hit: boolean) => metrics.cacheLookups.inc({ result: hit ? 'hit' : 'miss' }) } }
        : {}),
      ...(picker ? { picker, queueMaxWaitMs: config.picker!.queueMaxWaitMs } : {}),
    },
    onTable: (t) => picker?.watch(t.picked),
    onLog: (r) => requestLog.write(r),
    metrics,
    log,
    limits: config.h2Limits,
    onCall: (c) => {
      metrics.record(c);
      metrics.calls.inc({ gen_ai_operation_name: c.operation, status_class: c.status ? `${Math.floor(c.status / 100)}xx` : 'none' });
    },
  });
  server.grpc.setServing(true);
  const ready = (): string | undefined => undefined;
  const consul = config.consul ? new ConsulClient(config.consul) : undefined;
  const port = await server.grpc.listen(config.listen.host, config.listen.port);
  const admin = await listenHttp(processorAdminApp({ config, server, metrics, ready, cacheStats: () => cacheStore?.stats(), picker: () => picker?.status() }), config.admin.host, config.admin.port);
  const deregister = await registerComponent(consul, config, port, log, { check: (address) => ({ grpc: `${address}:${port}` }) });
  log.info({ listen: `${config.listen.host}:${port}`, admin: `${config.admin.host}:${admin.port}` }, 'ext-proc started');

  return async () => {
    await deregister();
    await server.grpc.close();
    await admin.close();
    consul?.close();
    requestLog.close();
    await cacheStore?.close();
    picker?.close();
  };
});
