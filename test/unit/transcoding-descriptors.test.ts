// A transcoded service's descriptors, from the bytes a reflection server or an operator gives:
// the methods and their google.api.http bindings read at the wire level, the gRPC path added to
// every annotated method (the rest of the file byte for byte), path templates as RE2 regexes,
// the route's one regex, a KV document's text; refusals with their reasons; and the mesh
// store keeping the last good descriptor when a newer one is refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_TRANSCODED_MAX_REQUEST_BYTES } from '../../xds-server/resolve/defaults.js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { RE2 } from 're2-wasm';
import { repoRoot } from '../../launcher/repo.js';
import { filesOfSet, setOfFiles } from '../../shared/proto/file-descriptors.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { parseConfigEntries } from '../../xds-server/model/config-entries/schema.js';
import { MeshStore } from '../../xds-server/model/mesh-store.js';
import { serviceSettings } from '../../xds-server/model/service-settings.js';
import { filesOfDocument } from '../../xds-server/transcoding/descriptor-document.js';
import { methodsOfFiles, templateRegex, withGrpcPathBindings } from '../../xds-server/transcoding/http-rules.js';
import { looksLikeProto } from '../../xds-server/transcoding/proto-compiler.js';
import { serviceDescriptor } from '../../xds-server/transcoding/service-descriptor.js';
import { CORS_FILTER, GRPC_WEB_FILTER, TRANSCODER_FILTER, transcodedRouteFilters } from '../../xds-server/translate/transcoding-filters.js';

const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto;
const DEMO = filesOfSet(fs.readFileSync(path.join(repoRoot(), 'demo', 'protos', 'inference.pb')));
const ORIGIN = { service: 'inference', source: 'test', loadedAt: '2026-01-01T00:00:00.000Z' };

/** A file with one service whose methods (Get, Put, …) carry these rules (HttpRule bytes) as their google.api.http option. */
function annotatedFile(...rules: Array<Uint8Array | undefined>): Uint8Array {
  const methods = (rules.length ? rules : [undefined]).map((rule, i) => {
    const w = protobuf.Writer.create().uint32((1 << 3) | 2).string(['Get', 'Put', 'Run'][i]!).uint32((2 << 3) | 2).string('.x.v1.A').uint32((3 << 3) | 2).string('.x.v1.A');
    if (rule) w.uint32((4 << 3) | 2).bytes(protobuf.Writer.create().uint32((72295728 << 3) | 2).bytes(rule).finish());
    return w.finish();
  });
  const service = protobuf.Writer.create().uint32((1 << 3) | 2).string('Api');
  for (const m of methods) service.uint32((2 << 3) | 2).bytes(m);
  const message = protobuf.Writer.create().uint32((1 << 3) | 2).string('A').finish();
  return protobuf.Writer.create()
    .uint32((1 << 3) | 2).string('x/v1/api.proto')
    .uint32((2 << 3) | 2).string('x.v1')
    .uint32((4 << 3) | 2).bytes(message)
    .uint32((6 << 3) | 2).bytes(service.finish())
    .finish();
}
const rule = (verbField: number, template: string): Uint8Array => protobuf.Writer.create().uint32((verbField << 3) | 2).string(template).finish();

