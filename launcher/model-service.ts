// Demo model service instances as child processes, up once Consul knows them.
import { startProcess, type ManagedProcess } from './process.js';
import { distPath } from './repo.js';
import { waitFor } from './wait.js';

export interface ModelServiceOptions {
  /** The demo program: the HTTP model service (default), the gRPC echo service, or the gRPC inference service (reflection on). */
  readonly program?: 'model-service' | 'grpc-echo' | 'grpc-inference';
  /** The program's own flags (grpc-inference: --reflection full|grpc-node|off). */
  readonly extraArgs?: readonly string[];
  readonly service: string;
  readonly id: string;
  readonly consulAddress: string;
  readonly meta?: Record<string, string>;
  readonly tags?: string[];
  readonly port?: number;
  readonly checkInterval?: string;
  readonly logFile?: string;
  /** The outbound port of the instance's sidecar, for GET /call/<service>/… */
  readonly sidecarOutbound?: number;
  /** Register in this registry instead of Consul (demo/registration/). */
  readonly registry?: InstanceRegistry;
}

export type InstanceRegistry =
  | { readonly kind: 'zookeeper'; readonly connect: string; readonly sessionTimeoutMs?: number }
  | { readonly kind: 'eureka'; readonly url: string; readonly heartbeatMs?: number };

function registryArgs(r: InstanceRegistry | undefined): string[] {
  if (!r) return [];
  if (r.kind === 'zookeeper') return ['--registry=zookeeper', `--zookeeper=${r.connect}`, ...(r.sessionTimeoutMs ? [`--zookeeper-session-timeout=${r.sessionTimeoutMs}`] : [])];
  return ['--registry=eureka', `--eureka=${r.url}`, ...(r.heartbeatMs ? [`--eureka-heartbeat=${r.heartbeatMs}`] : [])];
}

export interface ModelServiceProcess {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly process: ManagedProcess;
  setHealthy(healthy: boolean): Promise<void>;
  /** Change its registered metadata (ZooKeeper and Eureka registrations). */
  setMeta(changes: Record<string, string>): Promise<void>;
  /** Answer every echo with this status while the health check stays green; undefined heals. */
  failWith(status: number | undefined): Promise<void>;
  stop(): Promise<void>;
}

export async function startModelService(options: ModelServiceOptions): Promise<ModelServiceProcess> {
  const args = [
    distPath('demo', `${options.program ?? 'model-service'}.js`),
    `--service=${options.service}`,
    `--id=${options.id}`,
    `--consul=${options.consulAddress}`,
    `--port=${options.port ?? 0}`,
    `--check-interval=${options.checkInterval ?? '1s'}`,
    ...Object.entries(options.meta ?? {}).map(([k, v]) => `--meta=${k}=${v}`),
    ...(options.tags ?? []).map((t) => `--tag=${t}`),
    ...(options.sidecarOutbound ? [`--sidecar-outbound=${options.sidecarOutbound}`] : []),
    ...registryArgs(options.registry),
    ...(options.extraArgs ?? []),
  ];
  const proc = startProcess(options.id, process.execPath, { args, ...(options.logFile ? { logFile: options.logFile } : {}) });
  let port = 0;
  try {
    port = await waitFor(
      `${options.id} to register in ${options.registry?.kind ?? 'Consul'}`,
      () => {
        if (!proc.running()) throw new Error(`${options.id} exited: ${proc.tail()}`);
        const line = proc.tail().split('\n').find((l) => l.includes('"registered"'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      },
      { timeoutMs: 10_000 },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    id: options.id,
    port,
    url,
    process: proc,
    async setHealthy(healthy: boolean) {
      const res = await fetch(`${url}/_demo/health?healthy=${healthy}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`${options.id}: could not set health`);
    },
    async setMeta(changes: Record<string, string>) {
      const res = await fetch(`${url}/_demo/meta?${new URLSearchParams(changes).toString()}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`${options.id}: could not set its metadata: ${await res.text()}`);
    },
    async failWith(status: number | undefined) {
      const res = await fetch(`${url}/_demo/fail${status ? `?status=${status}` : ''}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`${options.id}: could not set the failure mode`);
    },
    stop: () => proc.stop('SIGTERM', 5_000),
  };
}
