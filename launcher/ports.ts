// Free loopback ports for the processes tests and benches start. All requested ports are held
// open together before any is released, and a process never hands out the same port twice.
//
// The ports come from below the kernel's ephemeral range (ip_local_port_range). A port the
// kernel picked for `listen(0)` lies inside it, where every outgoing connection also takes its
// local port: between our check and Envoy's bind, a connection to Redis or Consul could take
// it ("cannot bind …: Address already in use", seen in CI). Below the range, only another
// listener can. And a port one process handed out is claimed for every other one too (a lock
// file per port, holding the claimant's pid, in the machine's temp folder): two test files
// running at once, each checking that a port is free before its child binds it, could
// otherwise both take the same one. A claim ends with its process; a dead claimant's is void.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const handedOut = new Set<number>();
const CLAIMS = path.join(os.tmpdir(), 'meshgate-ports');
let claimsCleanup = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claim `port` for this process unless a live process has; true when it is ours. */
function claim(port: number): boolean {
  fs.mkdirSync(CLAIMS, { recursive: true });
  const file = path.join(CLAIMS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (!claimsCleanup) {
        claimsCleanup = true;
        process.on('exit', () => {
          for (const p of handedOut) fs.rmSync(path.join(CLAIMS, String(p)), { force: true });
        });
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (owner === process.pid || (owner > 0 && alive(owner))) return false;
      fs.rmSync(file, { force: true }); // its process is gone
    }
  }
  return false;
}

/** The ports to walk: from 10000 up to just below the ephemeral range (20000–32767 if unknown). */
function range(): [number, number] {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 12_000) return [10_000, low - 1];
  } catch {
    /* not Linux: a conventional range */
  }
  return [20_000, 32_767];
}

const [LOW, HIGH] = range();
/** Where the walk starts: at random, or (for the test of the claims) where MESHGATE_PORT_WALK_START says. */
const start = Number(process.env['MESHGATE_PORT_WALK_START']);
let next = start >= LOW && start <= HIGH ? start : LOW + Math.floor(Math.random() * (HIGH - LOW + 1));

function listenOn(port: number, host: string): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => resolve(server));
  });
}

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let tried = 0; servers.length < count; tried++) {
      if (tried > HIGH - LOW) throw new Error(`no free port left between ${LOW} and ${HIGH}`);
      const port = next;
      next = next >= HIGH ? LOW : next + 1;
      if (handedOut.has(port)) continue;
      const server = await listenOn(port, host);
      if (!server) continue;
      if (claim(port)) {
        handedOut.add(port);
        servers.push(server);
      } else server.close();
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

