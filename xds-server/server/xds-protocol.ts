// What the state-of-the-world and delta state machines share: how a rejection is recorded, what
// a stream reports, and which types must be acknowledged before another may be sent.
import type { XdsType } from '../xds-types.js';

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

export interface StreamProgress {
  readonly types: { readonly [T in XdsType]: TypeProgress };
}

/**
 * What must be acknowledged before a type may be sent: listeners and routes wait for clusters,
 * so a route never points at a cluster Envoy does not have yet (Envoy holds its cluster ACK
 * until new clusters have warmed). Endpoints never wait: warming needs them.
 */
export const WAITS_FOR: { readonly [T in XdsType]: readonly XdsType[] } = {
  cluster: [],
  endpoint: [],
  listener: ['cluster'],
  route: ['cluster'],
};
