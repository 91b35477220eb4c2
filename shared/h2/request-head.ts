// A decoded request header list checked as RFC 9113 section 8 asks: a malformed request is a
// stream error of type PROTOCOL_ERROR (section 8.1.1), never answered as a normal call.
import type { HeaderList } from './hpack.js';

export interface RequestHead {
  readonly method: string;
  readonly path: string;
  readonly scheme: string;
  readonly authority: string | undefined;
  /** From content-length, checked against the DATA received (section 8.1.1). */
  readonly contentLength: number | undefined;
}

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path']);
/** Section 8.2.2: meaningless in HTTP/2; a request carrying one is malformed. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * Section 8.2.1: a name is lower case and has no character from 0x00–0x20, 0x41–0x5A or
 * 0x7F–0xFF (a leading ':' only for pseudo-headers); a value has no NUL, CR or LF.
 */
function fieldProblem(name: string, value: string): string | undefined {
  if (name.length === 0) return 'an empty field name';
  for (let i = name[0] === ':' ? 1 : 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || c === 0x3a) return `field name ${JSON.stringify(name)} is not a lower-case token (§8.2.1)`;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return `field ${name} has a NUL, CR or LF in its value (§8.2.1)`;
  }
  return undefined;
}

/** The request's head, or why the request is malformed. */
export function requestHead(fields: HeaderList): RequestHead | string {
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let contentLength: number | undefined;
  let regularSeen = false;
  for (const [name, value] of fields) {
    const problem = fieldProblem(name, value);
    if (problem) return problem;
    if (name[0] === ':') {
      if (regularSeen) return `pseudo-header ${name} after a regular field (§8.3)`;
      if (!REQUEST_PSEUDO.has(name)) return `${name} is not a request pseudo-header (§8.3.1)`;
      const seen = name === ':method' ? method : name === ':path' ? path : name === ':scheme' ? scheme : authority;
      if (seen !== undefined) return `${name} appears twice (§8.3.1)`;
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':scheme') scheme = value;
      else authority = value;
      continue;
    }
    regularSeen = true;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name} (§8.2.2)`;
    if (name === 'te' && value !== 'trailers') return `te: ${value} (only "trailers" is allowed, §8.2.2)`;
    if (name === 'content-length') {
      if (!/^[0-9]{1,15}$/.test(value)) return `content-length ${JSON.stringify(value)} is not a number (§8.1.1)`;
      const n = Number(value);
      if (contentLength !== undefined && contentLength !== n) return 'two different content-length values (§8.1.1)';
      contentLength = n;
    }
  }
  if (method === undefined) return 'no :method (§8.3.1)';
  if (method === 'CONNECT') {
    // Section 8.5: only :method and :authority. Checked so that it is refused as a method,
    // not as a malformed request.
    if (scheme !== undefined || path !== undefined || authority === undefined) return 'CONNECT takes :authority and neither :scheme nor :path (§8.5)';
    return { method, path: '', scheme: '', authority, contentLength };
  }
  if (scheme === undefined) return 'no :scheme (§8.3.1)';
  if (path === undefined || path === '') return 'no :path, or an empty one (§8.3.1)';
  return { method, path, scheme, authority, contentLength };
}

/** Section 8.1: trailers carry no pseudo-header; their fields follow the same rules. */
export function trailersProblem(fields: HeaderList): string | undefined {
  for (const [name, value] of fields) {
    if (name[0] === ':') return `pseudo-header ${name} in trailers (§8.1)`;
    const problem = fieldProblem(name, value);
    if (problem) return problem;
  }
  return undefined;
}
