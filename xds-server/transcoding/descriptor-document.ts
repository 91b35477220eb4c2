// A descriptor set an operator stored in Consul KV for a service without reflection, as text:
// the base64 of a FileDescriptorSet (what `protoc --include_imports --descriptor_set_out` and
// `buf build -o` write). (.proto text is the other form: proto-compiler.ts.) Pure.
import { describeFile, filesOfSet } from '../../shared/proto/file-descriptors.js';
import { refused, valid, type Checked } from '../../shared/validate/result.js';

const WHAT_TO_PUT = 'put the base64 of a FileDescriptorSet (protoc --include_imports --descriptor_set_out=set.pb; base64 -w0 set.pb), or the text of a .proto file';

/** Consul KV values are at most 512 KiB; base64 of a set is 4/3 of its bytes. */
const MAX_TEXT = 1024 * 1024;

export function filesOfDocument(text: string): Checked<Uint8Array[]> {
  if (text.length > MAX_TEXT) return refused('', `${text.length} characters, more than ${MAX_TEXT}`);
  const compact = text.replace(/\s+/g, '');
  if (!compact) return refused('', `empty: ${WHAT_TO_PUT}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return refused('', `not base64: ${WHAT_TO_PUT}`);
  let files: Uint8Array[];
  try {
    files = filesOfSet(Buffer.from(compact, 'base64'));
    for (const f of files) describeFile(f);
  } catch (err) {
    return refused('', `not a FileDescriptorSet: ${(err as Error).message}`);
  }
  if (!files.length) return refused('', 'a FileDescriptorSet without files');
  return valid(files);
}
