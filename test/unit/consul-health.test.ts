import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsulHealthEntry } from '../../shared/consul/client.js';
import { healthOf, instanceOf } from '../../xds-server/sources/consul-health.js';

const checks = (...statuses: string[]) => statuses.map((Status, i) => ({ CheckID: `c${i}`, Status }));

describe('Consul health → Envoy health', () => {
  it('maps passing to HEALTHY, warning to DEGRADED, critical and maintenance to UNHEALTHY', () => {
    assert.equal(healthOf(checks('passing', 'passing')), 'HEALTHY');
    assert.equal(healthOf(checks('passing', 'warning')), 'DEGRADED');
    assert.equal(healthOf(checks('warning', 'critical')), 'UNHEALTHY');
    assert.equal(healthOf(checks('passing', 'maintenance')), 'UNHEALTHY');
  });

  it('treats no checks as HEALTHY and an unknown status as UNHEALTHY', () => {
    assert.equal(healthOf([]), 'HEALTHY');
    assert.equal(healthOf(checks('passing', 'bogus')), 'UNHEALTHY');
  });

  it('counts the node checks too (node maintenance takes every instance out)', () => {
    const entry: ConsulHealthEntry = {
      Node: { Node: 'n1', Address: '10.0.0.9', Meta: { zone: 'z-node' } },
      Service: { ID: 'svc-1', Service: 'svc', Address: '', Port: 80, Tags: ['b', 'a'], Meta: { protocol: 'http' }, Weights: { Passing: 5, Warning: 1 } },
      Checks: [
        { CheckID: '_node_maintenance', Status: 'critical' },
        { CheckID: 'service:svc-1', Status: 'passing', ServiceID: 'svc-1' },
      ],
    };
    const i = instanceOf(entry);
    assert.equal(i.health, 'UNHEALTHY');
    assert.equal(i.address, '10.0.0.9', 'falls back to the node address');
    assert.equal(i.zone, 'z-node');
    assert.deepEqual(i.tags, ['a', 'b']);
    assert.equal(i.weight, 5);
  });

  it('uses the warning weight for a DEGRADED instance, and never a weight below 1', () => {
    const entry: ConsulHealthEntry = {
      Node: { Node: 'n1', Address: '10.0.0.9' },
      Service: { ID: 's', Service: 's', Address: '10.1.1.1', Port: 80, Meta: { zone: 'z-svc' }, Weights: { Passing: 10, Warning: 0 } },
      Checks: checks('warning'),
    };
    const i = instanceOf(entry);
    assert.equal(i.health, 'DEGRADED');
    assert.equal(i.weight, 1);
    assert.equal(i.zone, 'z-svc');
    assert.equal(i.address, '10.1.1.1');
  });
});