describe('transcoding: methods and their HTTP bindings', () => {
  it('reads every method of the demo’s compiled descriptors, streaming and google.api.http bindings included', () => {
    const methods = methodsOfFiles(DEMO);
    assert.deepEqual(
      methods.map((m) => [m.service, m.method, m.serverStreaming, m.bindings]),
      [
        ['meshgate.demo.v1.Inference', 'Embed', false, [{ verb: 'POST', template: '/v1/inference/embed' }]],
        ['meshgate.demo.v1.Inference', 'Generate', true, [{ verb: 'POST', template: '/v1/inference/generate' }]],
        ['meshgate.demo.v1.Inference', 'Info', false, [{ verb: 'GET', template: '/v1/inference/info' }]],
      ],
    );
  });

  it('adds POST /pkg.Service/Method to every annotated method, every other byte as it was', () => {
    const file = DEMO.find((f) => methodsOfFiles([f]).length)!;
    const added = withGrpcPathBindings(file);
    for (const m of methodsOfFiles([added])) {
      assert.deepEqual(m.bindings.at(-1), { verb: 'POST', template: `/meshgate.demo.v1.Inference/${m.method}` }, m.method);
      assert.equal(m.bindings.length, 2);
    }
    // As protobuf itself reads it: the same file, with an options field more per method.
    const before = FileDescriptorProto.decode(file) as unknown as { messageType: unknown[]; service: Array<{ method: Array<{ name: string; inputType: string }> }> };
    const after = FileDescriptorProto.decode(added) as unknown as typeof before;
    assert.deepEqual(after.messageType, before.messageType);
    assert.deepEqual(after.service[0]!.method.map((m) => [m.name, m.inputType]), before.service[0]!.method.map((m) => [m.name, m.inputType]));
    // Idempotent, and a file without annotations is left as it is.
    assert.deepEqual(Buffer.from(withGrpcPathBindings(added)), Buffer.from(added));
    const plain = annotatedFile();
    assert.equal(withGrpcPathBindings(plain), plain);
  });

  it('turns path templates into RE2 regexes of the paths they match, and refuses what is no template', () => {
    const cases: Array<[template: string, regex: string, matches: string[], misses: string[]]> = [
      ['/v1/items', '/v1/items', ['/v1/items'], ['/v1/items/x', '/v1/item']],
      ['/v1/items/{id}', '/v1/items/[^/]+', ['/v1/items/7'], ['/v1/items/', '/v1/items/7/x']],
      ['/v1/{name=projects/*/items/*}:search', '/v1/projects/[^/]+/items/[^/]+:search', ['/v1/projects/p/items/i:search'], ['/v1/projects/p:search']],
      ['/files/{path=**}', '/files/.*', ['/files/a/b/c'], ['/other/a']],
      ['/v1/a.b', '/v1/a\\.b', ['/v1/a.b'], ['/v1/aXb']],
    ];
    for (const [template, regex, matches, misses] of cases) {
      const r = templateRegex(template);
      assert.ok(r.ok, `${template}: ${r.ok ? '' : describeRefusal(r)}`);
      assert.equal(r.value, regex);
      const re = new RE2(`^(?:${r.value})$`, 'u');
      for (const p of matches) assert.ok(re.test(p), `${template} matches ${p}`);
      for (const p of misses) assert.ok(!re.test(p), `${template} does not match ${p}`);
    }
    for (const bad of ['v1/no-slash', '/v1/{bad name}', '/a/**/b', '/v1/{a={b}}', '/v1/sp ace', '/v1/x:']) {
      const r = templateRegex(bad);
      assert.ok(!r.ok, bad);
      assert.match(r.reason, /is not a google\.api\.http path template/);
    }
  });
});

