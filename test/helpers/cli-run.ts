import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const VEIL_BIN = join(process.cwd(), 'bin/veil.js');

export interface Run { status: number | null; stdout: string; stderr: string }

/** Runs bin/veil.js as a script would: arguments, environment, and what is piped to its stdin. */
export function runVeil(args: string[], options: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VEIL_BIN, ...args], { cwd: options.cwd ?? process.cwd(), env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * Runs a command on a real pseudo-terminal (util-linux `script`), as a person at a terminal
 * would: `screen` is everything the terminal showed, echo included.
 */
export class TerminalSession {
  readonly child: ChildProcess;
  screen = '';
  private readonly exited: Promise<number | null>;

  constructor(command: string, env: Record<string, string | undefined> = {}) {
    // -e: script exits with the command's status; /dev/null: no typescript file is kept.
    this.child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => { this.screen += d.toString(); };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Waits until the terminal shows `text` (after `from` characters), or fails after `ms`. */
  async waitFor(text: string | RegExp, ms = 30_000, from = 0): Promise<void> {
    const deadline = Date.now() + ms;
    const seen = () => (typeof text === 'string' ? this.screen.slice(from).includes(text) : text.test(this.screen.slice(from)));
    while (!seen()) {
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${this.screen}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Types keys, as a person would (Enter is "\r" on a terminal). */
  type(keys: string): void {
    this.child.stdin!.write(keys);
  }

  async exit(): Promise<number | null> {
    return this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export function scriptAvailable(): boolean {
  return process.platform === 'linux';
}
