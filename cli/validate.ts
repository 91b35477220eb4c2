// `meshgate validate FILE…`: config entries checked offline exactly as the xds-server checks the
// ones it reads from Consul KV or files. A file holds one entry, a list of entries, or several
// YAML documents separated by "---".
import { entryId, parseConfigEntries } from '../xds-server/model/config-entries/schema.js';

export interface ValidationResult {
  readonly ok: boolean;
  readonly lines: string[];
}

export function validateEntries(text: string, source: string): ValidationResult {
  if (text.trim() === '') return { ok: false, lines: [`${source}: empty`] };
  const r = parseConfigEntries(text, true);
  if (!r.ok) return { ok: false, lines: [`${source}: refused: ${r.reason}`] };
  return { ok: true, lines: r.value.map((e) => `${source}: ok: ${entryId(e)}`) };
}
