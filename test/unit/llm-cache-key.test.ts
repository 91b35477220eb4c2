// The response cache's decisions: what may be reused, and the key it is found under.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheable, cacheKey, canonicalJson } from '../../ext-proc/cache/key.js';

describe('response cache keys', () => {
  it('reuses embeddings, deterministic or allowed chats, never a stream', () => {
    assert.equal(cacheable('embeddings', { model: 'e', input: 'x' }, false), true);
    assert.equal(cacheable('chat', { model: 'm', messages: [], temperature: 0 }, false), true);
    assert.equal(cacheable('chat', { model: 'm', messages: [], temperature: 0, n: 3 }, false), false, 'several samples');
    assert.equal(cacheable('chat', { model: 'm', messages: [] }, false), false, 'sampling by default');
    assert.equal(cacheable('chat', { model: 'm', messages: [] }, true), true, 'the caller allows it (x-meshgate-cache: allow)');
    assert.equal(cacheable('chat', { model: 'm', messages: [], temperature: 0, stream: true }, false), false);
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

describe('response cache in memory', () => {
  it('keeps answers for their TTL, drops the least recently used past its size, and refuses one too large', async () => {
    const { MemoryStore } = await import('../../ext-proc/cache/store.js');
    let now = 0;
    const store = new MemoryStore({ ttlMs: 1_000, maxBytes: 10, maxEntryBytes: 6 }, () => now);
    store.set('a', Buffer.from('aaaa'));
    store.set('b', Buffer.from('bbbb'));
    assert.equal(store.get('a')?.toString(), 'aaaa', 'a is now the most recent');
    store.set('c', Buffer.from('cc'));
    store.set('d', Buffer.from('dd')); // 12 bytes: b (least recent) goes
    assert.equal(store.get('b'), undefined);
    assert.deepEqual(store.stats(), { entries: 3, bytes: 8 });
    store.set('big', Buffer.from('1234567'));
    assert.equal(store.get('big'), undefined, 'larger than an entry may be');
    now = 1_000;
    assert.equal(store.get('a'), undefined, 'expired');
    assert.equal(store.stats().entries, 2);
  });
});
