// One read of a source, bounded in time and size: its data, or why it could not be had (which
// the page shows beside the part it would have filled).
import { adminAuthorization } from '../../shared/admin-http.js';
import { fetchText } from '../../shared/fetch-text.js';

export type Sourced<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly source: string; readonly reason: string };

export async function fetchJson<T>(source: string, url: string, timeoutMs: number): Promise<Sourced<T>> {
  // The xds-server's debug views want an operator key when it is exposed ($MESHGATE_ADMIN_KEY).
  const r = await fetchText(url, timeoutMs, undefined, adminAuthorization());
  if (!r.ok) return { ok: false, source, reason: r.reason };
  try {
    return { ok: true, data: JSON.parse(r.text) as T };
  } catch {
    return { ok: false, source, reason: 'the answer is not JSON' };
  }
}
