// envoyproxy/ratelimit's documented configuration examples (its README, "Examples" 1–9) as test
// cases: the same files, the same answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDomain, type CompiledDomain } from '../../ratelimit-service/rules/domain.js';
import { matchLimit, type Entry } from '../../ratelimit-service/rules/match.js';
import { parseRateLimitConfig } from '../../ratelimit-service/rules/schema.js';
import { EXAMPLE_7_REPLACES } from '../helpers/ratelimit-examples.js';

function domainOf(yaml: string): CompiledDomain {
  const r = parseRateLimitConfig(yaml);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return compileDomain(r.value);
}

const e = (...pairs: Array<[string, string]>): Entry[] => pairs.map(([key, value]) => ({ key, value }));

/** "unit/requests" of the limit a descriptor gets, or undefined. */
function limitOf(d: CompiledDomain, entries: Entry[]): string | undefined {
  const m = matchLimit(d, entries);
  if (!m) return undefined;
  return m.limit.unlimited ? 'unlimited' : `${m.limit.requestsPerUnit}/${m.limit.unit.toLowerCase()}`;
}

describe('envoyproxy/ratelimit examples', () => {
  it('example 1: two values of one key, 500 per second each', () => {
    const d = domainOf(`
domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit: {unit: second, requests_per_unit: 500}
  - key: database
    value: default
    rate_limit: {unit: second, requests_per_unit: 500}
`);
    assert.equal(limitOf(d, e(['database', 'users'])), '500/second');
    assert.equal(limitOf(d, e(['database', 'default'])), '500/second');
    assert.equal(limitOf(d, e(['database', 'other'])), undefined);
    assert.equal(matchLimit(d, e(['database', 'users']))!.limit.statsKey, 'database_users');
  });

  it('example 2: nested descriptors and a key without a value', () => {
    const d = domainOf(`
domain: messaging
descriptors:
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        rate_limit: {unit: day, requests_per_unit: 5}
  - key: to_number
    rate_limit: {unit: day, requests_per_unit: 100}
`);
    assert.equal(limitOf(d, e(['message_type', 'marketing'], ['to_number', '2061111111'])), '5/day');
    assert.equal(limitOf(d, e(['message_type', 'marketing'], ['to_number', '2062222222'])), '5/day');
    assert.equal(limitOf(d, e(['to_number', '2061111111'])), '100/day');
    assert.equal(limitOf(d, e(['message_type', 'marketing'])), undefined, 'a placeholder level has no limit');
    assert.equal(matchLimit(d, e(['message_type', 'marketing'], ['to_number', '1']))!.limit.statsKey, 'message_type_marketing.to_number');
  });

  it('example 3: the most specific match at the same level wins', () => {
    const d = domainOf(`
domain: edge_proxy_per_ip
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 10}
  - key: remote_address
    value: 50.0.0.5
    rate_limit: {unit: second, requests_per_unit: 0}
`);
    assert.equal(limitOf(d, e(['remote_address', '50.0.0.1'])), '10/second');
    assert.equal(limitOf(d, e(['remote_address', '50.0.0.5'])), '0/second');
  });

  it('example 4: the request depth must match the configuration depth', () => {
    const shallow = domainOf(`
domain: example4
descriptors:
  - key: key
    value: value
    rate_limit: {requests_per_unit: 300, unit: second}
`);
    assert.equal(limitOf(shallow, e(['key', 'value'], ['subkey', 'subvalue'])), undefined);
    const deep = domainOf(`
domain: example4
descriptors:
  - key: key
    value: value
    descriptors:
      - key: subkey
        rate_limit: {requests_per_unit: 300, unit: second}
`);
    assert.equal(limitOf(deep, e(['key', 'value'], ['subkey', 'subvalue'])), '300/second');
  });

  it('example 5: unlimited descriptors', () => {
    const d = domainOf(`
domain: internal
descriptors:
  - key: ldap
    rate_limit: {unlimited: true}
  - key: azure
    rate_limit: {unit: minute, requests_per_unit: 100}
`);
    assert.equal(limitOf(d, e(['ldap', 'x'])), 'unlimited');
    assert.equal(limitOf(d, e(['azure', 'x'])), '100/minute');
  });

  it('example 6: shadow mode per value', () => {
    const d = domainOf(`
domain: example6
descriptors:
  - key: service
    descriptors:
      - key: user
        value: user-a
        rate_limit: {requests_per_unit: 10, unit: second}
        shadow_mode: true
      - key: user
        value: user-b
        rate_limit: {requests_per_unit: 20, unit: second}
`);
    assert.equal(matchLimit(d, e(['service', 'auth-service'], ['user', 'user-a']))!.limit.shadowMode, true);
    assert.equal(matchLimit(d, e(['service', 'auth-service'], ['user', 'user-b']))!.limit.shadowMode, false);
    assert.equal(limitOf(d, e(['service', 'auth-service'], ['user', 'user-b'])), '20/second');
  });

  it('example 7: replaces names the limit it replaces', () => {
    const d = domainOf(EXAMPLE_7_REPLACES);
    const a = matchLimit(d, e(['key_1', 'value_1'], ['user', 'bkthomps']))!.limit;
    const b = matchLimit(d, e(['key_2', 'value_2'], ['user', 'bkthomps']))!.limit;
    assert.equal(a.name, 'specific_limit');
    assert.deepEqual(b.replaces, ['specific_limit']);
  });

  it('example 8: detailed_metric puts the unlisted value in the metric name', () => {
    const d = domainOf(`
domain: example8
descriptors:
  - key: key1
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: key1
    value: value1
    rate_limit: {unit: minute, requests_per_unit: 20}
`);
    assert.deepEqual(matchLimit(d, e(['key1', 'unspecified_value'])), { limit: matchLimit(d, e(['key1', 'x']))!.limit, detailedValue: 'unspecified_value', sharedValues: undefined });
    assert.equal(matchLimit(d, e(['key1', 'value1']))!.detailedValue, undefined);
    assert.equal(limitOf(d, e(['key1', 'value1'])), '20/minute');
  });

  it('example 9: a value ending in * matches by prefix', () => {
    const d = domainOf(`
domain: example9
descriptors:
  - key: key1
    value: value*
    rate_limit: {unit: minute, requests_per_unit: 20}
`);
    assert.equal(limitOf(d, e(['key1', 'value_1'])), '20/minute');
    assert.equal(limitOf(d, e(['key1', 'value_2'])), '20/minute');
    assert.equal(limitOf(d, e(['key1', 'other'])), undefined);
  });

  it('prefers key_value, then a wildcard, then the key alone, at nested levels too', () => {
    const d = domainOf(`
domain: order
descriptors:
  - key: route
    descriptors:
      - key: model
        value: gpt-4
        rate_limit: {unit: minute, requests_per_unit: 1}
      - key: model
        value: gpt*
        rate_limit: {unit: minute, requests_per_unit: 2}
      - key: model
        rate_limit: {unit: minute, requests_per_unit: 3}
`);
    assert.equal(limitOf(d, e(['route', 'r'], ['model', 'gpt-4'])), '1/minute');
    assert.equal(limitOf(d, e(['route', 'r'], ['model', 'gpt-3'])), '2/minute');
    assert.equal(limitOf(d, e(['route', 'r'], ['model', 'llama'])), '3/minute');
  });
});

