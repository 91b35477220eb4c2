// The gRPC side of ADS: accepts streams, ties each to its node's snapshots, and writes the
// responses its SotwState decides on. Knows nothing of where snapshots come from.
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Snapshot } from '../cache/snapshot.js';
import { TYPE_URLS, type XdsType } from '../xds-types.js';
import { decodeDeltaDiscoveryRequest, deltaResponseBytes, type DeltaDiscoveryRequest } from './delta-codec.js';
import { DeltaState } from './delta-state.js';
import { decodeDiscoveryRequest, sotwResponseBytes, type DiscoveryRequest } from './discovery-codec.js';
import { nodeInfoOf, type NodeInfo } from './node.js';
import type { ProxyRegistry, ProxyStream, XdsApi } from './proxy-registry.js';
import { SotwState } from './sotw-state.js';
import type { Nack, StreamEvents } from './xds-protocol.js';

export interface SnapshotSource {
  /** The role key whose snapshots a node gets; throws with a reason if the node is not served. */
  keyFor(node: NodeInfo): string;
  /** Deliver the current snapshot of the key (if any) and every later one. */
  watch(key: string, listener: (snapshot: Snapshot) => void): () => void;
}

export interface AdsCallbacks {
  onStreamOpen?(stream: ProxyStream): void;
  onStreamClose?(stream: ProxyStream): void;
  onPush?(stream: ProxyStream, type: XdsType, resources: number, bytes: number): void;
  onAck?(stream: ProxyStream, type: XdsType, version: string): void;
  onNack?(stream: ProxyStream, type: XdsType, nack: Nack): void;
}

const ADS_SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

