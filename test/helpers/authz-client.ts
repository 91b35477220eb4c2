// A gRPC client for ext-authz's Check, speaking proto3 JSON, as Envoy's ext_authz filter would.
import type { JsonObject } from '../../shared/proto/codec.js';
import { JsonGrpcClient } from './grpc-json-client.js';

export interface CheckInput {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly policy?: string;
  readonly requestId?: string;
}

export interface CheckOutput {
  readonly status?: { code?: number; message?: string };
  readonly ok_response?: {
    headers?: Array<{ header: { key: string; value: string } }>;
    headers_to_remove?: string[];
    query_parameters_to_remove?: string[];
  };
  readonly denied_response?: { status: { code: string }; headers?: Array<{ header: { key: string; value: string } }>; body?: string };
  readonly dynamic_metadata?: Record<string, string>;
}

export function checkRequest(input: CheckInput): JsonObject {
  return {
    attributes: {
      request: {
        http: {
          id: input.requestId ?? 'req-1',
          method: input.method ?? 'GET',
          path: input.path ?? '/',
          headers: { ':path': input.path ?? '/', ':method': input.method ?? 'GET', ...(input.headers ?? {}) },
        },
      },
      ...(input.policy !== undefined ? { context_extensions: { policy: input.policy } } : {}),
    },
  };
}

export class AuthzClient extends JsonGrpcClient<CheckOutput> {
  constructor(address: string) {
    super(address, '/envoy.service.auth.v3.Authorization/Check', 'envoy.service.auth.v3.CheckRequest', 'envoy.service.auth.v3.CheckResponse');
  }

  check(input: CheckInput): Promise<CheckOutput> {
    return this.call(checkRequest(input));
  }
}

