// The X-Consul-Index rules for blocking queries
// (https://developer.hashicorp.com/consul/api-docs/features/blocking#implementation-details):
//   - the index going backwards means Consul's state was reset (a restored snapshot, a new
//     agent): start over from 0 and treat the answer as new;
//   - an index below 1 (0 or missing) must never be sent back as is, or every following query
//     returns at once and the loop spins; Consul's docs say to treat it as 1, and the data that
//     came with it as new.
// Pure, so the rules are tested without a Consul.

export interface IndexStep {
  /** The index to send with the next query. */
  readonly next: bigint;
  /** Whether the answer may carry new data (callers still compare data before acting). */
  readonly changed: boolean;
  /** Why the index was reset, when it was. */
  readonly reset?: 'backwards' | 'below-one';
}

export function parseIndex(header: string | string[] | undefined): bigint | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  return BigInt(raw.trim());
}

export function nextIndex(previous: bigint, received: bigint | undefined): IndexStep {
  if (received === undefined || received < 1n) return { next: 1n, changed: true, reset: 'below-one' };
  if (received < previous) return { next: 0n, changed: true, reset: 'backwards' };
  return { next: received, changed: received !== previous };
}
