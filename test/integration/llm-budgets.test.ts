// Budgets that cannot be overrun: two gateway replicas (two Envoys on one xds-server), each
// asking either of two ratelimit-services that share one Redis, and 50 calls at once against a
// tenant's token budget and cost budget worth 10 calls. Each call reserves its bound before it
// goes and settles what it used when it ends, so the budgets end up charged exactly what the
// answered calls used — never more than they hold — where charging after the call let every
// one of the 50 through.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Component } from '../../launcher/component.js';
import type { EnvoyProcess } from '../../launcher/envoy.js';
import { startGatewayEnvoy } from '../../launcher/envoy-roles.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { freePorts } from '../../launcher/ports.js';
import { startRatelimit } from '../../launcher/ratelimit.js';
import { startRedis, type RedisServer } from '../../launcher/redis.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';

const KEY = 'mgk_budget_test_0123456789';
/** Another tenant's key: its budgets are its own, untouched by the burst. */
const BETA_KEY = 'mgk_budget_test_beta_98765';
const POLICY = `
policies:
  default:
    credentials:
      - type: api_key
        header: x-api-key
        bearer: true
        keys:
          - {id: acme-1, sha256: ${sha256(KEY).toString('hex')}, subject: acme-app, tenant: acme}
          - {id: beta-1, sha256: ${sha256(BETA_KEY).toString('hex')}, subject: beta-app, tenant: beta}
`;

// One call: 400 one-letter words in, the echo answers with 402 (so 802 tokens); its price,
// 1 and 2 micro-units a token (model-route Price 1 and 2 per million), makes 1204 micro-units.
const WORDS = Array.from({ length: 400 }, () => 'a').join(' ');
const CALL = JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 410, messages: [{ role: 'user', content: WORDS }] });
const CALL_TOKENS = 802;
const CALL_COST = 400 * 1 + 402 * 2;
const TOKEN_BUDGET = 10 * CALL_TOKENS;
const COST_BUDGET = 10 * CALL_COST;

const RATELIMIT = `domain: meshgate
descriptors:
  - key: generic_key
    value: tokens
    descriptors:
      - key: tenant
        rate_limit: {unit: hour, requests_per_unit: ${TOKEN_BUDGET}}
  - key: generic_key
    value: dollars
    descriptors:
      - key: tenant
        rate_limit: {unit: hour, requests_per_unit: ${COST_BUDGET}}
`;

