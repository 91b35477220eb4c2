// OpenAI Chat Completions messages, read as text: what the demo model services count and echo,
// and what the LLM processor's request log keeps of a prompt. A message's content is a string,
// a list of parts (text, image_url, input_audio, file, refusal) or null (an assistant's turn
// that only calls tools); tool calls and tool results are messages too. Both components read
// every shape the official SDKs send the same way, so it is written once.

/** The text of one message's content: a string as it is, a list's text (and refusal) parts joined by newlines; other parts as a marker naming their type. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => {
      if (typeof part !== 'object' || part === null) return '';
      const p = part as Record<string, unknown>;
      if (p['type'] === 'text' && typeof p['text'] === 'string') return p['text'];
      if (p['type'] === 'refusal' && typeof p['refusal'] === 'string') return p['refusal'];
      return typeof p['type'] === 'string' ? `[${p['type']}]` : '';
    })
    .filter((t) => t !== '')
    .join('\n');
}

interface ToolCall {
  readonly function?: { readonly name?: unknown; readonly arguments?: unknown };
}

/** What one message says: its content's text, then each tool call as `[tool_call name(arguments)]`. */
export function turnText(message: unknown): string {
  if (typeof message !== 'object' || message === null) return '';
  const m = message as Record<string, unknown>;
  const calls = Array.isArray(m['tool_calls'])
    ? (m['tool_calls'] as ToolCall[]).map((c) => `[tool_call ${String(c?.function?.name ?? '?')}(${typeof c?.function?.arguments === 'string' ? c.function.arguments : ''})]`)
    : [];
  return [contentText(m['content']), ...calls].filter((t) => t !== '').join(' ');
}

/** One message as a line of text: `role: what it says`, a tool result with its call id. */
export function messageText(message: unknown): string {
  if (typeof message !== 'object' || message === null) return '';
  const m = message as Record<string, unknown>;
  const role = typeof m['role'] === 'string' ? m['role'] : '?';
  const who = role === 'tool' && typeof m['tool_call_id'] === 'string' ? `tool (${m['tool_call_id']})` : role;
  return `${who}: ${turnText(m)}`;
}

/** A conversation as text, one message a line. */
export function messagesText(messages: unknown): string {
  return Array.isArray(messages) ? messages.map(messageText).join('\n') : '';
}
