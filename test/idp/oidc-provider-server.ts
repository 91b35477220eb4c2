// A real OpenID provider for the tests: panva's oidc-provider (OpenID-certified), run as its own
// process, with the clients the tests use. Around it only what a test must see from the outside:
// how many introspection calls it served, and how many at once at most (GET /_test/stats).
//
//   node dist/test/idp/oidc-provider-server.js --port N
import http from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

import { IDP_CLIENTS } from '../helpers/identity-provider.js';

const { values } = parseArgs({ options: { port: { type: 'string' } } });
const port = Number(values.port);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    { client_id: IDP_CLIENTS.app.id, client_secret: IDP_CLIENTS.app.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'models:read models:write' },
    { client_id: IDP_CLIENTS.introspector.id, client_secret: IDP_CLIENTS.introspector.secret, grant_types: [], redirect_uris: [], response_types: [] },
  ],
  features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: false } },
  scopes: ['openid', 'models:read', 'models:write'],
  ttl: { ClientCredentials: 600 },
  cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
  extraTokenClaims: async (_ctx, token) => ((token as { clientId?: string }).clientId === IDP_CLIENTS.app.id ? { tenant: 'acme' } : undefined),
});

let inFlight = 0;
let maxInFlight = 0;
let introspections = 0;
const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url === '/_test/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ introspections, maxInFlight, inFlight }));
    return;
  }
  if (req.url === '/_test/reset' && req.method === 'POST') {
    maxInFlight = inFlight;
    introspections = 0;
    res.writeHead(204).end();
    return;
  }
  const introspection = req.url?.startsWith('/token/introspection') === true;
  if (introspection) {
    introspections += 1;
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.on('close', () => (inFlight -= 1));
  }
  callback(req, res);
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ msg: 'listening', issuer })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
