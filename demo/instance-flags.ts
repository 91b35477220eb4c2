// The flags every demo service instance takes, and its Consul registration from them.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConsulClient } from '../shared/consul/client.js';
import { advertisedAddress, registerSelf, type SelfRegistration } from '../shared/consul/registration.js';
import { hostPort } from '../shared/host-port.js';

export interface InstanceFlags {
  readonly service: string;
  readonly instance: string;
  readonly host: string;
  readonly port: number;
  readonly meta: Record<string, string>;
  readonly tags: string[];
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Register in Consul at `port` with this check; returns the deregistration. */
  register(port: number, check: (address: string) => SelfRegistration['check']): Promise<() => Promise<void>>;
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
        process.stderr.write(`could not register ${instance} in Consul at ${values.consul}: ${(err as Error).message}\n`);
        process.exit(1);
      }
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
