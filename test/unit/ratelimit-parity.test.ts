// The differences the side-by-side run with envoyproxy/ratelimit found, each fixed to the
// reference's behaviour (read from its source: src/service/ratelimit.go, src/limiter/
// base_limiter.go, src/utils/utilities.go, src/config/config_impl.go) and pinned here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../ratelimit-service/backends/memory.js';
import { compileDomain } from '../../ratelimit-service/rules/domain.js';
import { parseRateLimitConfig, type DomainSpec } from '../../ratelimit-service/rules/schema.js';
import { RateLimiter, type LimiterOptions } from '../../ratelimit-service/service/rate-limiter.js';
import type { RlsDescriptor, RlsRequest } from '../../ratelimit-service/service/request.js';
import { decodeRateLimitRequest } from '../../ratelimit-service/service/rls-codec.js';
import { GrpcError, GrpcStatus } from '../../shared/grpc/wire.js';
import { encodeMessage } from '../../shared/proto/codec.js';
import { describeRefusal } from '../../shared/validate/result.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday noon

function spec(yaml: string): DomainSpec {
  const r = parseRateLimitConfig(yaml);
  assert.ok(r.ok, r.ok ? '' : describeRefusal(r));
  return r.value;
}

function limiter(yaml: string, options: Partial<LimiterOptions> = {}): RateLimiter {
  const d = compileDomain(spec(yaml));
  return new RateLimiter(() => new Map([[d.name, d]]), new MemoryBackend(() => T0), {
    keyPrefix: '',
    nearLimitRatio: 0.8,
    expiryJitterSeconds: 0,
    failureMode: 'open',
    globalShadowMode: false,
    now: () => T0,
    ...options,
  });
}

const one = (key: string, value: string, extra: Partial<RlsDescriptor> = {}): RlsDescriptor => ({ entries: [{ key, value }], ...extra });
const request = (domain: string, descriptors: RlsDescriptor[], hitsAddend = 0): RlsRequest => ({ domain, descriptors, hitsAddend });

const LIMIT_3 = 'domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 3, name: three-a-minute}\n';

describe('ratelimit-service answers as envoyproxy/ratelimit does', () => {
  it('names the rule in current_limit', async () => {
    const a = await limiter(LIMIT_3).shouldRateLimit(request('d', [one('k', 'v')]));
    assert.deepEqual(a.statuses[0]!.limit, { requestsPerUnit: 3, unit: 'MINUTE', name: 'three-a-minute' });
  });

  it('takes each descriptor’s hits_addend: 0 checks without counting, 5 against 3 is over', async () => {
    const l = limiter(LIMIT_3);
    for (let i = 0; i < 3; i++) assert.equal((await l.shouldRateLimit(request('d', [one('k', 'zero', { hitsAddend: 0 })]))).statuses[0]!.remaining, 3);
    const five = await l.shouldRateLimit(request('d', [one('k', 'five', { hitsAddend: 5 })]));
    assert.equal(five.statuses[0]!.code, 'OVER_LIMIT');
    // Per descriptor wins over the request's; unset, the request's (0 meaning 1).
    const mixed = await l.shouldRateLimit(request('d', [one('k', 'm1', { hitsAddend: 1 }), one('k', 'm2')], 3));
    assert.deepEqual(mixed.statuses.map((s) => s.remaining), [2, 0]);
  });

  it('knows WEEK, in the config and in Envoy’s override', async () => {
    const l = limiter('domain: d\ndescriptors: [{key: w, rate_limit: {unit: week, requests_per_unit: 1}}]');
    const a = await l.shouldRateLimit(request('d', [one('w', 'x')]));
    assert.equal(a.statuses[0]!.limit!.unit, 'WEEK');
    assert.equal(a.statuses[0]!.resetSeconds, 7 * 86_400 - (Math.floor(T0 / 1000) % (7 * 86_400)));
    const o = await l.shouldRateLimit(request('d', [one('other', 'y', { limit: { requestsPerUnit: 9, unit: 'WEEK' } })]));
    assert.deepEqual(o.statuses[0]!.limit, { requestsPerUnit: 9, unit: 'WEEK' });
    assert.equal(o.statuses[0]!.remaining, 8);
  });

  it('refuses an empty domain or descriptor list with the reference’s error', async () => {
    const l = limiter(LIMIT_3);
    await assert.rejects(l.shouldRateLimit(request('', [one('k', 'v')])), (e: GrpcError) => e.code === GrpcStatus.UNKNOWN && e.message === 'rate limit domain must not be empty');
    await assert.rejects(l.shouldRateLimit(request('d', [])), (e: GrpcError) => e.code === GrpcStatus.UNKNOWN && e.message === 'rate limit descriptor list must not be empty');
  });

  it('refuses a value that is not UTF-8 instead of folding it into another counter', () => {
    const good = encodeMessage('envoy.service.ratelimit.v3.RateLimitRequest', { domain: 'd', descriptors: [{ entries: [{ key: 'k', value: 'é' }] }] });
    assert.equal(decodeRateLimitRequest(Buffer.from(good)).descriptors[0]!.entries[0]!.value, 'é');
    const bad = Buffer.from(good);
    const at = bad.indexOf(Buffer.from('é'));
    bad[at] = 0xff; // a lone byte that starts no UTF-8 sequence
    assert.throws(() => decodeRateLimitRequest(bad), (e: GrpcError) => e.code === GrpcStatus.INTERNAL && /invalid UTF-8/.test(e.message));
  });

  it('reads the per-descriptor hits_addend off the wire, 0 included', () => {
    const bytes = encodeMessage('envoy.service.ratelimit.v3.RateLimitRequest', {
      domain: 'd',
      hits_addend: 2,
      descriptors: [{ entries: [{ key: 'k', value: 'a' }], hits_addend: 0 }, { entries: [{ key: 'k', value: 'b' }], hits_addend: 7 }, { entries: [{ key: 'k', value: 'c' }] }],
    });
    const r = decodeRateLimitRequest(Buffer.from(bytes));
    assert.deepEqual(r.descriptors.map((d) => d.hitsAddend), [0, 7, undefined]);
    assert.equal(r.hitsAddend, 2);
  });

  it('keeps each descriptor’s OVER_LIMIT under global shadow mode, and answers OK overall', async () => {
    const l = limiter(LIMIT_3, { globalShadowMode: true });
    let a;
    for (let i = 0; i < 4; i++) a = await l.shouldRateLimit(request('d', [one('k', 'v')]));
    assert.equal(a!.overall, 'OK');
    assert.equal(a!.statuses[0]!.code, 'OVER_LIMIT');
    assert.deepEqual(a!.headers, [], 'no Retry-After on an OK answer');
  });

  it('answers a limit in quota mode OK with its limit and no reset, and leaves the overall code alone', async () => {
    const l = limiter('domain: d\ndescriptors:\n  - {key: q, quota_mode: true, rate_limit: {unit: minute, requests_per_unit: 1}}\n  - {key: h, rate_limit: {unit: minute, requests_per_unit: 1}}\n');
    await l.shouldRateLimit(request('d', [one('q', 'x')]));
    const over = await l.shouldRateLimit(request('d', [one('q', 'x')]));
    assert.equal(over.overall, 'OK');
    assert.deepEqual(over.statuses[0], { code: 'OK', limit: { requestsPerUnit: 1, unit: 'MINUTE' }, remaining: 0 });
    await l.shouldRateLimit(request('d', [one('h', 'x')]));
    assert.equal((await l.shouldRateLimit(request('d', [one('q', 'x'), one('h', 'x')]))).overall, 'OVER_LIMIT', 'a normal limit still decides');
  });

  it('counts every value a share_threshold wildcard matches on one counter', async () => {
    const l = limiter('domain: d\ndescriptors:\n  - {key: file, value: "img*", share_threshold: true, rate_limit: {unit: minute, requests_per_unit: 2}}\n  - {key: path, value: "api*", rate_limit: {unit: minute, requests_per_unit: 2}}\n');
    const codes = [];
    for (const v of ['img1', 'img2', 'img3']) codes.push((await l.shouldRateLimit(request('d', [one('file', v)]))).overall);
    assert.deepEqual(codes, ['OK', 'OK', 'OVER_LIMIT'], 'shared');
    const own = [];
    for (const v of ['api1', 'api2', 'api3']) own.push((await l.shouldRateLimit(request('d', [one('path', v)]))).overall);
    assert.deepEqual(own, ['OK', 'OK', 'OK'], 'without share_threshold each value has its own counter');
  });
});

