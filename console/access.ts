// Who is looking at the console, and what they may see.
//
// Through the gateway (its --gateway-path), a caller is who ext-authz established: the gateway
// strips every identity header a client sends and only ext-authz sets them, so the subject and
// scopes headers are the login's ID token (or the operator API key) as ext-authz verified it. The
// scopes decide the role: an operator sees everything; a viewer the overview and the charts, not
// the recent requests (their paths, ids and tenants); a signed-in caller with neither is told so.
// Directly (its --listen: loopback by default, else behind the operator key the admin surface
// asks for), a caller is the machine's operator.
import type express from 'express';
import { DEFAULT_IDENTITY_HEADERS } from '../shared/identity-headers.js';

export type Role = 'operator' | 'viewer';

export interface Caller {
  readonly subject: string;
  /** undefined: signed in, with neither role. */
  readonly role: Role | undefined;
  readonly via: 'gateway' | 'direct';
}

export interface AccessOptions {
  /** The gateway path the console is served at; undefined: never through the gateway. */
  readonly gatewayPath: string | undefined;
  readonly operatorScope: string;
  readonly viewerScope: string;
}

/** The caller of a request, from ext-authz's identity headers when it came through the gateway. */
export function callerOf(req: express.Request, options: AccessOptions): Caller {
  const subject = req.get(DEFAULT_IDENTITY_HEADERS.subject);
  if (options.gatewayPath === undefined || subject === undefined) return { subject: 'local operator', role: 'operator', via: 'direct' };
  const scopes = (req.get(DEFAULT_IDENTITY_HEADERS.scopes) ?? '').split(' ').filter(Boolean);
  const role: Role | undefined = scopes.includes(options.operatorScope) ? 'operator' : scopes.includes(options.viewerScope) ? 'viewer' : undefined;
  return { subject, role, via: 'gateway' };
}

/**
 * Express middleware: files the caller under res.locals.caller; refuses a signed-in caller with no
 * role (403) everywhere but /api/whoami and the page's static files (so the page can say why).
 */
export function access(options: AccessOptions): express.RequestHandler {
  return (req, res, next) => {
    const caller = callerOf(req, options);
    res.locals['caller'] = caller;
    if (caller.role === undefined && req.path.startsWith('/api/') && req.path !== '/api/whoami') {
      res.status(403).json({ error: `${caller.subject} is signed in, but is neither a viewer nor an operator of the console (scopes ${options.viewerScope} or ${options.operatorScope})` });
      return;
    }
    next();
  };
}

/** Only operators go on. */
export const operatorsOnly: express.RequestHandler = (_req, res, next) => {
  const caller = res.locals['caller'] as Caller;
  if (caller.role === 'operator') return next();
  res.status(403).json({ error: `${caller.subject} is a ${caller.role ?? 'caller with no role'}: only operators see this` });
};

/**
 * Served under the gateway path too: "/console/api/overview" is "/api/overview". (The gateway
 * passes the path as it came; the page's own URLs are relative, so they work at either.)
 */
export function underGatewayPath(path: string | undefined): express.RequestHandler {
  return (req, _res, next) => {
    if (path && req.url.startsWith(path)) req.url = req.url.slice(path.length - 1);
    next();
  };
}
