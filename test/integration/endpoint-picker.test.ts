// The endpoint picker with real Consul, xds-server, Envoy and processor, against simulated GPU
// servers (the demo model service's --sim: one batch slot each, a waiting queue, a prefix cache,
// vLLM's metrics): a call goes to the instance with the shortest queue, as the instances' own
// counters say; the turns of one conversation stay on one instance while it has room and move
// when it is saturated; a model whose instances serve no metrics is balanced by Envoy, and no
// call fails. A saturated pool queues at the gateway: sheddable calls are refused at once (429,
// Retry-After), the others wait, fairly between tenants, and none longer than the bound; the
// console shows who waited and who was refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startConsole, type ConsoleProcess } from '../../launcher/console.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { toolPath } from '../../launcher/repo.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';

const FLOOD_KEY = 'mgk_picker_flood_key_1';
const CHAT_KEY = 'mgk_picker_chat_key_1';
// Keys name the tenant; callers without one are anonymous (the first tests need none).
const POLICY = `policies:
  default:
    credentials:
      - type: api_key
        keys:
          - {id: flood, sha256: ${sha256(FLOOD_KEY).toString('hex')}, subject: batch-job, tenant: flood}
          - {id: chat, sha256: ${sha256(CHAT_KEY).toString('hex')}, subject: chat-app, tenant: chat}
      - type: anonymous
`;
const SIM = ['--sim', '--sim-slots=1', '--sim-decode-ms-per-token=20', '--sim-prefill-ms-per-token=0.5', '--sim-max-waiting=64'];
type Message = { role: string; content: string };

