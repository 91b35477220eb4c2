// The admin surface's protection: open on loopback, an operator key everywhere else (and when
// one is configured), health and metrics always open.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { adminApp, adminAuthorization, listenHttp } from '../../shared/admin-http.js';

const KEY = 'mgk_operator_5f0c';
const digest = createHash('sha256').update(KEY).digest('hex');

function app(env: NodeJS.ProcessEnv) {
  const a = adminApp({ metrics: new Registry(), notReadyReason: () => undefined }, env);
  a.get('/debug/secret-ish', (_req, res) => void res.json({ shown: true }));
  return a;
}

describe('admin endpoints', () => {
  it('ask for an operator key when one is configured; health, readiness and metrics stay open', async () => {
    const running = await listenHttp(app({ MESHGATE_ADMIN_KEY_SHA256: `${'0'.repeat(64)}, ${digest}` }), '127.0.0.1', 0);
    const url = (p: string) => `http://127.0.0.1:${running.port}${p}`;
    try {
      const none = await fetch(url('/debug/secret-ish'));
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="meshgate-admin"');
      assert.equal((await fetch(url('/debug/secret-ish'), { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(url('/debug/secret-ish'), { headers: adminAuthorization({ MESHGATE_ADMIN_KEY: KEY }) })).status, 200);
      for (const p of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(url(p))).status, 200, p);
    } finally {
      await running.close();
    }
  });

  it('answer on loopback without a key, and refuse to listen anywhere else without one (before binding)', async () => {
    const open = await listenHttp(app({}), '127.0.0.1', 0);
    try {
      assert.equal((await fetch(`http://127.0.0.1:${open.port}/debug/secret-ish`)).status, 200);
    } finally {
      await open.close();
    }
    await assert.rejects(listenHttp(app({}), '0.0.0.0', 0), /the admin endpoints on 0\.0\.0\.0 would answer anyone who reaches them: set MESHGATE_ADMIN_KEY_SHA256/);
  });

  it('refuse a malformed key digest rather than run unprotected', () => {
    assert.throws(() => app({ MESHGATE_ADMIN_KEY_SHA256: 'not-a-digest' }), /MESHGATE_ADMIN_KEY_SHA256: "not-a-digest" is not the 64 hex characters/);
  });
});
