// A validated document → ready-to-use policies: credentials with their lookup tables built,
// challenges joined, durations parsed. Done once per document change, never per request.
import { durationMs } from '../../shared/validate/duration.js';
import { AnonymousCredential } from '../credentials/anonymous.js';
import { ApiKeyCredential } from '../credentials/api-key.js';
import { BasicCredential } from '../credentials/basic.js';
import type { Credential } from '../credentials/credential.js';
import type { JwksRegistry } from '../credentials/jwks-cache.js';
import { IntrospectionCredential } from '../credentials/introspection.js';
import { JwtCredential } from '../credentials/jwt.js';
import { constantTimeEqual, type SecretComparator } from '../credentials/secrets.js';
import type { RevocationCheck } from '../token/revocations.js';
import type { RuleSet } from './rules.js';
import type { CredentialSpec, PolicyDocument, PolicySpec } from './schema.js';

export interface CompiledPolicy {
  readonly name: string;
  readonly dryRun: boolean;
  /** Said in the answer's metadata (`request_log: on`), for the LLM processor's request log. */
  readonly requestLog: boolean;
  /** Said in the answer's metadata, for the LLM processor's queue of a saturated model pool. */
  readonly modelPriority: 'critical' | 'standard' | 'sheddable';
  readonly modelWeight: number;
  readonly credentials: readonly Credential[];
  readonly rules: RuleSet;
  /** All challenges for a 401 without credentials. */
  readonly challenges: readonly string[];
  /** Headers and query parameters carrying credentials, removed before the upstream. */
  readonly carrierHeaders: readonly string[];
  readonly carrierQuery: readonly string[];
  /** An API key may come in Authorization: removed with it when a key wins (a JWT stays for the upstream). */
  readonly bearerApiKey: boolean;
  /** Its callers may get meshgate's own tokens (the token endpoint). */
  readonly issueTokens?: { readonly issuer: string; readonly audience: string; readonly ttlMs: number };
  readonly source: { readonly document: string; readonly version: string };
}

export interface CompileDeps {
  readonly jwks: JwksRegistry;
  /** Token ids revoked at the token endpoint (every jwt credential refuses them). */
  readonly revocations?: RevocationCheck;
  readonly compare?: SecretComparator;
  readonly now?: () => number;
}


function credentialOf(spec: CredentialSpec, deps: CompileDeps): Credential {
  const compare = deps.compare ?? constantTimeEqual;
  switch (spec.type) {
    case 'api_key':
      return new ApiKeyCredential(spec, compare);
    case 'basic':
      return new BasicCredential(spec, compare, deps.now);
    case 'jwt':
      return new JwtCredential(
        {
          ...spec,
          leewaySeconds: durationMs(spec.leeway) / 1000,
          jwksRefreshMs: durationMs(spec.jwks_refresh),
          jwksMinRefetchMs: durationMs(spec.jwks_min_refetch),
        },
        deps.jwks,
        deps.now,
        deps.revocations,
      );
    case 'introspection':
      return new IntrospectionCredential(
        {
          ...spec,
          leewaySeconds: durationMs(spec.leeway) / 1000,
          cacheTtlMs: durationMs(spec.cache_ttl),
          negativeCacheTtlMs: durationMs(spec.negative_cache_ttl),
          timeoutMs: durationMs(spec.timeout),
          maxConcurrency: spec.max_concurrency,
          maxWaiting: spec.max_waiting,
        },
        deps.now,
      );
    case 'anonymous':
      return new AnonymousCredential(spec);
  }
}

function compilePolicy(name: string, spec: PolicySpec, source: CompiledPolicy['source'], deps: CompileDeps): CompiledPolicy {
  const credentials = spec.credentials.map((c, i) => {
    try {
      return credentialOf(c, deps);
    } catch (err) {
      throw new Error(`policies.${name}.credentials[${i}].${(err as Error).message}`);
    }
  });
  return {
    name,
    dryRun: spec.dry_run,
    requestLog: spec.request_log,
    modelPriority: spec.model_priority,
    modelWeight: spec.model_weight,
    credentials,
    rules: spec.rules,
    challenges: credentials.map((c) => c.challenge).filter((c): c is string => !!c),
    carrierHeaders: [...new Set(credentials.flatMap((c) => c.carriers.headers))],
    carrierQuery: [...new Set(credentials.flatMap((c) => c.carriers.query))],
    bearerApiKey: credentials.some((c) => c instanceof ApiKeyCredential && c.bearer),
    ...(spec.issue_tokens ? { issueTokens: { issuer: spec.issue_tokens.issuer, audience: spec.issue_tokens.audience, ttlMs: durationMs(spec.issue_tokens.ttl) } } : {}),
    source,
  };
}

/** Throws with a reason naming the field when something validation could not see is wrong. */
export function compileDocument(doc: PolicyDocument, source: CompiledPolicy['source'], deps: CompileDeps): Map<string, CompiledPolicy> {
  const out = new Map<string, CompiledPolicy>();
  for (const [name, spec] of Object.entries(doc.policies)) out.set(name, compilePolicy(name, spec, source, deps));
  return out;
}
