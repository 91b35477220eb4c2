// The methods of a descriptor set and the HTTP paths they are called by: `POST /pkg.Service/Method`
// for every method, and the REST paths of their google.api.http annotations. Read at the wire
// level: protobufjs' descriptor types drop the annotations (they are extensions of
// MethodOptions), and the files must go to Envoy as their own bytes anyway. Pure.
import protobuf from 'protobufjs';
import { refused, valid, type Checked } from '../../shared/validate/result.js';
import type { TranscodedMethod } from '../model/mesh.js';

/** google.api.http, the extension of google.protobuf.MethodOptions that holds an HttpRule. */
const HTTP_RULE_FIELD = 72295728;
/** The verbs of HttpRule's `pattern` oneof, by field number (8 is `custom`). */
const VERB_FIELDS: Readonly<Record<number, string>> = { 2: 'GET', 3: 'PUT', 4: 'POST', 5: 'DELETE', 6: 'PATCH' };

type HttpBinding = TranscodedMethod['bindings'][number];

interface WireField {
  readonly no: number;
  readonly wire: number;
  /** Bytes of a length-delimited field; the number of a varint. */
  readonly bytes?: Uint8Array;
  readonly number?: number;
  /** The field's whole encoding (tag included), to copy it as it is. */
  readonly raw: Uint8Array;
}

function fieldsOf(bytes: Uint8Array): WireField[] {
  const r = protobuf.Reader.create(bytes);
  const out: WireField[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 2) {
      const value = r.bytes();
      out.push({ no, wire, bytes: value, raw: bytes.subarray(start, r.pos) });
    } else if (wire === 0) {
      const n = r.uint64();
      out.push({ no, wire, number: Number(n), raw: bytes.subarray(start, r.pos) });
    } else {
      r.skipType(wire);
      out.push({ no, wire, raw: bytes.subarray(start, r.pos) });
    }
  }
  return out;
}

const text = (f: WireField | undefined): string => (f?.bytes ? Buffer.from(f.bytes).toString('utf8') : '');
const last = (fields: readonly WireField[], no: number): WireField | undefined => fields.filter((f) => f.no === no).at(-1);

function bindingsOf(rule: Uint8Array, depth = 0): HttpBinding[] {
  const fields = fieldsOf(rule);
  const out: HttpBinding[] = [];
  for (const f of fields) {
    const verb = VERB_FIELDS[f.no];
    if (verb && f.bytes) out.push({ verb, template: text(f) });
    if (f.no === 8 && f.bytes) {
      const custom = fieldsOf(f.bytes);
      out.push({ verb: text(last(custom, 1)), template: text(last(custom, 2)) });
    }
    // additional_bindings may not nest (google/api/http.proto); Envoy ignores deeper ones.
    if (f.no === 11 && f.bytes && depth === 0) out.push(...bindingsOf(f.bytes, 1));
  }
  return out;
}

/** The HttpRule of a method's options: every occurrence of the extension, merged as protobuf merges. */
function ruleBindings(options: readonly Uint8Array[]): HttpBinding[] {
  return options.flatMap((o) => fieldsOf(o).filter((f) => f.no === HTTP_RULE_FIELD && f.bytes).flatMap((f) => bindingsOf(f.bytes!)));
}

/** Every method of every service in the set's files, with its annotation's bindings. */
export function methodsOfFiles(files: readonly Uint8Array[]): TranscodedMethod[] {
  const out: TranscodedMethod[] = [];
  for (const file of files) {
    const fields = fieldsOf(file);
    const pkg = text(last(fields, 2));
    for (const svc of fields.filter((f) => f.no === 6 && f.bytes)) {
      const s = fieldsOf(svc.bytes!);
      const service = `${pkg ? `${pkg}.` : ''}${text(last(s, 1))}`;
      for (const m of s.filter((f) => f.no === 2 && f.bytes)) {
        const mf = fieldsOf(m.bytes!);
        out.push({
          service,
          method: text(last(mf, 1)),
          clientStreaming: (last(mf, 5)?.number ?? 0) !== 0,
          serverStreaming: (last(mf, 6)?.number ?? 0) !== 0,
          bindings: ruleBindings(mf.filter((f) => f.no === 4 && f.bytes).map((f) => f.bytes!)),
        });
      }
    }
  }
  return out;
}

