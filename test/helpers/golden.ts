// Golden files: expected output checked into test/golden/. `UPDATE_GOLDEN=1 npm run test:unit`
// rewrites them; review the diff before committing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../launcher/repo.js';

export function goldenPath(name: string): string {
  return path.join(repoRoot(), 'test', 'golden', `${name}.json`);
}

export function readGolden<T = unknown>(name: string): T {
  return JSON.parse(fs.readFileSync(goldenPath(name), 'utf8')) as T;
}

export function goldenNames(prefix: string): string[] {
  const dir = path.dirname(goldenPath(`${prefix}/x`));
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${prefix}/${f.replace(/\.json$/, '')}`)
    .sort();
}

export function assertGolden(name: string, actual: unknown): void {
  const file = goldenPath(name);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env['UPDATE_GOLDEN']) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert.ok(fs.existsSync(file), `golden file ${file} is missing: run with UPDATE_GOLDEN=1 and review it`);
  assert.deepEqual(actual, JSON.parse(fs.readFileSync(file, 'utf8')), `differs from ${path.relative(repoRoot(), file)}`);
}