describe('ratelimit-service reads configs as the reference (YAML 1.1, yaml.v2 into its structs)', () => {
  it('takes yaml.v2’s meanings: yes is true, 010 is 8, a string field keeps the text as written', () => {
    const s = spec('domain: d\ndescriptors:\n  - key: 42\n    value: 0755\n    shadow_mode: yes\n    rate_limit: {unit: minute, requests_per_unit: 010}\n  - key: port\n    value: 8080\n');
    assert.equal(s.descriptors[0]!.key, '42');
    assert.equal(s.descriptors[0]!.value, '0755');
    assert.equal(s.descriptors[0]!.shadow_mode, true);
    assert.equal(s.descriptors[0]!.rate_limit!.requests_per_unit, 8);
    assert.equal(s.descriptors[1]!.value, '8080');
  });

  it('merges keys, lets a repeated key win last, reads only the first document, and skips empty fields', () => {
    // The anchor sits under a key the format knows (name) at the top, where it means nothing.
    const s = spec('name: &b {unit: hour, requests_per_unit: 5}\ndomain: d\ndomain: e\ndescriptors:\n  - key: a\n    rate_limit:\n      <<: *b\n      requests_per_unit: 6\n  - key: empty\n    rate_limit:\n    descriptors:\n---\ndomain: ignored\n---\n');
    assert.equal(s.domain, 'e');
    assert.deepEqual([s.descriptors[0]!.rate_limit!.unit, s.descriptors[0]!.rate_limit!.requests_per_unit], ['hour', 6]);
    assert.equal(s.descriptors[1]!.rate_limit, undefined);
    assert.deepEqual(s.descriptors[1]!.descriptors, []);
  });

  it('ignores a known key in the wrong place, and refuses an unknown one', () => {
    assert.equal(spec('domain: d\ndescriptors: [{key: a, unit: second, rate_limit: {unit: second, requests_per_unit: 1, key: x}}]').descriptors[0]!.key, 'a');
    const r = parseRateLimitConfig('domain: d\ndescriptors: [{key: a, colour: red}]');
    assert.equal(r.ok, false);
    assert.match(describeRefusal(r as { field: string; reason: string }), /unknown key 'colour'/);
  });

  it('refuses share_threshold off a wildcard, as the reference', () => {
    const r = parseRateLimitConfig('domain: d\ndescriptors: [{key: a, value: b, share_threshold: true}]');
    assert.match(describeRefusal(r as { field: string; reason: string }), /share_threshold can only be used with wildcard values/);
  });
});
