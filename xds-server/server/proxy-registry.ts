// Every connected xDS stream and what it has: the data behind /debug/proxies, the proxy-status
// command and the connected-proxies gauge.
import type { Snapshot } from '../cache/snapshot.js';
import { PUSH_ORDER, type XdsType } from '../xds-types.js';
import type { NodeInfo } from './node.js';
import type { DeltaState } from './delta-state.js';
import type { SotwState } from './sotw-state.js';
import type { Nack } from './xds-protocol.js';

export type XdsApi = 'sotw' | 'delta';

export interface ProxyStream {
  readonly streamId: number;
  readonly node: NodeInfo;
  readonly roleKey: string;
  readonly api: XdsApi;
  readonly peer: string;
  readonly openedAt: Date;
  readonly state: SotwState | DeltaState;
}

/** SYNCED: has the latest; STALE: not (yet); NACKED: rejected what it was last sent. */
export type SyncStatus = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SUBSCRIBED';

export interface TypeStatus {
  readonly status: SyncStatus;
  readonly latest_version: string | null;
  readonly sent_version: string | null;
  readonly acked_version: string | null;
  readonly acked_at: string | null;
  readonly last_nack: { version: string; message: string; at: string } | null;
}

export interface ProxyStatus {
  readonly stream_id: number;
  readonly node_id: string;
  readonly cluster: string;
  readonly role: string;
  readonly api: string;
  readonly user_agent: string;
  readonly peer: string;
  readonly connected_at: string;
  readonly stream_age_seconds: number;
  readonly types: Record<XdsType, TypeStatus>;
}

function nackView(n: Nack | undefined): TypeStatus['last_nack'] {
  return n ? { version: n.version, message: n.message, at: n.at.toISOString() } : null;
}

export function typeStatus(stream: ProxyStream, type: XdsType, latest: Snapshot | undefined): TypeStatus {
  const st = stream.state.types[type];
  const latestVersion = latest?.types[type].version ?? null;
  let status: SyncStatus;
  if (!st.subscribed) status = 'NOT_SUBSCRIBED';
  else if (st.lastNack && st.lastNack.version === st.sentVersion && st.ackedVersion !== st.sentVersion) status = 'NACKED';
  else if (st.ackedVersion !== undefined && st.ackedVersion === latestVersion) status = 'SYNCED';
  else status = 'STALE';
  return {
    status,
    latest_version: latestVersion,
    sent_version: st.sentVersion ?? null,
    acked_version: st.ackedVersion ?? null,
    acked_at: st.ackedAt?.toISOString() ?? null,
    last_nack: nackView(st.lastNack),
  };
}

/** The names a stream subscribes to; undefined: every resource of the type. */
export function subscribedNames(stream: ProxyStream, type: XdsType): ReadonlySet<string> | undefined {
  const st = stream.state.types[type];
  if ('wildcard' in st) return st.wildcard ? undefined : st.names;
  return st.names;
}

export interface ProxyConfig {
  readonly node_id: string;
  readonly role: string;
  readonly api: XdsApi;
  readonly types: Record<XdsType, TypeStatus & { resources: Array<{ name: string; version: string; config: unknown }> }>;
}

export class ProxyRegistry {
  private readonly streams = new Map<number, ProxyStream>();
  private nextId = 1;

  allocateId(): number {
    return this.nextId++;
  }

  add(stream: ProxyStream): void {
    this.streams.set(stream.streamId, stream);
  }

  remove(streamId: number): void {
    this.streams.delete(streamId);
  }

  get size(): number {
    return this.streams.size;
  }

  list(): ProxyStream[] {
    return [...this.streams.values()];
  }

  /** The newest stream of a node (a reconnecting proxy may briefly have two). */
  byNode(nodeId: string): ProxyStream | undefined {
    let found: ProxyStream | undefined;
    for (const s of this.streams.values()) if (s.node.id === nodeId && (!found || s.streamId > found.streamId)) found = s;
    return found;
  }

  /** What a proxy should hold now: the latest snapshot of its role, cut to its subscriptions. */
  config(nodeId: string, latest: (roleKey: string) => Snapshot | undefined): ProxyConfig | undefined {
    const stream = this.byNode(nodeId);
    if (!stream) return undefined;
    const snap = latest(stream.roleKey);
    const types = {} as ProxyConfig['types'];
    for (const t of PUSH_ORDER) {
      const names = subscribedNames(stream, t);
      const resources = snap && stream.state.types[t].subscribed ? [...snap.types[t].resources.values()].filter((r) => !names || names.has(r.name)) : [];
      types[t] = { ...typeStatus(stream, t, snap), resources: resources.map((r) => ({ name: r.name, version: r.version, config: r.json })) };
    }
    return { node_id: stream.node.id, role: stream.roleKey, api: stream.api, types };
  }

  status(latest: (roleKey: string) => Snapshot | undefined, now: Date = new Date()): ProxyStatus[] {
    return this.list().map((s) => {
      const snap = latest(s.roleKey);
      const types = {} as Record<XdsType, TypeStatus>;
      for (const t of PUSH_ORDER) types[t] = typeStatus(s, t, snap);
      return {
        stream_id: s.streamId,
        node_id: s.node.id,
        cluster: s.node.cluster,
        role: s.roleKey,
        api: s.api,
        user_agent: s.node.userAgent,
        peer: s.peer,
        connected_at: s.openedAt.toISOString(),
        stream_age_seconds: Math.round((now.getTime() - s.openedAt.getTime()) / 100) / 10,
        types,
      };
    });
  }
}
