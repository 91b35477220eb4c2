// The console's flags: where it listens, and where its data comes from — the xds-server's admin
// (services, instances, health, proxies, config entries) and Prometheus (series and alerts).
import { parseArgs } from 'node:util';
import { hostPort, isLoopback } from '../shared/host-port.js';
import { isPolicyName, isServiceName, POLICY_NAME_HINT, SERVICE_NAME_HINT } from '../shared/validate/names.js';
import { durationFlag } from '../shared/validate/duration.js';
import { positiveInteger } from '../shared/validate/positive-integer.js';

export interface ConsoleConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly xdsAdmin: string;
  /** Prometheus' URL; undefined: no series or alerts (the page says so). */
  readonly prometheus: string | undefined;
  /** How long the console waits for one source before it shows that source as unreachable. */
  readonly sourceTimeoutMs: number;
  /** Envoy's gRPC access-log service: the gateway's requests, kept in a window. */
  readonly grpc: { readonly host: string; readonly port: number };
  readonly requestsKept: number;
  /** Register in Consul (as `meshgate-console`) so that the xds-server's --access-log-service finds it. */
  readonly consul: { readonly host: string; readonly port: number; readonly token?: string } | undefined;
  readonly register: boolean;
  /** Without Prometheus: how often the console scrapes the targets itself. */
  readonly scrapeIntervalMs: number;
  /**
   * Served through the gateway at this path (registered as meshgate-console-web with --register):
   * a caller there is who ext-authz says (its identity headers), with the role its scopes give.
   */
  readonly gateway: { readonly path: string; readonly login?: string; readonly authPolicy?: string } | undefined;
  /** The scopes that make a caller an operator, a viewer. */
  readonly operatorScope: string;
  readonly viewerScope: string;
}

export const USAGE = `console: the operators' page — services, traffic, proxies, config, alerts
usage: node dist/console/main.js [flags]
  --listen HOST:PORT         where the page is served            [127.0.0.1:9300]
  --xds-admin URL            the xds-server's admin               [$MESHGATE_XDS_ADMIN, http://127.0.0.1:18001]
  --prometheus URL           Prometheus (series, alerts)          [$MESHGATE_PROMETHEUS, none:
                             the console scrapes the same targets itself, bounded; no alerts]
  --scrape-interval DURATION without Prometheus, how often it scrapes [15s]
  --source-timeout DURATION  how long one source may take          [3s]
  --grpc HOST:PORT           Envoy's gRPC access-log service (the gateway's requests) [127.0.0.1:9301]
  --requests-kept N          recent requests kept, newest first    [10000]
  --consul HOST:PORT         Consul, to register in                [$CONSUL_HTTP_ADDR]
  --register                 register as meshgate-console (the xds-server's --access-log-service)
  --gateway-path PATH        also served through the gateway at PATH ("/console/"); with --register
                             the page registers as meshgate-console-web there. A caller through the
                             gateway is who ext-authz established; keep --listen where only the
                             gateway reaches it (loopback, the default)  [none]
  --login NAME               the gateway's browser-login entry for the page      [none]
  --auth-policy NAME         ext-authz's policy for the page                     [the default]
  --trust-identity-headers   with --gateway-path on an address other than loopback: only the
                             gateway can reach --listen (a private network), so its identity
                             headers are the gateway's (refused to start without it)
  --operator-scope S         the scope (or role) that makes a caller an operator [meshgate:operator]
  --viewer-scope S           the scope (or role) that makes a caller a viewer    [meshgate:viewer]
`;

export function parseConsoleConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      'xds-admin': { type: 'string' },
      prometheus: { type: 'string' },
      'source-timeout': { type: 'string' },
      'scrape-interval': { type: 'string' },
      grpc: { type: 'string' },
      'requests-kept': { type: 'string' },
      consul: { type: 'string' },
      register: { type: 'boolean' },
      'gateway-path': { type: 'string' },
      login: { type: 'string' },
      'auth-policy': { type: 'string' },
      'trust-identity-headers': { type: 'boolean' },
      'operator-scope': { type: 'string' },
      'viewer-scope': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const url = (v: string, flag: string): string => {
    try {
      return new URL(v).toString().replace(/\/$/, '');
    } catch {
      throw new Error(`${flag}: ${JSON.stringify(v)} is not a URL`);
    }
  };
  const prometheus = values.prometheus ?? env['MESHGATE_PROMETHEUS'];
  const consul = values.consul ?? env['CONSUL_HTTP_ADDR'];
  if (values.register && !consul) throw new Error('--register needs --consul (or $CONSUL_HTTP_ADDR)');
  const gatewayPath = values['gateway-path'];
  if (gatewayPath !== undefined && !/^\/([A-Za-z0-9._~-]+\/)+$/.test(gatewayPath)) throw new Error(`--gateway-path: ${JSON.stringify(gatewayPath)} must be a path that starts and ends with "/" ("/console/")`);
  if ((values.login || values['auth-policy']) && gatewayPath === undefined) throw new Error('--login and --auth-policy need --gateway-path');
  const listen = hostPort(values.listen ?? '127.0.0.1:9300', '--listen');
  if (gatewayPath !== undefined && !isLoopback(listen.host) && !values['trust-identity-headers']) {
    throw new Error(
      `--gateway-path on ${listen.host}: the console would take the identity headers of anyone who reaches that address as the gateway's. Listen on loopback, or say --trust-identity-headers when only the gateway can reach it`,
    );
  }
  // Named as the xds-server reads them from the registration's meta.
  if (values.login !== undefined && !isServiceName(values.login)) throw new Error(`--login: ${JSON.stringify(values.login)} is not ${SERVICE_NAME_HINT} (a browser-login entry's name)`);
  if (values['auth-policy'] !== undefined && !isPolicyName(values['auth-policy'])) throw new Error(`--auth-policy: ${JSON.stringify(values['auth-policy'])} is not ${POLICY_NAME_HINT}`);
  return {
    listen,
    xdsAdmin: url(values['xds-admin'] ?? env['MESHGATE_XDS_ADMIN'] ?? 'http://127.0.0.1:18001', '--xds-admin'),
    prometheus: prometheus ? url(prometheus, '--prometheus') : undefined,
    sourceTimeoutMs: durationFlag(values['source-timeout'] ?? '3s', '--source-timeout'),
    grpc: hostPort(values.grpc ?? '127.0.0.1:9301', '--grpc'),
    requestsKept: positiveInteger(values['requests-kept'], '--requests-kept', 10_000),
    consul: consul ? { ...hostPort(consul, '--consul'), ...(env['CONSUL_HTTP_TOKEN'] ? { token: env['CONSUL_HTTP_TOKEN'] } : {}) } : undefined,
    register: values.register ?? false,
    scrapeIntervalMs: durationFlag(values['scrape-interval'] ?? '15s', '--scrape-interval'),
    gateway:
      gatewayPath === undefined
        ? undefined
        : { path: gatewayPath, ...(values.login ? { login: values.login } : {}), ...(values['auth-policy'] ? { authPolicy: values['auth-policy'] } : {}) },
    operatorScope: values['operator-scope'] ?? 'meshgate:operator',
    viewerScope: values['viewer-scope'] ?? 'meshgate:viewer',
  };
}
