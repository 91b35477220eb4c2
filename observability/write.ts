// Write the generated Prometheus configuration and rules into a directory (the CLI, the demo,
// the tests): prometheus.yml refers to meshgate-rules.yml beside it.
import fs from 'node:fs';
import path from 'node:path';
import { prometheusConfigYaml, type PrometheusConfigOptions } from './prometheus-config.js';
import { rulesYaml, type RuleOptions } from './rules.js';

export const RULES_FILE = 'meshgate-rules.yml';

export function writePrometheusConfig(dir: string, o: Omit<PrometheusConfigOptions, 'ruleFiles'>, rules: RuleOptions = {}): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'prometheus.yml');
  const rulesPath = path.join(dir, RULES_FILE);
  fs.writeFileSync(config, prometheusConfigYaml({ ...o, ruleFiles: [RULES_FILE] }));
  fs.writeFileSync(rulesPath, rulesYaml(rules));
  return [config, rulesPath];
}
