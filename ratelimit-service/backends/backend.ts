// Where counters live. One call per request carries every counter the request touches, so a
// networked backend answers it in one round trip.
export interface CounterOp {
  readonly key: string;
  readonly hits: number;
  readonly ttlSeconds: number;
  /** For a sliding window: the previous window's counter, read but not changed. */
  readonly previousKey?: string;
}

export interface CounterResult {
  /** The counter after this request's hits. */
  readonly after: number;
  /** The previous window's counter (sliding window), else 0. */
  readonly previous: number;
}

/** A reservation (budget-ops.ts): `hits` added to `key` only if the counter stays within `limit`, filed under `id`. */
export interface ReserveOp {
  readonly key: string;
  readonly id: string;
  readonly hits: number;
  readonly limit: number;
  readonly ttlSeconds: number;
}

/**
 * One request's reservations, granted together or not at all: `granted` says which; `counts`,
 * each counter now (unchanged when refused).
 */
export interface ReserveResult {
  readonly granted: boolean;
  readonly counts: readonly number[];
}

/** A settlement: the reservation `id` under the first of `keys` that holds it becomes `charged` hits. */
export interface SettleOp {
  readonly keys: readonly string[];
  readonly id: string;
  readonly charged: number;
}

export interface CounterBackend {
  readonly name: string;
  increment(ops: readonly CounterOp[]): Promise<CounterResult[]>;
  /** All of a request's reservations at once: each is added only if every one fits (one Redis call; on a Cluster, per hash slot). */
  reserve(ops: readonly ReserveOp[]): Promise<ReserveResult>;
  /** The counter's move (charged − reserved), or undefined when no reservation had that id. */
  settle(op: SettleOp): Promise<number | undefined>;
  /** Whether the backend can be used now (a connected Redis), for health reporting. */
  available(): boolean;
  /** While unavailable, the last reason known (a refused certificate, a wrong password). */
  unavailableBecause?(): string | undefined;
  close(): Promise<void>;
}

/** The backend cannot answer now (down, timing out, or its circuit is open). */
export class BackendUnavailable extends Error {}
