// Structured JSON logs (pino) for every meshgate process; LOG_LEVEL sets the level.
import { pino, type Logger } from 'pino';

export function createLogger(name: string): Logger {
  return pino({
    name,
    level: process.env['LOG_LEVEL'] ?? 'info',
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export type { Logger };
