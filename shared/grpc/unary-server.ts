// A gRPC server for one unary method Envoy calls (ext-authz's Check, ratelimit's
// ShouldRateLimit), with grpc.health.v1 beside it, on the HTTP/2 server in ../h2/.
//
// Why not grpc-js (or node:http2 under it): these are one unary method each, called by Envoy
// at the request rate, and grpc-js's per-call machinery costs more than the components' own
// work; node:http2's native stream objects survive young-generation GC, so a high call rate
// bought a mark-compact every two seconds (bench/RESULTS.md has the figures).
// What a unary call needs is small — one length-prefixed message in, one out, `grpc-status`
// in the trailers. grpc-js stays for everything with streams (xds-server) and for clients.
//
// Deadlines (`grpc-timeout`) are the caller's: when it gives up it resets the stream, the
// handler's CallContext says so (so queued work can be dropped), and an answer for a closed
// stream is dropped. Compressed requests are refused (Envoy sends none).
import { H2Server } from '../h2/server.js';
import type { H2Limits } from '../h2/limits.js';
import type { ConnectionError, StreamError } from '../h2/errors.js';
import type { ServerStream } from '../h2/stream.js';
import { HealthService } from './health.js';
import { GrpcError, GrpcStatus, answerNotGrpc, endWithStatus, respondOk } from './wire.js';

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** The caller gave up (reset the stream, or the connection went away) before the answer. */
  readonly cancelled: boolean;
  /** Set by the handler: called once, when the call is cancelled. */
  onCancel: (() => void) | undefined;
}

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

type Unary = (message: Buffer, call: CallContext) => Promise<Uint8Array>;

class Call implements CallContext {
  cancelled = false;
  onCancel: (() => void) | undefined = undefined;

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const f = this.onCancel;
    this.onCancel = undefined;
    f?.();
  }
}

export class UnaryGrpcServer<Req> {
  readonly h2: H2Server;
  private readonly unary = new Map<string, Unary>();
  private readonly health: HealthService;

  constructor(private readonly m: UnaryMethod<Req>) {
    this.health = new HealthService([m.service]);
    this.unary.set(`/${m.service}/${m.method}`, (message, call) => this.call(message, call));
    this.unary.set(HealthService.CHECK_PATH, (message) => this.health.check(message));
    this.h2 = new H2Server({
      onStream: (s) => this.onStream(s),
      ...(m.limits ? { limits: m.limits } : {}),
      ...(m.onError ? { onError: m.onError } : {}),
      ...(m.onPeerError ? { onPeerError: m.onPeerError } : {}),
    });
  }

  /** What grpc.health.v1 answers, for the whole server and the service. */
  setServing(serving: boolean): void {
    this.health.set(serving ? 'SERVING' : 'NOT_SERVING');
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

  /** Every answer waits for the end of the request (or its overflow), as HTTP/2 expects. */
  private onStream(stream: ServerStream): void {
    stream.onEnd = (body) => {
      const { method, path } = stream.head;
      if (method !== 'POST' || !stream.header('content-type')?.startsWith('application/grpc')) return answerNotGrpc(stream, method);
      const unary = this.unary.get(path);
      if (!unary && path !== HealthService.WATCH_PATH) return endWithStatus(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      const message = this.requestMessage(stream, body);
      if (!message) return;
      if (!unary) return this.health.watch(message, stream);
      const call = new Call();
      stream.onClose = () => call.cancel();
      unary(message, call).then(
        (answer) => respondOk(stream, answer),
        (err: Error) => endWithStatus(stream, err instanceof GrpcError ? err.code : GrpcStatus.INTERNAL, err.message),
      );
    };
  }

  /** The request's one message, or undefined after answering why there is none. */
  private requestMessage(stream: ServerStream, body: Buffer): Buffer | undefined {
    if (stream.overflowed) {
      const l = this.h2.limits;
      endWithStatus(
        stream,
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request too large: at most ${l.maxRequestBodyBytes - 5} bytes each, ${l.maxConnectionBufferedBytes} bytes of unfinished requests per connection, ${l.maxBufferedBytes} in all`,
      );
      return undefined;
    }
    if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
      endWithStatus(stream, GrpcStatus.INTERNAL, 'expected exactly one length-prefixed message');
      return undefined;
    }
    if (body[0] !== 0) {
      endWithStatus(stream, GrpcStatus.UNIMPLEMENTED, `compressed messages are not supported (grpc-encoding ${stream.header('grpc-encoding') ?? 'unset'})`);
      return undefined;
    }
    return body.subarray(5);
  }

  listen(host: string, port: number): Promise<number> {
    return this.h2.listen(host, port);
  }

  /** Stops accepting, lets calls in flight finish (GOAWAY), then cuts what is left. */
  close(graceMs = 1_000): Promise<void> {
    this.health.close();
    return this.h2.close(graceMs);
  }
}
