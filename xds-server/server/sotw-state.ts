// The state-of-the-world ADS protocol for one stream, without any I/O: requests and snapshots
// go in, responses come out through `send`. Rules (xDS protocol, "ACK/NACK and versioning"):
//   - a request whose response_nonce is not the last one sent for its type is stale and ignored;
//   - a request carrying the last nonce ACKs that response, or NACKs it with error_detail;
//   - the server answers a type only while the client waits (after its request), and only
//     when the version or the subscribed names changed: a NACKed version is never sent again
//     until the content changes, so a rejection cannot loop;
//   - a first request that already names a version (reconnect) is not answered if that is
//     still the current version: versions are content hashes, so equal means identical;
//   - whenever clusters are sent, the endpoints of the clusters that changed follow at once,
//     even unchanged: Envoy re-creates a changed cluster, and the new one waits (warming, and
//     holding the cluster ACK) for its endpoints;
//   - changes go out in the order clusters, endpoints, listeners, routes; listeners and routes
//     also wait while a cluster response is unacknowledged (see WAITS_FOR). Nothing waits for
//     an endpoint ACK, which Envoy never sends for endpoints of clusters it just removed (it
//     accepts that empty answer silently);
//   - endpoints and routes are not full-state types (omitting one says nothing about it): once a
//     stream has its subscribed set, a response carries only what changed since the last one,
//     what was newly subscribed and what re-created clusters need; one endpoint change is one
//     ClusterLoadAssignment on the wire, and a new cluster on a gateway is one more, not all.
import type { EncodedResource } from '../cache/encoded-resource.js';
import type { Snapshot, TypeSnapshot } from '../cache/snapshot.js';
import { diffTypeSnapshots } from '../cache/snapshot-diff.js';
import { isFullStateType, PUSH_ORDER, type XdsType } from '../xds-types.js';
import type { DiscoveryRequest } from './discovery-codec.js';
import { internNames, sameNames } from './name-sets.js';
import { AdsStreamState, WAITS_FOR, type Nack, type StreamEvents, type TypeProgress } from './xds-protocol.js';

export type { Nack } from './xds-protocol.js';

export interface SotwResponse {
  readonly type: XdsType;
  readonly version: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
}

export interface TypeState extends TypeProgress {
  /** undefined: every resource of the type (wildcard). */
  names: ReadonlySet<string> | undefined;
  subscribed: boolean;
  /** The client has a request we have not answered yet. */
  waiting: boolean;
  /** The last response is not yet ACKed or NACKed. */
  inFlight: boolean;
  namesChanged: boolean;
  sentVersion: string | undefined;
  /** What the last response was cut from, and the names it answered: the base of the next partial one. */
  sentSnapshot: TypeSnapshot | undefined;
  sentNames: ReadonlySet<string> | undefined;
  /** Endpoints to send again whatever their version (clusters Envoy re-creates); 'all' after a full cluster answer. */
  forced: Set<string> | 'all' | undefined;
  sentNonce: string | undefined;
  sentAt: Date | undefined;
  ackedVersion: string | undefined;
  ackedAt: Date | undefined;
  lastNack: Nack | undefined;
}


function freshTypeState(): TypeState {
  return {
    names: undefined,
    subscribed: false,
    waiting: false,
    inFlight: false,
    namesChanged: false,
    sentVersion: undefined,
    sentSnapshot: undefined,
    sentNames: undefined,
    forced: undefined,
    sentNonce: undefined,
    sentAt: undefined,
    ackedVersion: undefined,
    ackedAt: undefined,
    lastNack: undefined,
  };
}

/**
 * The subscription a request states. Every ACK repeats the names: when they are the ones the
 * stream already has (the common case), keep that set rather than sort and intern them again.
 */
function namesOf(type: XdsType, requested: readonly string[], current: ReadonlySet<string> | undefined): ReadonlySet<string> | undefined {
  if (current && current.size === requested.length && requested.every((n) => current.has(n))) return current;
  if (requested.includes('*')) return undefined;
  if (requested.length === 0 && isFullStateType(type)) return undefined;
  return internNames(requested);
}

export class SotwState extends AdsStreamState<TypeState, SotwResponse> {
  constructor(send: (response: SotwResponse) => void, events: StreamEvents = {}, now: () => Date = () => new Date()) {
    super(freshTypeState, send, events, now);
  }