function lengthDelimited(no: number, body: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32((no << 3) | 2).bytes(body).finish();
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));

/**
 * The file, with `POST /pkg.Service/Method` (body "*") added to the annotation of every method
 * that has one: the transcoder maps a method to its gRPC path by itself (auto_mapping) only when
 * the method has no annotation. Added as a second MethodOptions holding only that binding, which
 * protobuf merges into the first (a repeated field's items are appended); every other byte of the
 * file stays as it was.
 */
export function withGrpcPathBindings(file: Uint8Array): Uint8Array {
  const fields = fieldsOf(file);
  const pkg = text(last(fields, 2));
  let changed = false;
  const parts = fields.map((f) => {
    if (f.no !== 6 || !f.bytes) return f.raw;
    const s = fieldsOf(f.bytes);
    const service = `${pkg ? `${pkg}.` : ''}${text(last(s, 1))}`;
    let serviceChanged = false;
    const serviceParts = s.map((m) => {
      if (m.no !== 2 || !m.bytes) return m.raw;
      const mf = fieldsOf(m.bytes);
      const bindings = ruleBindings(mf.filter((x) => x.no === 4 && x.bytes).map((x) => x.bytes!));
      const path = `/${service}/${text(last(mf, 1))}`;
      if (!bindings.length || bindings.some((b) => b.verb === 'POST' && b.template === path)) return m.raw;
      const w = protobuf.Writer.create();
      w.uint32((4 << 3) | 2).string(path).uint32((7 << 3) | 2).string('*');
      const binding = w.finish();
      const rule = lengthDelimited(11, binding);
      const options = lengthDelimited(HTTP_RULE_FIELD, rule);
      serviceChanged = true;
      return lengthDelimited(2, concat([m.bytes, lengthDelimited(4, options)]));
    });
    if (!serviceChanged) return f.raw;
    changed = true;
    return lengthDelimited(6, concat(serviceParts));
  });
  return changed ? concat(parts) : file;
}

const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=@%-]+$/;
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Split at "/" outside braces. */
function segmentsOf(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of path) {
    if (ch === '{') depth += 1;
    if (ch === '}') depth -= 1;
    if (ch === '/' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function segmentsRegex(segments: readonly string[], inVariable: boolean): string | undefined {
  const parts: string[] = [];
  for (const [i, seg] of segments.entries()) {
    if (seg === '*') parts.push('[^/]+');
    else if (seg === '**') {
      if (i !== segments.length - 1) return undefined;
      parts.push('.*');
    } else if (seg.startsWith('{') && seg.endsWith('}')) {
      if (inVariable) return undefined;
      const inner = seg.slice(1, -1);
      const eq = inner.indexOf('=');
      const field = eq < 0 ? inner : inner.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(field)) return undefined;
      const sub = eq < 0 ? '[^/]+' : segmentsRegex(segmentsOf(inner.slice(eq + 1)), true);
      if (sub === undefined) return undefined;
      parts.push(sub);
    } else if (LITERAL.test(seg)) parts.push(escapeRegex(seg));
    else return undefined;
  }
  return parts.join('/');
}

/** Every method's gRPC path of a service ("pkg.Service"), as an RE2 regex without anchors. */
export function grpcPathRegex(service: string): string {
  return `/${escapeRegex(service)}/[^/]+`;
}

/**
 * An HttpRule path template (`/v1/{name=projects/*}/items:search`) as an RE2 regex of the
 * request paths it matches, without anchors; refused when it is not a template.
 */
export function templateRegex(template: string): Checked<string> {
  const bad = refused<string>('', `${JSON.stringify(template)} is not a google.api.http path template`);
  if (!template.startsWith('/') || template.length > 1024) return bad;
  const lastSlash = template.lastIndexOf('/');
  const close = template.lastIndexOf('}');
  const colon = template.indexOf(':', Math.max(lastSlash, close));
  const path = colon < 0 ? template : template.slice(0, colon);
  const verb = colon < 0 ? undefined : template.slice(colon + 1);
  if (verb !== undefined && !LITERAL.test(verb)) return bad;
  const body = segmentsRegex(segmentsOf(path.slice(1)), false);
  if (body === undefined) return bad;
  return valid(`/${body}${verb !== undefined ? `:${escapeRegex(verb)}` : ''}`);
}
