// The ext-authz policy of a gateway path: the path's own (meta `auth-policy: /path=name`), else
// the service's (`auth-policy: name`, which the model already folded into each of its paths),
// else the xds-server's --auth-default-policy. "none" makes the path public.
import type { GatewayPath } from '../model/mesh.js';

export function authPolicyOf(path: GatewayPath, defaultPolicy: string): string {
  return path.authPolicy ?? defaultPolicy;
}
