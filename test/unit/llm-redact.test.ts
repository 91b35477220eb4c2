// What the request log keeps of a prompt: secrets redacted (built-in shapes and the operator's
// RE2 patterns), sizes capped on a character boundary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capped, redactor, REDACTED } from '../../ext-proc/log/redact.js';
import { describeRefusal } from '../../shared/validate/result.js';

describe('request log redaction', () => {
  it('redacts bearer tokens, API keys and JWTs, and leaves the rest', () => {
    const r = redactor();
    assert.ok(r.ok);
    const text = 'use Bearer abcdefgh12345678 or sk-proj-ABCDEFGHIJKLMNOP1234 or mgk_demo_team_a_7Qx2, token eyJhbGciOi.eyJzdWIiOiJ.c2lnbmF0dXJl; say hello';
    assert.equal(r.value(text), `use Bearer ${REDACTED} or ${REDACTED} or ${REDACTED}, token ${REDACTED}; say hello`);
    assert.equal(r.value('a skeleton key'), 'a skeleton key', 'words are not secrets');
  });

  it('adds the operator’s patterns, refusing one RE2 does not accept', () => {
    const r = redactor(['acct-[0-9]{6}']);
    assert.ok(r.ok);
    assert.equal(r.value('bill acct-123456 now'), `bill ${REDACTED} now`);
    const bad = redactor(['(?=lookahead)x']);
    assert.match(describeRefusal(bad as { field: string; reason: string }), /^redact\[0\]: "\(\?=lookahead\)x" is not a pattern RE2 accepts/);
  });

  it('caps text on a character boundary and says how much it cut', () => {
    assert.deepEqual(capped('hello', 10), { text: 'hello', truncatedBytes: 0 });
    assert.deepEqual(capped('héllo', 2), { text: 'h', truncatedBytes: 5 }, 'é is two bytes: not cut in half');
  });
});
