import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatCompletion, chatRequestProblem, embedding } from '../../demo/openai.js';

describe('demo model service answers', () => {
  it('replies deterministically with a usage block', () => {
    const req = { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there mesh' }] };
    const a = chatCompletion(req, 'i-1', new Date(0));
    const b = chatCompletion(req, 'i-2', new Date(0));
    assert.deepEqual((a['choices'] as unknown[])[0], { index: 0, message: { role: 'assistant', content: 'You said: hello there mesh' }, finish_reason: 'stop' });
    assert.deepEqual(a['usage'], { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
    assert.equal(a['id'], b['id']);
  });

  it('says what is wrong with a bad request', () => {
    assert.equal(chatRequestProblem({}), '"messages" must be a non-empty array');
    assert.equal(chatRequestProblem({ messages: [{ role: 'user' }] }), 'messages[0]: "content" must be a string or a list of content parts');
    assert.equal(chatRequestProblem({ messages: [{ role: 'user', content: 'x' }] }), undefined);
  });

  it('embeds deterministically', () => {
    assert.deepEqual(embedding('a'), embedding('a'));
    assert.notDeepEqual(embedding('a'), embedding('b'));
    assert.equal(embedding('a', 4).length, 4);
  });
});
