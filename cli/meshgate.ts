#!/usr/bin/env node
// The operator's command line: ask the xds-server which proxy has what, check config entries
// before they go to Consul, and run a sidecar.
//
//   meshgate proxy-status [--json]           every connected proxy: SYNCED, STALE or NACKED
//   meshgate config-dump NODE [--type T]     what a proxy should hold now, per type
//   meshgate routes [--role ROLE]            which path goes where, per role
//   meshgate resolved [SERVICE] [--json]     every setting as resolved, with the layer that decided it
//   meshgate instances [SERVICE] [--json]    every instance, with the registry it came from
//   meshgate validate FILE…                  config entries, checked offline
//   meshgate sidecar --service S --app-port P [--inbound-port N] [--outbound-port N]
//                    [--inbound-address A] [--admin-port N] [--stats-port N] [--xds HOST:PORT] [--delta]
//   meshgate prometheus-config --out DIR [--consul HOST:PORT] [--scrape-interval D]
//                    [--alertmanager HOST:PORT]   prometheus.yml and meshgate-rules.yml: targets
//                    from Consul (--consul), else from the xds-server (--xds-admin)
//
// The xds-server's admin address comes from --xds-admin or $MESHGATE_XDS_ADMIN
// (default http://127.0.0.1:18001); an operator key for an exposed one from $MESHGATE_ADMIN_KEY.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { adminAuthorization } from '../shared/admin-http.js';
import { hostPort, isPort } from '../shared/host-port.js';
import { writePrometheusConfig } from '../observability/write.js';
import type { ProxyStatus } from '../xds-server/server/proxy-registry.js';
import { allSynced, formatProxyStatus } from './proxy-status.js';
import { formatInstances, type MeshInstances } from './instances.js';
import { formatRoutes, type RoleRoutes } from './route-table.js';
import { runSidecar } from './sidecar.js';
import { validateEntries } from './validate.js';

const USAGE = `usage:
  meshgate proxy-status [--json]
  meshgate config-dump NODE [--type cluster|endpoint|listener|route]
  meshgate routes [--role ROLE]
  meshgate resolved [SERVICE] [--json]
  meshgate instances [SERVICE] [--json]
  meshgate validate FILE...
  meshgate sidecar --service NAME --app-port PORT [--inbound-port 15000] [--outbound-port 15001]
                   [--inbound-address 127.0.0.1] [--admin-port 19000] [--stats-port N] [--xds 127.0.0.1:18000] [--delta]
  meshgate prometheus-config --out DIR [--consul HOST:PORT | --xds-admin URL] [--scrape-interval 15s] [--alertmanager HOST:PORT]
options: --xds-admin URL (or $MESHGATE_XDS_ADMIN; default http://127.0.0.1:18001)
         $MESHGATE_ADMIN_KEY: the operator key an exposed admin asks for`;

class UsageError extends Error {}

