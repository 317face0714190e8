import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/review/index.js';
import { runVeil, scriptAvailable, TerminalSession, VEIL_BIN } from './helpers/cli-run.js';

const PASSWORD = 'correct horse battery staple';

describe('veil hash-password from a pipe', () => {
  it('reads the first line of stdin and prints an entry that checks against that password', async () => {
    const run = await runVeil(['hash-password', 'dsl', 'admin'], { stdin: `${PASSWORD}\n` });
    expect(run.status).toBe(0);
    const entry = run.stdout.trim();
    expect(entry).toMatch(/^dsl:admin:scrypt\$/);
    const hash = entry.split(':').slice(2).join(':');
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, hash)).toBe(false);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('takes a last line without a newline, and refuses a short or missing password', async () => {
    const bare = await runVeil(['hash-password'], { stdin: PASSWORD });
    expect(bare.status).toBe(0);
    expect(await verifyPassword(PASSWORD, bare.stdout.trim())).toBe(true);

    const short = await runVeil(['hash-password'], { stdin: 'short\n' });
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/at least 12 characters/);
    expect(short.stdout).toBe('');

    const none = await runVeil(['hash-password'], { stdin: '' });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/No password was given/);
  });
});

describe.skipIf(!scriptAvailable())('veil hash-password on a terminal', () => {
  it('asks twice without showing what is typed', async () => {
    const term = new TerminalSession(`${process.execPath} ${VEIL_BIN} hash-password dsl admin`);
    try {
      await term.waitFor('Password: ');
      term.type(`${PASSWORD}\r`);
      await term.waitFor('Same password again: ');
      term.type(`${PASSWORD}\r`);
      expect(await term.exit()).toBe(0);
      expect(term.screen).toMatch(/dsl:admin:scrypt\$/);
      // The terminal echoes what is typed unless the program turns echo off: nothing of it shows.
      expect(term.screen).not.toContain('horse');
      const hash = /dsl:admin:(scrypt\$\S+)/.exec(term.screen)![1]!;
      expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    } finally {
      term.kill();
    }
  });

  it('stops without a hash when the two passwords differ, and on Ctrl-C', async () => {
    const differ = new TerminalSession(`${process.execPath} ${VEIL_BIN} hash-password`);
    try {
      await differ.waitFor('Password: ');
      differ.type(`${PASSWORD}\r`);
      await differ.waitFor('again: ');
      differ.type('something else entirely\r');
      expect(await differ.exit()).toBe(1);
      expect(differ.screen).toMatch(/passwords differ/);
      expect(differ.screen).not.toMatch(/scrypt\$/);
    } finally {
      differ.kill();
    }
    const cancelled = new TerminalSession(`${process.execPath} ${VEIL_BIN} hash-password`);
    try {
      await cancelled.waitFor('Password: ');
      cancelled.type('half a pass\u0003');
      expect(await cancelled.exit()).toBe(1);
      expect(cancelled.screen).not.toMatch(/scrypt\$|half/);
    } finally {
      cancelled.kill();
    }
  });
});
