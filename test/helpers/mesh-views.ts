// What an operator reads of a running mesh, for the registry tests: the xds-server's
// /debug/mesh and /debug/registries, and the gateway Envoy's own /clusters.
import assert from 'node:assert/strict';
import type { GatewayMesh } from '../../launcher/mesh.js';
import { waitFor } from '../../launcher/wait.js';
import { request } from './http.js';

export interface DebugMesh {
  services: Array<{ name: string; instances: Array<{ id: string; registry: string; health: string; address: string; port: number }> }>;
  problems: Array<{ subject: string; reason: string }>;
  registries: Array<{ registry: string; up: boolean; synced: boolean; reason?: string; services: number; instances: number }>;
}

export function meshViews(mesh: () => GatewayMesh) {
  const admin = (path: string) => `http://127.0.0.1:${mesh().ports.xdsAdmin}${path}`;
  const hostsOf = async (cluster: string) => (await mesh().envoy.admin.clusters()).get(cluster) ?? [];
  const views = {
    debugMesh: async (): Promise<DebugMesh> => (await request<DebugMesh>(admin('/debug/mesh'))).body,
    registries: async (): Promise<DebugMesh['registries']> => (await request<DebugMesh['registries']>(admin('/debug/registries'))).body,
    /** address:port of every host Envoy holds for the cluster, healthy or not. */
    envoyHosts: async (cluster: string): Promise<string[]> => (await hostsOf(cluster)).map((h) => h.address).sort(),
    /** address:port of the hosts Envoy counts healthy. */
    envoyHealthy: async (cluster: string): Promise<string[]> =>
      (await hostsOf(cluster))
        .filter((h) => h.healthy)
        .map((h) => h.address)
        .sort(),
    /** Envoy comes to hold exactly `expected` as the cluster's healthy set (the registry's own view), or the test fails with the difference. */
    async envoyHoldsHealthy(cluster: string, expected: readonly string[], timeoutMs = 5_000): Promise<void> {
      await waitFor(`Envoy to hold exactly the registry's healthy set of ${cluster}`, async () => JSON.stringify(await views.envoyHealthy(cluster)) === JSON.stringify(expected), {
        timeoutMs,
        intervalMs: 50,
      }).catch(async (err) => {
        assert.deepEqual(await views.envoyHealthy(cluster), expected, (err as Error).message);
      });
    },
  };
  return views;
}
