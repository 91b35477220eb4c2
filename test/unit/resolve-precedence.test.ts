// The precedence rule, row by row: for every setting of the resolved model, each layer that may
// set it wins over every weaker one, and a layer the table does not list for it has no say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigEntries, MeshState } from '../../xds-server/model/mesh.js';
import { targetCluster } from '../../xds-server/translate/cluster.js';
import { DEFAULT_ADMISSION, DEFAULT_HTTP_MAX_REQUEST_BYTES, DEFAULT_LIMITS, DEFAULT_RETRIES, DEFAULT_RETRY_BUDGET } from '../../xds-server/resolve/defaults.js';
import { dialPort } from '../../xds-server/resolve/endpoints.js';
import { modelLimitsOf, type GatewaySettings } from '../../xds-server/resolve/gateway-settings.js';
import { gatewayHttpFilters } from '../../xds-server/translate/http-filters.js';
import { TOKEN_BUDGET_FILTER } from '../../xds-server/translate/rate-limits.js';
import { resolveMesh } from '../../xds-server/resolve/mesh-resolver.js';
import { decide, LAYERS, SETTING_LAYERS, type Layer, type Setting } from '../../xds-server/resolve/precedence.js';
import type { ResolvedMesh } from '../../xds-server/resolve/resolved-mesh.js';
import { entries, GATEWAY_SETTINGS, instance, meshOf, service } from '../helpers/mesh-fixtures.js';

/** What each layer says about each setting in the mesh below, and what the default is. */
const ROUTER = 'Kind: service-router\nName: web\nRoutes: [{Match: {HTTP: {PathPrefix: /r}}, Destination: {RequestTimeout: 7s, NumRetries: 4, RetryOn: [5xx]}}]';
const RESOLVER =
  'Kind: service-resolver\nName: web\nConnectTimeout: 2s\nRequestTimeout: 8s\nLoadBalancer: {Policy: ring_hash, HashPolicies: [{Field: header, FieldValue: X-User}]}';
/** A model-route entry for the model web serves. */
const MODEL_ROUTE = 'Kind: model-route\nName: m\nServices: [{Service: web, Dialect: anthropic}]\nRequestTimeoutMs: 11000\nEndpointPicker: "off"';
const DEFAULTS = [
  'Kind: service-defaults',
  'Name: web',
  'Protocol: http2',
  'ConnectTimeoutMs: 3000',
  'RequestTimeoutMs: 9000',
  'Upstreams: [from-entry]',
  'Limits: {MaxConnections: 11}',
  'RetryBudget: {BudgetPercent: 33}',
  'PassiveHealthCheck: {MaxFailures: 2}',
  'ActiveHealthCheck: {Path: /hc, Interval: 1s, Timeout: 100ms}',
  'MaxRequestBytes: 4096',
  'Admission: {SuccessRatePercent: 80}',
  'Transcoding: {Enabled: false, Streams: sse, GrpcWeb: {AllowOrigins: ["https://app.example"]}}',
].join('\n');
const META = { protocol: 'grpc' as const, connectTimeoutMs: 4_000, requestTimeoutMs: 10_000, upstreams: ['from-meta'], transcode: true, modelDialect: 'anthropic', modelScheduling: 'priority' } as const;
/** With the infrastructure layer, web is the service ext-authz runs on (the filter's timeout 1.5 s). */
const AS_INFRASTRUCTURE: GatewaySettings = { ...GATEWAY_SETTINGS, authz: { service: 'web', timeoutMs: 1_500, defaultPolicy: 'default' } };

function mesh(layers: ReadonlySet<Layer>): ResolvedMesh {
  const docs = [
    ...(layers.has('route') ? [ROUTER] : []),
    ...(layers.has('resolver') ? [RESOLVER] : []),
    ...(layers.has('service-defaults') ? [DEFAULTS] : []),
    ...(layers.has('model-route') ? [MODEL_ROUTE] : []),
  ];
  const web = service('web', [instance('web-1', layers.has('meta') ? { sidecarPort: 21000 } : {})], { ...(layers.has('meta') ? META : {}), models: ['m'] });
  const state: MeshState = meshOf([web, service('from-entry', []), service('from-meta', [])], entries(...docs) as Partial<ConfigEntries>);
  return resolveMesh(state, layers.has('infrastructure') ? AS_INFRASTRUCTURE : { ...GATEWAY_SETTINGS, llm: { service: 'ext-proc', timeoutMs: 1_000, maxRequestBytes: 1024 } });
}

