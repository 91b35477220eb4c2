// The incremental (delta) ADS protocol for one stream, without any I/O: requests and snapshots
// go in, responses come out through `send`. Rules (xDS protocol, "Incremental xDS"):
//   - subscriptions are changes: every request's resource_names_subscribe/unsubscribe apply,
//     whatever its nonce; '*' is the wildcard, and a first request for clusters or listeners
//     that names nothing is the legacy wildcard;
//   - the server sends a resource when the client lacks it or holds another version, and names
//     in removed_resources what the client holds (or asked for) that no longer exists;
//     per-resource versions are content hashes;
//   - initial_resource_versions on a stream's first request says what the client already has
//     (reconnect): those resources are not sent again unless they changed;
//   - a response is ACKed or NACKed by the request that carries its nonce; a NACKed version is
//     not sent again until its content changes, so a rejection cannot loop;
//   - a resource the client unsubscribes is forgotten: subscribing again sends it again;
//   - listeners and routes wait while a cluster response is unacknowledged (WAITS_FOR), and
//     every cluster sent is followed by its endpoints (EDS names are cluster names), since
//     Envoy re-creates a changed cluster and the new one waits for its endpoints.
//
// Memory stays flat across identical streams: what a client holds is "the role's snapshot S"
// (shared) plus a map of exceptions that is empty in the steady state, and moving every stream
// from S to S' filters one shared diff instead of comparing every resource per stream.
import type { EncodedResource } from '../cache/encoded-resource.js';
import type { TypeSnapshot } from '../cache/snapshot.js';
import { diffTypeSnapshots } from '../cache/snapshot-diff.js';
import { isFullStateType, PUSH_ORDER, type XdsType } from '../xds-types.js';
import type { DeltaDiscoveryRequest } from './delta-codec.js';
import { internNames, NO_NAMES } from './name-sets.js';
import { AdsStreamState, WAITS_FOR, type Nack, type StreamEvents, type TypeProgress } from './xds-protocol.js';

export interface DeltaResponse {
  readonly type: XdsType;
  /** The role's version of the type this response brings the client to. */
  readonly systemVersion: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
}

/** What the client holds of one resource: a version, `null` for "asked for, has none", or nothing known. */
type Held = string | null | undefined;

export interface DeltaTypeState extends TypeProgress {
  subscribed: boolean;
  wildcard: boolean;
  /** Explicitly subscribed names (interned). */
  names: ReadonlySet<string>;
  /** The client holds this snapshot's version of every resource it wants... */
  base: TypeSnapshot | undefined;
  /** ...except these. */
  exceptions: Map<string, string | null>;
  /** A full comparison is due (subscriptions changed, or clusters were just sent). */
  dirty: boolean;
  /** Responses not yet ACKed or NACKed: nonce → the system version they carried. */
  inFlight: Map<string, string>;
  sentVersion: string | undefined;
  sentAt: Date | undefined;
  ackedVersion: string | undefined;
  ackedAt: Date | undefined;
  lastNack: Nack | undefined;
  /** The last answer was a NACK: the client is behind what it was sent. */
  rejected: boolean;
}

/** A client that never answers must not make the server remember every nonce it sent. */
const MAX_IN_FLIGHT = 16;

function freshTypeState(): DeltaTypeState {
  return {
    subscribed: false,
    wildcard: false,
    names: NO_NAMES,
    base: undefined,
    exceptions: new Map(),
    dirty: false,
    inFlight: new Map(),
    sentVersion: undefined,
    sentAt: undefined,
    ackedVersion: undefined,
    ackedAt: undefined,
    lastNack: undefined,
    rejected: false,
  };
}

export class DeltaState extends AdsStreamState<DeltaTypeState, DeltaResponse> {
  constructor(send: (response: DeltaResponse) => void, events: StreamEvents = {}, now: () => Date = () => new Date()) {
    super(freshTypeState, send, events, now);
  }

  onRequest(request: DeltaDiscoveryRequest): void {
    const type = this.typeOf(request.type_url);
    if (!type) return;
    const st = this.types[type];
    if (request.response_nonce) this.answer(type, st, request);
    if (!st.subscribed) this.firstRequest(type, st, request);
    else this.changeSubscriptions(st, request.resource_names_subscribe, request.resource_names_unsubscribe);
    this.flush();
  }

  private answer(type: XdsType, st: DeltaTypeState, request: DeltaDiscoveryRequest): void {
    const version = st.inFlight.get(request.response_nonce);
    if (version === undefined) {
      this.events.onStaleNonce?.(type);
      return;
    }
    st.inFlight.delete(request.response_nonce);
    if (request.error_detail) {
      const nack: Nack = { version, nonce: request.response_nonce, message: request.error_detail.message ?? '', at: this.now() };
      st.lastNack = nack;
      st.rejected = true;
      this.events.onNack?.(type, nack);
    } else {
      st.ackedVersion = version;
      st.ackedAt = this.now();
      st.rejected = false;
      this.events.onAck?.(type, version);
    }
  }

