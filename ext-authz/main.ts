// ext-authz entry point: policy sources → PolicyStore → Check server, plus admin and Consul
// registration.
import { listenHttp } from '../shared/admin-http.js';
import { ConsulClient } from '../shared/consul/client.js';
import { registerComponent } from '../shared/component-config.js';
import { reportDocumentEvents } from '../shared/documents/report-events.js';
import { startDocumentSources } from '../shared/documents/start-sources.js';
import { IDENTITY_HEADERS_META } from '../shared/identity-headers.js';
import { createLogger } from '../shared/log.js';
import { tuneGcForRequestPath } from '../shared/request-path-gc.js';
import { configOrUsage, runService } from '../shared/service-main.js';
import { loadEnvoyProtos, AUTH_SERVICE_PROTO } from '../shared/proto/root.js';
import { authzAdminApp } from './admin.js';
import { parseConfig, USAGE } from './config.js';
import { JwksRegistry } from './credentials/jwks-cache.js';
import { sharedKdfPool } from './credentials/fair-pool.js';
import { DecisionLog } from './decision-log.js';
import { IDENTITY_FIELDS } from './identity.js';
import { AuthzMetrics } from './metrics.js';
import { createPolicyStore } from './policy/policy-store.js';
import { AuthorizationServer } from './server/authorization-server.js';
import { SigningKeys } from './token/signing-keys.js';
import { Revocations } from './token/revocations.js';
import { JWKS_PATH, REVOKE_PATH, TOKEN_EXCHANGE_GRANT, TOKEN_PATH, TokenEndpoint } from './token/token-endpoint.js';
import { listenTokenEndpoint } from './token/token-server.js';
import { registerGatewayRouted } from '../shared/consul/registration.js';
import { CheckResponses } from './server/check-codec.js';

const log = createLogger('ext-authz');

tuneGcForRequestPath();

runService('ext-authz', log, async () => {
  const config = configOrUsage(() => parseConfig(process.argv.slice(2)), USAGE);
  loadEnvoyProtos([AUTH_SERVICE_PROTO]);
  sharedKdfPool.configure(config.kdf);
  const metrics = new AuthzMetrics();
  const jwks = new JwksRegistry({
    onFetch: (uri, result, detail) => {
      metrics.jwksFetches.inc({ result });
      if (result === 'error') log.warn({ uri, err: detail }, 'JWKS fetch failed; keeping the keys already known');
    },
  });
  const consul = config.consul ? new ConsulClient(config.consul) : undefined;
  // Token ids revoked at any replica's token endpoint, refused by every jwt credential here.
  const revocations = new Revocations(consul, config.tokenRevocationsPrefix, log).start();
  const store = createPolicyStore({ jwks, revocations });
  reportDocumentEvents(store, log, { what: 'policy document', namesField: 'policies', refusals: metrics.refusals, inForce: metrics.policies });

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
  const decisions = new DecisionLog(config.decisionLog, undefined, (lines) => metrics.decisionLogDropped.inc(lines));
  const server = new AuthorizationServer({ store, responses, metrics, decisions, log, limits: config.h2Limits });
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
  const deregister = await registerComponent(consul, config, port, log, {
    // The identity headers it sets are announced, so that the gateway strips client-sent copies
    // of exactly those.
    meta: { [IDENTITY_HEADERS_META]: IDENTITY_FIELDS.map((f) => config.identityHeaders[f]).join(',') },
    check: (address) => ({ grpc: `${address}:${port}` }),
  });
  // meshgate's own token endpoint, routed by the gateway at its paths (public: the client authenticates in the request).
  let tokens: { keys: SigningKeys; server: { port: number; close(): Promise<void> }; deregister(): Promise<void> } | undefined;
  if (config.token) {
    const keys = new SigningKeys(config.token.keysDir, (problem) => log.warn({ problem }, 'token signing keys')).start(config.token.reloadMs);
    const endpoint = new TokenEndpoint({
      policies: () => store.items,
      policyName: config.token.policy,
      keys,
      revocations,
      onOutcome: ({ grant, result, subject, jti }) => {
        const g = grant === TOKEN_EXCHANGE_GRANT ? 'token-exchange' : grant === 'client_credentials' || grant === 'revocation' ? grant : 'other';
        metrics.tokens.inc({ grant: g, result });
        log.info({ log: 'token', grant: g, result, ...(subject ? { subject } : {}), ...(jti ? { jti } : {}) }, 'token endpoint');
      },
    });
    const server = await listenTokenEndpoint(endpoint, config.token.listen.host, config.token.listen.port);
    const deregisterToken =
      consul && config.register
        ? await registerGatewayRouted(consul, {
            id: `meshgate-token-${server.port}`,
            name: 'meshgate-token',
            listenHost: config.token.listen.host,
            ...(config.advertise ? { advertise: config.advertise } : {}),
            port: server.port,
            gatewayPath: `${TOKEN_PATH},${REVOKE_PATH},${JWKS_PATH}`,
            meta: { 'auth-policy': 'none' },
            checkPath: JWKS_PATH,
          })
        : async () => undefined;
    tokens = { keys, server, deregister: deregisterToken };
    log.info({ listen: `${config.token.listen.host}:${server.port}`, policy: config.token.policy, keys: config.token.keysDir }, 'token endpoint started');
  }
  log.info({ listen: `${config.listen.host}:${port}`, admin: `${config.admin.host}:${admin.port}`, policies: store.items.size }, 'ext-authz started');

  return async () => {
    await tokens?.deregister().catch((err: Error) => log.warn({ err: err.message }, 'token endpoint deregistration failed'));
    await tokens?.server.close();
    tokens?.keys.stop();
    revocations.stop();
    await deregister();
    sources.stop();
    await server.grpc.close();
    await admin.close();
    consul?.close();
    decisions.flush();
  };
});
