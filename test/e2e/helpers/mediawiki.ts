import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../helpers/redis-server.js';

/*
 * Debian's MediaWiki package, served by PHP's built-in server, on an SQLite database of its own.
 *
 * Nothing of the machine's own wiki is touched: /usr/share/mediawiki/LocalSettings.php points at
 * /var/lib/mediawiki, so each run installs with `maintenance/install.php --confpath <temp>` and a
 * php -S router defines MW_CONFIG_FILE (which MediaWiki reads before LocalSettings.php) to the
 * run's own settings. Uploads land in the run's temp folder and are served from /veil-images/.
 * PHP's upload limits stay at Debian's defaults (2 MB a file, 8 MB a request): a 10 MB photo then
 * reaches the wiki only in chunks, as it does on a real school wiki.
 */

const run = promisify(execFile);

export const MEDIAWIKI_DIR = '/usr/share/mediawiki';
export const MEDIAWIKI_PACKAGES = 'mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml';

/** Why this machine cannot run the suite, or undefined when it can. */
export function mediawikiMissing(): string | undefined {
  if (!existsSync(join(MEDIAWIKI_DIR, 'api.php'))) return `Debian's MediaWiki is not installed (${MEDIAWIKI_DIR}); install: ${MEDIAWIKI_PACKAGES}`;
  const php = spawnSync('php', ['-r', 'echo json_encode([extension_loaded("pdo_sqlite"), extension_loaded("intl"), extension_loaded("mbstring"), extension_loaded("xml")]);'], { encoding: 'utf8' });
  if (php.status !== 0) return `php is not installed; install: ${MEDIAWIKI_PACKAGES}`;
  const [sqlite, intl, mbstring, xml] = JSON.parse(php.stdout) as boolean[];
  if (!sqlite) return 'php has no pdo_sqlite extension; install php-sqlite3';
  if (!intl) return 'php has no intl extension; install php-intl';
  if (!mbstring) return 'php has no mbstring extension; install php-mbstring';
  if (!xml) return 'php has no xml extension; install php-xml';
  return undefined;
}

export interface MediaWikiSite {
  /** PHP's built-in server: straight to the wiki. */
  port: number;
  url: string;
  admin: { name: string; password: string };
  imagesDir: string;
  /** Every file under the wiki's upload folder (originals, not thumbnails or the stash). */
  uploadedFiles(): string[];
  /** The last lines php -S wrote, for failure messages. */
  serverLog(): string;
  stop(): Promise<void>;
}

export async function startMediaWiki(): Promise<MediaWikiSite> {
  const dir = join(tmpdir(), `veil-mw-${process.pid}-${randomBytes(4).toString('hex')}`);
  const dbDir = join(dir, 'db');
  const imagesDir = join(dir, 'images');
  mkdirSync(dbDir, { recursive: true });
  mkdirSync(imagesDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const admin = { name: 'VeilAdmin', password: `Veil-${randomBytes(12).toString('hex')}` };
  const settings = join(dir, 'LocalSettings.php');
  let server: PhpServer | undefined;
  try {
    await run(
      'php',
      [
        'maintenance/install.php',
        '--dbtype', 'sqlite', '--dbpath', dbDir, '--dbname', 'veilwiki',
        '--server', url, '--scriptpath', '', '--confpath', dir, '--lang', 'en',
        '--pass', admin.password,
        'Veil Test Wiki', admin.name,
      ],
      { cwd: MEDIAWIKI_DIR, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MW_CONFIG_FILE: settings }, maxBuffer: 16 * 1024 * 1024 },
    );
    appendFileSync(settings, extraSettings(imagesDir));
    server = await startPhpServer(port, dir, settings, imagesDir);
    const running = server;
    return {
      port,
      url,
      admin,
      imagesDir,
      uploadedFiles: () => listFiles(imagesDir).filter((file) => !/\/(?:thumb|temp|archive|deleted|lockdir)\//.test(file.slice(imagesDir.length))),
      serverLog: running.log,
      async stop() {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function extraSettings(imagesDir: string): string {
  return `
/* Added by Veil's end-to-end suite for one run. */
$wgEnableUploads = true;
$wgUploadDirectory = ${phpString(imagesDir)};
$wgUploadPath = '/veil-images';
$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'webp' ];
$wgUseImageMagick = false;
$wgGenerateThumbnailOnParse = false;
$wgEnableAsyncUploads = false;
$wgJobRunRate = 0;
$wgShowExceptionDetails = true;
`;
}

interface PhpServer {
  log(): string;
  stop(): Promise<void>;
}

async function startPhpServer(port: number, dir: string, settings: string, imagesDir: string): Promise<PhpServer> {
  const router = join(dir, 'router.php');
  writeFileSync(
    router,
    `<?php
define('MW_CONFIG_FILE', ${phpString(settings)});
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if (strpos($path, '/veil-images/') === 0) {
  $file = realpath(${phpString(imagesDir)} . substr($path, strlen('/veil-images')));
  if ($file === false || strpos($file, ${phpString(imagesDir)}) !== 0 || !is_file($file)) { http_response_code(404); return true; }
  header('Content-Type: ' . mime_content_type($file));
  readfile($file);
  return true;
}
return false;
`,
  );
  const logFile = join(dir, 'php-server.log');
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'php',
    [
      '-d', 'display_errors=0',
      '-d', 'log_errors=1',
      // Debian's php.ini defaults, said out loud: the reason MediaWiki's clients send big files in chunks.
      '-d', 'upload_max_filesize=2M',
      '-d', 'post_max_size=8M',
      '-d', 'memory_limit=512M',
      '-S', `127.0.0.1:${port}`,
      '-t', MEDIAWIKI_DIR,
      router,
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PHP_CLI_SERVER_WORKERS: '4' } },
  );
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
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`php -S exited with ${child.exitCode}:\n${log()}`);
    if (await portOpen(port)) return { log, stop };
    await delay(50);
  }
  await stop();
  throw new Error(`php -S did not listen on port ${port}`);
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

function phpString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
