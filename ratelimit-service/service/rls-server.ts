// ratelimit-service's gRPC side: envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit
// (and grpc.health.v1).
import type { Logger } from 'pino';
import { callGauges, peerErrorReporter } from '../../shared/grpc/h2-metrics.js';
import { UnaryGrpcServer } from '../../shared/grpc/unary-server.js';
import type { H2Limits } from '../../shared/h2/limits.js';
import type { RatelimitMetrics } from '../metrics.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RlsRequest } from './request.js';
import { decodeRateLimitRequest, encodeRateLimitResponse } from './rls-codec.js';

export const RATELIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';

export function rateLimitServer(limiter: RateLimiter, metrics: RatelimitMetrics, log: Logger, limits: H2Limits): UnaryGrpcServer<RlsRequest> {
  const server = new UnaryGrpcServer<RlsRequest>({
    limits,
    onPeerError: peerErrorReporter(log, metrics.registry),
    service: RATELIMIT_SERVICE,
    method: 'ShouldRateLimit',
    decode: decodeRateLimitRequest,
    handle: async (request) => {
      const started = process.hrtime.bigint();
      const bytes = encodeRateLimitResponse(await limiter.shouldRateLimit(request));
      metrics.latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return bytes;
    },
    onError: (err) => log.error({ err }, 'ShouldRateLimit failed'),
  });
  callGauges(server, metrics.registry);
  return server;
}
