// The choice of one endpoint for a call, as a pure function of what the picker knows: each
// candidate's load (from its metrics, plus the calls the gateway sent it since), and how much
// of the prompt's prefix was last sent to it. In the manner of the inference extension's
// scheduler: keep the healthy endpoints of the first priority that has any (failover stays
// Envoy's); drop the saturated ones while some are not; then the best score — prefix affinity
// against queue and KV-cache pressure — with ties broken at random (no herd onto one instance).
import type { ServerLoad } from './server-load.js';

export interface Candidate {
  readonly address: string;
  readonly priority: number;
  readonly healthy: boolean;
  /** Undefined: no fresh metrics. */
  readonly load: ServerLoad | undefined;
  /** Calls the gateway sent it since its metrics were read (in no count yet), less those of its calls that ended since. */
  readonly sentSince: number;
  /** Its batch size as it showed it (the most calls it ran while others waited there); undefined until then. */
  readonly capacity?: number | undefined;
}

export interface PickWeights {
  /** An endpoint whose waiting calls reach this is saturated. */
  readonly queueThreshold: number;
  /** An endpoint whose KV cache is used this much (0..1) is saturated. */
  readonly kvThreshold: number;
  /** What a whole-prompt prefix match is worth, in waiting calls per `queueThreshold`. */
  readonly prefixWeight: number;
  /** An instance whose batch is full (its shown batch size reached) is saturated, though nothing waits there yet. */
  readonly fullBatch: boolean;
  /**
   * How long a call whose prompt's prefix is mostly on a saturated instance waits at the gateway
   * for a slot there, rather than take another instance's (and prefill its whole prompt again);
   * 0: it never waits for it.
   */
  readonly affinityWaitMs: number;
}

/**
 * One call waiting makes an instance saturated: its batch is full, and the next call is better
 * kept at the gateway, where priority and fairness decide, than in the server's own line
 * (bench/model-pool.ts: the interactive tenant's time to first token under a flood, p50 149 ms
 * at 1 against 462 ms at 5, for 7% more throughput). A call waits up to 150 ms for the instance
 * that holds its prefix (the same bench, four rounds: a conversation's later turns that missed
 * the cache under the flood fell from 16–19 a run to 0–8, the hit rate from 93% to 98% of what
 * perfect affinity gets; about the time a slot of that bench's servers takes to come free, where
 * a whole prefill elsewhere costs 200 ms or more).
 */
export const DEFAULT_WEIGHTS: PickWeights = { queueThreshold: 1, kvThreshold: 0.8, prefixWeight: 2, fullBatch: true, affinityWaitMs: 150 };

/**
 * A prefix worth waiting for: this many blocks at least (2,048 characters at the default block
 * size, some 500 tokens), and half the prompt. A shorter one costs less to prefill again than a
 * wait for a slot.
 */
export const MIN_HELD_BLOCKS = 8;

export interface Picked {
  readonly address: string;
  /** Why: "prefix" (the affinity endpoint), "load" (the least loaded), or "saturated" (every endpoint was). */
  readonly reason: 'prefix' | 'load' | 'saturated';
  /** Another endpoint holds at least half the prompt's prefix blocks but is saturated: the call could wait for it. */
  readonly heldElsewhere?: boolean;
}

/** The calls waiting at an endpoint, counting those sent since its metrics: they queue or run there. */
export const waitingOf = (c: Candidate): number => Math.max(0, (c.load ? c.load.waiting : 0) + c.sentSince);

/**
 * Saturated: calls wait there, or its KV cache is nearly full — or, once it has shown its batch
 * size, its batch is full: a call sent there would wait for a slot behind calls a server does not
 * preempt, where at the gateway it waits by priority and fairness and goes to the first instance
 * with a free slot (bench/model-pool.ts: under a flood, the interactive tenant's cached turns
 * waited p50 43 / p99 236 ms for a slot at the server without this, 0 / 27 ms with it).
 */
