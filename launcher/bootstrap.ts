// Fills the ${NAME} placeholders of an Envoy bootstrap template (envoy/*.yaml). Every
// placeholder must be given a value, so a renamed variable fails loudly, not at Envoy — except
// ${NAME:-default}, a setting with a documented default (as in a shell).
import fs from 'node:fs';

export function renderTemplate(text: string, vars: Readonly<Record<string, string | number>>): string {
  const missing = new Set<string>();
  const out = text.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const v = vars[name] ?? fallback;
    if (v === undefined) {
      missing.add(name);
      return '';
    }
    return String(v);
  });
  if (missing.size) throw new Error(`bootstrap template needs values for: ${[...missing].join(', ')}`);
  return out;
}

export function renderBootstrapFile(templatePath: string, vars: Readonly<Record<string, string | number>>, outPath: string): string {
  fs.writeFileSync(outPath, renderTemplate(fs.readFileSync(templatePath, 'utf8'), vars));
  return outPath;
}
