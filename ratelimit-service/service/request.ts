// A ShouldRateLimit request and answer in meshgate's terms (the wire form is in rls-codec.ts).
import type { Unit } from '../limiter/units.js';
import type { Code } from '../limiter/verdict.js';
import type { Entry } from '../rules/match.js';

export interface RlsDescriptor {
  readonly entries: readonly Entry[];
  /** Envoy's per-descriptor override of the limit, when its route configures one. */
  readonly limit?: { readonly requestsPerUnit: number; readonly unit: Unit };
  /** This descriptor's hits when Envoy sets them (0: check without counting); else the request's. */
  readonly hitsAddend?: number;
}

export interface RlsRequest {
  readonly domain: string;
  readonly descriptors: readonly RlsDescriptor[];
  /** 0 means 1. */
  readonly hitsAddend: number;
}

export interface DescriptorStatus {
  readonly code: Code;
  readonly limit?: { readonly requestsPerUnit: number; readonly unit: Unit; readonly name?: string };
  readonly remaining: number;
  readonly resetSeconds?: number;
}

export interface RlsAnswer {
  readonly overall: Code;
  readonly statuses: readonly DescriptorStatus[];
  /** Added to the response Envoy sends (Retry-After on a 429). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}
