// `meshgate validate FILE…`: config entries checked offline exactly as the xds-server checks the
// ones it reads from Consul KV. A file holds one entry, a list of entries, or several YAML
// documents separated by "---".
import YAML from 'yaml';
import { entryId, parseConfigEntries } from '../xds-server/model/config-entries/schema.js';

export interface ValidationResult {
  readonly ok: boolean;
  readonly lines: string[];
}

export function validateEntries(text: string, source: string): ValidationResult {
  const docs = YAML.parseAllDocuments(text);
  const lines: string[] = [];
  let ok = true;
  const seen = new Map<string, string>();
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length) {
      ok = false;
      lines.push(`${where}: not valid YAML or JSON: ${doc.errors[0]!.message.split('\n')[0]}`);
      return;
    }
    const r = parseConfigEntries(String(doc), true);
    if (!r.ok) {
      ok = false;
      lines.push(`${where}: refused: ${r.reason}`);
      return;
    }
    for (const e of r.entries) {
      const id = entryId(e);
      const first = seen.get(id);
      if (first) {
        ok = false;
        lines.push(`${where}: refused: ${id} is also defined in ${first}`);
      } else {
        seen.set(id, where);
        lines.push(`${where}: ok: ${id}`);
      }
    }
  });
  if (docs.length === 0) {
    ok = false;
    lines.push(`${source}: empty`);
  }
  return { ok, lines };
}