describe('the endpoint picker: by load and by prompt prefix', () => {
  let mesh: GatewayMesh;
  let queueHost: ModelServiceProcess;
  let consoleProc: ConsoleProcess;
  const sims: ModelServiceProcess[] = [];
  const idOf = new Map<string, string>();

  const chat = async (model: string, messages: Message[], headers: Record<string, string> = {}): Promise<{ status: number; instance: string; content: string; retryAfter: string | null; code: string | undefined }> => {
    const r = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, messages }) });
    const body = (await r.json()) as { system_fingerprint?: string; choices?: Array<{ message: { content: string } }>; error?: { code?: string } };
    return { status: r.status, instance: body.system_fingerprint ?? '', content: body.choices?.[0]?.message.content ?? '', retryAfter: r.headers.get('retry-after'), code: body.error?.code };
  };
  const processorMetric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  /** A gauge or counter of an instance's vLLM metrics. */
  const metric = async (s: ModelServiceProcess, name: string): Promise<number> => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  };
  /** Long calls straight to an instance (not through the gateway): its queue grows. */
  const occupy = (s: ModelServiceProcess, calls: number, words = 40): Array<Promise<unknown>> =>
    Array.from({ length: calls }, (_, i) =>
      fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim-model', messages: [{ role: 'user', content: `busy ${i} ${'word '.repeat(words)}` }] }),
      })
        .then((r) => r.text())
        .catch(() => undefined), // the mesh may stop before the last of them ends
    );
  const waiting = (s: ModelServiceProcess): Promise<number> => metric(s, 'vllm:num_requests_waiting');
  const picks = async (reason: string): Promise<number> => {
    const text = await (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`meshgate_llm_endpoint_picks_total{reason="${reason}"}`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  /** The picker has read every instance's metrics since `since` (its /status counts the reads). */
  const pickerCaughtUp = async (): Promise<void> => {
    const status = async (): Promise<{ scrapes: number; endpoints_read: number }> => ((await (await fetch(`${mesh.llm!.adminUrl}/status`)).json()) as { endpoint_picker: { scrapes: number; endpoints_read: number } }).endpoint_picker;
    const first = await status();
    await waitFor('the picker to read every instance again', async () => (await status()).scrapes >= first.scrapes + 2 * first.endpoints_read, { timeoutMs: 5_000, intervalMs: 50 });
  };

  before(async () => {
    // A queued call may wait 3 s here.
    mesh = await startGatewayMesh({ llm: true, authzPolicy: POLICY, llmArgs: ['--queue-max-wait=3s'] });
    for (const id of ['sim-1', 'sim-2', 'sim-3']) {
      const s = await mesh.addInstance({ service: 'sim-pool', id, meta: { models: 'sim-model' }, extraArgs: SIM });
      sims.push(s);
      idOf.set(s.url, id);
    }
    for (const id of ['plain-1', 'plain-2']) await mesh.addInstance({ service: 'plain-pool', id, meta: { models: 'plain-model' } });
    queueHost = await mesh.addInstance({ service: 'one-slot', id: 'one-1', meta: { models: 'queue-model' }, extraArgs: SIM });
    await waitFor('both models to be routed', async () => (await chat('sim-model', [{ role: 'user', content: 'hi' }])).status === 200 && (await chat('plain-model', [{ role: 'user', content: 'hi' }])).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor(
      'the picker to read all three instances',
      async () => ((await (await fetch(`${mesh.llm!.adminUrl}/status`)).json()) as { endpoint_picker: { endpoints_read: number; connected: boolean } }).endpoint_picker.endpoints_read >= 3,
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    // The console scrapes the mesh itself (no Prometheus): it counts from its first scrape on.
    consoleProc = await startConsole({ xdsAdmin: `http://127.0.0.1:${mesh.ports.xdsAdmin}`, scrapeInterval: '1s', logFile: path.join(mesh.dir, 'console.log') });
    await waitFor('the console’s first scrape', async () => ((await (await fetch(`${consoleProc.url}api/overview`)).json()) as { services: unknown[] }).services.length > 0, { timeoutMs: 15_000, intervalMs: 250 });
    await waitFor('the queue model to be routed', async () => (await chat('queue-model', [{ role: 'user', content: 'hi' }])).status === 200, { timeoutMs: 15_000, intervalMs: 200 });
  });

  after(async () => {
    await consoleProc?.stop();
    await mesh?.stop();
  });

  it('gives the model’s cluster Envoy’s override-host policy, its service’s own balancing as the fallback', async () => {
    const dump = JSON.stringify(await mesh.envoy.admin.configDump());
    const at = dump.indexOf('"name":"model~sim-model"');
    assert.ok(at >= 0, 'the model cluster is in the config dump');
    const cluster = dump.slice(at, at + 4_000);
    assert.match(cluster, /envoy\.load_balancing_policies\.override_host/);
    assert.match(cluster, /"key":"meshgate\.llm".*"key":"endpoint"/);
    assert.match(cluster, /envoy\.load_balancing_policies\.round_robin/);
  });

  it('sends a call to the instance with the shortest queue, as the instances count theirs', async () => {
    const [a, b, c] = sims as [ModelServiceProcess, ModelServiceProcess, ModelServiceProcess];
    const busy = [...occupy(a, 6), ...occupy(b, 3)];
    await waitFor('the queues to build', async () => (await waiting(a)) >= 4 && (await waiting(b)) >= 1, { timeoutMs: 5_000, intervalMs: 20 });
    await pickerCaughtUp();
    const queues = [await waiting(a), await waiting(b), await waiting(c)];
    const answered = await chat('sim-model', [{ role: 'user', content: 'where do I go' }]);
    assert.equal(answered.status, 200);
    assert.equal(answered.instance, 'sim-3', `queues ${queues.join('/')}: the call went to ${answered.instance}`);
    await Promise.all(busy);
  });

  it('keeps the turns of a conversation on one instance while it has room, and moves them when it is saturated', async () => {
    const system = `You are a careful assistant. ${'Answer with the facts you were given and nothing else. '.repeat(12)}`;
    const messages: Message[] = [{ role: 'system', content: system }];
    const landed: string[] = [];
    for (const ask of ['first question here', 'second question here', 'third question here', 'fourth question here']) {
      messages.push({ role: 'user', content: ask });
      const r = await chat('sim-model', messages);
      assert.equal(r.status, 200);
      landed.push(r.instance);
      messages.push({ role: 'assistant', content: r.content });
    }
    assert.deepEqual(new Set(landed).size, 1, `every turn on one instance: ${landed.join(', ')}`);
    const home = sims.find((s) => idOf.get(s.url) === landed[0])!;
    assert.ok((await metric(home, 'vllm:prefix_cache_hits_total')) > 0, 'the instance found the conversation’s prefix in its cache');

    const busy = occupy(home, 8);
    await waitFor('its queue to pass the saturation threshold', async () => (await waiting(home)) >= 6, { timeoutMs: 5_000, intervalMs: 20 });
    await pickerCaughtUp();
    messages.push({ role: 'user', content: 'fifth question here' });
    const moved = await chat('sim-model', messages);
    assert.equal(moved.status, 200);
    assert.notEqual(moved.instance, landed[0], `a saturated instance is passed over (${moved.instance})`);
    await Promise.all(busy);
  });

  it('leaves a model whose instances serve no metrics to Envoy’s balancing, and no call fails', async () => {
    const before = await picks('none');
    const answered = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await chat('plain-model', [{ role: 'user', content: `call ${i}` }]);
      assert.equal(r.status, 200);
      answered.add(r.instance);
    }
    assert.deepEqual([...answered].sort(), ['plain-1', 'plain-2'], 'round robin, the service’s own policy');
    assert.ok((await picks('none')) >= before + 10, 'the picker said it could not place them');
  });

  it('queues at the gateway when the pool is saturated: a sheddable call is refused at once, a standard one waits and is served', async () => {
    const busy = occupy(queueHost, 7, 10); // ~0.25 s each on its one slot
    await waitFor('the instance to be saturated', async () => (await waiting(queueHost)) >= 5, { timeoutMs: 5_000, intervalMs: 20 });
    await pickerCaughtUp();
    const queuedBefore = await processorMetric('meshgate_llm_queued_total', 'priority="standard",tenant=""');
    const started = Date.now();
    const shed = await chat('queue-model', [{ role: 'user', content: 'can wait' }], { 'x-meshgate-priority': 'sheddable' });
    assert.equal(shed.status, 429);
    assert.equal(shed.code, 'model_pool_saturated');
    assert.equal(shed.retryAfter, '1');
    assert.ok(Date.now() - started < 1_000, 'refused at once, not after waiting');
    const served = await chat('queue-model', [{ role: 'user', content: 'needs an answer' }]);
    assert.equal(served.status, 200, 'the standard call waited for room and was served');
    assert.equal(served.instance, 'one-1');
    assert.equal(await processorMetric('meshgate_llm_queued_total', 'priority="standard",tenant=""'), queuedBefore + 1);
    assert.ok((await processorMetric('meshgate_llm_queue_refused_total', 'priority="sheddable",tenant="",reason="sheddable"')) >= 1);
    await Promise.all(busy);
  });

  it('serves a second tenant’s calls while a flooding tenant’s wait, and bounds every wait', async () => {
    const finished: string[] = [];
    const send = (key: string, who: string, i: number) =>
      chat('queue-model', [{ role: 'user', content: `${who} ${i}` }], { 'x-api-key': key }).then((r) => {
        finished.push(`${who}:${r.status}`);
        return r;
      });
    const flood = Array.from({ length: 14 }, (_, i) => send(FLOOD_KEY, 'flood', i));
    await waitFor('the flood to queue at the gateway', async () => (await processorMetric('meshgate_llm_queue_length', 'gen_ai_request_model="queue-model",priority="standard"')) >= 5, { timeoutMs: 5_000, intervalMs: 20 });
    const interactive = [send(CHAT_KEY, 'chat', 0), send(CHAT_KEY, 'chat', 1)];
    const chats = await Promise.all(interactive);
    assert.deepEqual(chats.map((r) => r.status), [200, 200]);
    const floodDoneBeforeChat = finished.slice(0, finished.lastIndexOf('chat:200')).filter((f) => f.startsWith('flood')).length;
    const floods = await Promise.all(flood);
    assert.ok(floodDoneBeforeChat <= 9, `the chat tenant waited behind ${floodDoneBeforeChat} of the 14 flood calls, not all of them: ${finished.join(' ')}`);
    assert.ok(floods.every((r) => r.status === 200 || (r.status === 429 && r.code === 'model_pool_saturated')), 'every flood call is served or refused clearly');
    assert.ok((await processorMetric('meshgate_llm_queued_total', 'priority="standard",tenant="flood"')) >= 5);
  });

  it('refuses a call that waited as long as the bound allows, with 429 and Retry-After', async () => {
    occupy(queueHost, 11, 40); // ~0.85 s each on one slot: five or more waiting for ~5 s, longer than the 3 s bound
    await waitFor('the instance to be saturated', async () => (await waiting(queueHost)) >= 6, { timeoutMs: 5_000, intervalMs: 20 });
    await pickerCaughtUp();
    const started = Date.now();
    const r = await chat('queue-model', [{ role: 'user', content: 'in a hurry' }]);
    const waited = Date.now() - started;
    assert.equal(r.status, 429);
    assert.equal(r.code, 'model_pool_saturated');
    assert.equal(r.retryAfter, '1');
    assert.ok(waited >= 2_500 && waited < 6_000, `answered after the bound (3 s), not at once nor after Envoy's own time-out: ${waited} ms`);
    assert.ok((await processorMetric('meshgate_llm_queue_refused_total', 'priority="standard",tenant="",reason="waited_too_long"')) >= 1);
  });

  it('shows in the console who waited for a saturated pool and who was refused, by priority and tenant', async () => {
    const browser = await chromium.launch({
      executablePath: toolPath('chromium'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(`${consoleProc.url}?refresh=1`, { timeout: 15_000 });
      const flood = page.locator('[data-pool-caller="standard/flood"]');
      await flood.waitFor({ timeout: 15_000 });
      const cells = async (row: typeof flood): Promise<string[]> => row.locator('td').allTextContents();
      await waitFor('the flood’s waits on the page', async () => Number((await cells(flood))[2]) >= 5, { timeoutMs: 10_000, intervalMs: 250 }).catch(() => undefined);
      assert.ok(Number((await cells(flood))[2]) >= 5, `the flooding tenant waited: ${(await cells(flood)).join(' | ')}`);
      const shed = page.locator('[data-pool-caller="sheddable/"]');
      await shed.waitFor({ timeout: 10_000 });
      assert.deepEqual((await cells(shed)).slice(0, 2), ['sheddable', '(none)']);
      assert.ok(Number((await cells(shed))[3]) >= 1, 'the sheddable call was refused');
      await page.screenshot({ path: path.join(mesh.dir, 'console-pools.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('the simulator, as vLLM: a priority refused 400 under fcfs; under the priority policy, a better call preempts a running one, which still ends whole', async () => {
    const ask = (s: ModelServiceProcess, body: Record<string, unknown>) =>
      fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'sim-model', ...body }) });
    const refused = await ask(sims[0]!, { priority: 1, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /Priority scheduling is not enabled/);
    const prio = await mesh.addInstance({ service: 'prio-sim', id: 'prio-1', meta: { models: 'prio-model' }, extraArgs: [...SIM, '--sim-scheduling-policy=priority'] });
    // A long call of priority 1 holds the one slot; a call of priority 0 takes it at once.
    const long = ask(prio, { priority: 1, stream: true, messages: [{ role: 'user', content: `long ${'word '.repeat(40)}` }] }).then((r) => r.text());
    await waitFor('the long call running', async () => (await metric(prio, 'vllm:num_requests_running')) === 1, { timeoutMs: 5_000, intervalMs: 20 });
    const urgent = await ask(prio, { priority: 0, stream: true, messages: [{ role: 'user', content: 'urgent' }] });
    assert.equal(urgent.status, 200);
    assert.ok(Number(urgent.headers.get('x-sim-queued-ms')) < 5, `no wait for a slot: ${urgent.headers.get('x-sim-queued-ms')} ms`);
    assert.match(await urgent.text(), /data: \[DONE\]/);
    assert.equal(await metric(prio, 'vllm:num_preemptions_total'), 1);
    const said = (text: string): string =>
      text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('');
    const longText = await long;
    assert.match(longText, /data: \[DONE\]/, 'the preempted call ended');
    const whole = (await (await ask(prio, { priority: 1, messages: [{ role: 'user', content: `long ${'word '.repeat(40)}` }] })).json()) as { choices: Array<{ message: { content: string } }> };
    // A stream says the answer's words, one to a chunk.
    assert.equal(said(longText), whole.choices[0]!.message.content.split(' ').filter(Boolean).join(' '), 'the preempted call said its whole answer, each word once');
  });

  it('a pool whose servers preempt: each call carries its priority, and another tenant’s call takes the slot of the flood’s worst at once', async () => {
    const fair = await mesh.addInstance({ service: 'fair-pool', id: 'fair-1', meta: { models: 'fair-model', 'model-scheduling': 'priority' }, extraArgs: [...SIM, '--sim-slots=2', '--sim-scheduling-policy=priority'] });
    // Ready: priorities in force, and the picker places the model's calls (it has read the instance's load).
    await waitFor('the fair model routed, its priorities in force, its calls placed by the picker', async () => {
      const resolved = (await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/resolved`)).json()) as { gateway?: { models?: { routed?: Array<{ id: string; server_priority?: boolean }> } } };
      if (resolved.gateway?.models?.routed?.find((m) => m.id === 'fair-model')?.server_priority !== true) return false;
      const placed = await picks('load');
      return (await chat('fair-model', [{ role: 'user', content: 'hi' }])).status === 200 && (await picks('load')) > placed;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    // Calls of some 2.5 s (120 words at 20 ms): none ends while the test looks.
    const long = (i: number) => chat('fair-model', [{ role: 'user', content: `flood ${i} ${'word '.repeat(120)}` }], { 'x-api-key': FLOOD_KEY });
    // The flood's first two calls hold both slots (priorities 1,000 and 1,001); its third waits
    // (at the gateway, or at the server before the picker has seen its batch size). The other
    // tenant's first call (1,000) does not wait behind it.
    const flood = [long(0), long(1)];
    await waitFor('both slots held by the flood', async () => (await metric(fair, 'vllm:num_requests_running')) === 2, { timeoutMs: 5_000, intervalMs: 20 });
    flood.push(long(2));
    await waitFor('the third waiting, at the gateway or at the server', async () => (await processorMetric('meshgate_llm_queue_length', 'gen_ai_request_model="fair-model",priority="standard"')) + (await waiting(fair)) === 1, { timeoutMs: 5_000, intervalMs: 20 });
    const [preemptsBefore, picksBefore] = [await metric(fair, 'vllm:num_preemptions_total'), await picks('preempt')];
    const other = await chat('fair-model', [{ role: 'user', content: 'a question' }], { 'x-api-key': CHAT_KEY });
    assert.equal(other.status, 200);
    const why = async () => `picks: preempt ${await picks('preempt')} load ${await picks('load')} saturated ${await picks('saturated')} prefix ${await picks('prefix')} none ${await picks('none')}; ${JSON.stringify(((await (await fetch(`${mesh.llm!.adminUrl}/status`)).json()) as { endpoint_picker: unknown }).endpoint_picker)}`;
    assert.equal(await picks('preempt'), picksBefore + 1, `placed at once on the instance running a worse call (${await why()})`);
    assert.ok((await metric(fair, 'vllm:num_preemptions_total')) > preemptsBefore, 'the server preempted the flood’s worst call for it');
    const floods = await Promise.all(flood);
    assert.deepEqual(floods.map((r) => r.status), [200, 200, 200], 'the preempted call ended whole too');
    for (const r of floods) assert.match(r.content, /word word/);
  });
});
