import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { VeilError } from '../src/pipeline/errors.js';
import {
  KEY_PREFIXES,
  LocalObjectStore,
  S3ObjectStore,
  createObjectStore,
  describeS3,
  type ObjectInfo,
  type ObjectStore,
} from '../src/storage/index.js';
import { startS3Server, type S3TestServer } from './helpers/s3rver.js';

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Resolves to the VeilError a promise rejects with; fails the test if it resolves. */
async function veilErrorOf(promise: Promise<unknown>): Promise<VeilError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VeilError);
  return err as VeilError;
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Keys an attacker might smuggle in as an item id or file name. */
const HOSTILE_KEYS = [
  '../escape.txt',
  '../../etc/passwd',
  'originals/../../escape.txt',
  '/etc/passwd',
  'originals//x',
  'originals/./x',
  'originals/x/',
  '.',
  '..',
  '',
  'originals\\..\\escape.txt',
  'originals/x\0.jpg',
  'originals/%2e%2e/x',
  'originals/ünïcode.jpg',
  'originals/with space.jpg',
  `originals/${'x'.repeat(600)}`,
];

interface Backend {
  name: string;
  start(): Promise<{ store: ObjectStore; secrets: string[]; stop(): Promise<void> }>;
}

// A small page size makes the S3 side page many times over a few dozen keys.
const PAGE_SIZE = 7;

