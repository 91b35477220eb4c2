// One form POST to an identity provider, bounded in time and bytes, on kept-alive connections of
// its own (at most one per call allowed at once). Node's fetch cost ~280 µs of CPU a call here,
// most of ext-authz's time on an uncached introspection (bench/tokens.ts); node:http with an agent
// costs far less.
import http from 'node:http';
import https from 'node:https';

export type Posted = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** One agent per provider and bound, shared by every compile of a policy (a policy change must not leave idle sockets behind). */
const agents = new Map<string, http.Agent>();

export class FormPoster {
  private readonly agent: http.Agent;
  private readonly url: URL;
  private readonly client: typeof http | typeof https;

  constructor(
    endpoint: string,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    maxSockets: number,
  ) {
    this.url = new URL(endpoint);
    this.client = this.url.protocol === 'https:' ? https : http;
    const key = `${this.url.origin}|${maxSockets}`;
    let agent = agents.get(key);
    if (!agent) {
      agent = new this.client.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
      agents.set(key, agent);
    }
    this.agent = agent;
  }

  post(body: string, headers: Readonly<Record<string, string>>): Promise<Posted> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (p: Posted) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(p);
      };
      const req = this.client.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const parts: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.maxBytes) {
              finish({ ok: false, reason: `an answer over ${this.maxBytes} bytes` });
              res.destroy();
              return;
            }
            parts.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            const status = res.statusCode ?? 0;
            finish(status >= 200 && status < 300 ? { ok: true, text } : { ok: false, reason: `HTTP ${status}: ${text.slice(0, 200)}` });
          });
          res.on('error', (err) => finish({ ok: false, reason: err.message }));
        },
      );
      const timer = setTimeout(() => {
        finish({ ok: false, reason: `no answer within ${this.timeoutMs} ms` });
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, reason: `${err.code ?? err.message} (${this.url.href})` }));
      req.end(body);
    });
  }
}
