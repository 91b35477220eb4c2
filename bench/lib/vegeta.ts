// vegeta (installed by `setup.sh --bench`) at a fixed rate, open loop: requests go out on
// schedule whether or not earlier ones are answered, so latency under a given load is what a
// caller sees (wrk, closed loop, slows down with the server and hides the queue).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { toolPath } from '../../launcher/repo.js';

export interface RateResult {
  /** Requests per second sent, and answered with a 2xx. */
  readonly rate: number;
  readonly throughput: number;
  readonly success: number;
  readonly p50: number;
  readonly p99: number;
}

/** POSTs `bodyFile` to `url` at `rate`/s for `seconds`; latencies in ms. */
export function vegetaPost(url: string, bodyFile: string, rate: number, seconds: number, dir: string): RateResult {
  const targets = path.join(dir, `targets-${path.basename(bodyFile)}.txt`);
  fs.writeFileSync(targets, `POST ${url}\nContent-Type: application/json\n@${bodyFile}\n`);
  return attack(targets, rate, seconds);
}

/** GETs `url` at `rate`/s for `seconds`; latencies in ms. */
export function vegetaGet(url: string, rate: number, seconds: number, dir: string): RateResult {
  const targets = path.join(dir, `targets-get-${Buffer.from(url).toString('hex').slice(-16)}.txt`);
  fs.writeFileSync(targets, `GET ${url}\n`);
  return attack(targets, rate, seconds);
}

function attack(targets: string, rate: number, seconds: number): RateResult {
  const v = toolPath('vegeta');
  const out = execFileSync('sh', ['-c', `"${v}" attack -targets="${targets}" -rate=${rate}/s -duration=${seconds}s -timeout=10s | "${v}" report -type=json`], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const r = JSON.parse(out) as { rate: number; throughput: number; success: number; latencies: Record<string, number> };
  return { rate: r.rate, throughput: r.throughput, success: r.success, p50: r.latencies['50th']! / 1e6, p99: r.latencies['99th']! / 1e6 };
}
