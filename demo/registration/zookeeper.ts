// A demo instance registered in ZooKeeper the way Spring Cloud Zookeeper registers one (through
// Apache Curator's ServiceDiscovery): an ephemeral node `<base>/<service>/<uuid>` holding
// Curator's JSON ServiceInstance with Spring's ZookeeperInstance payload, so the node lives
// exactly as long as this process's session. Taken out of service the way Spring's
// ZookeeperServiceRegistry.setStatus does it: `instance_status: OUT_OF_SERVICE` in the
// metadata. Like Curator, it registers again when its session has expired.
import { randomUUID } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import type { Registration } from './registration.js';

export interface ZooKeeperRegistrationOptions {
  readonly connect: string;
  readonly basePath: string;
  readonly service: string;
  readonly instance: string;
  readonly address: string;
  readonly port: number;
  readonly meta: Readonly<Record<string, string>>;
  readonly sessionTimeoutMs?: number;
}

/** Curator's JsonInstanceSerializer output for one instance (field order as Jackson writes it). */
export function curatorJson(o: ZooKeeperRegistrationOptions, id: string, healthy: boolean, registeredAt: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      name: o.service,
      id,
      address: o.address,
      port: o.port,
      sslPort: null,
      payload: {
        '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
        id: o.instance,
        name: o.service,
        metadata: { ...o.meta, instance_status: healthy ? 'UP' : 'OUT_OF_SERVICE' },
      },
      registrationTimeUTC: registeredAt,
      serviceType: 'DYNAMIC',
      uriSpec: {
        parts: [
          { value: 'scheme', variable: true },
          { value: '://', variable: false },
          { value: 'address', variable: true },
          { value: ':', variable: false },
          { value: 'port', variable: true },
        ],
      },
    }),
  );
}

/** One node-zookeeper-client call as a promise, bounded: nothing waits on a ZooKeeper that is away for ever. */
export const zkCall = <T>(f: (cb: (err: Error | zookeeper.Exception | null, v?: T) => void) => void, timeoutMs = 5_000): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ZooKeeper did not answer within ${timeoutMs} ms`)), timeoutMs);
    f((err, v) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(v as T);
    });
  });

export async function registerInZooKeeper(o: ZooKeeperRegistrationOptions): Promise<Registration> {
  const id = randomUUID();
  const path = `${o.basePath}/${o.service}/${id}`;
  const registeredAt = Date.now();
  let healthy = true;
  let closed = false;
  let current = o;
  let client: zookeeper.Client;

  const create = async (c: zookeeper.Client): Promise<void> => {
    await zkCall<string>((cb) => c.mkdirp(`${o.basePath}/${o.service}`, cb));
    await zkCall<string>((cb) => c.create(path, curatorJson(current, id, healthy, registeredAt), zookeeper.CreateMode.EPHEMERAL, cb)).catch((err: zookeeper.Exception) => {
      if (err.getCode?.() !== zookeeper.Exception.NODE_EXISTS) throw err;
    });
  };

  const connect = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = zookeeper.createClient(o.connect, { sessionTimeout: o.sessionTimeoutMs ?? 30_000, spinDelay: 200, retries: 0 });
      client = c;
      c.once('connected', () => create(c).then(resolve, reject));
      c.on('expired', () => {
        // As Curator's ServiceDiscovery does: a new session, the same instance registered again.
        c.close();
        if (!closed) connect().catch((err: Error) => process.stderr.write(`zookeeper re-registration failed: ${err.message}\n`));
      });
      c.connect();
    });

  await connect();
  /** The node as the instance is now. */
  const write = () => zkCall((cb) => client.setData(path, curatorJson(current, id, healthy, registeredAt), -1, cb));
  return {
    async setHealthy(next) {
      healthy = next;
      await write();
    },
    async setMeta(changes) {
      const meta: Record<string, string> = { ...current.meta };
      for (const [k, v] of Object.entries(changes)) if (v === '') delete meta[k];
      else meta[k] = v;
      current = { ...current, meta };
      await write();
    },
    async deregister() {
      closed = true;
      // Removed now; and closing the session removes its ephemeral node even if that failed.
      await zkCall((cb) => client.remove(path, -1, cb), 2_000).catch(() => undefined);
      client.close();
    },
  };
}
