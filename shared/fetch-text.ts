// One HTTP GET, bounded in time and in bytes: its text, or why it could not be had, in the words
// an operator searches for. The console reads its sources with it, the LLM processor its model
// servers' metrics, the xds-server a Eureka registry.

/** Why a fetch failed, in the words an operator searches for (ECONNREFUSED, a timeout). */
function failureReason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.cause?.code === 'UND_ERR_SOCKET') return 'the connection closed before an answer (UND_ERR_SOCKET)';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** Past this an answer is refused by default: a reader must not be blown up by what it reads. */
const MAX_BYTES = 16 * 1024 * 1024;

export type Fetched = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/**
 * One GET, bounded: `timeoutMs` for all of it, and at most `maxBytes` read — an answer that says
 * it is longer is not read at all, and one that goes on past the bound is cut off there.
 */
export async function fetchText(url: string, timeoutMs: number, maxBytes = MAX_BYTES, headers?: Readonly<Record<string, string>>): Promise<Fetched> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...(headers ? { headers } : {}) });
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
