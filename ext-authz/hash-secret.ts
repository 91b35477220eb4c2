// Make the stored form of a secret for a policy document:
//   node dist/ext-authz/hash-secret.js api-key <key>      → sha256 hex for an api_key entry
//   node dist/ext-authz/hash-secret.js password <secret>  → scrypt hash for a basic user
//   node dist/ext-authz/hash-secret.js new-api-key        → a random key and its sha256
import { randomBytes } from 'node:crypto';
import { hashPassword, sha256 } from './credentials/secrets.js';

const [what, secret] = process.argv.slice(2);
if (what === 'api-key' && secret) {
  process.stdout.write(`${sha256(secret).toString('hex')}\n`);
} else if (what === 'password' && secret) {
  process.stdout.write(`${await hashPassword(secret)}\n`);
} else if (what === 'new-api-key') {
  const key = `mgk_${randomBytes(24).toString('base64url')}`;
  process.stdout.write(`key:    ${key}\nsha256: ${sha256(key).toString('hex')}\n`);
} else {
  process.stderr.write('usage: hash-secret api-key <key> | password <secret> | new-api-key\n');
  process.exit(2);
}
