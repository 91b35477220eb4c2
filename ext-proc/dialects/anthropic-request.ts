// Anthropic's Messages request (POST /v1/messages), read into the neutral form and written from
// it. Read: the system prompt (a string or text blocks), text, image (base64 or URL), tool_use
// and tool_result blocks; thinking blocks of earlier turns are not carried (the Messages API
// itself leaves earlier turns' thinking out of the model's context); `cache_control` is a
// caching hint that changes no answer and is not carried. Extended thinking, documents, server
// tools and the like are refused with their names for a service of another dialect.
import { chatRequest, refuseUnread, type ChatRequest, type Dialect, InvalidRequestError, type Message, type Part, type Tool, type ToolChoice, UntranslatableError } from './neutral.js';
import { argumentsObject, arrayAt, isObject, type Json, objectAt, optionalBoolean, optionalInteger, optionalNumber, optionalString, stringAt } from './read-json.js';

/** The version the gateway speaks to Anthropic-dialect services (the Messages API's only one). */
export const ANTHROPIC_VERSION = '2023-06-01';

const READ = new Set(['model', 'messages', 'system', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice', 'metadata']);

const AT_DEFAULT: Readonly<Record<string, (v: unknown) => boolean>> = {
  thinking: (v) => isObject(v) && v['type'] === 'disabled',
  service_tier: (v) => v === 'auto' || v === 'standard_only',
};

function imageOf(b: Json, path: string): Part {
  const source = objectAt(b['source'], `${path}.source`);
  if (source['type'] === 'base64') return { type: 'image', source: { kind: 'base64', mediaType: stringAt(source['media_type'], `${path}.source.media_type`), data: stringAt(source['data'], `${path}.source.data`) } };
  if (source['type'] === 'url') return { type: 'image', source: { kind: 'url', url: stringAt(source['url'], `${path}.source.url`) } };
  throw new InvalidRequestError(`${path}.source.type: must be base64 or url`, `${path}.source.type`);
}

function blocksOf(content: unknown, path: string, role: 'user' | 'assistant', target: Dialect): Part[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  const parts: Part[] = [];
  for (const [i, raw] of arrayAt(content, path).entries()) {
    const at = `${path}[${i}]`;
    const b = objectAt(raw, at);
    switch (b['type']) {
      case 'text':
        parts.push({ type: 'text', text: stringAt(b['text'], `${at}.text`) });
        break;
      case 'image':
        parts.push(imageOf(b, at));
        break;
      case 'tool_use':
        if (role !== 'assistant') throw new InvalidRequestError(`${at}: tool_use blocks belong to assistant turns`, at);
        parts.push({ type: 'tool_call', id: stringAt(b['id'], `${at}.id`), name: stringAt(b['name'], `${at}.name`), arguments: JSON.stringify(objectAt(b['input'] ?? {}, `${at}.input`)) });
        break;
      case 'tool_result': {
        if (role !== 'user') throw new InvalidRequestError(`${at}: tool_result blocks belong to user turns`, at);
        const inner = b['content'] === undefined ? [] : blocksOf(b['content'], `${at}.content`, 'user', target);
        if (inner.some((p) => p.type !== 'text' && p.type !== 'image')) throw new InvalidRequestError(`${at}.content: text and image blocks only`, `${at}.content`);
        parts.push({ type: 'tool_result', callId: stringAt(b['tool_use_id'], `${at}.tool_use_id`), content: inner, isError: optionalBoolean(b['is_error'], `${at}.is_error`) === true });
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        if (role !== 'assistant') throw new InvalidRequestError(`${at}: thinking blocks belong to assistant turns`, at);
        break;
      default:
        throw new UntranslatableError(`${at}.type: ${String(b['type'])}`, target);
    }
  }
  return parts;
}

function systemOf(x: unknown, target: Dialect): string[] {
  if (x === undefined || x === null) return [];
  if (typeof x === 'string') return x ? [x] : [];
  return arrayAt(x, 'system').map((raw, i) => {
    const b = objectAt(raw, `system[${i}]`);
    if (b['type'] !== 'text') throw new UntranslatableError(`system[${i}].type: ${String(b['type'])}`, target);
    return stringAt(b['text'], `system[${i}].text`);
  });
}

function toolsOf(x: unknown, target: Dialect): Tool[] {
  if (x === undefined || x === null) return [];
  return arrayAt(x, 'tools').map((raw, i): Tool => {
    const t = objectAt(raw, `tools[${i}]`);
    // A client tool has no type or "custom"; the others (web_search_…, bash_…) run at Anthropic.
    if (t['type'] !== undefined && t['type'] !== 'custom') throw new UntranslatableError(`tools[${i}].type: ${String(t['type'])}`, target);
    const description = optionalString(t['description'], `tools[${i}].description`);
    return { name: stringAt(t['name'], `tools[${i}].name`), ...(description !== undefined ? { description } : {}), parameters: objectAt(t['input_schema'], `tools[${i}].input_schema`) };
  });
}

function toolChoiceOf(x: unknown): { choice?: ToolChoice; parallel?: boolean } {
  if (x === undefined || x === null) return {};
  const c = objectAt(x, 'tool_choice');
  const disable = optionalBoolean(c['disable_parallel_tool_use'], 'tool_choice.disable_parallel_tool_use');
  const parallel = disable === undefined ? {} : { parallel: !disable };
  switch (c['type']) {
    case 'auto':
      return { choice: { type: 'auto' }, ...parallel };
    case 'any':
      return { choice: { type: 'required' }, ...parallel };
    case 'none':
      return { choice: { type: 'none' } };
    case 'tool':
      return { choice: { type: 'tool', name: stringAt(c['name'], 'tool_choice.name') }, ...parallel };
    default:
      throw new InvalidRequestError('tool_choice.type: must be auto, any, tool or none', 'tool_choice.type');
  }
}

/** A Messages body (parsed JSON) in the neutral form, for a service that speaks `target`. */
export function readAnthropicRequest(body: Json, target: Dialect): ChatRequest {
  refuseUnread(body, READ, AT_DEFAULT, target);
  const messages: Message[] = arrayAt(body['messages'], 'messages').map((raw, i) => {
    const m = objectAt(raw, `messages[${i}]`);
    if (m['role'] !== 'user' && m['role'] !== 'assistant') throw new InvalidRequestError(`messages[${i}].role: must be user or assistant`, `messages[${i}].role`);
    return { role: m['role'], content: blocksOf(m['content'], `messages[${i}].content`, m['role'], target) };
  });
  if (!messages.length) throw new InvalidRequestError('messages: at least one message is required', 'messages');
  const maxTokens = optionalInteger(body['max_tokens'], 'max_tokens', 1);
  if (maxTokens === undefined) throw new InvalidRequestError('max_tokens: Field required', 'max_tokens');
  const { choice, parallel } = toolChoiceOf(body['tool_choice']);
  return chatRequest({
    model: stringAt(body['model'], 'model'),
    system: systemOf(body['system'], target),
    messages,
    tools: toolsOf(body['tools'], target),
    toolChoice: choice,
    parallelToolCalls: parallel,
    maxTokens,
    temperature: optionalNumber(body['temperature'], 'temperature', 0, 1),
    topP: optionalNumber(body['top_p'], 'top_p', 0, 1),
    topK: optionalInteger(body['top_k'], 'top_k', 1),
    stop: body['stop_sequences'] === undefined ? [] : arrayAt(body['stop_sequences'], 'stop_sequences').map((s, i) => stringAt(s, `stop_sequences[${i}]`)),
    stream: optionalBoolean(body['stream'], 'stream') === true,
    user: isObject(body['metadata']) ? optionalString(body['metadata']['user_id'], 'metadata.user_id') : undefined,
  });
}

function blockOf(p: Part, path: string): Json | undefined {
  switch (p.type) {
    case 'text':
      return { type: 'text', text: p.text };
    case 'image':
      return { type: 'image', source: p.source.kind === 'url' ? { type: 'url', url: p.source.url } : { type: 'base64', media_type: p.source.mediaType, data: p.source.data } };
    case 'tool_call':
      return { type: 'tool_use', id: p.id, name: p.name, input: argumentsObject(p.arguments, path) };
    case 'tool_result': {
      const only = p.content.length === 1 ? p.content[0] : undefined;
      const content = only?.type === 'text' ? only.text : p.content.map((c, i) => blockOf(c, `${path}.content[${i}]`)).filter((b) => b !== undefined);
      return { type: 'tool_result', tool_use_id: p.callId, content, ...(p.isError ? { is_error: true } : {}) };
    }
    case 'reasoning':
      // Thinking goes back only as Anthropic signed it; another model's reasoning has no signature.
      return p.signature ? { type: 'thinking', thinking: p.text, signature: p.signature } : undefined;
  }
}

/** The answer's room when the caller set none: the Messages API requires max_tokens. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/** The neutral request as a Messages body for `model`. */
export function writeAnthropicRequest(r: ChatRequest, model: string, defaultMaxTokens = DEFAULT_ANTHROPIC_MAX_TOKENS): Json {
  if (r.temperature !== undefined && r.temperature > 1) throw new UntranslatableError(`temperature: ${r.temperature}`, 'anthropic', 'its range is 0 to 1');
  r.tools.forEach((t, i) => {
    // Strict schema adherence is a promise this gateway cannot make on the Messages API's behalf.
    if (t.strict) throw new UntranslatableError(`strict (tool ${t.name}, tools[${i}])`, 'anthropic');
  });
  const messages: Array<{ role: string; content: Json[] }> = [];
  for (const [i, m] of r.messages.entries()) {
    const blocks = m.content.map((p, j) => blockOf(p, `messages[${i}].content[${j}]`)).filter((b): b is Json => b !== undefined);
    if (!blocks.length) continue;
    // Turns of one role in a row are one turn to the Messages API.
    const last = messages[messages.length - 1];
    if (last && last.role === m.role) last.content.push(...blocks);
    else messages.push({ role: m.role, content: blocks });
  }
  // A turn of one text block is a string, as the Messages API's examples write it.
  const turns = messages.map((m) => (m.content.length === 1 && m.content[0]!['type'] === 'text' && Object.keys(m.content[0]!).length === 2 ? { role: m.role, content: m.content[0]!['text'] } : m));
  const choice = r.toolChoice;
  const disableParallel = r.parallelToolCalls === false && r.tools.length ? { disable_parallel_tool_use: true } : {};
  const toolChoice = !choice
    ? Object.keys(disableParallel).length
      ? { type: 'auto', ...disableParallel }
      : undefined
    : choice.type === 'tool'
      ? { type: 'tool', name: choice.name, ...disableParallel }
      : choice.type === 'required'
        ? { type: 'any', ...disableParallel }
        : choice.type === 'none'
          ? { type: 'none' }
          : { type: 'auto', ...disableParallel };
  return {
    model,
    ...(r.system.length ? { system: r.system.join('\n\n') } : {}),
    messages: turns,
    max_tokens: r.maxTokens ?? defaultMaxTokens,
    ...(r.tools.length ? { tools: r.tools.map((t) => ({ name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), input_schema: t.parameters })) } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
    ...(r.topP !== undefined ? { top_p: r.topP } : {}),
    ...(r.topK !== undefined ? { top_k: r.topK } : {}),
    ...(r.stop.length ? { stop_sequences: [...r.stop] } : {}),
    ...(r.user !== undefined ? { metadata: { user_id: r.user } } : {}),
    ...(r.stream ? { stream: true } : {}),
  };
}
