import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface PhpServer {
  /** The last lines php -S wrote. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's PHP as `php -S` on a loopback port, with four workers: WordPress and MediaWiki call
 * themselves over HTTP (installers, loopback checks), which deadlocks a single-worker server. It
 * gets a process group of its own, so stopping it stops the workers too.
 */
export async function servePhp(options: { port: number; docroot: string; router: string; logFile: string; ini: Record<string, string> }): Promise<PhpServer> {
  const { port, docroot, router, logFile } = options;
  const ini = Object.entries({ display_errors: '0', log_errors: '1', memory_limit: '512M', ...options.ini }).flatMap(([key, value]) => ['-d', `${key}=${value}`]);
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn('php', [...ini, '-S', `127.0.0.1:${port}`, '-t', docroot, router], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PHP_CLI_SERVER_WORKERS: '4' },
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n') : '');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child.pid!, 'SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), delay(3000).then(() => false)]);
    if (!stopped) {
      killGroup(child.pid!, 'SIGKILL');
      await exited;
    }
  };
  // Up to 10 s for php -S to listen (a loaded CI machine is slow to start PHP).
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`php -S exited with ${child.exitCode}:\n${log()}`);
    if (await portOpen(port)) return { log, stop };
    await delay(50);
  }
  await stop();
  throw new Error(`php -S did not listen on port ${port}`);
}

/** A PHP single-quoted string literal. */
export function phpString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Every file under `dir`, sorted. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
