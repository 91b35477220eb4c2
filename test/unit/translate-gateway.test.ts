// Golden translation for the gateway role, and proof that every resource survives encoding:
// nothing the translation wrote is silently dropped by the schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { translateGateway } from '../../xds-server/translate/gateway.js';
import { messageNameOf, PUSH_ORDER } from '../../xds-server/xds-types.js';
import { assertGolden } from '../helpers/golden.js';
import { GATEWAY_FIXTURES } from '../helpers/mesh-fixtures.js';

const OPTIONS = { address: '0.0.0.0', port: 8080 };

/** proto3 does not tell an empty repeated field from an absent one. */
function withoutEmptyLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyLists);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, withoutEmptyLists(v)]),
  );
}

describe('translate: gateway role', () => {
  for (const [name, state] of Object.entries(GATEWAY_FIXTURES)) {
    it(`matches the golden file for "${name}"`, () => {
      const t = translateGateway(state, OPTIONS);
      const out = {
        notes: t.notes,
        ...Object.fromEntries(PUSH_ORDER.map((type) => [type, t.resources[type].map((r) => r.resource)])),
      };
      assertGolden(`gateway/${name}`, out);
    });

    it(`encodes every resource of "${name}" without losing a field`, () => {
      const t = translateGateway(state, OPTIONS);
      for (const type of PUSH_ORDER) {
        for (const r of t.resources[type]) {
          const roundTrip = decodeMessage(messageNameOf(type), encodeMessage(messageNameOf(type), r.resource));
          assert.deepEqual(roundTrip, withoutEmptyLists(r.resource), `${type} ${r.name}`);
        }
      }
    });
  }

  it('is pure: the same state gives the same resources', () => {
    const state = GATEWAY_FIXTURES['two-services']!;
    assert.deepEqual(translateGateway(state, OPTIONS), translateGateway(state, OPTIONS));
  });

  it('orders routes longest prefix first and reports a path claimed twice', () => {
    const t = translateGateway(GATEWAY_FIXTURES['path-conflict']!, OPTIONS);
    const routes = (t.resources.route[0]!.resource as { virtual_hosts: Array<{ routes: Array<{ match: { prefix: string }; route: { cluster: string } }> }> })
      .virtual_hosts[0]!.routes;
    assert.deepEqual(
      routes.map((r) => [r.match.prefix, r.route.cluster]),
      [
        ['/api/beta/', 'beta'],
        ['/api/', 'alpha'],
      ],
    );
    assert.deepEqual(t.notes, ['path /api/ is claimed by alpha and beta; alpha gets it']);
  });

  it('routes a service with no instances (503, not 404) and gives it an empty load assignment', () => {
    const state = { ...GATEWAY_FIXTURES['empty']!, services: new Map([['gone', { ...GATEWAY_FIXTURES['path-conflict']!.services.get('alpha')!, name: 'gone', instances: [] }]]) };
    const t = translateGateway(state, OPTIONS);
    assert.deepEqual(t.resources.endpoint[0]!.resource, { cluster_name: 'gone', endpoints: [] });
    assert.equal(t.resources.cluster[0]!.name, 'gone');
  });
});
