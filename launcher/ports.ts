// Free loopback ports for the processes tests and benches start. All requested ports are held
// open together before any is released, and a process never hands out the same port twice.
//
// The ports come from below the kernel's ephemeral range (ip_local_port_range). A port the
// kernel picked for `listen(0)` lies inside it, where every outgoing connection also takes its
// local port: between our check and Envoy's bind, a connection to Redis or Consul could take
// it ("cannot bind …: Address already in use", seen in CI). Below the range, only another
// listener can, and each process starts its walk at a random point to keep out of the way of
// the test files running beside it.
import fs from 'node:fs';
import net from 'node:net';

const handedOut = new Set<number>();

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
let next = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));

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
      if (server) servers.push(server);
    }
    const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
    for (const p of ports) handedOut.add(p);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

