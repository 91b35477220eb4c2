// Deterministic OpenAI-compatible answers: the same request always gets the same content, so
// tests and demos can assert on it. Tokens are counted as whitespace-separated words.
import { createHash } from 'node:crypto';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

export function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Why a body is not a chat request, or undefined when it is one. */
export function chatRequestProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'the body must be a JSON object';
  const messages = (body as { messages?: unknown }).messages;
  if (!Array.isArray(messages) || messages.length === 0) return '"messages" must be a non-empty array';
  for (const [i, m] of messages.entries()) {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || typeof m.content !== 'string') {
      return `messages[${i}] must have string "role" and "content"`;
    }
  }
  return undefined;
}

export function chatReply(request: ChatRequest): string {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  return `You said: ${lastUser?.content ?? ''}`;
}

export function chatCompletion(request: ChatRequest, instance: string, now: Date = new Date()): Record<string, unknown> {
  const content = chatReply(request);
  const prompt = request.messages.reduce((n, m) => n + countTokens(m.content), 0);
  const completion = countTokens(content);
  return {
    id: `chatcmpl-${createHash('sha256').update(JSON.stringify(request.messages)).digest('hex').slice(0, 12)}`,
    object: 'chat.completion',
    created: Math.floor(now.getTime() / 1000),
    model: request.model ?? 'meshgate-demo',
    system_fingerprint: instance,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

export function embedding(input: string, dimensions = 8): number[] {
  const digest = createHash('sha256').update(input).digest();
  return Array.from({ length: dimensions }, (_, i) => Math.round(((digest[i]! / 255) * 2 - 1) * 1e4) / 1e4);
}
