// The model pools as the gateway's Envoy sees them: the processor subscribes to the xds-server
// over ADS (state of the world) for the endpoints of each model's cluster ("model~<id>"), as a
// gateway would, so the picker chooses among exactly the instances Envoy may dial — the same
// resolved view, with the same health and failover priorities, never a second reading of Consul.
// Which clusters: the models of the tables the gateway sends on its streams. A stream that ends
// is opened again after a jittered exponential back-off (as Envoy's ADS client does); until then
// the last view stays (the picker works on what it knew, Envoy re-checks every host it gets).
import * as grpc from '@grpc/grpc-js';
import { HOST_SERVICE_METADATA_KEY } from '../../shared/llm-gateway.js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { loadEnvoyProtos } from '../../shared/proto/root.js';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const EDS_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export const modelClusterName = (model: string): string => `model~${model}`;

export interface PoolEndpoint {
  /** "ip:port", as Envoy's override-host policy takes it. */
  readonly address: string;
  readonly instance: string;
  readonly service: string;
  /** 0: the model's first service; 1, 2, …: its failover services. */
  readonly priority: number;
  readonly healthy: boolean;
}

/** One ClusterLoadAssignment (proto3 JSON) → its endpoints; what cannot be read is left out. */
export function poolOf(cla: JsonObject): PoolEndpoint[] {
  const out: PoolEndpoint[] = [];
  for (const group of (cla['endpoints'] as JsonObject[] | undefined) ?? []) {
    const priority = Number(group['priority'] ?? 0);
    for (const e of (group['lb_endpoints'] as JsonObject[] | undefined) ?? []) {
      const socket = ((e['endpoint'] as JsonObject | undefined)?.['address'] as JsonObject | undefined)?.['socket_address'] as JsonObject | undefined;
      const address = socket?.['address'];
      const port = socket?.['port_value'];
      if (typeof address !== 'string' || typeof port !== 'number') continue;
      const meta = ((e['metadata'] as JsonObject | undefined)?.['filter_metadata'] as JsonObject | undefined)?.['meshgate'] as JsonObject | undefined;
      const health = e['health_status'] ?? 'UNKNOWN';
      out.push({
        address: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
        instance: String(meta?.['instance'] ?? ''),
        service: String(meta?.[HOST_SERVICE_METADATA_KEY] ?? ''),
        priority,
        healthy: health === 'HEALTHY' || health === 'UNKNOWN',
      });
    }
  }
  return out;
}

export interface PoolViewOptions {
  /** The xds-server's gRPC address. */
  readonly xds: string;
  readonly nodeId: string;
  /** At most this many model clusters are watched (the rest are balanced by Envoy alone). */
  readonly maxPools: number;
  readonly onError?: (message: string) => void;
  /** After each response that changed a pool. */
  readonly onChange?: () => void;
}

export class PoolView {
  private readonly pools = new Map<string, readonly PoolEndpoint[]>();
  private readonly wanted = new Set<string>();
  private stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  private client: grpc.Client | undefined;
  private attempt = 0;
  private closed = false;
  private lastVersion = '';
  private lastNonce = '';
  private retryTimer: NodeJS.Timeout | undefined;
  connected = false;

  constructor(private readonly o: PoolViewOptions) {
    loadEnvoyProtos(['envoy/service/discovery/v3/ads.proto', 'envoy/config/endpoint/v3/endpoint.proto']);
  }

  /** The endpoints of a model's cluster, or undefined while unknown. */
  pool(model: string): readonly PoolEndpoint[] | undefined {
    return this.pools.get(modelClusterName(model));
  }

  /** Every endpoint of every watched pool. */
  *addresses(): Iterable<string> {
    for (const pool of this.pools.values()) for (const e of pool) yield e.address;
  }

  get watched(): number {
    return this.wanted.size;
  }

  /** Watch these models' clusters too (called with each new model table). */
  watch(models: Iterable<string>): void {
    let added = false;
    for (const m of models) {
      const name = modelClusterName(m);
      if (this.wanted.has(name) || this.wanted.size >= this.o.maxPools) continue;
      this.wanted.add(name);
      added = true;
    }
    if (!added) return;
    if (!this.client) this.open();
    else this.request();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.client?.close();
  }

  private open(): void {
    this.client ??= new grpc.Client(this.o.xds, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 << 20 });
    const stream = this.client.makeBidiStreamRequest(ADS_PATH, (b: Buffer) => b, (b: Buffer) => b);
    this.stream = stream;
    this.lastVersion = '';
    this.lastNonce = '';
    let ended = false;
    const retry = (why: string): void => {
      if (ended || this.closed) return;
      ended = true;
      this.connected = false;
      this.o.onError?.(why);
      const wait = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt++);
      this.retryTimer = setTimeout(() => this.open(), wait);
    };
    stream.on('error', (err: Error) => retry(err.message));
    stream.on('end', () => retry('the xds-server ended the stream'));
    stream.on('data', (bytes: Buffer) => this.onResponse(bytes));
    this.request(true);
  }

  private request(withNode = false): void {
    const req: JsonObject = { type_url: EDS_TYPE, resource_names: [...this.wanted], version_info: this.lastVersion, response_nonce: this.lastNonce };
    if (withNode) req['node'] = { id: this.o.nodeId, cluster: 'ext-proc', user_agent_name: 'meshgate-ext-proc', metadata: { role: 'gateway' } };
    this.stream?.write(Buffer.from(encodeMessage('envoy.service.discovery.v3.DiscoveryRequest', req)));
  }

  private onResponse(bytes: Buffer): void {
    this.attempt = 0;
    this.connected = true;
    let response: JsonObject;
    try {
      response = decodeMessage('envoy.service.discovery.v3.DiscoveryResponse', bytes);
    } catch (err) {
      this.o.onError?.(`an ADS response that cannot be read: ${(err as Error).message}`);
      return;
    }
    if (response['type_url'] !== EDS_TYPE) return;
    // Endpoints are not a whole-world type: a response carries the clusters that changed.
    for (const cla of (response['resources'] as JsonObject[] | undefined) ?? []) {
      const name = String(cla['cluster_name'] ?? '');
      if (this.wanted.has(name)) this.pools.set(name, poolOf(cla));
    }
    this.o.onChange?.();
    this.lastVersion = String(response['version_info'] ?? '');
    this.lastNonce = String(response['nonce'] ?? '');
    this.request();
  }
}
