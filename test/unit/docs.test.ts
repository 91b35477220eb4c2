// The flag references in the docs are the components' own usage texts: a flag added, renamed
// or dropped in code and not in the docs (or the other way round) fails here. And every
// relative link in the docs leads to a file that exists.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { USAGE as AUTHZ_USAGE } from '../../ext-authz/config.js';
import { USAGE as EXT_PROC_USAGE } from '../../ext-proc/config.js';
import { repoRoot } from '../../launcher/repo.js';
import { USAGE as RATELIMIT_USAGE } from '../../ratelimit-service/config.js';
import { USAGE as XDS_USAGE } from '../../xds-server/config.js';

const read = (file: string): string => fs.readFileSync(path.join(repoRoot(), file), 'utf8');

/** Flag names a usage text lists (`  --name …`), the HTTP/2 limits as one `--h2-…`. */
function usageFlags(usage: string): string[] {
  const flags = [...usage.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => (m[1]!.startsWith('h2-') ? 'h2-…' : m[1]!));
  return [...new Set(flags)].sort();
}

/** Flag names in the first column of a markdown flag table (`| \`--name X\`, \`--other\` | …`). */
function tableFlags(markdown: string): string[] {
  const flags: string[] = [];
  for (const line of markdown.split('\n')) {
    const first = /^\| ([^|]+)\|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`--([a-z0-9-]+…?)/g)) flags.push(m[1]!);
  }
  return [...new Set(flags)].sort();
}

describe('docs', () => {
  it('lists exactly the xds-server flags its usage text has, in the same words', () => {
    const doc = read('docs/configuration.md');
    const block = /<!-- usage: xds-server[^>]*-->\n```\n[^\n]*\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, 'docs/configuration.md has the xds-server usage block');
    const usageLines = XDS_USAGE.split('\n').filter((l) => l.startsWith('  '));
    assert.deepEqual(block.trimEnd().split('\n'), usageLines.map((l) => l.trimEnd()));
  });

  it('lists exactly the ext-authz and ratelimit-service flags their usage texts have', () => {
    assert.deepEqual(tableFlags(read('ext-authz/README.md')), usageFlags(AUTHZ_USAGE));
    assert.deepEqual(tableFlags(read('ratelimit-service/README.md')), usageFlags(RATELIMIT_USAGE));
    assert.deepEqual(tableFlags(read('ext-proc/README.md')), usageFlags(EXT_PROC_USAGE));
  });

  it('links only to files that exist', () => {
    for (const file of ['README.md', 'docs/configuration.md', 'ext-authz/README.md', 'ratelimit-service/README.md', 'ext-proc/README.md', 'shared/h2/README.md', 'bench/RESULTS.md']) {
      for (const m of read(file).matchAll(/\]\(([^)#:\s]+)(#[^)]*)?\)/g)) {
        const target = path.join(repoRoot(), path.dirname(file), m[1]!);
        assert.ok(fs.existsSync(target), `${file} links to ${m[1]}, which does not exist`);
      }
    }
  });
});