/** The value each layer gives each setting (as the resolved model reads it). */
const EXPECTED: { [S in Setting]: { [L in Layer]?: unknown } } = {
  protocol: { infrastructure: 'grpc', 'service-defaults': 'http2', meta: 'grpc', default: 'http' },
  connectTimeout: { resolver: 2_000, 'service-defaults': 3_000, meta: 4_000, default: 1_000 },
  requestTimeout: { infrastructure: 1_500, route: 7_000, resolver: 8_000, 'service-defaults': 9_000, meta: 10_000, default: 30_000 },
  modelTimeout: { 'model-route': 11_000, default: 'the first service’s request timeout' },
  endpointPicker: { 'model-route': 'off', default: 'load-and-prefix' },
  // Two dialects only: which layer spoke is part of the answer.
  modelDialect: { 'model-route': 'anthropic from model-route', meta: 'anthropic from meta', default: 'openai from default' },
  modelScheduling: { meta: 'priority from meta', default: 'fcfs from default' },
  loadBalancer: { resolver: 'ring_hash', default: 'round_robin' },
  hashPolicies: { resolver: 'header:x-user', default: '' },
  retries: { route: 4, default: DEFAULT_RETRIES.numRetries },
  circuitBreakers: { 'service-defaults': 11, infrastructure: DEFAULT_LIMITS.plugin.maxConnections, default: DEFAULT_LIMITS.model.maxConnections }, // web serves a model
  retryBudget: { 'service-defaults': 33, default: DEFAULT_RETRY_BUDGET.percent },
  outlierDetection: { 'service-defaults': '2 5xx', default: '3 connection failures' },
  healthCheck: { 'service-defaults': '/hc', default: undefined },
  upstreams: { 'service-defaults': 'from-entry', meta: 'from-meta', default: '' },
  dialPort: { meta: 21000, default: 8000 },
  maxRequestBytes: { 'service-defaults': 4096, default: DEFAULT_HTTP_MAX_REQUEST_BYTES }, // web speaks HTTP/1.1 by default
  admission: { 'service-defaults': 80, default: DEFAULT_ADMISSION.successRatePercent },
  transcoding: { 'service-defaults': false, meta: true, default: false },
  transcodedStreams: { 'service-defaults': 'sse', default: 'ndjson' },
  grpcWeb: { 'service-defaults': 'https://app.example', default: undefined },
};

/** The setting's value for web, as the callers of its route /r get it. */
function read(r: ResolvedMesh, setting: Setting): unknown {
  const web = r.services.get('web')!;
  const p = web.policy;
  const route = web.chain.routes[0]?.policy ?? web.chain.fallback.policy;
  switch (setting) {
    case 'protocol':
      return p.protocol;
    case 'connectTimeout':
      return p.connectTimeoutMs;
    case 'requestTimeout':
      return route.timeoutMs;
    case 'modelTimeout': {
      const m = r.gateway?.models?.routing?.models.find((x) => x.id === 'm');
      return m?.decidedBy.modelTimeout === 'model-route' ? m.timeoutMs : m?.timeoutMs === p.requestTimeoutMs ? 'the first service’s request timeout' : m?.timeoutMs;
    }
    case 'endpointPicker': {
      const m = r.gateway?.models?.routing?.models.find((x) => x.id === 'm');
      return m ? (m.decidedBy.endpointPicker === 'model-route' && !m.endpointPicker ? 'off' : 'load-and-prefix') : undefined;
    }
    case 'modelDialect': {
      const m = r.gateway?.models?.routing?.models.find((x) => x.id === 'm');
      return m ? `${m.dialect} from ${m.decidedBy.modelDialect}` : undefined;
    }
    case 'modelScheduling': {
      const m = r.gateway?.models?.routing?.models.find((x) => x.id === 'm');
      return m ? `${m.scheduling} from ${m.decidedBy.modelScheduling}` : undefined;
    }
    case 'loadBalancer':
      return p.loadBalancer.policy;
    case 'hashPolicies':
      return route.hashPolicies.map((h) => (h.kind === 'header' ? `header:${h.name}` : h.kind)).join(',');
    case 'retries':
      return route.retries.numRetries;
    case 'circuitBreakers':
      return p.circuitBreakers.maxConnections;
    case 'retryBudget':
      return p.circuitBreakers.retryBudget?.percent;
    case 'outlierDetection':
      return p.outlierDetection?.localOriginFailures ? `${p.outlierDetection.localOriginFailures} connection failures` : `${p.outlierDetection?.consecutive5xx} 5xx`;
    case 'healthCheck':
      return p.healthCheck?.path;
    case 'upstreams':
      return p.upstreams.join(',');
    case 'dialPort':
      return web.chain.fallback.action.kind === 'target' ? web.chain.fallback.action.target.endpoints[0]!.port : undefined;
    case 'maxRequestBytes':
      return route.maxRequestBytes;
    case 'admission':
      return p.admission?.successRatePercent;
    case 'transcoding':
      return p.transcoding.enabled;
    case 'transcodedStreams':
      return p.transcoding.streams;
    case 'grpcWeb':
      return p.transcoding.grpcWeb?.allowOrigins.join(',');
  }
}

