// A real mesh for integration tests and benchmarks: Consul, the xds-server, a gateway Envoy
// (and ext-authz when asked), on free ports in a temporary directory. `stop()` stops everything
// it started; tests call it from `after()` so it runs even when a test fails.
import fs from 'node:fs';
import path from 'node:path';
import { startConsul, tempDir, type ConsulAgent } from './consul-agent.js';
import type { EnvoyProcess } from './envoy.js';
import { startGatewayEnvoy, startSidecarEnvoy, type XdsApi } from './envoy-roles.js';
import { startModelService, type ModelServiceOptions, type ModelServiceProcess } from './model-service.js';
import { freePorts } from './ports.js';
import type { Component } from './component.js';
import { startExtAuthz } from './ext-authz.js';
import { startExtProc } from './ext-proc.js';
import { startRatelimit } from './ratelimit.js';
import { startXdsServer, type XdsServerProcess } from './xds-server.js';
import { EurekaServer } from './eureka.js';
import { ZooKeeperServer } from './zookeeper.js';

export interface GatewayMeshOptions {
  /** Keep Consul's state on disk so that it survives a restart. */
  readonly persistentConsul?: boolean;
  readonly xdsArgs?: readonly string[];
  /** Start ext-authz in front of every route, with this policy document in Consul KV. */
  readonly authzPolicy?: string;
  /** ext-authz's own flags (its token endpoint, say), and node's (a profile, say). */
  readonly authzArgs?: readonly string[];
  readonly authzNodeArgs?: readonly string[];
  /** Start ratelimit-service (counters in memory) with this configuration file. */
  readonly ratelimitConfig?: string;
  /** Its counters in this Redis ("host:port") instead. */
  readonly ratelimitRedis?: string;
  /** The gateway's xDS variant (state of the world by default). */
  readonly xdsApi?: XdsApi;
  /** Start the LLM processor and route the model API by model through it. */
  readonly llm?: boolean;
  /** The LLM processor's own flags, and node's (a profile, say). */
  readonly llmArgs?: readonly string[];
  /** More flags for the ratelimit-service (with ratelimitConfig). */
  readonly ratelimitArgs?: readonly string[];
  readonly llmNodeArgs?: readonly string[];
  /** Start a ZooKeeper and read it beside Consul (its session timeout: `zookeeperSessionMs`). */
  readonly zookeeper?: boolean;
  readonly zookeeperSessionMs?: number;
  /** Start a Eureka server and read it beside Consul. */
  readonly eureka?: boolean;
}

/** Where the mesh's ext-authz reads its policy documents. */
export const AUTHZ_PREFIX = 'meshgate/authz/';

