// Requests, answers and streams as each API's public documentation shows them, for the dialect
// translators' table tests. Each names the page it was taken from.

/** docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview: the get_weather tool. */
export const ANTHROPIC_WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  input_schema: { type: 'object', properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } }, required: ['location'] },
};

/** docs.anthropic.com/en/api/messages: a request with a system prompt, a tool, and a tool round trip. */
export const ANTHROPIC_TOOL_ROUND_TRIP = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: 'You are a helpful assistant.',
  tools: [ANTHROPIC_WEATHER_TOOL],
  messages: [
    { role: 'user', content: "What's the weather like in San Francisco?" },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: "I'll check the current weather in San Francisco for you." },
        { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' }] },
  ],
};

/** The same conversation as OpenAI's Chat Completions takes it (platform.openai.com/docs/guides/function-calling). */
export const OPENAI_TOOL_ROUND_TRIP = {
  model: 'qwen2.5-7b',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: "What's the weather like in San Francisco?" },
    {
      role: 'assistant',
      content: "I'll check the current weather in San Francisco for you.",
      tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } }],
    },
    { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
  ],
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get the current weather in a given location', parameters: ANTHROPIC_WEATHER_TOOL.input_schema } }],
  max_tokens: 1024,
};

/** docs.anthropic.com/en/docs/build-with-claude/vision: an image as base64. */
export const ANTHROPIC_IMAGE_MESSAGE = {
  role: 'user',
  content: [
    { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
    { type: 'text', text: 'Describe this image.' },
  ],
};

/** platform.openai.com/docs/guides/images-vision: an image as a data URL. */
export const OPENAI_IMAGE_MESSAGE = {
  role: 'user',
  content: [
    { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
    { type: 'text', text: 'Describe this image.' },
  ],
};

/** docs.anthropic.com/en/api/messages: the answer (a tool call, after text). */
export const ANTHROPIC_TOOL_ANSWER = {
  id: 'msg_01Aq9w938a90dw8q',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'text', text: "I'll check the current weather in San Francisco for you." },
    { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 472, output_tokens: 89, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
};

/** platform.openai.com/docs/api-reference/chat/object: the same answer in Chat Completions' shape. */
export const OPENAI_TOOL_ANSWER = {
  id: 'msg_01Aq9w938a90dw8q',
  object: 'chat.completion',
  created: 1699896916,
  model: 'claude-sonnet-4-5-20250929',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: "I'll check the current weather in San Francisco for you.",
        tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } }],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 },
};

/** docs.anthropic.com/en/docs/build-with-claude/streaming: a text block, then a tool_use block streamed as partial JSON. */
export const ANTHROPIC_TOOL_STREAM = [
  'event: message_start',
  'data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
  '',
  'event: ping',
  'data: {"type": "ping"}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let\'s check the weather."}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":0}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\":"}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \\"San Francisco, CA\\"}"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":1}',
  '',
  'event: message_delta',
  'data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}',
  '',
  'event: message_stop',
  'data: {"type":"message_stop"}',
  '',
  '',
].join('\n');

/** platform.openai.com/docs/api-reference/chat-streaming: text chunks, the finish chunk, the usage chunk, [DONE]. */
export const OPENAI_TEXT_STREAM = [
  'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}',
  '',
  'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}',
  '',
  'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" wörld"},"logprobs":null,"finish_reason":null}]}',
  '',
  'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}',
  '',
  'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}',
  '',
  'data: [DONE]',
  '',
  '',
].join('\n');

/** docs.anthropic.com/en/api/errors: the error shape. */
export const ANTHROPIC_NOT_FOUND = { type: 'error', error: { type: 'not_found_error', message: 'The requested resource could not be found.' } };

/** platform.openai.com/docs/guides/error-codes: the error shape. */
export const OPENAI_RATE_LIMITED = { error: { message: 'Rate limit reached for requests', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } };

/** github.com/ollama/ollama docs/api.md, "Chat request (with tools)": the answer, a tool call. */
export const OLLAMA_TOOL_ANSWER = {
  model: 'llama3.2',
  created_at: '2024-07-22T20:33:28.123648Z',
  message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_current_weather', arguments: { format: 'celsius', location: 'Paris, FR' } } }] },
  done_reason: 'stop',
  done: true,
  total_duration: 885095291,
  load_duration: 3753500,
  prompt_eval_count: 122,
  prompt_eval_duration: 328493000,
  eval_count: 33,
  eval_duration: 552222000,
};

/** github.com/ollama/ollama docs/api.md, "Chat request (streaming)": pieces of the message, then the counts. */
export const OLLAMA_TEXT_STREAM = [
  '{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The","images":null},"done":false}',
  '{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":" sky","images":null},"done":false}',
  '{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}',
  '',
].join('\n');

/** platform.openai.com/docs/guides/function-calling (Responses API): the request with one function tool. */
export const RESPONSES_FUNCTION_REQUEST = {
  model: 'gpt-4.1',
  input: [{ role: 'user', content: 'What is the weather like in Paris today?' }],
  tools: [
    {
      type: 'function',
      name: 'get_weather',
      description: 'Get current temperature for a given location.',
      parameters: { type: 'object', properties: { location: { type: 'string', description: 'City and country e.g. Bogotá, Colombia' } }, required: ['location'], additionalProperties: false },
      strict: true,
    },
  ],
};
