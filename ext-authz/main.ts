// ext-authz entry point: policy sources → PolicyStore → Check server, plus admin and Consul
// registration.
import { listenHttp } from '../shared/admin-http.js';
import { ConsulClient } from '../shared/consul/client.js';
import { advertisedAddress, registerSelf } from '../shared/consul/registration.js';
import { startDocumentSources } from '../shared/documents/start-sources.js';
import { IDENTITY_HEADERS_META } from '../shared/identity-headers.js';
import { createLogger } from '../shared/log.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { envoyRoot } from '../shared/proto/root.js';
import { authzAdminApp } from './admin.js';
import { parseConfig, USAGE } from './config.js';
import { JwksRegistry } from './credentials/jwks-cache.js';
import { DecisionLog } from './decision-log.js';
import { IDENTITY_FIELDS } from './identity.js';
import { AuthzMetrics } from './metrics.js';
import { createPolicyStore } from './policy/policy-store.js';
import { AuthorizationServer } from './server/authorization-server.js';
import { CheckResponses } from './server/check-codec.js';

const log = createLogger('ext-authz');

runService('ext-authz', log, async () => {
  const config = configOrUsage(() => parseConfig(process.argv.slice(2)), USAGE);
  envoyRoot();
  const metrics = new AuthzMetrics();
  const jwks = new JwksRegistry({
    onFetch: (uri, result, detail) => {
      metrics.jwksFetches.inc({ result });
      if (result === 'error') log.warn({ uri, err: detail }, 'JWKS fetch failed; keeping the keys already known');
    },
  });
  const store = createPolicyStore({ jwks });
  store.onEvent((e) => {
    metrics.policies.set(store.items.size);
    if (e.kind === 'applied') log.info({ document: e.document, version: e.version, policies: e.names }, 'policy document in force');
    if (e.kind === 'refused') {
      metrics.refusals.inc({ source: e.document.split(':')[0] });
      log.error({ document: e.document, version: e.version, reason: e.reason }, 'policy document refused; the last good version stays in force');
    }
    if (e.kind === 'removed') log.warn({ document: e.document }, 'policy document removed; its policies no longer exist');
  });

  const consul = config.consul ? new ConsulClient(config.consul) : undefined;
  const sources = startDocumentSources({
    paths: config.policyFiles,
    consul,
    consulPrefix: config.consulPrefix,
    sink: store,
    log,
    what: 'policy',
    onWatchError: () => metrics.consulWatchErrors.inc({ watch: 'kv' }),
    onFirstAnswer: () => markReady(),
  });

  const responses = new CheckResponses(config.identityHeaders);
  const decisions = new DecisionLog(config.decisionLog);
  const server = new AuthorizationServer({ store, responses, metrics, decisions, log });
  const notReady = (): string | undefined => {
    if (sources.pending.size) return `waiting for the first answer from ${[...sources.pending].join(', ')}`;
    if (store.items.size === 0) return 'no policy is in force (every request is denied)';
    return undefined;
  };
  function markReady(): void {
    server.grpc.setServing(notReady() === undefined);
  }
  store.onEvent(markReady);
  markReady();

  const port = await server.grpc.listen(config.listen.host, config.listen.port);
  const admin = await listenHttp(authzAdminApp({ store, jwks, metrics, identityHeaders: config.identityHeaders, ready: notReady }), config.admin.host, config.admin.port);
  let deregister: (() => Promise<void>) | undefined;
  if (consul && config.register) {
    const address = advertisedAddress(config.listen.host, config.advertise);
    deregister = await registerSelf(consul, {
      id: config.serviceId,
      name: config.serviceName,
      address,
      port,
      // Infrastructure, not an API: never routed by the gateway. The identity headers it sets
      // are announced so that the gateway strips client-sent copies of exactly those.
      meta: { protocol: 'grpc', 'gateway-path': 'none', [IDENTITY_HEADERS_META]: IDENTITY_FIELDS.map((f) => config.identityHeaders[f]).join(',') },
      check: { grpc: `${address}:${port}` },
    });
  }
  log.info({ listen: `${config.listen.host}:${port}`, admin: `${config.admin.host}:${admin.port}`, policies: store.items.size }, 'ext-authz started');

  return async () => {
    await deregister?.().catch((err) => log.warn({ err: (err as Error).message }, 'deregistration failed'));
    sources.stop();
    await server.grpc.close();
    await admin.close();
    consul?.close();
    decisions.flush();
  };
});
