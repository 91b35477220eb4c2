// The compiled modules import each other without a cycle, and the xds-server's pipeline runs one
// way — sources → model → resolve → translate → cache → server — each stage knowing only its
// neighbours: translate/ reads the resolved mesh only (never the model or a source), resolve/
// reads the model only, sources hand what they see to the model and never read resolve/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../launcher/repo.js';

const ROOTS = ['shared', 'xds-server', 'ext-authz', 'ratelimit-service', 'ext-proc'];
const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Each source file → the source files it imports (type-only imports count: a reader follows them too). */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of ROOTS.flatMap((r) => sources(path.join(repoRoot(), r)))) {
    const text = fs.readFileSync(file, 'utf8');
    const deps = [...text.matchAll(IMPORT)].map((m) => path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    out.set(file, deps.filter((d) => fs.existsSync(d)));
  }
  return out;
}

function findCycle(g: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of g.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of g.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('import graph', () => {
  it('has no cycle', () => {
    const g = graph();
    assert.ok(g.size > 100, 'read the sources');
    const cycle = findCycle(g);
    assert.equal(cycle, undefined, `import cycle: ${cycle?.map((f) => path.relative(repoRoot(), f)).join(' → ')}`);
  });

  /** Stage → the stages it must not import (xds-server/<stage>/). */
  const FORBIDDEN: Record<string, readonly string[]> = {
    model: ['sources', 'resolve', 'translate', 'cache', 'server', 'admin', 'transcoding'],
    sources: ['resolve', 'translate', 'cache', 'server'],
    resolve: ['sources', 'translate', 'cache', 'server', 'admin', 'transcoding'],
    translate: ['model', 'sources', 'cache', 'server', 'admin', 'transcoding'],
    cache: ['model', 'sources', 'resolve', 'server'],
  };

  for (const [stage, forbidden] of Object.entries(FORBIDDEN)) {
    it(`keeps ${stage}/ to its neighbours: none of ${forbidden.join(', ')}`, () => {
      const prefix = `xds-server${path.sep}${stage}${path.sep}`;
      let files = 0;
      for (const [file, deps] of graph()) {
        if (!path.relative(repoRoot(), file).startsWith(prefix)) continue;
        files += 1;
        for (const d of deps) {
          const rel = path.relative(repoRoot(), d);
          const to = /^xds-server\/([a-z-]+)\//.exec(rel)?.[1];
          assert.ok(!to || !forbidden.includes(to), `${path.relative(repoRoot(), file)} imports ${rel}`);
        }
      }
      assert.ok(files > 0, `read xds-server/${stage}/`);
    });
  }
});
