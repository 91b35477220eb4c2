// Every connected proxy that has a stats endpoint (node metadata stats_port), registered in
// Consul with the metrics meta Prometheus' discovery reads — so every Envoy is found wherever it
// runs (a launcher, docker-compose, a hand-started sidecar) without registering itself. One
// service (`meshgate-envoy` by default), one instance per node: the node id is its ID. A TTL
// check the xds-server passes while the proxy's stream is open: a proxy gone is deregistered at
// once; an xds-server gone lets its proxies' registrations go critical and be removed by Consul.
import type { Logger } from 'pino';
import type { ConsulClient } from '../../shared/consul/client.js';
import { metricsMetaOf } from '../../shared/consul/metrics-meta.js';
import type { Role } from '../roles.js';
import { STATS_PATH } from '../translate/stats-endpoint.js';
import type { ProxyRegistry, ProxyStream } from './proxy-registry.js';

export interface ProxyMetricsRegistrarOptions {
  readonly serviceName: string;
  /** How often live registrations are confirmed (their TTL is three times this). */
  readonly intervalMs: number;
}

interface Registration {
  readonly id: string;
  readonly body: Record<string, unknown>;
  /** What the registration says, to notice a proxy that came back different. */
  readonly text: string;
}

/** "ipv4:10.0.0.7:51234", "10.0.0.7:51234", "[::1]:51234" → the address. */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  const v6 = /^\[([^\]]+)\]/.exec(p);
  if (v6) return v6[1]!;
  const colon = p.lastIndexOf(':');
  return colon > 0 ? p.slice(0, colon) : p;
}

export function proxyRegistration(stream: ProxyStream, role: Role, o: ProxyMetricsRegistrarOptions): Registration | undefined {
  if (role.kind === 'proxyless' || !role.stats) return undefined;
  const s = role.stats;
  // A stats listener on every interface is reached at the address the proxy connected from.
  const address = s.address === '0.0.0.0' || s.address === '::' ? peerAddress(stream.peer) : s.address;
  const id = `${o.serviceName}-${stream.node.id}`;
  const body = {
    id,
    name: o.serviceName,
    address,
    port: s.port,
    tags: [role.kind],
    meta: {
      ...metricsMetaOf(address, s.port, STATS_PATH),
      role: role.kind,
      node: stream.node.id,
      ...(role.kind === 'sidecar' ? { service: role.service } : {}),
      // Never routed: it is the proxies' own telemetry.
      'gateway-path': 'none',
    },
    check: { name: `${stream.node.id} xDS stream`, ttl: `${(3 * o.intervalMs) / 1000}s`, deregistercriticalserviceafter: '1m' },
  };
  return { id, body, text: JSON.stringify(body) };
}

export class ProxyMetricsRegistrar {
  private readonly registered = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** The next pass confirms every registration (the interval's), not only the new ones. */
  private confirmAll = false;

  constructor(
    private readonly consul: ConsulClient,
    private readonly registry: ProxyRegistry,
    private readonly roleOf: (key: string) => Role | undefined,
    private readonly log: Logger,
    private readonly o: ProxyMetricsRegistrarOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.confirmAll = true;
      this.changed();
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /**
   * A stream opened or closed: bring Consul in line, one pass at a time — registering the new
   * and deregistering the gone, so that a fleet reconnecting costs one call per proxy, not one
   * per proxy per stream event. Every TTL is confirmed on the interval alone.
   */
  changed(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reconcile()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'proxy registrations: Consul refused; trying again at the next change'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.changed();
        }
      });
  }

  private async reconcile(): Promise<void> {
    const confirmAll = this.confirmAll;
    this.confirmAll = false;
    const wanted = new Map<string, Registration>();
    for (const stream of this.registry.list()) {
      const role = this.roleOf(stream.roleKey);
      const r = role && proxyRegistration(stream, role, this.o);
      if (r) wanted.set(r.id, r);
    }
    const agent = this.consul.consul.agent;
    for (const [id, r] of wanted) {
      const fresh = this.registered.get(id) !== r.text;
      if (fresh) {
        await agent.service.register(r.body as never);
        this.registered.set(id, r.text);
      }
      // A TTL check starts critical: a new registration is confirmed at once.
      if (fresh || confirmAll) await agent.check.pass({ id: `service:${id}` } as never);
    }
    for (const id of [...this.registered.keys()]) {
      if (wanted.has(id)) continue;
      await agent.service.deregister(id);
      this.registered.delete(id);
    }
  }

  /** The xds-server stops: its proxies' registrations go (they reconnect to another one, which registers them). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    for (const id of this.registered.keys()) await this.consul.consul.agent.service.deregister(id).catch(() => undefined);
    this.registered.clear();
  }
}
