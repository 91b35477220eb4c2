// 10,000 random and malformed CheckRequests against a running ext-authz: it never crashes and
// never allows one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import type { Component } from '../../launcher/component.js';
import { tempDir } from '../../launcher/consul-agent.js';
import { startExtAuthz } from '../../launcher/ext-authz.js';
import { freePorts } from '../../launcher/ports.js';
import { encodeMessage } from '../../shared/proto/codec.js';
import { AuthzClient, checkRequest, type CheckInput } from '../helpers/authz-client.js';
import { seededRandom } from '../helpers/seeded-random.js';

const POLICY = `
policies:
  llm-clients:
    credentials:
      - type: api_key
        keys: [{id: k, sha256: ${sha256('the-only-valid-key').toString('hex')}, subject: s, scopes: [chat]}]
      - {type: jwt, issuer: "https://idp/", audiences: [a], algorithms: [RS256, ES256], jwks: {keys: [{kty: EC, crv: P-256, kid: e, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}
      - {type: basic, users: [{username: ops, password_hash: "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}
`;

const rand = seededRandom(42);
function pick<T>(xs: readonly T[]): T {
  return xs[rand(xs.length)]!;
}
function junk(max: number): string {
  return randomBytes(rand(max) + 1).toString(pick(['base64', 'hex', 'latin1', 'base64url'] as const));
}
function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

function randomInput(): CheckInput {
  const headers: Record<string, string> = {};
  switch (rand(9)) {
    case 0:
      headers['x-api-key'] = junk(80);
      break;
    case 1:
      headers['authorization'] = `Bearer ${junk(400)}`;
      break;
    case 2:
      headers['authorization'] = `Bearer ${b64url(JSON.stringify({ alg: pick(['none', 'HS256', 'RS256', 'ES256', 'nope']), kid: pick(['e', 'x', '']) }))}.${b64url(JSON.stringify({ sub: 'x', iss: 'https://idp/', aud: 'a', exp: 9e9, scope: 'chat' }))}.${junk(80)}`;
      break;
    case 3:
      headers['authorization'] = `Basic ${Buffer.from(`${pick(['ops', 'root', ''])}:${junk(20)}`).toString('base64')}`;
      break;
    case 4:
      headers['authorization'] = junk(20000); // oversized
      break;
    case 5:
      headers['x-auth-subject'] = 'admin'; // forged identity alone
      break;
    case 6:
      headers[junk(10).toLowerCase()] = junk(50);
      break;
    default:
      break;
  }
  return {
    method: pick(['GET', 'POST', 'DELETE', '', junk(8)]),
    path: pick(['/v1/chat', '/', '', `/${junk(30)}`, `/v1/chat?api_key=${junk(10)}`]),
    headers,
    ...(rand(5) === 0 ? {} : { policy: pick(['llm-clients', 'llm-clients', 'llm-clients', 'nope', '', 'none', junk(10)]) }),
  };
}

describe('ext-authz robustness', () => {
  let authz: Component;
  let client: AuthzClient;
  let dir: string;

  before(async () => {
    dir = tempDir('robust');
    fs.writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
    const [port, admin] = (await freePorts(2)) as [number, number];
    authz = await startExtAuthz({ port, adminPort: admin, policyFiles: [path.join(dir, 'policy.yaml')], extraArgs: ['--decision-log=off'], logFile: path.join(dir, 'ext-authz.log') });
    client = new AuthzClient(`127.0.0.1:${port}`);
  });

  after(async () => {
    client?.close();
    await authz?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('denies every one of 10,000 random or malformed requests and keeps running', async () => {
    let allowed = 0;
    let denied = 0;
    let grpcErrors = 0;
    let malformedSent = 0;
    for (let batch = 0; batch < 100; batch++) {
      const calls: Array<Promise<void>> = [];
      for (let i = 0; i < 100; i++) {
        const malformed = rand(10) === 0;
        if (malformed) malformedSent += 1;
        const bytes = malformed ? randomBytes(rand(200) + 1) : Buffer.from(encodeMessage('envoy.service.auth.v3.CheckRequest', checkRequest(randomInput())));
        calls.push(
          client.callRaw(bytes).then(
            (out) => {
              if ((out.status?.code ?? 0) === 0) allowed += 1;
              else denied += 1;
            },
            () => {
              grpcErrors += 1; // Envoy treats a failed check as a denial too
            },
          ),
        );
      }
      await Promise.all(calls);
    }
    assert.equal(allowed, 0);
    assert.equal(denied + grpcErrors, 10_000);
    // Only bytes that are no CheckRequest may fail the call (INVALID_ARGUMENT): a well-formed
    // request, however odd its contents, gets an answer.
    assert.ok(grpcErrors <= malformedSent, `${grpcErrors} calls failed, ${malformedSent} malformed requests sent`);
    assert.ok(authz.process.running(), 'ext-authz is still running');
    assert.equal((await fetch(`${authz.adminUrl}/healthz`)).status, 200);
    // And a real caller still gets in.
    const ok = await client.check({ policy: 'llm-clients', headers: { 'x-api-key': 'the-only-valid-key' } });
    assert.equal(ok.status?.code ?? 0, 0);
  });
});
