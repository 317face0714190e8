import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * MariaDB's own client as the server's root (unix socket by default; MYSQL_HOST, MYSQL_TCP_PORT
 * and MYSQL_PWD are read by the client itself when a machine needs them).
 */
export async function adminSql(sql: string): Promise<string> {
  const { stdout } = await run('mariadb', ['--user=root', '--batch', '--skip-column-names', '--execute', sql]);
  return stdout;
}

export interface Database {
  name: string;
  user: string;
  password: string;
  /** Where WordPress connects: TCP, so the user is granted for 127.0.0.1 only. */
  host: string;
  /** Runs SQL as this database's own user. */
  query(sql: string): Promise<string>;
  drop(): Promise<void>;
}

/** Every run's names start so, with the owning process id: see dropAbandonedDatabases. */
const PREFIX = 'veil_e2e_';

/** A database and a user of its own, with random names, for one test run. */
export async function createDatabase(): Promise<Database> {
  const name = `${PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await adminSql(
    `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;` +
      `CREATE USER '${name}'@'127.0.0.1' IDENTIFIED BY '${password}';` +
      `GRANT ALL PRIVILEGES ON \`${name}\`.* TO '${name}'@'127.0.0.1';`,
  );
  return {
    name,
    user: name,
    password,
    host: '127.0.0.1',
    async query(sql) {
      const { stdout } = await run('mariadb', ['--host=127.0.0.1', `--user=${name}`, `--password=${password}`, '--batch', '--skip-column-names', name, '--execute', sql]);
      return stdout;
    },
    drop: () => dropDatabase(name),
  };
}

async function dropDatabase(name: string): Promise<void> {
  await adminSql(`DROP DATABASE IF EXISTS \`${name}\`; DROP USER IF EXISTS '${name}'@'127.0.0.1';`);
}

/**
 * Databases left by runs of this suite whose process is gone (killed before afterAll): only
 * names with this suite's prefix, and only when their owner is no longer alive.
 */
export async function dropAbandonedDatabases(): Promise<string[]> {
  const names = (await adminSql(`SHOW DATABASES LIKE '${PREFIX.replace(/_/g, '\\_')}%'`)).split('\n').filter(Boolean);
  const dropped: string[] = [];
  for (const name of names) {
    const pid = Number(/^veil_e2e_(\d+)_[0-9a-f]+$/.exec(name)?.[1]);
    if (!pid || processAlive(pid)) continue;
    await dropDatabase(name);
    dropped.push(name);
  }
  return dropped;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
