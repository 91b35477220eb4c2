// A demo instance registered in Eureka by a Eureka client library (eureka-js-client): it
// registers, renews its lease with heartbeats, and cancels it when it stops, as a Spring Cloud
// Netflix client does. Taken out of service the way Spring's EurekaServiceRegistry.setStatus
// does it: the server's status override (`PUT /eureka/apps/{app}/{id}/status?value=OUT_OF_SERVICE`),
// removed again to put it back.
import { Eureka } from 'eureka-js-client';
import type { Registration } from './registration.js';

export interface EurekaRegistrationOptions {
  /** The server's REST base, e.g. http://127.0.0.1:8761/eureka */
  readonly url: string;
  readonly service: string;
  readonly instance: string;
  readonly address: string;
  readonly port: number;
  readonly meta: Readonly<Record<string, string>>;
  /** How often the lease is renewed; it lapses after three missed renewals. */
  readonly heartbeatMs?: number;
}

export async function registerInEureka(o: EurekaRegistrationOptions): Promise<Registration> {
  const url = new URL(o.url);
  const app = o.service.toUpperCase();
  const heartbeatMs = o.heartbeatMs ?? 30_000;
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const client = new Eureka({
    instance: {
      app,
      instanceId: o.instance,
      hostName: o.address,
      ipAddr: o.address,
      port: { $: o.port, '@enabled': true },
      vipAddress: o.service,
      statusPageUrl: `http://${o.address}:${o.port}/health`,
      healthCheckUrl: `http://${o.address}:${o.port}/health`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: { ...o.meta },
      leaseInfo: { renewalIntervalInSecs: Math.max(1, Math.round(heartbeatMs / 1000)), durationInSecs: Math.max(3, Math.round((3 * heartbeatMs) / 1000)) },
    } as never,
    eureka: {
      host: url.hostname,
      port: Number(url.port || 80),
      servicePath: `${url.pathname.replace(/\/+$/, '')}/apps/`,
      heartbeatInterval: heartbeatMs,
      fetchRegistry: false,
      maxRetries: 10,
      requestRetryDelay: 200,
    } as never,
    logger: { debug: () => undefined, info: () => undefined, warn: (...a: unknown[]) => process.stderr.write(`eureka: ${a.join(' ')}\n`), error: (...a: unknown[]) => process.stderr.write(`eureka: ${a.join(' ')}\n`), level: () => undefined } as never,
  });
  await new Promise<void>((resolve, reject) => client.start((err?: Error) => (err ? reject(err) : resolve())));
  const status = `${base}/apps/${app}/${encodeURIComponent(o.instance)}/status`;
  return {
    async setHealthy(healthy) {
      const res = await fetch(healthy ? `${status}?value=UP` : `${status}?value=OUT_OF_SERVICE`, { method: healthy ? 'DELETE' : 'PUT' });
      if (!res.ok) throw new Error(`eureka status override: HTTP ${res.status}`);
    },
    async setMeta(changes) {
      // Kept in the client's own instance info too, so that a registration after a server
      // restart carries it (a server forgets what its metadata endpoint was told).
      const config = (client as unknown as { config: { instance: { metadata: Record<string, string> } } }).config;
      Object.assign(config.instance.metadata, changes);
      // Eureka's metadata endpoint: PUT /eureka/apps/{app}/{id}/metadata?key=value…
      const query = new URLSearchParams(changes).toString();
      const res = await fetch(`${base}/apps/${app}/${encodeURIComponent(o.instance)}/metadata?${query}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`eureka metadata: HTTP ${res.status}`);
    },
    deregister: () => new Promise<void>((resolve) => client.stop(() => resolve())),
  };
}
