// A gRPC server for one unary method Envoy calls (ext-authz's Check, ratelimit's
// ShouldRateLimit), with grpc.health.v1 beside it, on the HTTP/2 server in h2/.
//
// Why not grpc-js (or node:http2 under it): these are one unary method each, called by Envoy
// at the request rate. A constant answer on one core (bench/ext-authz.ts) gets 28.7k calls/s
// and a p99 of 59–66 ms at 10k/s on grpc-js, 115–123k calls/s and 2.1 ms here: grpc-js's per-call
// machinery costs more than the components' own work, and node:http2's native stream objects
// survive young-generation GC, so a high call rate bought a 15–25 ms mark-compact every two
// seconds — the components' whole p99 (see h2/connection.ts).
// What a unary call needs is small — one length-prefixed message in, one out, `grpc-status`
// in the trailers. grpc-js stays for everything with streams (xds-server) and for clients.
//
// Deadlines (`grpc-timeout`) are the caller's: when it gives up it resets the stream, and an
// answer for a closed stream is dropped. Compressed requests are refused (Envoy sends none).
import net from 'node:net';
import { HealthService } from './grpc-health.js';
import { GrpcError, GrpcStatus, NOT_GRPC, endWithStatus, respondOk } from './grpc-wire.js';
import { H2ServerConnection, MAX_HELD_BYTES, type ServerStream } from './h2/connection.js';

/** The largest request message accepted (grpc-js's default receive limit). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface UnaryMethod<Req> {
  /** e.g. "envoy.service.auth.v3.Authorization". */
  readonly service: string;
  readonly method: string;
  readonly decode: (bytes: Buffer) => Req;
  /** Answers with the encoded response; a rejection becomes gRPC INTERNAL. */
  readonly handle: (request: Req) => Promise<Uint8Array>;
  readonly onError?: (err: Error) => void;
}

type Unary = (message: Buffer) => Promise<Uint8Array>;

export class UnaryGrpcServer<Req> {
  private readonly server: net.Server;
  private readonly connections = new Set<H2ServerConnection>();
  private readonly unary = new Map<string, Unary>();
  private readonly health: HealthService;

  constructor(private readonly m: UnaryMethod<Req>) {
    this.health = new HealthService([m.service]);
    this.unary.set(`/${m.service}/${m.method}`, (message) => this.call(message));
    this.unary.set(HealthService.CHECK_PATH, (message) => this.health.check(message));
    this.server = net.createServer((socket) => {
      const c = new H2ServerConnection(socket, {
        maxBodyBytes: MAX_MESSAGE_BYTES + 5,
        onStream: (s) => this.onStream(s),
        ...(m.onError ? { onError: m.onError } : {}),
      });
      this.connections.add(c);
      socket.on('close', () => this.connections.delete(c));
    });
  }

  /** What grpc.health.v1 answers, for the whole server and the service. */
  setServing(serving: boolean): void {
    this.health.set(serving ? 'SERVING' : 'NOT_SERVING');
  }

  private async call(message: Buffer): Promise<Uint8Array> {
    let request: Req;
    try {
      request = this.m.decode(message);
    } catch (err) {
      throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `cannot decode the request: ${(err as Error).message}`);
    }
    try {
      return await this.m.handle(request);
    } catch (err) {
      this.m.onError?.(err as Error);
      throw err;
    }
  }

  private onStream(stream: ServerStream): void {
    const contentType = stream.header('content-type');
    if (stream.header(':method') !== 'POST' || !contentType?.startsWith('application/grpc')) {
      stream.respond(NOT_GRPC, true);
      return;
    }
    const path = stream.header(':path') ?? '';
    const unary = this.unary.get(path);
    if (!unary && path !== HealthService.WATCH_PATH) {
      endWithStatus(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    stream.onEnd = (body) => {
      const message = requestMessage(stream, body);
      if (!message) return;
      if (!unary) return this.health.watch(message, stream);
      unary(message).then(
        (answer) => respondOk(stream, answer),
        (err: Error) => endWithStatus(stream, err instanceof GrpcError ? err.code : GrpcStatus.INTERNAL, err.message),
      );
    };
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets calls in flight finish (GOAWAY), then cuts what is left. */
  close(graceMs = 1_000): Promise<void> {
    this.health.close();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        for (const c of this.connections) c.destroy();
        resolve();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(t);
        resolve();
      });
      for (const c of this.connections) c.close();
    });
  }
}

/** The request's one message, or undefined after answering why there is none. */
function requestMessage(stream: ServerStream, body: Buffer): Buffer | undefined {
  if (stream.overflowed) {
    endWithStatus(stream, GrpcStatus.RESOURCE_EXHAUSTED, `request too large: at most ${MAX_MESSAGE_BYTES} bytes each, ${MAX_HELD_BYTES} bytes of unfinished requests per connection`);
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