describe('rate limit config validation', () => {
  const reason = (yaml: string): string => {
    const r = parseRateLimitConfig(yaml);
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };

  it('names the field of every problem, as the reference refuses them', () => {
    assert.match(reason('descriptors: []'), /domain: /);
    assert.match(reason('domain: ""'), /domain: config file cannot have empty domain/);
    assert.match(reason('domain: d\ndescriptors: [{key: ""}]'), /descriptors\[0\]\.key: descriptor has empty key/);
    assert.match(reason('domain: d\ndescriptors: [{key: a, rate_limit: {unit: fortnight, requests_per_unit: 1}}]'), /descriptors\[0\]\.rate_limit\.unit: invalid rate limit unit 'fortnight'/);
    assert.match(reason('domain: d\ndescriptors: [{key: a, rate_limit: {unlimited: true, unit: second}}]'), /should not specify rate limit unit when unlimited/);
    assert.match(reason('domain: d\ndescriptors: [{key: a, value: b}, {key: a, value: b}]'), /descriptors\[1\]: duplicate descriptor composite key 'a_b'/);
    assert.match(reason('domain: d\ndescriptors: [{key: a, rate_limit: {unit: second, requests_per_unit: 1, name: n, replaces: [{name: n}]}}]'), /replaces should not contain name of same descriptor/);
    assert.match(reason('domain: d\ndescriptors: [{key: a, ratelimit: {}}]'), /config error, unknown key 'ratelimit'/);
    assert.match(reason('domain: d\ndescriptors: [{key: a, descriptors: [{key: b, rate_limit: {unit: second, requests_per_unit: -1}}]}]'), /descriptors\[0\]\.descriptors\[0\]\.rate_limit\.requests_per_unit/);
  });

  it('accepts units in any case, and the sliding window algorithm', () => {
    const r = parseRateLimitConfig('domain: d\ndescriptors: [{key: a, rate_limit: {unit: MINUTE, requests_per_unit: 1, algorithm: sliding_window}}]');
    assert.ok(r.ok);
    assert.equal(compileDomain(r.value).limits[0]!.algorithm, 'sliding_window');
  });
});
