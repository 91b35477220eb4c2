// Config entries, in Consul's vocabulary (its JSON field names), validated once here:
//   service-defaults  protocol, timeouts, circuit breakers, outlier detection, active health
//                     checks, the upstreams its sidecar may call, JSON transcoding and gRPC-Web
//   service-router    routes by path, header, query parameter and method → a destination with
//                     prefix rewrite, timeouts and retries
//   service-splitter  weighted splits across services or subsets
//   service-resolver  subsets, default subset, failover, load balancer and hash policies
//   model-route       (meshgate's own) a model name callers send at the gateway: an alias to
//                     weighted models, or the order of the services that serve a model
//   browser-login     (meshgate's own) an OpenID Connect login for browser routes: the provider,
//                     the client, and the names of its secrets (their values never in an entry)
// Every error names the field. One entry per Consul KV key (JSON or YAML).
import { RE2 } from 're2-wasm';
import YAML from 'yaml';
import { z } from 'zod';
import { DIALECTS } from '../../../shared/llm-gateway.js';
import { durationText as duration } from '../../../shared/validate/duration.js';
import { headerNameSchema, MODEL_NAME, serviceName as name } from '../../../shared/validate/names.js';
import { refused, valid, type Checked } from '../../../shared/validate/result.js';
import { describeIssues } from '../../../shared/validate/zod.js';
import { parseSubsetFilter, type SubsetFilter } from './subset-filter.js';

const subsetName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a subset name (lower-case letters, digits, "-")');
const percent = z.number().min(0).max(100);
const count = z.number().int().min(0).max(1_000_000);

/** A browser origin: scheme, host and optional port, or "*" for any. */
const origin = z.string().regex(/^(\*|https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?)$/, 'must be an origin ("https://app.example.com", "http://localhost:8080") or "*"');

/** A gRPC service's methods as JSON over HTTP at the gateway (and gRPC-Web for browsers). */
const transcoding = z.strictObject({
  Enabled: z.boolean().optional(),
  /** How a server-streaming method's answer is framed: newline-delimited JSON or server-sent events. */
  Streams: z.enum(['ndjson', 'sse']).optional(),
  /** gRPC-Web for browser clients, with the CORS policy they need (off when absent). */
  GrpcWeb: z
    .strictObject({
      AllowOrigins: z.array(origin).min(1).max(100),
      /** Request headers a page may send besides gRPC-Web's own. */
      AllowHeaders: z.array(headerNameSchema()).max(50).optional(),
      MaxAgeSeconds: z.number().int().min(0).max(86_400).optional(),
      AllowCredentials: z.boolean().optional(),
    })
    .optional(),
});

export const serviceDefaults = z.strictObject({
  Kind: z.literal('service-defaults'),
  Name: name,
  Protocol: z.enum(['http', 'http2', 'grpc']).optional(),
  ConnectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  RequestTimeoutMs: z.number().int().min(0).max(3_600_000).optional(),
  /** The largest request body the gateway takes for this service (413 past it). */
  MaxRequestBytes: z.number().int().min(0).max(64 * 1024 * 1024).optional(),
  /** The services this service's sidecar may call: its sidecar gets config for these only. */
  Upstreams: z.array(name).optional(),
  Transcoding: transcoding.optional(),
  Limits: z
    .strictObject({
      MaxConnections: count.optional(),
      MaxPendingRequests: count.optional(),
      MaxConcurrentRequests: count.optional(),
      MaxRetries: count.optional(),
    })
    .optional(),
  /**
   * Shedding before the gateway's checks: while this service refuses calls for load (503), a
   * route that asks ext-authz or the rate-limit service first refuses a share of its calls
   * before asking (Envoy's admission control, over the route's own success rate).
   */
  Admission: z
    .strictObject({
      Enabled: z.boolean().optional(),
      /** Below this share of calls not refused for load, the gate starts to shed. */
      SuccessRatePercent: z.number().min(1).max(100).optional(),
      WindowSeconds: z.number().int().min(1).max(600).optional(),
      /** 1 sheds in proportion to the failures; higher sheds more at the same success rate. */
      Aggression: z.number().min(1).max(10).optional(),
      MaxRejectionPercent: percent.optional(),
      /** Below this many calls a second the gate never sheds. */
      MinRequestsPerSecond: count.optional(),
    })
    .optional(),
  /** Retries other services may send this one, as a share of its active requests. */
  RetryBudget: z.strictObject({ BudgetPercent: percent, MinRetryConcurrency: count.optional() }).optional(),
  PassiveHealthCheck: z
    .strictObject({
      Interval: duration.optional(),
      /** Consecutive 5xx answers that eject an instance. */
      MaxFailures: z.number().int().min(1).max(1_000).optional(),
      EnforcingConsecutive5xx: percent.optional(),
      MaxEjectionPercent: percent.optional(),
      BaseEjectionTime: duration.optional(),
    })
    .optional(),
  ActiveHealthCheck: z
    .strictObject({
      Path: z.string().startsWith('/'),
      Interval: duration,
      Timeout: duration,
      UnhealthyThreshold: z.number().int().min(1).max(100).default(2),
      HealthyThreshold: z.number().int().min(1).max(100).default(2),
    })
    .optional(),
});

