// A real mesh for integration tests: Consul, the xds-server and a gateway Envoy, on free ports
// in a temporary directory, with helpers to drive traffic. `stop()` stops everything it
// started; call it from `after()` so it runs even when a test fails.
import fs from 'node:fs';
import path from 'node:path';
import { startConsul, tempDir, type ConsulAgent } from '../../launcher/consul-agent.js';
import { startEnvoy, type EnvoyProcess } from '../../launcher/envoy.js';
import { startModelService, type ModelServiceOptions, type ModelServiceProcess } from '../../launcher/model-service.js';
import { freePorts } from '../../launcher/ports.js';
import { startXdsServer, type XdsServerProcess } from '../../launcher/xds-server.js';

export interface GatewayMeshOptions {
  /** Keep Consul's state on disk so that it survives a restart. */
  readonly persistentConsul?: boolean;
  readonly xdsArgs?: readonly string[];
}

export interface GatewayMesh {
  readonly dir: string;
  consul: ConsulAgent;
  xds: XdsServerProcess;
  readonly envoy: EnvoyProcess;
  readonly gatewayUrl: string;
  readonly ports: { xds: number; xdsAdmin: number; gateway: number; envoyAdmin: number };
  readonly services: ModelServiceProcess[];
  addInstance(options: Omit<ModelServiceOptions, 'consulAddress' | 'logFile'>): Promise<ModelServiceProcess>;
  restartXds(): Promise<void>;
  stop(): Promise<void>;
}

export async function startGatewayMesh(options: GatewayMeshOptions = {}): Promise<GatewayMesh> {
  const dir = tempDir('it');
  const logFile = (name: string): string => path.join(dir, `${name}.log`);
  const [xdsPort, xdsAdmin, gateway, envoyAdmin] = (await freePorts(4)) as [number, number, number, number];
  const started: Array<{ stop(): Promise<void> }> = [];
  const services: ModelServiceProcess[] = [];
  const consulDataDir = options.persistentConsul ? path.join(dir, 'consul-data') : undefined;
  try {
    const consul = await startConsul({ logFile: logFile('consul'), ...(consulDataDir ? { dataDir: consulDataDir } : {}) });
    started.push(consul);
    const xdsOptions = {
      consulAddress: consul.address,
      xdsPort,
      adminPort: xdsAdmin,
      logFile: logFile('xds-server'),
      extraArgs: ['--consul-wait=5s', ...(options.xdsArgs ?? [])],
    };
    let xds = await startXdsServer(xdsOptions);
    // Stops whichever xds-server is current (it may have been restarted).
    started.push({ stop: () => xds.stop() });
    const envoy = await startEnvoy({
      template: 'gateway.yaml',
      vars: {
        NODE_ID: `it-gateway-${gateway}`,
        GATEWAY_ADDRESS: '127.0.0.1',
        GATEWAY_PORT: gateway,
        ADMIN_ADDRESS: '127.0.0.1',
        ADMIN_PORT: envoyAdmin,
        XDS_HOST: '127.0.0.1',
        XDS_PORT: xdsPort,
      },
      adminPort: envoyAdmin,
      workDir: dir,
      logFile: logFile('envoy'),
    });
    started.push(envoy);
    const mesh: GatewayMesh = {
      dir,
      consul,
      xds,
      envoy,
      gatewayUrl: `http://127.0.0.1:${gateway}`,
      ports: { xds: xdsPort, xdsAdmin, gateway, envoyAdmin },
      services,
      async addInstance(o) {
        const s = await startModelService({ ...o, consulAddress: mesh.consul.address, logFile: logFile(o.id) });
        services.push(s);
        return s;
      },
      async restartXds() {
        await mesh.xds.stop();
        xds = await startXdsServer(xdsOptions);
        mesh.xds = xds;
      },
      async stop() {
        for (const s of services) await s.stop().catch(() => undefined);
        for (const p of [...started].reverse()) await p.stop().catch(() => undefined);
        if (process.env['KEEP_TEST_LOGS']) process.stderr.write(`test logs kept in ${dir}\n`);
        else fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return mesh;
  } catch (err) {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const p of [...started].reverse()) await p.stop().catch(() => undefined);
    throw err;
  }
}
