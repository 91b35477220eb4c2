// proto3 JSON ⇄ protobufjs objects, driven by the message descriptors.
//
// meshgate writes Envoy resources the way Envoy documents them (proto3 JSON with proto field
// names: "5s" for a Duration, a plain object for a Struct, a bare number for a UInt32Value,
// {"@type": …} for an Any). protobufjs' own fromObject does not accept those forms and silently
// ignores unknown fields, so a typo would ship an empty setting to Envoy. This converter accepts
// the JSON forms and refuses any field the schema does not have, naming the path.
import protobuf from 'protobufjs';

export class ProtoJsonError extends Error {}

type Plain = Record<string, unknown>;

const WRAPPER_TYPES = new Set(
  ['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map(
    (n) => `.google.protobuf.${n}`,
  ),
);

/** "1.5s" → {seconds: 1, nanos: 500000000}. */
export function parseDuration(text: string): { seconds: number; nanos: number } {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) throw new ProtoJsonError(`invalid duration ${JSON.stringify(text)}: expected a form like "1.5s"`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * (m[3] ? Number(m[3].padEnd(9, '0')) : 0) };
}

export function formatDuration(seconds: number, nanos: number): string {
  if (!nanos) return `${seconds}s`;
  const sign = seconds < 0 || nanos < 0 ? '-' : '';
  const frac = String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '');
  return `${sign}${Math.abs(seconds)}.${frac}s`;
}

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

// google.protobuf.Value as a plain object of its proto fields.
function valueShape(v: unknown, at: string): Plain {
  if (v === null) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map((x, i) => valueShape(x, `${at}[${i}]`)) } };
  if (isPlainObject(v)) return { struct_value: structShape(v, at) };
  throw new ProtoJsonError(`${at}: cannot be a google.protobuf.Value (${typeof v})`);
}

function structShape(obj: Plain, at: string): Plain {
  const fields: Plain = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = valueShape(v, `${at}.${k}`);
  return { fields };
}

/** Convert proto3 JSON for `type` into an object protobufjs' fromObject/encode accept. */
export function fromJson(type: protobuf.Type, json: unknown, at = type.name): Plain {
  const out = messageFromJson(type, json, at);
  if (!isPlainObject(out)) throw new ProtoJsonError(`${at}: expected an object`);
  return out;
}

function messageFromJson(type: protobuf.Type, json: unknown, at: string): unknown {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration') {
    if (typeof json === 'string') return parseDuration(json);
  } else if (name === '.google.protobuf.Struct') {
    if (!isPlainObject(json)) throw new ProtoJsonError(`${at}: a Struct must be an object`);
    return structShape(json, at);
  } else if (name === '.google.protobuf.Value') {
    return valueShape(json, at);
  } else if (name === '.google.protobuf.ListValue') {
    if (!Array.isArray(json)) throw new ProtoJsonError(`${at}: a ListValue must be an array`);
    return { values: json.map((x, i) => valueShape(x, `${at}[${i}]`)) };
  } else if (WRAPPER_TYPES.has(name)) {
    if (!isPlainObject(json)) return { value: json };
  } else if (name === '.google.protobuf.Any') {
    return anyFromJson(type, json, at);
  }
  if (!isPlainObject(json)) throw new ProtoJsonError(`${at}: expected an object for ${name.slice(1)}`);
  const out: Plain = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key];
    if (!field) throw new ProtoJsonError(`${at}: unknown field "${key}" in ${name.slice(1)}`);
    if (value === undefined) continue;
    out[key] = fieldFromJson(field, value, `${at}.${key}`);
  }
  return out;
}

function fieldFromJson(field: protobuf.Field, value: unknown, at: string): unknown {
  field.resolve();
  const t = field.resolvedType;
  const one = (v: unknown, where: string): unknown => (t instanceof protobuf.Type ? messageFromJson(t, v, where) : v);
  if (field.map) {
    if (!isPlainObject(value)) throw new ProtoJsonError(`${at}: expected a map object`);
    const m: Plain = {};
    for (const [k, v] of Object.entries(value)) m[k] = one(v, `${at}.${k}`);
    return m;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new ProtoJsonError(`${at}: expected an array`);
    return value.map((v, i) => one(v, `${at}[${i}]`));
  }
  return one(value, at);
}

