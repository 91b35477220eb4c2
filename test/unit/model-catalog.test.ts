// The model catalog: what services say they serve (meta `models`), validated; the models with a
// healthy service; and the gateway's own answer to GET /v1/models.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRefusal } from '../../shared/validate/result.js';
import { serviceSettings } from '../../xds-server/model/service-settings.js';
import { modelCatalog, modelRouting } from '../../xds-server/resolve/models.js';
import { parseConfigEntries } from '../../xds-server/model/config-entries/schema.js';
import { entriesOf } from '../../xds-server/model/config-entries/entry-store.js';
import { entryId } from '../../xds-server/model/config-entries/schema.js';
import { readerOf, type MeshReader } from '../../xds-server/resolve/mesh-reader.js';
import type { Target } from '../../xds-server/resolve/resolved-mesh.js';
import { servicePolicy } from '../../xds-server/resolve/service-policy.js';
import { modelsListBody } from '../../xds-server/translate/models-route.js';
import { instance, meshOf, service } from '../helpers/mesh-fixtures.js';

/** The processor's target, as the gateway resolves it (each model's door copies it). */
const processorOf = (m: MeshReader) => (): Target => ({
  id: 'llm',
  service: 'llm',
  subset: undefined,
  endpoints: [],
  failover: [],
  policy: servicePolicy(m, 'llm', { service: 'llm', kind: 'llm', timeoutMs: 2_000 }),
});

