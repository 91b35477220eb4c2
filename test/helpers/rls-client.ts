// ShouldRateLimit as Envoy calls it.
import { JsonGrpcClient } from './grpc-json-client.js';

export interface RlsOutput {
  overall_code: 'OK' | 'OVER_LIMIT' | 'UNKNOWN';
  statuses?: Array<{ code: string; limit_remaining?: number; current_limit?: { requests_per_unit: number; unit: string }; duration_until_reset?: string }>;
  response_headers_to_add?: Array<{ key: string; value: string }>;
}

export class RlsClient extends JsonGrpcClient<RlsOutput> {
  constructor(address: string) {
    super(address, '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit', 'envoy.service.ratelimit.v3.RateLimitRequest', 'envoy.service.ratelimit.v3.RateLimitResponse');
  }

  should(domain: string, descriptors: Array<Array<[string, string]>>, hitsAddend = 0, deadlineMs?: number): Promise<RlsOutput> {
    return this.call(
      { domain, descriptors: descriptors.map((d) => ({ entries: d.map(([key, value]) => ({ key, value })) })), ...(hitsAddend ? { hits_addend: hitsAddend } : {}) },
      deadlineMs,
    );
  }
}
