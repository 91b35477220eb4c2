// Token usage from OpenAI-style answers: plain JSON, and server-sent-event streams cut at every
// possible byte, with and without the usage-only event the gateway asks for itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamUsageReader, usageOfJsonBody } from '../../ext-proc/openai/usage.js';

const chunk = (content: string): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;
const USAGE_EVENT = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } })}\n\n`;
const STREAM = chunk('Hel') + chunk('lo') + USAGE_EVENT + 'data: [DONE]\n\n';

/** The stream cut into pieces at the given byte offsets. */
function cut(text: string, at: number[]): Buffer[] {
  const b = Buffer.from(text);
  const points = [0, ...at, b.length];
  return points.slice(1).map((end, i) => b.subarray(points[i]!, end));
}

describe('token usage', () => {
  it('reads usage from a JSON answer, and nothing from one without', () => {
    assert.deepEqual(usageOfJsonBody(Buffer.from('{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}')), { promptTokens: 3, completionTokens: 4, totalTokens: 7 });
    assert.deepEqual(usageOfJsonBody(Buffer.from('{"usage":{"prompt_tokens":5,"total_tokens":5}}')), { promptTokens: 5, completionTokens: 0, totalTokens: 5 }, 'embeddings');
    assert.equal(usageOfJsonBody(Buffer.from('{"choices":[]}')), undefined);
    assert.equal(usageOfJsonBody(Buffer.from('not json')), undefined);
  });

  it('reads a stream’s usage wherever the chunks are cut, and passes the bytes on unchanged', () => {
    const total = Buffer.byteLength(STREAM);
    for (let a = 1; a < total; a += 7) {
      for (const b of [a + 1, a + 13, total - 1]) {
        if (b <= a || b >= total) continue;
        const reader = new StreamUsageReader(false);
        const out = Buffer.concat([...cut(STREAM, [a, b]).map((c) => reader.push(c)), reader.end()]);
        assert.equal(out.toString(), STREAM, `cut at ${a}, ${b}`);
        assert.deepEqual(reader.result(), { promptTokens: 12, completionTokens: 7, totalTokens: 19 }, `cut at ${a}, ${b}`);
        assert.equal(reader.done, true);
      }
    }
  });

  it('takes out the usage-only event it was asked to, and nothing else, wherever the stream is cut', () => {
    const expected = chunk('Hel') + chunk('lo') + 'data: [DONE]\n\n';
    for (let a = 1; a < Buffer.byteLength(STREAM); a += 5) {
      const reader = new StreamUsageReader(true);
      const out = Buffer.concat([...cut(STREAM, [a]).map((c) => reader.push(c)), reader.end()]);
      assert.equal(out.toString(), expected, `cut at ${a}`);
      assert.equal(reader.result()?.totalTokens, 19);
    }
  });

  it('reads CRLF streams and multi-line data, and gives up on an event too large to hold', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    const reader = new StreamUsageReader(false);
    reader.push(Buffer.from(crlf));
    assert.equal(reader.result()?.promptTokens, 12);
    const huge = new StreamUsageReader(false, 64);
    const big = Buffer.from(`data: ${'x'.repeat(200)}`);
    assert.equal(huge.push(big), big, 'passed on as it came');
    assert.equal(huge.push(Buffer.from(USAGE_EVENT)).toString(), USAGE_EVENT);
    assert.equal(huge.result(), undefined, 'unread past the bound');
  });
});

describe('token usage from the end of a JSON answer', () => {
  it('reads the last usage object alone, nested details included, and falls back to the whole answer', async () => {
    const { usageOfAnswerTail } = await import('../../ext-proc/openai/usage.js');
    const big = Buffer.from(JSON.stringify({ data: [{ embedding: Array.from({ length: 1000 }, (_, i) => i / 7) }], usage: { prompt_tokens: 7, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } } }));
    assert.deepEqual(usageOfAnswerTail(big), { promptTokens: 7, completionTokens: 0, totalTokens: 7 });
    // A message that mentions "usage" before the real one: the last one counts.
    const chat = Buffer.from(JSON.stringify({ choices: [{ message: { content: 'my "usage": {"prompt_tokens": 99}' } }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }));
    assert.deepEqual(usageOfAnswerTail(chat), { promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    assert.equal(usageOfAnswerTail(Buffer.from('{"choices":[]}')), undefined);
    assert.equal(usageOfAnswerTail(Buffer.from('"usage": {"prompt_tokens": 1')), undefined, 'cut short: not JSON either');
  });
});