describe('LLM budgets: reserved before the call, settled after, exact across gateway replicas on Redis', () => {
  let redis: RedisServer;
  let mesh: GatewayMesh;
  const REDIS_TIMEOUT = '--redis-timeout=1s';
  let secondRatelimit: Component;
  let secondGateway: EnvoyProcess;
  let secondGatewayUrl: string;

  before(async () => {
    const [redisPort, rlPort, rlAdmin, gwPort, gwAdmin, gwStats] = (await freePorts(6)) as [number, number, number, number, number, number];
    redis = await startRedis(redisPort);
    mesh = await startGatewayMesh({
      llm: true,
      authzPolicy: POLICY,
      ratelimitConfig: RATELIMIT,
      ratelimitRedis: redis.url,
      // A 50-call burst on two loaded cores can take the rate-limit service past the 100 ms default:
      // those calls would be refused (503: budgets fail closed) and a reservation granted after
      // Envoy gave up stays charged — never an overrun, but not the exact count this test checks.
      // Rate limits stay at their default (fail open): the budgets' failure mode is their own.
      xdsArgs: ['--llm-token-budgets=generic:tokens,auth:tenant', '--llm-cost-budgets=generic:dollars,auth:tenant', '--ratelimit-timeout=2s'],
      // Likewise Redis past the service's 50 ms: a reservation it could not make is refused (503),
      // and the full suite on two cores saw it.
      ratelimitArgs: [REDIS_TIMEOUT],
    });
    await mesh.consul.api.kvPut('meshgate/config/model-route/llama-3.1-8b', 'Kind: model-route\nName: llama-3.1-8b\nPrice: {InputPerMillion: 1, OutputPerMillion: 2}\n');
    // A second ratelimit-service on the same Redis, in the same Consul service: the gateways ask either.
    secondRatelimit = await startRatelimit({
      port: rlPort,
      adminPort: rlAdmin,
      configPaths: [path.join(mesh.dir, 'ratelimit.yaml')],
      consulAddress: mesh.consul.address,
      register: true,
      redisUrl: redis.url,
      extraArgs: [REDIS_TIMEOUT],
      logFile: path.join(mesh.dir, 'ratelimit-2.log'),
    });
    secondGateway = await startGatewayEnvoy({
      nodeId: `it-gateway-${gwPort}`,
      port: gwPort,
      adminPort: gwAdmin,
      statsPort: gwStats,
      xds: { host: '127.0.0.1', port: mesh.ports.xds },
      workDir: mesh.dir,
      logFile: path.join(mesh.dir, 'envoy-2.log'),
    });
    secondGatewayUrl = `http://127.0.0.1:${gwPort}`;
    await mesh.addInstance({ service: 'chat-a', id: 'chat-a-1', meta: { models: 'llama-3.1-8b' } });
    // Both gateways route the model, with both ratelimit-services as the budget's cluster.
    await waitFor(
      'both gateways to route the model, with both ratelimit-services',
      async () => {
        for (const url of [mesh.gatewayUrl, secondGatewayUrl]) {
          const r = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } }).catch(() => undefined);
          if (r?.status !== 200 || !(await r.text()).includes('llama-3.1-8b')) return false;
        }
        const clusters = await (await fetch(`http://127.0.0.1:${gwAdmin}/clusters`)).text();
        return clusters.split('\n').filter((l) => l.startsWith('ratelimit::') && l.endsWith('::health_flags::healthy')).length === 2;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  after(async () => {
    await secondGateway?.stop();
    await secondRatelimit?.stop();
    await mesh?.stop();
    await redis?.stop();
  });

  /** What a budget's counter holds, read from Redis itself (the key envoyproxy/ratelimit writes, this hour's window). */
  const spent = async (budget: 'tokens' | 'dollars', tenant = 'acme'): Promise<number> => {
    const hour = Math.floor(Date.now() / 1000 / 3600) * 3600;
    const key = `meshgate_generic_key_${budget}_tenant_${tenant}_${hour}`;
    return (await redis.command('EXISTS', key)) === ':1' ? Number(await redis.bulk('GET', key)) : 0;
  };

  it('lets 50 concurrent calls spend no more than budgets worth 10 calls, and charges exactly what the answered calls used', async () => {
    // What the budgets held before (nothing, unless a readiness probe was charged).
    const before = { tokens: await spent('tokens'), dollars: await spent('dollars') };
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await fetch(`${i % 2 ? secondGatewayUrl : mesh.gatewayUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: CALL,
          signal: AbortSignal.timeout(20_000),
        });
        return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }; error?: { code?: string } } };
      }),
    );
    const answered = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(answered.length + refused.length, 50, `only 200s and 429s: ${JSON.stringify(answers.filter((a) => a.status !== 200 && a.status !== 429).slice(0, 2))}`);
    assert.ok(answered.length >= 1 && refused.length >= 1, `some answered (${answered.length}), some refused (${refused.length})`);
    for (const r of refused) {
      assert.equal(r.body.error?.code, 'rate_limited');
      assert.ok(Number(r.retryAfter) > 0, 'Retry-After');
    }
    for (const a of answered) assert.equal(a.body.usage?.total_tokens, CALL_TOKENS);
    const used = answered.length * CALL_TOKENS;
    const cost = answered.length * CALL_COST;
    assert.ok(before.tokens + used <= TOKEN_BUDGET, `${answered.length} calls used ${used} tokens of ${TOKEN_BUDGET}`);
    // Every reservation settled: the counters hold exactly what the answered calls used.
    const counters = async (): Promise<string> => `tokens ${await spent('tokens')}, cost ${await spent('dollars')}`;
    await waitFor('every call settled', async () => (await counters()) === `tokens ${used}, cost ${cost}`, { timeoutMs: 10_000, intervalMs: 100 }).catch(async (err: Error) => {
      const ops = [mesh.ratelimit!.adminUrl, secondRatelimit.adminUrl].map(async (u) => (await (await fetch(`${u}/metrics`)).text()).split('\n').filter((l) => l.startsWith('meshgate_ratelimit_budget')).join('; '));
      const stats = await (await fetch(`http://127.0.0.1:${mesh.ports.envoyAdmin}/stats?filter=ratelimit`)).text();
      process.stderr.write(stats);
      throw new Error(`${err.message}: the counters hold ${await counters()}, the ${answered.length} answered calls used tokens ${used}, cost ${cost}; ${(await Promise.all(ops)).join(' | ')}`);
    });
    assert.ok(before.dollars + cost <= COST_BUDGET);
  });

  it('charges a call in Anthropic’s dialect the tokens it used, as the same call in OpenAI’s', async () => {
    /** The call's answer, once its tokens are charged: the counter holds its reservation until it settles at what was used. */
    const charged = async (call: () => Promise<Response>): Promise<{ delta: number; body: Record<string, unknown> }> => {
      const before = await spent('tokens', 'beta');
      const r = await call();
      const body = (await r.json()) as Record<string, unknown>;
      assert.equal(r.status, 200, JSON.stringify(body));
      let delta = 0;
      await waitFor(`the call settled at ${CALL_TOKENS} tokens`, async () => (delta = (await spent('tokens', 'beta')) - before) === CALL_TOKENS, { timeoutMs: 10_000, intervalMs: 50 }).catch((err: Error) => {
        throw new Error(`${err.message}: the counter moved by ${delta}`);
      });
      return { delta, body };
    };
    const openai = await charged(() =>
      fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${BETA_KEY}` }, body: CALL }),
    );
    assert.equal((openai.body['usage'] as { total_tokens: number }).total_tokens, CALL_TOKENS);
    assert.equal(openai.delta, CALL_TOKENS);
    const anthropic = await charged(() =>
      fetch(`${mesh.gatewayUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': BETA_KEY, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 410, messages: [{ role: 'user', content: WORDS }] }),
      }),
    );
    assert.deepEqual(anthropic.body['usage'], { input_tokens: 400, output_tokens: 402, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    assert.equal(anthropic.delta, CALL_TOKENS, 'the same tokens, whatever the dialect');
  });

  it('refuses at once a call whose reservation cannot fit, though the budget is not spent, and lets a smaller one through', async () => {
    const left = TOKEN_BUDGET - (await spent('tokens'));
    const ask = (maxTokens: number) =>
      fetch(`${mesh.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] }),
      });
    assert.ok(left > 100, `room left: ${left}`);
    assert.equal((await ask(left + 1)).status, 429, 'its answer alone could pass the budget');
    const small = await ask(5);
    assert.equal(small.status, 200);
    const before = await spent('tokens');
    assert.ok(before <= TOKEN_BUDGET);
  });

  it('shows the reservations and settlements in the ratelimit-services’ metrics, and the cost in the processor’s', async () => {
    const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
    const both = (await metrics(mesh.ratelimit!.adminUrl)) + (await metrics(secondRatelimit.adminUrl));
    for (const [op, result, budget] of [
      ['reserve', 'granted', 'tokens'],
      ['reserve', 'refused', 'tokens'],
      ['settle', 'settled', 'tokens'],
      ['settle', 'settled', 'dollars'],
    ]) {
      assert.match(both, new RegExp(`meshgate_ratelimit_budget_operations_total\\{operation="${op}",result="${result}",descriptor="generic_key_${budget}\\.tenant"\\} [1-9]`));
    }
    const proc = await metrics(mesh.llm!.adminUrl);
    const counter = proc.split('\n').find((l) => l.startsWith('meshgate_llm_cost_total{') && l.includes('tenant="acme"'));
    assert.ok(counter, 'the cost counter, by tenant');
    assert.ok(Number(counter.split(' ').pop()) > 0);
    // The access log carries each call's cost, from the processor's metadata (on whichever gateway answered).
    const costed = () =>
      ['envoy.log', 'envoy-2.log']
        .flatMap((f) => fs.readFileSync(path.join(mesh.dir, f), 'utf8').split('\n'))
        // Both tenants make calls of this cost, and two gateways write the lines: acme's is looked for.
        .find((l) => l.includes('"cost":0.001204') && l.includes('"tenant":"acme"'));
    const line = await waitFor('an access log line with its cost', costed, { timeoutMs: 5_000, intervalMs: 100 });
    assert.match(line, /"tenant":"acme"/);
  });

  it('refuses a budgeted call while Redis hangs (503 ratelimit_unavailable with Retry-After, never let through uncharged), and serves it again once Redis answers', async () => {
    const small = () =>
      fetch(`${mesh.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${BETA_KEY}` },
        body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
    const before = await spent('tokens', 'beta');
    redis.pause();
    try {
      const refused = await small();
      const body = (await refused.json()) as { error: { code: string } };
      assert.equal(refused.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'ratelimit_unavailable');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
    } finally {
      redis.resume();
    }
    // Both ratelimit-services say why (the refused reservation reached one of them).
    const metrics = (await Promise.all([mesh.ratelimit!.adminUrl, secondRatelimit.adminUrl].map(async (u) => (await fetch(`${u}/metrics`)).text()))).join('\n');
    assert.match(metrics, /meshgate_ratelimit_budget_operations_total\{operation="reserve",result="backend_unavailable",descriptor="generic_key_tokens\.tenant"\} [1-9]/);
    await waitFor('a budgeted call served again once Redis answers', async () => {
      const r = await small();
      await r.arrayBuffer();
      return r.status === 200;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    await waitFor('the served call charged', async () => (await spent('tokens', 'beta')) > before, { timeoutMs: 5_000, intervalMs: 50 });
  });
});
