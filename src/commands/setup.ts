import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { hashPassword } from '../review/index.js';
import { readSetupFile, setupFilePath, SetupFileError, writeSetupFile, type SetupValues } from '../setup-file.js';
import { isUserName, passwordProblem } from './hash-password.js';
import { EXIT, line, UsageError, type CommandIO } from './io.js';
import { InputCancelled, secretInput, type SecretInput } from './secret-input.js';

export const SETUP_USAGE = `Usage: veil setup [--user NAME] [--password PW | --password-stdin]

First-time configuration. Asks for the first admin's user name and password (typed without being
shown), generates the key that signs admin sessions and an API token, and writes them to
DATA_DIR/settings.env (mode 600), which "veil start" reads. Environment variables with the same
names (VEIL_ADMIN_USERS, VEIL_SESSION_SECRET, VEIL_ADMIN_TOKEN) still take precedence.

Run it again to add a user or change a password: the session key and token are kept.

  --user NAME         the admin's user name (default: asked; "admin" when only Enter is pressed)
  --password PW       the password (for scripts; it may show in the process list: prefer the next)
  --password-stdin    read the password from the first line of standard input`;

export async function setupCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values: flags, positionals } = parseArgs({
    args: argv,
    options: { user: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (flags.password !== undefined && flags['password-stdin']) throw new UsageError('give --password or --password-stdin, not both');
  if (flags.user !== undefined && !isUserName(flags.user)) throw new UsageError('--user may use letters, digits, ".", "_", "@" and "-"');

  const file = setupFilePath(process.env, process.cwd());
  let existing: SetupValues;
  try {
    existing = readSetupFile(file) ?? {};
  } catch (err) {
    if (err instanceof SetupFileError) {
      line(io.stderr, err.message);
      return EXIT.failed;
    }
    throw err;
  }

  const needInput = flags.user === undefined || flags.password === undefined;
  const input = needInput ? secretInput() : undefined;
  let answers: { user: string; password: string } | null;
  try {
    answers = await ask(flags, input, io);
  } catch (err) {
    if (err instanceof InputCancelled) return EXIT.failed;
    throw err;
  } finally {
    input?.close();
  }
  if (!answers) return EXIT.failed;

  const entry = `${answers.user}:admin:${await hashPassword(answers.password)}`;
  const others = (existing.VEIL_ADMIN_USERS ?? '')
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && e.split(':')[0] !== answers!.user);
  const replaced = others.length < (existing.VEIL_ADMIN_USERS ?? '').split(/[,\n]/).filter((e) => e.trim() !== '').length;
  writeSetupFile(file, {
    VEIL_ADMIN_USERS: [...others, entry].join(','),
    // Kept when present, so running setup again does not sign everyone out or break scripts.
    VEIL_SESSION_SECRET: existing.VEIL_SESSION_SECRET ?? randomBytes(32).toString('base64url'),
    VEIL_ADMIN_TOKEN: existing.VEIL_ADMIN_TOKEN ?? randomBytes(32).toString('base64url'),
  });

  line(io.stdout, `${replaced ? 'Changed the password of' : 'Added'} the admin "${answers.user}" in ${file} (mode 600).`);
  if (!existing.VEIL_SESSION_SECRET) line(io.stdout, 'Generated the session key and an API token (VEIL_ADMIN_TOKEN) there too.');
  line(io.stdout, `Next: run "veil start" (or "npm start") and sign in at /_veil/login as "${answers.user}".`);
  const shadowed = (['VEIL_ADMIN_USERS', 'VEIL_SESSION_SECRET', 'VEIL_ADMIN_TOKEN'] as const).filter((k) => (process.env[k]?.trim() ?? '') !== '');
  if (shadowed.length > 0) line(io.stderr, `Note: ${shadowed.join(', ')} ${shadowed.length === 1 ? 'is' : 'are'} set in this environment and will be used instead of the file.`);
  return EXIT.ok;
}

async function ask(
  flags: { user?: string; password?: string; 'password-stdin'?: boolean },
  input: SecretInput | undefined,
  io: CommandIO,
): Promise<{ user: string; password: string } | null> {
  let user = flags.user;
  if (user === undefined) {
    if (!input!.terminal) throw new UsageError('there is no terminal to ask on: give --user NAME and --password-stdin');
    const typed = (await input!.readLine('Admin user name [admin]: '))?.trim();
    user = typed || 'admin';
    if (!isUserName(user)) {
      line(io.stderr, 'A user name may use letters, digits, ".", "_", "@" and "-".');
      return null;
    }
  }
  let password = flags.password;
  if (password === undefined) {
    if (!input!.terminal && !flags['password-stdin']) throw new UsageError('there is no terminal to ask on: give --password-stdin and pipe the password in');
    password = (await input!.readLine(`Password for ${user}: `, { hidden: true })) ?? '';
    if (input!.terminal && password !== '') {
      const again = await input!.readLine('Same password again: ', { hidden: true });
      if (again !== password) {
        line(io.stderr, 'The two passwords differ; nothing was written.');
        return null;
      }
    }
  }
  const problem = passwordProblem(password);
  if (problem) {
    line(io.stderr, `${problem} Nothing was written.`);
    return null;
  }
  return { user, password };
}
