// Resolves mesh state after mesh state into a ResolvedMesh, keeping what it resolved between
// them (mesh-reader.ts): a change resolves again only what read a changed input, and every
// other piece — a policy, a chain, a sidecar's view, a target with its endpoints — is the same
// object as before, which the controller and the translation caches rely on.
import { createHash } from 'node:crypto';
import type { MeshState } from '../model/mesh.js';
import { chainOf } from './chain.js';
import { resolveGateway, type ResolvedGateway } from './gateway.js';
import type { GatewaySettings } from './gateway-settings.js';
import { infrastructureOf, pieceName, type Infrastructure } from './infrastructure.js';
import { ResolveMemo } from './mesh-reader.js';
import type { ResolvedMesh, ResolvedService } from './resolved-mesh.js';
import { servicePolicy } from './service-policy.js';
import { resolveProxyless, resolveSidecar, type ResolvedProxyless, type ResolvedSidecar } from './sidecar.js';
import { descriptorsWanted } from './transcoded.js';
import { loginIssuersWanted } from './login.js';

/** Which role views a resolve builds. */
export interface RolesWanted {
  readonly gateway: boolean;
  readonly proxyless: boolean;
  /** Every service's own policy and chain (what operators read; no proxy reads it whole). Default: yes. */
  readonly services?: boolean;
  /** Services whose sidecar view to build; absent: every service in the catalog. */
  readonly sidecars?: Iterable<string>;
}

/** Every view: for operators' dumps, tests and the CLI. */
export const EVERY_ROLE: RolesWanted = { gateway: true, proxyless: true };

export class MeshResolver {
  private readonly infrastructure: ReadonlyMap<string, Infrastructure>;
  private readonly internal: ReadonlySet<string>;
  private readonly settingsKey: string;

  /** `memo`: what resolves share (several resolvers may share one: tests warm one on many meshes). */
  constructor(
    private readonly settings: GatewaySettings,
    private readonly memo = new ResolveMemo(),
  ) {
    this.infrastructure = infrastructureOf(settings);
    this.internal = new Set(this.infrastructure.keys());
    this.settingsKey = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
  }

  /** Pieces kept for the next resolve (for tests and metrics). */
  get cached(): number {
    return this.memo.size;
  }

  /** `roles`: the views to resolve (those the connected proxies read); everything when absent. */
  resolve(state: MeshState, roles: RolesWanted = EVERY_ROLE): ResolvedMesh {
    const m = this.memo;
    m.begin(state);
    const services = new Map<string, ResolvedService>();
    for (const name of roles.services === false ? [] : state.services.keys()) {
      const infra = this.infrastructure.get(name);
      services.set(
        name,
        m.memo('service', pieceName(name, infra), () => ({ name, policy: servicePolicy(m, name, infra), chain: chainOf(m, name, infra) })),
      );
    }
    const sidecars = new Map<string, ResolvedSidecar>();
    const sidecarServices = roles.sidecars ?? state.services.keys();
    for (const name of [...new Set(sidecarServices)].sort()) sidecars.set(name, resolveSidecar(m, name));
    const resolved: ResolvedMesh = {
      revision: state.revision,
      infrastructure: [...this.infrastructure.values()],
      services,
      ...(roles.gateway ? { gateway: resolveGateway(m, this.settings, this.infrastructure, this.settingsKey) } : {}),
      sidecars,
      ...(roles.proxyless ? { proxyless: resolveProxyless(m, this.internal) } : {}),
      descriptors: descriptorsWanted(m, this.internal),
      loginIssuers: loginIssuersWanted(m),
    };
    m.sweep();
    return resolved;
  }

  /**
   * One role's view of `state`, between full resolves: for a proxy whose view the last resolve
   * did not build (the first of its role). Its pieces are the same as a full resolve's.
   */
  view(state: MeshState, role: RoleView): ResolvedGateway | ResolvedProxyless | ResolvedSidecar {
    this.memo.begin(state);
    switch (role.kind) {
      case 'gateway':
        return resolveGateway(this.memo, this.settings, this.infrastructure, this.settingsKey);
      case 'proxyless':
        return resolveProxyless(this.memo, this.internal);
      case 'sidecar':
        return resolveSidecar(this.memo, role.service);
    }
  }
}

/** One role's view. */
export type RoleView = { readonly kind: 'gateway' } | { readonly kind: 'proxyless' } | { readonly kind: 'sidecar'; readonly service: string };

/** One state, every view resolved, nothing kept (tests, the CLI). */
export function resolveMesh(state: MeshState, settings: GatewaySettings): ResolvedMesh {
  return new MeshResolver(settings).resolve(state);
}