describe('transcoding: a service’s descriptor', () => {
  it('builds the set Envoy reads, the methods and one regex of every path, each file after its imports', () => {
    const d = serviceDescriptor([...DEMO].reverse(), undefined, ORIGIN);
    assert.ok(d.ok, d.ok ? '' : describeRefusal(d));
    assert.deepEqual(d.value.grpcServices, ['meshgate.demo.v1.Inference']);
    assert.deepEqual(d.value.files, ['google/api/http.proto', 'google/protobuf/descriptor.proto', 'google/api/annotations.proto', 'google/protobuf/empty.proto', 'meshgate/demo/v1/inference.proto']);
    assert.equal(d.value.pathRegex, '^(?:/meshgate\\.demo\\.v1\\.Inference/[^/]+|/v1/inference/embed|/v1/inference/generate|/v1/inference/info)$');
    // The set holds the files with the gRPC paths added.
    const inSet = filesOfSet(Buffer.from(d.value.base64, 'base64'));
    assert.equal(methodsOfFiles(inSet).find((m) => m.method === 'Embed')!.bindings.length, 2);
    // The same bytes, the same digest: a refetch that changed nothing changes nothing.
    const again = serviceDescriptor(DEMO, ['meshgate.demo.v1.Inference'], { ...ORIGIN, loadedAt: 'later' });
    assert.ok(again.ok);
    assert.equal(again.value.digest, d.value.digest);
  });

  it('refuses a bad path template, a service no file declares, and no service at all — with the reason', () => {
    const bad = serviceDescriptor([annotatedFile(rule(2, 'v1/a'))], undefined, ORIGIN);
    assert.ok(!bad.ok);
    assert.equal(bad.reason, 'x.v1.Api.Get: "v1/a" is not a google.api.http path template');
    const missing = serviceDescriptor(DEMO, ['meshgate.demo.v1.Nope'], ORIGIN);
    assert.ok(!missing.ok);
    assert.match(missing.reason, /no file declares meshgate\.demo\.v1\.Nope/);
    const garbage = serviceDescriptor([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])], undefined, ORIGIN);
    assert.ok(!garbage.ok);
    assert.match(garbage.reason, /^the descriptors could not be read: /);
    const none = serviceDescriptor([FileDescriptorProto.encode(FileDescriptorProto.create({ name: 'e.proto' })).finish()], undefined, ORIGIN);
    assert.ok(!none.ok);
    assert.equal(none.reason, 'the descriptors declare no gRPC service');
    // Two methods on one path: Envoy takes it (the first wins), and so does the route.
    const twice = serviceDescriptor([annotatedFile(rule(2, '/v1/a'), rule(2, '/v1/a'))], undefined, ORIGIN);
    assert.ok(twice.ok);
    assert.equal(twice.value.pathRegex, '^(?:/v1/a|/x\\.v1\\.Api/[^/]+)$');
    const ok = serviceDescriptor([annotatedFile(rule(4, '/v1/{name=things/*}:run'))], undefined, ORIGIN);
    assert.ok(ok.ok, ok.ok ? '' : ok.reason);
    assert.equal(ok.value.pathRegex, '^(?:/v1/things/[^/]+:run|/x\\.v1\\.Api/[^/]+)$');
  });

  it('tells .proto text from base64 (the text goes to buf)', () => {
    assert.ok(looksLikeProto('syntax = "proto3";\npackage a.b;\nservice S { rpc M(A) returns (A); }'));
    assert.ok(looksLikeProto('message A {}'));
    assert.ok(!looksLikeProto(setOfFiles(DEMO).toString('base64')));
    assert.ok(!looksLikeProto('not a descriptor set!'));
  });

  it('reads a KV document: the base64 of a FileDescriptorSet; anything else refused with what to put there', () => {
    const ok = filesOfDocument(`${setOfFiles(DEMO).toString('base64').replace(/(.{76})/g, '$1\n')}\n`);
    assert.ok(ok.ok, ok.ok ? '' : ok.reason);
    assert.equal(ok.value.length, DEMO.length);
    for (const [text, reason] of [
      ['', /^empty: put the base64 of a FileDescriptorSet/],
      ['not a descriptor set!', /^not base64: put the base64 of a FileDescriptorSet \(protoc --include_imports/],
      [Buffer.from([0xff, 0xff, 0xff, 0x0f]).toString('base64'), /^not a FileDescriptorSet: /],
    ] as const) {
      const r = filesOfDocument(text);
      assert.ok(!r.ok, text);
      assert.match(r.reason, reason);
    }
  });
});

