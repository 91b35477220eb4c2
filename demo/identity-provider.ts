// The demo's OpenID provider (and the tests'): panva's oidc-provider, OpenID-certified, with the
// clients and people the demo and the tests use. It stands for a company's real provider
// (Keycloak, Okta, Entra ID …): its login page is oidc-provider's development one, which takes
// any password — the people below differ only by the roles they carry.
//
//   node dist/demo/identity-provider.js --port N [--login-redirect URL …] [--logout-redirect URL …]
//
// Clients:
//   app              client_credentials for itself (tenant acme) — an app calling models
//   meshgate         meshgate's introspection client (RFC 7662)
//   meshgate-console the gateway's browser login (authorization code, PKCE required; its
//                    redirect URIs from --login-redirect)
// People (log in as any of them, any password): alice (operator), bob (viewer), carol (neither).
// Their roles are the ID token's `meshgate_roles` claim (scope `meshgate`).
// GET /_stats: introspection calls served, and at most how many at once (the tests read it).
import http from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

export const PROVIDER_CLIENTS = {
  app: { id: 'app', secret: 'app-secret-4f1c9b2e7d' },
  introspector: { id: 'meshgate', secret: 'introspector-secret-8a2d6e0f' },
  console: { id: 'meshgate-console', secret: 'console-secret-6b3e91d0a7' },
};

/** The people, by account id: their roles at the console. */
export const PROVIDER_PEOPLE: Readonly<Record<string, readonly string[]>> = {
  alice: ['meshgate:operator'],
  bob: ['meshgate:viewer'],
  carol: [],
};

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'login-redirect': { type: 'string', multiple: true }, 'logout-redirect': { type: 'string', multiple: true } } });
  const port = Number(values.port);
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      { client_id: PROVIDER_CLIENTS.app.id, client_secret: PROVIDER_CLIENTS.app.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'models:read models:write' },
      { client_id: PROVIDER_CLIENTS.introspector.id, client_secret: PROVIDER_CLIENTS.introspector.secret, grant_types: [], redirect_uris: [], response_types: [] },
      {
        client_id: PROVIDER_CLIENTS.console.id,
        client_secret: PROVIDER_CLIENTS.console.secret,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: values['login-redirect'] ?? [],
        post_logout_redirect_uris: values['logout-redirect'] ?? [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    // Envoy's oauth2 filter always sends an S256 challenge; a client that did not would be refused.
    pkce: { required: () => true, methods: ['S256'] },
    scopes: ['openid', 'profile', 'email', 'meshgate', 'models:read', 'models:write'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'], meshgate: ['meshgate_roles'] },
    // The scopes' claims in the ID token itself: the gateway forwards only the ID token.
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, name: id, email: `${id}@example.com`, meshgate_roles: [...(PROVIDER_PEOPLE[id] ?? [])] }),
    }),
    ttl: { ClientCredentials: 600, IdToken: 3600, AccessToken: 3600 },
    cookies: { keys: ['demo-cookie-key-0123456789abcdef'] },
    extraTokenClaims: async (_ctx, token) => ((token as { clientId?: string }).clientId === PROVIDER_CLIENTS.app.id ? { tenant: 'acme' } : undefined),
  });

  let inFlight = 0;
  let maxInFlight = 0;
  let introspections = 0;
  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url === '/_stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ introspections, maxInFlight, inFlight }));
      return;
    }
    if (req.url === '/_stats/reset' && req.method === 'POST') {
      maxInFlight = inFlight;
      introspections = 0;
      res.writeHead(204).end();
      return;
    }
    if (req.url?.startsWith('/token/introspection') === true) {
      introspections += 1;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      res.on('close', () => (inFlight -= 1));
    }
    callback(req, res);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ msg: 'listening', issuer })}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) main();
