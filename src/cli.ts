import { detectCommand } from './commands/detect.js';
import { hashPasswordCommand, HASH_PASSWORD_USAGE } from './commands/hash-password.js';
import { inspectCommand, INSPECT_USAGE } from './commands/inspect.js';
import { EXIT, line, processIO, UsageError, type CommandIO } from './commands/io.js';
import { sanitiseCommand, SANITISE_USAGE } from './commands/sanitise.js';
import { serveCommand, SERVE_USAGE } from './commands/serve.js';

type Command = { run: (argv: string[], io: CommandIO) => Promise<number>; usage: string; summary: string };

const COMMANDS: Record<string, Command> = {
  start: { run: (argv, io) => serveCommand('all', argv, io), usage: SERVE_USAGE, summary: 'run Veil: proxy and worker in one process (demo site without UPSTREAM_URL)' },
  proxy: { run: (argv, io) => serveCommand('proxy', argv, io), usage: SERVE_USAGE, summary: 'run only the proxy' },
  worker: { run: (argv, io) => serveCommand('worker', argv, io), usage: SERVE_USAGE, summary: 'run only a queue worker' },
  sanitise: { run: sanitiseCommand, usage: SANITISE_USAGE, summary: 'strip metadata, downscale and redact faces in image files' },
  inspect: { run: inspectCommand, usage: INSPECT_USAGE, summary: 'show what image files give away, without changing them' },
  detect: {
    run: detectCommand,
    usage: 'Usage: veil detect IMAGE... [--json] [--min-score S] [--max-edge N] [--face-min-px N]',
    summary: 'list the faces found in images (JSON lines with --json)',
  },
};
COMMANDS['hash-password'] = { run: hashPasswordCommand, usage: HASH_PASSWORD_USAGE, summary: 'make a password hash for VEIL_ADMIN_USERS' };
COMMANDS.sanitize = COMMANDS.sanitise!;

export function usage(): string {
  const rows = Object.entries(COMMANDS)
    .filter(([name]) => name !== 'sanitize')
    .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: veil <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun "veil <command> --help" for a command's options.`;
}

/** The `veil` command; returns the exit status. */
export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    line(name ? io.stdout : io.stderr, usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    line(io.stderr, `veil: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    line(io.stdout, command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // parseArgs throws TypeErrors with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION for bad flags.
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      line(io.stderr, `veil ${name}: ${(err as Error).message}\n\n${command.usage}`);
      return EXIT.usage;
    }
    throw err;
  }
}
