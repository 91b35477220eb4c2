// Where the repository and its tools are, from wherever the compiled code runs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function repoRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the meshgate repository root');
    dir = up;
  }
  return (root = dir);
}

const TOOL_ENV: Record<string, string> = {
  envoy: 'ENVOY_BIN',
  consul: 'CONSUL_BIN',
  'redis-server': 'REDIS_SERVER_BIN',
  h2spec: 'H2SPEC_BIN',
  prometheus: 'PROMETHEUS_BIN',
};

/** A tool's binary: $ENVOY_BIN / $CONSUL_BIN / $REDIS_SERVER_BIN, else .tools/bin from setup. */
export function toolPath(name: string): string {
  const envName = TOOL_ENV[name];
  // promtool comes with Prometheus: beside $PROMETHEUS_BIN when that is set.
  const fromEnv = envName ? process.env[envName] : name === 'promtool' && process.env['PROMETHEUS_BIN'] ? path.join(path.dirname(process.env['PROMETHEUS_BIN']), 'promtool') : undefined;
  const bin = fromEnv || path.join(repoRoot(), '.tools', 'bin', name);
  if (!fs.existsSync(bin)) {
    throw new Error(`${name} not found at ${bin}: run \`npm run setup\`${envName ? ` or set ${envName}` : ''}`);
  }
  return bin;
}

/** The compiled entry point of a meshgate component, e.g. dist/xds-server/main.js. */
export function distPath(...parts: string[]): string {
  return path.join(repoRoot(), 'dist', ...parts);
}
