// The headers the openai SDK (node, v6) sends with every call, as a model API's callers send
// them: what Envoy forwards to a plug-in and the plug-in decodes. The benches' calls carry them.
export const SDK_HEADERS: Readonly<Record<string, string>> = {
  accept: 'application/json',
  'user-agent': 'OpenAI/JS 6.49.0',
  'x-stainless-retry-count': '0',
  'x-stainless-lang': 'js',
  'x-stainless-package-version': '6.49.0',
  'x-stainless-os': 'Linux',
  'x-stainless-arch': 'x64',
  'x-stainless-runtime': 'node',
  'x-stainless-runtime-version': 'v20.20.2',
  authorization: 'Bearer sk-bench-0123456789',
  'accept-language': '*',
  'sec-fetch-mode': 'cors',
  'accept-encoding': 'gzip, deflate',
};
