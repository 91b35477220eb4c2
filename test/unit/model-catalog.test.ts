// The model catalog: what services say they serve (meta `models`), validated; the models with a
// healthy service; and the gateway's own answer to GET /v1/models.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRefusal } from '../../shared/validate/result.js';
import { serviceSettings } from '../../xds-server/model/service-settings.js';
import { modelCatalog } from '../../xds-server/resolve/models.js';
import { modelsListBody } from '../../xds-server/translate/models-route.js';
import { instance, meshOf, service } from '../helpers/mesh-fixtures.js';

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
    assert.deepEqual(modelCatalog(state, new Set(['authz'])), [
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
});
