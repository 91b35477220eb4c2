// The rate-limit configuration in force: one domain per document (file or Consul KV key), in a
// DocumentStore (last good per document, refusals with their reasons). As in envoyproxy/
// ratelimit, two documents may not define the same domain.
import { DocumentStore } from '../../shared/documents/document-store.js';
import { orThrow } from '../../shared/validate/result.js';
import { compileDomain, type CompiledDomain } from './domain.js';
import { parseRateLimitConfig } from './schema.js';

export type ConfigStore = DocumentStore<CompiledDomain>;

export function createConfigStore(now?: () => Date): ConfigStore {
  return new DocumentStore<CompiledDomain>(
    {
      compile(text) {
        const config = orThrow(parseRateLimitConfig(text));
        return new Map([[config.domain, compileDomain(config)]]);
      },
      conflict: (domain, other) => `domain: duplicate domain '${domain}' (already loaded from ${other})`,
    },
    now,
  );
}

/** The loaded limits, one line each, as envoyproxy/ratelimit's /rlconfig prints them. */
export function dumpConfig(domains: ReadonlyMap<string, CompiledDomain>): string {
  const lines: string[] = [];
  for (const d of [...domains.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const l of d.limits) {
      const what = l.unlimited ? 'unlimited' : `unit=${l.unit} requests_per_unit=${l.requestsPerUnit}`;
      lines.push(`${d.name}.${l.statsKey}: ${what}, shadow_mode: ${l.shadowMode}${l.algorithm === 'sliding_window' ? ', algorithm: sliding_window' : ''}`);
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
