// The one form every model API dialect is translated through: a chat request, its answer, the
// events of a streamed answer, and an error. Each dialect's spec reads its own shape into this
// form and writes this form out in its shape, so n dialects need 2n functions, not n².
// Only what every dialect can say lives here; what one dialect cannot express is refused by its
// writer with the feature's name (UntranslatableError), never dropped.

import type { Dialect } from '../../shared/llm-gateway.js';

export type { Dialect };

export type ImageSource = { readonly kind: 'base64'; readonly mediaType: string; readonly data: string } | { readonly kind: 'url'; readonly url: string };

export type Part =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly source: ImageSource }
  /** The model asked for a tool: its arguments as JSON text (as they stream). */
  | { readonly type: 'tool_call'; readonly id: string; readonly name: string; readonly arguments: string }
  /** A tool's answer, in a user turn. `isError`: the tool failed (Anthropic's is_error). */
  | { readonly type: 'tool_result'; readonly callId: string; readonly content: readonly Part[]; readonly isError: boolean }
  /** The model's reasoning before its answer (Anthropic's thinking, vLLM's reasoning_content). */
  | { readonly type: 'reasoning'; readonly text: string; readonly signature?: string };

export interface Message {
  readonly role: 'user' | 'assistant';
  readonly content: readonly Part[];
}

export interface Tool {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** The arguments must follow the schema exactly (OpenAI's structured outputs). */
  readonly strict?: boolean;
}

export type ToolChoice = { readonly type: 'auto' } | { readonly type: 'none' } | { readonly type: 'required' } | { readonly type: 'tool'; readonly name: string };

export interface ChatRequest {
  readonly model: string;
  /** The system prompt: every system (or developer) instruction, in order. */
  readonly system: readonly string[];
  readonly messages: readonly Message[];
  readonly tools: readonly Tool[];
  readonly toolChoice?: ToolChoice;
  readonly parallelToolCalls?: boolean;
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly stop: readonly string[];
  readonly stream: boolean;
  /** An id of the end user, for the provider's abuse tracking. */
  readonly user?: string;
}

type OptionalField = 'toolChoice' | 'parallelToolCalls' | 'maxTokens' | 'temperature' | 'topP' | 'topK' | 'user';

/** A reader's findings as the neutral request: every field named, those it did not find undefined and left out. */
export function chatRequest(fields: Omit<ChatRequest, OptionalField> & { readonly [K in OptionalField]: ChatRequest[K] | undefined }): ChatRequest {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as unknown as ChatRequest;
}

/** Tokens, as OpenAI counts them: `input` includes the tokens read from the prompt cache. */
export interface Usage {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'stop_sequence' | 'refusal';

export interface Answer {
  readonly id: string;
  readonly model: string;
  /** Text, tool calls and reasoning, in order. */
  readonly content: readonly Part[];
  readonly stopReason: StopReason;
  readonly stopSequence?: string;
  readonly usage?: Usage;
}

/** A streamed answer, event by event: the order a writer must keep. */
export type StreamEvent =
  | { readonly type: 'start'; readonly id: string; readonly model: string; readonly usage?: Usage }
  | { readonly type: 'text'; readonly delta: string }
  | { readonly type: 'reasoning'; readonly delta: string; readonly signature?: string }
  /** A tool call begins; `index` counts the answer's tool calls from 0. */
  | { readonly type: 'tool_call'; readonly index: number; readonly id: string; readonly name: string }
  | { readonly type: 'tool_arguments'; readonly index: number; readonly delta: string }
  | { readonly type: 'stop'; readonly reason: StopReason; readonly stopSequence?: string }
  | { readonly type: 'usage'; readonly usage: Usage }
  | { readonly type: 'error'; readonly error: ApiError }
  | { readonly type: 'end' };

/** What went wrong, in the words every dialect has a name for. */
export type ErrorKind = 'invalid_request' | 'authentication' | 'permission' | 'not_found' | 'request_too_large' | 'rate_limit' | 'server' | 'overloaded' | 'timeout';

export interface ApiError {
  readonly status: number;
  readonly kind: ErrorKind;
  readonly message: string;
  /** The request field at fault, when known. */
  readonly param?: string;
  /** A machine-readable code (OpenAI's error.code), when known. */
  readonly code?: string;
}

export const ERROR_KIND_OF_STATUS: ReadonlyArray<readonly [number, ErrorKind]> = [
  [401, 'authentication'],
  [403, 'permission'],
  [404, 'not_found'],
  [413, 'request_too_large'],
  [429, 'rate_limit'],
  [408, 'timeout'],
  [504, 'timeout'],
  [503, 'overloaded'],
  [529, 'overloaded'],
];

export function errorKindOf(status: number): ErrorKind {
  for (const [s, kind] of ERROR_KIND_OF_STATUS) if (s === status) return kind;
  return status >= 500 ? 'server' : 'invalid_request';
}

/** A request uses something the other dialect has no way to say: refused with its name. */
export class UntranslatableError extends Error {
  constructor(
    /** The field or feature, as the caller's dialect names it. */
    readonly feature: string,
    readonly target: Dialect,
    detail = '',
  ) {
    super(`\`${feature}\` cannot be translated for a service that speaks the ${target} API${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * Every field of a request is either read into the neutral form (`read`) or says nothing at the
 * value it has (`atDefault`, field by field); anything else would be dropped silently, so it is
 * refused by name.
 */
export function refuseUnread(body: Readonly<Record<string, unknown>>, read: ReadonlySet<string>, atDefault: Readonly<Record<string, (v: unknown) => boolean>>, target: Dialect): void {
  for (const [key, value] of Object.entries(body)) {
    if (read.has(key) || value === undefined) continue;
    if (!atDefault[key]?.(value)) throw new UntranslatableError(key, target);
  }
}

/** A request that is not valid in its own dialect: refused with what is wrong. */
export class InvalidRequestError extends Error {
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

/** The text of parts (text, and a tool result's text), joined: what a dialect without parts gets. */
export function textOf(parts: readonly Part[]): string {
  return parts
    .map((p) => (p.type === 'text' ? p.text : p.type === 'tool_result' ? textOf(p.content) : ''))
    .filter(Boolean)
    .join('\n');
}

/** A conversation as text, one turn a line (the request log, the picker's prefix). */
export function conversationText(r: Pick<ChatRequest, 'system' | 'messages'>): string {
  const lines = r.system.map((s) => `system: ${s}`);
  for (const m of r.messages) {
    const said = m.content
      .map((p) => (p.type === 'text' ? p.text : p.type === 'tool_call' ? `[tool_call ${p.name}(${p.arguments})]` : p.type === 'tool_result' ? `[tool_result ${p.callId}] ${textOf(p.content)}` : p.type === 'image' ? '[image]' : ''))
      .filter(Boolean)
      .join(' ');
    lines.push(`${m.role}: ${said}`);
  }
  return lines.join('\n');
}

/** What an answer said, as text: its text, then each tool call as `[tool_call name(arguments)]`. */
export function answerText(a: Answer): string {
  return a.content
    .map((p) => (p.type === 'text' ? p.text : p.type === 'tool_call' ? `[tool_call ${p.name}(${p.arguments})]` : ''))
    .filter(Boolean)
    .join(' ');
}
