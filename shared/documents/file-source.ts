// Configuration documents from files: each path is a file, or a directory whose *.yaml, *.yml
// and *.json files are documents. Polled (cheap for a handful of files, and immune to editors
// that replace files instead of writing them), so a change is seen within `pollMs`.
import fs from 'node:fs';
import path from 'node:path';
import type { DocumentSink } from './document-sink.js';

const DOCUMENT = /\.(ya?ml|json)$/i;

export interface FileSourceOptions {
  readonly paths: readonly string[];
  readonly sink: DocumentSink;
  readonly pollMs?: number;
  readonly onError?: (file: string, err: Error) => void;
}

export class FileDocumentSource {
  private readonly seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FileSourceOptions) {}

  /** Reads everything once (synchronously, so start-up state is complete), then polls. */
  start(): void {
    this.scan();
    this.timer = setInterval(() => this.scan(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private files(): string[] {
    const out: string[] = [];
    for (const p of this.options.paths) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(p);
      } catch (err) {
        this.options.onError?.(p, err as Error);
        continue;
      }
      if (stat.isDirectory()) {
        for (const f of fs.readdirSync(p).sort()) if (DOCUMENT.test(f)) out.push(path.join(p, f));
      } else {
        out.push(p);
      }
    }
    return out;
  }

  private scan(): void {
    const current = new Set<string>();
    for (const file of this.files()) {
      current.add(file);
      let stamp: string;
      let text: string;
      try {
        const st = fs.statSync(file);
        stamp = `${st.mtimeMs}:${st.size}`;
        if (this.seen.get(file) === stamp) continue;
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        this.options.onError?.(file, err as Error);
        continue;
      }
      this.seen.set(file, stamp);
      this.options.sink.setDocument(`file:${file}`, text);
    }
    for (const file of [...this.seen.keys()]) {
      if (current.has(file)) continue;
      this.seen.delete(file);
      this.options.sink.removeDocument(`file:${file}`);
    }
  }
}
