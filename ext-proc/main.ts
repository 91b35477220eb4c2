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
import { parseConfig, USAGE } from './config.js';
import { RequestLog } from './log/request-log.js';
import { ProcessorMetrics } from './metrics/processor.js';
import { EXT_PROC_PROTO } from './server/codec.js';
import { ProcessorServer } from './server/processor-server.js';

const log = createLogger('ext-proc');

tuneGcForRequestPath();

runService('ext-proc', log, async () => {
  const config = configOrUsage(() => parseConfig(process.argv.slice(2)), USAGE);
  loadEnvoyProtos([EXT_PROC_PROTO]);
  const metrics = new ProcessorMetrics(config.metricBounds);
  const requestLog = new RequestLog({ ...config.requestLog, maxPendingBytes: 8 * 1024 * 1024, dropped: metrics.requestLogDropped });
  const server = new ProcessorServer({
    settings: {
      maxRequestBytes: config.maxRequestBytes,
      maxResponseBytes: config.maxResponseBytes,
      tenantHeader: config.tenantHeader,
      now: Date.now,
      logFieldBytes: config.requestLog.maxFieldBytes,
    },
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
  const admin = await listenHttp(processorAdminApp({ config, server, metrics, ready }), config.admin.host, config.admin.port);
  const deregister = await registerComponent(consul, config, port, log, { check: (address) => ({ grpc: `${address}:${port}` }) });
  log.info({ listen: `${config.listen.host}:${port}`, admin: `${config.admin.host}:${admin.port}` }, 'ext-proc started');

  return async () => {
    await deregister();
    await server.grpc.close();
    await admin.close();
    consul?.close();
    requestLog.close();
  };
});