async function getJson<T>(base: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000), headers: adminAuthorization() });
  } catch (err) {
    throw new Error(`cannot reach the xds-server admin at ${base}: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

function port(v: string | undefined, name: string, fallback?: number): number {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (!isPort(n)) throw new UsageError(`${name}: ${v} is not a port`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'xds-admin': { type: 'string' },
      json: { type: 'boolean', default: false },
      type: { type: 'string' },
      role: { type: 'string' },
      service: { type: 'string' },
      'app-port': { type: 'string' },
      'inbound-port': { type: 'string' },
      'outbound-port': { type: 'string' },
      'inbound-address': { type: 'string' },
      'admin-port': { type: 'string' },
      'stats-port': { type: 'string' },
      out: { type: 'string' },
      consul: { type: 'string' },
      'scrape-interval': { type: 'string' },
      alertmanager: { type: 'string', multiple: true },
      'node-id': { type: 'string' },
      xds: { type: 'string', default: '127.0.0.1:18000' },
      delta: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const admin = (values['xds-admin'] ?? process.env['MESHGATE_XDS_ADMIN'] ?? 'http://127.0.0.1:18001').replace(/\/$/, '');
  switch (command) {
    case 'proxy-status': {
      const proxies = await getJson<ProxyStatus[]>(admin, '/debug/proxies');
      process.stdout.write(values.json ? `${JSON.stringify(proxies, null, 2)}\n` : `${formatProxyStatus(proxies)}\n`);
      return allSynced(proxies) ? 0 : 1;
    }
    case 'config-dump': {
      const [node] = args;
      if (!node) throw new UsageError('config-dump needs a node id (see proxy-status)');
      const config = await getJson<{ types: Record<string, unknown> }>(admin, `/debug/proxies/${encodeURIComponent(node)}/config`);
      const out = values.type ? config.types[values.type] : config;
      if (out === undefined) throw new UsageError(`--type: ${values.type} is not one of cluster, endpoint, listener, route`);
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    case 'routes': {
      const snapshots = await getJson<Array<{ role: string }>>(admin, '/debug/snapshots');
      const roles: RoleRoutes[] = [];
      for (const { role } of snapshots) {
        if (values.role && role !== values.role) continue;
        const snap = await getJson<{ route: { resources: Array<Record<string, unknown>> } }>(admin, `/debug/snapshots/${encodeURIComponent(role)}`);
        roles.push({ role, routeConfigs: snap.route.resources });
      }
      process.stdout.write(`${formatRoutes(roles)}\n`);
      return 0;
    }
    case 'resolved': {
      const [service] = args;
      const view = await getJson<unknown>(admin, `/debug/resolved${service ? `?service=${encodeURIComponent(service)}` : ''}`);
      process.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : YAML.stringify(view, { lineWidth: 0, aliasDuplicateObjects: false }));
      return 0;
    }
    case 'instances': {
      const [service] = args;
      const mesh = await getJson<MeshInstances>(admin, '/debug/mesh');
      if (service && !mesh.services.some((s) => s.name === service)) throw new Error(`no service ${service} in the mesh`);
      process.stdout.write(values.json ? `${JSON.stringify({ registries: mesh.registries, services: mesh.services.filter((s) => !service || s.name === service) }, null, 2)}
` : `${formatInstances(mesh, service)}
`);
      return 0;
    }
    case 'validate': {
      if (args.length === 0) throw new UsageError('validate needs at least one file');
      let ok = true;
      for (const file of args) {
        let text: string;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch (err) {
          process.stdout.write(`${file}: cannot read: ${(err as Error).message}\n`);
          ok = false;
          continue;
        }
        const r = validateEntries(text, file);
        process.stdout.write(`${r.lines.join('\n')}\n`);
        ok &&= r.ok;
      }
      return ok ? 0 : 1;
    }
    case 'sidecar': {
      if (!values.service) throw new UsageError('sidecar needs --service');
      return runSidecar({
        service: values.service,
        appPort: port(values['app-port'], '--app-port'),
        ...(values['inbound-port'] ? { inboundPort: port(values['inbound-port'], '--inbound-port') } : {}),
        ...(values['outbound-port'] ? { outboundPort: port(values['outbound-port'], '--outbound-port') } : {}),
        ...(values['inbound-address'] ? { inboundAddress: values['inbound-address'] } : {}),
        ...(values['node-id'] ? { nodeId: values['node-id'] } : {}),
        adminPort: port(values['admin-port'], '--admin-port', 19_000),
        ...(values['stats-port'] ? { statsPort: port(values['stats-port'], '--stats-port') } : {}),
        xds: values.xds!,
        delta: values.delta!,
      });
    }
    case 'prometheus-config': {
      if (!values.out) throw new UsageError('prometheus-config needs --out DIR');
      // Prometheus' own Consul discovery with --consul; else the xds-server's (Debian's Prometheus has no Consul discovery).
      const consul = values.consul ? hostPort(values.consul, '--consul') : undefined;
      const written = writePrometheusConfig(values.out, {
        discovery: consul ? { kind: 'consul', ...consul } : { kind: 'xds-server', url: admin },
        ...(values['scrape-interval'] ? { scrapeInterval: values['scrape-interval'] } : {}),
        ...(values.alertmanager ? { alertmanagers: values.alertmanager } : {}),
      });
      process.stdout.write(`${written.join('\n')}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`meshgate: ${err.message}\n${err instanceof UsageError ? `${USAGE}\n` : ''}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
