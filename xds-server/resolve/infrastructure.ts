// The services the gateway's filters call — ext-authz, the rate-limit service, the LLM processor,
// the access-log service — defined once, from the xds-server's settings. They are never a
// routing target for any role (no gateway path, no proxyless listener, not in the model
// catalog), every gateway has their clusters (Envoy refuses a filter whose gRPC cluster does not
// exist; an empty one fails the way the filter is configured to), and they are spoken to over
// gRPC with the filter's timeout (the precedence table's `infrastructure` layer).
export type InfrastructureKind = 'authz' | 'ratelimit' | 'llm' | 'access-log';

export interface Infrastructure {
  readonly service: string;
  readonly kind: InfrastructureKind;
  /** How long the filter waits for one answer. */
  readonly timeoutMs: number;
}

export interface InfrastructureSettings {
  readonly authz?: { readonly service: string; readonly timeoutMs: number };
  readonly ratelimit?: { readonly service: string; readonly timeoutMs: number };
  readonly llm?: { readonly service: string; readonly timeoutMs: number };
  readonly accessLog?: { readonly service: string; readonly timeoutMs: number };
}

/** The name a resolved piece of `service` is kept under: another for a service the filters call (it is resolved with their needs). */
export function pieceName(service: string, infrastructure: Infrastructure | undefined): string {
  return infrastructure ? `${service}\u0000${infrastructure.kind}:${infrastructure.timeoutMs}` : service;
}

/** By service name; a service two filters call is listed once, for the first of them. */
export function infrastructureOf(s: InfrastructureSettings): ReadonlyMap<string, Infrastructure> {
  const out = new Map<string, Infrastructure>();
  const add = (kind: InfrastructureKind, o: { readonly service: string; readonly timeoutMs: number } | undefined): void => {
    if (o && !out.has(o.service)) out.set(o.service, { service: o.service, kind, timeoutMs: o.timeoutMs });
  };
  add('authz', s.authz);
  add('ratelimit', s.ratelimit);
  add('llm', s.llm);
  add('access-log', s.accessLog);
  return out;
}
