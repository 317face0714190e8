import { ConfigError, loadConfig, withSetupFile } from '../config.js';
import { isVeilError } from '../pipeline/errors.js';
import { guardProcess } from '../ops/last-resort.js';
import { createLogger } from '../ops/log.js';
import { startVeil, type Role } from '../server.js';
import { veilExtensions } from '../extensions.js';
import { startBanner } from './banner.js';
import { EXIT, line, type CommandIO } from './io.js';

export const SERVE_USAGE = `Usage: veil start | veil proxy | veil worker

  start    the proxy and a worker in one process (single-node mode). Without UPSTREAM_URL it
           serves a demo site in place of a CMS; without a running Redis it starts a private one.
  proxy    only the HTTP proxy (scale out: several proxies, workers elsewhere)
  worker   only a queue worker

Settings come from environment variables (see the README's settings table), and the first
admin and secrets from DATA_DIR/settings.env when "veil setup" wrote one.`;

/** Runs until SIGTERM/SIGINT, then stops gracefully: running uploads finish first. */
export async function serveCommand(role: Role, argv: string[], io: CommandIO): Promise<number> {
  if (argv.length > 0) {
    line(io.stderr, `veil: unexpected argument "${argv[0]}"\n\n${SERVE_USAGE}`);
    return EXIT.usage;
  }
  let config;
  let setup;
  try {
    setup = withSetupFile(process.env);
    config = loadConfig(setup.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      line(io.stderr, err.message);
      return EXIT.usage;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, io.stderr);
  guardProcess(logger);
  let veil;
  try {
    veil = await startVeil(config, role, veilExtensions, logger);
  } catch (err) {
    if (isVeilError(err)) {
      logger.error('Veil could not start', { code: err.code, error: err.message });
      return EXIT.failed;
    }
    throw err;
  }
  if (veil.url) line(io.stdout, startBanner({ url: veil.url, config, setupFile: setup.file, setupFileFound: setup.found }));
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('stopping', { signal });
      void veil.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return EXIT.ok;
}
