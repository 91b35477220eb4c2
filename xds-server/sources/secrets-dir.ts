// The secrets directory (--secrets-dir): one file per secret, its name the file's, its value the
// file's text (one trailing newline dropped) — as a mounted Kubernetes Secret or a systemd
// credential directory has them. Read at start and every `intervalMs`; a change reaches Envoy
// over SDS. Bounded: at most MAX_SECRETS files of at most MAX_SECRET_BYTES each; what is past a
// bound, unreadable or oddly named is named in the problem and not read, and a secret that
// cannot be read now keeps its last value. Values are never logged.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { secretName } from '../model/config-entries/schema.js';
import { SecretValue, type LoginSink } from '../model/mesh.js';

export const MAX_SECRETS = 256;
export const MAX_SECRET_BYTES = 64 * 1024;

export interface SecretsDirOptions {
  readonly dir: string;
  readonly sink: LoginSink;
  readonly log: Logger;
  readonly intervalMs: number;
}

/** One read of the directory: the secrets it holds, and what could not be read. `last`: values kept when a file cannot be read now. */
export async function readSecretsDir(dir: string, last: ReadonlyMap<string, SecretValue> = new Map()): Promise<{ secrets: Map<string, SecretValue>; problems: string[] }> {
  const secrets = new Map<string, SecretValue>();
  const problems: string[] = [];
  let names: string[];
  try {
    names = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => !d.name.startsWith('.') && (d.isFile() || d.isSymbolicLink())).map((d) => d.name).sort();
  } catch (err) {
    return { secrets: new Map(last), problems: [`${dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  if (names.length > MAX_SECRETS) {
    problems.push(`${names.length} files, over ${MAX_SECRETS}: only the first ${MAX_SECRETS} by name are read`);
    names = names.slice(0, MAX_SECRETS);
  }
  for (const name of names) {
    if (!secretName.safeParse(name).success) {
      problems.push(`"${name}" is not a secret name (letters, digits, ".", "_", "-")`);
      continue;
    }
    const file = path.join(dir, name);
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) continue;
      if (stat.size > MAX_SECRET_BYTES) throw new Error(`${stat.size} bytes, over ${MAX_SECRET_BYTES}`);
      const text = (await fs.readFile(file, 'utf8')).replace(/\r?\n$/, '');
      if (!text) throw new Error('empty');
      secrets.set(name, new SecretValue(name, text));
    } catch (err) {
      problems.push(`"${name}" cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      const kept = last.get(name);
      if (kept) secrets.set(name, kept);
    }
  }
  return { secrets, problems };
}

export class SecretsDirSource {
  private timer: NodeJS.Timeout | undefined;
  private last: ReadonlyMap<string, SecretValue> = new Map();
  private stopped = false;

  constructor(private readonly options: SecretsDirOptions) {
    options.sink.expectSource('secrets');
  }

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const { secrets, problems } = await readSecretsDir(this.options.dir, this.last);
    if (this.stopped) return;
    const names = (m: ReadonlyMap<string, SecretValue>): string => [...m.keys()].join(',');
    if (names(secrets) !== names(this.last)) this.options.log.info({ dir: this.options.dir, secrets: [...secrets.keys()] }, 'secrets directory read');
    if (problems.length) this.options.log.warn({ dir: this.options.dir, problems }, 'secrets directory: some secrets not read');
    this.last = secrets;
    this.options.sink.setSecrets(secrets, problems.length ? problems.join('; ') : undefined);
    this.options.sink.markSynced('secrets');
    this.timer = setTimeout(() => void this.poll(), this.options.intervalMs);
    this.timer.unref();
  }
}
