// Golden translation, case by case, in two steps (test/golden/cases/<case>/: input.yaml; the
// mesh resolved, resolved.yaml; then one output per xDS type), and proof that every resource
// survives encoding: nothing the translation wrote is silently dropped by the schema.
// test/integration/golden-envoy.test.ts feeds the same outputs to a real Envoy. Incremental
// resolution and translation caching change nothing: every case resolved and translated with a
// resolver and a cache warmed on all the other cases (their states sharing every equal service
// and entry, as successive states do) gives exactly its fresh translation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { messageNameOf, PUSH_ORDER } from '../../xds-server/xds-types.js';
import { ResolveMemo } from '../../xds-server/resolve/mesh-reader.js';
import { MeshResolver } from '../../xds-server/resolve/mesh-resolver.js';
import { TranslationCache } from '../../xds-server/translate/cache.js';
import { assertCaseGolden, assertLocalReplyGolden, assertResolvedGolden, caseNames, Interner, loadCase } from '../helpers/golden-cases.js';

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
    it(`matches the golden outputs of "${name}", resolved then translated, and encodes them losslessly`, () => {
      const golden = loadCase(name);
      const resolved = golden.resolve();
      assertResolvedGolden(name, resolved);
      const t = golden.translate(resolved);
      assertCaseGolden(name, t);
      for (const type of PUSH_ORDER) {
        for (const r of t.resources[type]) {
          assert.deepEqual(decodeMessage(messageNameOf(type), encodeMessage(messageNameOf(type), r.resource)), withoutEmptyLists(r.resource), `${type} ${r.name}`);
        }
      }
    });
  }

  it('translates every case with a resolver and a cache warmed on all the other cases exactly as fresh', () => {
    const names = caseNames();
    const intern = new Interner();
    const cases = names.map((n) => loadCase(n, {}, intern));
    // One memo for every resolver (each case has its own gateway settings), kept across all.
    const memo = new ResolveMemo(Number.POSITIVE_INFINITY);
    const cache = new TranslationCache();
    const warm = (i: number) => cases[i]!.translate(cases[i]!.resolve(new MeshResolver(cases[i]!.gateway, memo)), cache);
    for (let i = 0; i < cases.length; i++) warm(i);
    for (let i = 0; i < cases.length; i++) {
      for (let j = 0; j < cases.length; j++) if (j !== i) warm(j);
      const pieces = memo.size;
      assert.deepEqual(warm(i), loadCase(names[i]!).translate(), `${names[i]}: warmed on the others`);
      assert.equal(memo.size, pieces, `${names[i]}: resolved from what the warm resolves kept, nothing new`);
    }
  });
});
