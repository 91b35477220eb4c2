// A gRPC client for ext-authz's Check, speaking proto3 JSON, as Envoy's ext_authz filter would.
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';

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

export class AuthzClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** Raw bytes in, decoded CheckResponse out (or the gRPC error). */
  callRaw(bytes: Buffer): Promise<CheckOutput> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        '/envoy.service.auth.v3.Authorization/Check',
        (b: Buffer) => b,
        (b: Buffer) => decodeMessage('envoy.service.auth.v3.CheckResponse', b) as CheckOutput,
        bytes,
        { deadline: Date.now() + 5_000 },
        (err, value) => (err ? reject(err) : resolve(value!)),
      );
    });
  }

  check(input: CheckInput): Promise<CheckOutput> {
    return this.callRaw(Buffer.from(encodeMessage('envoy.service.auth.v3.CheckRequest', checkRequest(input))));
  }

  close(): void {
    this.client.close();
  }
}

export function headerOf(out: CheckOutput, name: string): string | undefined {
  const list = out.ok_response?.headers ?? out.denied_response?.headers ?? [];
  return list.find((h) => h.header.key === name)?.header.value;
}
