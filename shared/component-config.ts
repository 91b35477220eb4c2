// The settings every Envoy-facing meshgate service shares (ext-authz, ratelimit-service): where
// it listens, its admin port, Consul, the KV prefix it watches, its own registration — and the
// registration itself.
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { ConsulClient } from './consul/client.js';
import { registerInfrastructure, type SelfRegistration } from './consul/registration.js';
import { H2_LIMIT_OPTIONS, h2LimitsFrom, type H2Limits } from './h2/limits.js';
import { hostPort } from './host-port.js';

export interface ComponentConfig {
  readonly listen: { host: string; port: number };
  readonly admin: { host: string; port: number };
  readonly consul: { host: string; port: number; token?: string } | undefined;
  readonly consulPrefix: string | undefined;
  readonly register: boolean;
  readonly serviceName: string;
  readonly serviceId: string;
  readonly advertise: string | undefined;
  /** The HTTP/2 server's bounds (--h2-* flags; shared/h2/README.md). */
  readonly h2Limits: H2Limits;
}

export const COMPONENT_OPTIONS = {
  listen: { type: 'string' },
  admin: { type: 'string' },
  consul: { type: 'string' },
  'consul-prefix': { type: 'string' },
  register: { type: 'boolean' },
  'service-name': { type: 'string' },
  'service-id': { type: 'string' },
  advertise: { type: 'string' },
  help: { type: 'boolean' },
  ...(H2_LIMIT_OPTIONS as Record<`h2-${string}`, { type: 'string' }>),
} as const;

/** The usage lines of the flags every component shares beyond its own. */
export const H2_LIMITS_USAGE = `  --h2-…                     the HTTP/2 server's limits, e.g. --h2-max-concurrent-streams 1000
                             (every flag, its default and what a client sees: shared/h2/README.md)
`;

export interface ComponentDefaults {
  readonly listenEnv: string;
  readonly listen: string;
  readonly admin: string;
  readonly serviceName: string;
}

type Values = ReturnType<typeof parseArgs<{ options: typeof COMPONENT_OPTIONS }>>['values'];

export function componentConfig(values: Values, env: NodeJS.ProcessEnv, d: ComponentDefaults): ComponentConfig {
  const listen = hostPort(values.listen ?? env[d.listenEnv] ?? d.listen, '--listen');
  const consulAddr = values.consul ?? env['CONSUL_HTTP_ADDR'];
  const consul = consulAddr ? { ...hostPort(consulAddr, '--consul'), ...(env['CONSUL_HTTP_TOKEN'] ? { token: env['CONSUL_HTTP_TOKEN'] } : {}) } : undefined;
  const register = values.register ?? false;
  if ((values['consul-prefix'] || register) && !consul) throw new Error('--consul-prefix and --register need --consul');
  const serviceName = values['service-name'] ?? d.serviceName;
  return {
    listen,
    admin: hostPort(values.admin ?? d.admin, '--admin'),
    consul,
    consulPrefix: values['consul-prefix'],
    register,
    serviceName,
    serviceId: values['service-id'] ?? `${serviceName}-${listen.port}`,
    advertise: values.advertise,
    h2Limits: h2LimitsFrom(values),
  };
}

/**
 * Register a component in Consul when it was asked to (--register), as infrastructure: gRPC,
 * never routed by the gateway. Returns how to deregister on the way out (never throws).
 */
export async function registerComponent(
  consul: ConsulClient | undefined,
  config: ComponentConfig,
  port: number,
  log: Logger,
  extra: { readonly meta?: Record<string, string>; readonly check: (address: string) => SelfRegistration['check'] },
): Promise<() => Promise<void>> {
  if (!consul || !config.register) return async () => undefined;
  const deregister = await registerInfrastructure(consul, {
    id: config.serviceId,
    name: config.serviceName,
    listenHost: config.listen.host,
    ...(config.advertise ? { advertise: config.advertise } : {}),
    port,
    admin: config.admin,
    check: extra.check,
    ...(extra.meta ? { meta: extra.meta } : {}),
  });
  return () => deregister().catch((err: Error) => log.warn({ err: err.message }, 'deregistration failed'));
}