/** Envoy matches with RE2, which refuses what RE2 cannot do (look-arounds, back-references). */
const regex = z.string().superRefine((r, ctx) => {
  try {
    new RE2(r, 'u');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not a regular expression Envoy (RE2) accepts: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}` });
  }
});

const headerMatch = z
  .strictObject({
    Name: headerNameSchema({ anyCase: true }),
    Present: z.boolean().optional(),
    Exact: z.string().optional(),
    Prefix: z.string().optional(),
    Suffix: z.string().optional(),
    Regex: regex.optional(),
    Invert: z.boolean().optional(),
  })
  .refine((h) => [h.Present, h.Exact, h.Prefix, h.Suffix, h.Regex].filter((x) => x !== undefined).length === 1, 'give exactly one of Present, Exact, Prefix, Suffix or Regex');

const queryMatch = z
  .strictObject({ Name: z.string().min(1), Present: z.boolean().optional(), Exact: z.string().optional(), Regex: regex.optional() })
  .refine((q) => [q.Present, q.Exact, q.Regex].filter((x) => x !== undefined).length === 1, 'give exactly one of Present, Exact or Regex');

const httpMatch = z
  .strictObject({
    PathExact: z.string().startsWith('/').optional(),
    PathPrefix: z.string().startsWith('/').optional(),
    PathRegex: regex.optional(),
    Header: z.array(headerMatch).optional(),
    QueryParam: z.array(queryMatch).optional(),
    Methods: z.array(z.string().regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')).optional(),
  })
  .refine((m) => [m.PathExact, m.PathPrefix, m.PathRegex].filter((x) => x !== undefined).length <= 1, 'give at most one of PathExact, PathPrefix or PathRegex');

const destination = z.strictObject({
  Service: name.optional(),
  ServiceSubset: subsetName.optional(),
  PrefixRewrite: z.string().startsWith('/').optional(),
  RequestTimeout: duration.optional(),
  NumRetries: z.number().int().min(0).max(10).optional(),
  RetryOnConnectFailure: z.boolean().optional(),
  RetryOnStatusCodes: z.array(z.number().int().min(100).max(599)).optional(),
  /** Envoy's retry_on conditions (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, …). */
  RetryOn: z.array(z.enum(['5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'])).optional(),
  PerTryTimeout: duration.optional(),
  RetryBackOff: z.strictObject({ BaseInterval: duration, MaxInterval: duration.optional() }).optional(),
});

export const serviceRouter = z.strictObject({
  Kind: z.literal('service-router'),
  Name: name,
  Routes: z
    .array(
      z.strictObject({
        Match: z.strictObject({ HTTP: httpMatch }).optional(),
        Destination: destination.optional(),
      }),
    )
    .min(1, 'must list at least one route'),
});

export const serviceSplitter = z.strictObject({
  Kind: z.literal('service-splitter'),
  Name: name,
  Splits: z
    .array(z.strictObject({ Weight: z.number().min(0).max(100), Service: name.optional(), ServiceSubset: subsetName.optional() }))
    .min(1, 'must list at least one split')
    .refine((splits) => Math.abs(splits.reduce((s, x) => s + x.Weight, 0) - 100) < 0.01, 'the weights must add up to 100'),
});

const failoverTarget = z.strictObject({ Service: name.optional(), ServiceSubset: subsetName.optional() });

export const serviceResolver = z
  .strictObject({
    Kind: z.literal('service-resolver'),
    Name: name,
    DefaultSubset: subsetName.optional(),
    Subsets: z
      .record(
        subsetName,
        z.strictObject({
          Filter: z.string().transform((f, ctx) => {
            const parsed = parseSubsetFilter(f);
            if (typeof parsed === 'string') {
              ctx.addIssue({ code: 'custom', message: parsed });
              return z.NEVER;
            }
            return { text: f, clauses: parsed as SubsetFilter };
          }),
          OnlyPassing: z.boolean().default(false),
        }),
      )
      .optional(),
    Failover: z
      .record(z.string(), z.strictObject({ Service: name.optional(), ServiceSubset: subsetName.optional(), Targets: z.array(failoverTarget).optional() }))
      .optional(),
    ConnectTimeout: duration.optional(),
    RequestTimeout: duration.optional(),
    LoadBalancer: z
      .strictObject({
        Policy: z.enum(['round_robin', 'least_request', 'ring_hash', 'maglev', 'random']).default('round_robin'),
        LeastRequestConfig: z.strictObject({ ChoiceCount: z.number().int().min(2).max(100) }).optional(),
        RingHashConfig: z
          .strictObject({ MinimumRingSize: z.number().int().min(1).max(8_388_608).optional(), MaximumRingSize: z.number().int().min(1).max(8_388_608).optional() })
          .optional(),
        HashPolicies: z
          .array(
            z
              .strictObject({
                Field: z.enum(['header', 'cookie', 'query_parameter']).optional(),
                FieldValue: z.string().min(1).optional(),
                SourceIP: z.boolean().optional(),
                Terminal: z.boolean().optional(),
                CookieConfig: z.strictObject({ Session: z.boolean().optional(), TTL: duration.optional(), Path: z.string().optional() }).optional(),
              })
              .refine((h) => (h.SourceIP ? !h.Field : !!h.Field && !!h.FieldValue), 'give SourceIP, or Field with FieldValue'),
          )
          .optional(),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    const subsets = new Set(Object.keys(r.Subsets ?? {}));
    if (r.DefaultSubset && !subsets.has(r.DefaultSubset)) ctx.addIssue({ code: 'custom', path: ['DefaultSubset'], message: `subset "${r.DefaultSubset}" is not defined in Subsets` });
    for (const key of Object.keys(r.Failover ?? {})) {
      if (key !== '*' && !subsets.has(key)) ctx.addIssue({ code: 'custom', path: ['Failover', key], message: `subset "${key}" is not defined in Subsets (use "*" for any)` });
      const f = r.Failover![key]!;
      if (!f.Service && !f.ServiceSubset && !f.Targets?.length) ctx.addIssue({ code: 'custom', path: ['Failover', key], message: 'give Service, ServiceSubset or Targets' });
    }
    const lb = r.LoadBalancer;
    if (lb?.HashPolicies?.length && lb.Policy !== 'ring_hash' && lb.Policy !== 'maglev') {
      ctx.addIssue({ code: 'custom', path: ['LoadBalancer', 'HashPolicies'], message: 'hash policies need Policy ring_hash or maglev' });
    }
    const ring = lb?.RingHashConfig;
    if (ring?.MinimumRingSize && ring.MaximumRingSize && ring.MinimumRingSize > ring.MaximumRingSize) {
      ctx.addIssue({ code: 'custom', path: ['LoadBalancer', 'RingHashConfig'], message: 'MinimumRingSize must not exceed MaximumRingSize' });
    }
  });

const modelName = z.string().regex(MODEL_NAME, 'must be a model name (letters, digits and . _ : / @ -, at most 128)');

/** The service of a model-route `Services` item (a name, or a service with its own name for the model). */
export const serviceOfModel = (s: string | { readonly Service: string }): string => (typeof s === 'string' ? s : s.Service);

export const modelRoute = z
  .strictObject({
    Kind: z.literal('model-route'),
    /** The model name callers send. */
    Name: modelName,
    /** An alias: each request goes to one of these models, by weight (the body says that model). */
    Targets: z
      .array(z.strictObject({ Model: modelName, Weight: z.number().int().min(1).max(10_000).default(1) }))
      .min(1)
      .max(16)
      .optional(),
    /**
     * A model several services serve: the order they are tried in (the rest follow by name). A
     * service given with a `Model` knows this model by that name (another provider's): it serves
     * the model without saying so in its registration, and its attempts get the body with its name.
     * `Dialect`: the API it speaks for this model (over its meta `model-dialect`).
     */
    Services: z
      .array(z.union([name, z.strictObject({ Service: name, Model: modelName.optional(), Dialect: z.enum(DIALECTS).optional() })]))
      .min(1)
      .max(16)
      .optional(),
    /** How long the gateway waits for an answer (a stream: for all of it). */
    RequestTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    /**
     * `load-and-prefix` (the default): the processor's endpoint picker places each call on the
     * instance chosen by load and prompt prefix, Envoy's balancing when it cannot; `off`: Envoy's
     * balancing alone (the first service's LoadBalancer).
     */
    EndpointPicker: z.enum(['load-and-prefix', 'off']).optional(),
    /**
     * What the model's tokens cost, in currency units per million tokens: each call's cost in
     * the access log, the request log and the metrics, and charged to cost budgets.
     */
    Price: z.strictObject({ InputPerMillion: z.number().nonnegative().max(1_000_000), OutputPerMillion: z.number().nonnegative().max(1_000_000) }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.Targets && r.Services) ctx.addIssue({ code: 'custom', path: ['Targets'], message: 'give Targets (an alias) or Services (the order of a model\'s services), not both' });
    else if (!r.Targets && !r.Services && !r.Price && r.RequestTimeoutMs === undefined && r.EndpointPicker === undefined)
      ctx.addIssue({ code: 'custom', path: ['Targets'], message: 'give Targets (an alias), or Services (the order of a model\'s services), RequestTimeoutMs, EndpointPicker or a Price' });
    if (r.Targets && r.Price) ctx.addIssue({ code: 'custom', path: ['Price'], message: 'an alias has no price of its own: its calls cost what the model they go to costs' });
    if (r.Targets?.some((t) => t.Model === r.Name)) ctx.addIssue({ code: 'custom', path: ['Targets'], message: `an alias cannot target itself (${r.Name})` });
    (r.Services ?? []).forEach((s, i) => {
      if (typeof s !== 'string' && s.Model === undefined && s.Dialect === undefined) ctx.addIssue({ code: 'custom', path: ['Services', i], message: 'give Model, Dialect or both (or the service\'s name alone)' });
    });
    const services = (r.Services ?? []).map(serviceOfModel);
    const twice = services.find((s, i) => services.indexOf(s) !== i);
    if (twice) ctx.addIssue({ code: 'custom', path: ['Services'], message: `service ${twice} is listed twice` });
  });

/** A secret's name in the xds-server's --secrets-dir (a file of that name holds its value). */
export const secretName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a secret name (letters, digits, ".", "_", "-"; the file in --secrets-dir)');

export const browserLogin = z
  .strictObject({
    Kind: z.literal('browser-login'),
    /** What a service's meta `login` names. */
    Name: name,
    /** The OpenID provider: its endpoints are read from Issuer/.well-known/openid-configuration. */
    Issuer: z
      .string()
      .url()
      .regex(/^https?:\/\/[^?#]+$/, 'must be an http(s) URL without query or fragment'),
    ClientId: z.string().min(1).max(256),
    /** The client's secret at the provider, by name. */
    ClientSecret: secretName,
    /** The key Envoy signs (and encrypts) its session cookies with, by name: at least 32 bytes. */
    HmacSecret: secretName,
    /** The scopes asked for ("openid" is always among them). */
    Scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/, 'must be an OAuth scope')).max(20).optional(),
    /** Requests carrying one of these headers skip the login (scripts with an API key; ext-authz still checks them). */
    PassThroughHeaders: z.array(headerNameSchema()).max(10).optional(),
    /** The session cookies' SameSite: Lax (the default: the provider's redirect back is a cross-site navigation) or Strict. */
    SameSite: z.enum(['Lax', 'Strict']).optional(),
  });

export const configEntry = z.discriminatedUnion('Kind', [serviceDefaults, serviceRouter, serviceSplitter, serviceResolver, modelRoute, browserLogin]);

export type ServiceDefaultsEntry = z.infer<typeof serviceDefaults>;
export type ServiceRouterEntry = z.infer<typeof serviceRouter>;
export type ServiceSplitterEntry = z.infer<typeof serviceSplitter>;
export type ServiceResolverEntry = z.infer<typeof serviceResolver>;
export type ModelRouteEntry = z.infer<typeof modelRoute>;
export type BrowserLoginEntry = z.infer<typeof browserLogin>;
export type ConfigEntry = z.infer<typeof configEntry>;
export type RouterRoute = ServiceRouterEntry['Routes'][number];
export type RouterDestination = NonNullable<RouterRoute['Destination']>;
export type HttpMatch = NonNullable<RouterRoute['Match']>['HTTP'];

/**
 * Config entries from one document: a single entry, or — with `many` (files, and KV keys that
 * hold a set) — a list of entries or several YAML documents separated by "---". Every problem
 * is reported, each with the place it was found.
 */
export function parseConfigEntries(text: string, many = false): Checked<ConfigEntry[]> {
  const docs = YAML.parseAllDocuments(text, { maxAliasCount: 100 } as YAML.ParseOptions);
  const syntax = (Array.isArray(docs) ? docs : [docs]).flatMap((d) => d.errors);
  if (syntax.length) return refused('', `not valid YAML or JSON: ${syntax[0]!.message.split('\n')[0]}`);
  const raws = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
  if (!many && raws.length > 1) return refused('', 'holds several YAML documents: one entry per key');
  const list = raws.flatMap((raw) => (many && Array.isArray(raw) ? raw : [raw]));
  const entries: ConfigEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const where = list.length > 1 ? `[${i}] ` : '';
    const r = configEntry.safeParse(item);
    if (!r.success) return void problems.push(`${where}${describeIssues(r.error)}`);
    const id = entryId(r.data);
    if (seen.has(id)) return void problems.push(`${where}${id} is defined twice`);
    seen.add(id);
    entries.push(r.data);
  });
  return problems.length ? refused('', problems.join('; ')) : valid(entries);
}

export function entryId(e: Pick<ConfigEntry, 'Kind' | 'Name'>): string {
  return `${e.Kind}/${e.Name}`;
}