describe('precedence of settings (resolve/precedence.ts)', () => {
  for (const setting of Object.keys(SETTING_LAYERS) as Setting[]) {
    const layers: readonly Layer[] = SETTING_LAYERS[setting];
    it(`${setting}: ${layers.join(' > ')}`, () => {
      assert.deepEqual(Object.keys(EXPECTED[setting]).sort(), [...layers].sort(), 'the expectations cover exactly the layers of the table');
      // Each layer, with every weaker layer present too, decides; stronger layers absent.
      layers.forEach((layer, i) => {
        const present = new Set<Layer>(layers.slice(i).filter((l) => l !== 'default'));
        assert.deepEqual(read(mesh(present), setting), EXPECTED[setting][layer], `${setting} from ${layer} over ${[...present].join(', ') || 'nothing'}`);
      });
      // A layer the table does not list says nothing, even when it is the only one present
      // (an infrastructure service serves no model: there is nothing to ask it about models). The
      // body bound's default is the protocol's (tested below): a layer that says gRPC changes it.
      const aboutModels = ['modelTimeout', 'endpointPicker', 'modelDialect', 'modelScheduling'].includes(setting);
      const viaProtocol = (l: Layer): boolean => setting === 'maxRequestBytes' && (SETTING_LAYERS.protocol as readonly Layer[]).includes(l);
      for (const other of LAYERS.filter((l) => !layers.includes(l) && l !== 'default' && !(aboutModels && l === 'infrastructure') && !viaProtocol(l))) {
        assert.deepEqual(read(mesh(new Set([other])), setting), EXPECTED[setting]['default'], `${other} has no say on ${setting}`);
      }
    });
  }

  it('records which layer decided each setting', () => {
    const p = mesh(new Set(['service-defaults', 'meta'])).services.get('web')!.policy;
    assert.equal(p.decidedBy.requestTimeout, 'service-defaults');
    assert.equal(p.decidedBy.connectTimeout, 'service-defaults');
    assert.equal(p.decidedBy.loadBalancer, 'default');
    const route = mesh(new Set(['route', 'meta'])).services.get('web')!.chain.routes[0]!.policy;
    assert.equal(route.decidedBy.requestTimeout, 'route');
    assert.equal(mesh(new Set(['meta'])).services.get('web')!.chain.fallback.policy.decidedBy.requestTimeout, 'meta');
    assert.equal(mesh(new Set(['infrastructure', 'route'])).services.get('web')!.chain.routes[0]!.policy.decidedBy.requestTimeout, 'infrastructure');
  });

  it('decides the port dialled per instance: its sidecar’s, else its own', () => {
    assert.equal(dialPort(instance('w', { port: 8000, sidecarPort: 21000 })), 21000);
    assert.equal(dialPort(instance('w', { port: 8000 })), 8000);
  });

  it('takes Limits.MaxRetries alone as a fixed retry limit in place of the default budget', () => {
    const web = resolveMesh(meshOf([service('web', [instance('web-1')])], entries('Kind: service-defaults\nName: web\nLimits: {MaxRetries: 7}')), GATEWAY_SETTINGS).services.get('web')!;
    assert.deepEqual(web.policy.circuitBreakers, { ...DEFAULT_LIMITS.service, maxRetries: 7 }, 'the other bounds keep their defaults');
    const action = web.chain.fallback.action;
    assert.ok(action.kind === 'target');
    const cluster = targetCluster(action.target);
    assert.deepEqual(cluster['circuit_breakers'], { thresholds: [{ max_connections: 256, max_pending_requests: 64, max_requests: 256, max_retries: 7 }] }, 'no retry_budget: Envoy would ignore max_retries under one');
    const withBudget = resolveMesh(meshOf([service('web', [instance('web-1')])], entries('Kind: service-defaults\nName: web\nLimits: {MaxRetries: 7}\nRetryBudget: {BudgetPercent: 5}')), GATEWAY_SETTINGS).services.get('web')!.policy;
    assert.deepEqual(withBudget.circuitBreakers, { ...DEFAULT_LIMITS.service, maxRetries: 7, retryBudget: { percent: 5 } }, 'an explicit budget is kept beside it');
  });

  it('decides the model limits’ failure mode once: budgets refuse what they cannot count unless the operator lets it through; request counts alone follow the rate limits', () => {
    const budget = [{ entries: [{ kind: 'generic' as const, key: 'generic_key', value: 'tokens' }] }];
    const settings = (failClosed: boolean, llm: Partial<NonNullable<GatewaySettings['llm']>>): GatewaySettings => ({
      identityHeaders: [],
      ratelimit: { service: 'ratelimit', domain: 'meshgate', timeoutMs: 100, failClosed },
      llm: { service: 'ext-proc', timeoutMs: 2000, maxRequestBytes: 1024, ...llm },
    });
    /** What the gateway's budget filter does when ratelimit-service cannot answer. */
    const denies = (s: GatewaySettings): unknown => {
      const filter = gatewayHttpFilters([], undefined, s.ratelimit, s.llm, modelLimitsOf(s)).find((f) => f['name'] === TOKEN_BUDGET_FILTER)!;
      const config = filter['typed_config'] as Record<string, unknown>;
      return [config['failure_mode_deny'], config['status_on_error']];
    };
    const refused = [true, { code: 'ServiceUnavailable' }];
    assert.deepEqual(denies(settings(false, { tokenBudgets: budget })), refused, 'a token budget: closed, though rate limits fail open');
    assert.deepEqual(denies(settings(false, { costBudgets: budget })), refused, 'a cost budget too');
    assert.deepEqual(denies(settings(false, { tokenBudgets: budget, budgetsFailOpen: true })), [false, undefined], '--llm-budgets-fail-open');
    assert.deepEqual(denies(settings(true, { tokenBudgets: budget, budgetsFailOpen: true })), refused, '--ratelimit-fail-closed closes everything');
    assert.deepEqual(denies(settings(false, { modelRequestLimits: budget })), [false, undefined], 'request counts alone: the rate limits’ mode');
    assert.deepEqual(denies(settings(true, { modelRequestLimits: budget })), refused);
  });

  it('bounds an HTTP/1.1 service’s request bodies by default (read whole before routing), streams HTTP/2 and gRPC ones, and takes 0 as no bound', () => {
    const bound = (entry?: string): number | undefined =>
      resolveMesh(meshOf([service('web', [instance('web-1')])], entry ? entries(`Kind: service-defaults\nName: web\n${entry}`) : entries()), GATEWAY_SETTINGS).services.get('web')!.policy.maxRequestBytes;
    assert.equal(bound(), DEFAULT_HTTP_MAX_REQUEST_BYTES);
    assert.equal(bound('Protocol: http2'), undefined);
    assert.equal(bound('Protocol: grpc'), undefined);
    assert.equal(bound('MaxRequestBytes: 0'), undefined, '0: streamed, no bound');
    assert.equal(bound('Protocol: http2\nMaxRequestBytes: 1024'), 1024);
  });

  it('refuses an offer from a layer the table does not list', () => {
    assert.throws(() => decide('protocol', { route: 'grpc', default: 'http' }), /protocol is not set by route/);
  });
});
