// The flags every demo service instance takes, and its registration from them: in Consul (the
// default), or with `--registry zookeeper|eureka` in that registry, the way its own clients
// register (demo/registration/).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConsulClient } from '../shared/consul/client.js';
import { advertisedAddress, registerSelf, type SelfRegistration } from '../shared/consul/registration.js';
import { hostPort } from '../shared/host-port.js';
import { registerInEureka } from './registration/eureka.js';
import type { Registration } from './registration/registration.js';
import { registerInZooKeeper } from './registration/zookeeper.js';

export interface InstanceFlags {
  readonly service: string;
  readonly instance: string;
  readonly host: string;
  readonly port: number;
  readonly meta: Record<string, string>;
  readonly tags: string[];
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Register at `port` (in Consul with this check); returns the deregistration. */
  register(port: number, check: (address: string) => SelfRegistration['check']): Promise<() => Promise<void>>;
  /** Tell the registry the instance is in or out of service (Consul reads it from the check instead). */
  setHealthy(healthy: boolean): Promise<void>;
  /** Change its registered metadata (ZooKeeper and Eureka; Consul's is fixed at registration). */
  setMeta(changes: Readonly<Record<string, string>>): Promise<void>;
  close(): void;
  /** On SIGTERM or SIGINT, once: deregister, close the server, exit. */
  stopOnSignals(deregister: () => Promise<void>, closeServer: () => Promise<void> | void): void;
}

export function instanceFlags(defaultService: string, extra: NonNullable<ParseArgsConfig['options']> = {}): InstanceFlags {
  const { values } = parseArgs({
    options: {
      service: { type: 'string', default: defaultService },
      id: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      // The address registered in Consul (Envoy needs an IP); defaults to --host, or to this
      // machine's first non-loopback IPv4 address when --host is 0.0.0.0 (containers).
      advertise: { type: 'string' },
      port: { type: 'string', default: '0' },
      consul: { type: 'string', default: process.env['CONSUL_HTTP_ADDR'] ?? '127.0.0.1:8500' },
      meta: { type: 'string', multiple: true, default: [] },
      tag: { type: 'string', multiple: true, default: [] },
      'check-interval': { type: 'string', default: '1s' },
      registry: { type: 'string', default: 'consul' },
      zookeeper: { type: 'string', default: process.env['MESHGATE_ZOOKEEPER'] ?? '127.0.0.1:2181' },
      'zookeeper-base-path': { type: 'string', default: '/services' },
      'zookeeper-session-timeout': { type: 'string', default: '30000' },
      eureka: { type: 'string', default: process.env['MESHGATE_EUREKA_URL'] ?? 'http://127.0.0.1:8761/eureka' },
      'eureka-heartbeat': { type: 'string', default: '30000' },
      ...extra,
    },
  });
  const service = values.service as string;
  const instance = (values.id as string | undefined) ?? `${service}-${process.pid}`;
  const meta = Object.fromEntries(
    (values.meta as string[]).map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw new Error(`--meta ${kv}: expected key=value`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const consul = new ConsulClient(hostPort(values.consul as string, '--consul'));
  const host = values.host as string;
  const registry = values.registry as string;
  if (!['consul', 'zookeeper', 'eureka'].includes(registry)) throw new Error(`--registry ${registry}: consul, zookeeper or eureka`);
  let registration: Registration | undefined;
  return {
    service,
    instance,
    host,
    port: Number(values.port),
    meta,
    tags: values.tag as string[],
    values,
    async register(port, check) {
      const address = advertisedAddress(host, values.advertise as string | undefined);
      try {
        const where = { service, instance, address, port, meta };
        if (registry === 'zookeeper') {
          const r = await registerInZooKeeper({
            ...where,
            connect: values.zookeeper as string,
            basePath: values['zookeeper-base-path'] as string,
            sessionTimeoutMs: Number(values['zookeeper-session-timeout']),
          });
          registration = r;
          return () => r.deregister();
        }
        if (registry === 'eureka') {
          const r = await registerInEureka({ ...where, url: values.eureka as string, heartbeatMs: Number(values['eureka-heartbeat']) });
          registration = r;
          return () => r.deregister();
        }
        return await registerSelf(consul, {
          id: instance,
          name: service,
          address,
          port,
          tags: values.tag as string[],
          meta,
          check: check(address),
          checkInterval: values['check-interval'] as string,
        });
      } catch (err) {
        process.stderr.write(`could not register ${instance} in ${registry}: ${(err as Error).message}\n`);
        process.exit(1);
      }
    },
    setHealthy: async (healthy) => registration?.setHealthy(healthy),
    async setMeta(changes) {
      if (!registration) throw new Error('metadata is fixed at registration in Consul');
      await registration.setMeta(changes);
    },
    close: () => consul.close(),
    stopOnSignals(deregister, closeServer) {
      let stopping = false;
      const stop = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        await deregister().catch((err: Error) => process.stderr.write(`deregister ${instance} failed: ${err.message}\n`));
        consul.close();
        await closeServer();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop());
      process.on('SIGINT', () => void stop());
    },
  };
}
