// Secrets out of what the request log keeps (prompts and completions are logged only where a
// policy or service opts in): bearer tokens, API keys in the usual shapes, and the operator's
// own patterns. Operator patterns are RE2 (linear time: a pattern cannot be made to take
// exponential time on a crafted prompt), and are validated when the config is read.
import { RE2 } from 're2-wasm';
import { refused, valid, type Checked } from '../../shared/validate/result.js';

export const REDACTED = '[redacted]';

/** Shapes a secret takes in a prompt or a header: Bearer tokens, sk-… and mgk_… keys, JWTs. */
const BUILT_IN: readonly RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  /\bmgk_[A-Za-z0-9_-]{8,}/g,
  /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}/g,
];

export interface Redactor {
  (text: string): string;
}

/** A redactor with the built-in shapes and the operator's RE2 patterns; a bad pattern is refused. */
export function redactor(patterns: readonly string[] = []): Checked<Redactor> {
  const compiled: RE2[] = [];
  for (const [i, p] of patterns.entries()) {
    try {
      compiled.push(new RE2(p, 'gu'));
    } catch (err) {
      return refused(`redact[${i}]`, `${JSON.stringify(p)} is not a pattern RE2 accepts: ${(err as Error).message}`);
    }
  }
  return valid((text: string): string => {
    let out = text;
    for (const re of BUILT_IN) out = out.replace(re, (m) => (m.startsWith('Bearer') || m.startsWith('Basic') ? `${m.split(/\s+/)[0]} ${REDACTED}` : REDACTED));
    for (const re of compiled) out = out.replace(re as unknown as RegExp, REDACTED);
    return out;
  });
}

/** At most `max` bytes of UTF-8 text, cut on a character boundary, with how much was cut. */
export function capped(text: string, max: number): { text: string; truncatedBytes: number } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= max) return { text, truncatedBytes: 0 };
  let end = max;
  const b = Buffer.from(text);
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return { text: b.subarray(0, end).toString('utf8'), truncatedBytes: bytes - end };
}
