// "HOST:PORT" (optionally with an http:// prefix, as CONSUL_HTTP_ADDR may have) → parts.
export function hostPort(text: string, what: string): { host: string; port: number } {
  const cleaned = text.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const i = cleaned.lastIndexOf(':');
  const port = Number(cleaned.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what}: ${JSON.stringify(text)} is not HOST:PORT`);
  return { host: cleaned.slice(0, i), port };
}

/** Whether a listen address is this machine's alone (what only its own users reach). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** A TCP port one can connect to (1–65535). */
export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}
