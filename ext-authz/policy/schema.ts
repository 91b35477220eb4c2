// The policy document: named policies, each with the credentials it accepts and its rules.
// Validated here, once, when a document arrives; every error names the field it is about.
//
// policies:
//   llm-clients:
//     dry_run: false
//     request_log: false      # true: the LLM processor logs these callers' model API calls
//     model_priority: standard # in a saturated model pool: critical, standard or sheddable
//     model_weight: 1         # its tenants' share of a saturated pool, against others of that priority
//     credentials:            # tried in order; a credential that is present decides
//       - type: api_key
//         header: x-api-key   # or query: api_key; bearer: true also takes Authorization: Bearer <key>
//         keys: [{id: team-a, sha256: <hex>, subject: team-a-bot, tenant: team-a, plan: pro, scopes: [chat]}]
//       - type: jwt
//         issuer: https://idp.example.com/
//         audiences: [meshgate]
//         algorithms: [RS256]
//         jwks_uri: https://idp.example.com/.well-known/jwks.json   # or jwks: {keys: […]}, or hmac_secret_base64 (HS* only)
//         leeway: 30s
//       - type: basic
//         users: [{username: ops, password_hash: "scrypt$…", subject: ops}]
//       - type: anonymous
//     rules:
//       deny:  [{tenants: [suspended]}]
//       allow: [{scopes: [chat], methods: [POST], path_prefixes: [/v1/chat/]}]
import YAML from 'yaml';
import { z } from 'zod';
import { durationText } from '../../shared/validate/duration.js';
import { headerNameSchema, policyName, POLICY_NAME_HINT } from '../../shared/validate/names.js';
import { refused, valid, type Checked } from '../../shared/validate/result.js';
import { describeIssues } from '../../shared/validate/zod.js';

const nonEmpty = z.string().min(1, 'must not be empty');
const headerName = headerNameSchema();
const duration = durationText;

const identityFields = {
  subject: nonEmpty,
  tenant: nonEmpty.optional(),
  plan: nonEmpty.optional(),
  scopes: z.array(nonEmpty).default([]),
};

const apiKeyEntry = z.strictObject({
  id: nonEmpty,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 hex characters of the key’s SHA-256'),
  ...identityFields,
});

const apiKeyCredential = z
  .strictObject({
    type: z.literal('api_key'),
    header: headerName.optional(),
    query: nonEmpty.optional(),
    /** Also (or only, without header and query) from `Authorization: Bearer <key>`, as OpenAI clients send it. */
    bearer: z.boolean().optional(),
    keys: z.array(apiKeyEntry).min(1, 'must list at least one key'),
  })
  .superRefine((c, ctx) => {
    if (c.header && c.query) ctx.addIssue({ code: 'custom', message: 'give either header or query, not both', path: ['query'] });
    const seen = new Set<string>();
    c.keys.forEach((k, i) => {
      if (seen.has(k.sha256)) ctx.addIssue({ code: 'custom', message: 'the same key is listed twice', path: ['keys', i, 'sha256'] });
      seen.add(k.sha256);
    });
  });

const basicCredential = z.strictObject({
  type: z.literal('basic'),
  realm: nonEmpty.default('meshgate'),
  users: z
    .array(
      z.strictObject({
        username: z.string().min(1).regex(/^[^:]+$/, 'must not contain ":"'),
        password_hash: nonEmpty,
        subject: nonEmpty.optional(),
        tenant: nonEmpty.optional(),
        plan: nonEmpty.optional(),
        scopes: z.array(nonEmpty).default([]),
      }),
    )
    .min(1, 'must list at least one user'),
});

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

const claimValue = z.union([z.string(), z.number(), z.boolean()]);

/** Which claims of a bearer token (signed, or as introspected) say who the caller is. */
const tokenClaims = z
  .strictObject({
    subject: nonEmpty.default('sub'),
    tenant: nonEmpty.optional(),
    plan: nonEmpty.optional(),
    scopes: nonEmpty.default('scope'),
  })
  .default({ subject: 'sub', scopes: 'scope' });

