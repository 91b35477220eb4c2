// The console's page: Preact with htm (no build step) and uPlot for the charts, both served by
// the console from its own node_modules. It polls /api/overview and the selected service's
// /api/series, and redraws; nothing here computes a metric — Prometheus' recorded series do.
// Every URL is relative: the page is served at the console's own address and under its gateway
// path alike. Through the gateway's login, a request whose session is over gets 401 (never a
// redirect: the X-Requested-With header says it is the page's own), and the page reloads to log
// in again.
import { html, render, useEffect, useRef, useState } from './vendor/preact-htm.js';
import uPlot from './vendor/uplot.js';

const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(1, Number(params.get('refresh') ?? 5)) * 1000;

const fmt = (v, digits = 1) => (v === undefined || v === null || Number.isNaN(v) ? '–' : Number(v).toFixed(digits));
const pct = (v) => (v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
const bytes = (v) => (v === undefined ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(1)} MB/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB/s` : `${v.toFixed(0)} B/s`);

function usePoll(url, ms) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  useEffect(() => {
    if (!url) return undefined;
    let stopped = false;
    const tick = async () => {
      try {
        const r = await fetch(url, { headers: { 'x-requested-with': 'XMLHttpRequest' } });
        if (r.status === 401) {
          location.reload();
          return;
        }
        const data = await r.json();
        if (!stopped) setState({ data, error: r.ok ? undefined : data.error ?? `HTTP ${r.status}` });
      } catch (err) {
        if (!stopped) setState((s) => ({ data: s.data, error: `the console does not answer: ${err.message}` }));
      }
    };
    tick();
    const timer = setInterval(tick, ms);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [url, ms]);
  return state;
}

function Chart({ title, points, unit, testid }) {
  const el = useRef(null);
  const plot = useRef(null);
  const data = [points.map((p) => p[0]), points.map((p) => p[1])];
  useEffect(() => {
    if (!plot.current) {
      // Always the last hour, whatever the points cover.
      const hour = () => {
        const now = Date.now() / 1000;
        return [now - 3600, now];
      };
      plot.current = new uPlot(
        { width: 420, height: 160, scales: { x: { time: true, range: hour } }, series: [{}, { label: title, stroke: '#0969da', width: 1.5 }], axes: [{}, { label: unit }], legend: { show: false } },
        data,
        el.current,
      );
    } else plot.current.setData(data);
  });
  useEffect(() => () => plot.current?.destroy(), []);
  const last = points.length ? points[points.length - 1][1] : undefined;
  return html`<div class="chart" data-chart=${testid}>
    <h3>${title} <span class="muted">now <span data-latest=${testid}>${fmt(last, 2)}</span> ${unit}</span></h3>
    <div ref=${el}></div>
  </div>`;
}

function ServiceCharts({ service, model }) {
  const { data, error } = usePoll(`api/series?service=${encodeURIComponent(service)}`, REFRESH_MS);
  if (error) return html`<p class="banner">${error}</p>`;
  if (!data) return html`<p class="muted">loading the last hour of ${service}…</p>`;
  const s = data.series;
  return html`<section data-charts-of=${service}>
    <h2>${service}: the last hour</h2>
    ${data.unreachable ? html`<p class="banner" data-unreachable="series">${data.unreachable}</p>` : null}
    <div class="charts">
      <${Chart} title="requests/s" unit="req/s" points=${s.rps ?? []} testid="rps" />
      <${Chart} title="5xx/s" unit="req/s" points=${s.errors ?? []} testid="errors" />
      <${Chart} title="refused/s (over its bounds)" unit="req/s" points=${s.refused ?? []} testid="refused" />
      <${Chart} title="success" unit="ratio" points=${s.success ?? []} testid="success" />
      <${Chart} title="p50 latency" unit="ms" points=${s.p50 ?? []} testid="p50" />
      <${Chart} title="p99 latency" unit="ms" points=${s.p99 ?? []} testid="p99" />
      <${Chart} title="bytes in" unit="B/s" points=${s.bytesIn ?? []} testid="bytes-in" />
      <${Chart} title="bytes out" unit="B/s" points=${s.bytesOut ?? []} testid="bytes-out" />
      ${model
        ? html`<${Chart} title="tokens/s" unit="tokens/s" points=${s.tokens ?? []} testid="tokens" />
            <${Chart} title="time to first token, p50" unit="s" points=${s.ttft ?? []} testid="ttft" />`
        : null}
    </div>
  </section>`;
}

function Services({ services, selected, onSelect, filter }) {
  const shown = services.filter((s) => !filter || s.name.includes(filter));
  return html`<table data-table="services">
    <thead><tr><th>service</th><th>instances</th><th>req/s</th><th>refused/s</th><th>success</th><th>p50 ms</th><th>p99 ms</th><th>in</th><th>out</th><th>tokens/s</th><th>first token</th></tr></thead>
    <tbody>
      ${shown.map(
        (s) => html`<tr class=${`selectable ${s.name === selected ? 'selected' : ''}`} data-service=${s.name} onClick=${() => onSelect(s.name)}>
          <td><strong>${s.name}</strong>${s.models.length ? html`<div class="muted">models: ${s.models.join(', ')}</div>` : null}</td>
          <td>${s.healthy}/${s.instances.length} healthy<div>${s.instances.map((i) => html`<span class=${`chip ${i.health}`} data-instance=${i.id} data-registry=${i.registry} title=${`${i.address}:${i.port} from ${i.registry}`}>${i.id} ${i.health}${i.registry !== 'consul' ? html` <em>${i.registry}</em>` : null}</span>`)}</div></td>
          <td data-cell="rps">${fmt(s.traffic.rps, 2)}</td>
          <td data-cell="refused" title="refused at once for its bounds: 503 upstream_overloaded with Retry-After">${fmt(s.traffic.refusedPerSecond, 2)}</td>
          <td data-cell="success">${pct(s.traffic.successRatio)}</td>
          <td>${fmt(s.traffic.p50Ms)}</td>
          <td>${fmt(s.traffic.p99Ms)}</td>
          <td>${bytes(s.traffic.requestBytesPerSecond)}</td>
          <td>${bytes(s.traffic.responseBytesPerSecond)}</td>
          <td data-cell="tokens">${s.models.length ? fmt(s.traffic.tokensPerSecond) : ''}</td>
          <td data-cell="ttft">${s.models.length && s.traffic.ttftP50Seconds !== undefined ? `${fmt(s.traffic.ttftP50Seconds * 1000)} ms` : ''}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Proxies({ proxies }) {
  if (!proxies.length) return html`<p class="muted">no proxy is connected</p>`;
  return html`<table data-table="proxies">
    <thead><tr><th>proxy</th><th>role</th><th>xDS</th><th>status</th><th>Envoy's reason</th></tr></thead>
    <tbody>
      ${proxies.map(
        (p) => html`<tr data-proxy=${p.node}>
          <td>${p.node}</td><td>${p.role}</td><td>${p.api}</td>
          <td class=${p.status} data-cell="status">${p.status}</td>
          <td data-cell="reason">${p.nack ? html`<code>${p.nack.type}: ${p.nack.message}</code> <span class="muted">${p.nack.at}</span>` : ''}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function RecentRequests() {
  const [id, setId] = useState(params.get('request') ?? '');
  const [status, setStatus] = useState('');
  const [service, setService] = useState('');
  const q = new URLSearchParams({ limit: '50', ...(id ? { id } : {}), ...(status ? { status } : {}), ...(service ? { service } : {}) });
  const { data, error } = usePoll(`api/requests?${q}`, REFRESH_MS);
  return html`<section data-section="requests">
    <h2>Recent requests <span class="muted">${data ? `${data.kept} kept of ${data.capacity}` : ''}</span></h2>
    <p>
      <input type="search" placeholder="request id" data-search="id" value=${id} onInput=${(e) => setId(e.target.value.trim())} />
      <input type="search" placeholder="status (404, 5xx)" data-search="status" value=${status} onInput=${(e) => setStatus(e.target.value.trim())} />
      <input type="search" placeholder="service" data-search="service" value=${service} onInput=${(e) => setService(e.target.value.trim())} />
    </p>
    ${error ? html`<p class="banner">${error}</p>` : null}
    ${data && data.requests.length
      ? html`<table data-table="requests"><thead><tr><th>time</th><th>request id</th><th>request</th><th>status</th><th>flags</th><th>service</th><th>ms</th><th>tenant</th><th>model / tokens</th></tr></thead><tbody>
          ${data.requests.map(
            (r) => html`<tr data-request=${r.requestId}>
              <td class="muted">${r.at.slice(11, 23)}</td><td><code>${r.requestId}</code></td><td>${r.method} ${r.path}</td>
              <td data-cell="status" class=${r.status >= 500 ? 'firing' : r.status >= 400 ? 'pending' : 'up'}>${r.status}</td>
              <td>${r.flags.join(', ')}${r.details ? html`<div class="muted">${r.details}</div>` : null}</td>
              <td>${r.service}<div class="muted">${r.upstream}</div></td><td>${fmt(r.durationMs)}</td><td>${r.tenant ?? ''}</td>
              <td>${r.model ? `${r.model}${r.totalTokens !== undefined ? ` / ${r.totalTokens}` : ''}` : ''}</td>
            </tr>`,
          )}
        </tbody></table>`
      : html`<p class="muted">no request ${id || status || service ? 'matches' : 'yet (the gateway sends its access log to the console with the xds-server\'s --access-log-service)'}</p>`}
  </section>`;
}

/** Who is signed in, their role, and the way out (when they came through the gateway's login). */
function Caller({ me }) {
  return html`<span data-caller=${me.subject} data-role=${me.role ?? 'none'}>
    ${me.via === 'gateway' ? html`signed in as <strong>${me.subject}</strong>` : html`<strong>${me.subject}</strong>`} · ${me.role ?? 'no role'}
    ${me.signOut ? html` · <a href=${me.signOut} data-action="sign-out">sign out</a>` : null}
  </span>`;
}

function App() {
  const who = usePoll('api/whoami', 60_000);
  const me = who.data;
  if (me && me.role === null) {
    return html`<header><h1>meshgate console</h1><${Caller} me=${me} /></header>
      <p class="banner" data-denied>${me.subject} is signed in, but is neither a viewer nor an operator of the console. Ask for a role, or sign in as someone else.</p>`;
  }
  return me ? html`<${Console} me=${me} />` : html`<p class=${who.error ? 'banner' : 'muted'}>${who.error ?? 'loading…'}</p>`;
}

function Console({ me }) {
  const { data, error } = usePoll('api/overview', REFRESH_MS);
  const [selected, setSelected] = useState(params.get('service') ?? undefined);
  const [filter, setFilter] = useState('');
  if (!data) return html`<p class=${error ? 'banner' : 'muted'}>${error ?? 'loading…'}</p>`;
  const service = selected ?? data.services[0]?.name;
  return html`
    <header><h1>meshgate console</h1><span class="muted">updated <span data-updated>${data.generatedAt}</span></span> <${Caller} me=${me} /></header>
    ${error ? html`<p class="banner">${error}</p>` : null}
    ${data.unreachable.map((u) => html`<p class="banner" data-unreachable=${u.source}><strong>${u.source}</strong> cannot be read: ${u.reason}</p>`)}
    <h2>Alerts</h2>
    ${data.alerts.length
      ? html`<table data-table="alerts"><tbody>${data.alerts.map((a) => html`<tr data-alert=${a.name}><td class=${a.state}>${a.state}</td><td class=${a.severity}>${a.severity}</td><td><strong>${a.name}</strong> ${a.summary}</td><td class="muted">${a.since}</td></tr>`)}</tbody></table>`
      : html`<p class="muted" data-alerts="none">none firing</p>`}
    <h2>Services <input type="search" placeholder="filter" value=${filter} onInput=${(e) => setFilter(e.target.value)} /></h2>
    <${Services} services=${data.services} selected=${service} onSelect=${setSelected} filter=${filter} />
    ${service ? html`<${ServiceCharts} service=${service} model=${(data.services.find((s) => s.name === service)?.models.length ?? 0) > 0} key=${service} />` : null}
    ${me.role === 'operator' ? html`<${RecentRequests} />` : html`<section data-section="requests"><h2>Recent requests</h2><p class="muted" data-operators-only>operators only</p></section>`}
    <h2>Registries</h2>
    <ul data-list="registries">${data.registries.map(
      (r) => html`<li data-registry=${r.registry} class=${r.up ? '' : 'down'}><strong>${r.registry}</strong> ${r.up ? (r.synced ? 'up' : 'syncing') : html`down since ${r.since}: ${r.reason}`} <span class="muted">${r.services} services, ${r.instances} instances</span></li>`,
    )}</ul>
    <h2>Proxies</h2>
    <${Proxies} proxies=${data.proxies} />
    <h2>Refused configuration</h2>
    ${data.configRefusals.length
      ? html`<ul data-list="refusals">${data.configRefusals.map((r) => html`<li><strong>${r.subject}</strong>: ${r.reason} <span class="muted">${r.since}</span></li>`)}</ul>`
      : html`<p class="muted">nothing refused</p>`}
    <h2>ext-authz, the last hour</h2>
    ${data.authz.length
      ? html`<table data-table="authz"><thead><tr><th>policy</th><th>result</th><th>requests</th></tr></thead><tbody>${data.authz.map((a) => html`<tr><td>${a.policy}</td><td>${a.result}</td><td>${a.lastHour}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">no decisions</p>`}
    <h2>Rate limits, the last hour</h2>
    ${data.ratelimit.length
      ? html`<table data-table="ratelimit"><thead><tr><th>limit</th><th>near</th><th>over</th></tr></thead><tbody>${data.ratelimit.map((r) => html`<tr><td>${r.descriptor}</td><td>${r.near}</td><td>${r.over}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">no limit near or over</p>`}
    <h2>Model pools under saturation, the last hour</h2>
    ${data.pools.waiting.length
      ? html`<p data-list="pool-waiting">waiting now: ${data.pools.waiting.map((w) => html`<strong>${w.model}</strong> ${w.count} ${w.priority} `)}</p>`
      : null}
    ${data.pools.callers.length
      ? html`<table data-table="pools"><thead><tr><th>priority</th><th>tenant</th><th>waited</th><th>refused (429)</th></tr></thead><tbody>${data.pools.callers.map(
          (c) => html`<tr data-pool-caller=${`${c.priority}/${c.tenant}`}><td>${c.priority}</td><td>${c.tenant || '(none)'}</td><td>${c.queued}</td><td title=${Object.entries(c.refusedBy).map(([k, v]) => `${k}: ${v}`).join(', ')}>${c.refused}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="muted">no pool saturated</p>`}
    ${data.downTargets.length
      ? html`<h2>Targets Prometheus cannot scrape</h2><ul data-list="down-targets">${data.downTargets.map((t) => html`<li class="down"><strong>${t.job}/${t.instance}</strong>: ${t.error}</li>`)}</ul>`
      : null}
  `;
}

render(html`<${App} />`, document.getElementById('app'));
