import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../helpers/redis-server.js';
import { listFiles, phpString, servePhp, type PhpServer } from './php-server.js';
import { createDatabase, dropAbandonedDatabases, processAlive, type Database } from './mariadb.js';

/*
 * Debian's WordPress package, served by PHP's built-in server, on a database of its own.
 *
 * Debian's /usr/share/wordpress/wp-config.php loads /etc/wordpress/config-<name>.php, where <name>
 * is $_SERVER['WORDPRESS_CONFIG'] when set, else the HTTP Host. Each run writes its own
 * config-veil-e2e-<pid>-<random>.php and a php -S router script that sets that name (php -S
 * does not pass its environment into $_SERVER), so the Host (Veil's port or PHP's) does not matter
 * and no config of the machine's own is touched. WP_CONTENT_DIR points into a temp folder, so
 * uploads land there.
 */

const run = promisify(execFile);

export const WORDPRESS_DIR = '/usr/share/wordpress';
const CONFIG_DIR = '/etc/wordpress';
/**
 * What the suite needs from Debian, besides a running MariaDB. `wordpress` depends on a web server
 * and an Apache PHP module; php -S needs neither, so CI can keep apache2 out:
 * `apt-get install --no-install-recommends wordpress php-cli php-cgi php-mysql php-imagick micro-httpd apache2- apache2-bin- libapache2-mod-php8.2- php8.2-fpm-`
 */
export const DEBIAN_PACKAGES = 'wordpress php-cli php-mysql php-imagick mariadb-client';

/** Why this machine cannot run the suite, or undefined when it can. */
export function wordpressMissing(): string | undefined {
  if (!existsSync(join(WORDPRESS_DIR, 'wp-load.php'))) return `Debian's WordPress is not installed (${WORDPRESS_DIR}); install: ${DEBIAN_PACKAGES}`;
  const php = spawnSync('php', ['-r', 'echo json_encode([extension_loaded("mysqli"), extension_loaded("imagick")]);'], { encoding: 'utf8' });
  if (php.status !== 0) return `php is not installed; install: ${DEBIAN_PACKAGES}`;
  const [mysqli, imagick] = JSON.parse(php.stdout) as [boolean, boolean];
  if (!mysqli) return 'php has no mysqli extension; install php-mysql';
  // With GD instead, WordPress drops EXIF from generated sizes itself and the direct-upload evidence would mean nothing.
  if (!imagick) return 'php has no imagick extension; install php-imagick';
  if (spawnSync('mariadb', ['--version'], { stdio: 'ignore' }).status !== 0) return 'the mariadb client is not installed; install mariadb-client';
  return undefined;
}

export interface StoredFile {
  /** 'full' for the attached file, a registered size name, or 'original_image' when WordPress scaled a big upload. */
  size: string;
  path: string;
  width?: number;
  height?: number;
}

export interface WordPressSite {
  /** PHP's built-in server: straight to WordPress. */
  port: number;
  url: string;
  admin: { login: string; password: string; applicationPassword: string };
  uploadsDir: string;
  database: Database;
  /** siteurl and home: WordPress builds its links and its cookie names from them. */
  setSiteUrl(url: string): Promise<void>;
  attachmentCount(): Promise<number>;
  /** What WordPress stored for an attachment: its file and every generated size, as its metadata says. */
  storedFiles(attachmentId: number): Promise<StoredFile[]>;
  /** What WordPress read from the file's EXIF/IPTC into its database (`image_meta`: camera, date, caption...). */
  imageMeta(attachmentId: number): Promise<Record<string, unknown>>;
  /** Every file under the uploads folder. */
  uploadedFiles(): string[];
  /** Runs PHP inside WordPress (wp-load.php): `code` is a function body receiving `$args`; its return value comes back as JSON. */
  php<T>(code: string, args?: unknown): Promise<T>;
  /** The last lines php -S wrote (its request log and PHP errors), for failure messages. */
  serverLog(): string;
  stop(): Promise<void>;
}

