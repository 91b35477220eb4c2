// The response cache's decisions: what may be reused, and the key it is found under.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheable, cacheKey, canonicalJson, CACHE_ALLOW_HEADER } from '../../ext-proc/cache/key.js';

describe('response cache keys', () => {
  it('reuses embeddings, deterministic or allowed chats, never a stream', () => {
    assert.equal(cacheable('embeddings', { model: 'e', input: 'x' }, {}), true);
    assert.equal(cacheable('chat', { model: 'm', messages: [], temperature: 0 }, {}), true);
    assert.equal(cacheable('chat', { model: 'm', messages: [], temperature: 0, n: 3 }, {}), false, 'several samples');
    assert.equal(cacheable('chat', { model: 'm', messages: [] }, {}), false, 'sampling by default');
    assert.equal(cacheable('chat', { model: 'm', messages: [] }, { [CACHE_ALLOW_HEADER]: 'allow' }), true);
    assert.equal(cacheable('chat', { model: 'm', messages: [], temperature: 0, stream: true }, {}), false);
  });

  it('keys by tenant and the request in any spelling, not by the end user', () => {
    const a = cacheKey('acme', 'chat', { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] });
    const b = cacheKey('acme', 'chat', JSON.parse('{ "messages": [ {"content":"hi", "role":"user"} ], "temperature": 0, "model": "m", "user": "u-42" }') as Record<string, unknown>);
    assert.equal(a, b);
    assert.notEqual(cacheKey('other', 'chat', { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] }), a, 'another tenant');
    assert.notEqual(cacheKey('acme', 'chat', { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi!' }] }), a, 'another question');
    assert.notEqual(cacheKey('acme', 'embeddings', { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] }), a, 'another operation');
    assert.equal(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' }), '{"a":"x","b":[2,{"c":null,"d":1}]}');
  });
});
