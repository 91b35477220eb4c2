// Two processes that look for free ports at once, from the same place, never get the same one:
// a port one of them handed out is claimed for the other until the first process ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { distPath } from '../../launcher/repo.js';

function claimer(start: number): { ports: Promise<number[]>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [distPath('test', 'helpers', 'claim-ports.js'), '20'], {
    env: { ...process.env, MESHGATE_PORT_WALK_START: String(start) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ports = new Promise<number[]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
    });
    child.once('exit', (code) => reject(new Error(`claimer exited with ${code} before answering`)));
  });
  return {
    ports,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

describe('free ports across processes', () => {
  it('hands two processes walking from the same port disjoint ports, and frees them when a process ends', async () => {
    const start = 11_000 + Math.floor(Math.random() * 500);
    const a = claimer(start);
    const b = claimer(start);
    try {
      const [pa, pb] = await Promise.all([a.ports, b.ports]);
      assert.equal(pa.length, 20);
      assert.equal(pb.length, 20);
      assert.deepEqual(pa.filter((p) => pb.includes(p)), [], `shared: ${pa} / ${pb}`);
      await a.stop();
      // a's claims ended with it: a new process from the same place may take its ports again.
      const c = claimer(start);
      try {
        const pc = await c.ports;
        assert.ok(pc.some((p) => pa.includes(p)), `${pc} reuses some of ${pa}`);
        assert.deepEqual(pc.filter((p) => pb.includes(p)), [], 'but never one b still holds');
      } finally {
        await c.stop();
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
