// A running gateway's listener, routes and clusters, taken from its config dump and served again
// by a static Envoy: the benches that measure one part of the gateway's configuration change
// that part alone, and measure every variant beside the others.
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, waitServing, type ManagedProcess } from '../../launcher/process.js';
import { toolPath } from '../../launcher/repo.js';

export type Json = Record<string, unknown>;

export const clone = <T>(v: T): T => structuredClone(v);
const withoutType = (o: Json): Json => {
  const { ['@type']: _, ...rest } = o;
  return rest;
};

export interface Dumped {
  readonly listener: Json;
  readonly routes: Json;
  readonly clusters: Json[];
}

/** The gateway's listener, route configuration and clusters (endpoints inline) from its config dump. */
export function dumped(dump: { configs: Json[] }): Dumped {
  const of = (suffix: string): Json => dump.configs.find((c) => String(c['@type']).endsWith(`.${suffix}`))!;
  const listeners = (of('ListenersConfigDump')['dynamic_listeners'] as Json[]).map((l) => (l['active_state'] as Json)['listener'] as Json);
  const listener = withoutType(listeners.find((l) => l['name'] === 'gateway_http')!);
  const routes = withoutType((of('RoutesConfigDump')['dynamic_route_configs'] as Json[]).map((r) => r['route_config'] as Json).find((r) => r['name'] === 'gateway_routes')!);
  const endpoints = new Map(
    ((of('EndpointsConfigDump')['dynamic_endpoint_configs'] as Json[] | undefined) ?? []).map((e) => {
      const cla = withoutType(e['endpoint_config'] as Json);
      return [cla['cluster_name'] as string, cla] as const;
    }),
  );
  const clusters = (of('ClustersConfigDump')['dynamic_active_clusters'] as Json[]).map((c) => {
    const cluster = withoutType(c['cluster'] as Json);
    if (cluster['type'] === 'EDS') {
      delete cluster['eds_cluster_config'];
      cluster['type'] = 'STATIC';
      cluster['load_assignment'] = endpoints.get(cluster['name'] as string) ?? { cluster_name: cluster['name'] };
    }
    return cluster;
  });
  return { listener, routes, clusters };
}

/** The listener's HTTP connection manager (its only filter). */
export function hcmOf(listener: Json): Json {
  const chain = (listener['filter_chains'] as Json[])[0]!;
  return (chain['filters'] as Json[])[0]!['typed_config'] as Json;
}

/** A static bootstrap serving `listener` (its routes inline) on `port`. */
export function bootstrap(d: Dumped, port: number, adminPort: number, listener: Json): Json {
  const l = clone(listener);
  l['address'] = { socket_address: { address: '127.0.0.1', port_value: port } };
  const hcm = hcmOf(l);
  delete hcm['rds'];
  hcm['route_config'] = clone(d.routes);
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: { listeners: [l], clusters: d.clusters },
    layered_runtime: { layers: [{ name: 'static', static_layer: { 're2.max_program_size.error_level': 20000, 're2.max_program_size.warn_level': 20000 } }] },
  };
}

export interface StaticEnvoy {
  readonly proc: ManagedProcess;
  readonly pid: number;
  /** Its admin API's base URL. */
  readonly admin: string;
  /** Its first listener's port. */
  readonly port: number;
}

/** Envoy (one worker) serving `config` from a file in `dir`, up once its admin says ready. */
export async function startStaticEnvoy(name: string, config: Json, dir: string): Promise<StaticEnvoy> {
  const listener = ((config['static_resources'] as Json)['listeners'] as Json[])[0]!;
  const file = path.join(dir, `${name.replace(/\W+/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const proc = startProcess('envoy', toolPath('envoy'), {
    args: ['-c', file, '--disable-hot-restart', '--log-level', 'error', '--concurrency', '1', '--file-flush-interval-msec', '1000'],
    logFile: path.join(dir, `${name.replace(/\W+/g, '-')}.log`),
  });
  const adminPort = (((config['admin'] as Json)['address'] as Json)['socket_address'] as Json)['port_value'];
  await waitServing(proc, `${name}: envoy admin`, async () => (await fetch(`http://127.0.0.1:${adminPort}/ready`)).ok, { timeoutMs: 15_000, intervalMs: 100 }, { signal: 'SIGKILL', graceMs: 5_000 });
  const port = Number(((listener['address'] as Json)['socket_address'] as Json)['port_value']);
  return { proc, pid: proc.pid!, admin: `http://127.0.0.1:${adminPort}`, port };
}
