// Golden translation, case by case (test/golden/cases/<case>/: input.yaml and one output per
// xDS type), and proof that every resource survives encoding: nothing the translation wrote is
// silently dropped by the schema. test/integration/golden-envoy.test.ts feeds the same outputs
// to a real Envoy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { messageNameOf, PUSH_ORDER } from '../../xds-server/xds-types.js';
import { assertCaseGolden, assertLocalReplyGolden, caseNames, loadCase } from '../helpers/golden-cases.js';

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

describe('translate: golden cases', () => {
  it('has the cases of every role', () => {
    const roles = new Set(caseNames().map((n) => loadCase(n).role));
    assert.deepEqual([...roles].sort(), ['gateway', 'proxyless', 'sidecar']);
  });

  it('matches the shared local-reply config', () => assertLocalReplyGolden());

  for (const name of caseNames()) {
    it(`matches the golden outputs of "${name}" and encodes them losslessly`, () => {
      const golden = loadCase(name);
      const t = golden.translate();
      assertCaseGolden(name, t);
      for (const type of PUSH_ORDER) {
        for (const r of t.resources[type]) {
          assert.deepEqual(decodeMessage(messageNameOf(type), encodeMessage(messageNameOf(type), r.resource)), withoutEmptyLists(r.resource), `${type} ${r.name}`);
        }
      }
    });

    it(`is pure for "${name}": the same state gives the same resources`, () => {
      const golden = loadCase(name);
      assert.deepEqual(golden.translate(), golden.translate());
    });
  }
});