/** A demo service instance with its own sidecar Envoy. */
export interface SidecarInstance {
  readonly app: ModelServiceProcess;
  readonly envoy: EnvoyProcess;
  readonly inboundPort: number;
  readonly outboundPort: number;
  /** Its Prometheus stats listener (over xDS). */
  readonly statsPort: number;
  /** GET the app's /call/<service>/<path>: a call by name through its sidecar. */
  call(service: string, pathAndQuery: string, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export type SidecarInstanceOptions = Omit<ModelServiceOptions, 'consulAddress' | 'logFile' | 'sidecarOutbound' | 'port'> & {
  readonly xdsApi?: XdsApi;
};

export interface GatewayMesh {
  readonly dir: string;
  consul: ConsulAgent;
  xds: XdsServerProcess;
  readonly envoy: EnvoyProcess;
  /** Present when the mesh was started with an authz policy. */
  readonly authz: Component | undefined;
  /** Present when the mesh was started with a rate-limit configuration. */
  readonly ratelimit: Component | undefined;
  /** Present when the mesh was started with the LLM processor. */
  readonly llm: Component | undefined;
  /** Present when the mesh reads ZooKeeper / Eureka. */
  readonly zookeeper: ZooKeeperServer | undefined;
  readonly eureka: EurekaServer | undefined;
  readonly gatewayUrl: string;
  /** `llm`: the LLM processor's gRPC port (a bench puts a stand-in there). */
  readonly ports: { xds: number; xdsAdmin: number; gateway: number; envoyAdmin: number; authz: number; authzAdmin: number; envoyStats: number; llm: number };
  readonly services: ModelServiceProcess[];
  addInstance(options: Omit<ModelServiceOptions, 'consulAddress' | 'logFile'>): Promise<ModelServiceProcess>;
  /** An instance registered with meta sidecar-port, and its sidecar Envoy on the xds-server. */
  addSidecarInstance(options: SidecarInstanceOptions): Promise<SidecarInstance>;
  restartXds(): Promise<void>;
  stop(): Promise<void>;
}

export async function startGatewayMesh(options: GatewayMeshOptions = {}): Promise<GatewayMesh> {
  const dir = tempDir('it');
  const logFile = (name: string): string => path.join(dir, `${name}.log`);
  const [xdsPort, xdsAdmin, gateway, envoyAdmin, authzPort, authzAdmin, rlPort, rlAdmin, llmPort, llmAdmin, envoyStats] = (await freePorts(11)) as [
    number, number, number, number, number, number, number, number, number, number, number,
  ];
  const started: Array<{ stop(): Promise<void> }> = [];
  const services: ModelServiceProcess[] = [];
  /** Services first, then everything else, last started first; failures do not stop the rest. */
  const stopStarted = async (): Promise<void> => {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const p of [...started].reverse()) await p.stop().catch(() => undefined);
  };
  const consulDataDir = options.persistentConsul ? path.join(dir, 'consul-data') : undefined;
  try {
    const consul = await startConsul({ logFile: logFile('consul'), ...(consulDataDir ? { dataDir: consulDataDir } : {}) });
    started.push(consul);
    let authz: Component | undefined;
    if (options.authzPolicy !== undefined) {
      await consul.api.kvPut(`${AUTHZ_PREFIX}main`, options.authzPolicy);
      authz = await startExtAuthz({
        port: authzPort,
        adminPort: authzAdmin,
        consulAddress: consul.address,
        consulPrefix: AUTHZ_PREFIX,
        logFile: logFile('ext-authz'),
        ...(options.authzArgs ? { extraArgs: options.authzArgs } : {}),
        ...(options.authzNodeArgs ? { nodeArgs: options.authzNodeArgs } : {}),
      });
      const a = authz;
      started.push({ stop: () => a.stop() });
    }
    let ratelimit: Component | undefined;
    if (options.ratelimitConfig !== undefined) {
      const file = path.join(dir, 'ratelimit.yaml');
      fs.writeFileSync(file, options.ratelimitConfig);
      ratelimit = await startRatelimit({
        port: rlPort,
        adminPort: rlAdmin,
        configPaths: [file],
        consulAddress: consul.address,
        register: true,
        ...(options.ratelimitRedis ? { redisUrl: options.ratelimitRedis } : {}),
        ...(options.ratelimitArgs ? { extraArgs: options.ratelimitArgs } : {}),
        logFile: logFile('ratelimit'),
      });
      const r = ratelimit;
      started.push({ stop: () => r.stop() });
    }
    let llm: Component | undefined;
    if (options.llm) {
      // The endpoint picker reads the model pools from this mesh's xds-server (it reconnects until that is up).
      const llmArgs = [`--xds=127.0.0.1:${xdsPort}`, ...(options.llmArgs ?? [])];
      llm = await startExtProc({ port: llmPort, adminPort: llmAdmin, consulAddress: consul.address, logFile: logFile('ext-proc'), extraArgs: llmArgs, ...(options.llmNodeArgs ? { nodeArgs: options.llmNodeArgs } : {}) });
      const l = llm;
      started.push({ stop: () => l.stop() });
    }
    let zookeeper: ZooKeeperServer | undefined;
    let eureka: EurekaServer | undefined;
    if (options.zookeeper || options.eureka) {
      const [zkPort, eurekaPort] = (await freePorts(2)) as [number, number];
      if (options.zookeeper) {
        const z = (zookeeper = new ZooKeeperServer({ port: zkPort, dir, logFile: logFile('zookeeper') }));
        started.push({ stop: () => z.stop() });
        await z.start();
      }
      if (options.eureka) {
        const e = (eureka = new EurekaServer({ port: eurekaPort, logFile: logFile('eureka') }));
        started.push({ stop: () => e.stop() });
        await e.start();
      }
    }
    const xdsOptions = {
      consulAddress: consul.address,
      xdsPort,
      adminPort: xdsAdmin,
      logFile: logFile('xds-server'),
      extraArgs: [
        '--consul-wait=5s',
        ...(authz ? ['--ext-authz-service=ext-authz'] : []),
        ...(ratelimit ? ['--ratelimit-service=ratelimit'] : []),
        ...(llm ? ['--ext-proc-service=ext-proc'] : []),
        ...(zookeeper ? [`--zookeeper=${zookeeper.connect}`, `--zookeeper-session-timeout=${options.zookeeperSessionMs ?? 30_000}ms`] : []),
        ...(eureka ? [`--eureka=${eureka.url}`, '--eureka-interval=500ms'] : []),
        ...(options.xdsArgs ?? []),
      ],
    };
    let xds = await startXdsServer(xdsOptions);
    // Stops whichever xds-server is current (it may have been restarted).
    started.push({ stop: () => xds.stop() });
    const envoy = await startGatewayEnvoy({
      nodeId: `it-gateway-${gateway}`,
      port: gateway,
      adminPort: envoyAdmin,
      statsPort: envoyStats,
      xds: { host: '127.0.0.1', port: xdsPort, ...(options.xdsApi ? { api: options.xdsApi } : {}) },
      workDir: dir,
      logFile: logFile('envoy'),
    });
    started.push(envoy);
    const mesh: GatewayMesh = {
      dir,
      consul,
      xds,
      envoy,
      authz,
      ratelimit,
      llm,
      zookeeper,
      eureka,
      gatewayUrl: `http://127.0.0.1:${gateway}`,
      ports: { xds: xdsPort, xdsAdmin, gateway, envoyAdmin, authz: authzPort, authzAdmin, envoyStats, llm: llmPort },
      services,
      async addInstance(o) {
        const s = await startModelService({ ...o, consulAddress: mesh.consul.address, logFile: logFile(o.id) });
        services.push(s);
        return s;
      },
      async addSidecarInstance(o) {
        const [appPort, inboundPort, outboundPort, adminPort, statsPort] = (await freePorts(5)) as [number, number, number, number, number];
        const { xdsApi, ...appOptions } = o;
        const app = await mesh.addInstance({ ...appOptions, port: appPort, sidecarOutbound: outboundPort, meta: { ...o.meta, 'sidecar-port': String(inboundPort) } });
        const envoy = await startSidecarEnvoy({
          nodeId: `${o.id}-sidecar`,
          service: o.service,
          appPort,
          inboundPort,
          outboundPort,
          adminPort,
          statsPort,
          xds: { host: '127.0.0.1', port: xdsPort, ...(xdsApi ? { api: xdsApi } : {}) },
          workDir: dir,
          logFile: logFile(`${o.id}-sidecar`),
        });
        started.push(envoy);
        return {
          app,
          envoy,
          inboundPort,
          outboundPort,
          statsPort,
          call: (service, pathAndQuery, headers = {}) => fetch(`${app.url}/call/${service}${pathAndQuery}`, { headers }),
          async stop() {
            await app.stop();
            await envoy.stop();
          },
        };
      },
      async restartXds() {
        await mesh.xds.stop();
        xds = await startXdsServer(xdsOptions);
        mesh.xds = xds;
      },
      async stop() {
        await stopStarted();
        if (process.env['KEEP_TEST_LOGS']) process.stderr.write(`test logs kept in ${dir}\n`);
        else fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return mesh;
  } catch (err) {
    await stopStarted();
    throw err;
  }
}
