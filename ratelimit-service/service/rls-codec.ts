// RateLimitRequest in, RateLimitResponse out, on the protobufjs root.
import { isUtf8 } from 'node:buffer';
import protobufjs from 'protobufjs';
import type protobuf from 'protobufjs';
import { GrpcError, GrpcStatus } from '../../shared/grpc/wire.js';
import { messageType } from '../../shared/proto/root.js';
import { UNIT_NUMBER, unitFromNumber } from '../limiter/units.js';
import type { RlsAnswer, RlsDescriptor, RlsRequest } from './request.js';

let requestType: protobuf.Type | undefined;

interface RawRequest {
  domain?: string;
  hits_addend?: number;
  descriptors?: Array<{
    entries?: Array<{ key?: string; value?: string }>;
    limit?: { requests_per_unit?: number; unit?: number };
    hits_addend?: { value?: number | { toNumber(): number } };
  }>;
}

/**
 * Strings that are not UTF-8 are refused, as proto3 (and the reference's Go decoder) requires:
 * decoded lossily, two different byte strings would share one counter. The usual string is
 * ASCII and is checked byte by byte in place; only one with a high byte goes to isUtf8.
 */
class StrictUtf8Reader extends protobufjs.BufferReader {
  override string(): string {
    const len = this.uint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.len) throw new RangeError(`index out of range: ${end} > ${this.len}`);
    this.pos = end;
    const buf = this.buf as Buffer;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        if (!isUtf8(buf.subarray(start, end))) throw new GrpcError(GrpcStatus.INTERNAL, 'grpc: error unmarshalling request: string field contains invalid UTF-8');
        break;
      }
    }
    return buf.toString('utf8', start, end);
  }
}

const count = (v: number | { toNumber(): number } | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** Throws on bytes that are not a RateLimitRequest (the caller gets a gRPC error). */
export function decodeRateLimitRequest(bytes: Buffer): RlsRequest {
  requestType ??= messageType('envoy.service.ratelimit.v3.RateLimitRequest');
  const m = requestType.decode(new StrictUtf8Reader(bytes)) as unknown as RawRequest;
  const descriptors: RlsDescriptor[] = (m.descriptors ?? []).map((d) => {
    const out: { -readonly [K in keyof RlsDescriptor]: RlsDescriptor[K] } = { entries: (d.entries ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })) };
    const unit = d.limit ? unitFromNumber(d.limit.unit ?? 0) : undefined;
    if (d.limit && unit) out.limit = { requestsPerUnit: d.limit.requests_per_unit ?? 0, unit };
    // Set (even to 0: "check only"), it is this descriptor's; unset, the request's.
    if (d.hits_addend) out.hitsAddend = count(d.hits_addend.value);
    return out;
  });
  return { domain: m.domain ?? '', descriptors, hitsAddend: count(m.hits_addend) };
}

const CODE = { OK: 1, OVER_LIMIT: 2 } as const;

/**
 * RateLimitResponse written field by field (it is small, and this is the hot path):
 * overall_code=1; statuses=2 {code=1; current_limit=2 {requests_per_unit=1; unit=2; name=3};
 * limit_remaining=3; duration_until_reset=4 {seconds=1}}; response_headers_to_add=3 {key=1; value=2}.
 */
export function encodeRateLimitResponse(a: RlsAnswer): Uint8Array {
  const w = protobufjs.Writer.create();
  w.uint32(0x08).uint32(CODE[a.overall]);
  for (const s of a.statuses) {
    w.uint32(0x12).fork();
    w.uint32(0x08).uint32(CODE[s.code]);
    if (s.limit) {
      w.uint32(0x12).fork();
      if (s.limit.requestsPerUnit) w.uint32(0x08).uint32(s.limit.requestsPerUnit);
      w.uint32(0x10).uint32(UNIT_NUMBER[s.limit.unit]);
      if (s.limit.name) w.uint32(0x1a).string(s.limit.name);
      w.ldelim();
    }
    if (s.remaining) w.uint32(0x18).uint32(s.remaining);
    if (s.resetSeconds !== undefined) w.uint32(0x22).fork().uint32(0x08).int64(s.resetSeconds).ldelim();
    w.ldelim();
  }
  for (const [key, value] of a.headers) w.uint32(0x1a).fork().uint32(0x0a).string(key).uint32(0x12).string(value).ldelim();
  return w.finish(); // no copy: the transport frames it once
}
