// Config entries from their documents (Consul KV keys, files): each validated on its own, the
// last good version of each kept when a new one is refused, and the whole set handed to the
// mesh as ConfigEntries whenever it changes.
import { DocumentStore, type DocumentStatus } from '../../../shared/documents/document-store.js';
import { orThrow } from '../../../shared/validate/result.js';
import type { ConfigEntries } from '../mesh.js';
import { entryId, parseConfigEntries, type ConfigEntry } from './schema.js';

export type ConfigEntryStore = DocumentStore<ConfigEntry>;

export function createConfigEntryStore(now?: () => Date): ConfigEntryStore {
  return new DocumentStore<ConfigEntry>(
    {
      compile(text) {
        // A KV key holds one entry as Consul's do; a file (or a key) may hold a set of them.
        return new Map(orThrow(parseConfigEntries(text, true)).map((e) => [entryId(e), e]));
      },
      conflict: (id, other) => `${id} is already defined by ${other}`,
    },
    now,
  );
}

export function entriesOf(items: ReadonlyMap<string, ConfigEntry>): ConfigEntries {
  const defaults = new Map();
  const routers = new Map();
  const splitters = new Map();
  const resolvers = new Map();
  const modelRoutes = new Map();
  const logins = new Map();
  for (const e of items.values()) {
    if (e.Kind === 'service-defaults') defaults.set(e.Name, e);
    else if (e.Kind === 'service-router') routers.set(e.Name, e);
    else if (e.Kind === 'service-splitter') splitters.set(e.Name, e);
    else if (e.Kind === 'service-resolver') resolvers.set(e.Name, e);
    else if (e.Kind === 'browser-login') logins.set(e.Name, e);
    else modelRoutes.set(e.Name, e);
  }
  return { defaults, routers, splitters, resolvers, modelRoutes, logins };
}

/** Refused documents, as problems an operator sees. */
export function refusalsOf(status: readonly DocumentStatus[]): Array<{ subject: string; reason: string; since: string }> {
  return status
    .filter((d) => d.last_refusal)
    .map((d) => ({ subject: `config-entry ${d.id}`, reason: d.last_refusal!.reason, since: d.last_refusal!.at }));
}
