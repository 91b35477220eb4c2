// A real redis-server on loopback (no persistence), that can be paused, killed and restarted
// on the same port.
import net from 'node:net';
import tls from 'node:tls';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { toolPath } from './repo.js';

export class RedisServer {
  private proc: ManagedProcess | undefined;

  constructor(
    readonly port: number,
    private readonly logFile?: string,
    private readonly extraArgs: readonly string[] = [],
    /** Serve TLS only (on `port`; give the server's files in `extraArgs`), and talk to it with these. */
    private readonly tlsClient?: tls.ConnectionOptions,
  ) {}

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  get process(): ManagedProcess {
    if (!this.proc) throw new Error('redis is not running');
    return this.proc;
  }

  async start(): Promise<this> {
    const proc = startProcess('redis', toolPath('redis-server'), {
      args: [...(this.tlsClient ? ['--port', '0', '--tls-port'] : ['--port']), String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', ...this.extraArgs],
      ...(this.logFile ? { logFile: this.logFile } : {}),
    });
    this.proc = proc;
    await waitServing(proc, 'redis to answer PING', async () => (await this.command('PING')) === '+PONG', { timeoutMs: 10_000, intervalMs: 50 });
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal, 3_000);
  }

  /** SIGSTOP: Redis stops answering but keeps its connections (a hang, not a crash). */
  pause(): void {
    this.process.child.kill('SIGSTOP');
  }

  resume(): void {
    this.process.child.kill('SIGCONT');
  }

  /** One inline command; the first line of the reply. */
  async command(...args: string[]): Promise<string> {
    return (await this.reply(args)).split('\r\n')[0]!;
  }

  /** One inline command whose answer is a bulk string (CLUSTER INFO, INFO): its text. */
  async bulk(...args: string[]): Promise<string> {
    const reply = await this.reply(args);
    if (!reply.startsWith('$')) throw new Error(`redis answered ${JSON.stringify(args.join(' '))} with ${reply.split('\r\n')[0]}`);
    return reply.substring(reply.indexOf('\r\n') + 2, reply.length - 2);
  }

  /** The whole reply to one inline command: a line, or a bulk string read to its length. */
  private reply(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = this.tlsClient ? tls.connect({ ...this.tlsClient, port: this.port, host: '127.0.0.1' }) : net.connect(this.port, '127.0.0.1');
      let reply = '';
      socket.setTimeout(1_000, () => socket.destroy(new Error('redis did not answer')));
      socket.on(this.tlsClient ? 'secureConnect' : 'connect', () => socket.write(`${args.join(' ')}\r\n`));
      socket.on('data', (d) => {
        reply += d.toString('latin1');
        const eol = reply.indexOf('\r\n');
        if (eol < 0) return;
        const size = reply.startsWith('$') ? Number(reply.substring(1, eol)) : -1;
        if (size >= 0 && reply.length < eol + 2 + size + 2) return;
        socket.end();
        resolve(reply);
      });
      socket.on('error', reject);
    });
  }
}

export async function startRedis(port: number, logFile?: string): Promise<RedisServer> {
  return new RedisServer(port, logFile).start();
}
