// A gRPC server for one unary method Envoy calls (ext-authz's Check, ratelimit's
// ShouldRateLimit), with the gRPC health service beside it. Requests are decoded by the
// component and answers are bytes it prepared, so grpc-js does no protobuf work of its own.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

export interface UnaryMethod<Req> {
  /** e.g. "envoy.service.auth.v3.Authorization". */
  readonly service: string;
  readonly method: string;
  readonly decode: (bytes: Buffer) => Req;
  /** Answers with the encoded response; a rejection becomes gRPC INTERNAL. */
  readonly handle: (request: Req) => Promise<Buffer>;
  readonly onError?: (err: Error) => void;
}

export class UnaryGrpcServer<Req> {
  private readonly health: HealthImplementation;
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });

  constructor(private readonly m: UnaryMethod<Req>) {
    this.health = new HealthImplementation({ '': 'NOT_SERVING', [m.service]: 'NOT_SERVING' });
    const definition: grpc.ServiceDefinition = {
      [m.method]: {
        path: `/${m.service}/${m.method}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: () => {
          throw new Error('server side only');
        },
        requestDeserialize: m.decode,
        responseSerialize: (bytes: Buffer) => bytes,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    this.server.addService(definition, {
      [m.method]: (call: grpc.ServerUnaryCall<Req, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        m.handle(call.request).then(
          (bytes) => callback(null, bytes),
          (err: Error) => {
            m.onError?.(err);
            callback({ code: grpc.status.INTERNAL, details: err.message });
          },
        );
      },
    });
    this.health.addToServer(this.server);
  }

  /** What grpc.health.v1 answers, for the whole server and the service. */
  setServing(serving: boolean): void {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus(this.m.service, s);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  }

  close(graceMs = 1_000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
