import { EXIT, line, processIO, UsageError, type CommandIO } from './commands/io.js';

interface Command {
  summary: string;
  /** Loaded on use: `veil sanitise` should not pay for loading the proxy, BullMQ and the S3 SDK. */
  load(): Promise<{ run: (argv: string[], io: CommandIO) => Promise<number>; usage: string }>;
}

const serve = (role: 'all' | 'proxy' | 'worker') => async () => {
  const { serveCommand, SERVE_USAGE } = await import('./commands/serve.js');
  return { run: (argv: string[], io: CommandIO) => serveCommand(role, argv, io), usage: SERVE_USAGE };
};

const COMMANDS: Record<string, Command> = {
  start: { summary: 'run Veil: proxy and worker in one process (demo site without UPSTREAM_URL)', load: serve('all') },
  proxy: { summary: 'run only the proxy', load: serve('proxy') },
  worker: { summary: 'run only a queue worker', load: serve('worker') },
  sanitise: {
    summary: 'strip metadata, downscale and redact faces in image files',
    load: async () => {
      const m = await import('./commands/sanitise.js');
      return { run: m.sanitiseCommand, usage: m.SANITISE_USAGE };
    },
  },
  inspect: {
    summary: 'show what image files give away, without changing them',
    load: async () => {
      const m = await import('./commands/inspect.js');
      return { run: m.inspectCommand, usage: m.INSPECT_USAGE };
    },
  },
  detect: {
    summary: 'list the faces found in images (JSON lines with --json)',
    load: async () => {
      const m = await import('./commands/detect.js');
      return { run: m.detectCommand, usage: m.DETECT_USAGE };
    },
  },
  audit: {
    summary: 'report (and with --fix, repair) the photos a site or folder already publishes',
    load: async () => {
      const m = await import('./commands/audit.js');
      return { run: m.auditCommand, usage: m.AUDIT_USAGE };
    },
  },
  setup: {
    summary: 'first-time configuration: the first admin user, session key and API token',
    load: async () => {
      const m = await import('./commands/setup.js');
      return { run: m.setupCommand, usage: m.SETUP_USAGE };
    },
  },
  'hash-password': {
    summary: 'make a password hash for VEIL_ADMIN_USERS',
    load: async () => {
      const m = await import('./commands/hash-password.js');
      return { run: m.hashPasswordCommand, usage: m.HASH_PASSWORD_USAGE };
    },
  },
};
const ALIASES: Record<string, string> = { sanitize: 'sanitise' };

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`);
  return `Usage: veil <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun "veil <command> --help" for a command's options.`;
}

/** The `veil` command; returns the exit status. */
export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    line(name ? io.stdout : io.stderr, usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  const entry = COMMANDS[ALIASES[name] ?? name];
  if (!entry) {
    line(io.stderr, `veil: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
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
