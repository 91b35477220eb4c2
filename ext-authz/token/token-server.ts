// The token endpoint's HTTP server: small, bounded bodies (a token request is a short form), one
// answer per request, nothing kept between them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenEndpoint } from './token-endpoint.js';

/** A token request's form is a few hundred bytes; past this it is refused. */
const MAX_BODY_BYTES = 16 * 1024;

export async function listenTokenEndpoint(endpoint: TokenEndpoint, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end('{"error":"invalid_request","error_description":"the request body is too large"}');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      endpoint
        .handle({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, headers, body: Buffer.concat(chunks).toString('utf8'), source: req.socket.remoteAddress ?? '' })
        .then(
          (a) => res.writeHead(a.status, a.headers).end(req.method === 'HEAD' ? undefined : a.body),
          () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"server_error","error_description":"the token could not be issued"}'),
        );
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
