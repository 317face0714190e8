/**
 * Reading a password the way people expect: typed on a terminal without echo, or piped in by a
 * script (`printf '%s\n' "$PW" | veil hash-password`). The terminal path works in raw mode so no
 * character is ever shown; the pipe path reads lines.
 */

export class InputCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export interface SecretInput {
  /** True when input comes from a person at a terminal (prompts are shown, echo is off). */
  readonly terminal: boolean;
  /** The next line: on a terminal, typed without echo after `prompt`. Null at end of input. */
  readLine(prompt: string, options?: { hidden?: boolean }): Promise<string | null>;
  close(): void;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/** Lines from stdin, kept across calls so a pipe can answer several questions in order. */
export function secretInput(input: NodeJS.ReadStream = process.stdin, prompts: NodeJS.WritableStream = process.stderr): SecretInput {
  const terminal = Boolean(input.isTTY && typeof input.setRawMode === 'function');
  let buffered = '';
  let ended = false;
  let waiter: (() => void) | undefined;
  const onData = (chunk: Buffer | string) => {
    buffered += chunk.toString();
    waiter?.();
  };
  const onEnd = () => {
    ended = true;
    waiter?.();
  };
  input.setEncoding('utf8');
  input.on('data', onData);
  input.on('end', onEnd);
  input.pause();

  const nextChunk = () => new Promise<void>((resolve) => {
    waiter = () => {
      waiter = undefined;
      resolve();
    };
    input.resume();
  }).finally(() => input.pause());

  async function readPiped(): Promise<string | null> {
    for (;;) {
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        const text = buffered.slice(0, newline).replace(/\r$/, '');
        buffered = buffered.slice(newline + 1);
        return text;
      }
      if (ended) {
        if (buffered === '') return null;
        const text = buffered;
        buffered = '';
        return text;
      }
      await nextChunk();
    }
  }

  async function readTyped(prompt: string, hidden: boolean): Promise<string | null> {
    prompts.write(prompt);
    input.setRawMode(true);
    let typed = '';
    try {
      for (;;) {
        while (buffered.length > 0) {
          const ch = buffered[0]!;
          buffered = buffered.slice(1);
          if (ch === '\r' || ch === '\n') {
            prompts.write('\n');
            return typed;
          }
          if (ch === CTRL_C) {
            prompts.write('\n');
            throw new InputCancelled();
          }
          if (ch === CTRL_D) {
            prompts.write('\n');
            return typed === '' ? null : typed;
          }
          if (BACKSPACE.has(ch)) {
            if (typed.length > 0) {
              typed = typed.slice(0, -1);
              if (!hidden) prompts.write('\b \b');
            }
            continue;
          }
          if (ch === '\u001b') {
            buffered = buffered.replace(/^[[O][0-9;]*[@-~]?/, ''); // an arrow or function key: not part of a password
            continue;
          }
          if (ch < ' ') continue; // other control characters (arrows arrive as ESC sequences) are not part of a password
          typed += ch;
          if (!hidden) prompts.write(ch);
        }
        if (ended) return typed === '' ? null : typed;
        await nextChunk();
      }
    } finally {
      input.setRawMode(false);
    }
  }

  return {
    terminal,
    readLine: (prompt, options = {}) => (terminal ? readTyped(prompt, options.hidden ?? false) : readPiped()),
    close() {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      if (terminal) input.unref?.();
    },
  };
}
