// Counters in Redis (one node, or a Redis Cluster) through ioredis, with the keys
// envoyproxy/ratelimit writes.
//   - A small Lua script INCRBYs each counter and, only when it created the
//     counter, EXPIREs it — atomic, so a counter never outlives its window (plus a GET of the
//     previous window for sliding windows).
//   - One round trip per event-loop turn: the increments of every request of the turn go out
//     as one script call, concurrent increments of one counter coalesced into one (see
//     increment-batcher.ts). ioredis's auto-pipelining is off: with the batcher it saves no
//     round trip, and its per-batch objects outlived young-generation GC (long scavenges and
//     frequent mark-compacts at a high command rate).
//   - Never a wait on a dead Redis: commands fail at once while disconnected (no offline
//     queue), time out after `timeoutMs` otherwise, and a circuit breaker per node (on a
//     Cluster: per master, see node-circuits.ts) stops trying after a few failures. The process
//     starts and answers while Redis is down, and reconnects.
import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import calculateSlot from 'cluster-key-slot';
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisSettings } from '../config.js';
import { reservationsKey } from '../limiter/budget-ops.js';
import { BackendUnavailable, type CounterBackend, type CounterOp, type CounterResult, type ReserveOp, type ReserveResult, type SettleOp } from './backend.js';
import { IncrementBatcher } from './increment-batcher.js';
import { NodeCircuits } from './node-circuits.js';

/**
 * For each of the N keys: INCRBY by its hits (ARGV[i]), and EXPIRE after its TTL (ARGV[N+i])
 * when this increment created the counter. Returns the counters after.
 */
const INCREMENT_SCRIPT = `
local n = #KEYS
local out = {}
for i = 1, n do
  local hits = tonumber(ARGV[i])
  local after = redis.call('INCRBY', KEYS[i], hits)
  if after == hits then redis.call('EXPIRE', KEYS[i], ARGV[n + i]) end
  out[i] = after
end
return out`;

/**
 * A request's reservations: for each i, KEYS[2i-1] a counter and KEYS[2i] its reservations (a
 * hash, call id → hits); ARGV[4i-3..4i] its hits, limit, TTL and call id. Every counter is
 * checked first; only if each stays within its limit are the hits added (EXPIRE when that
 * created the counter) and filed under the call. Returns {granted (1/0), the counters}.
 */
const RESERVE_SCRIPT = `
local n = #KEYS / 2
local counts = {}
local fits = 1
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  if counts[i] + tonumber(ARGV[4 * i - 3]) > tonumber(ARGV[4 * i - 2]) then fits = 0 end
end
if fits == 0 then return {0, counts} end
for i = 1, n do
  local hits = tonumber(ARGV[4 * i - 3])
  counts[i] = redis.call('INCRBY', KEYS[2 * i - 1], hits)
  if counts[i] == hits then redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[4 * i - 1]) end
  redis.call('HINCRBY', KEYS[2 * i], ARGV[4 * i], hits)
  if redis.call('TTL', KEYS[2 * i]) < 0 then redis.call('EXPIRE', KEYS[2 * i], ARGV[4 * i - 1]) end
end
return {1, counts}`;

/**
 * A settlement: KEYS[1] the counter, KEYS[2] its reservations; ARGV: call id, charged hits.
 * The reservation taken out and the counter moved by (charged − reserved) while it lives;
 * returns {found (1/0), the move}.
 */
const SETTLE_SCRIPT = `
local reserved = redis.call('HGET', KEYS[2], ARGV[1])
if not reserved then return {0, 0} end
redis.call('HDEL', KEYS[2], ARGV[1])
local delta = tonumber(ARGV[2]) - tonumber(reserved)
if delta ~= 0 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], delta) end
return {1, delta}`;

