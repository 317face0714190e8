import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VeilError } from '../pipeline/errors.js';
import {
  DEFAULT_CONTENT_TYPE,
  assertSafeKey,
  assertSafePrefix,
  assertValidPutOptions,
  isSafeKey,
  reasonOf,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './object-store.js';

/*
 * Layout: the object for key `a/b.jpg` is the file `<root>/a/b.jpg`, so an admin can open it
 * directly. Its content type and metadata live in `b.jpg~meta.json`; writes go through
 * `b.jpg~tmp-<random>`. Keys can never contain "~", so these names never collide with a key and
 * list() can hide them.
 */
const SIDECAR_SUFFIX = '~meta.json';
const TEMP_INFIX = '~tmp-';
/** Originals are photos of children: only Veil's own user may read them. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Errors meaning "nothing at this path", as long as the root folder itself is sound. */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
/** Errors a write meets when a key and a folder want the same name (`a` and `a/b`). */
const CONFLICT = new Set(['ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY']);

interface Sidecar {
  contentType: string;
  metadata: Record<string, string>;
}

/** The embedded default store: files under one folder, written atomically, private to Veil's user. */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  describe(): string {
    return `folder ${this.root}`;
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    assertSafeKey(key);
    assertValidPutOptions(options);
    const file = this.pathOf(key);
    const sidecar: Sidecar = {
      contentType: options?.contentType ?? DEFAULT_CONTENT_TYPE,
      metadata: { ...options?.metadata },
    };
    try {
      await this.withParentFolder(file, async () => {
        // Sidecar first: a reader who can see the object can also see its content type.
        await writeAtomically(file + SIDECAR_SUFFIX, Buffer.from(JSON.stringify(sidecar)));
        await writeAtomically(file, body);
        await syncFolder(path.dirname(file));
      });
    } catch (err) {
      throw await this.failure('store', key, err);
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    assertSafeKey(key);
    const file = this.pathOf(key);
    try {
      const handle = await fs.open(file, 'r');
      let bytes: Buffer;
      let mtime: Date;
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) return null;
        mtime = stat.mtime;
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
      const { contentType, metadata } = await readSidecar(file + SIDECAR_SUFFIX);
      return { key, bytes, size: bytes.length, lastModified: mtime, contentType, metadata };
    } catch (err) {
      return this.nullIfMissing('read', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertSafeKey(key);
    try {
      const stat = await fs.stat(this.pathOf(key));
      return stat.isFile() ? { key, size: stat.size, lastModified: stat.mtime } : null;
    } catch (err) {
      return this.nullIfMissing('read', key, err);
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    const file = this.pathOf(key);
    // Object before sidecar, so the object vanishes in one step.
    try {
      await fs.unlink(file);
    } catch (err) {
      await this.nullIfMissing('delete', key, err);
    }
    try {
      await fs.unlink(file + SIDECAR_SUFFIX);
    } catch (err) {
      await this.nullIfMissing('delete', key, err);
    }
    await this.removeEmptyFolders(path.dirname(file));
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    return this.walk(cut === -1 ? '' : prefix.slice(0, cut), prefix.slice(cut + 1));
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `.veil-check${TEMP_INFIX}${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(this.root, { recursive: true, mode: DIR_MODE });
      await writeAtomically(probe, Buffer.from('ok'));
      await fs.unlink(probe);
    } catch (err) {
      throw await this.failure('write a test file', '', err);
    }
  }

  private pathOf(key: string): string {
    const file = path.join(this.root, ...key.split('/'));
    // assertSafeKey already rules this out; a second check costs nothing where children's photos live.
    if (!file.startsWith(this.root + path.sep)) throw new VeilError('BAD_REQUEST', `Refused storage key "${key}"`);
    return file;
  }

  /**
   * S3 lists in byte order of the whole key. Walking folders depth-first matches that only if a
   * folder `a` sorts as `a/`: then `a-x` < `a.x` < `a/…` < `a0`, exactly as the keys compare.
   */
  private async *walk(folderKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    const folder = folderKey === '' ? this.root : path.join(this.root, ...folderKey.split('/'));
    let entries: Dirent[];
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (err) {
      await this.nullIfMissing('list', folderKey, err);
      return;
    }
    const visible = entries
      .filter((entry) => entry.name.startsWith(namePrefix) && (entry.isFile() || entry.isDirectory()))
      .map((entry) => ({
        key: folderKey === '' ? entry.name : `${folderKey}/${entry.name}`,
        isFolder: entry.isDirectory(),
        order: entry.isDirectory() ? `${entry.name}/` : entry.name,
      }))
      .filter((entry) => isSafeKey(entry.key)) // hides sidecars, temp files and anything foreign
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    for (const entry of visible) {
      if (entry.isFolder) {
        yield* this.walk(entry.key, '');
        continue;
      }
      const info = await this.head(entry.key); // null if deleted since readdir
      if (info) yield info;
    }
  }

  /** A delete may have just removed the parent folder; make it again once and retry. */
  private async withParentFolder(file: string, write: () => Promise<void>): Promise<void> {
    const folder = path.dirname(file);
    await fs.mkdir(folder, { recursive: true, mode: DIR_MODE });
    try {
      await write();
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      await fs.mkdir(folder, { recursive: true, mode: DIR_MODE });
      await write();
    }
  }

  /** Keys like `review/<id>/original.jpg` would otherwise leave one empty folder per item forever. */
  private async removeEmptyFolders(folder: string): Promise<void> {
    for (let current = folder; current !== this.root && current.startsWith(this.root + path.sep); ) {
      try {
        await fs.rmdir(current);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      current = path.dirname(current);
    }
  }

  private async nullIfMissing(action: string, key: string, err: unknown): Promise<null> {
    if (MISSING.has(errorCode(err)) && (await this.rootProblem()) === null) return null;
    throw await this.failure(action, key, err);
  }

  private async failure(action: string, key: string, err: unknown): Promise<VeilError> {
    if (err instanceof VeilError) return err;
    const rootProblem = await this.rootProblem();
    const what = key ? ` "${key}"` : '';
    if (rootProblem === null && CONFLICT.has(errorCode(err))) {
      return new VeilError(
        'BAD_REQUEST',
        `Cannot ${action}${what} in ${this.describe()}: a folder store cannot hold both "a" and "a/b" as keys`,
        { cause: err },
      );
    }
    return new VeilError(
      'STORAGE_UNAVAILABLE',
      `Storage unavailable (${this.describe()}): could not ${action}${what}: ${rootProblem ?? reasonOf(err)}`,
      { cause: err },
    );
  }

  /** Why the root folder cannot hold objects, or null if it can (a missing root is made on write). */
  private async rootProblem(): Promise<string | null> {
    try {
      const stat = await fs.stat(this.root);
      return stat.isDirectory() ? null : `${this.root} exists but is not a folder`;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT') return null;
      if (code === 'ENOTDIR') return `a parent of ${this.root} is a file, not a folder`;
      return reasonOf(err);
    }
  }
}

/** Temp file in the same folder, fsync, rename: a reader sees the old file or the new one, never half. */
async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}${TEMP_INFIX}${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(temp, 'wx', FILE_MODE);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (err) {
    await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** Makes the renames durable across a power cut; best effort where a platform cannot fsync folders. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await fs.open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // the rename already happened atomically; durability is all that is lost
  }
}

async function readSidecar(file: string): Promise<Sidecar> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { contentType: DEFAULT_CONTENT_TYPE, metadata: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Sidecar>;
    return {
      contentType: typeof parsed.contentType === 'string' ? parsed.contentType : DEFAULT_CONTENT_TYPE,
      metadata: parsed.metadata && typeof parsed.metadata === 'object' ? { ...parsed.metadata } : {},
    };
  } catch (err) {
    throw new Error(`metadata file ${file} is damaged: ${reasonOf(err)}`, { cause: err });
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
