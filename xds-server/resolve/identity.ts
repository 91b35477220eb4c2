// The request headers that carry identity at the gateway: meshgate's, and any the ext-authz
// instances announce (meta `identity-headers`). Only ext-authz may set them; a client's copies
// are removed before anything reads them.
import { IDENTITY_HEADERS_META } from '../../shared/identity-headers.js';
import type { MeshState } from '../model/mesh.js';

export function identityHeadersAt(state: MeshState, configured: readonly string[], authzService: string | undefined): string[] {
  const names = new Set(configured);
  if (authzService) {
    for (const i of state.services.get(authzService)?.instances ?? []) {
      for (const h of (i.meta[IDENTITY_HEADERS_META] ?? '').split(',')) if (h.trim()) names.add(h.trim().toLowerCase());
    }
  }
  return [...names].sort();
}
