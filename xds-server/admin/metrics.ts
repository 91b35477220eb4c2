// The xds-server's Prometheus metrics, in one registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class XdsMetrics {
  readonly registry = new Registry();
  readonly connectedProxies = new Gauge({ name: 'meshgate_xds_connected_proxies', help: 'Open xDS streams', registers: [this.registry] });
  readonly pushes = new Counter({ name: 'meshgate_xds_pushes_total', help: 'xDS responses sent, by type', labelNames: ['type'], registers: [this.registry] });
  readonly pushedBytes = new Counter({ name: 'meshgate_xds_pushed_bytes_total', help: 'Bytes of xDS responses sent, by type', labelNames: ['type'], registers: [this.registry] });
  readonly acks = new Counter({ name: 'meshgate_xds_acks_total', help: 'Responses proxies accepted, by type', labelNames: ['type'], registers: [this.registry] });
  readonly nacks = new Counter({ name: 'meshgate_xds_nacks_total', help: 'Responses proxies rejected (NACK), by type', labelNames: ['type'], registers: [this.registry] });
  readonly consulWatchErrors = new Counter({
    name: 'meshgate_consul_watch_errors_total',
    help: 'Failed Consul blocking queries, by watch kind (catalog, health)',
    labelNames: ['watch'],
    registers: [this.registry],
  });
  readonly resolveSeconds = new Histogram({
    name: 'meshgate_xds_resolve_seconds',
    help: 'Time to resolve the mesh after a change (incremental: only what read a changed input)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly snapshotBuildSeconds = new Histogram({
    name: 'meshgate_xds_snapshot_build_seconds',
    help: 'Time to translate and encode one role snapshot',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly snapshots = new Counter({ name: 'meshgate_xds_snapshots_total', help: 'Snapshots that changed something', registers: [this.registry] });
  readonly services = new Gauge({ name: 'meshgate_mesh_services', help: 'Services known to the mesh model', registers: [this.registry] });
  readonly problems = new Gauge({ name: 'meshgate_mesh_problems', help: 'Refused service settings or config, currently in effect', registers: [this.registry] });
  readonly entryRefusals = new Counter({
    name: 'meshgate_config_entry_refusals_total',
    help: 'Config entries refused (invalid); the last good version keeps serving',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly entries = new Gauge({ name: 'meshgate_config_entries', help: 'Config entries in force', registers: [this.registry] });
  readonly descriptorFetches = new Counter({
    name: 'meshgate_xds_descriptor_fetches_total',
    help: 'Descriptor sets of transcoded services fetched (reflection) or read (consul), by result: ok, refused (the last good one stays), failed (could not be had)',
    labelNames: ['service', 'source', 'result'],
    registers: [this.registry],
  });
  readonly descriptors = new Gauge({ name: 'meshgate_xds_descriptors', help: 'Transcoded services with a descriptor set in force', registers: [this.registry] });
  readonly ready = new Gauge({ name: 'meshgate_xds_ready', help: '1 once the first full Consul sync is done', registers: [this.registry] });

  /**
   * One series per connected proxy (node), 1 under its worst status of all types (NACKED, then
   * STALE, then SYNCED): what the "NACKED or STALE for longer than …" alerts read. Proxies are
   * bounded by the streams the server accepts; no value a client sends becomes a label.
   */
  watchProxies(statuses: () => ReadonlyArray<{ readonly node_id: string; readonly types: Readonly<Record<string, { readonly status: string }>> }>): void {
    new Gauge({
      name: 'meshgate_xds_proxy_status',
      help: 'Connected proxies by node and sync status (the worst of their xDS types): 1',
      labelNames: ['node_id', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        const worst = new Map<string, string>();
        const rank = (s: string) => (s === 'NACKED' ? 2 : s === 'STALE' ? 1 : 0);
        for (const p of statuses()) {
          const subscribed = Object.values(p.types).map((t) => t.status).filter((s) => s !== 'NOT_SUBSCRIBED');
          const status = subscribed.reduce((a, b) => (rank(b) > rank(a) ? b : a), 'SYNCED');
          const had = worst.get(p.node_id);
          if (had === undefined || rank(status) > rank(had)) worst.set(p.node_id, status);
        }
        for (const [node, status] of worst) this.labels({ node_id: node, status }).set(1);
      },
    });
  }

  /** Each registry's state at scrape time: up, its services and instances, and troubles since the start. */
  watchRegistries(status: () => ReadonlyArray<{ readonly registry: string; readonly up: boolean; readonly services: number; readonly instances: number; readonly errors: number }>): void {
    const gauge = (name: string, help: string, value: (s: ReturnType<typeof status>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['registry'],
        registers: [this.registry],
        collect() {
          for (const s of status()) this.labels({ registry: s.registry }).set(value(s));
        },
      });
    gauge('meshgate_registry_up', 'Whether the registry answered its last watch or poll (its last view is kept while it does not)', (s) => (s.up ? 1 : 0));
    gauge('meshgate_registry_services', 'Services read from the registry', (s) => s.services);
    gauge('meshgate_registry_instances', 'Instances read from the registry', (s) => s.instances);
    new Counter({
      name: 'meshgate_registry_errors_total',
      help: 'Failed watches and polls of the registry',
      labelNames: ['registry'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of status()) this.labels({ registry: s.registry }).inc(s.errors);
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
