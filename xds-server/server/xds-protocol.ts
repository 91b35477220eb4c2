// What the state-of-the-world and delta state machines share: how a rejection is recorded, what
// a stream reports, and which types must be acknowledged before another may be sent.
import type { Snapshot } from '../cache/snapshot.js';
import { xdsTypeOf, type XdsType } from '../xds-types.js';

export interface Nack {
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  readonly at: Date;
}

export interface StreamEvents {
  onAck?(type: XdsType, version: string): void;
  onNack?(type: XdsType, nack: Nack): void;
  onStaleNonce?(type: XdsType): void;
  onUnknownType?(typeUrl: string): void;
}

/** The per-type facts proxy status is made of, whatever the protocol variant. */
export interface TypeProgress {
  readonly subscribed: boolean;
  /** The role's version the latest response brought the stream to. */
  readonly sentVersion: string | undefined;
  readonly ackedVersion: string | undefined;
  readonly ackedAt: Date | undefined;
  readonly lastNack: Nack | undefined;
}

/**
 * What must be acknowledged before a type may be sent: listeners and routes wait for clusters,
 * so a route never points at a cluster Envoy does not have yet (Envoy holds its cluster ACK
 * until new clusters have warmed). Endpoints and secrets never wait: warming needs them.
 */
export const WAITS_FOR: { readonly [T in XdsType]: readonly XdsType[] } = {
  cluster: [],
  endpoint: [],
  secret: [],
  listener: ['cluster'],
  route: ['cluster'],
};

/** What both state machines are made of: per-type state, the current snapshot, nonces. */
export abstract class AdsStreamState<S extends TypeProgress, R> {
  readonly types: { readonly [T in XdsType]: S };
  protected snapshot: Snapshot | undefined;
  private nonce = 0;

  constructor(
    fresh: () => S,
    protected readonly send: (response: R) => void,
    protected readonly events: StreamEvents = {},
    protected readonly now: () => Date = () => new Date(),
  ) {
    this.types = { cluster: fresh(), endpoint: fresh(), secret: fresh(), listener: fresh(), route: fresh() };
  }

  get current(): Snapshot | undefined {
    return this.snapshot;
  }

  onSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.flush();
  }

  /** The type a request is for, or undefined (reported) when this server does not serve it. */
  protected typeOf(typeUrl: string): XdsType | undefined {
    const type = xdsTypeOf(typeUrl);
    if (!type) this.events.onUnknownType?.(typeUrl);
    return type;
  }

  protected nextNonce(): string {
    return String(++this.nonce);
  }

  /** Send what the current snapshot and the subscriptions call for. */
  protected abstract flush(): void;
}