const RESULT_MARKER = '__veil_e2e_result__';

export async function startWordPress(): Promise<WordPressSite> {
  await removeAbandonedRuns();
  const runId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const configName = `veil-e2e-${runId}`;
  const configFile = join(CONFIG_DIR, `config-${configName}.php`);
  const dir = join(tmpdir(), `veil-wp-${runId}`);
  const contentDir = join(dir, 'wp-content');
  mkdirSync(contentDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const admin = { login: 'veil-admin', password: randomBytes(12).toString('hex'), applicationPassword: '' };

  let database: Database | undefined;
  let server: PhpServer | undefined;
  const cleanUp = async () => {
    await server?.stop();
    await database?.drop();
    rmSync(configFile, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    database = await createDatabase();
    writeFileSync(configFile, wordpressConfig(database, contentDir));
    server = await startPhpServer(port, configName, dir);

    let scripts = 0;
    const php = async <T>(code: string, args: unknown = null, prelude = ''): Promise<T> => {
      const script = join(dir, `run-${++scripts}.php`);
      writeFileSync(script, phpScript(configName, port, code, prelude));
      try {
        const { stdout } = await run('php', ['-d', 'display_errors=stderr', script, JSON.stringify(args)], { maxBuffer: 16 * 1024 * 1024 });
        const at = stdout.lastIndexOf(RESULT_MARKER);
        if (at === -1) throw new Error(`PHP printed no result:\n${stdout.slice(-2000)}`);
        return JSON.parse(stdout.slice(at + RESULT_MARKER.length)) as T;
      } finally {
        rmSync(script, { force: true });
      }
    };

    admin.applicationPassword = await installWordPress(php, url, admin);
    const site: WordPressSite = {
      port,
      url,
      admin,
      uploadsDir: join(contentDir, 'uploads'),
      database,
      async setSiteUrl(siteUrl) {
        await php("update_option('siteurl', $args); update_option('home', $args); return get_option('siteurl');", siteUrl);
      },
      async attachmentCount() {
        return Number((await database!.query("SELECT COUNT(*) FROM wp_posts WHERE post_type = 'attachment'")).trim());
      },
      storedFiles: (id) => php<StoredFile[]>(STORED_FILES_PHP, id),
      imageMeta: (id) => php<Record<string, unknown>>("return wp_get_attachment_metadata($args)['image_meta'] ?? array();", id),
      uploadedFiles: () => listFiles(join(contentDir, 'uploads')),
      php: (code, args) => php(code, args),
      serverLog: () => server!.log(),
      stop: cleanUp,
    };
    return site;
  } catch (err) {
    const log = server?.log() ?? '';
    await cleanUp();
    throw new Error(`WordPress did not start: ${(err as Error).message}${log ? `\nphp -S said:\n${log}` : ''}`, { cause: err });
  }
}

function wordpressConfig(db: Database, contentDir: string): string {
  const salt = () => randomBytes(32).toString('hex');
  const keys = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'];
  return `<?php
/* Written by Veil's end-to-end suite for one run; removed when the run ends. */
define('DB_NAME', ${phpString(db.name)});
define('DB_USER', ${phpString(db.user)});
define('DB_PASSWORD', ${phpString(db.password)});
define('DB_HOST', ${phpString(db.host)});
define('DB_CHARSET', 'utf8mb4');
define('WP_CONTENT_DIR', ${phpString(contentDir)});
${keys.map((k) => `define('${k}', '${salt()}');`).join('\n')}
/* Application passwords need HTTPS unless the site says it is a local one. */
define('WP_ENVIRONMENT_TYPE', 'local');
/* No cron requests racing the uploads (or the teardown); uploads do not depend on cron. */
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('FS_METHOD', 'direct');
$table_prefix = 'wp_';
`;
}

function phpScript(configName: string, port: number, code: string, prelude: string): string {
  return `<?php
$_SERVER['WORDPRESS_CONFIG'] = ${phpString(configName)};
$_SERVER['HTTP_HOST'] = '127.0.0.1:${port}';
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = '${port}';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
${prelude}
require ${phpString(join(WORDPRESS_DIR, 'wp-load.php'))};
$veil_result = (function ($args) {
${code}
})(json_decode($argv[1], true));
echo "\\n${RESULT_MARKER}" . json_encode($veil_result);
`;
}

/** wp_install() as the installer page runs it, then pretty permalinks and an application password. */
async function installWordPress(
  php: <T>(code: string, args?: unknown, prelude?: string) => Promise<T>,
  url: string,
  admin: { login: string; password: string },
): Promise<string> {
  const result = await php<{ user: number; appPassword: string | null; error?: string }>(
    `
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$installed = wp_install('Veil end-to-end', $args['login'], 'admin@example.invalid', false, '', wp_slash($args['password']));
update_option('siteurl', $args['url']);
update_option('home', $args['url']);
update_option('permalink_structure', '/%postname%/');
$created = WP_Application_Passwords::create_new_application_password($installed['user_id'], array('name' => 'veil-e2e'));
if (is_wp_error($created)) return array('user' => $installed['user_id'], 'appPassword' => null, 'error' => $created->get_error_message());
return array('user' => $installed['user_id'], 'appPassword' => $created[0]);
`,
    { ...admin, url },
    // No mail to send from a test machine; the function is pluggable for exactly this.
    "define('WP_INSTALLING', true);\nfunction wp_new_blog_notification() {}",
  );
  if (!result.appPassword) throw new Error(`no application password: ${result.error ?? 'unknown reason'}`);
  return result.appPassword;
}

const STORED_FILES_PHP = `
$file = get_attached_file($args);
if (!$file) return array();
$meta = wp_get_attachment_metadata($args);
$dir = dirname($file);
$files = array(array('size' => 'full', 'path' => $file, 'width' => $meta['width'] ?? null, 'height' => $meta['height'] ?? null));
foreach ($meta['sizes'] ?? array() as $name => $size) {
  $files[] = array('size' => $name, 'path' => $dir . '/' . $size['file'], 'width' => $size['width'], 'height' => $size['height']);
}
if (!empty($meta['original_image'])) $files[] = array('size' => 'original_image', 'path' => $dir . '/' . $meta['original_image']);
return $files;
`;

/**
 * php -S with four workers: WordPress calls itself over HTTP (installer, loopback checks), which
 * deadlocks a single-worker server. It gets a process group of its own, so stopping it stops
 * the workers too.
 */
async function startPhpServer(port: number, configName: string, dir: string): Promise<PhpServer> {
  const router = join(dir, 'router.php');
  // Declining (return false) lets php -S serve the request as usual, with $_SERVER as set here.
  writeFileSync(router, `<?php\n$_SERVER['WORDPRESS_CONFIG'] = ${phpString(configName)};\nreturn false;\n`);
  return servePhp({ port, docroot: WORDPRESS_DIR, router, logFile: join(dir, 'php-server.log'), ini: { upload_max_filesize: '64M', post_max_size: '64M' } });
}

/** Config files and temp folders left by runs whose process is gone, and their databases. */
async function removeAbandonedRuns(): Promise<void> {
  const abandoned = (name: string, pattern: RegExp): boolean => {
    const pid = Number(pattern.exec(name)?.[1]);
    return pid > 0 && !processAlive(pid);
  };
  for (const name of existsSync(CONFIG_DIR) ? readdirSync(CONFIG_DIR) : []) {
    if (abandoned(name, /^config-veil-e2e-(\d+)-[0-9a-f]+\.php$/)) rmSync(join(CONFIG_DIR, name), { force: true });
  }
  for (const name of readdirSync(tmpdir())) {
    if (abandoned(name, /^veil-wp-(\d+)-[0-9a-f]+$/)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  await dropAbandonedDatabases();
}
