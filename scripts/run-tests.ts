// Runs the test suites on node's test runner: `node dist/scripts/run-tests.js [unit|integration]`.
// Unit tests first (fast, no processes), then integration tests against real Envoy, Consul and
// Redis. Only compiled tests whose source still exists run, so a deleted test cannot linger in
// dist/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../launcher/repo.js';

const SUITES = ['unit', 'integration'] as const;
type Suite = (typeof SUITES)[number];

function testFiles(suite: Suite): string[] {
  const root = repoRoot();
  const srcDir = path.join(root, 'test', suite);
  if (!fs.existsSync(srcDir)) return [];
  return fs
    .readdirSync(srcDir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(root, 'dist', 'test', suite, f.replace(/\.ts$/, '.js')));
}

const wanted = process.argv.slice(2);
for (const w of wanted) {
  if (!SUITES.includes(w as Suite)) {
    process.stderr.write(`unknown suite ${w}; known: ${SUITES.join(', ')}\n`);
    process.exit(2);
  }
}
const suites = (wanted.length ? wanted : SUITES) as Suite[];

/**
 * Integration tests that load both cores themselves: the ones whose assertion is a deadline the
 * system must keep under a load they make (good callers answered within the gateway's 1 s
 * ext_authz timeout during a flood), and the ones whose flood starves a neighbour's start-up
 * (10,000 malformed requests at ext-authz: a gateway beside it once took more than 15 s to get
 * its first listener). They run alone, after the others.
 */
const ALONE = new Set(['ext-authz-flood.test.js', 'ext-authz-robustness.test.js']);

function runFiles(files: string[], concurrency: number): number {
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'test' },
  });
  return r.status ?? 1;
}

for (const suite of suites) {
  const files = testFiles(suite);
  if (files.length === 0) continue;
  process.stdout.write(`\n== ${suite} tests (${files.length} files) ==\n`);
  const started = Date.now();
  let status: number;
  if (suite === 'unit') status = runFiles(files, Math.max(1, os.cpus().length));
  else {
    const alone = files.filter((f) => ALONE.has(path.basename(f)));
    status = runFiles(files.filter((f) => !alone.includes(f)), 2);
    if (status === 0 && alone.length) status = runFiles(alone, 1);
  }
  process.stdout.write(`== ${suite} tests: ${status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s ==\n`);
  if (status !== 0) process.exit(status);
}
