// The admin HTTP surface every meshgate process has: /healthz (alive), /readyz (ready to serve),
// /metrics (Prometheus); each component adds its own debug routes.
//
// Those routes show how the mesh is built and what it refused, so they are an operator's alone:
// - on loopback (the default of every component) they answer whoever is on the machine;
// - anywhere else they answer only `Authorization: Bearer <an operator key>` whose SHA-256 is in
//   $MESHGATE_ADMIN_KEY_SHA256 (comma-separated hex; compared in constant time), and a component
//   told to listen there without one refuses to start.
// /healthz, /readyz and /metrics stay open everywhere: health checks and Prometheus read them,
// and they hold nothing secret.
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';
import { isLoopback } from './host-port.js';

/** The variable holding the operator keys' SHA-256 digests (hex, comma-separated). */
export const ADMIN_KEYS_ENV = 'MESHGATE_ADMIN_KEY_SHA256';
/** The variable a client of another component's admin (the console, the meshgate command) sends its key from. */
export const ADMIN_KEY_ENV = 'MESHGATE_ADMIN_KEY';
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The operator keys' digests from the environment; a malformed one is refused (fail closed). */
export function adminKeyDigests(env: NodeJS.ProcessEnv = process.env): Buffer[] {
  const text = env[ADMIN_KEYS_ENV]?.trim();
  if (!text) return [];
  return text.split(',').map((h) => {
    const hex = h.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${ADMIN_KEYS_ENV}: ${JSON.stringify(h)} is not the 64 hex characters of a key's SHA-256`);
    return Buffer.from(hex, 'hex');
  });
}

/** The headers a client of an admin endpoint sends: its operator key, when it has one. */
export function adminAuthorization(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const key = env[ADMIN_KEY_ENV];
  return key ? { authorization: `Bearer ${key}` } : {};
}

export interface AdminOptions {
  readonly metrics: Registry;
  /** undefined when ready, else the reason it is not. */
  readonly notReadyReason: () => string | undefined;
  /**
   * Requests whose caller another component has already established (the console's, through the
   * gateway: ext-authz's identity headers) need no operator key.
   */
  readonly identified?: (req: express.Request) => boolean;
}

export function adminApp(options: AdminOptions, env: NodeJS.ProcessEnv = process.env): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('json spaces', 2);
  const keys = adminKeyDigests(env);
  app.locals['adminKeys'] = keys;
  if (keys.length) {
    app.use((req, res, next) => {
      if (OPEN_PATHS.has(req.path) || options.identified?.(req)) return next();
      const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
      const digest = m ? createHash('sha256').update(m[1]!.trim()).digest() : undefined;
      // Every key is compared, in constant time, whether or not one already matched.
      let ok = false;
      for (const k of keys) if (digest && timingSafeEqual(digest, k)) ok = true;
      if (ok) return next();
      res.status(401).set('www-authenticate', 'Bearer realm="meshgate-admin"').json({ error: 'an operator key is required (Authorization: Bearer …)' });
    });
  }
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
  const keys = app.locals['adminKeys'] as Buffer[] | undefined;
  if (keys && keys.length === 0 && !isLoopback(host)) {
    return Promise.reject(new Error(`the admin endpoints on ${host} would answer anyone who reaches them: set ${ADMIN_KEYS_ENV} (the SHA-256 of an operator key) or listen on loopback`));
  }
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