const jwtCredential = z
  .strictObject({
    type: z.literal('jwt'),
    issuer: nonEmpty,
    audiences: z.array(nonEmpty).min(1, 'must list at least one audience'),
    // "none" is not an algorithm meshgate knows, so it can never be allowed.
    algorithms: z.array(z.enum([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS])).min(1, 'must list at least one algorithm'),
    jwks_uri: z.url({ protocol: /^https?$/ }).optional(),
    jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    hmac_secret_base64: z.string().min(1).optional(),
    leeway: duration.default('30s'),
    require_expiry: z.boolean().default(true),
    claims: tokenClaims,
    required_claims: z.record(z.string(), claimValue).default({}),
    required_scopes: z.array(nonEmpty).default([]),
    max_token_bytes: z.number().int().min(256).max(65536).default(8192),
    jwks_refresh: duration.default('5m'),
    jwks_min_refetch: duration.default('10s'),
    /** Token ids (`jti`) refused from the moment this document is in force: revocation. */
    revoked_token_ids: z.array(nonEmpty).max(100_000).default([]),
  })
  .superRefine((c, ctx) => {
    const sources = [c.jwks_uri, c.jwks, c.hmac_secret_base64].filter((x) => x !== undefined).length;
    if (sources !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of jwks_uri, jwks or hmac_secret_base64', path: [] });
    const hmac = c.algorithms.filter((a) => (HMAC_ALGORITHMS as readonly string[]).includes(a));
    // An HMAC secret and public keys never mix: that is how "HS256 signed with the RSA public
    // key" attacks work.
    if (hmac.length && hmac.length !== c.algorithms.length) {
      ctx.addIssue({ code: 'custom', message: 'HMAC (HS*) and public-key algorithms cannot be mixed in one credential', path: ['algorithms'] });
    }
    if (hmac.length && c.hmac_secret_base64 === undefined) {
      ctx.addIssue({ code: 'custom', message: 'HS* algorithms need hmac_secret_base64', path: ['algorithms'] });
    }
    if (!hmac.length && c.hmac_secret_base64 !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'hmac_secret_base64 is only for HS* algorithms', path: ['hmac_secret_base64'] });
    }
    if (c.hmac_secret_base64 !== undefined && Buffer.from(c.hmac_secret_base64, 'base64').length < 32) {
      ctx.addIssue({ code: 'custom', message: 'must decode to at least 32 bytes', path: ['hmac_secret_base64'] });
    }
  });

const introspectionCredential = z.strictObject({
  type: z.literal('introspection'),
  endpoint: z.url({ protocol: /^https?$/ }),
  client_id: nonEmpty,
  // Sent to the provider; never shown on a status page or written to a log.
  client_secret: nonEmpty,
  client_auth: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  token_type_hint: nonEmpty.default('access_token'),
  issuer: nonEmpty.optional(),
  audiences: z.array(nonEmpty).default([]),
  required_scopes: z.array(nonEmpty).default([]),
  claims: tokenClaims,
  max_token_bytes: z.number().int().min(16).max(65536).default(4096),
  leeway: duration.default('30s'),
  cache_ttl: duration.default('5m'),
  negative_cache_ttl: duration.default('10s'),
  timeout: duration.default('2s'),
  max_concurrency: z.number().int().min(1).max(1024).default(8),
  max_waiting: z.number().int().min(0).max(100_000).default(256),
});

const anonymousCredential = z.strictObject({
  type: z.literal('anonymous'),
  subject: nonEmpty.default('anonymous'),
  tenant: nonEmpty.optional(),
  plan: nonEmpty.optional(),
  scopes: z.array(nonEmpty).default([]),
});

const credential = z.discriminatedUnion('type', [apiKeyCredential, basicCredential, jwtCredential, introspectionCredential, anonymousCredential]);

