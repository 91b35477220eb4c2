// grpc.health.v1.Health (Check and Watch) for the hand-served gRPC components: what Consul's
// gRPC checks, Envoy's gRPC health checks and gRPC clients ask. One status for the server
// ("") and the services it names, as the components are either ready or not as a whole.
import protobuf from 'protobufjs';
import type { ServerStream } from '../h2/stream.js';
import { GrpcError, GrpcStatus, OK_TRAILERS, RESPONSE_HEADERS, grpcFrame } from './wire.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** HealthCheckResponse.ServingStatus values. */
const STATUS_CODE = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

/** The `service` field (1) of a HealthCheckRequest. */
function requestedService(message: Buffer): string {
  const reader = protobuf.Reader.create(message);
  let service = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 0x0a) service = reader.string();
    else reader.skipType(tag & 7);
  }
  return service;
}

const encodeStatus = (code: number): Buffer => Buffer.from(protobuf.Writer.create().uint32(0x08).int32(code).finish());

export class HealthService {
  static readonly CHECK_PATH = '/grpc.health.v1.Health/Check';
  static readonly WATCH_PATH = '/grpc.health.v1.Health/Watch';

  private status: ServingStatus = 'NOT_SERVING';
  private readonly known: ReadonlySet<string>;
  private readonly watchers = new Set<ServerStream>();

  constructor(services: readonly string[]) {
    this.known = new Set(['', ...services]);
  }

  set(status: ServingStatus): void {
    if (status === this.status) return;
    this.status = status;
    const frame = grpcFrame(encodeStatus(STATUS_CODE[status]));
    for (const w of this.watchers) w.write(frame);
  }

  async check(message: Buffer): Promise<Buffer> {
    const service = requestedService(message);
    if (!this.known.has(service)) throw new GrpcError(GrpcStatus.NOT_FOUND, `unknown service ${service}`);
    return encodeStatus(STATUS_CODE[this.status]);
  }

  /** A server stream: the status now, then each change, until the caller or close() ends it. */
  watch(message: Buffer, stream: ServerStream): void {
    if (!stream.open) return;
    const known = this.known.has(requestedService(message));
    stream.respond(RESPONSE_HEADERS, false);
    stream.write(grpcFrame(encodeStatus(known ? STATUS_CODE[this.status] : STATUS_CODE.SERVICE_UNKNOWN)));
    if (!known) return; // an unknown service stays unknown; the stream stays open as the spec asks
    this.watchers.add(stream);
    stream.onClose = () => this.watchers.delete(stream);
  }

  /** Ends every Watch stream with OK. */
  close(): void {
    for (const w of this.watchers) w.write(Buffer.alloc(0), OK_TRAILERS);
    this.watchers.clear();
  }
}
