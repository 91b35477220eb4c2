// The tests' own ZooKeeper client (node-zookeeper-client, not meshgate's source): it writes
// instances in Curator's format as the demo's registration does, and reads the registry back
// to say what Envoy should hold — the held-out side of every comparison.
import zookeeper from 'node-zookeeper-client';
import { curatorJson, zkCall } from '../../demo/registration/zookeeper.js';

/** Every call bounded: a test never waits on ZooKeeper for ever. */
const call = <T>(f: Parameters<typeof zkCall<T>>[0]): Promise<T> => zkCall(f, 10_000);

export interface FakeInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly meta?: Record<string, string>;
}

export class TestZooKeeper {
  private client!: zookeeper.Client;
  private closed = false;

  private constructor(
    private readonly connectString: string,
    private readonly digestAuth: string | undefined,
  ) {}

  static async connect(connect: string, digestAuth?: string): Promise<TestZooKeeper> {
    const zk = new TestZooKeeper(connect, digestAuth);
    await zk.open();
    return zk;
  }

  /** A session; when it expires (ZooKeeper restarted, a long pause) a new one, as a real client does — its ephemeral nodes are gone with the old one. */
  private open(): Promise<void> {
    const client = zookeeper.createClient(this.connectString, { sessionTimeout: 30_000, spinDelay: 200, retries: 0 });
    if (this.digestAuth) client.addAuthInfo('digest', Buffer.from(this.digestAuth));
    this.client = client;
    client.on('expired', () => {
      client.close();
      if (!this.closed) void this.open().catch(() => undefined);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not connect to ZooKeeper at ${this.connectString}`)), 10_000);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
  }

  /** An ephemeral instance node in Curator's layout, as Spring Cloud Zookeeper writes it (owned by this client's session). */
  async register(service: string, i: FakeInstance, acls?: zookeeper.ACL[]): Promise<void> {
    await call<string>((cb) => this.client.mkdirp(`/services/${service}`, cb));
    const data = this.json(service, i);
    await call<string>((cb) => (acls ? this.client.create(`/services/${service}/${i.id}`, data, acls, zookeeper.CreateMode.EPHEMERAL, cb) : this.client.create(`/services/${service}/${i.id}`, data, zookeeper.CreateMode.EPHEMERAL, cb)));
  }

  async update(service: string, i: FakeInstance): Promise<void> {
    await call((cb) => this.client.setData(`/services/${service}/${i.id}`, this.json(service, i), -1, cb));
  }

  async remove(path: string): Promise<void> {
    await call((cb) => this.client.remove(path, -1, cb));
  }

  async write(path: string, data: Buffer, mode = zookeeper.CreateMode.EPHEMERAL): Promise<void> {
    await call<string>((cb) => this.client.mkdirp(path.slice(0, path.lastIndexOf('/')), cb));
    await call<string>((cb) => this.client.create(path, data, mode, cb));
  }

  async mkdirp(path: string, acls?: zookeeper.ACL[]): Promise<void> {
    await call<string>((cb) => (acls ? this.client.mkdirp(path, acls, cb) : this.client.mkdirp(path, cb)));
  }

  /** What the registry holds of a service: address:port of every instance whose status is UP. */
  async upInstances(service: string): Promise<string[]> {
    const ids = await call<string[]>((cb) => this.client.getChildren(`/services/${service}`, cb)).catch(() => [] as string[]);
    const up: string[] = [];
    for (const id of ids) {
      const data = await call<Buffer>((cb) => this.client.getData(`/services/${service}/${id}`, cb)).catch(() => undefined);
      if (!data) continue;
      const i = JSON.parse(data.toString()) as { address: string; port: number; payload?: { metadata?: Record<string, string> } };
      if ((i.payload?.metadata?.['instance_status'] ?? 'UP') === 'UP') up.push(`${i.address}:${i.port}`);
    }
    return up.sort();
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  private json(service: string, i: FakeInstance): Buffer {
    return curatorJson({ connect: '', basePath: '/services', service, instance: i.id, address: i.address, port: i.port, meta: i.meta ?? {} }, i.id, i.healthy, Date.now());
  }
}
