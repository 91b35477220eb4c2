// The console: a page for operators and security teams — services with their instances and
// health, their traffic as charts over the last hour, proxies with their sync status and Envoy's
// reason for a NACK, refused config, ext-authz decisions, rate-limit counts, alerts firing.
import { listenHttp } from '../shared/admin-http.js';
import { createLogger } from '../shared/log.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { parseConsoleConfig, USAGE } from './config.js';
import { consoleApp } from './server.js';

const log = createLogger('console');

runService('console', log, async () => {
  const config = configOrUsage(() => parseConsoleConfig(process.argv.slice(2)), USAGE);
  const http = await listenHttp(consoleApp(config), config.listen.host, config.listen.port);
  log.info({ url: `http://${config.listen.host}:${http.port}/`, xdsAdmin: config.xdsAdmin, prometheus: config.prometheus ?? null }, 'console started');
  process.stdout.write(`console http://${config.listen.host}:${http.port}/\n`);
  return () => http.close();
});
