import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/redis-server.js';

/*
 * Debian's DokuWiki, served by PHP's built-in server from a private copy: the package keeps its
 * configuration in /etc/dokuwiki and its pages in /var/lib/dokuwiki, which a test must not touch.
 * The copy drops Debian's inc/preload.php (which points at /etc) so DokuWiki reads conf/ and data/
 * beside its own files, both in a temp folder. ACLs are off: every visitor may upload, which is
 * what DokuWiki does for `useacl = 0`, and no security token is asked for without a signed-in user.
 */

export const DOKUWIKI_DIR = '/usr/share/dokuwiki';
export const DOKUWIKI_PACKAGES = 'dokuwiki php-cli';

export function dokuwikiMissing(): string | undefined {
  if (!existsSync(join(DOKUWIKI_DIR, 'doku.php'))) return `Debian's DokuWiki is not installed (${DOKUWIKI_DIR}); install: ${DOKUWIKI_PACKAGES}`;
  return undefined;
}

export interface DokuWiki {
  url: string;
  port: number;
  /** Where uploaded media land (namespace folders inside). */
  mediaDir: string;
  serverLog(): string;
  /** Every file under the media folder, relative to it. */
  mediaFiles(): string[];
  stop(): Promise<void>;
}

const DATA_DIRS = ['pages', 'meta', 'media', 'media_meta', 'media_attic', 'attic', 'cache', 'index', 'locks', 'tmp', 'log'];

export async function startDokuWiki(): Promise<DokuWiki> {
  const root = mkdtempSync(join(tmpdir(), 'veil-dokuwiki-'));
  const wiki = join(root, 'wiki');
  cpSync(DOKUWIKI_DIR, wiki, { recursive: true, dereference: true, filter: (src) => !['/conf', '/data', '/inc/preload.php', '/.htaccess'].some((skip) => src === DOKUWIKI_DIR + skip) });
  const conf = join(wiki, 'conf');
  mkdirSync(conf);
  for (const name of readdirSync('/etc/dokuwiki')) {
    const src = join('/etc/dokuwiki', name);
    if (name.endsWith('.dist') || name === 'local.php' || !statSafe(src)?.isFile()) continue;
    cpSync(src, join(conf, name));
  }
  cpSync('/etc/dokuwiki/acl.auth.php.dist', join(conf, 'acl.auth.php'));
  cpSync('/etc/dokuwiki/users.auth.php.dist', join(conf, 'users.auth.php'));
  const data = join(root, 'data');
  for (const dir of DATA_DIRS) mkdirSync(join(data, dir), { recursive: true });
  writeFileSync(join(conf, 'local.php'), `<?php\n$conf['title'] = 'Veil test wiki';\n$conf['savedir'] = ${JSON.stringify(data)};\n$conf['useacl'] = 0;\n$conf['userewrite'] = 0;\n`);

  const port = await freePort();
  let log = '';
  const php: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', wiki], { cwd: wiki, stdio: ['ignore', 'pipe', 'pipe'] });
  php.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  php.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/doku.php`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (php.exitCode !== null || Date.now() > deadline) throw new Error(`DokuWiki did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const mediaDir = join(data, 'media');
  return {
    url,
    port,
    mediaDir,
    serverLog: () => log.split('\n').slice(-40).join('\n'),
    mediaFiles: () => listFiles(mediaDir),
    async stop() {
      if (php.exitCode === null) {
        const gone = new Promise((r) => php.once('exit', r));
        php.kill('SIGTERM');
        await gone;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function statSafe(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}
