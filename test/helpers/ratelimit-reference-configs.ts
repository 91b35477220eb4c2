// The configs the differential test loads into envoyproxy/ratelimit and ratelimit-service side
// by side: the reference's own README examples, its examples/ and test/config files (copied by
// the set-up step from its module, .tools/ratelimit-reference-files), and configs written the
// way yaml.v2 reads YAML 1.1 (meshgate's earlier refusals). Each set is loaded on its own: many
// of them share a domain name.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../launcher/repo.js';

export interface ConfigSet {
  readonly name: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly text: string }>;
}

const FILES = path.join(repoRoot(), '.tools', 'ratelimit-reference-files');

/** The test configs that load (the others are the reference's refusal cases). */
const TEST_CONFIGS = ['basic_config.yaml', 'shadowmode_config.yaml', 'share_threshold.yaml', 'wildcard.yaml'];

const YAML_11 = `
# yaml.v2's YAML 1.1: yes is true, 010 is 8, string fields keep the text as written
domain: yaml11
descriptors:
  - key: port
    value: 8080
    rate_limit: {unit: minute, requests_per_unit: 010, name: octal}
  - key: 42
    value: 0755
    shadow_mode: yes
    rate_limit: {unit: hour, requests_per_unit: 2}
  - key: base
    rate_limit: &limit {unit: minute, requests_per_unit: 3, name: from-anchor}
  - key: merged
    rate_limit:
      <<: *limit
      requests_per_unit: 1
  - key: weekly
    rate_limit: {unit: week, requests_per_unit: 2}
  - key: quota
    quota_mode: true
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: empty
    rate_limit:
    descriptors:
  - key: twice
    rate_limit: {unit: minute, requests_per_unit: 5}
    rate_limit: {unit: minute, requests_per_unit: 1}
---
`;

export function referenceConfigSets(): ConfigSet[] {
  if (!fs.existsSync(FILES)) throw new Error(`${FILES} is missing: run \`npm run setup\``);
  const sets: ConfigSet[] = [];
  const readme = fs.readFileSync(path.join(FILES, 'README.md'), 'utf8');
  let n = 0;
  for (const m of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const text = m[1]!;
    if (!text.trimStart().startsWith('domain:') || text.includes('<unique domain ID>')) continue;
    n += 1;
    sets.push({ name: `README example block ${n} (${/domain: (\S+)/.exec(text)![1]})`, files: [{ name: 'config.yaml', text }] });
  }
  sets.push({ name: 'examples/ratelimit/config', files: fs.readdirSync(path.join(FILES, 'examples')).map((f) => ({ name: f, text: fs.readFileSync(path.join(FILES, 'examples', f), 'utf8') })) });
  for (const f of TEST_CONFIGS) sets.push({ name: `test/config/${f}`, files: [{ name: f, text: fs.readFileSync(path.join(FILES, 'test-config', f), 'utf8') }] });
  sets.push({ name: 'YAML 1.1 as yaml.v2 reads it', files: [{ name: 'yaml11.yaml', text: YAML_11 }] });
  return sets;
}
