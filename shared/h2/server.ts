// An HTTP/2 (h2c) server: accepts TCP connections up to a cap, runs one H2ServerConnection on
// each, shares one byte budget among them, and sweeps their timeouts once a second.
import net from 'node:net';
import { H2ServerConnection, type H2ConnectionOptions } from './connection.js';
import { ByteBudget } from './guards.js';
import { DEFAULT_H2_LIMITS, type H2Limits } from './limits.js';

export type H2ServerOptions = Omit<H2ConnectionOptions, 'budget' | 'limits'> & { readonly limits?: H2Limits };

export class H2Server {
  readonly limits: H2Limits;
  private readonly server: net.Server;
  private readonly connections = new Set<H2ServerConnection>();
  private readonly budget: ByteBudget;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: H2ServerOptions) {
    this.limits = options.limits ?? DEFAULT_H2_LIMITS;
    this.budget = new ByteBudget(this.limits.maxBufferedBytes);
    this.server = net.createServer((socket) => {
      const c = new H2ServerConnection(socket, { ...options, limits: this.limits, budget: this.budget });
      this.connections.add(c);
      socket.on('close', () => this.connections.delete(c));
    });
    // Past the cap, node closes a new connection as soon as it is accepted.
    this.server.maxConnections = this.limits.maxConnections;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) c.sweep(now);
    }, 1_000);
    this.sweeper.unref();
  }

  /** Bytes held by unfinished requests over all connections. */
  get bufferedBytes(): number {
    return this.budget.used;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // A deep accept queue: a fleet of Envoys reconnecting at once is not refused by the kernel.
      this.server.listen({ port, host, backlog: 4_096 }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets streams in flight finish (GOAWAY), then cuts what is left. */
  close(graceMs = 1_000): Promise<void> {
    clearInterval(this.sweeper);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        for (const c of this.connections) c.destroy();
        resolve();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(t);
        resolve();
      });
      for (const c of this.connections) c.close();
    });
  }
}
