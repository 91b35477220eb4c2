// Secret handling: constant-time comparison, SHA-256 digests for API keys, scrypt for passwords.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Compare two secrets (or digests) without leaking where they differ through timing. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export type SecretComparator = (a: Uint8Array, b: Uint8Array) => boolean;

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A parsed `scrypt$N$r$p$salt$hash` password hash (salt and hash in base64). */
export interface PasswordHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

export function parsePasswordHash(text: string): PasswordHash | string {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'expected scrypt$N$r$p$salt$hash (make one with `node dist/ext-authz/hash-secret.js password`)';
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!Number.isInteger(N) || N < 2 ** 14 || (N & (N - 1)) !== 0) return 'N must be a power of two of at least 16384';
  if (!Number.isInteger(r) || r < 8 || !Number.isInteger(p) || p < 1) return 'r must be at least 8 and p at least 1';
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 16 || hash.length < 32) return 'salt must be at least 16 bytes and hash at least 32';
  return { N, r, p, salt, hash };
}

export async function hashPassword(password: string, N = 2 ** 15): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 });
  return `scrypt$${N}$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: PasswordHash, compare: SecretComparator = constantTimeEqual): Promise<boolean> {
  const computed = await scrypt(password, stored.salt, stored.hash.length, { N: stored.N, r: stored.r, p: stored.p, maxmem: 256 * stored.N * stored.r });
  return compare(computed, stored.hash);
}
