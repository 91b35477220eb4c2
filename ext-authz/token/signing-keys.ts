// meshgate's own token-signing keys: a directory of PKCS#8 PEM files, `<kid>.pem`, each an EC
// P-256 private key (ES256). The newest signs; every one is published in the JWKS, so a token
// signed by the key before keeps verifying until it expires (rotation with overlap):
//   rotate:  node dist/ext-authz/token-keys.js rotate DIR   (a new key signs from the next reload)
//   retire:  delete a key's file once the tokens it signed have expired (their ttl after rotating).
// The directory is read again every `reloadMs`, so replicas sharing it (a volume, a secret) agree.
// An empty directory gets a first key. Private keys never leave this process; the JWKS holds only
// the public halves.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';

export const TOKEN_ALGORITHM = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

const KID = /^[A-Za-z0-9_-]{1,64}$/;

/** A new key's file in `dir`; its kid sorts after every earlier one (newest signs). */
export function writeNewKey(dir: string, now = new Date()): string {
  const kid = `k${now.toISOString().replace(/[-:.TZ]/g, '')}-${randomBytes(3).toString('hex')}`;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, `${kid}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return kid;
}

export class SigningKeys {
  private keys: SigningKey[] = [];
  private jwksBody = '{"keys":[]}';
  private verifyKeys: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  private timer: NodeJS.Timeout | undefined;
  private fingerprint = '';

  constructor(
    private readonly dir: string,
    private readonly onProblem: (problem: string) => void = () => undefined,
  ) {}

  /** Read the directory (a first key when it has none), then again every `reloadMs`. */
  start(reloadMs: number): this {
    if (!fs.existsSync(this.dir) || !fs.readdirSync(this.dir).some((f) => f.endsWith('.pem'))) writeNewKey(this.dir);
    this.reload();
    this.timer = setInterval(() => this.reload(), reloadMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The key that signs now (the newest), or undefined when none could be read. */
  get current(): SigningKey | undefined {
    return this.keys[this.keys.length - 1];
  }

  /** The JWKS document (RFC 7517) of every key, encoded once per change. */
  get jwks(): string {
    return this.jwksBody;
  }

  /** The published keys for verifying meshgate's own tokens (a revocation's), built once per change. */
  get keySet(): JWTVerifyGetKey {
    return this.verifyKeys;
  }

  /** Read the directory; a file that is not an EC P-256 key is skipped and said, the others stay. */
  reload(): void {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir).filter((f) => f.endsWith('.pem')).sort();
    } catch (err) {
      this.onProblem(`cannot read ${this.dir}: ${(err as Error).message}; the keys read before stay`);
      return;
    }
    const fingerprint = files.map((f) => `${f}:${fs.statSync(path.join(this.dir, f)).mtimeMs}`).join(',');
    if (fingerprint === this.fingerprint) return;
    const keys: SigningKey[] = [];
    for (const file of files) {
      const kid = file.slice(0, -'.pem'.length);
      if (!KID.test(kid)) {
        this.onProblem(`${file}: the file name (the key id) must be letters, digits, "-" or "_"`);
        continue;
      }
      try {
        const privateKey = createPrivateKey(fs.readFileSync(path.join(this.dir, file)));
        if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not an EC P-256 key (ES256)');
        keys.push({ kid, privateKey });
      } catch (err) {
        this.onProblem(`${file}: ${(err as Error).message}`);
      }
    }
    if (keys.length === 0) {
      this.onProblem(`no usable signing key in ${this.dir}; the keys read before stay`);
      return;
    }
    this.fingerprint = fingerprint;
    this.keys = keys;
    const jwks = { keys: keys.map((k) => ({ ...createPublicKey(k.privateKey).export({ format: 'jwk' }), kid: k.kid, alg: TOKEN_ALGORITHM, use: 'sig' })) };
    this.jwksBody = JSON.stringify(jwks);
    this.verifyKeys = createLocalJWKSet(jwks as never);
  }
}