const backends: Backend[] = [
  {
    name: 'local folder',
    async start() {
      const root = await mkdtemp(path.join(tmpdir(), 'veil-store-'));
      return {
        store: new LocalObjectStore(path.join(root, 'store')),
        secrets: [],
        stop: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'S3 (s3rver)',
    async start() {
      const server = await startS3Server();
      const store = new S3ObjectStore({ ...server, pageSize: PAGE_SIZE });
      return {
        store,
        secrets: [server.secretAccessKey],
        async stop() {
          store.destroy();
          await server.stop();
        },
      };
    },
  },
];

describe.each(backends)('ObjectStore contract: $name', (backend) => {
  let store: ObjectStore;
  let stop: () => Promise<void>;
  let secrets: string[];

  beforeAll(async () => {
    ({ store, stop, secrets } = await backend.start());
  });
  afterAll(async () => {
    await stop?.();
  });

  it('is usable, and describes itself without secrets', async () => {
    await expect(store.check()).resolves.toBeUndefined();
    const description = store.describe();
    expect(description.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(description).not.toContain(secret);
  });

  it('round-trips bytes, content type and metadata (including non-ASCII text)', async () => {
    const key = `${KEY_PREFIXES.sanitised}round-trip/photo.jpg`;
    const body = new TextEncoder().encode('not really a jpeg');
    const before = Date.now();
    await store.put(key, body, {
      contentType: 'image/jpeg',
      metadata: { 'item-id': 'abc123', 'original-name': 'Zoë at sports day.jpg' },
    });

    const got = await store.get(key);
    expect(got).not.toBeNull();
    expect(Buffer.from(got!.bytes).equals(Buffer.from(body))).toBe(true);
    expect(got!.key).toBe(key);
    expect(got!.size).toBe(body.byteLength);
    expect(got!.contentType).toBe('image/jpeg');
    expect(got!.metadata).toEqual({ 'item-id': 'abc123', 'original-name': 'Zoë at sports day.jpg' });
    // S3 keeps whole seconds only.
    expect(Math.abs(got!.lastModified.getTime() - before)).toBeLessThan(5_000);

    const head = await store.head(key);
    expect(head).toEqual({ key, size: body.byteLength, lastModified: got!.lastModified });
  });

  it('defaults to application/octet-stream and no metadata', async () => {
    const key = `${KEY_PREFIXES.audit}defaults.bin`;
    await store.put(key, new Uint8Array([0, 1, 2]));
    const got = await store.get(key);
    expect(got?.contentType).toBe('application/octet-stream');
    expect(got?.metadata).toEqual({});
  });

  it('answers null, not an error, for keys that do not exist', async () => {
    await expect(store.get('sanitised/never-written.jpg')).resolves.toBeNull();
    await expect(store.head('sanitised/never-written.jpg')).resolves.toBeNull();
    await expect(store.head('sanitised/never/written/deep.jpg')).resolves.toBeNull();
  });

  it('round-trips 5 MB of random bytes exactly', async () => {
    const body = randomBytes(5 * 1024 * 1024);
    await store.put(`${KEY_PREFIXES.originals}big.bin`, body, { contentType: 'application/octet-stream' });
    const got = await store.get(`${KEY_PREFIXES.originals}big.bin`);
    expect(got?.size).toBe(body.length);
    expect(Buffer.from(got!.bytes).equals(body)).toBe(true);
    expect((await store.head(`${KEY_PREFIXES.originals}big.bin`))?.size).toBe(body.length);
  });

  it('replaces an object and its metadata on a second put', async () => {
    const key = 'review/replace/item.json';
    await store.put(key, new TextEncoder().encode('first'), { contentType: 'text/plain', metadata: { state: 'held' } });
    await store.put(key, new TextEncoder().encode('second, longer'), { contentType: 'application/json', metadata: { decided: 'yes' } });
    const got = await store.get(key);
    expect(new TextDecoder().decode(got!.bytes)).toBe('second, longer');
    expect(got!.contentType).toBe('application/json');
    expect(got!.metadata).toEqual({ decided: 'yes' });
  });

  it('deletes, and deleting again (or something never written) succeeds', async () => {
    const key = 'review/delete-me/original.jpg';
    await store.put(key, new Uint8Array([1, 2, 3]));
    await store.delete(key);
    await expect(store.get(key)).resolves.toBeNull();
    await expect(store.head(key)).resolves.toBeNull();
    await expect(store.delete(key)).resolves.toBeUndefined();
    await expect(store.delete('review/never/existed.jpg')).resolves.toBeUndefined();
    expect(await collect(store.list('review/delete-me/'))).toEqual([]);
  });

  it('lists every key under a prefix, in key order, across many pages', async () => {
    const keys = [
      ...Array.from({ length: 4 * PAGE_SIZE + 3 }, (_, i) => `listing/item-${String(i).padStart(3, '0')}.jpg`),
      'listing/batch/one.jpg',
      'listing/batch/two.jpg',
    ];
    // Near misses for the prefix. (Keys like "listing-other/" that sort before "listing/" are left to
    // the interleaving test below: s3rver orders them by its file names, unlike S3 and MinIO.)
    const elsewhere = ['listings/x.jpg', 'listingx.jpg', 'listin.jpg'];
    // Written out of order, so any order in the answer comes from the store.
    for (const key of [...keys, ...elsewhere].reverse()) await store.put(key, new TextEncoder().encode(key));

    const listed = await collect(store.list('listing/'));
    expect(listed.map((item) => item.key)).toEqual([...keys].sort(byteOrder));
    for (const item of listed) {
      expect(item.size).toBe(new TextEncoder().encode(item.key).byteLength);
      expect(item.lastModified).toBeInstanceOf(Date);
    }

    // A prefix may end inside a segment.
    const partial = await collect(store.list('listing/item-01'));
    expect(partial.map((item) => item.key)).toEqual(keys.filter((k) => k.startsWith('listing/item-01')).sort(byteOrder));

    const all = (await collect(store.list(''))).map((item) => item.key);
    for (const key of [...keys, ...elsewhere]) expect(all).toContain(key);
    expect(all).toEqual([...all].sort(byteOrder));

    expect(await collect(store.list('nothing-here/'))).toEqual([]);
  });

  it('refuses keys that could escape the store, before touching it', async () => {
    for (const key of HOSTILE_KEYS) {
      for (const attempt of [
        () => store.put(key, new Uint8Array([1])),
        () => store.get(key),
        () => store.head(key),
        () => store.delete(key),
      ]) {
        const err = await veilErrorOf(attempt());
        expect(err.code, `key ${JSON.stringify(key.slice(0, 40))}`).toBe('BAD_REQUEST');
      }
    }
    for (const prefix of ['../', '/etc', 'a/../', 'a//']) {
      const err = await veilErrorOf((async () => collect(store.list(prefix)))());
      expect(err.code).toBe('BAD_REQUEST');
    }
  });

  it('refuses metadata names S3 would silently change', async () => {
    const err = await veilErrorOf(store.put('audit/meta.txt', new Uint8Array([1]), { metadata: { ItemId: 'x' } }));
    expect(err.code).toBe('BAD_REQUEST');
    await expect(store.head('audit/meta.txt')).resolves.toBeNull();
  });
});

describe('local folder store', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'veil-local-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps originals private: folders 0700, files 0600', async () => {
    const store = new LocalObjectStore(path.join(root, 'private'));
    await store.put('originals/item-1/photo.jpg', new Uint8Array([1, 2, 3]), { contentType: 'image/jpeg' });
    const folder = path.join(root, 'private', 'originals', 'item-1');
    expect((await stat(path.join(folder, 'photo.jpg'))).mode & 0o777).toBe(0o600);
    for (const name of await readdir(folder)) expect((await stat(path.join(folder, name))).mode & 0o777).toBe(0o600);
    for (const dir of ['private', 'private/originals', 'private/originals/item-1']) {
      expect((await stat(path.join(root, dir))).mode & 0o777).toBe(0o700);
    }
    // Only the object and its sidecar remain: no temp files.
    expect((await readdir(folder)).sort()).toEqual(['photo.jpg', 'photo.jpg~meta.json']);
  });

  it('keeps the object file as plain bytes an admin can open', async () => {
    const store = new LocalObjectStore(path.join(root, 'plain'));
    const body = randomBytes(1000);
    await store.put('sanitised/a.jpg', body);
    expect((await readFile(path.join(root, 'plain', 'sanitised', 'a.jpg'))).equals(body)).toBe(true);
  });

  it('never lets a reader see half a file while it is being replaced', async () => {
    const store = new LocalObjectStore(path.join(root, 'atomic'));
    const versions = [randomBytes(1024 * 1024), randomBytes(1024 * 1024)];
    await store.put('sanitised/busy.jpg', versions[0]!);
    let reads = 0;
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 30; i++) await store.put('sanitised/busy.jpg', versions[i % 2]!);
      writing = false;
    })();
    try {
      while (writing) {
        const got = await store.get('sanitised/busy.jpg');
        reads++;
        const match = versions.findIndex((v) => got !== null && Buffer.from(got.bytes).equals(v));
        expect(match, 'a read returned neither the old nor the new file').not.toBe(-1);
      }
    } finally {
      await writer; // so a failure does not leave writes racing the clean-up
    }
    expect(reads).toBeGreaterThan(1);
  });

  it('lists in the same order as S3 when keys and folders interleave', async () => {
    // "a-c" < "a.x" < "a/b" < "a0" byte for byte, as S3 and MinIO list them. s3rver gets this case
    // wrong (it orders by its own file names), so it is checked on the folder store only.
    const store = new LocalObjectStore(path.join(root, 'order'));
    const keys = ['a0', 'a/b', 'a.x', 'a-c', 'a/b-c', 'a/c/d', 'a/c-d'].map((k) => `sanitised/${k}`);
    for (const key of keys) await store.put(key, new Uint8Array([1]));
    expect((await collect(store.list('sanitised/'))).map((i) => i.key)).toEqual([...keys].sort(byteOrder));
  });

  it('hides its sidecars, temp files and files it did not write', async () => {
    const storeRoot = path.join(root, 'hidden');
    const store = new LocalObjectStore(storeRoot);
    await store.put('audit/2026/log.jsonl', new Uint8Array([1]), { metadata: { kind: 'audit' } });
    await writeFile(path.join(storeRoot, 'audit', '2026', 'log.jsonl~tmp-deadbeef'), 'half');
    await writeFile(path.join(storeRoot, 'audit', 'notes from the caretaker.txt'), 'hello');
    expect((await collect(store.list(''))).map((i) => i.key)).toEqual(['audit/2026/log.jsonl']);
  });

  it('removes folders left empty by a delete, but not the root', async () => {
    const storeRoot = path.join(root, 'prune');
    const store = new LocalObjectStore(storeRoot);
    await store.put('review/item-9/original.jpg', new Uint8Array([1]));
    await store.put('review/item-8/original.jpg', new Uint8Array([1]));
    await store.delete('review/item-9/original.jpg');
    expect(await readdir(path.join(storeRoot, 'review'))).toEqual(['item-8']);
    await store.delete('review/item-8/original.jpg');
    expect(await readdir(storeRoot)).toEqual([]);
  });

  it('refuses a key that collides with a folder of other keys', async () => {
    const store = new LocalObjectStore(path.join(root, 'conflict'));
    await store.put('review/x/y.jpg', new Uint8Array([1]));
    const err = await veilErrorOf(store.put('review/x', new Uint8Array([1])));
    expect(err.code).toBe('BAD_REQUEST');
    expect((await store.get('review/x/y.jpg'))?.size).toBe(1);
  });

  it('fails closed with STORAGE_UNAVAILABLE when its folder is a file', async () => {
    const notAFolder = path.join(root, 'occupied');
    await writeFile(notAFolder, 'a file where the store should be');
    const store = new LocalObjectStore(notAFolder);
    for (const attempt of [
      () => store.check(),
      () => store.put('originals/x.jpg', new Uint8Array([1])),
      () => store.get('originals/x.jpg'),
      () => store.head('originals/x.jpg'),
      () => store.delete('originals/x.jpg'),
      () => collect(store.list('originals/')),
    ]) {
      const err = await veilErrorOf(attempt());
      expect(err.code).toBe('STORAGE_UNAVAILABLE');
      expect(err.message).toContain(notAFolder);
      expect(err.message).toContain('not a folder');
    }
  });

  it('fails closed when a parent of its folder is a file', async () => {
    const store = new LocalObjectStore(path.join(root, 'occupied-parent-file', 'store'));
    await writeFile(path.join(root, 'occupied-parent-file'), 'x');
    const err = await veilErrorOf(store.put('originals/x.jpg', new Uint8Array([1])));
    expect(err.code).toBe('STORAGE_UNAVAILABLE');
    expect(err.message).toContain(store.describe());
  });
});

