// GET /v1/models at the gateway, answered by Envoy itself (a direct response rebuilt whenever
// the catalog changes): the models that have a healthy service, no service called. In OpenAI's
// list shape; in Anthropic's to a caller that says which version of Anthropic's API it speaks
// (the anthropic-version header its SDK always sends). Clients list models this way before they pick one.
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

/** The same list in the Messages API's shape (a single page). */
export function anthropicModelsListBody(catalog: readonly CatalogModel[], aliases: readonly ModelAlias[] = []): string {
  const ids = [...catalog.map((m) => m.id), ...aliases.map((a) => a.name)].sort();
  const data = ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '1970-01-01T00:00:00Z' }));
  return JSON.stringify({ data, has_more: false, first_id: ids[0] ?? null, last_id: ids[ids.length - 1] ?? null });
}

export function modelsRoutes(catalog: readonly CatalogModel[], extras: JsonObject, aliases: readonly ModelAlias[] = []): JsonObject[] {
  const route = (name: string, body: string, header?: JsonObject): JsonObject => ({
    name,
    match: { path: MODELS_PATH, headers: [{ name: ':method', string_match: { exact: 'GET' } }, ...(header ? [header] : [])] },
    direct_response: { status: 200, body: { inline_string: body } },
    response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    ...extras,
  });
  return [route('models-anthropic', anthropicModelsListBody(catalog, aliases), { name: 'anthropic-version', present_match: true }), route('models', modelsListBody(catalog, aliases))];
}
