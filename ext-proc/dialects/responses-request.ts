// OpenAI's Responses API request (POST /v1/responses), read into the neutral form. The gateway
// keeps no state: a request that needs a stored response or conversation (previous_response_id,
// conversation, an item_reference, store: true) is refused with its name; everything a
// stateless request says — instructions, input as text or items (messages with input_text and
// input_image parts, function_call and function_call_output items), function tools, sampling —
// is carried. Reasoning items of earlier turns are not carried (Chat Completions has no field
// for them, and a stateless reasoning model does not need them back).
import { openAiCommon } from './openai-request.js';
import { chatRequest, refuseUnread, type ChatRequest, type Dialect, InvalidRequestError, type Message, type Part, type Tool, type ToolChoice, UntranslatableError } from './neutral.js';
import { arrayAt, dataUrl, isObject, type Json, objectAt, optionalInteger, optionalString, stringAt } from './read-json.js';

const READ = new Set(['model', 'input', 'instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'max_output_tokens', 'temperature', 'top_p', 'stream', 'store', 'user', 'safety_identifier']);

const AT_DEFAULT: Readonly<Record<string, (v: unknown) => boolean>> = {
  text: (v) => v === null || (isObject(v) && (v['format'] === undefined || (isObject(v['format']) && v['format']['type'] === 'text')) && Object.keys(v).every((k) => k === 'format')),
  truncation: (v) => v === null || v === 'disabled',
  reasoning: (v) => v === null || (isObject(v) && Object.values(v).every((x) => x === null)),
  include: (v) => v === null || (Array.isArray(v) && v.length === 0),
  metadata: (v) => v === null || (isObject(v) && Object.keys(v).length === 0),
  service_tier: (v) => v === null || v === 'auto' || v === 'default',
  background: (v) => v === false || v === null,
};

/** What only a server that keeps responses can do. */
const STATEFUL: Readonly<Record<string, string>> = {
  previous_response_id: 'it names a stored response, and this gateway keeps none: send the whole conversation as input',
  conversation: 'it names a stored conversation, and this gateway keeps none: send the whole conversation as input',
  prompt: 'it names a stored prompt template, and this gateway keeps none',
};

function partsOf(content: unknown, path: string, target: Dialect): Part[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  return arrayAt(content, path).map((raw, i): Part => {
    const p = objectAt(raw, `${path}[${i}]`);
    switch (p['type']) {
      case 'input_text':
      case 'output_text':
        return { type: 'text', text: stringAt(p['text'], `${path}[${i}].text`) };
      case 'refusal':
        return { type: 'text', text: stringAt(p['refusal'], `${path}[${i}].refusal`) };
      case 'input_image': {
        if (p['file_id'] !== undefined && p['file_id'] !== null) throw new UntranslatableError(`${path}[${i}].file_id`, target, 'it names a stored file');
        const url = stringAt(p['image_url'], `${path}[${i}].image_url`);
        const data = dataUrl(url);
        return { type: 'image', source: data ? { kind: 'base64', ...data } : { kind: 'url', url } };
      }
      default:
        throw new UntranslatableError(`${path}[${i}].type: ${String(p['type'])}`, target);
    }
  });
}

function toolsOf(x: unknown, target: Dialect): Tool[] {
  if (x === undefined || x === null) return [];
  return arrayAt(x, 'tools').map((raw, i): Tool => {
    const t = objectAt(raw, `tools[${i}]`);
    // Hosted tools (web_search, file_search, code_interpreter, …) run at OpenAI.
    if (t['type'] !== 'function') throw new UntranslatableError(`tools[${i}].type: ${String(t['type'])}`, target);
    const description = optionalString(t['description'], `tools[${i}].description`);
    return { name: stringAt(t['name'], `tools[${i}].name`), ...(description !== undefined ? { description } : {}), ...(t['strict'] === true ? { strict: true } : {}), parameters: t['parameters'] === undefined || t['parameters'] === null ? { type: 'object', properties: {} } : objectAt(t['parameters'], `tools[${i}].parameters`) };
  });
}

function toolChoiceOf(x: unknown, target: Dialect): ToolChoice | undefined {
  if (x === undefined || x === null) return undefined;
  if (x === 'auto' || x === 'none' || x === 'required') return { type: x };
  if (isObject(x) && x['type'] === 'function') return { type: 'tool', name: stringAt(x['name'], 'tool_choice.name') };
  throw new UntranslatableError(`tool_choice: ${JSON.stringify(x)}`, target);
}

/** A Responses body (parsed JSON) in the neutral form, for a service that speaks `target`. */
export function readResponsesRequest(body: Json, target: Dialect): ChatRequest {
  for (const [key, why] of Object.entries(STATEFUL)) if (body[key] !== undefined && body[key] !== null) throw new UntranslatableError(key, target, why);
  if (body['store'] === true) throw new UntranslatableError('store: true', target, 'this gateway keeps no responses: send store: false, or leave it out');
  refuseUnread(body, READ, AT_DEFAULT, target);
  const messages: Message[] = [];
  const system: string[] = [];
  const instructions = optionalString(body['instructions'], 'instructions');
  if (instructions) system.push(instructions);
  const push = (role: 'user' | 'assistant', content: Part[]): void => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) messages[messages.length - 1] = { role, content: [...last.content, ...content] };
    else messages.push({ role, content });
  };
  const input = body['input'];
  if (typeof input === 'string') push('user', [{ type: 'text', text: input }]);
  else {
    for (const [i, raw] of arrayAt(input, 'input').entries()) {
      const path = `input[${i}]`;
      const item = objectAt(raw, path);
      const type = item['type'] ?? 'message';
      if (type === 'message') {
        const role = item['role'];
        if (role === 'system' || role === 'developer') {
          if (messages.length) throw new UntranslatableError(`${path}.role: ${role} (an instruction after the conversation began)`, target);
          system.push(...partsOf(item['content'], `${path}.content`, target).map((p) => (p.type === 'text' ? p.text : '')));
        } else if (role === 'user' || role === 'assistant') push(role, partsOf(item['content'], `${path}.content`, target));
        else throw new InvalidRequestError(`${path}.role: must be user, assistant, system or developer`, `${path}.role`);
      } else if (type === 'function_call') {
        push('assistant', [{ type: 'tool_call', id: stringAt(item['call_id'], `${path}.call_id`), name: stringAt(item['name'], `${path}.name`), arguments: stringAt(item['arguments'], `${path}.arguments`) }]);
      } else if (type === 'function_call_output') {
        const output = item['output'];
        const content = typeof output === 'string' ? [{ type: 'text' as const, text: output }] : partsOf(output, `${path}.output`, target);
        push('user', [{ type: 'tool_result', callId: stringAt(item['call_id'], `${path}.call_id`), content, isError: false }]);
      } else if (type === 'reasoning') {
        continue;
      } else if (type === 'item_reference') {
        throw new UntranslatableError(`${path}.type: item_reference`, target, 'it names a stored item, and this gateway keeps none');
      } else throw new UntranslatableError(`${path}.type: ${String(type)}`, target);
    }
  }
  if (!messages.length) throw new InvalidRequestError('input: must hold at least one message', 'input');
  return chatRequest({
    ...openAiCommon(body),
    system,
    messages,
    tools: toolsOf(body['tools'], target),
    toolChoice: toolChoiceOf(body['tool_choice'], target),
    maxTokens: optionalInteger(body['max_output_tokens'], 'max_output_tokens', 1),
    topK: undefined,
    stop: [],
    user: optionalString(body['safety_identifier'] ?? body['user'], 'user'),
  });
}
