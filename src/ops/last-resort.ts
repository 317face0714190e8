import type { Context, Hono } from 'hono';
import type { Logger } from './log.js';

/**
 * What an error that escaped a request's own handling becomes: one log line (the error's code and
 * message only: a stack or the request's path could name a file) and a plain 500 for that request.
 * Everything else keeps running.
 */
export function answerUnexpectedErrors(app: Hono, logger: Logger): void {
  app.onError((err, c: Context) => {
    logger.error('request failed unexpectedly', { error: describe(err) });
    return c.text('500 Internal Server Error: Veil could not handle this request. Nothing was published; please try again.\n', 500, {
      'cache-control': 'no-store',
    });
  });
}

let guarded = false;

/**
 * For the long-running `veil` process only: a stray rejection or exception from one request must
 * not take the site down. It is logged as an error and the process carries on serving the others.
 */
export function guardProcess(logger: Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => logger.error('unexpected error (kept running)', { error: describe(reason) }));
  process.on('uncaughtException', (err) => logger.error('unexpected error (kept running)', { error: describe(err) }));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
