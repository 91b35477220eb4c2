// How every meshgate process runs: start, then stop cleanly once on SIGTERM or SIGINT. A
// configuration error prints the usage and exits 2; a failure to start exits 1.
import type { Logger } from 'pino';

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** `start` brings the service up and returns how to stop it. */
export function runService(name: string, log: Logger, start: () => Promise<() => Promise<void>>): void {
  start().then(
    (stop) => {
      let stopping = false;
      const onSignal = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        try {
          await stop();
        } catch (err) {
          log.error({ err }, 'error while stopping');
        }
        process.exit(0);
      };
      process.on('SIGTERM', () => void onSignal('SIGTERM'));
      process.on('SIGINT', () => void onSignal('SIGINT'));
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${err.message}\n\n${err.usage}`);
        process.exit(2);
      }
      log.fatal({ err }, `${name} failed to start`);
      process.exit(1);
    },
  );
}

/** Parse configuration, turning any error into a UsageError with the usage text. */
export function configOrUsage<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}
