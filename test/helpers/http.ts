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
