// A gRPC server on the HTTP/2 server in ../h2/: unary methods (the request's one message, then
// the answer), bidirectional streams (messages both ways as they come: ext_proc's Process), and
// grpc.health.v1 beside them.
//
// Why not grpc-js (or node:http2 under it): these methods are called by Envoy at the request
// rate, and grpc-js's per-call machinery costs more than the components' own work; node:http2's
// native stream objects survive young-generation GC, so a high call rate bought a mark-compact
// every two seconds (bench/RESULTS.md has the figures). grpc-js stays for the xds-server and
// for clients.
//
// Deadlines (`grpc-timeout`) are the caller's: when it gives up it resets the stream, the
// handler's CallContext says so (so queued work can be dropped), and an answer for a closed
// stream is dropped. Compressed messages are refused (Envoy sends none).
import { H2Server } from '../h2/server.js';
import type { H2Limits } from '../h2/limits.js';
import type { ConnectionError, StreamError } from '../h2/errors.js';
import { StreamState, type ServerStream } from '../h2/stream.js';
import { BidiCall, type BidiHandler } from './bidi-call.js';
import { HealthService } from './health.js';
import { GrpcError, GrpcStatus, answerNotGrpc, endWithStatus, respondOk } from './wire.js';

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** The caller gave up (reset the stream, or the connection went away) before the answer. */
  readonly cancelled: boolean;
  /** Set by the handler: called once, when the call is cancelled. */
  onCancel: (() => void) | undefined;
}

export type Unary = (message: Buffer, call: CallContext) => Promise<Uint8Array>;
/** Opens a stream's handler; `call` sends and ends, `stream` has the request's headers. */
export type BidiOpen = (call: BidiCall, stream: ServerStream) => BidiHandler;

export interface GrpcServerOptions {
  /** The services grpc.health.v1 answers for, besides the whole server (""). */
  readonly services: readonly string[];
  readonly onError?: (err: Error) => void;
  /** A client broke the protocol or a bound; its connection or stream was ended for it. */
  readonly onPeerError?: (err: ConnectionError | StreamError) => void;
  readonly limits?: H2Limits;
}

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

export class GrpcServer {
  readonly h2: H2Server;
  /** Calls being worked on (limits.maxCallsInFlight), and those refused for it since the start. */
  callsInFlight = 0;
  callsRefusedBusy = 0;
  private readonly unaries = new Map<string, Unary>();
  private readonly bidis = new Map<string, BidiOpen>();
  private readonly health: HealthService;

  constructor(options: GrpcServerOptions) {
    this.health = new HealthService(options.services);
    this.unaries.set(HealthService.CHECK_PATH, (message) => this.health.check(message));
    this.h2 = new H2Server({
      onStream: (s) => this.onStream(s),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.onPeerError ? { onPeerError: options.onPeerError } : {}),
    });
  }

  /** `path` is /package.Service/Method. */
  unary(path: string, handle: Unary): void {
    this.unaries.set(path, handle);
  }

  bidi(path: string, open: BidiOpen): void {
    this.bidis.set(path, open);
  }

  /** What grpc.health.v1 answers, for the whole server and its services. */
  setServing(serving: boolean): void {
    this.health.set(serving ? 'SERVING' : 'NOT_SERVING');
  }

  private onStream(stream: ServerStream): void {
    const { method, path } = stream.head;
    const grpc = method === 'POST' && stream.header('content-type')?.startsWith('application/grpc') === true;
    const open = this.bidis.get(path);
    if (open && grpc) {
      if (this.busy(stream)) return;
      BidiCall.start(stream, open, this.h2.limits.maxRequestBodyBytes - 5);
      return this.countUntilClosed(stream);
    }
    // Every unary answer waits for the end of the request (or its overflow), as HTTP/2 expects.
    stream.onEnd = (body) => {
      if (!grpc) return answerNotGrpc(stream, method);
      const unary = this.unaries.get(path);
      if (!unary && path !== HealthService.WATCH_PATH) return endWithStatus(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      const message = this.requestMessage(stream, body);
      if (!message) return;
      if (!unary) return this.health.watch(message, stream);
      const counted = path !== HealthService.CHECK_PATH;
      if (counted && this.busy(stream)) return;
      const call = new Call();
      stream.onClose = () => call.cancel();
      if (counted) this.countUntilClosed(stream);
      unary(message, call).then(
        (answer) => respondOk(stream, answer),
        (err: Error) => endWithStatus(stream, err instanceof GrpcError ? err.code : GrpcStatus.INTERNAL, err.message),
      );
    };
  }

  /** At the bound of calls in flight: answers RESOURCE_EXHAUSTED at once (never queues) and says so. */
  private busy(stream: ServerStream): boolean {
    const max = this.h2.limits.maxCallsInFlight;
    if (this.callsInFlight < max) return false;
    this.callsRefusedBusy += 1;
    endWithStatus(stream, GrpcStatus.RESOURCE_EXHAUSTED, `busy: ${max} calls in flight (--h2-max-calls-in-flight)`);
    return true;
  }

  /** Counts a call in until its stream closes (answered, reset, or its connection gone), after the handler's own onClose. */
  private countUntilClosed(stream: ServerStream): void {
    if (stream.state === StreamState.Closed) return; // ended while it was being set up
    this.callsInFlight += 1;
    const handlers = stream.onClose;
    stream.onClose = () => {
      this.callsInFlight -= 1;
      handlers?.();
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
