// xds-server entry point, wiring only: sources (the registries — Consul's catalog and health,
// ZooKeeper, Eureka — merged into one catalog; config entries) →
// MeshStore → Controller (resolve, translate, cache) → ADS server, and the admin HTTP server.
import { ConsulClient } from '../shared/consul/client.js';
import { advertisedAddress, registerInfrastructure } from '../shared/consul/registration.js';
import { listenHttp } from '../shared/admin-http.js';
import { createLogger } from '../shared/log.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { envoyRoot } from '../shared/proto/root.js';
import { xdsAdminApp } from './admin/admin.js';
import { XdsMetrics } from './admin/metrics.js';
import { SnapshotCache } from './cache/snapshot-cache.js';
import { parseConfig, USAGE } from './config.js';
import { Controller } from './controller.js';
import { MeshStore } from './model/mesh-store.js';
import { DEFAULT_SETTINGS_DEFAULTS } from './model/service-settings.js';
import { AdsServer } from './server/ads-server.js';
import { ProxyMetricsRegistrar } from './server/proxy-metrics-registrar.js';
import { ProxyRegistry } from './server/proxy-registry.js';
import { ConsulCatalogSource } from './sources/consul-catalog.js';
import { startConfigEntrySource } from './sources/config-entries.js';
import { startDescriptorSource } from './sources/descriptor-source.js';
import { EurekaSource } from './sources/eureka-source.js';
import { OidcDiscoverySource } from './sources/oidc-discovery.js';
import { SecretsDirSource } from './sources/secrets-dir.js';
import { RegistryMerge } from './sources/registry-merge.js';
import { ZooKeeperSource } from './sources/zookeeper-source.js';

const log = createLogger('xds-server');

runService('xds-server', log, async () => {
  const config = configOrUsage(() => parseConfig(process.argv.slice(2)), USAGE);
  envoyRoot(); // load the protos now, not on the first stream

  const metrics = new XdsMetrics();
  const store = new MeshStore({
    retainVanishedMs: config.retainVanishedMs,
    settingsDefaults: { ...DEFAULT_SETTINGS_DEFAULTS, identityHeaders: new Set(config.identityHeaders) },
  });
  const cache = new SnapshotCache();
  const registry = new ProxyRegistry();
  const controller = new Controller(
    store,
    cache,
    {
      roleDefaults: { gatewayAddress: config.gatewayAddress, gatewayPort: config.gatewayPort },
      gateway: {
        identityHeaders: config.identityHeaders,
        ...(config.authz ? { authz: config.authz } : {}),
        ...(config.ratelimit ? { ratelimit: config.ratelimit } : {}),
        ...(config.llm ? { llm: config.llm } : {}),
        ...(config.accessLogService ? { accessLog: { service: config.accessLogService, timeoutMs: 1_000 } } : {}),
      },
      debounceQuietMs: config.debounceQuietMs,
      debounceMaxMs: config.debounceMaxMs,
    },
    log,
    metrics,
  );

  const consul = new ConsulClient(config.consul);
  const entrySource = startConfigEntrySource({ files: config.configEntryFiles, consulPrefix: config.configEntriesPrefix, consul, store, log, metrics });
  // Descriptors are fetched for the services the resolved mesh wants, and handed back to the store as a source.
  const descriptorSource = startDescriptorSource({ sink: store, consul, kvPrefix: config.descriptorsPrefix, log, metrics, refreshMs: config.descriptorRefreshMs });
  const discovery = new OidcDiscoverySource({ sink: store, log: log.child({ source: 'oidc-discovery' }), refreshMs: config.oidcRefreshMs });
  const stopWanting = controller.onResolved((resolved) => {
    descriptorSource.want(resolved.descriptors);
    discovery.want(resolved.loginIssuers);
  });
  const secretsDir = config.secretsDir ? new SecretsDirSource({ dir: config.secretsDir, sink: store, log: log.child({ source: 'secrets-dir' }), intervalMs: config.secretsIntervalMs }) : undefined;
  const registries = new RegistryMerge(store, config.registries);
  const sources = [
    new ConsulCatalogSource({
      client: consul,
      sink: registries.sink('consul'),
      log,
      waitMs: config.consulWaitMs,
      onWatchError: (watch) => metrics.consulWatchErrors.inc({ watch: watch.split('/')[0] }),
    }),
    ...(config.zookeeper
      ? [new ZooKeeperSource({ ...config.zookeeper, limits: config.registryLimits, sink: registries.sink('zookeeper'), log: log.child({ registry: 'zookeeper' }) })]
      : []),
    ...(config.eureka ? [new EurekaSource({ ...config.eureka, limits: config.registryLimits, sink: registries.sink('eureka'), log: log.child({ registry: 'eureka' }) })] : []),
  ];
  metrics.watchRegistries(() => registries.status());

  const registrar = config.proxyMetricsService
    ? new ProxyMetricsRegistrar(consul, registry, (key) => controller.role(key), log, { serviceName: config.proxyMetricsService, intervalMs: 10_000 })
    : undefined;
  const ads = new AdsServer(controller, registry, log, {
    onStreamOpen: () => {
      metrics.connectedProxies.set(registry.size);
      registrar?.changed();
    },
    onStreamClose: () => {
      metrics.connectedProxies.set(registry.size);
      registrar?.changed();
    },
    onPush: (_s, type, _n, bytes) => {
      metrics.pushes.inc({ type });
      metrics.pushedBytes.inc({ type }, bytes);
    },
    onAck: (_s, type) => metrics.acks.inc({ type }),
    onNack: (_s, type) => metrics.nacks.inc({ type }),
  });

  metrics.watchProxies(() => registry.status((key) => cache.get(key)));
  const xdsPort = await ads.listen(config.xdsHost, config.xdsPort, config.xdsAcceptBacklog);
  const admin = await listenHttp(xdsAdminApp({ store, cache, registry, metrics, entryStore: entrySource.entries, resolved: () => controller.resolveInFull(), registries: () => registries.status() }), config.adminHost, config.adminPort);
  for (const source of sources) source.start();
  secretsDir?.start();
  registrar?.start();
  const deregister = config.register
    ? await registerInfrastructure(consul, {
        id: `xds-server-${xdsPort}`,
        name: 'xds-server',
        listenHost: config.xdsHost,
        port: xdsPort,
        admin: { host: config.adminHost, port: admin.port },
        check: () => ({ http: `http://${advertisedAddress(config.adminHost)}:${admin.port}/readyz` }),
      })
    : async () => undefined;
  log.info({ xds: `${config.xdsHost}:${xdsPort}`, admin: `${config.adminHost}:${admin.port}`, consul: `${config.consul.host}:${config.consul.port}` }, 'xds-server started');

  return async () => {
    await deregister().catch((err: Error) => log.warn({ err: err.message }, 'deregistration failed'));
    await registrar?.close();
    for (const source of sources) source.stop();
    entrySource.stop();
    stopWanting();
    descriptorSource.stop();
    discovery.stop();
    secretsDir?.stop();
    controller.close();
    store.close();
    await ads.close();
    await admin.close();
    consul.close();
  };
});