describe('transcoding: settings and the store', () => {
  it('takes meta transcode on or off, and the service-defaults Transcoding with valid origins only', () => {
    const on = serviceSettings('inference', { protocol: 'grpc', transcode: 'on' });
    assert.ok(on.ok);
    assert.equal(on.value.transcode, true);
    const bad = serviceSettings('inference', { transcode: 'yes' });
    assert.ok(!bad.ok);
    assert.equal(describeRefusal(bad), 'meta "transcode": "yes": on or off');
    const entry = parseConfigEntries('Kind: service-defaults\nName: inference\nTranscoding: {Streams: sse, GrpcWeb: {AllowOrigins: ["https://app.example.com:8443", "*"]}}');
    assert.ok(entry.ok, entry.ok ? '' : entry.reason);
    const badOrigin = parseConfigEntries('Kind: service-defaults\nName: inference\nTranscoding: {GrpcWeb: {AllowOrigins: ["app.example.com/path"]}}');
    assert.ok(!badOrigin.ok);
    assert.match(badOrigin.reason, /Transcoding\.GrpcWeb\.AllowOrigins\[0\]: must be an origin/);
    const badStreams = parseConfigEntries('Kind: service-defaults\nName: inference\nTranscoding: {Streams: xml}');
    assert.ok(!badStreams.ok);
  });

  it('keeps the last good descriptor in force when a newer one is refused, and says why until one is taken', () => {
    const store = new MeshStore({ retainVanishedMs: 1_000 });
    store.markSynced();
    const d = serviceDescriptor(DEMO, undefined, ORIGIN);
    assert.ok(d.ok);
    store.setDescriptor(d.value);
    const revision = store.state.revision;
    store.setDescriptor({ ...d.value, loadedAt: 'later' });
    assert.equal(store.state.revision, revision, 'the same digest changes nothing');
    store.refuseDescriptor('inference', 'reflection: inference-1: the server has no reflection service');
    assert.equal(store.state.descriptors.get('inference'), d.value, 'the last good one stays');
    assert.deepEqual(store.state.problems.map((p) => [p.subject, p.reason]), [['descriptor/inference', 'reflection: inference-1: the server has no reflection service']]);
    store.setDescriptor(d.value);
    assert.deepEqual(store.state.problems, [], 'a descriptor taken clears the problem');
    store.dropDescriptor('inference');
    assert.equal(store.state.descriptors.size, 0);
    store.close();
  });
});

describe('transcoding: the route settings', () => {
  it('bounds the transcoder’s request body by the service’s limit, else by gRPC’s 4 MiB, and turns gRPC-Web on only with a CORS policy', () => {
    const d = serviceDescriptor(DEMO, undefined, ORIGIN);
    assert.ok(d.ok);
    const transcoder = (f: Record<string, unknown>) => ((f[TRANSCODER_FILTER] as { config: Record<string, unknown> }).config);
    const plain = transcodedRouteFilters(d.value, { enabled: true, streams: 'ndjson' }, DEFAULT_TRANSCODED_MAX_REQUEST_BYTES);
    assert.equal(transcoder(plain)['max_request_body_size'], 4 * 1024 * 1024);
    assert.deepEqual(transcoder(plain)['print_options'], { stream_newline_delimited: true });
    assert.equal(plain[GRPC_WEB_FILTER], undefined);
    assert.equal(plain[CORS_FILTER], undefined);
    const web = transcodedRouteFilters(d.value, { enabled: true, streams: 'sse', grpcWeb: { allowOrigins: ['https://app.example'], allowHeaders: ['x-api-key'], maxAgeSeconds: 60, allowCredentials: false } }, 1024);
    assert.equal(transcoder(web)['max_request_body_size'], 1024);
    assert.deepEqual(transcoder(web)['print_options'], { stream_sse_style_delimited: true });
    assert.ok(web[GRPC_WEB_FILTER]);
    assert.deepEqual((web[CORS_FILTER] as { allow_origin_string_match: unknown }).allow_origin_string_match, [{ exact: 'https://app.example' }]);
    assert.match((web[CORS_FILTER] as { allow_headers: string }).allow_headers, /x-grpc-web.*x-api-key/);
  });
});
