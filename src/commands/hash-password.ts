import { createInterface } from 'node:readline';
import { hashPassword } from '../review/index.js';
import { EXIT, line, UsageError, type CommandIO } from './io.js';

export const HASH_PASSWORD_USAGE = `Usage: veil hash-password [NAME [ROLE]]

Reads a password (from the terminal, or one line of standard input) and prints the scrypt hash
for VEIL_ADMIN_USERS. With NAME (and ROLE: reviewer or admin, default reviewer) it prints the
whole entry, e.g.  VEIL_ADMIN_USERS='dsl:admin:scrypt$...'`;

export async function hashPasswordCommand(argv: string[], io: CommandIO): Promise<number> {
  const [name, role = 'reviewer', extra] = argv;
  if (extra !== undefined) throw new UsageError('too many arguments');
  if (name !== undefined && !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new UsageError('NAME may use letters, digits, ".", "_", "@" and "-"');
  if (role !== 'reviewer' && role !== 'admin') throw new UsageError('ROLE must be reviewer or admin');
  const password = await readPassword(io);
  if (password.length < 12) {
    line(io.stderr, 'Choose a password of at least 12 characters.');
    return EXIT.failed;
  }
  const hash = await hashPassword(password);
  line(io.stdout, name ? `${name}:${role}:${hash}` : hash);
  return EXIT.ok;
}

/** One line from stdin; on a terminal the typed characters are not echoed. */
function readPassword(io: CommandIO): Promise<string> {
  const input = process.stdin;
  const tty = input.isTTY;
  if (tty) io.stderr.write('Password: ');
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    if (tty) input.setRawMode?.(false);
    rl.once('line', (text) => {
      rl.close();
      if (tty) io.stderr.write('\n');
      resolve(text);
    });
    rl.once('close', () => resolve(''));
  });
}