export function isSaturated(c: Candidate, w: PickWeights): boolean {
  if (!c.load) return false;
  if (waitingOf(c) >= w.queueThreshold || c.load.kvUsage >= w.kvThreshold) return true;
  return w.fullBatch && c.capacity !== undefined && c.load.running + c.load.waiting + c.sentSince >= c.capacity;
}

/**
 * Undefined when no candidate has fresh metrics (Envoy's own balancing decides then).
 * `matched`: endpoint → leading prefix blocks it holds; `blocks`: the prompt's blocks.
 */
export function pick(candidates: readonly Candidate[], matched: ReadonlyMap<string, number>, blocks: number, w: PickWeights = DEFAULT_WEIGHTS, random: () => number = Math.random): Picked | undefined {
  const healthy = candidates.filter((c) => c.healthy);
  if (!healthy.length) return undefined;
  const first = Math.min(...healthy.map((c) => c.priority));
  const known = healthy.filter((c) => c.priority === first && c.load);
  if (!known.length) return undefined;
  const open = known.filter((c) => !isSaturated(c, w));
  const pool = open.length ? open : known;
  const score = (c: Candidate): number =>
    (blocks ? (w.prefixWeight * (matched.get(c.address) ?? 0)) / blocks : 0) - waitingOf(c) / w.queueThreshold - c.load!.kvUsage - c.load!.running * 1e-3;
  let best: Candidate[] = [];
  let top = -Infinity;
  for (const c of pool) {
    const s = score(c);
    if (s > top + 1e-9) {
      top = s;
      best = [c];
    } else if (Math.abs(s - top) <= 1e-9) best.push(c);
  }
  const chosen = best[Math.floor(random() * best.length)]!;
  const held = (c: Candidate): number => matched.get(c.address) ?? 0;
  const mine = held(chosen);
  const reason = !open.length ? 'saturated' : mine > 0 ? 'prefix' : 'load';
  const heldElsewhere = known.some((c) => c !== chosen && held(c) >= MIN_HELD_BLOCKS && held(c) * 2 >= blocks && held(c) > mine && isSaturated(c, w));
  return { address: chosen.address, reason, ...(heldElsewhere ? { heldElsewhere } : {}) };
}

/**
 * The `priority` a call carries to servers that schedule by it and preempt (vLLM's
 * `--scheduling-policy priority`: lower goes first, and a waiting call takes the slot of the
 * running call with the highest). Its tier decides first (critical 0, standard 1,000, sheddable
 * 2,000); within a tier, how many calls its tenant has in the pool already, over its weight. So a
 * tenant with few calls in flight goes before one that holds many, and the server makes a
 * flooding tenant's newest call give way to another tenant's first: fairness kept by the server
 * at the moment it matters, not only in the gateway's line.
 */
export function serverPriorityOf(tier: 'critical' | 'standard' | 'sheddable', tenantInFlight: number, weight: number): number {
  return TIER_BASE[tier] + Math.min(TIER_BASE.standard - 1, Math.floor(tenantInFlight / Math.max(1, weight)));
}

const TIER_BASE = { critical: 0, standard: 1_000, sheddable: 2_000 } as const;

/**
 * For a call of server priority `priority` in a saturated pool whose servers preempt: an
 * endpoint where a call the gateway sent runs with a worse (higher) one, which the server will
 * preempt for it — the one holding most of its prompt's prefix, then the one with the worst call.
 * `worst`: endpoint → the highest priority of the calls the gateway has in flight there.
 */
export function preemptable(candidates: readonly Candidate[], worst: ReadonlyMap<string, number>, priority: number, matched: ReadonlyMap<string, number>): string | undefined {
  const healthy = candidates.filter((c) => c.healthy);
  const first = Math.min(...healthy.map((c) => c.priority));
  const open = healthy.filter((c) => c.priority === first && (worst.get(c.address) ?? -Infinity) > priority);
  const held = (c: Candidate): number => matched.get(c.address) ?? 0;
  open.sort((a, b) => held(b) - held(a) || worst.get(b.address)! - worst.get(a.address)!);
  return open[0]?.address;
}
