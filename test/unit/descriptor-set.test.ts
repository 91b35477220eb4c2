// Descriptor-set assembly from reflection answers: each file after the files it imports, only
// what the services need, their extension options kept byte for byte; a missing import, a
// circle of imports, or a service in no file refused with the reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { assembleDescriptorSet } from '../../xds-server/transcoding/descriptor-set.js';

const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto;
const FileDescriptorSet = (descriptor as unknown as { FileDescriptorSet: protobuf.Type }).FileDescriptorSet;
const file = (name: string, dependency: string[] = [], services: string[] = [], pkg = 'x.v1') =>
  Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.create({ name, package: pkg, dependency, service: services.map((n) => ({ name: n })) })).finish());

describe('descriptor sets from reflection', () => {
  it('orders every file after its imports, and leaves out what the services do not need', () => {
    const api = file('x/v1/api.proto', ['google/api/annotations.proto', 'google/protobuf/empty.proto'], ['Api']);
    const annotations = file('google/api/annotations.proto', ['google/api/http.proto', 'google/protobuf/descriptor.proto'], [], 'google.api');
    const http = file('google/api/http.proto', [], [], 'google.api');
    const desc = file('google/protobuf/descriptor.proto', [], [], 'google.protobuf');
    const empty = file('google/protobuf/empty.proto', [], [], 'google.protobuf');
    const unrelated = file('y/other.proto', [], ['Other'], 'y');
    const r = assembleDescriptorSet([api, unrelated, empty, annotations, desc, http, api], ['x.v1.Api']);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.deepEqual(r.files, ['google/api/http.proto', 'google/protobuf/descriptor.proto', 'google/api/annotations.proto', 'google/protobuf/empty.proto', 'x/v1/api.proto']);
    const decoded = FileDescriptorSet.decode(r.bytes) as unknown as { file: Array<{ name: string }> };
    assert.deepEqual(decoded.file.map((f) => f.name), r.files);
  });

  it('keeps the bytes of each file as the server sent them (extensions such as google.api.http)', () => {
    // A MethodOptions extension the decoder does not know, in a service's method.
    const known = FileDescriptorProto.encode(FileDescriptorProto.create({ name: 'x/v1/api.proto', package: 'x.v1', messageType: [{ name: 'A' }], service: [{ name: 'Api', method: [{ name: 'Get', inputType: '.x.v1.A', outputType: '.x.v1.A' }] }] })).finish();
    const withExtension = Buffer.concat([known, Buffer.from([0x5a, 0x04, 0x0a, 0x02, 0x68, 0x69])]); // an unknown field 11, "hi"
    const r = assembleDescriptorSet([withExtension], ['x.v1.Api']);
    assert.ok(r.ok);
    assert.ok(r.bytes.includes(withExtension), 'the file’s bytes are in the set unchanged');
  });

  it('refuses a missing import, a circle, or a service no file declares — naming it', () => {
    const a = file('a.proto', ['b.proto'], ['Api']);
    const r1 = assembleDescriptorSet([a], ['x.v1.Api']);
    assert.deepEqual(r1, { ok: false, reason: 'a.proto imports b.proto, which the server did not give' });
    const r2 = assembleDescriptorSet([a, file('b.proto', ['a.proto'])], ['x.v1.Api']);
    assert.ok(!r2.ok && /circle through a\.proto/.test(r2.reason), JSON.stringify(r2));
    const r3 = assembleDescriptorSet([file('c.proto')], ['x.v1.Missing']);
    assert.deepEqual(r3, { ok: false, reason: 'no file declares x.v1.Missing' });
    const r4 = assembleDescriptorSet([Buffer.from([0xff, 0xff, 0xff])], ['x.v1.Api']);
    assert.ok(!r4.ok && /could not be read/.test(r4.reason));
    // A method whose type no file defines (a file sent without its imports).
    const orphan = Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.create({ name: 'x/v1/api.proto', package: 'x.v1', messageType: [{ name: 'A' }], service: [{ name: 'Api', method: [{ name: 'Get', inputType: '.x.v1.A', outputType: '.google.protobuf.Empty' }] }] })).finish());
    assert.deepEqual(assembleDescriptorSet([orphan], ['x.v1.Api']), { ok: false, reason: 'x/v1/api.proto refers to .google.protobuf.Empty, which no file the server gave defines' });
  });
});
