// Render an Envoy bootstrap template from environment variables, for containers:
//   node dist/scripts/render-bootstrap.js envoy/gateway.yaml > /config/gateway.yaml
// (the same template and renderer the demo launcher and the tests use).
import fs from 'node:fs';
import { renderTemplate } from '../launcher/bootstrap.js';

const [template] = process.argv.slice(2);
if (!template) {
  process.stderr.write('usage: render-bootstrap <template.yaml>  (placeholders come from the environment)\n');
  process.exit(2);
}
const vars = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
process.stdout.write(renderTemplate(fs.readFileSync(template, 'utf8'), vars));