  onRequest(request: DiscoveryRequest): void {
    const type = this.typeOf(request.type_url);
    if (!type) return;
    const st = this.types[type];
    const names = namesOf(type, request.resource_names, st.names);
    if (request.response_nonce) {
      if (request.response_nonce !== st.sentNonce) {
        this.events.onStaleNonce?.(type);
        return;
      }
      // Later requests may repeat the nonce (for a new subscription): only the first answers.
      const answers = st.inFlight;
      st.inFlight = false;
      if (answers && request.error_detail) {
        const nack: Nack = {
          version: st.sentVersion ?? '',
          nonce: request.response_nonce,
          message: request.error_detail.message ?? '',
          at: this.now(),
        };
        st.lastNack = nack;
        this.events.onNack?.(type, nack);
      } else if (answers) {
        st.ackedVersion = st.sentVersion;
        st.ackedAt = this.now();
        this.events.onAck?.(type, st.sentVersion ?? '');
      }
      if (!sameNames(st.names, names)) {
        st.names = names;
        st.namesChanged = true;
      }
    } else if (!st.subscribed && request.version_info) {
      // Reconnect: the client says what it already has.
      st.names = names;
      st.sentVersion = request.version_info;
      st.ackedVersion = request.version_info;
      st.ackedAt = this.now();
    } else if (!sameNames(st.names, names) || !st.subscribed) {
      st.names = names;
      st.namesChanged = true;
    }
    st.subscribed = true;
    st.waiting = true;
    this.flush();
  }

  /** Answer every waiting type that has something new, in push order. */
  protected flush(): void {
    if (!this.snapshot) return;
    for (const type of PUSH_ORDER) {
      if (WAITS_FOR[type].some((t) => this.types[t].inFlight)) continue;
      this.respond(type, this.types[type], this.snapshot);
    }
  }

  /** The endpoints (EDS names are cluster names) of clusters a cluster answer changes or adds. */
  private forceEndpoints(before: TypeSnapshot | undefined, after: TypeSnapshot): void {
    const endpoints = this.types.endpoint;
    endpoints.namesChanged = true;
    if (!before || endpoints.forced === 'all') {
      endpoints.forced = 'all';
      return;
    }
    endpoints.forced ??= new Set();
    for (const r of diffTypeSnapshots(before, after).changed) endpoints.forced.add(r.name);
  }

  private respond(type: XdsType, st: TypeState, snapshot: Snapshot): void {
    if (!st.waiting) return;
    // An empty list of names for endpoints or routes subscribes to nothing: nothing to answer.
    if (st.names !== undefined && st.names.size === 0) return;
    const typeSnapshot = snapshot.types[type];
    if (st.sentVersion === typeSnapshot.version && !st.namesChanged) return;
    const resources: EncodedResource[] = [];
    const names = st.names;
    if (names === undefined) {
      resources.push(...typeSnapshot.resources.values());
    } else if (!isFullStateType(type) && st.sentSnapshot && st.sentNames && st.forced !== 'all') {
      const pick = new Set<string>();
      for (const r of diffTypeSnapshots(st.sentSnapshot, typeSnapshot).changed) if (names.has(r.name)) pick.add(r.name);
      for (const n of names) if (!st.sentNames.has(n)) pick.add(n);
      for (const n of st.forced ?? []) if (names.has(n)) pick.add(n);
      for (const n of pick) {
        const r = typeSnapshot.resources.get(n);
        if (r) resources.push(r);
      }
    } else {
      for (const name of names) {
        const r = typeSnapshot.resources.get(name);
        if (r) resources.push(r);
      }
    }
    const nonce = this.nextNonce();
    if (type === 'cluster') this.forceEndpoints(st.sentSnapshot, typeSnapshot);
    st.waiting = false;
    st.inFlight = true;
    st.namesChanged = false;
    st.sentVersion = typeSnapshot.version;
    st.sentSnapshot = typeSnapshot;
    st.sentNames = names;
    st.forced = undefined;
    st.sentNonce = nonce;
    st.sentAt = this.now();
    this.send({ type, version: typeSnapshot.version, nonce, resources });
  }
}
