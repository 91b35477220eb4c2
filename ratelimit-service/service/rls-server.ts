// The gRPC server Envoy's ratelimit filter calls (envoy.service.ratelimit.v3.RateLimitService/
// ShouldRateLimit), with the gRPC health service beside it.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { RatelimitMetrics } from '../metrics.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RlsRequest } from './request.js';
import { decodeRateLimitRequest, encodeRateLimitResponse } from './rls-codec.js';

export const RATELIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';

const definition: grpc.ServiceDefinition = {
  ShouldRateLimit: {
    path: `/${RATELIMIT_SERVICE}/ShouldRateLimit`,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => {
      throw new Error('server side only');
    },
    requestDeserialize: decodeRateLimitRequest,
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

export class RateLimitServer {
  readonly health = new HealthImplementation({ '': 'NOT_SERVING', [RATELIMIT_SERVICE]: 'NOT_SERVING' });
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });

  constructor(limiter: RateLimiter, metrics: RatelimitMetrics, log: Logger) {
    this.server.addService(definition, {
      ShouldRateLimit: (call: grpc.ServerUnaryCall<RlsRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const started = process.hrtime.bigint();
        limiter.shouldRateLimit(call.request).then(
          (answer) => {
            callback(null, encodeRateLimitResponse(answer));
            metrics.latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
          },
          (err: Error) => {
            log.error({ err }, 'ShouldRateLimit failed');
            callback({ code: grpc.status.INTERNAL, details: err.message });
          },
        );
      },
    });
    this.health.addToServer(this.server);
  }

  setServing(serving: boolean): void {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus(RATELIMIT_SERVICE, s);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1_000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