describe('S3 store failures', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server({ bucket: 'veil-failures' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fails closed within seconds once the S3 server has stopped', async () => {
    const doomed = await startS3Server({ bucket: 'veil-doomed' });
    const store = new S3ObjectStore(doomed);
    try {
      await store.put('originals/before.jpg', new Uint8Array([1]));
      await doomed.stop();
      const started = Date.now();
      for (const attempt of [
        () => store.check(),
        () => store.put('originals/after.jpg', new Uint8Array([1])),
        () => store.get('originals/before.jpg'),
        () => store.head('originals/before.jpg'),
        () => store.delete('originals/before.jpg'),
        () => collect(store.list('originals/')),
      ]) {
        const err = await veilErrorOf(attempt());
        expect(err.code).toBe('STORAGE_UNAVAILABLE');
        expect(err.message).toContain(store.describe());
        expect(err.message).toMatch(/connection refused|closed the connection/);
      }
      // Six operations, generous bound: a down S3 must not hang an upload for minutes.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      store.destroy();
      await doomed.stop();
    }
  });

  it('fails closed when the server accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    // Short timeouts here so the test is quick; the defaults are a few seconds.
    const store = new S3ObjectStore({
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'veil-silent',
      region: 'us-east-1',
      accessKeyId: 'x',
      secretAccessKey: 'y',
      socketTimeoutMs: 300,
      connectionTimeoutMs: 300,
    });
    try {
      const err = await veilErrorOf(store.get('originals/x.jpg'));
      expect(err.code).toBe('STORAGE_UNAVAILABLE');
      expect(err.message).toContain('did not answer in time');
    } finally {
      store.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('says so when the bucket does not exist', async () => {
    const store = new S3ObjectStore({ ...server, bucket: 'no-such-bucket' });
    try {
      const err = await veilErrorOf(store.check());
      expect(err.code).toBe('STORAGE_UNAVAILABLE');
      expect(err.message).toContain('bucket "no-such-bucket" does not exist');
      const putErr = await veilErrorOf(store.put('sanitised/x.jpg', new Uint8Array([1])));
      expect(putErr.code).toBe('STORAGE_UNAVAILABLE');
    } finally {
      store.destroy();
    }
  });

  it('says so when the credentials are refused, without repeating them', async () => {
    const store = new S3ObjectStore({ ...server, accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong-secret-value' });
    try {
      const err = await veilErrorOf(store.put('sanitised/x.jpg', new Uint8Array([1])));
      expect(err.code).toBe('STORAGE_UNAVAILABLE');
      expect(err.message).toContain('credentials');
      expect(err.message).not.toContain('wrong-secret-value');
    } finally {
      store.destroy();
    }
  });

  it('never shows credentials from an endpoint URL in its description', () => {
    const description = describeS3({ endpoint: 'https://user:hunter2@minio.school.example:9000', bucket: 'veil', region: 'eu-west-2' });
    expect(description).toBe('s3://veil at https://minio.school.example:9000');
    expect(describeS3({ endpoint: null, bucket: 'veil', region: 'eu-west-2' })).toBe('s3://veil on AWS (eu-west-2)');
  });
});

describe('createObjectStore', () => {
  it('chooses S3 when a bucket is configured, and the store works', async () => {
    const server = await startS3Server({ bucket: 'veil-configured' });
    const config = loadConfig({
      S3_ENDPOINT: server.endpoint,
      S3_BUCKET: server.bucket,
      S3_ACCESS_KEY_ID: server.accessKeyId,
      S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    });
    const store = createObjectStore(config);
    try {
      expect(store).toBeInstanceOf(S3ObjectStore);
      expect(store.describe()).toBe(`s3://veil-configured at ${server.endpoint}`);
      await store.put('sanitised/configured.jpg', new Uint8Array([7]));
      expect((await store.get('sanitised/configured.jpg'))?.bytes).toEqual(new Uint8Array([7]));
    } finally {
      (store as S3ObjectStore).destroy();
      await server.stop();
    }
  });

  it('chooses the local folder under STORAGE_DIR otherwise', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'veil-create-'));
    try {
      const store = createObjectStore(loadConfig({ STORAGE_DIR: dir }));
      expect(store).toBeInstanceOf(LocalObjectStore);
      expect(store.describe()).toBe(`folder ${dir}`);
      await store.put('sanitised/local.jpg', new Uint8Array([7]));
      expect((await stat(path.join(dir, 'sanitised', 'local.jpg'))).size).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
