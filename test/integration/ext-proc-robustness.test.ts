// The LLM processor spoken to directly over gRPC (grpc-js, as a hostile or broken client would):
// a stream without the gateway's model table, a message that cannot be read, one larger than a
// message may be, and a whole call as Envoy makes it — each answered with its status and reason,
// and the processor serving the next caller as before.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Component } from '../../launcher/component.js';
import { startExtProc } from '../../launcher/ext-proc.js';
import { freePorts } from '../../launcher/ports.js';
import { MODEL_TABLE_HEADER } from '../../shared/llm-gateway.js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { loadEnvoyProtos } from '../../shared/proto/root.js';
import { EXT_PROC_PROTO } from '../../ext-proc/server/codec.js';

const METHOD = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';
const TABLE = JSON.stringify({ models: ['llama'], aliases: {} });

interface Outcome {
  readonly answers: JsonObject[];
  readonly status: grpc.StatusObject;
}

/** One ext_proc stream: the messages sent one by one, each after the answer to the one before. */
function exchange(client: grpc.Client, messages: Buffer[], metadata: Record<string, string> = { [MODEL_TABLE_HEADER]: TABLE }): Promise<Outcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const call = client.makeBidiStreamRequest(METHOD, (b: Buffer) => b, (b: Buffer) => b, md, { deadline: Date.now() + 5_000 });
  const answers: JsonObject[] = [];
  let next = 0;
  const sendNext = () => {
    if (next < messages.length) call.write(messages[next++]!);
    else call.end();
  };
  return new Promise((resolve) => {
    call.on('data', (b: Buffer) => {
      answers.push(decodeMessage('envoy.service.ext_proc.v3.ProcessingResponse', b));
      sendNext();
    });
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => resolve({ answers, status }));
    sendNext();
  });
}

const phase = (json: JsonObject): Buffer => Buffer.from(encodeMessage('envoy.service.ext_proc.v3.ProcessingRequest', json));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const headersOf = (h: Record<string, string>) => ({ headers: { headers: Object.entries(h).map(([key, v]) => ({ key, raw_value: b64(v) })) } });

describe('the LLM processor, spoken to directly', () => {
  let processor: Component;
  let client: grpc.Client;

  before(async () => {
    loadEnvoyProtos([EXT_PROC_PROTO]);
    const [port, admin] = (await freePorts(2)) as [number, number];
    processor = await startExtProc({ port, adminPort: admin, extraArgs: ['--h2-max-request-body-bytes=1048576', '--max-request-bytes=524288'] });
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 8 << 20 });
  });

  after(async () => {
    client?.close();
    await processor?.stop();
  });

  const call = [
    phase({ request_headers: { ...headersOf({ ':path': '/v1/chat/completions', ':method': 'POST' }), end_of_stream: false } }),
    phase({ request_body: { body: b64('{"model":"llama","messages":[]}'), end_of_stream: true } }),
    phase({ response_headers: { ...headersOf({ ':status': '200' }), end_of_stream: false } }),
    phase({ response_body: { body: b64('{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'), end_of_stream: true } }),
  ];

  it('answers a whole call as Envoy makes it, then ends the stream OK', async () => {
    const r = await exchange(client, call);
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    assert.deepEqual(r.answers.map((a) => Object.keys(a).find((k) => k !== 'dynamic_metadata')), ['request_headers', 'request_body', 'response_headers', 'response_body']);
  });

  it('refuses a stream without the model table, saying what is missing', async () => {
    const r = await exchange(client, call, {});
    assert.equal(r.status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(r.status.details, /x-meshgate-model-table/);
  });

  it('ends a stream whose message cannot be read, with the reason', async () => {
    const r = await exchange(client, [Buffer.from([0xff, 0xff, 0xff])]);
    assert.equal(r.status.code, grpc.status.INVALID_ARGUMENT);
    assert.ok(r.status.details.length > 0);
  });

  it('refuses a message larger than a message may be before keeping it, and serves the next caller', async () => {
    const big = phase({ request_body: { body: Buffer.alloc(2 << 20, 0x61).toString('base64'), end_of_stream: true } });
    const r = await exchange(client, [call[0]!, big]);
    assert.equal(r.status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(r.status.details, /at most 1048571/);
    const next = await exchange(client, call);
    assert.equal(next.status.code, grpc.status.OK);
    const metrics = await (await fetch(`${processor.adminUrl}/metrics`)).text();
    assert.match(metrics, /meshgate_llm_refused_streams_total\{reason="no_model_table"\} 1/);
    assert.match(metrics, /meshgate_llm_refused_streams_total\{reason="bad_message"\} 1/);
  });
});