function bidiMethod(name: string, decode: (bytes: Buffer) => unknown): grpc.MethodDefinition<unknown, Buffer> {
  return {
    path: `${ADS_SERVICE}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('server side only');
    },
    requestDeserialize: decode,
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

/** Requests are decoded by us; responses are bytes we assembled, passed through untouched. */
export const adsServiceDefinition: grpc.ServiceDefinition = {
  StreamAggregatedResources: bidiMethod('StreamAggregatedResources', decodeDiscoveryRequest),
  DeltaAggregatedResources: bidiMethod('DeltaAggregatedResources', decodeDeltaDiscoveryRequest),
};

type AnyRequest = { readonly node?: Record<string, unknown>; readonly type_url: string };
type Call<Req> = grpc.ServerDuplexStream<Req, Buffer>;

type VariantEvents = StreamEvents & Pick<AdsCallbacks, 'onPush'>;

/** One protocol variant: how its state machine is made and fed. */
interface Variant<Req extends AnyRequest> {
  readonly api: XdsApi;
  makeState(call: Call<Req>, stream: () => ProxyStream, events: VariantEvents): { state: SotwState | DeltaState; feed(request: Req): void };
  describe(request: Req): Record<string, unknown>;
}

const SOTW: Variant<DiscoveryRequest> = {
  api: 'sotw',
  makeState: (call, stream, events) => {
    const state = new SotwState((r) => {
      const bytes = sotwResponseBytes(r.version, TYPE_URLS[r.type], r.nonce, r.resources);
      call.write(bytes);
      events.onPush?.(stream(), r.type, r.resources.length, bytes.length);
    }, events);
    return { state, feed: (request) => state.onRequest(request) };
  },
  describe: (r) => ({
    version: r.version_info,
    nonce: r.response_nonce,
    names: r.resource_names.length > 8 ? `${r.resource_names.length} names` : r.resource_names,
    error: r.error_detail?.message,
  }),
};

const DELTA: Variant<DeltaDiscoveryRequest> = {
  api: 'delta',
  makeState: (call, stream, events) => {
    const state = new DeltaState((r) => {
      const bytes = deltaResponseBytes(r.systemVersion, TYPE_URLS[r.type], r.nonce, r.resources, r.removed);
      call.write(bytes);
      events.onPush?.(stream(), r.type, r.resources.length + r.removed.length, bytes.length);
    }, events);
    return { state, feed: (request) => state.onRequest(request) };
  },
  describe: (r) => ({
    nonce: r.response_nonce,
    subscribe: r.resource_names_subscribe.length > 8 ? `${r.resource_names_subscribe.length} names` : r.resource_names_subscribe,
    unsubscribe: r.resource_names_unsubscribe.length > 8 ? `${r.resource_names_unsubscribe.length} names` : r.resource_names_unsubscribe,
    initial: Object.keys(r.initial_resource_versions).length,
    error: r.error_detail?.message,
  }),
};

/** Connections the kernel may hold for us before we accept them: a fleet reconnecting at once. */
export const DEFAULT_ACCEPT_BACKLOG = 4096;

export class AdsServer {
  private readonly server: grpc.Server;

  constructor(
    private readonly source: SnapshotSource,
    private readonly registry: ProxyRegistry,
    private readonly log: Logger,
    private readonly callbacks: AdsCallbacks = {},
  ) {
    this.server = new grpc.Server({
      // Envoy keeps one stream open for its whole life; notice dead peers.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    this.server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: Call<DiscoveryRequest>) => this.stream(call, SOTW),
      DeltaAggregatedResources: (call: Call<DeltaDiscoveryRequest>) => this.stream(call, DELTA),
    });
  }

  private listener: net.Server | undefined;
  private injector: ReturnType<grpc.Server['createConnectionInjector']> | undefined;

  /**
   * Bind and start; returns the bound port (useful with port 0). The socket is ours, handed to
   * gRPC connection by connection, so that its accept queue can hold a fleet reconnecting at
   * once (`backlog`; Node's default is 511, and the kernel resets what does not fit —
   * net.core.somaxconn caps it).
   */
  listen(host: string, port: number, backlog = DEFAULT_ACCEPT_BACKLOG): Promise<number> {
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injector = injector;
    const listener = net.createServer({ noDelay: true }, (socket) => injector.injectConnection(socket));
    this.listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host, port, backlog }, () => {
        listener.off('error', reject);
        resolve((listener.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stop accepting streams and close the open ones (Envoy keeps its config and reconnects). */
  close(graceMs = 1_000): Promise<void> {
    this.listener?.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        this.injector?.destroy();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        this.injector?.destroy();
        resolve();
      });
      // Streams never end on their own: cancel them so tryShutdown can finish.
      for (const s of this.registry.list()) this.closers.get(s.streamId)?.();
    });
  }

  private readonly closers = new Map<number, () => void>();

  private stream<Req extends AnyRequest>(call: Call<Req>, variant: Variant<Req>): void {
    let proxy: ProxyStream | undefined;
    let feed: ((request: Req) => void) | undefined;
    let unwatch: (() => void) | undefined;
    let closed = false;
    const peer = call.getPeer();

    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      unwatch?.();
      if (proxy) {
        this.closers.delete(proxy.streamId);
        this.registry.remove(proxy.streamId);
        this.callbacks.onStreamClose?.(proxy);
        this.log.info({ node: proxy.node.id, stream: proxy.streamId }, 'xds stream closed');
      }
    };
    const fail = (code: grpc.status, details: string): void => {
      this.log.warn({ peer, code, details }, 'refusing xds stream');
      cleanup();
      call.emit('error', { code, details, metadata: new grpc.Metadata() });
    };

    call.on('data', (request: Req) => {
      if (closed) return;
      try {
        if (!proxy) {
          const node = nodeInfoOf(request.node);
          if (!node) return fail(grpc.status.INVALID_ARGUMENT, 'the first request of a stream must carry node.id');
          let key: string;
          try {
            key = this.source.keyFor(node);
          } catch (err) {
            return fail(grpc.status.INVALID_ARGUMENT, (err as Error).message);
          }
          ({ stream: proxy, feed } = this.open(call, variant, node, key, peer));
          const p = proxy;
          this.closers.set(p.streamId, () => {
            cleanup();
            call.end();
          });
          unwatch = this.source.watch(key, (snapshot) => p.state.onSnapshot(snapshot));
        }
        if (this.log.isLevelEnabled('debug')) {
          this.log.debug(
            {
              node: proxy.node.id,
              type: request.type_url.slice(request.type_url.lastIndexOf('.') + 1),
              ...variant.describe(request),
            },
            'xds request',
          );
        }
        feed!(request);
      } catch (err) {
        this.log.error({ err, peer }, 'xds stream failed');
        fail(grpc.status.INTERNAL, (err as Error).message);
      }
    });
    call.on('end', () => {
      cleanup();
      call.end();
    });
    call.on('cancelled', cleanup);
    call.on('error', cleanup);
    call.on('close', cleanup);
  }

  private open<Req extends AnyRequest>(
    call: Call<Req>,
    variant: Variant<Req>,
    node: NodeInfo,
    roleKey: string,
    peer: string,
  ): { stream: ProxyStream; feed: (request: Req) => void } {
    const streamId = this.registry.allocateId();
    // The state machine needs the stream for its callbacks, and the stream holds the state.
    let stream: ProxyStream | undefined;
    const self = (): ProxyStream => stream!;
    const { state, feed } = variant.makeState(call, self, {
      onPush: (s, type, resources, bytes) => {
        this.callbacks.onPush?.(s, type, resources, bytes);
        this.log.debug({ node: node.id, type, resources, bytes }, 'xds push');
      },
      onAck: (type, version) => this.callbacks.onAck?.(self(), type, version),
      onNack: (type, nack) => {
        this.log.warn({ node: node.id, type, version: nack.version, reason: nack.message }, 'proxy rejected config (NACK)');
        this.callbacks.onNack?.(self(), type, nack);
      },
      onUnknownType: (typeUrl) => this.log.debug({ node: node.id, typeUrl }, 'request for a type this server does not serve'),
    });
    stream = { streamId, node, roleKey, api: variant.api, peer, openedAt: new Date(), state };
    this.registry.add(stream);
    this.callbacks.onStreamOpen?.(stream);
    this.log.info({ node: node.id, cluster: node.cluster, role: roleKey, api: variant.api, stream: streamId, agent: node.userAgent }, 'xds stream opened');
    return { stream, feed };
  }
}
