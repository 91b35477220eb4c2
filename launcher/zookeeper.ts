// Apache ZooKeeper (the jar scripts/setup.sh fetched from Maven Central), standalone on
// loopback, that can be stopped and started again on the same port with its data kept.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { repoRoot } from './repo.js';

export interface ZooKeeperOptions {
  readonly port: number;
  /** Its data directory and config go here. */
  readonly dir: string;
  /** ZooKeeper's tick: sessions may be as short as two ticks (a test expires one in seconds). */
  readonly tickMs?: number;
  readonly logFile?: string;
}

/** The server's jars, or an error naming the set-up step. */
export function zookeeperClasspath(): string {
  const lib = path.join(repoRoot(), '.tools', 'zookeeper', 'lib');
  if (!fs.existsSync(lib)) throw new Error(`ZooKeeper not found at ${lib}: run \`npm run setup\``);
  return `${lib}/*`;
}

export class ZooKeeperServer {
  private proc: ManagedProcess | undefined;

  constructor(private readonly options: ZooKeeperOptions) {}

  get connect(): string {
    return `127.0.0.1:${this.options.port}`;
  }

  async start(): Promise<this> {
    const { dir, port, tickMs = 500 } = this.options;
    const dataDir = path.join(dir, 'zookeeper-data');
    fs.mkdirSync(dataDir, { recursive: true });
    const config = path.join(dir, 'zoo.cfg');
    fs.writeFileSync(
      config,
      [
        `tickTime=${tickMs}`,
        `dataDir=${dataDir}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        `maxSessionTimeout=${tickMs * 120}`,
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr',
        '',
      ].join('\n'),
    );
    const proc = startProcess('zookeeper', 'java', {
      args: ['-Xmx256m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', zookeeperClasspath(), 'org.apache.zookeeper.server.ZooKeeperServerMain', config],
      ...(this.options.logFile ? { logFile: this.options.logFile } : {}),
    });
    this.proc = proc;
    await waitServing(proc, 'zookeeper to answer ruok', async () => (await this.fourLetter('ruok').catch(() => '')) === 'imok', { timeoutMs: 30_000, intervalMs: 100 });
    return this;
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM', 3_000);
    this.proc = undefined;
  }

  /** One of ZooKeeper's four-letter commands: its answer. */
  fourLetter(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.options.port, '127.0.0.1');
      let answer = '';
      socket.setTimeout(1_000, () => socket.destroy(new Error('zookeeper did not answer')));
      socket.on('connect', () => socket.write(command));
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
  }
}
