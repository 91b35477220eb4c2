// One read of a source, bounded in time and size: its data, or why it could not be had (which
// the page shows beside the part it would have filled).
export type Sourced<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly source: string; readonly reason: string };

/** Why a fetch failed, in the words an operator searches for (ECONNREFUSED, a timeout). */
export function failureReason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.cause?.code === 'UND_ERR_SOCKET') return 'the connection closed before an answer (UND_ERR_SOCKET)';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** Past this a source's answer is refused: a console must not be blown up by what it reads. */
const MAX_BYTES = 16 * 1024 * 1024;

export async function fetchJson<T>(source: string, url: string, timeoutMs: number): Promise<Sourced<T>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return { ok: false, source, reason: `${failureReason(err, timeoutMs)} (${url})` };
  }
  const text = await res.text();
  if (text.length > MAX_BYTES) return { ok: false, source, reason: `answer over ${MAX_BYTES} bytes` };
  if (!res.ok) return { ok: false, source, reason: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  try {
    return { ok: true, data: JSON.parse(text) as T };
  } catch {
    return { ok: false, source, reason: 'the answer is not JSON' };
  }
}
