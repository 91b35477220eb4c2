// OpenAI's Chat Completions request (POST /v1/chat/completions), read into the neutral form and
// written from it. Read: system and developer messages before the conversation are the system
// prompt; tool messages become tool results in a user turn; images as data: URLs or links;
// vLLM's reasoning_content on an assistant turn is its reasoning. A field the neutral form has
// no place for is refused with its name unless it is at its default (n: 1, logprobs: false, …).
// Written: what an OpenAI-compatible server (OpenAI, vLLM, SGLang, llama.cpp) takes, with
// usage asked for in streams (the gateway counts tokens from it).
import { chatRequest, refuseUnread, type ChatRequest, type Dialect, InvalidRequestError, type Message, type Part, type Tool, type ToolChoice, UntranslatableError } from './neutral.js';
import { arrayAt, dataUrl, isObject, type Json, objectAt, optionalBoolean, optionalInteger, optionalNumber, optionalString, stringAt } from './read-json.js';

/** Fields read into the neutral form. */
const READ = new Set(['model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'stream', 'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls', 'user']);

/** Fields that say nothing when at these values: accepted, not carried. */
const AT_DEFAULT: Readonly<Record<string, (v: unknown) => boolean>> = {
  n: (v) => v === 1 || v === null,
  logprobs: (v) => v === false || v === null,
  presence_penalty: (v) => v === 0 || v === null,
  frequency_penalty: (v) => v === 0 || v === null,
  response_format: (v) => v === null || (isObject(v) && v['type'] === 'text'),
  store: (v) => v === false || v === null,
  modalities: (v) => v === null || (Array.isArray(v) && v.length === 1 && v[0] === 'text'),
  service_tier: (v) => v === null || v === 'auto' || v === 'default',
};

function userParts(content: unknown, path: string, target: Dialect): Part[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  return arrayAt(content, path).map((raw, i): Part => {
    const p = objectAt(raw, `${path}[${i}]`);
    switch (p['type']) {
      case 'text':
        return { type: 'text', text: stringAt(p['text'], `${path}[${i}].text`) };
      case 'image_url': {
        const url = stringAt(objectAt(p['image_url'], `${path}[${i}].image_url`)['url'], `${path}[${i}].image_url.url`);
        const data = dataUrl(url);
        return { type: 'image', source: data ? { kind: 'base64', ...data } : { kind: 'url', url } };
      }
      case 'refusal':
        return { type: 'text', text: stringAt(p['refusal'], `${path}[${i}].refusal`) };
      default:
        throw new UntranslatableError(`${path}[${i}].type: ${String(p['type'])}`, target);
    }
  });
}

function assistantParts(m: Json, path: string, target: Dialect): Part[] {
  const parts: Part[] = [];
  const reasoning = m['reasoning_content'] ?? m['reasoning'];
  if (typeof reasoning === 'string' && reasoning) parts.push({ type: 'reasoning', text: reasoning });
  if (m['content'] !== undefined && m['content'] !== null) parts.push(...userParts(m['content'], `${path}.content`, target));
  if (m['function_call'] !== undefined && m['function_call'] !== null) throw new UntranslatableError(`${path}.function_call`, target, 'use tool_calls');
  if (m['tool_calls'] !== undefined && m['tool_calls'] !== null) {
    for (const [i, raw] of arrayAt(m['tool_calls'], `${path}.tool_calls`).entries()) {
      const c = objectAt(raw, `${path}.tool_calls[${i}]`);
      if (c['type'] !== undefined && c['type'] !== 'function') throw new UntranslatableError(`${path}.tool_calls[${i}].type: ${String(c['type'])}`, target);
      const f = objectAt(c['function'], `${path}.tool_calls[${i}].function`);
      parts.push({ type: 'tool_call', id: stringAt(c['id'], `${path}.tool_calls[${i}].id`), name: stringAt(f['name'], `${path}.tool_calls[${i}].function.name`), arguments: stringAt(f['arguments'], `${path}.tool_calls[${i}].function.arguments`) });
    }
  }
  return parts;
}

function toolChoiceOf(x: unknown, target: Dialect): ToolChoice | undefined {
  if (x === undefined || x === null) return undefined;
  if (x === 'auto' || x === 'none' || x === 'required') return { type: x };
  if (isObject(x) && x['type'] === 'function') return { type: 'tool', name: stringAt(objectAt(x['function'], 'tool_choice.function')['name'], 'tool_choice.function.name') };
  throw new UntranslatableError(`tool_choice: ${JSON.stringify(x)}`, target);
}

function toolsOf(x: unknown, target: Dialect): Tool[] {
  if (x === undefined || x === null) return [];
  return arrayAt(x, 'tools').map((raw, i): Tool => {
    const t = objectAt(raw, `tools[${i}]`);
    if (t['type'] !== 'function') throw new UntranslatableError(`tools[${i}].type: ${String(t['type'])}`, target);
    const f = objectAt(t['function'], `tools[${i}].function`);
    const description = optionalString(f['description'], `tools[${i}].function.description`);
    return {
      name: stringAt(f['name'], `tools[${i}].function.name`),
      ...(description !== undefined ? { description } : {}),
      ...(f['strict'] === true ? { strict: true } : {}),
      parameters: f['parameters'] === undefined ? { type: 'object', properties: {} } : objectAt(f['parameters'], `tools[${i}].function.parameters`),
    };
  });
}

function stopOf(x: unknown): string[] {
  if (x === undefined || x === null) return [];
  if (typeof x === 'string') return [x];
  return arrayAt(x, 'stop').map((s, i) => stringAt(s, `stop[${i}]`));
}

/** A Chat Completions body (parsed JSON) in the neutral form, for a service that speaks `target`. */
export function readOpenAiRequest(body: Json, target: Dialect): ChatRequest {
  refuseUnread(body, READ, AT_DEFAULT, target);
  const system: string[] = [];
  const messages: Message[] = [];
  /** Tool results and user content gather in one user turn, as the neutral form keeps them. */
  const push = (role: 'user' | 'assistant', content: Part[]): void => {
    const last = messages[messages.length - 1];
    if (last && last.role === role && role === 'user') messages[messages.length - 1] = { role, content: [...last.content, ...content] };
    else messages.push({ role, content });
  };
  for (const [i, raw] of arrayAt(body['messages'], 'messages').entries()) {
    const path = `messages[${i}]`;
    const m = objectAt(raw, path);
    switch (m['role']) {
      case 'system':
      case 'developer':
        if (messages.length) throw new UntranslatableError(`${path}.role: ${m['role']} (an instruction after the conversation began)`, target);
        system.push(...userParts(m['content'], `${path}.content`, target).map((p) => (p.type === 'text' ? p.text : '')));
        break;
      case 'user':
        push('user', userParts(m['content'], `${path}.content`, target));
        break;
      case 'assistant':
        push('assistant', assistantParts(m, path, target));
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', callId: stringAt(m['tool_call_id'], `${path}.tool_call_id`), content: userParts(m['content'], `${path}.content`, target), isError: false }]);
        break;
      default:
        throw new UntranslatableError(`${path}.role: ${String(m['role'])}`, target);
    }
  }
  if (!messages.length) throw new InvalidRequestError('messages: must hold at least one user or assistant message', 'messages');
  return chatRequest({
    ...openAiCommon(body),
    system,
    messages,
    tools: toolsOf(body['tools'], target),
    toolChoice: toolChoiceOf(body['tool_choice'], target),
    maxTokens: optionalInteger(body['max_completion_tokens'] ?? body['max_tokens'], body['max_completion_tokens'] !== undefined ? 'max_completion_tokens' : 'max_tokens', 1),
    topK: optionalInteger(body['top_k'], 'top_k', 1),
    stop: stopOf(body['stop']),
    user: optionalString(body['user'], 'user'),
  });
}

/** What OpenAI's two APIs (Chat Completions, Responses) name and bound alike. */
export function openAiCommon(body: Json): Pick<ChatRequest, 'model' | 'stream'> & { parallelToolCalls: boolean | undefined; temperature: number | undefined; topP: number | undefined } {
  return {
    model: stringAt(body['model'], 'model'),
    parallelToolCalls: optionalBoolean(body['parallel_tool_calls'], 'parallel_tool_calls'),
    temperature: optionalNumber(body['temperature'], 'temperature', 0, 2),
    topP: optionalNumber(body['top_p'], 'top_p', 0, 1),
    stream: optionalBoolean(body['stream'], 'stream') === true,
  };
}

function contentOf(parts: readonly Part[], path: string): string | Json[] {
  if (parts.every((p) => p.type === 'text')) return parts.map((p) => (p.type === 'text' ? p.text : '')).join('\n');
  return parts.map((p, i): Json => {
    if (p.type === 'text') return { type: 'text', text: p.text };
    if (p.type === 'image') return { type: 'image_url', image_url: { url: p.source.kind === 'url' ? p.source.url : `data:${p.source.mediaType};base64,${p.source.data}` } };
    throw new UntranslatableError(`${path}[${i}]: ${p.type}`, 'openai');
  });
}

/** The neutral request as a Chat Completions body for `model`. */
export function writeOpenAiRequest(r: ChatRequest, model: string): Json {
  const messages: Json[] = r.system.length ? [{ role: 'system', content: r.system.join('\n\n') }] : [];
  for (const [i, m] of r.messages.entries()) {
    if (m.role === 'assistant') {
      const text = m.content.filter((p) => p.type === 'text').map((p) => (p.type === 'text' ? p.text : '')).join('');
      const calls = m.content.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } }] : []));
      // Earlier reasoning is not sent back: the Chat Completions API has no field for it.
      messages.push({ role: 'assistant', content: text || (calls.length ? null : ''), ...(calls.length ? { tool_calls: calls } : {}) });
      continue;
    }
    const rest: Part[] = [];
    for (const p of m.content) {
      if (p.type !== 'tool_result') {
        rest.push(p);
        continue;
      }
      const content = contentOf(p.content, `messages[${i}].tool_result`);
      if (typeof content !== 'string') throw new UntranslatableError(`an image in a tool result (messages[${i}])`, 'openai');
      // A failed tool says so in its text: Chat Completions has no error flag on a tool message.
      messages.push({ role: 'tool', tool_call_id: p.callId, content: p.isError ? `Error: ${content}` : content });
    }
    if (rest.length) messages.push({ role: 'user', content: contentOf(rest, `messages[${i}].content`) });
  }
  const choice = r.toolChoice;
  return {
    model,
    messages,
    ...(r.tools.length ? { tools: r.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters, ...(t.strict ? { strict: true } : {}) } })) } : {}),
    ...(choice ? { tool_choice: choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type } : {}),
    ...(r.parallelToolCalls !== undefined && r.tools.length ? { parallel_tool_calls: r.parallelToolCalls } : {}),
    ...(r.maxTokens !== undefined ? { max_tokens: r.maxTokens } : {}),
    ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
    ...(r.topP !== undefined ? { top_p: r.topP } : {}),
    ...(r.topK !== undefined ? { top_k: r.topK } : {}),
    ...(r.stop.length ? { stop: [...r.stop] } : {}),
    ...(r.user !== undefined ? { user: r.user } : {}),
    ...(r.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}