describe('model catalog', () => {
  it('reads meta models: trimmed, deduplicated, sorted; a bad name refused with the reason', () => {
    const r = serviceSettings('llm', { models: ' qwen2.5-7b,llama-3.1-8b , qwen2.5-7b,org/model:tag' });
    assert.ok(r.ok);
    assert.deepEqual(r.value.models, ['llama-3.1-8b', 'org/model:tag', 'qwen2.5-7b']);
    const bad = serviceSettings('llm', { models: 'ok,not ok' });
    assert.match(describeRefusal(bad as { field: string; reason: string }), /^meta "models": "not ok" is not a model name/);
  });

  it('offers a model while one of its services has a healthy instance, never infrastructure', () => {
    const state = meshOf([
      service('a', [instance('a-1')], { models: ['m1', 'm2'] }),
      service('b', [instance('b-1', { health: 'UNHEALTHY' }), instance('b-2', { health: 'DEGRADED' })], { models: ['m2', 'm3'] }),
      service('c', [instance('c-1')], { models: ['m2'] }),
      service('authz', [instance('z-1')], { models: ['m9'] }),
    ]);
    assert.deepEqual(modelCatalog(readerOf(state), new Set(['authz'])), [
      { id: 'm1', services: ['a'] },
      { id: 'm2', services: ['a', 'c'] },
    ]);
  });

  it('answers in OpenAI’s list shape', () => {
    assert.deepEqual(JSON.parse(modelsListBody([{ id: 'm2', services: ['a', 'c'] }])), {
      object: 'list',
      data: [{ id: 'm2', object: 'model', created: 0, owned_by: 'a,c' }],
    });
  });

  const entries = (text: string) => {
    const parsed = parseConfigEntries(text, true);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    return entriesOf(new Map(parsed.value.map((e) => [entryId(e), e])));
  };

  it('routes each model to its services in failover order, and resolves aliases to the models served now', () => {
    const mesh = meshOf(
      [
        service('a', [instance('a-1')], { models: ['llama', 'shared'], requestTimeoutMs: 7_000 }),
        service('b', [instance('b-1')], { models: ['qwen', 'shared'], requestLog: true }),
        service('c', [instance('c-1', { health: 'UNHEALTHY' })], { models: ['mixtral'] }),
      ],
      entries(
        [
          'Kind: model-route\nName: shared\nServices: [b, nowhere]\nRequestTimeoutMs: 60000',
          'Kind: model-route\nName: chat\nTargets: [{Model: llama, Weight: 3}, {Model: mixtral, Weight: 5}]',
          'Kind: model-route\nName: qwen\nTargets: [{Model: llama}]',
        ].join('\n---\n'),
      ),
    );
    const m = readerOf(mesh);
    const routing = modelRouting(m, modelCatalog(m, new Set())!, false, processorOf(m));
    assert.deepEqual(
      routing.models.map((r) => [r.id, r.services, r.timeoutMs, r.decidedBy.modelTimeout]),
      [
        ['llama', ['a'], 7_000, 'default'], // the first service's request timeout
        ['qwen', ['b'], 30_000, 'default'],
        ['shared', ['b', 'a'], 60_000, 'model-route'], // the entry's order first (a service it names that serves nothing is no one), then by name
      ],
    );
    assert.deepEqual(
      routing.models.map((r) => [r.target.id, r.target.endpoints.map((e) => e.id), r.target.failover.map((f) => f.id)]),
      [
        ['model~llama', ['a-1'], []],
        ['model~qwen', ['b-1'], []],
        ['model~shared', ['b-1'], ['a']],
      ],
      'each model one cluster: its first service, the others as failover',
    );
    assert.deepEqual(routing.aliases, [{ name: 'chat', targets: [['llama', 3]] }], 'mixtral has no healthy service: left out');
    assert.deepEqual(routing.logged, ['b']);
    assert.deepEqual(routing.notes, [
      'model-route chat: target mixtral has no healthy service; left out',
      'model-route qwen: a service serves a model of this name; the alias is ignored',
    ]);
  });

  it('fails a model over to a provider that knows it by another name: in the catalog while the provider is healthy, its name per service', () => {
    const state = (providerHealth: 'HEALTHY' | 'UNHEALTHY', aHealth: 'HEALTHY' | 'UNHEALTHY' = 'HEALTHY') =>
      meshOf(
        [service('a', [instance('a-1', { health: aHealth })], { models: ['llama'] }), service('provider', [instance('p-1', { health: providerHealth })], {})],
        entries('Kind: model-route\nName: llama\nServices: [a, {Service: provider, Model: meta-llama/Llama-3.1-8B}]'),
      );
    const routed = (mesh: ReturnType<typeof state>) => {
      const m = readerOf(mesh);
      return modelRouting(m, modelCatalog(m, new Set())!, false, processorOf(m)).models.map((r) => [r.id, r.services, r.renamed]);
    };
    assert.deepEqual(routed(state('HEALTHY')), [['llama', ['a', 'provider'], { provider: 'meta-llama/Llama-3.1-8B' }]]);
    assert.deepEqual(routed(state('UNHEALTHY')), [['llama', ['a'], {}]], 'a provider with no healthy instance serves nothing');
    assert.deepEqual(routed(state('HEALTHY', 'UNHEALTHY')), [['llama', ['provider'], { provider: 'meta-llama/Llama-3.1-8B' }]], 'the model stays while the provider serves it');
  });

  it('lets Envoy route a model’s calls directly only when nothing needs the processor', () => {
    const mesh = meshOf(
      [
        service('a', [instance('a-1')], { models: ['plain', 'picked', 'priced', 'renamed'] }),
        service('logging', [instance('l-1')], { models: ['logged'], requestLog: true }),
        service('claude', [instance('c-1')], { models: ['claude'], modelDialect: 'anthropic' }),
        service('provider', [instance('p-1')], {}),
      ],
      entries(
        [
          ...['plain', 'logged', 'claude'].map((n) => `Kind: model-route\nName: ${n}\nEndpointPicker: "off"`),
          'Kind: model-route\nName: priced\nEndpointPicker: "off"\nPrice: {InputPerMillion: 1, OutputPerMillion: 2}',
          'Kind: model-route\nName: renamed\nEndpointPicker: "off"\nServices: [a, {Service: provider, Model: other-name}]',
        ].join('\n---\n'),
      ),
    );
    const m = readerOf(mesh);
    const direct = (budgeted: boolean) => Object.fromEntries(modelRouting(m, modelCatalog(m, new Set())!, budgeted, processorOf(m)).models.map((r) => [r.id, r.direct]));
    // The picker (on by default), a service that logs, another dialect, a price, another name: the processor's.
    assert.deepEqual(direct(false), { claude: false, logged: false, picked: false, plain: true, priced: false, renamed: false });
    assert.deepEqual(direct(true), { claude: false, logged: false, picked: false, plain: false, priced: false, renamed: false }, 'budgets in force: every call reserves');
  });

  it('writes a priority into a model’s calls only when the picker places them and all its services schedule by priority, in OpenAI’s dialect', () => {
    const mesh = meshOf(
      [
        service('vllm', [instance('v-1')], { models: ['both', 'one', 'unpicked', 'alone'], modelScheduling: 'priority' }),
        service('vllm-fcfs', [instance('f-1')], { models: ['one'] }),
        service('vllm-too', [instance('t-1')], { models: ['both'], modelScheduling: 'priority' }),
        service('claude', [instance('c-1')], { models: ['claude'], modelDialect: 'anthropic', modelScheduling: 'priority' }),
      ],
      entries('Kind: model-route\nName: unpicked\nEndpointPicker: "off"'),
    );
    const m = readerOf(mesh);
    const routed = modelRouting(m, modelCatalog(m, new Set())!, false, processorOf(m)).models;
    assert.deepEqual(Object.fromEntries(routed.map((r) => [r.id, r.serverPriority])), { alone: true, both: true, claude: false, one: false, unpicked: false });
    assert.deepEqual(Object.fromEntries(routed.map((r) => [r.id, r.scheduling])), { alone: 'priority', both: 'priority', claude: 'priority', one: undefined, unpicked: 'priority' });
    const bad = serviceSettings('vllm', { 'model-scheduling': 'lifo' });
    assert.match(describeRefusal(bad as { field: string; reason: string }), /^meta "model-scheduling": "lifo" is not one of fcfs, priority/);
  });

  it('gives each model a door to the processor: its cluster’s calls in flight plus waiting, the processor’s policy otherwise', () => {
    const mesh = meshOf(
      [service('a', [instance('a-1')], { models: ['small'] }), service('b', [instance('b-1')], { models: ['big'] })],
      entries('Kind: service-defaults\nName: a\nLimits: {MaxConcurrentRequests: 16, MaxPendingRequests: 8}'),
    );
    const m = readerOf(mesh);
    const doors = Object.fromEntries(modelRouting(m, modelCatalog(m, new Set())!, false, processorOf(m)).models.map((r) => [r.id, r.door]));
    assert.deepEqual(Object.keys(doors).sort(), ['big', 'small']);
    assert.equal(doors['small']!.id, 'door~small');
    assert.equal(doors['small']!.policy.circuitBreakers.maxRequests, 24, 'Limits: 16 in flight, 8 waiting');
    assert.equal(doors['big']!.policy.circuitBreakers.maxRequests, 1_024 + 64, "a model service's defaults");
    // The rest is the processor's: gRPC, its timeout, its pending bound.
    const processor = processorOf(m)();
    assert.equal(doors['small']!.service, 'llm');
    assert.equal(doors['small']!.policy.protocol, processor.policy.protocol);
    assert.equal(doors['small']!.policy.requestTimeoutMs, 2_000);
    assert.equal(doors['small']!.policy.circuitBreakers.maxPendingRequests, processor.policy.circuitBreakers.maxPendingRequests);
  });

  it('refuses a model-route that is neither an alias nor an order, or an alias of itself', () => {
    for (const [text, reason] of [
      ['Kind: model-route\nName: x\nServices: [a, {Service: a, Model: y}]', /Services: service a is listed twice/],
      ['Kind: model-route\nName: x\nServices: [{Service: a}]', /Services\[0\]: give Model, Dialect or both/],
      ['Kind: model-route\nName: x', /give Targets \(an alias\), or Services \(the order of a model's services\), RequestTimeoutMs, EndpointPicker or a Price/],
      ['Kind: model-route\nName: x\nTargets: [{Model: y}]\nServices: [a]', /not both/],
      ['Kind: model-route\nName: x\nTargets: [{Model: y}]\nPrice: {InputPerMillion: 1, OutputPerMillion: 2}', /an alias has no price of its own/],
      ['Kind: model-route\nName: x\nPrice: {InputPerMillion: -1, OutputPerMillion: 2}', /Price/],
      ['Kind: model-route\nName: x\nTargets: [{Model: x}]', /cannot target itself/],
      ['Kind: model-route\nName: "bad name"\nServices: [a]', /must be a model name/],
    ] as const) {
      const r = parseConfigEntries(text);
      assert.ok(!r.ok, text);
      assert.match(describeRefusal(r), reason);
    }
  });
});
