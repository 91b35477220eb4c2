// The one validation vocabulary: every component reads durations and header names the same way
// and refuses them with the same words, naming the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyDocument } from '../../ext-authz/policy/schema.js';
import { parseRateLimitConfig } from '../../ratelimit-service/rules/schema.js';
import { parseConfigEntries } from '../../xds-server/model/config-entries/schema.js';
import { serviceSettings } from '../../xds-server/model/service-settings.js';
import { checkDuration, parseDuration } from '../../shared/validate/duration.js';
import { checkHeaderName } from '../../shared/validate/names.js';
import { describeRefusal, type Checked } from '../../shared/validate/result.js';

const refusal = (r: Checked<unknown>): string => {
  assert.equal(r.ok, false, 'should be refused');
  return describeRefusal(r as { field: string; reason: string });
};

describe('validation vocabulary', () => {
  it('reads durations in ms, s, m and h', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    for (const bad of ['', '5', '5 sec', '-1s', '1d', 's']) assert.equal(parseDuration(bad), undefined, bad);
    assert.equal(refusal(checkDuration('--debounce', 'soon')), '--debounce: "soon" is not a duration like "250ms", "30s", "2m" or "1h"');
  });

  it('refuses header names the gateway would drop or that are not tokens', () => {
    assert.deepEqual(checkHeaderName('header', 'x-api-key'), { ok: true, value: 'x-api-key' });
    assert.match(refusal(checkHeaderName('header', 'x_api_key')), /^header: "x_api_key" has "_": the gateway drops request headers with underscores.*use "x-api-key"/);
    assert.match(refusal(checkHeaderName('header', 'X-Api-Key')), /must be lower case/);
    assert.match(refusal(checkHeaderName('header', 'x api')), /is not an HTTP header name/);
  });

  it('is the same in ext-authz policies, config entries, service meta and rate-limit config', () => {
    const policy = parsePolicyDocument('policies: {p: {credentials: [{type: api_key, header: x_api_key, keys: [{id: a, sha256: ' + 'a'.repeat(64) + ', subject: a}]}]}}');
    assert.match(refusal(policy), /policies\.p\.credentials\[0\]\.header: "x_api_key" has "_": the gateway drops request headers with underscores/);
    const policyDuration = parsePolicyDocument('policies: {p: {credentials: [{type: jwt, issuer: x, audiences: [a], algorithms: [RS256], jwks_uri: "https://idp/", leeway: 1d}]}}');
    assert.match(refusal(policyDuration), /leeway: must be a duration like "250ms", "30s", "2m" or "1h"/);

    const entry = parseConfigEntries('Kind: service-router\nName: web\nRoutes: [{Match: {HTTP: {Header: [{Name: x_tenant, Exact: a}]}}}]');
    assert.match(refusal(entry), /Routes\[0\]\.Match\.HTTP\.Header\[0\]\.Name: "x_tenant" has "_"/);
    const entryDuration = parseConfigEntries('Kind: service-resolver\nName: web\nConnectTimeout: 5 seconds');
    assert.match(refusal(entryDuration), /ConnectTimeout: must be a duration like "250ms", "30s", "2m" or "1h"/);

    assert.match(refusal(serviceSettings('s', { 'rate-limits': 'header:x_user' })), /^meta "rate-limits": "x_user" has "_"/);
    assert.equal(refusal(serviceSettings('s', { timeout: '1d' })), 'meta "timeout": "1d" is not a duration like "250ms", "30s", "2m" or "1h"');

    assert.match(refusal(parseRateLimitConfig('domain: [')), /error loading config file/);
  });
});
