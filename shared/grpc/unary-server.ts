// A gRPC server for one unary method Envoy calls (ext-authz's Check, ratelimit's
// ShouldRateLimit), with grpc.health.v1 beside it: see server.ts.
import type { H2Limits } from '../h2/limits.js';
import type { ConnectionError, StreamError } from '../h2/errors.js';
import { GrpcServer, type CallContext } from './server.js';
import { GrpcError, GrpcStatus } from './wire.js';

export type { CallContext } from './server.js';

export interface UnaryMethod<Req> {
  /** e.g. "envoy.service.auth.v3.Authorization". */
  readonly service: string;
  readonly method: string;
  readonly decode: (bytes: Buffer) => Req;
  /** Answers with the encoded response; a GrpcError's code reaches the caller, any other rejection becomes INTERNAL. */
  readonly handle: (request: Req, call: CallContext) => Promise<Uint8Array>;
  readonly onError?: (err: Error) => void;
  /** A client broke the protocol or a bound; its connection or stream was ended for it. */
  readonly onPeerError?: (err: ConnectionError | StreamError) => void;
  readonly limits?: H2Limits;
}

export class UnaryGrpcServer<Req> extends GrpcServer {
  constructor(private readonly m: UnaryMethod<Req>) {
    super({
      services: [m.service],
      ...(m.limits ? { limits: m.limits } : {}),
      ...(m.onError ? { onError: m.onError } : {}),
      ...(m.onPeerError ? { onPeerError: m.onPeerError } : {}),
    });
    this.unary(`/${m.service}/${m.method}`, (message, call) => this.call(message, call));
  }

  private async call(message: Buffer, call: CallContext): Promise<Uint8Array> {
    let request: Req;
    try {
      request = this.m.decode(message);
    } catch (err) {
      // A decoder may say which status its refusal is (as the service it stands in for does).
      if (err instanceof GrpcError) throw err;
      throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `cannot decode the request: ${(err as Error).message}`);
    }
    try {
      return await this.m.handle(request, call);
    } catch (err) {
      if (!(err instanceof GrpcError)) this.m.onError?.(err as Error);
      throw err;
    }
  }
}
