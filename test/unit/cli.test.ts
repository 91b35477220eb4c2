// The meshgate command's pure parts: what an operator reads in the terminal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allSynced, formatProxyStatus } from '../../cli/proxy-status.js';
import { routeRows } from '../../cli/route-table.js';
import { validateEntries } from '../../cli/validate.js';
import type { ProxyStatus, TypeStatus } from '../../xds-server/server/proxy-registry.js';
import { buildSnapshot } from '../../xds-server/cache/snapshot.js';
import { loadCase } from '../helpers/golden-cases.js';

const synced = (v: string): TypeStatus => ({ status: 'SYNCED', latest_version: v, sent_version: v, acked_version: v, acked_at: '2026-01-01T00:00:00.000Z', last_nack: null });
const notSubscribed = (): TypeStatus => ({ status: 'NOT_SUBSCRIBED', latest_version: null, sent_version: null, acked_version: null, acked_at: null, last_nack: null });

function proxy(node: string, types: Partial<ProxyStatus['types']> = {}): ProxyStatus {
  return {
    stream_id: 1,
    node_id: node,
    cluster: 'c',
    role: 'gateway:0.0.0.0:8080',
    api: 'delta',
    user_agent: 'envoy 1.40.0',
    peer: 'ipv4:127.0.0.1:1',
    connected_at: '2026-01-01T00:00:00.000Z',
    stream_age_seconds: 1,
    types: { cluster: synced('c1'), endpoint: synced('e1'), secret: notSubscribed(), listener: synced('l1'), route: synced('r1'), ...types },
  };
}

describe('meshgate proxy-status', () => {
  it('shows every proxy per type, and a NACK with the version and Envoy\'s reason', () => {
    const nacked: TypeStatus = {
      status: 'NACKED',
      latest_version: 'r2',
      sent_version: 'r2',
      acked_version: 'r1',
      acked_at: '2026-01-01T00:00:00.000Z',
      last_nack: { version: 'r2', message: 'regex too big', at: '2026-01-01T00:00:01.000Z' },
    };
    const list = [proxy('gw-b'), proxy('gw-a', { route: nacked })];
    const out = formatProxyStatus(list);
    const lines = out.split('\n');
    assert.match(lines[0]!, /^NODE\s+ROLE\s+API\s+AGENT\s+CDS\s+EDS\s+SDS\s+LDS\s+RDS$/);
    assert.match(lines[1]!, /^gw-a\s+gateway:0\.0\.0\.0:8080\s+delta\s+envoy 1\.40\.0\s+SYNCED\s+SYNCED\s+-\s+SYNCED\s+NACKED$/);
    assert.match(lines[2]!, /^gw-b\s.*SYNCED$/);
    assert.match(out, /gw-a rejected RDS version r2 at 2026-01-01T00:00:01\.000Z: regex too big/);
    assert.equal(allSynced(list), false);
    assert.equal(allSynced([proxy('gw-b')]), true);
  });

  it('says STALE with both versions while a proxy catches up', () => {
    const stale: TypeStatus = { ...synced('e1'), status: 'STALE', latest_version: 'e2' };
    assert.match(formatProxyStatus([proxy('p', { endpoint: stale })]), /STALE \(e1 < e2\)/);
    assert.equal(formatProxyStatus([]), 'no proxies connected');
  });
});

describe('meshgate routes', () => {
  it('lists which path goes where, splits with their weights', () => {
    const snap = buildSnapshot('s', loadCase('sidecar-service-splitter').translate());
    const rows = routeRows([{ role: 'sidecar:client', routeConfigs: [...snap.types.route.resources.values()].map((r) => r.json) }]);
    const web = rows.filter((r) => r[2] === 'web');
    assert.ok(web.length >= 1, JSON.stringify(rows));
    assert.deepEqual(web.at(-1)!.slice(0, 4), ['sidecar:client', 'outbound', 'web', '/*']);
    assert.equal(web.at(-1)![4], 'v1.web 90%, v2.web 9.5%, web-dr 0.5%', 'a split shows its weights');
    const shares = [...web.at(-1)![4]!.matchAll(/(\d+(?:\.\d+)?)%/g)].map((m) => Number(m[1]));
    assert.equal(shares.reduce((a, b) => a + b, 0), 100);
  });
});

describe('meshgate validate', () => {
  it('accepts entries one per document or as a list, and names each', () => {
    const r = validateEntries('Kind: service-defaults\nName: a\n---\n- {Kind: service-splitter, Name: b, Splits: [{Weight: 100, Service: a}]}\n', 'f.yaml');
    assert.equal(r.ok, true);
    assert.deepEqual(r.lines, ['f.yaml: ok: service-defaults/a', 'f.yaml: ok: service-splitter/b']);
  });

  it('refuses a bad entry with the field and the reason, and a duplicate', () => {
    const bad = validateEntries('Kind: service-splitter\nName: b\nSplits: [{Weight: 90, Service: a}]\n', 'bad.yaml');
    assert.equal(bad.ok, false);
    assert.match(bad.lines[0]!, /^bad\.yaml: refused: .*weights must add up to 100/);
    const dup = validateEntries('Kind: service-defaults\nName: a\n---\nKind: service-defaults\nName: a\n', 'd.yaml');
    assert.equal(dup.ok, false);
    assert.match(dup.lines[0]!, /^d\.yaml: refused: \[1\] service-defaults\/a is defined twice$/);
    assert.match(validateEntries('Kind: [', 'y.yaml').lines[0]!, /not valid YAML/);
  });
});