const rule = z
  .strictObject({
    subjects: z.array(nonEmpty).min(1).optional(),
    tenants: z.array(nonEmpty).min(1).optional(),
    plans: z.array(nonEmpty).min(1).optional(),
    /** The caller must hold every one of these scopes. */
    scopes: z.array(nonEmpty).min(1).optional(),
    credentials: z.array(z.enum(['api_key', 'basic', 'jwt', 'introspection', 'anonymous'])).min(1).optional(),
    methods: z.array(z.string().regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')).min(1).optional(),
    path_prefixes: z.array(z.string().startsWith('/', 'must start with "/"')).min(1).optional(),
  })
  .refine((r) => Object.keys(r).length > 0, 'a rule needs at least one condition');

const policy = z.strictObject({
  description: z.string().optional(),
  dry_run: z.boolean().default(false),
  /** The LLM processor writes this policy's model API calls to its request log (prompt and completion, redacted). */
  request_log: z.boolean().default(false),
  /** Where its callers' model calls stand in a saturated model pool: critical first, sheddable refused first. A caller may lower its own (x-meshgate-priority). */
  model_priority: z.enum(['critical', 'standard', 'sheddable']).default('standard'),
  /** Its tenants' share of a saturated model pool, against the others of the same priority. */
  model_weight: z.number().int().min(1).max(1000).default(1),
  /** Its Basic users and API keys may get meshgate's own tokens at the token endpoint (ext-authz --token-listen). */
  issue_tokens: z
    .strictObject({
      issuer: z.url({ protocol: /^https?$/ }),
      audience: nonEmpty.default('meshgate'),
      ttl: duration.default('15m'),
    })
    .optional(),
  credentials: z
    .array(credential)
    .min(1, 'must list at least one credential')
    .superRefine((list, ctx) => {
      const i = list.findIndex((c) => c.type === 'anonymous');
      if (i >= 0 && i !== list.length - 1) {
        ctx.addIssue({ code: 'custom', message: 'anonymous must come last: the credentials after it would never be used', path: [i] });
      }
    }),
  rules: z
    .strictObject({
      deny: z.array(rule).default([]),
      allow: z.array(rule).default([]),
    })
    .default({ deny: [], allow: [] }),
}).superRefine((p, ctx) => {
  // A rule about a credential the policy never accepts can never match: as an allow rule it
  // would shut every caller out without a word, so it is refused instead.
  const accepted = new Set(p.credentials.map((c) => c.type));
  for (const list of ['deny', 'allow'] as const) {
    p.rules[list].forEach((r, i) => {
      r.credentials?.forEach((kind, j) => {
        if (!accepted.has(kind)) {
          ctx.addIssue({ code: 'custom', message: `names credential ${kind}, which this policy does not accept (it accepts ${[...accepted].join(', ')})`, path: ['rules', list, i, 'credentials', j] });
        }
      });
    });
  }
});

export const policyDocument = z
  .strictObject({
    policies: z.record(z.string(), policy),
  })
  .superRefine((doc, ctx) => {
    for (const name of Object.keys(doc.policies)) {
      if (name === 'none') ctx.addIssue({ code: 'custom', message: '"none" is reserved: it marks routes without auth', path: ['policies', name] });
      else if (!policyName.safeParse(name).success) ctx.addIssue({ code: 'custom', message: `must be ${POLICY_NAME_HINT}`, path: ['policies', name] });
    }
  });

export type PolicyDocument = z.infer<typeof policyDocument>;
export type PolicySpec = PolicyDocument['policies'][string];
export type CredentialSpec = PolicySpec['credentials'][number];
export type RuleSpec = PolicySpec['rules']['deny'][number];


/** Parse YAML (a superset of JSON) and validate; the reason lists every problem by field. */
export function parsePolicyDocument(text: string): Checked<PolicyDocument> {
  let raw: unknown;
  try {
    raw = YAML.parse(text, { maxAliasCount: 100 });
  } catch (err) {
    return refused('', `not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = policyDocument.safeParse(raw);
  return result.success ? valid(result.data) : refused('', describeIssues(result.error));
}
