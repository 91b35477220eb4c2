// The processor's upstream stage: each attempt on a model's cluster gets the body with the name
// the picked instance's service knows the model by (sent by Envoy as a request attribute), and
// for a model whose services speak different dialects, the body in the dialect of the instance's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_PATH_HEADER, HOST_DIALECT_ATTRIBUTE, HOST_MODEL_ATTRIBUTE } from '../../shared/llm-gateway.js';
import { loadEnvoyProtos, messageType } from '../../shared/proto/root.js';
import { UpstreamAttempt } from '../../ext-proc/engine/upstream-attempt.js';
import { decodePhase, EXT_PROC_PROTO } from '../../ext-proc/server/codec.js';

loadEnvoyProtos([EXT_PROC_PROTO]);
const request = (m: Record<string, unknown>) => Buffer.from(messageType('envoy.service.ext_proc.v3.ProcessingRequest').encode(m as never).finish());
const answer = (b: Buffer) => messageType('envoy.service.ext_proc.v3.ProcessingResponse').toObject(messageType('envoy.service.ext_proc.v3.ProcessingResponse').decode(b), { bytes: Buffer }) as Record<string, any>;
const headers = (hostModel?: string) =>
  request({
    request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/v1/chat/completions') }] } },
    ...(hostModel ? { attributes: { 'envoy.filters.http.ext_proc': { fields: { [HOST_MODEL_ATTRIBUTE]: { string_value: hostModel } } } } } : {}),
  });
const body = (json: unknown) => request({ request_body: { body: Buffer.from(JSON.stringify(json)), end_of_stream: true } });

describe('the upstream stage', () => {
  it('gives an instance that knows the model by another name the body with that name, and its length', () => {
    const a = new UpstreamAttempt();
    assert.ok(answer(a.handle(decodePhase(headers('org/Llama-8B')))).request_headers);
    const out = answer(a.handle(decodePhase(body({ model: 'llama', stream: true, stream_options: { include_usage: true }, messages: [] }))));
    const common = out.request_body.response;
    const sent = JSON.parse(common.body_mutation.body.toString());
    assert.deepEqual(sent, { model: 'org/Llama-8B', stream: true, stream_options: { include_usage: true }, messages: [] });
    const length = common.header_mutation.set_headers.find((h: any) => h.header.key === 'content-length');
    assert.equal(length.header.raw_value.toString(), String(common.body_mutation.body.length));
  });

  it('leaves the body alone for an instance without its own name, or when the name is already right', () => {
    for (const [host, model] of [[undefined, 'llama'], ['llama', 'llama']] as const) {
      const a = new UpstreamAttempt();
      a.handle(decodePhase(headers(host)));
      const out = answer(a.handle(decodePhase(body({ model }))));
      assert.equal(out.request_body.response?.body_mutation, undefined, `${host}`);
    }
  });

  it('refuses what the stage is not configured for (an answer’s phases)', () => {
    const a = new UpstreamAttempt();
    assert.throws(() => a.handle(decodePhase(request({ response_headers: { headers: { headers: [] } } }))), /reads the request only/);
  });

  const attempt = (clientPath: string, hostDialect: string, hostModel?: string): UpstreamAttempt => {
    const a = new UpstreamAttempt();
    const fields: Record<string, unknown> = { [HOST_DIALECT_ATTRIBUTE]: { string_value: hostDialect }, ...(hostModel ? { [HOST_MODEL_ATTRIBUTE]: { string_value: hostModel } } : {}) };
    // The path an earlier attempt left: the stage goes by the caller's, which the gateway filed.
    a.handle(decodePhase(request({ request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/v1/elsewhere') }, { key: CLIENT_PATH_HEADER, raw_value: Buffer.from(clientPath) }] } }, attributes: { 'envoy.filters.http.ext_proc': { fields } } })));
    return a;
  };
  const setHeader = (out: Record<string, any>, key: string): string | undefined => out.request_body.response.header_mutation?.set_headers.find((h: any) => h.header.key === key)?.header.raw_value.toString();

  it('writes an attempt in the dialect of the service it goes to, on that dialect\u2019s path, with its name for the model', () => {
    const out = answer(attempt('/v1/chat/completions', 'anthropic', 'claude-x').handle(decodePhase(body({ model: 'mix', max_tokens: 9, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] }))));
    const sent = JSON.parse(out.request_body.response.body_mutation.body.toString());
    assert.deepEqual(sent, { model: 'claude-x', system: 'be brief', messages: [{ role: 'user', content: 'hi' }], max_tokens: 9 });
    assert.equal(setHeader(out, ':path'), '/v1/messages');
    assert.equal(setHeader(out, 'anthropic-version'), '2023-06-01');
    assert.equal(setHeader(out, 'content-length'), String(out.request_body.response.body_mutation.body.length));
  });

  it('gives a service of the caller\u2019s own dialect the caller\u2019s body on the caller\u2019s path', () => {
    const out = answer(attempt('/v1/messages', 'anthropic').handle(decodePhase(body({ model: 'mix', max_tokens: 9, messages: [{ role: 'user', content: 'hi' }] }))));
    assert.equal(out.request_body.response.body_mutation, undefined);
    assert.equal(setHeader(out, ':path'), '/v1/messages');
  });

  it('passes an OpenAI caller\u2019s embeddings call on to an OpenAI-style service of a mixed model', () => {
    const out = answer(attempt('/v1/embeddings', 'openai').handle(decodePhase(body({ model: 'mix', input: 'hi' }))));
    assert.equal(out.request_body.response.body_mutation, undefined);
    assert.equal(setHeader(out, ':path'), '/v1/embeddings');
  });

  it('refuses an attempt its service\u2019s dialect cannot express, in the caller\u2019s words', () => {
    const out = answer(attempt('/v1/chat/completions', 'anthropic').handle(decodePhase(body({ model: 'mix', n: 3, messages: [{ role: 'user', content: 'hi' }] }))));
    assert.equal(out.immediate_response.status.code, 400);
    assert.match(JSON.parse(out.immediate_response.body.toString()).error.message, /`n` cannot be translated/);
  });
});