type ScriptClient = {
  meshgateIncrement(n: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
  meshgateReserve(n: number, ...keysThenArgs: Array<string | number>): Promise<[number, number[]]>;
  meshgateSettle(counter: string, reservations: string, id: string, charged: number): Promise<[number, number]>;
};

export interface RedisBackendOptions extends Omit<RedisSettings, 'url'> {
  /** "host:port" for one node; several, comma-separated, for a Cluster's seed nodes. */
  readonly url: string;
  readonly breaker?: { failureThreshold: number; openMs: number; maxOpenMs: number };
  readonly log: Logger;
  readonly onStateChange?: (connected: boolean) => void;
  /** A node's circuit opened (its counters answered by the failure mode) or closed again. */
  readonly onCircuitChange?: (node: string, open: boolean) => void;
}

function nodesOf(url: string): Array<{ host: string; port: number }> {
  return url.split(',').map((hp) => {
    const [host, port] = hp.trim().replace(/^redis:\/\//, '').split(':');
    return { host: host || '127.0.0.1', port: Number(port || 6379) };
  });
}

export class RedisBackend implements CounterBackend {
  readonly name: string;
  private readonly circuits: NodeCircuits;
  private readonly client: Redis | Cluster;
  private readonly cluster: Cluster | undefined;
  private readonly batcher: IncrementBatcher;
  private readonly scripted: ScriptClient;
  private connected = false;
  private lastError: string | undefined;

  constructor(private readonly options: RedisBackendOptions) {
    this.name = options.cluster ? 'redis-cluster' : 'redis';
    this.circuits = new NodeCircuits(options.breaker ?? { failureThreshold: 3, openMs: 500, maxOpenMs: 5_000 }, (node, open) => {
      if (open) options.log.warn({ redis: node }, 'redis circuit open: its counters are answered by the failure mode until a probe succeeds');
      else options.log.info({ redis: node }, 'redis circuit closed: counting again');
      options.onCircuitChange?.(node, open);
    });
    const common: RedisOptions = {
      enableAutoPipelining: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: Math.max(1_000, options.timeoutMs * 10),
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      ...(options.tls ? { tls: tlsOptions(options.tls) } : {}),
    };
    const nodes = nodesOf(options.url);
    this.cluster = options.cluster
      ? new Cluster(nodes, { redisOptions: common, enableAutoPipelining: false, enableOfflineQueue: false, clusterRetryStrategy: common.retryStrategy! })
      : undefined;
    this.client = this.cluster ?? new Redis({ ...nodes[0]!, ...common });
    this.client.defineCommand('meshgateIncrement', { lua: INCREMENT_SCRIPT });
    this.client.defineCommand('meshgateReserve', { lua: RESERVE_SCRIPT });
    this.client.defineCommand('meshgateSettle', { lua: SETTLE_SCRIPT, numberOfKeys: 2 });
    const scripted = (this.scripted = this.client as unknown as ScriptClient);
    this.batcher = new IncrementBatcher(
      (keys, hits, ttls) => scripted.meshgateIncrement(keys.length, ...keys, ...hits, ...ttls),
      // A script's keys must share a hash slot on a Cluster; one node takes them all at once.
      (key) => this.groupOf(key),
    );
    this.client.on('ready', () => this.setConnected(true));
    this.client.on('end', () => this.setConnected(false));
    this.client.on('close', () => this.setConnected(false));
    this.client.on('error', (err: Error) => {
      // The first time a reason appears it is worth a warning (a certificate refused, a wrong
      // password); the same reason again, on every reconnect attempt of an outage, is not. A
      // command dropped because its connection failed says nothing of why: not a reason.
      const reason = err.name === 'MaxRetriesPerRequestError' ? undefined : err.message;
      options.log[reason === undefined || reason === this.lastError ? 'debug' : 'warn']({ redis: options.url, err: err.message }, 'redis error');
      if (reason !== undefined) this.lastError = reason;
    });
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.options.log[connected ? 'info' : 'warn']({ redis: this.options.url }, connected ? 'redis connected' : 'redis connection lost');
    this.options.onStateChange?.(connected);
  }

  available(): boolean {
    return this.connected;
  }

  unavailableBecause(): string | undefined {
    return this.connected ? undefined : this.lastError;
  }

  /** The node that holds `key`: the master of its slot on a Cluster, else the one node. */
  private nodeOf(key: string): string {
    return this.cluster ? (this.cluster.slots[calculateSlot(key)]?.[0] ?? 'no node for its slot') : this.options.url;
  }

  increment(ops: readonly CounterOp[]): Promise<CounterResult[]> {
    if (!this.connected) return Promise.reject(new BackendUnavailable('redis is unavailable (not connected)'));
    // The common case — one fixed-window counter — without intermediate promises and arrays.
    if (ops.length === 1 && !ops[0]!.previousKey) {
      const op = ops[0]!;
      const node = this.nodeOf(op.key);
      const circuit = this.circuits.of(node);
      if (!circuit.allow()) return Promise.reject(unavailable(node));
      return this.batcher.increment(op.key, op.hits, op.ttlSeconds).then(
        (after) => {
          circuit.success();
          return [{ after, previous: 0 }];
        },
        (err: Error) => {
          circuit.failure();
          throw new BackendUnavailable(`redis: ${err.message}`);
        },
      );
    }
    // Each op's nodes, found once: for the circuits' admission, then for their outcomes.
    const nodes = ops.map((op) => ({ key: this.nodeOf(op.key), previous: op.previousKey ? this.nodeOf(op.previousKey) : undefined }));
    const touched = new Set<string>();
    for (const n of nodes) {
      touched.add(n.key);
      if (n.previous) touched.add(n.previous);
    }
    const refused = this.circuits.refusing([...touched]);
    if (refused !== undefined) return Promise.reject(unavailable(refused));
    return Promise.all(ops.map((op, i) => this.one(op, nodes[i]!.key, nodes[i]!.previous))).catch((err: Error) => {
      throw new BackendUnavailable(`redis: ${err.message}`);
    });
  }

  /** Which keys may go in one script call: a Cluster's must share a hash slot; one node takes them all. */
  private groupOf(key: string): number {
    return this.cluster ? calculateSlot(key) : 0;
  }

  /**
   * Not through the batcher: a reservation is conditional, so two of one counter cannot be
   * summed into one. One script per hash slot: all-or-nothing within each; on one node, one
   * script for the whole request.
   */
  async reserve(ops: readonly ReserveOp[]): Promise<ReserveResult> {
    const groups = new Map<number, number[]>();
    ops.forEach((op, i) => {
      const g = this.groupOf(op.key);
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    const counts: number[] = new Array(ops.length);
    let granted = true;
    try {
      await Promise.all(
        [...groups.values()].map(async (indexes) => {
          const node = this.usable(ops[indexes[0]!]!.key);
          const keys = indexes.flatMap((i) => [ops[i]!.key, reservationsKey(ops[i]!.key)]);
          const args = indexes.flatMap((i) => [ops[i]!.hits, ops[i]!.limit, ops[i]!.ttlSeconds, ops[i]!.id]);
          const [ok, after] = await this.counted(node, this.scripted.meshgateReserve(keys.length, ...keys, ...args));
          if (ok !== 1) granted = false;
          indexes.forEach((i, j) => (counts[i] = Number(after[j])));
        }),
      );
    } catch (err) {
      if (err instanceof BackendUnavailable) throw err;
      throw new BackendUnavailable(`redis: ${(err as Error).message}`);
    }
    return { granted, counts };
  }

  async settle(op: SettleOp): Promise<number | undefined> {
    for (const key of op.keys) {
      const node = this.usable(key);
      let found: number, delta: number;
      try {
        [found, delta] = await this.counted(node, this.scripted.meshgateSettle(key, reservationsKey(key), op.id, op.charged));
      } catch (err) {
        throw new BackendUnavailable(`redis: ${(err as Error).message}`);
      }
      if (found === 1) return Number(delta);
    }
    return undefined;
  }

  /** The node of `key`, when it may be asked now (connected, its circuit closed); else BackendUnavailable. */
  private usable(key: string): string {
    if (!this.connected) throw new BackendUnavailable('redis is unavailable (not connected)');
    const node = this.nodeOf(key);
    if (!this.circuits.of(node).allow()) throw unavailable(node);
    return node;
  }

  /** `call`, its outcome counted on the circuit of the node it went to. */
  private counted<T>(node: string, call: Promise<T>): Promise<T> {
    const circuit = this.circuits.of(node);
    return call.then(
      (value) => {
        circuit.success();
        return value;
      },
      (err: unknown) => {
        circuit.failure();
        throw err;
      },
    );
  }

  private async one(op: CounterOp, node: string, previousNode: string | undefined): Promise<CounterResult> {
    // The previous window's GET goes out beside the batched increment: one round trip of waiting.
    const incr = this.counted(node, this.batcher.increment(op.key, op.hits, op.ttlSeconds));
    const prev = op.previousKey ? this.counted(previousNode!, this.client.get(op.previousKey)) : undefined;
    const [after, previous] = await Promise.all([incr, prev]);
    return { after: Number(after), previous: previous ? Number(previous) : 0 };
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

/** Node's TLS options from the files: the CA replaces the system's roots; host names are checked. */
function tlsOptions(files: NonNullable<RedisSettings['tls']>): ConnectionOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the Redis TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    ...(files.caFile ? { ca: read(files.caFile, 'CA') } : {}),
    ...(files.certFile && files.keyFile ? { cert: read(files.certFile, 'client certificate'), key: read(files.keyFile, 'client key') } : {}),
  };
}

function unavailable(node: string): BackendUnavailable {
  return new BackendUnavailable(`redis ${node} is unavailable (circuit open)`);
}
