import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../helpers/redis-server.js';
import { listFiles, phpString, servePhp, type PhpServer } from './php-server.js';

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
  // Debian's php.ini defaults, said out loud: the reason MediaWiki's clients send big files in chunks.
  return servePhp({ port, docroot: MEDIAWIKI_DIR, router, logFile: join(dir, 'php-server.log'), ini: { upload_max_filesize: '2M', post_max_size: '8M' } });
}

