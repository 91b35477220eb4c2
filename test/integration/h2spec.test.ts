// h2spec, the HTTP/2 conformance suite (built by the set-up step), against the running
// ext-authz and ratelimit-service: every case must pass, strict ones included. A case that
// cannot apply to a gRPC server would be listed in NOT_APPLICABLE with its reason; none is.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Component } from '../../launcher/component.js';
import { tempDir } from '../../launcher/consul-agent.js';
import { startExtAuthz } from '../../launcher/ext-authz.js';
import { freePorts } from '../../launcher/ports.js';
import { startRatelimit } from '../../launcher/ratelimit.js';
import { toolPath } from '../../launcher/repo.js';

/** h2spec cases ("section/number") that cannot apply here, with the reason. */
const NOT_APPLICABLE: ReadonlyMap<string, string> = new Map();

interface CaseResult {
  readonly id: string;
  readonly name: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  readonly detail: string;
}

function runH2spec(port: number, reportPath: string, strict: boolean): Promise<CaseResult[]> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-o', '3', '-j', reportPath, ...(strict ? ['-S'] : [])];
  return new Promise((resolve, reject) => {
    execFile(toolPath('h2spec'), args, { timeout: 120_000 }, (err) => {
      // h2spec exits non-zero when a case fails; the report says which.
      if (!fs.existsSync(reportPath)) return reject(err ?? new Error('h2spec wrote no report'));
      const xml = fs.readFileSync(reportPath, 'utf8');
      const cases: CaseResult[] = [];
      const counters = new Map<string, number>();
      for (const m of xml.matchAll(/<testcase package="([^"]+)" classname="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
        const pkg = m[1]!;
        const n = (counters.get(pkg) ?? 0) + 1;
        counters.set(pkg, n);
        const body = m[3]!;
        const outcome = body.includes('<failure') || body.includes('<error') ? 'failed' : body.includes('<skipped') ? 'skipped' : 'passed';
        cases.push({ id: `${pkg}/${n}`, name: m[2]!, outcome, detail: body.replace(/\s+/g, ' ').slice(0, 400) });
      }
      resolve(cases);
    });
  });
}

function assertConformant(cases: readonly CaseResult[], expected: number): void {
  assert.equal(cases.length, expected, `h2spec ran ${cases.length} cases`);
  const bad = cases.filter((c) => c.outcome !== 'passed' && !NOT_APPLICABLE.has(c.id));
  assert.deepEqual(
    bad.map((c) => `${c.id} ${c.name}: ${c.outcome} ${c.detail}`),
    [],
    'every h2spec case passes',
  );
}

describe('h2spec against the plug-ins', () => {
  let dir: string;
  let authz: Component | undefined;
  let ratelimit: Component | undefined;
  let authzPort: number;
  let ratelimitPort: number;

  before(async () => {
    dir = tempDir('h2spec');
    fs.writeFileSync(path.join(dir, 'policy.yaml'), 'policies:\n  open:\n    credentials: [{type: anonymous}]\n');
    fs.writeFileSync(path.join(dir, 'rl.yaml'), 'domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 5}\n');
    const [a, aAdmin, r, rAdmin] = (await freePorts(4)) as [number, number, number, number];
    authzPort = a;
    ratelimitPort = r;
    [authz, ratelimit] = await Promise.all([
      startExtAuthz({ port: a, adminPort: aAdmin, policyFiles: [path.join(dir, 'policy.yaml')], extraArgs: ['--decision-log=off'], logFile: path.join(dir, 'authz.log') }),
      startRatelimit({ port: r, adminPort: rAdmin, configPaths: [path.join(dir, 'rl.yaml')], logFile: path.join(dir, 'rl.log') }),
    ]);
  });

  after(async () => {
    await Promise.all([authz?.stop(), ratelimit?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ext-authz passes all 145 cases, and the strict set', async () => {
    assertConformant(await runH2spec(authzPort, path.join(dir, 'authz.xml'), false), 145);
    assertConformant(await runH2spec(authzPort, path.join(dir, 'authz-strict.xml'), true), 146);
    assert.ok(authz!.process.running());
  });

  it('ratelimit-service passes all 145 cases, and the strict set', async () => {
    assertConformant(await runH2spec(ratelimitPort, path.join(dir, 'rl.xml'), false), 145);
    assertConformant(await runH2spec(ratelimitPort, path.join(dir, 'rl-strict.xml'), true), 146);
    assert.ok(ratelimit!.process.running());
  });

  it('counts what the clients broke in its metrics', async () => {
    const text = await (await fetch(`${authz!.adminUrl}/metrics`)).text();
    assert.match(text, /meshgate_h2_peer_errors_total\{kind="connection",code="PROTOCOL_ERROR"\} \d+/);
    assert.match(text, /meshgate_h2_peer_errors_total\{kind="stream",code="PROTOCOL_ERROR"\} \d+/);
  });
});
