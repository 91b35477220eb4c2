// `npm run bench [name…]`: runs the benchmarks in bench/ one after another and prints their
// figures. Benchmarks measure; they never pass or fail on a number.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../launcher/repo.js';

const root = repoRoot();
const all = fs
  .readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2);
for (const w of wanted) if (!all.includes(w)) throw new Error(`no benchmark ${w}; there are: ${all.join(', ')}`);

for (const name of wanted.length ? wanted : all) {
  process.stdout.write(`\n== bench: ${name} ==\n`);
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'bench', `${name}.js`)], { stdio: 'inherit' });
  if (r.status !== 0) process.stdout.write(`(bench ${name} exited with ${r.status})\n`);
}
