// The admin HTTP surface every meshgate process has: /healthz (alive), /readyz (ready to serve),
// /metrics (Prometheus); each component adds its own debug routes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';

export interface AdminOptions {
  readonly metrics: Registry;
  /** undefined when ready, else the reason it is not. */
  readonly notReadyReason: () => string | undefined;
}

export function adminApp(options: AdminOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('json spaces', 2);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = options.notReadyReason();
    if (reason) res.status(503).json({ status: 'not ready', reason });
    else res.json({ status: 'ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.contentType).send(await options.metrics.metrics());
  });
  return app;
}

export interface RunningHttp {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

export function listenHttp(app: express.Express, host: string, port: number): Promise<RunningHttp> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
