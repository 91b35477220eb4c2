// One read of a source, bounded in time and size: its data, or why it could not be had (which
// the page shows beside the part it would have filled).
export type Sourced<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly source: string; readonly reason: string };

/** Why a fetch failed, in the words an operator searches for (ECONNREFUSED, a timeout). */
function failureReason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.cause?.code === 'UND_ERR_SOCKET') return 'the connection closed before an answer (UND_ERR_SOCKET)';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** Past this a source's answer is refused: a console must not be blown up by what it reads. */
const MAX_BYTES = 16 * 1024 * 1024;

export type Fetched = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/**
 * One GET, bounded: `timeoutMs` for all of it, and at most `maxBytes` read — an answer that says
 * it is longer is not read at all, and one that goes on past the bound is cut off there.
 */
export async function fetchText(url: string, timeoutMs: number, maxBytes = MAX_BYTES): Promise<Fetched> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > maxBytes) {
      await res.body?.cancel();
      return { ok: false, reason: `an answer of ${declared} bytes, over ${maxBytes}` };
    }
    const parts: Buffer[] = [];
    let length = 0;
    for await (const chunk of res.body ?? []) {
      length += (chunk as Uint8Array).length;
      if (length > maxBytes) return { ok: false, reason: `an answer over ${maxBytes} bytes` };
      parts.push(Buffer.from(chunk as Uint8Array));
    }
    const text = Buffer.concat(parts).toString('utf8');
    return res.ok ? { ok: true, text } : { ok: false, reason: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  } catch (err) {
    return { ok: false, reason: `${failureReason(err, timeoutMs)} (${url})` };
  }
}

export async function fetchJson<T>(source: string, url: string, timeoutMs: number): Promise<Sourced<T>> {
  const r = await fetchText(url, timeoutMs);
  if (!r.ok) return { ok: false, source, reason: r.reason };
  try {
    return { ok: true, data: JSON.parse(r.text) as T };
  } catch {
    return { ok: false, source, reason: 'the answer is not JSON' };
  }
}
