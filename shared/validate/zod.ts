// Validation errors that name the field: "policies.x.credentials[0].keys: must list …".
import type { z } from 'zod';

export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(document)';
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`).join('; ');
}
