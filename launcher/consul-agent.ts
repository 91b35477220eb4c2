// A real Consul agent on loopback, every port moved to a free one so agents can run side by
// side, plus the handful of HTTP API calls the tests and the demo make.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { toolPath } from './repo.js';

export interface ConsulAgentOptions {
  /** HTTP API port (else a free one). */
  readonly httpPort?: number;
  /**
   * Keep state in this directory across restarts (a single-server agent); otherwise a
   * `-dev` agent that forgets everything when it stops.
   */
  readonly dataDir?: string;
  readonly logFile?: string;
  readonly nodeName?: string;
  /** limits.http_max_conns_per_client (Consul's default is 200); default 4096. */
  readonly httpMaxConnsPerClient?: number;
}

export interface ServiceRegistration {
  readonly ID: string;
  readonly Name: string;
  readonly Address?: string;
  readonly Port?: number;
  readonly Tags?: string[];
  readonly Meta?: Record<string, string>;
  readonly Check?: Record<string, unknown>;
  readonly Checks?: Array<Record<string, unknown>>;
}

export class ConsulApi {
  constructor(readonly baseUrl: string) {}

  private async call(method: string, pathAndQuery: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.baseUrl}${pathAndQuery}`, {
      method,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`consul ${method} ${pathAndQuery}: ${res.status} ${await res.text()}`);
    return res;
  }

  async register(service: ServiceRegistration): Promise<void> {
    await this.call('PUT', '/v1/agent/service/register', service);
  }

  async deregister(serviceId: string): Promise<void> {
    await this.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`);
  }

  /** Set a TTL check's status: pass, warn or fail. */
  async ttl(checkId: string, status: 'pass' | 'warn' | 'fail', note = ''): Promise<void> {
    await this.call('PUT', `/v1/agent/check/${status}/${encodeURIComponent(checkId)}?note=${encodeURIComponent(note)}`);
  }

  async maintenance(serviceId: string, enable: boolean): Promise<void> {
    await this.call('PUT', `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}?enable=${enable}&reason=test`);
  }

  async kvPut(key: string, value: string): Promise<void> {
    await this.call('PUT', `/v1/kv/${key}`, value);
  }

  /** A key's value (raw), or undefined when it is not there. */
  async kvGet(key: string): Promise<string | undefined> {
    const res = await fetch(`${this.baseUrl}/v1/kv/${key}?raw`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`consul GET /v1/kv/${key}: ${res.status}`);
    return res.text();
  }

  async kvDelete(key: string): Promise<void> {
    await this.call('DELETE', `/v1/kv/${key}`);
  }

  async healthService(name: string): Promise<Array<{ Service: { ID: string; Address: string; Port: number; Meta: Record<string, string> | null }; Checks: Array<{ CheckID: string; Status: string }> }>> {
    return (await this.call('GET', `/v1/health/service/${encodeURIComponent(name)}`)).json() as never;
  }

  async leader(): Promise<string> {
    return (await (await this.call('GET', '/v1/status/leader')).json()) as string;
  }
}

export class ConsulAgent {
  readonly address: string;
  readonly api: ConsulApi;
  private proc: ManagedProcess | undefined;

  constructor(
    readonly httpPort: number,
    private readonly args: readonly string[],
    private readonly options: ConsulAgentOptions,
  ) {
    this.address = `127.0.0.1:${httpPort}`;
    this.api = new ConsulApi(`http://${this.address}`);
  }

  get process(): ManagedProcess {
    if (!this.proc) throw new Error('consul is not running');
    return this.proc;
  }

  /** Start (or start again, on the same ports and data) and wait for a leader. */
  async start(): Promise<void> {
    const proc = startProcess('consul', toolPath('consul'), {
      args: this.args,
      ...(this.options.logFile ? { logFile: this.options.logFile } : {}),
      // Consul writes a checkpoint file to $HOME unless told not to; keep it quiet and local.
      env: { CHECKPOINT_DISABLE: '1', HOME: this.options.dataDir ?? os.tmpdir() },
    });
    this.proc = proc;
    await waitServing(proc, 'consul to elect a leader', async () => (await this.api.leader()) !== '', { timeoutMs: 20_000, intervalMs: 100 }, { signal: 'SIGKILL', graceMs: 5_000 });
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM', 5_000);
  }
}

export async function startConsul(options: ConsulAgentOptions = {}): Promise<ConsulAgent> {
  const [httpPort, dns, serfLan, serfWan, server, grpc] = await freePorts(6);
  const port = options.httpPort ?? httpPort!;
  const nodeName = options.nodeName ?? `meshgate-${process.pid}-${port}`;
  const args = [
    'agent',
    '-bind=127.0.0.1',
    '-client=127.0.0.1',
    `-node=${nodeName}`,
    `-http-port=${port}`,
    `-dns-port=${dns}`,
    `-serf-lan-port=${serfLan}`,
    `-serf-wan-port=${serfWan}`,
    `-server-port=${server}`,
    `-grpc-port=${grpc}`,
    '-log-level=warn',
    '-disable-host-node-id',
    // The xds-server holds one blocking query per service: Consul's default of 200 HTTP
    // connections per client address would refuse a mesh of more than ~200 services.
    `-hcl=limits { http_max_conns_per_client = ${options.httpMaxConnsPerClient ?? 4096} }`,
  ];
  if (options.dataDir) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    args.push('-server', '-bootstrap-expect=1', `-data-dir=${options.dataDir}`, '-hcl=performance { raft_multiplier = 1 }');
  } else {
    args.push('-dev');
  }
  const agent = new ConsulAgent(port, args, options);
  await agent.start();
  return agent;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `meshgate-${prefix}-`));
}
