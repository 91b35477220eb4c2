// envoyproxy/ratelimit's `POST /json`: a RateLimitRequest in proto3 JSON (lowerCamelCase or
// the proto's own names, as protojson reads them), the answer in proto3 JSON as protojson writes
// it (lowerCamelCase, zero values left out), 429 when the overall code is OVER_LIMIT, 400 for
// a body that is no request or a request the service refuses.
import { UNITS, unitFromNumber, type Unit } from '../limiter/units.js';
import type { RlsAnswer, RlsDescriptor, RlsRequest } from './request.js';

type Json = Record<string, unknown>;

/** A field by its JSON name or its proto name. */
const field = (o: Json, camel: string, proto: string): unknown => (o[camel] !== undefined ? o[camel] : o[proto]);

function uint(v: unknown, what: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error(`${what}: not an unsigned integer`);
  return n;
}

function unitOf(v: unknown): Unit | undefined {
  if (typeof v === 'number') return unitFromNumber(v);
  if (typeof v === 'string') return (UNITS as readonly string[]).includes(v) ? (v as Unit) : undefined;
  return undefined;
}

function object(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: not an object`);
  return v as Json;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: not a list`);
  return v;
}

function text(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new Error(`${what}: not a string`);
  return v;
}

/** Throws when the body is not a RateLimitRequest. */
export function parseJsonRequest(body: string): RlsRequest {
  const m = object(JSON.parse(body), 'request');
  const descriptors: RlsDescriptor[] = list(m['descriptors'], 'descriptors').map((raw, i) => {
    const d = object(raw, `descriptors[${i}]`);
    const entries = list(d['entries'], `descriptors[${i}].entries`).map((e, j) => {
      const entry = object(e, `descriptors[${i}].entries[${j}]`);
      return { key: text(entry['key'], 'key'), value: text(entry['value'], 'value') };
    });
    const limit = d['limit'] === undefined || d['limit'] === null ? undefined : object(d['limit'], 'limit');
    const unit = limit ? unitOf(limit['unit']) : undefined;
    const hits = field(d, 'hitsAddend', 'hits_addend');
    return {
      entries,
      ...(limit && unit ? { limit: { requestsPerUnit: uint(field(limit, 'requestsPerUnit', 'requests_per_unit') ?? 0, 'requestsPerUnit'), unit } } : {}),
      ...(hits !== undefined && hits !== null ? { hitsAddend: uint(hits, 'hitsAddend') } : {}),
    };
  });
  return { domain: text(m['domain'], 'domain'), descriptors, hitsAddend: uint(field(m, 'hitsAddend', 'hits_addend') ?? 0, 'hitsAddend') };
}

/** The answer as protojson.Marshal writes a RateLimitResponse. */
export function jsonAnswer(a: RlsAnswer): Json {
  const statuses = a.statuses.map((s) => ({
    code: s.code,
    ...(s.limit
      ? { currentLimit: { ...(s.limit.requestsPerUnit ? { requestsPerUnit: s.limit.requestsPerUnit } : {}), unit: s.limit.unit, ...(s.limit.name ? { name: s.limit.name } : {}) } }
      : {}),
    ...(s.remaining ? { limitRemaining: s.remaining } : {}),
    ...(s.resetSeconds !== undefined ? { durationUntilReset: `${s.resetSeconds}s` } : {}),
  }));
  return {
    overallCode: a.overall,
    ...(statuses.length ? { statuses } : {}),
    ...(a.headers.length ? { responseHeadersToAdd: a.headers.map(([key, value]) => ({ key, value })) } : {}),
  };
}
