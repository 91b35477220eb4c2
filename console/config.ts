// The console's flags: where it listens, and where its data comes from — the xds-server's admin
// (services, instances, health, proxies, config entries) and Prometheus (series and alerts).
import { parseArgs } from 'node:util';
import { hostPort } from '../shared/host-port.js';
import { durationFlag } from '../shared/validate/duration.js';

export interface ConsoleConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly xdsAdmin: string;
  /** Prometheus' URL; undefined: no series or alerts (the page says so). */
  readonly prometheus: string | undefined;
  /** How long the console waits for one source before it shows that source as unreachable. */
  readonly sourceTimeoutMs: number;
}

export const USAGE = `console: the operators' page — services, traffic, proxies, config, alerts
usage: node dist/console/main.js [flags]
  --listen HOST:PORT         where the page is served            [127.0.0.1:9300]
  --xds-admin URL            the xds-server's admin               [$MESHGATE_XDS_ADMIN, http://127.0.0.1:18001]
  --prometheus URL           Prometheus (series, alerts)          [$MESHGATE_PROMETHEUS, none]
  --source-timeout DURATION  how long one source may take          [3s]
`;

export function parseConsoleConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      'xds-admin': { type: 'string' },
      prometheus: { type: 'string' },
      'source-timeout': { type: 'string' },
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
  return {
    listen: hostPort(values.listen ?? '127.0.0.1:9300', '--listen'),
    xdsAdmin: url(values['xds-admin'] ?? env['MESHGATE_XDS_ADMIN'] ?? 'http://127.0.0.1:18001', '--xds-admin'),
    prometheus: prometheus ? url(prometheus, '--prometheus') : undefined,
    sourceTimeoutMs: durationFlag(values['source-timeout'] ?? '3s', '--source-timeout'),
  };
}
