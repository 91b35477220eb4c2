// The Consul HTTP calls meshgate makes, on the `consul` library, with the response index that
// blocking queries need and cancellation through an AbortSignal.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import Consul from 'consul';
import { parseIndex } from './index-rules.js';
import type { FetchResult } from './blocking-query.js';

export interface ConsulAddress {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
}

/** One service instance as /v1/health/service/<name> returns it (the fields meshgate reads). */
export interface ConsulHealthEntry {
  Node: { Node: string; Address: string; Meta?: Record<string, string> | null };
  Service: {
    ID: string;
    Service: string;
    Address: string;
    Port: number;
    Tags?: string[] | null;
    Meta?: Record<string, string> | null;
    Weights?: { Passing: number; Warning: number } | null;
  };
  Checks: Array<{ CheckID: string; Status: string; ServiceID?: string; Output?: string }>;
}

export interface ConsulKvEntry {
  Key: string;
  /** Already decoded from base64 to text by the consul library. */
  Value: string | null;
  ModifyIndex: number;
}

type ResponseTuple<T> = [{ headers: Record<string, string | string[] | undefined>; statusCode?: number }, T];

/**
 * Run one papi request with a context that aborts on the signal. The abort listener goes away
 * with the request: a blocking query asks again and again with one long-lived signal.
 */
async function withContext<T>(signal: AbortSignal, request: (ctx: EventEmitter & { includeResponse: true }) => Promise<T>): Promise<T> {
  const ctx = Object.assign(new EventEmitter(), { includeResponse: true as const });
  const cancel = (): void => void ctx.emit('cancel');
  if (signal.aborted) queueMicrotask(cancel);
  else signal.addEventListener('abort', cancel, { once: true });
  try {
    return await request(ctx);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** Consul adds up to wait/16 of jitter to a blocking query; allow for it and a slow network. */
function httpTimeout(waitMs: number): number {
  return waitMs + Math.max(waitMs / 8, 5_000);
}

export class ConsulClient {
  readonly consul: Consul;
  private readonly agent: http.Agent;

  constructor(readonly address: ConsulAddress) {
    // Blocking queries hold a connection each for up to `wait`: one per watched service.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    this.consul = new Consul({
      host: address.host,
      port: address.port,
      agent: this.agent,
      ...(address.token ? { defaults: { token: address.token } } : {}),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async catalogServices(index: bigint, waitMs: number, signal: AbortSignal): Promise<FetchResult<Record<string, string[]>>> {
    const [res, body] = await withContext(signal, async (ctx) => {
      const opts = { index: index.toString(), wait: `${waitMs}ms`, timeout: httpTimeout(waitMs), ctx };
      return (await this.consul.catalog.service.list(opts as never)) as unknown as ResponseTuple<Record<string, string[]>>;
    });
    return { index: parseIndex(res.headers['x-consul-index']), body: body ?? {} };
  }

  async healthService(service: string, index: bigint, waitMs: number, signal: AbortSignal): Promise<FetchResult<ConsulHealthEntry[]>> {
    const [res, body] = await withContext(signal, async (ctx) => {
      const opts = { service, index: index.toString(), wait: `${waitMs}ms`, timeout: httpTimeout(waitMs), ctx };
      return (await this.consul.health.service(opts as never)) as unknown as ResponseTuple<ConsulHealthEntry[]>;
    });
    return { index: parseIndex(res.headers['x-consul-index']), body: body ?? [] };
  }

  async kvPrefix(prefix: string, index: bigint, waitMs: number, signal: AbortSignal): Promise<FetchResult<ConsulKvEntry[]>> {
    const [res, body] = await withContext(signal, async (ctx) => {
      const opts = { key: prefix, recurse: true, index: index.toString(), wait: `${waitMs}ms`, timeout: httpTimeout(waitMs), ctx };
      return (await this.consul.kv.get(opts as never)) as unknown as ResponseTuple<ConsulKvEntry[] | undefined>;
    });
    return { index: parseIndex(res.headers['x-consul-index']), body: body ?? [] };
  }
}
