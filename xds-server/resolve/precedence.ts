// Where each setting of an upstream comes from, decided here and nowhere else. Every setting
// names the layers that may set it, strongest first; the first layer that says something wins:
//
//   infrastructure    what the gateway's filters need of a service they call (ext-authz,
//                     rate limits, the LLM processor, the access log): gRPC, the filter's timeout,
//                     a plug-in's bounds (weaker than its service-defaults' Limits)
//   route             the service-router route's Destination (per route)
//   model-route       a model-route entry (for the model it names)
//   resolver          the target service's service-resolver
//   service-defaults  the target service's service-defaults
//   meta              the target service's Consul service meta (or an instance's, for its port)
//   default           meshgate's default (resolve/defaults.ts)
//
// docs/configuration.md prints this table; test/unit/resolve-precedence.test.ts checks every row.
export const LAYERS = ['infrastructure', 'route', 'model-route', 'resolver', 'service-defaults', 'meta', 'default'] as const;
export type Layer = (typeof LAYERS)[number];

export const SETTING_LAYERS = {
  protocol: ['infrastructure', 'service-defaults', 'meta', 'default'],
  connectTimeout: ['resolver', 'service-defaults', 'meta', 'default'],
  requestTimeout: ['infrastructure', 'route', 'resolver', 'service-defaults', 'meta', 'default'],
  /** How long the gateway waits for a model's answer; the default is its first service's request timeout. */
  modelTimeout: ['model-route', 'default'],
  /** Whether the processor's endpoint picker places a model's calls (its cluster takes the choice). */
  endpointPicker: ['model-route', 'default'],
  /** The API dialect a model's service speaks (the processor translates the caller's to it). */
  modelDialect: ['model-route', 'meta', 'default'],
  /** How a model's servers schedule their waiting calls: by priority (the processor writes one) only when all of them say so. */
  modelScheduling: ['meta', 'default'],
  loadBalancer: ['resolver', 'default'],
  hashPolicies: ['resolver', 'default'],
  retries: ['route', 'default'],
  /** The infrastructure layer offers a plug-in's bounds (resolve/defaults.ts DEFAULT_LIMITS); an operator's Limits still win. */
  circuitBreakers: ['service-defaults', 'infrastructure', 'default'],
  retryBudget: ['service-defaults', 'default'],
  outlierDetection: ['service-defaults', 'default'],
  healthCheck: ['service-defaults', 'default'],
  upstreams: ['service-defaults', 'meta', 'default'],
  dialPort: ['meta', 'default'],
  maxRequestBytes: ['service-defaults', 'default'],
  /** The gate before a gateway path's checks, field by field over the default (off: Enabled false). */
  admission: ['service-defaults', 'default'],
  transcoding: ['service-defaults', 'meta', 'default'],
  transcodedStreams: ['service-defaults', 'default'],
  grpcWeb: ['service-defaults', 'default'],
} as const satisfies Record<string, readonly Layer[]>;

export type Setting = keyof typeof SETTING_LAYERS;

export interface Decided<T> {
  readonly value: T;
  readonly from: Layer;
}

/**
 * The value of `setting` from the strongest layer that offers one (undefined means "says
 * nothing"). `default` must always be offered; offering a layer the table does not list for
 * the setting is a programming error.
 */
export function decide<T>(setting: Setting, offers: { readonly [L in Layer]?: T | undefined } & { readonly default: T }): Decided<T> {
  const layers: readonly Layer[] = SETTING_LAYERS[setting];
  for (const key of Object.keys(offers) as Layer[]) {
    if (!layers.includes(key)) throw new Error(`${setting} is not set by ${key} (resolve/precedence.ts)`);
  }
  for (const layer of layers) {
    const value = offers[layer];
    if (value !== undefined) return { value, from: layer };
  }
  return { value: offers.default, from: 'default' };
}
