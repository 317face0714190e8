import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, describeSettings, loadConfig, type Config } from '../src/config.js';

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'veil-config-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const load = (env: Record<string, string | undefined>): Config => loadConfig(env, { cwd });

/** The problem lines of the ConfigError that loading `env` throws. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const { problems, message } = err as ConfigError;
    for (const line of problems) expect(message.split('\n')).toContain(line);
    return [...problems];
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

const SCRYPT_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA';
const ARGON2_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';

describe('loadConfig defaults', () => {
  it('gives the documented defaults when nothing is set', () => {
    const config = load({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.upstreamUrl).toBeNull();
    expect(config.publicUrl).toBeNull();
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'veil' });
    expect(config.dataDir).toBe(path.join(cwd, '.veil-data'));
    expect(config.storageDir).toBe(path.join(cwd, '.veil-data', 'store'));
    expect(config.s3).toBeNull();
    expect(config.faces).toEqual({
      policy: 'blur',
      minPx: 16,
      model: null,
      redaction: 'blur',
      padding: 0.25,
      minScore: null,
      reviewBand: null,
      uncertainScore: 0.3,
    });
    expect(config.limits).toEqual({
      maxEdge: 1600,
      maxUploadBytes: 50 * 1024 * 1024,
      maxBodyBytes: 2 * 1024 ** 3,
      maxPixels: 50_000_000,
      maxFrames: 500,
      uploadTimeoutMs: 60_000,
    });
    expect(config.workerConcurrency).toBe(1);
    expect(config.keepFilenames).toBe(false);
    expect(config.originalsRetentionDays).toBe(30);
    expect(config.reviewExpiryDays).toBe(14);
    expect(config.admin).toEqual({ users: [], token: null, sessionSecret: null, sessionSecretMissing: true });
    expect(config.alwaysReviewPaths).toEqual([]);
    expect(config.ingestSecret).toBeNull();
    expect(config.logLevel).toBe('info');
    expect(config.trustProxy).toBe(false);
    expect(config.wordpress).toBeNull();
  });

  it('treats empty and blank variables as unset (docker compose writes FOO= )', () => {
    expect(load({ PORT: '', MAX_EDGE: '   ', UPSTREAM_URL: '' })).toEqual(load({}));
  });

  it('is frozen all the way down', () => {
    const config = load({ VEIL_ADMIN_USERS: `ann:admin:${SCRYPT_HASH}` });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
    expect(Object.isFrozen(config.admin.users)).toBe(true);
    expect(Object.isFrozen(config.admin.users[0])).toBe(true);
    expect(() => {
      (config.limits as { maxEdge: number }).maxEdge = 10;
    }).toThrow(TypeError);
  });

  it('shows in its settings table the same defaults it uses', () => {
    const defaults = load({});
    const rows = describeSettings();
    for (const row of rows) {
      expect(row.description.length, row.name).toBeGreaterThan(10);
      if (row.default !== '') expect(load({ [row.name]: row.default }), row.name).toEqual(defaults);
    }
    // Every variable Veil reads is in the table.
    const names = rows.map((row) => row.name);
    for (const name of ['PORT', 'UPSTREAM_URL', 'S3_SSE', 'FACE_REVIEW_BAND', 'MAX_BODY_BYTES', 'VEIL_ADMIN_USERS', 'WORDPRESS_APP_PASSWORD']) {
      expect(names).toContain(name);
    }
  });

  it('prints the table as Markdown from scripts/settings-table.ts', () => {
    const run = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/settings-table.ts'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('| Setting | Default | Meaning |');
    expect(lines).toHaveLength(describeSettings().length + 2);
    expect(lines).toContain(
      '| `MAX_EDGE` | `1600` | Longest edge of a published image, in pixels; larger images are downscaled. |',
    );
    expect(lines.find((line) => line.startsWith('| `UPSTREAM_URL` |'))).toContain('| demo site |');
  });
});

describe('loadConfig accepted forms', () => {
  it('reads sizes in bytes or with K/M/G units (powers of 1024)', () => {
    for (const form of ['52428800', '50MB', '50MiB', '50M', '50m', '50 MiB']) {
      expect(load({ MAX_UPLOAD_BYTES: form }).limits.maxUploadBytes, form).toBe(52_428_800);
    }
    expect(load({ MAX_BODY_BYTES: '1.5G' }).limits.maxBodyBytes).toBe(1.5 * 1024 ** 3);
    expect(load({ MAX_BODY_BYTES: '512KiB' }).limits.maxBodyBytes).toBe(512 * 1024);
  });

  it('reads pixel counts with or without MP', () => {
    expect(load({ MAX_PIXELS: '50MP' }).limits.maxPixels).toBe(50_000_000);
    expect(load({ MAX_PIXELS: '12.5mp' }).limits.maxPixels).toBe(12_500_000);
    expect(load({ MAX_PIXELS: '24000000' }).limits.maxPixels).toBe(24_000_000);
  });

  it('reads booleans as true/false, 1/0 or yes/no', () => {
    for (const [form, value] of [['true', true], ['1', true], ['yes', true], ['YES', true], ['false', false], ['0', false], ['no', false]] as const) {
      expect(load({ TRUST_PROXY: form }).trustProxy, form).toBe(value);
    }
  });

  it('resolves paths against the working folder, and STORAGE_DIR follows DATA_DIR', () => {
    const config = load({ DATA_DIR: 'var/veil' });
    expect(config.dataDir).toBe(path.join(cwd, 'var', 'veil'));
    expect(config.storageDir).toBe(path.join(cwd, 'var', 'veil', 'store'));
    expect(load({ STORAGE_DIR: '/srv/veil-store' }).storageDir).toBe('/srv/veil-store');
  });

  it('accepts a FACE_MODEL file that exists', async () => {
    await writeFile(path.join(cwd, 'faces.onnx'), 'not really a model');
    expect(load({ FACE_MODEL: 'faces.onnx' }).faces.model).toBe(path.join(cwd, 'faces.onnx'));
  });

  it('reads the review band, face scores and review paths', () => {
    const config = load({ FACE_REVIEW_BAND: '0.3, 0.6', FACE_MIN_SCORE: '.45', ALWAYS_REVIEW_PATHS: '/safeguarding/, /wp-admin/upload.php' });
    expect(config.faces.reviewBand).toEqual([0.3, 0.6]);
    expect(config.faces.minScore).toBe(0.45);
    expect(config.alwaysReviewPaths).toEqual(['/safeguarding/', '/wp-admin/upload.php']);
  });

  it('reads admin users separated by commas or newlines, argon2 commas and all', () => {
    const config = load({
      VEIL_ADMIN_USERS: `ann:admin:${ARGON2_HASH},bob:reviewer:${SCRYPT_HASH}\ncat.smith@school.example:reviewer:${ARGON2_HASH}\n`,
    });
    expect(config.admin.users).toEqual([
      { name: 'ann', role: 'admin', hash: ARGON2_HASH },
      { name: 'bob', role: 'reviewer', hash: SCRYPT_HASH },
      { name: 'cat.smith@school.example', role: 'reviewer', hash: ARGON2_HASH },
    ]);
  });

  it('keeps secrets and says when the session secret is missing', () => {
    const sessionSecret = 'x'.repeat(32);
    const config = load({ VEIL_SESSION_SECRET: sessionSecret, VEIL_ADMIN_TOKEN: 't'.repeat(24), INGEST_SECRET: 'i'.repeat(40) });
    expect(config.admin.sessionSecret).toBe(sessionSecret);
    expect(config.admin.sessionSecretMissing).toBe(false);
    expect(config.admin.token).toBe('t'.repeat(24));
    expect(config.ingestSecret).toBe('i'.repeat(40));
  });

  it('normalises URLs and case-insensitive choices', () => {
    const config = load({ UPSTREAM_URL: 'http://cms.school.example:8081', FACE_POLICY: 'HOLD', S3_BUCKET: 'veil', S3_SSE: 'aes256' });
    expect(config.upstreamUrl).toBe('http://cms.school.example:8081/');
    expect(config.faces.policy).toBe('hold');
    expect(config.s3?.encryption).toBe('AES256');
  });
});

describe('loadConfig refusals: one clear line per bad value', () => {
  const cases: Array<[string, string, string]> = [
    ['MAX_EDGE', 'abc', 'MAX_EDGE="abc": expected a whole number of pixels between 64 and 10000'],
    ['MAX_EDGE', '32', 'MAX_EDGE="32": expected a whole number of pixels between 64 and 10000'],
    ['PORT', '70000', 'PORT="70000": expected a whole number between 0 and 65535'],
    ['FACE_MIN_PX', '2', 'FACE_MIN_PX="2": expected a whole number of pixels between 4 and 200'],
    ['FACE_PADDING', '1.5', 'FACE_PADDING="1.5": expected a number between 0 and 1'],
    ['FACE_MIN_SCORE', '-0.1', 'FACE_MIN_SCORE="-0.1": expected a number between 0 and 1'],
    ['FACE_POLICY', 'smudge', 'FACE_POLICY="smudge": expected one of blur, hold, allow'],
    ['FACE_REDACTION', 'emoji', 'FACE_REDACTION="emoji": expected one of blur, pixelate, solid'],
    ['S3_SSE', 'rot13', 'S3_SSE="rot13": expected one of none, AES256, aws:kms'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL="verbose": expected one of debug, info, warn, error'],
    ['KEEP_FILENAMES', 'maybe', 'KEEP_FILENAMES="maybe": expected true or false (1/0 and yes/no also work)'],
    ['UPSTREAM_URL', 'cms.local', 'UPSTREAM_URL="cms.local": expected a URL starting with http:// or https://'],
    ['UPSTREAM_URL', 'ftp://cms.local/', 'UPSTREAM_URL="ftp://cms.local/": expected a URL starting with http:// or https://'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'REDIS_URL="http://127.0.0.1:6379": expected a Redis URL starting with redis:// or rediss://'],
    ['UPLOAD_TIMEOUT_MS', '1.5', 'UPLOAD_TIMEOUT_MS="1.5": expected a whole number of milliseconds between 1 and 86400000'],
    ['WORKER_CONCURRENCY', '0', 'WORKER_CONCURRENCY="0": expected a whole number of jobs between 1 and 64'],
    [
      'MAX_UPLOAD_BYTES',
      'lots',
      'MAX_UPLOAD_BYTES="lots": expected a size between 1KiB and 64GiB, such as 52428800, 50MB, 50MiB or 50M (K, M, G are powers of 1024)',
    ],
    ['MAX_PIXELS', '50 megapixels', 'MAX_PIXELS="50 megapixels": expected a number of pixels between 1 and 1000MP, such as 50000000 or 50MP'],
    [
      'FACE_REVIEW_BAND',
      '0.6,0.3',
      'FACE_REVIEW_BAND="0.6,0.3": expected two scores "low,high" between 0 and 1 with low below high, such as 0.3,0.6',
    ],
    [
      'ALWAYS_REVIEW_PATHS',
      'safeguarding',
      'ALWAYS_REVIEW_PATHS="safeguarding": expected URL paths starting with "/" separated by commas, such as /wp-admin/,/safeguarding/',
    ],
    [
      'S3_BUCKET',
      'My_Bucket',
      'S3_BUCKET="My_Bucket": expected a bucket name of 3 to 63 lowercase letters, digits, "." or "-"',
    ],
  ];

  it.each(cases)('%s=%s', (name, value, line) => {
    // S3_* settings also need a bucket; give one unless the bucket is what is under test.
    const env = name.startsWith('S3_') && name !== 'S3_BUCKET' ? { S3_BUCKET: 'veil', [name]: value } : { [name]: value };
    expect(problemsOf(env)).toEqual([line]);
  });

  it('names a FACE_MODEL path that does not exist', () => {
    const problems = problemsOf({ FACE_MODEL: 'models/missing.onnx' });
    expect(problems).toEqual([
      `FACE_MODEL="models/missing.onnx": expected the path of an ONNX model file; nothing is at ${path.join(cwd, 'models', 'missing.onnx')}`,
    ]);
  });

  it('never repeats a secret in the message', () => {
    const problems = problemsOf({ VEIL_ADMIN_TOKEN: 'hunter2-short', INGEST_SECRET: 'tooshort', VEIL_SESSION_SECRET: 'also short' });
    expect(problems).toEqual([
      'VEIL_ADMIN_TOKEN=(13 characters, hidden): expected at least 24 characters without spaces (a long random string)',
      'VEIL_SESSION_SECRET=(10 characters, hidden): expected at least 32 characters without spaces (a long random string)',
      'INGEST_SECRET=(8 characters, hidden): expected at least 32 characters without spaces (a long random string)',
    ]);
  });

  it('hides a password inside a URL', () => {
    const [line] = problemsOf({ REDIS_URL: 'http://:sup3rs3cret@redis.local:6379' });
    expect(line).not.toContain('sup3rs3cret');
    expect(line).toContain('redis.local');
  });

  it('points at the bad admin user entry without showing any hash', () => {
    const problems = problemsOf({
      VEIL_ADMIN_USERS: [
        `ann:admin:${ARGON2_HASH}`,
        `bob:owner:${SCRYPT_HASH}`,
        'cat:reviewer:plaintext-password',
        `ann:reviewer:${SCRYPT_HASH}`,
        'just-a-password',
      ].join('\n'),
    });
    expect(problems).toEqual([
      'VEIL_ADMIN_USERS entry 2 ("bob:owner:…"): expected the role reviewer or admin between the first and second ":"',
      'VEIL_ADMIN_USERS entry 3 ("cat:reviewer:…"): expected a password hash starting with scrypt$ or $argon2 after the second ":"',
      'VEIL_ADMIN_USERS entry 4 ("ann:reviewer:…"): expected each user name once; "ann" appears earlier too',
      'VEIL_ADMIN_USERS entry 5: expected name:role:hash',
    ]);
    for (const secret of ['plaintext-password', 'just-a-password', SCRYPT_HASH.slice(7), ARGON2_HASH.slice(10)]) {
      expect(problems.join('\n')).not.toContain(secret);
    }
  });

  it('lists several bad values as several lines of one error', () => {
    const problems = problemsOf({ PORT: 'eighty', MAX_EDGE: '1', LOG_LEVEL: 'loud', TRUST_PROXY: 'perhaps' });
    expect(problems).toHaveLength(4);
    expect(problems.map((line) => line.split('=')[0])).toEqual(['PORT', 'LOG_LEVEL', 'MAX_EDGE', 'TRUST_PROXY'].sort(byTableOrder));
    let message = '';
    try {
      load({ PORT: 'eighty', MAX_EDGE: '1', LOG_LEVEL: 'loud', TRUST_PROXY: 'perhaps' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')).toEqual(["Veil's settings have 4 problems:", ...problems]);
  });
});

const byTableOrder = (a: string, b: string): number => {
  const names = describeSettings().map((row) => row.name);
  return names.indexOf(a) - names.indexOf(b);
};

describe('loadConfig S3 settings', () => {
  it('uses S3 with an endpoint and a bucket', () => {
    const config = load({
      S3_ENDPOINT: 'http://minio:9000',
      S3_BUCKET: 'veil',
      S3_ACCESS_KEY_ID: 'veil',
      S3_SECRET_ACCESS_KEY: 'minio-secret',
      S3_FORCE_PATH_STYLE: 'false',
      S3_SSE: 'aws:kms',
      S3_REGION: 'eu-west-2',
    });
    expect(config.s3).toEqual({
      endpoint: 'http://minio:9000/',
      bucket: 'veil',
      region: 'eu-west-2',
      accessKeyId: 'veil',
      secretAccessKey: 'minio-secret',
      forcePathStyle: false,
      encryption: 'aws:kms',
    });
  });

  it('takes a bucket alone to mean AWS itself, in S3_REGION', () => {
    const config = load({ S3_BUCKET: 'school-veil', S3_REGION: 'eu-west-2' });
    expect(config.s3).toMatchObject({ endpoint: null, bucket: 'school-veil', region: 'eu-west-2', accessKeyId: null, encryption: null });
  });

  it('says the bucket is missing when only S3_ENDPOINT is set', () => {
    expect(problemsOf({ S3_ENDPOINT: 'http://minio:9000' })).toEqual([
      'S3_BUCKET is missing: S3_ENDPOINT is set, so Veil needs the bucket name too (or unset it to use the local folder store)',
    ]);
  });

  it('names every S3 setting that is set without a bucket', () => {
    expect(problemsOf({ S3_ENDPOINT: 'http://minio:9000', S3_SSE: 'AES256' })).toEqual([
      'S3_BUCKET is missing: S3_ENDPOINT and S3_SSE are set, so Veil needs the bucket name too (or unset them to use the local folder store)',
    ]);
  });

  it('wants both S3 keys or neither', () => {
    expect(problemsOf({ S3_BUCKET: 'veil', S3_ACCESS_KEY_ID: 'veil' })).toEqual([
      "S3_SECRET_ACCESS_KEY is missing: S3_ACCESS_KEY_ID is set; set both S3 keys, or neither to use the SDK's usual credentials",
    ]);
    const [line] = problemsOf({ S3_BUCKET: 'veil', S3_SECRET_ACCESS_KEY: 'do-not-print-me' });
    expect(line).toMatch(/^S3_ACCESS_KEY_ID is missing/);
    expect(line).not.toContain('do-not-print-me');
  });
});

describe('loadConfig WordPress settings', () => {
  it('publishes to WordPress only with all three settings', () => {
    const config = load({
      WORDPRESS_URL: 'https://school.example/',
      WORDPRESS_USER: 'veil-bot',
      WORDPRESS_APP_PASSWORD: 'abcd efgh ijkl mnop qrst uvwx',
    });
    expect(config.wordpress).toEqual({ url: 'https://school.example/', user: 'veil-bot', appPassword: 'abcd efgh ijkl mnop qrst uvwx' });
  });

  it('names what is missing when only some are set', () => {
    expect(problemsOf({ WORDPRESS_URL: 'https://school.example/' })).toEqual([
      'WORDPRESS_USER and WORDPRESS_APP_PASSWORD are missing: WORDPRESS_URL is set; Veil needs all three to publish approved photos to WordPress (or none)',
    ]);
    expect(problemsOf({ WORDPRESS_URL: 'https://school.example/', WORDPRESS_USER: 'veil-bot' })).toEqual([
      'WORDPRESS_APP_PASSWORD is missing: WORDPRESS_URL and WORDPRESS_USER are set; Veil needs all three to publish approved photos to WordPress (or none)',
    ]);
  });
});

describe('defaults agree with the code that uses them', () => {
  it('MAX_EDGE, FACE_MIN_PX, FACE_PADDING and the limits match the pipeline and CLI defaults', async () => {
    const { DEFAULT_MAX_EDGE, DEFAULT_FACE_MIN_PX } = await import('../src/pipeline/faces.js');
    const { DEFAULT_FACE_PADDING } = await import('../src/pipeline/face-options.js');
    const { DEFAULT_LIMITS } = await import('../src/pipeline/limits.js');
    const config = loadConfig({});
    expect(config.limits.maxEdge).toBe(DEFAULT_MAX_EDGE);
    expect(config.faces.minPx).toBe(DEFAULT_FACE_MIN_PX);
    expect(config.faces.padding).toBe(DEFAULT_FACE_PADDING);
    expect({ maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxPixels, maxFrames: config.limits.maxFrames }).toEqual(DEFAULT_LIMITS);
  });
});
