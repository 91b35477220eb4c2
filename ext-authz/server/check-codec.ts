// CheckRequest in, CheckResponse out, on the protobufjs root. Allowed answers are encoded once
// per identity and policy and reused; only denials with new reasons are encoded afresh.
import type protobuf from 'protobufjs';
import { messageType } from '../../shared/proto/root.js';
import type { Decision } from '../authorize.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { identityFacts, type Identity, type IdentityHeaderNames, IDENTITY_FIELDS } from '../identity.js';
import { attributesOf, type CheckAttributes } from '../request.js';

const RPC_OK = 0;
const RPC_PERMISSION_DENIED = 7;
const RPC_UNAUTHENTICATED = 16;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

/** A request that could not be read is denied like any other bad request. */
export const MALFORMED: CheckAttributes = Object.freeze({
  method: '',
  path: '',
  query: '',
  headers: {},
  requestId: '',
  policy: undefined,
  route: undefined,
  source: '',
});

let requestType: protobuf.Type | undefined;
let responseType: protobuf.Type | undefined;

interface RawCheckRequest {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } } };
    context_extensions?: Record<string, string>;
    request?: { http?: { id?: string; method?: string; path?: string; headers?: Record<string, string> } };
  };
}

export function decodeCheckRequest(bytes: Buffer): CheckAttributes {
  requestType ??= messageType('envoy.service.auth.v3.CheckRequest');
  let m: RawCheckRequest;
  try {
    m = requestType.decode(bytes) as unknown as RawCheckRequest;
  } catch {
    return MALFORMED;
  }
  const http = m.attributes?.request?.http;
  const headers = http?.headers ?? {};
  return attributesOf(
    http?.method ?? '',
    http?.path ?? '',
    headers,
    m.attributes?.context_extensions ?? {},
    headers['x-request-id'] ?? http?.id ?? '',
    m.attributes?.source?.address?.socket_address?.address ?? '',
  );
}

function header(key: string, value: string): Record<string, unknown> {
  return { header: { key, value }, append_action: OVERWRITE_IF_EXISTS_OR_ADD };
}

function struct(values: Record<string, string>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { string_value: v }])) };
}

function encode(response: Record<string, unknown>): Buffer {
  responseType ??= messageType('envoy.service.auth.v3.CheckResponse');
  return Buffer.from(responseType.encode(response as never).finish());
}

export class CheckResponses {
  private readonly allowed = new WeakMap<Identity, Map<string, Buffer>>();
  private readonly denied = new Map<string, Buffer>();
  private anonymousAllow = new Map<string, Buffer>();

  constructor(private readonly names: IdentityHeaderNames) {}

  /** Every identity header, so a caller's own copies never survive (defense in depth). */
  get identityHeaderNames(): string[] {
    return IDENTITY_FIELDS.map((f) => this.names[f]);
  }

  encode(decision: Decision): Buffer {
    return decision.allowed ? this.allow(decision) : this.deny(decision);
  }

  private allow(d: Extract<Decision, { allowed: true }>): Buffer {
    const policy = d.policy;
    const key = `${policy.name}\u0000${policy.source.version}`;
    // The credential that won leaves with its carriers; an API key that came as a bearer token takes Authorization along.
    const headers = d.identity?.credential === 'api_key' && policy.bearerApiKey ? [...policy.carrierHeaders, 'authorization'] : policy.carrierHeaders;
    if (d.identity && !d.wouldDeny) {
      let byPolicy = this.allowed.get(d.identity);
      if (!byPolicy) this.allowed.set(d.identity, (byPolicy = new Map()));
      let bytes = byPolicy.get(key);
      if (!bytes) byPolicy.set(key, (bytes = this.encodeAllow(policy, d.identity, headers)));
      return bytes;
    }
    if (!d.identity) {
      let bytes = this.anonymousAllow.get(key);
      if (!bytes) this.anonymousAllow.set(key, (bytes = this.encodeAllow(policy, undefined, headers)));
      return bytes;
    }
    return this.encodeAllow(policy, d.identity, headers);
  }

  private encodeAllow(policy: CompiledPolicy, identity: Identity | undefined, carrierHeaders: readonly string[]): Buffer {
    const facts = identity ? identityFacts(identity) : {};
    const set = IDENTITY_FIELDS.filter((f) => facts[f] !== undefined);
    const unset = IDENTITY_FIELDS.filter((f) => facts[f] === undefined).map((f) => this.names[f]);
    return encode({
      status: { code: RPC_OK },
      ok_response: {
        headers: set.map((f) => header(this.names[f], facts[f]!)),
        headers_to_remove: [...unset, ...carrierHeaders],
        query_parameters_to_remove: [...policy.carrierQuery],
      },
      dynamic_metadata: struct({
        ...(facts as Record<string, string>),
        policy: policy.name,
        ...(policy.requestLog ? { request_log: 'on' } : {}),
        // The defaults go unsaid (the processor assumes them): the common answer stays as it was.
        ...(policy.modelPriority !== 'standard' ? { model_priority: policy.modelPriority } : {}),
        ...(policy.modelWeight !== 1 ? { model_weight: String(policy.modelWeight) } : {}),
      }),
    });
  }

  private deny(d: Extract<Decision, { allowed: false }>): Buffer {
    const key = `${d.status}\u0000${d.reason}\u0000${d.challenges.join('\u0001')}`;
    let bytes = this.denied.get(key);
    if (!bytes) {
      bytes = encode({
        status: { code: d.status === 401 ? RPC_UNAUTHENTICATED : RPC_PERMISSION_DENIED, message: d.reason },
        denied_response: {
          status: { code: d.status },
          headers: [
            header('content-type', 'text/plain; charset=utf-8'),
            ...d.challenges.map((c) => ({ header: { key: 'www-authenticate', value: c }, append_action: 0 })),
          ],
          // The gateway wraps this in its JSON error shape (local reply mapping).
          body: d.reason,
        },
      });
      if (this.denied.size > 1_000) this.denied.clear();
      this.denied.set(key, bytes);
    }
    return bytes;
  }
}
