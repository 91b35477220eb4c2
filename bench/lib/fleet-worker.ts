// A slice of a simulated fleet: lightweight ADS clients, each a sidecar of one service (node
// metadata as envoy/sidecar.yaml sets it) or an edge gateway, each on its own HTTP/2
// connection like a real proxy. They subscribe as Envoy does (clusters and listeners by
// wildcard, then the endpoints of every EDS cluster and the routes), ACK every response, and
// when a stream ends they open a new one after a fully jittered exponential back-off, as
// Envoy's ADS client does (base 500 ms, at most 30 s). They report on stdout (JSON lines):
//   {"t":"synced","c":i,"r":n}           client i has all four types (n: reconnects so far)
//   {"t":"hot","c":i,"n":name,"at":ms,"b":n}  client i got a watched resource (wall clock ms; n
//                                        bytes in that response)
//   {"t":"error","c":i,"m":"..."}        its stream failed
// Run by bench/fleet.ts: node dist/bench/lib/fleet-worker.js '<json config>'
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { encodeDeltaDiscoveryRequest } from '../../xds-server/server/delta-codec.js';
import { encodeDiscoveryRequest } from '../../xds-server/server/discovery-codec.js';
import { TYPE_URLS, xdsTypeOf, type XdsType } from '../../xds-server/xds-types.js';
import { serviceName, type WorkerConfig } from './fleet-config.js';


const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const now = (): number => performance.timeOrigin + performance.now();

let out: string[] = [];
function report(line: object): void {
  if (out.length === 0) setImmediate(() => {
    process.stdout.write(out.join(''));
    out = [];
  });
  out.push(`${JSON.stringify(line)}\n`);
}

/** The first field `n` of a message, read by `read`. */
function firstField<T>(bytes: Uint8Array, n: number, read: (r: protobuf.Reader) => T): T | undefined {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === n) return read(r);
    r.skipType(tag & 7);
  }
  return undefined;
}

/** A resource's name is field 1 of Cluster, ClusterLoadAssignment, Listener and RouteConfiguration alike. */
const nameInAny = (any: Uint8Array): string => {
  const value = firstField(any, 2, (r) => r.bytes()) ?? new Uint8Array();
  return firstField(value, 1, (r) => r.string()) ?? '';
};
/** Delta's Resource{name=3}. */
const nameInResource = (resource: Uint8Array): string => firstField(resource, 3, (r) => r.string()) ?? '';

interface Parsed {
  version: string;
  typeUrl: string;
  nonce: string;
  names: string[];
}

/** (Delta)DiscoveryResponse{version=1, resources=2, type_url=4, nonce=5}: the same field numbers in both. */
function parseResponse(bytes: Buffer, nameOf: (resource: Uint8Array) => string): Parsed {
  const r = protobuf.Reader.create(bytes);
  const p: Parsed = { version: '', typeUrl: '', nonce: '', names: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: p.version = r.string(); break;
      case 2: p.names.push(nameOf(r.bytes())); break;
      case 4: p.typeUrl = r.string(); break;
      case 5: p.nonce = r.string(); break;
      default: r.skipType(tag & 7);
    }
  }
  return p;
}

const path = config.api === 'sotw'
  ? '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources'
  : '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** Envoy's gRPC mux retry: a random wait in [0, min(30 s, 500 ms × 2^attempt)). */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

function startClient(i: number): void {
  const service = serviceName(i % config.services);
  const instance = Math.floor(i / config.services);
  const node =
    config.role === 'sidecar'
      ? {
          id: `${service}-${instance}-sidecar`,
          cluster: service,
          user_agent_name: 'meshgate-fleet-bench',
          metadata: { role: 'sidecar', service, app_port: 8080, inbound_port: 15000, outbound_port: 15001 },
        }
      : { id: `gateway-${i}`, cluster: 'gateway', user_agent_name: 'meshgate-fleet-bench', metadata: { role: 'gateway', gateway_port: 8080 } };
  const routeNames = [config.role === 'sidecar' ? 'outbound' : 'gateway_routes'];
  // One connection per client, like one Envoy each: no subchannel sharing between them.
  const client = new grpc.Client(config.xds, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 << 20,
    // The client's own back-off is ours (below); the channel should just dial when asked.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
  });
  let reconnects = 0;
  let attempt = 0;
  const open = (): void => {
    const stream = client.makeBidiStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b);
    let ended = false;
    const retry = (why: string): void => {
      if (ended) return;
      ended = true;
      report({ t: 'error', c: i, m: why.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').replace(/ \(\d{4}-[^)]*\)/g, '').replace(/ Resolution note: ?$/, '') });
      const wait = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt++);
      reconnects++;
      setTimeout(open, wait);
    };
    stream.on('error', (err: Error) => retry(err.message));
    stream.on('end', () => retry('stream ended'));
    subscribe(stream, () => (attempt = 0));
  };
  const subscribe = (stream: grpc.ClientDuplexStream<Buffer, Buffer>, onData: () => void): void => {
    const seen = new Set<XdsType>();
    let synced = false;
    let first = true;
    const withNode = <T extends object>(req: T): T => (first ? ((first = false), { ...req, node }) : req);

    const sotw = (type: XdsType, names: string[], version = '', nonce = ''): void => {
      stream.write(Buffer.from(encodeDiscoveryRequest(withNode({ type_url: TYPE_URLS[type], resource_names: names, version_info: version, response_nonce: nonce }))));
    };
    const delta = (type: XdsType, subscribe: string[], nonce = ''): void => {
      stream.write(Buffer.from(encodeDeltaDiscoveryRequest(withNode({ type_url: TYPE_URLS[type], resource_names_subscribe: subscribe, response_nonce: nonce }))));
    };

    const endpointNames = new Set<string>();
    stream.on('data', (bytes: Buffer) => {
      onData();
      const p = parseResponse(bytes, config.api === 'sotw' ? nameInAny : nameInResource);
      const type = xdsTypeOf(p.typeUrl);
      if (!type) return;
      for (const w of config.watch) if (type === w.type && p.names.includes(w.name)) report({ t: 'hot', c: i, n: w.name, at: now(), b: bytes.length });
      // Subscribe to what the clusters and listeners need, as Envoy does, then ACK.
      const more = type === 'cluster' ? p.names.filter((n) => n !== 'local_app' && !endpointNames.has(n)) : [];
      for (const n of more) endpointNames.add(n);
      if (config.api === 'sotw') {
        const names = type === 'endpoint' ? [...endpointNames] : type === 'route' ? routeNames : [];
        sotw(type, names, p.version, p.nonce);
        if (more.length) sotw('endpoint', [...endpointNames]);
        if (type === 'listener' && !seen.has('listener')) sotw('route', routeNames);
      } else {
        delta(type, [], p.nonce);
        if (more.length) delta('endpoint', more);
        if (type === 'listener' && !seen.has('listener')) delta('route', routeNames);
      }
      seen.add(type);
      if (!synced && seen.size === 4) {
        synced = true;
        report({ t: 'synced', c: i, r: reconnects });
      }
    });
    if (config.api === 'sotw') {
      sotw('cluster', []);
      sotw('listener', []);
    } else {
      delta('cluster', []);
      delta('listener', []);
    }
  };
  open();
}

// Connect in small batches: a fleet does not start in one instant either.
let next = config.from;
function batch(): void {
  const end = Math.min(config.to, next + 50);
  for (; next < end; next++) startClient(next);
  if (next < config.to) setTimeout(batch, 5);
}
batch();
process.on('SIGTERM', () => process.exit(0));
