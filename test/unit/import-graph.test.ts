// The compiled modules import each other without a cycle: each stage of the pipeline depends
// only on the stages before it.
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

  it('keeps translate/ pure: no sources, server or cache', () => {
    for (const [file, deps] of graph()) {
      if (!file.includes(`${path.sep}xds-server${path.sep}translate${path.sep}`) && !file.includes(`${path.sep}xds-server${path.sep}resolve${path.sep}`)) continue;
      for (const d of deps) assert.doesNotMatch(path.relative(repoRoot(), d), /^xds-server\/(sources|server|cache|admin)\//, `${path.relative(repoRoot(), file)} imports ${path.relative(repoRoot(), d)}`);
    }
  });
});
