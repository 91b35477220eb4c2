// One .proto file's text → its FileDescriptorProto and every import's, compiled by buf (the
// @bufbuild/buf package's binary): a descriptor an operator stored in Consul KV as .proto text.
// Its imports may be google/api/annotations.proto and http.proto (vendored in
// shared/proto/googleapis) and the well-known types (google/protobuf/*, built into buf);
// anything else is refused with buf's own message. Bounded: the text's size, one run at a time
// per caller, a deadline, the output's size; the run sees only a temporary directory.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { filesOfSet } from '../../shared/proto/file-descriptors.js';
import { sharedProtoPath } from '../../shared/proto/root.js';
import { refused, valid, type Checked } from '../../shared/validate/result.js';

const require = createRequire(import.meta.url);

let binary: string | undefined;

/** buf's binary for this platform (the package's optional dependency), not its node launcher; found once. */
function bufBinary(): string {
  binary ??= findBufBinary();
  return binary;
}

function findBufBinary(): string {
  const arch = process.arch === 'arm64' ? (process.platform === 'linux' ? 'aarch64' : 'arm64') : process.arch;
  const exe = process.platform === 'win32' ? 'buf.exe' : 'buf';
  try {
    return require.resolve(`@bufbuild/buf-${process.platform}-${arch}/bin/${exe}`);
  } catch {
    return require.resolve('@bufbuild/buf/bin/buf');
  }
}

export interface CompileOptions {
  readonly timeoutMs?: number;
  readonly maxOutputBytes?: number;
}

/** Whether a KV document is .proto text rather than base64 (which has no spaces, `;` or `{`). */
export function looksLikeProto(text: string): boolean {
  return /\b(syntax|package|service|message)\b[^;{]*[;{]/.test(text);
}

/**
 * The files of `text` (named `fileName`) and its imports, each file's own bytes as buf writes
 * them, or buf's reason to refuse it.
 */
export async function compileProto(text: string, fileName: string, o: CompileOptions = {}): Promise<Checked<Uint8Array[]>> {
  if (!/^[a-z0-9][a-z0-9_./-]*\.proto$/.test(fileName) || fileName.includes('..')) return refused('', `${fileName} is not a .proto file name`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-proto-'));
  try {
    fs.cpSync(path.join(sharedProtoPath('googleapis'), 'google'), path.join(dir, 'google'), { recursive: true });
    fs.mkdirSync(path.dirname(path.join(dir, fileName)), { recursive: true });
    fs.writeFileSync(path.join(dir, fileName), text);
    const out = path.join(os.tmpdir(), `${path.basename(dir)}.binpb`);
    const result = await new Promise<{ ok: true } | { ok: false; reason: string }>((resolve) => {
      execFile(
        bufBinary(),
        ['build', '.', '--path', fileName, '--as-file-descriptor-set', '--exclude-source-info', '--error-format', 'text', '-o', out],
        // No network, no home: buf reads nothing but the directory (no buf.yaml, no remote deps).
        { timeout: o.timeoutMs ?? 10_000, maxBuffer: 1024 * 1024, env: { PATH: process.env['PATH'] ?? '', HOME: dir, BUF_CACHE_DIR: path.join(dir, '.cache') }, cwd: dir },
        (err, _stdout, stderr) => {
          if (!err) return resolve({ ok: true });
          const killed = (err as NodeJS.ErrnoException & { killed?: boolean }).killed;
          const message = killed ? `buf did not finish within ${o.timeoutMs ?? 10_000} ms` : (stderr || err.message).trim().split('\n').slice(0, 3).join('; ');
          resolve({ ok: false, reason: message.split(`${dir}/`).join('') });
        },
      );
    });
    if (!result.ok) {
      fs.rmSync(out, { force: true });
      return refused('', `the .proto text does not compile: ${result.reason}`);
    }
    const bytes = fs.readFileSync(out);
    fs.rmSync(out, { force: true });
    if (bytes.length > (o.maxOutputBytes ?? 8 * 1024 * 1024)) return refused('', `the compiled set is ${bytes.length} bytes, more than ${o.maxOutputBytes ?? 8 * 1024 * 1024}`);
    return valid(filesOfSet(bytes));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
