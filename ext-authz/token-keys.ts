// The operators' tool for meshgate's token-signing keys (ext-authz/token/signing-keys.ts):
//   node dist/ext-authz/token-keys.js rotate DIR    a new key; ext-authz signs with it from its next reload
//   node dist/ext-authz/token-keys.js list DIR      the keys, newest (the signing one) last
import fs from 'node:fs';
import { writeNewKey } from './token/signing-keys.js';

const [command, dir] = process.argv.slice(2);
if (!dir || (command !== 'rotate' && command !== 'list')) {
  process.stderr.write('usage: token-keys rotate|list DIR\n');
  process.exit(2);
}
if (command === 'rotate') process.stdout.write(`${writeNewKey(dir)}\n`);
else for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.pem')).sort()) process.stdout.write(`${f.slice(0, -4)}\n`);
