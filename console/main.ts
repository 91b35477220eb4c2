// The console: a page for operators and security teams — services with their instances and
// health, their traffic as charts over the last hour, proxies with their sync status and Envoy's
// reason for a NACK, refused config, ext-authz decisions, rate-limit counts, alerts firing.
import { listenHttp } from '../shared/admin-http.js';
import { createLogger } from '../shared/log.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { parseConsoleConfig, USAGE } from './config.js';
import { consoleApp } from './server.js';
import { accessLogServer } from './access-log/receiver.js';
import { RecentRequests } from './access-log/recent-requests.js';
import { EmbeddedMetrics } from './scrape/embedded-metrics.js';
import { ConsulClient } from '../shared/consul/client.js';
import { registerGatewayRouted, registerInfrastructure } from '../shared/consul/registration.js';

const log = createLogger('console');

runService('console', log, async () => {
  const config = configOrUsage(() => parseConsoleConfig(process.argv.slice(2)), USAGE);
  const recent = new RecentRequests(config.requestsKept);
  const grpc = accessLogServer(recent, log);
  const grpcPort = await grpc.listen(config.grpc.host, config.grpc.port);
  // Without Prometheus, the console scrapes the same targets itself (bounded), for the same views but alerts.
  const embedded = config.prometheus ? undefined : new EmbeddedMetrics({ xdsAdmin: config.xdsAdmin, intervalMs: config.scrapeIntervalMs, timeoutMs: config.sourceTimeoutMs });
  embedded?.start();
  const http = await listenHttp(consoleApp(config, recent, embedded), config.listen.host, config.listen.port);
  const consul = config.consul ? new ConsulClient(config.consul) : undefined;
  const deregister =
    consul && config.register
      ? await registerInfrastructure(consul, {
          id: `meshgate-console-${grpcPort}`,
          name: 'meshgate-console',
          listenHost: config.grpc.host,
          port: grpcPort,
          // Its page's /metrics.
          admin: { host: config.listen.host, port: http.port },
          check: (address) => ({ grpc: `${address}:${grpcPort}` }),
        })
      : async () => undefined;
  // The page itself, routed by the gateway at its path (behind the login and policy given).
  const gateway = config.gateway;
  const deregisterPage =
    consul && config.register && gateway
      ? await registerGatewayRouted(consul, {
          id: `meshgate-console-web-${http.port}`,
          name: 'meshgate-console-web',
          listenHost: config.listen.host,
          port: http.port,
          gatewayPath: gateway.path,
          meta: { ...(gateway.login ? { login: gateway.login } : {}), ...(gateway.authPolicy ? { 'auth-policy': gateway.authPolicy } : {}) },
          checkPath: '/healthz',
        })
      : async () => undefined;
  log.info({ url: `http://${config.listen.host}:${http.port}/`, accessLog: `${config.grpc.host}:${grpcPort}`, xdsAdmin: config.xdsAdmin, prometheus: config.prometheus ?? null }, 'console started');
  process.stdout.write(`console http://${config.listen.host}:${http.port}/\n`);
  return async () => {
    await embedded?.stop();
    await deregister().catch(() => undefined);
    await deregisterPage().catch(() => undefined);
    consul?.close();
    await grpc.close();
    await http.close();
  };
});
