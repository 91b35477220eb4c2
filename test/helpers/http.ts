// HTTP as a test client sees it: status, headers and parsed body of every answer.
export interface Answer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

export async function request<T = unknown>(url: string, init: RequestInit = {}): Promise<Answer<T>> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export interface EchoBody {
  msg: string | null;
  path: string;
  instance: string;
  service: string;
  headers: Record<string, string>;
}

export interface GatewayError {
  error: { status: number; code: string; message: string; request_id: string };
}

/** Which instances answered `count` GET /test requests. */
export async function instancesAnswering(gatewayUrl: string, count: number, path = '/test?msg=x'): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const a = await request<EchoBody>(`${gatewayUrl}${path}`);
    const key = a.status === 200 ? a.body.instance : `status:${a.status}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

export interface Traffic {
  /** Stop sending and return how many answers had each status ("error" for failed requests). */
  stop(): Promise<Map<string, number>>;
}

/** Keep sending GETs to `url` one after another until stopped: what a steady caller sees. */
export function steadyTraffic(url: string, pauseMs = 20): Traffic {
  return trafficOf(() => fetch(url, { signal: AbortSignal.timeout(5_000) }), { pauseMs });
}

/**
 * `concurrency` loops each sending one request at a time until stopped; the answers counted by
 * status ("error" when none came). A failed answer's status line and body start are kept too.
 */
export function trafficOf(send: () => Promise<Response>, o: { concurrency?: number; pauseMs?: number } = {}): Traffic & { failures: string[] } {
  const counts = new Map<string, number>();
  const failures: string[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      let key: string;
      try {
        const res = await send();
        const body = await res.text();
        key = String(res.status);
        if (res.status >= 400 && failures.length < 20) failures.push(`${res.status} ${body.slice(0, 160)}`);
      } catch (err) {
        key = 'error';
        if (failures.length < 20) failures.push(`error ${(err as Error).message}`);
      }
      counts.set(key, (counts.get(key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 20));
    }
  };
  const loops = Array.from({ length: o.concurrency ?? 1 }, loop);
  return {
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}