function anyFromJson(anyType: protobuf.Type, json: unknown, at: string): Plain {
  if (!isPlainObject(json)) throw new ProtoJsonError(`${at}: an Any must be an object`);
  const typeUrl = json['@type'];
  if (typeof typeUrl !== 'string') {
    if ('type_url' in json) return json; // already encoded
    throw new ProtoJsonError(`${at}: an Any needs "@type"`);
  }
  const inner = anyType.root.lookup(typeUrl.substring(typeUrl.lastIndexOf('/') + 1));
  if (!(inner instanceof protobuf.Type)) throw new ProtoJsonError(`${at}: unknown type ${typeUrl}`);
  const { '@type': _drop, ...rest } = json;
  // Well-known types in an Any carry their JSON form under "value".
  const body = inner.fullName.startsWith('.google.protobuf.') && 'value' in rest ? rest['value'] : rest;
  const converted = messageFromJson(inner, body, `${at}<${inner.name}>`);
  return { type_url: typeUrl, value: inner.encode(inner.fromObject(converted as Plain)).finish() };
}

/** Convert a decoded message back into proto3 JSON (the inverse of fromJson). */
export function toJson(type: protobuf.Type, message: protobuf.Message | Plain): Plain {
  const plain =
    message instanceof protobuf.Message
      ? (type.toObject(message, { enums: String, longs: Number, bytes: String }) as Plain)
      : message;
  return messageToJson(type, plain) as Plain;
}

function messageToJson(type: protobuf.Type, obj: unknown): unknown {
  const name = type.fullName;
  if (!isPlainObject(obj)) return obj;
  if (name === '.google.protobuf.Duration') return formatDuration(Number(obj['seconds'] ?? 0), Number(obj['nanos'] ?? 0));
  if (name === '.google.protobuf.Struct') return structToJson(obj);
  if (name === '.google.protobuf.Value') return valueToJson(obj);
  if (name === '.google.protobuf.ListValue') return ((obj['values'] as Plain[]) ?? []).map(valueToJson);
  if (WRAPPER_TYPES.has(name)) return obj['value'];
  if (name === '.google.protobuf.Any') return anyToJson(type, obj);
  const out: Plain = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    if (!field) continue;
    field.resolve();
    const t = field.resolvedType;
    const one = (v: unknown): unknown => (t instanceof protobuf.Type ? messageToJson(t, v) : v);
    if (field.map && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)]));
    } else if (field.repeated && Array.isArray(value)) {
      out[key] = value.map(one);
    } else {
      out[key] = one(value);
    }
  }
  return out;
}

function structToJson(obj: Plain): Plain {
  const fields = (obj['fields'] ?? {}) as Record<string, Plain>;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToJson(v)]));
}

function valueToJson(v: Plain): unknown {
  if ('struct_value' in v) return structToJson(v['struct_value'] as Plain);
  if ('list_value' in v) return (((v['list_value'] as Plain)['values'] as Plain[]) ?? []).map(valueToJson);
  if ('string_value' in v) return v['string_value'];
  if ('number_value' in v) return v['number_value'];
  if ('bool_value' in v) return v['bool_value'];
  return null;
}

function anyToJson(anyType: protobuf.Type, obj: Plain): Plain {
  const typeUrl = String(obj['type_url'] ?? '');
  const inner = anyType.root.lookup(typeUrl.substring(typeUrl.lastIndexOf('/') + 1));
  const raw = obj['value'];
  if (!(inner instanceof protobuf.Type) || raw === undefined) return obj;
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : (raw as Uint8Array);
  const decoded = toJson(inner, inner.decode(bytes));
  const body = inner.fullName.startsWith('.google.protobuf.') ? { value: decoded } : decoded;
  return { '@type': typeUrl, ...body };
}
