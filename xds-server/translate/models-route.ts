// GET /v1/models at the gateway, answered by Envoy itself (a direct response rebuilt whenever
// the catalog changes) in OpenAI's list shape: the models that have a healthy service, no
// service called. OpenAI clients list models this way before they pick one.
import type { JsonObject } from '../../shared/proto/codec.js';
import { MODELS_PATH } from '../resolve/gateway.js';
import type { CatalogModel, ModelAlias } from '../resolve/resolved-mesh.js';

/** `aliases`: model-route aliases a caller may name too (when the model API is routed by model). */
export function modelsListBody(catalog: readonly CatalogModel[], aliases: readonly ModelAlias[] = []): string {
  // `created` is OpenAI's Unix time of the model; the catalog has none, and 0 keeps the
  // translation pure (the same mesh, the same bytes).
  const models = catalog.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.services.join(',') }));
  const named = aliases.map((a) => ({ id: a.name, object: 'model', created: 0, owned_by: `alias:${a.targets.map(([m]) => m).join(',')}` }));
  return JSON.stringify({ object: 'list', data: [...models, ...named].sort((a, b) => (a.id < b.id ? -1 : 1)) });
}

export function modelsRoute(catalog: readonly CatalogModel[], extras: JsonObject, aliases: readonly ModelAlias[] = []): JsonObject {
  return {
    name: 'models',
    match: { path: MODELS_PATH, headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
    direct_response: { status: 200, body: { inline_string: modelsListBody(catalog, aliases) } },
    response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    ...extras,
  };
}
