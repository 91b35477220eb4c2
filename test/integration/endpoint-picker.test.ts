// The endpoint picker with real Consul, xds-server, Envoy and processor, against simulated GPU
// servers (the demo model service's --sim: one batch slot each, a waiting queue, a prefix cache,
// vLLM's metrics): a call goes to the instance with the shortest queue, as the instances' own
// counters say; the turns of one conversation stay on one instance while it has room and move
// when it is saturated; a model whose instances serve no metrics is balanced by Envoy, and no
// call fails.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { waitFor } from '../../launcher/wait.js';

const SIM = ['--sim', '--sim-slots=1', '--sim-decode-ms-per-token=20', '--sim-prefill-ms-per-token=0.5', '--sim-max-waiting=64'];
type Message = { role: string; content: string };

describe('the endpoint picker: by load and by prompt prefix', () => {
  let mesh: GatewayMesh;
  const sims: ModelServiceProcess[] = [];
  const idOf = new Map<string, string>();

  const chat = async (model: string, messages: Message[]): Promise<{ status: number; instance: string; content: string }> => {
    const r = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages }) });
    const body = (await r.json()) as { system_fingerprint?: string; choices?: Array<{ message: { content: string } }> };
    return { status: r.status, instance: body.system_fingerprint ?? '', content: body.choices?.[0]?.message.content ?? '' };
  };
  /** A gauge or counter of an instance's vLLM metrics. */
  const metric = async (s: ModelServiceProcess, name: string): Promise<number> => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  };
  /** Long calls straight to an instance (not through the gateway): its queue grows. */
  const occupy = (s: ModelServiceProcess, calls: number): Array<Promise<unknown>> =>
    Array.from({ length: calls }, (_, i) =>
      fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim-model', messages: [{ role: 'user', content: `busy ${i} ${'word '.repeat(40)}` }] }),
      }).then((r) => r.text()),
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
    mesh = await startGatewayMesh({ llm: true });
    for (const id of ['sim-1', 'sim-2', 'sim-3']) {
      const s = await mesh.addInstance({ service: 'sim-pool', id, meta: { models: 'sim-model' }, extraArgs: SIM });
      sims.push(s);
      idOf.set(s.url, id);
    }
    for (const id of ['plain-1', 'plain-2']) await mesh.addInstance({ service: 'plain-pool', id, meta: { models: 'plain-model' } });
    await waitFor('both models to be routed', async () => (await chat('sim-model', [{ role: 'user', content: 'hi' }])).status === 200 && (await chat('plain-model', [{ role: 'user', content: 'hi' }])).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor(
      'the picker to read all three instances',
      async () => ((await (await fetch(`${mesh.llm!.adminUrl}/status`)).json()) as { endpoint_picker: { endpoints_read: number; connected: boolean } }).endpoint_picker.endpoints_read >= 3,
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  });

  after(async () => {
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
});
