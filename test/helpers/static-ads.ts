// An in-process ADS server that serves whatever snapshot a test puts in its cache, to show a
// real Envoy exactly chosen resources (golden files, a deliberately invalid cluster).
import { pino } from 'pino';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { AdsServer } from '../../xds-server/server/ads-server.js';
import { ProxyRegistry } from '../../xds-server/server/proxy-registry.js';
import type { XdsType } from '../../xds-server/xds-types.js';

export const STATIC_KEY = 'static';

export interface StaticAds {
  readonly port: number;
  readonly cache: SnapshotCache;
  readonly registry: ProxyRegistry;
  readonly pushes: Array<{ type: XdsType; resources: number }>;
  close(): Promise<void>;
}

export async function startStaticAds(): Promise<StaticAds> {
  const cache = new SnapshotCache();
  const registry = new ProxyRegistry();
  const pushes: Array<{ type: XdsType; resources: number }> = [];
  const server = new AdsServer(
    { keyFor: () => STATIC_KEY, watch: (key, listener) => cache.watch(key, listener) },
    registry,
    pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
    { onPush: (_s, type, resources) => pushes.push({ type, resources }) },
  );
  const port = await server.listen('127.0.0.1', 0);
  return { port, cache, registry, pushes, close: () => server.close(500) };
}
