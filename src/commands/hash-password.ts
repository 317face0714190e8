import { hashPassword } from '../review/index.js';
import { EXIT, line, UsageError, type CommandIO } from './io.js';
import { InputCancelled, secretInput } from './secret-input.js';

export const HASH_PASSWORD_USAGE = `Usage: veil hash-password [NAME [ROLE]]

Reads a password (typed on the terminal without being shown, or the first line of standard
input) and prints the scrypt hash for VEIL_ADMIN_USERS. With NAME (and ROLE: reviewer or admin,
default reviewer) it prints the whole entry, e.g.  VEIL_ADMIN_USERS='dsl:admin:scrypt$...'
For the first admin, "veil setup" does all of this and writes the settings for you.`;

export const MIN_PASSWORD_CHARS = 12;

export async function hashPasswordCommand(argv: string[], io: CommandIO): Promise<number> {
  const [name, role = 'reviewer', extra] = argv;
  if (extra !== undefined) throw new UsageError('too many arguments');
  if (name !== undefined && !isUserName(name)) throw new UsageError('NAME may use letters, digits, ".", "_", "@" and "-"');
  if (role !== 'reviewer' && role !== 'admin') throw new UsageError('ROLE must be reviewer or admin');
  const input = secretInput();
  let password: string | null;
  try {
    password = await input.readLine('Password: ', { hidden: true });
    if (password !== null && input.terminal) {
      const again = await input.readLine('Same password again: ', { hidden: true });
      if (again !== password) {
        line(io.stderr, 'The two passwords differ; nothing was made.');
        return EXIT.failed;
      }
    }
  } catch (err) {
    if (err instanceof InputCancelled) return EXIT.failed;
    throw err;
  } finally {
    input.close();
  }
  const problem = passwordProblem(password ?? '');
  if (problem) {
    line(io.stderr, problem);
    return EXIT.failed;
  }
  const hash = await hashPassword(password!);
  line(io.stdout, name ? `${name}:${role}:${hash}` : hash);
  return EXIT.ok;
}

export function isUserName(name: string): boolean {
  return /^[A-Za-z0-9._@-]{1,64}$/.test(name);
}

export function passwordProblem(password: string): string | null {
  if (password === '') return 'No password was given (type one, or pipe it in: printf \'%s\\n\' "$PASSWORD" | veil hash-password).';
  if ([...password].length < MIN_PASSWORD_CHARS) return `Choose a password of at least ${MIN_PASSWORD_CHARS} characters.`;
  return null;
}
