// Asks a gRPC instance what it serves, over gRPC server reflection (grpc.reflection.v1, else
// v1alpha when the server knows only that one): its services, then the file of each, then every
// file those import that it has not yet given — and assembles the descriptor set. Bounded: one
// stream, at most `maxFiles` files and `maxBytes` of them, `timeoutMs` in all.
import * as grpc from '@grpc/grpc-js';
import { REFLECTION_PATHS, reflectionTypes } from '../../shared/grpc/reflection-proto.js';
import { describeFile } from '../../shared/proto/file-descriptors.js';
import { assembleDescriptorSet, type DescriptorSet } from './descriptor-set.js';

export interface ReflectionOptions {
  readonly timeoutMs?: number;
  readonly maxFiles?: number;
  readonly maxBytes?: number;
}

/** Services a server lists that are not its API: reflection and health themselves. */
const INFRASTRUCTURE = /^grpc\.(reflection\.|health\.)/;

/** A response as decoded, field names as the protocol writes them (reflectionTypes keeps them). */
interface RawResponse {
  file_descriptor_response?: { file_descriptor_proto?: Uint8Array[] };
  list_services_response?: { service?: Array<{ name?: string }> };
  error_response?: { error_code?: number; error_message?: string };
}

class ReflectionStream {
  private readonly waiting: Array<{ resolve: (r: RawResponse) => void; reject: (e: Error) => void }> = [];
  private failed: Error | undefined;
  private readonly call: grpc.ClientDuplexStream<Record<string, unknown>, RawResponse>;

  constructor(client: grpc.Client, version: 'v1' | 'v1alpha', deadline: number) {
    const t = reflectionTypes();
    this.call = client.makeBidiStreamRequest(
      REFLECTION_PATHS[version],
      (m: Record<string, unknown>) => Buffer.from(t.request.encode(t.request.fromObject(m)).finish()),
      (b: Buffer) => t.response.decode(b) as unknown as RawResponse,
      new grpc.Metadata(),
      { deadline },
    );
    this.call.on('data', (r: RawResponse) => this.waiting.shift()?.resolve(r));
    this.call.on('error', (err: Error) => {
      this.failed = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    });
  }

  ask(m: Record<string, unknown>): Promise<RawResponse> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(m);
    });
  }

  end(): void {
    this.call.end();
  }
}

const filesOf = (r: RawResponse): Uint8Array[] => r.file_descriptor_response?.file_descriptor_proto ?? [];
const errorOf = (r: RawResponse): string | undefined => {
  const e = r.error_response;
  return e ? `${e.error_message ?? 'error'} (code ${e.error_code ?? '?'})` : undefined;
};

async function fetchWith(client: grpc.Client, version: 'v1' | 'v1alpha', o: Required<ReflectionOptions>): Promise<DescriptorSet> {
  const stream = new ReflectionStream(client, version, Date.now() + o.timeoutMs);
  try {
    const listed = await stream.ask({ list_services: '' });
    const list = listed.list_services_response?.service;
    if (!list) return { ok: false, reason: `the server's reflection (${version}) does not list its services: ${errorOf(listed) ?? 'no answer'}` };
    const services = list.map((s) => s.name ?? '').filter((n) => n && !INFRASTRUCTURE.test(n));
    if (!services.length) return { ok: false, reason: 'the server lists no service of its own over reflection' };
    const files = new Map<string, { readonly bytes: Uint8Array; readonly dependencies: readonly string[] }>();
    let bytes = 0;
    const take = (r: RawResponse, asked: string): string | undefined => {
      const got = filesOf(r);
      if (!got.length) return `reflection has no file for ${asked}: ${errorOf(r) ?? 'empty answer'}`;
      for (const f of got) {
        const { name, dependencies } = describeFile(f);
        if (files.has(name)) continue;
        bytes += f.length;
        if (files.size >= o.maxFiles) return `more than ${o.maxFiles} files`;
        if (bytes > o.maxBytes) return `more than ${o.maxBytes} bytes of descriptors`;
        files.set(name, { bytes: f, dependencies });
      }
      return undefined;
    };
    for (const s of services) {
      const problem = take(await stream.ask({ file_containing_symbol: s }), s);
      if (problem) return { ok: false, reason: problem };
    }
    // Imports not given yet (servers differ: some send a file's imports with it, some not).
    for (;;) {
      const missing = [...files.values()].flatMap((f) => f.dependencies).filter((d) => !files.has(d));
      if (!missing.length) break;
      const problem = take(await stream.ask({ file_by_filename: missing[0]! }), missing[0]!);
      if (problem) return { ok: false, reason: problem };
    }
    return assembleDescriptorSet([...files.values()].map((f) => f.bytes), services);
  } finally {
    stream.end();
  }
}

/** The descriptor set of the instance at `address` ("host:port"), or why there is none. */
export async function fetchDescriptorSet(address: string, options: ReflectionOptions = {}): Promise<DescriptorSet> {
  const o = { timeoutMs: options.timeoutMs ?? 5_000, maxFiles: options.maxFiles ?? 500, maxBytes: options.maxBytes ?? 16 * 1024 * 1024 };
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    try {
      return await fetchWith(client, 'v1', o);
    } catch (err) {
      if ((err as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw err;
      return await fetchWith(client, 'v1alpha', o);
    }
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { ok: false, reason: `reflection failed: ${e.code === grpc.status.UNIMPLEMENTED ? 'the server has no reflection service (v1 nor v1alpha)' : e.details || e.message}` };
  } finally {
    client.close();
  }
}
