// ext-authz admin HTTP: health, readiness, metrics, and /status — the policies in force, their
// documents and versions, the last refused document and why, and the JWKS key sets.
import type express from 'express';
import { adminApp } from '../shared/admin-http.js';
import type { JwksRegistry } from './credentials/jwks-cache.js';
import type { IdentityHeaderNames } from './identity.js';
import type { AuthzMetrics } from './metrics.js';
import type { PolicyStore } from './policy/policy-store.js';

export function authzAdminApp(deps: {
  store: PolicyStore;
  jwks: JwksRegistry;
  metrics: AuthzMetrics;
  identityHeaders: IdentityHeaderNames;
  ready: () => string | undefined;
}): express.Express {
  const app = adminApp({ metrics: deps.metrics.registry, notReadyReason: deps.ready });
  app.get('/status', (_req, res) => {
    res.json({
      ready: deps.ready() === undefined,
      identity_headers: deps.identityHeaders,
      policies: [...deps.store.items.values()].map((p) => ({
        name: p.name,
        document: p.source.document,
        version: p.source.version,
        dry_run: p.dryRun,
        credentials: p.credentials.map((c) => c.kind),
        deny_rules: p.rules.deny.length,
        allow_rules: p.rules.allow.length,
      })),
      documents: deps.store.status(),
      jwks: deps.jwks.status(),
    });
  });
  return app;
}