  private firstRequest(type: XdsType, st: DeltaTypeState, request: DeltaDiscoveryRequest): void {
    st.subscribed = true;
    const subscribe = request.resource_names_subscribe;
    st.wildcard =
      subscribe.includes('*') || (isFullStateType(type) && subscribe.length === 0 && request.resource_names_unsubscribe.length === 0);
    st.names = internNames(subscribe.filter((n) => n !== '*'));
    st.base = undefined;
    st.exceptions = new Map();
    // Explicit names start as "asked for, has none"; what the client says it has overrides that.
    for (const n of st.names) st.exceptions.set(n, null);
    for (const [n, v] of Object.entries(request.initial_resource_versions)) st.exceptions.set(n, v);
    st.dirty = true;
  }

  private changeSubscriptions(st: DeltaTypeState, subscribe: readonly string[], unsubscribe: readonly string[]): void {
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    const wildcardBefore = st.wildcard;
    const names = new Set(st.names);
    for (const n of unsubscribe) {
      if (n === '*') st.wildcard = false;
      else if (names.delete(n)) st.exceptions.set(n, null);
    }
    for (const n of subscribe) {
      if (n === '*') st.wildcard = true;
      else if (!names.has(n)) {
        names.add(n);
        // Subscribing (again) means the client does not have it: it must be sent.
        st.exceptions.set(n, null);
      }
    }
    if (st.wildcard && !wildcardBefore) this.forgetBase(st);
    st.names = internNames(names);
    st.dirty = true;
  }

  /** Turn "holds the base" into explicit exceptions, for when what the client wants grows. */
  private forgetBase(st: DeltaTypeState): void {
    if (!st.base) return;
    for (const [n, r] of st.base.resources) if (!st.exceptions.has(n) && st.names.has(n)) st.exceptions.set(n, r.version);
    st.base = undefined;
  }

  private wants(st: DeltaTypeState, name: string): boolean {
    return st.wildcard || st.names.has(name);
  }

  private held(st: DeltaTypeState, name: string): Held {
    if (st.exceptions.has(name)) return st.exceptions.get(name);
    return st.base?.resources.get(name)?.version;
  }

  protected flush(): void {
    if (!this.snapshot) return;
    for (const type of PUSH_ORDER) {
      if (WAITS_FOR[type].some((t) => this.types[t].inFlight.size > 0)) continue;
      this.respond(type, this.types[type], this.snapshot.types[type]);
    }
  }

  private respond(type: XdsType, st: DeltaTypeState, target: TypeSnapshot): void {
    if (!st.subscribed) return;
    if (st.base === target && !st.dirty) return;
    const resources: EncodedResource[] = [];
    const removed: string[] = [];
    if (st.base && !st.dirty && st.exceptions.size === 0) {
      const diff = diffTypeSnapshots(st.base, target);
      for (const r of diff.changed) if (this.wants(st, r.name)) resources.push(r);
      for (const n of diff.removed) if (this.wants(st, n)) removed.push(n);
    } else {
      const candidates = new Set<string>(st.names);
      if (st.wildcard) for (const n of target.resources.keys()) candidates.add(n);
      for (const n of st.exceptions.keys()) if (this.wants(st, n)) candidates.add(n);
      if (st.wildcard && st.base) for (const n of st.base.resources.keys()) candidates.add(n);
      for (const n of candidates) {
        const held = this.held(st, n);
        const r = target.resources.get(n);
        if (r) {
          if (held !== r.version) resources.push(r);
        } else if (held !== undefined) {
          removed.push(n);
        }
      }
    }
    // From here on the client holds the target's version of everything it wants (or has
    // rejected it, and is not sent it again until it changes).
    st.base = target;
    st.exceptions.clear();
    st.dirty = false;
    if (resources.length === 0 && removed.length === 0) {
      if (st.inFlight.size === 0) {
        // Nothing it wants changed: it is as current as a client that was sent the version
        // (unless it still lacks something it rejected).
        st.sentVersion = target.version;
        if (!st.rejected) st.ackedVersion = target.version;
      }
      return;
    }
    const nonce = this.nextNonce();
    if (st.inFlight.size >= MAX_IN_FLIGHT) st.inFlight.delete(st.inFlight.keys().next().value!);
    st.inFlight.set(nonce, target.version);
    st.sentVersion = target.version;
    st.sentAt = this.now();
    if (type === 'cluster') {
      // Re-created clusters wait for their endpoints: send those again.
      const endpoints = this.types.endpoint;
      for (const r of resources) {
        if (endpoints.subscribed && this.wants(endpoints, r.name)) {
          endpoints.exceptions.set(r.name, null);
          endpoints.dirty = true;
        }
      }
    }
    this.send({ type, systemVersion: target.version, nonce, resources, removed });
  }
}
