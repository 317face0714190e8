import { VeilError } from '../../pipeline/errors.js';
import type { Spool, SpoolFactory } from '../spool/spool.js';
import { imageTooLarge } from '../upload-errors.js';

/**
 * Files arriving in pieces (MediaWiki stash chunks and the like), kept privately until the last
 * piece is in and the whole file can be sanitised. Each assembly lives in a spool of its own (on
 * Node an unlinked file under DATA_DIR/spool, so a crash leaves nothing behind) and is known by
 * an unguessable id plus the owner the protocol gives (a session cookie): someone else's id
 * finds nothing. Veil counts the bytes itself: a piece is accepted only at the offset Veil has
 * reached, whatever the client says it sent before.
 *
 * Assemblies are kept in this process's memory: several Veil proxies behind one load balancer
 * need sticky sessions for chunked uploads (a piece that reaches another process is refused).
 */
export interface Assembly {
  readonly id: string;
  /** Declared size of the whole file, bounded by maxUploadBytes; undefined when the protocol does not say (then maxUploadBytes bounds it). */
  readonly total: number | undefined;
  /** Pieces received so far. */
  readonly pieces: number;
  /** Bytes received so far, in order. */
  readonly size: number;
  /** The first piece's length: the client's chunk size, which the CMS evidently accepts. */
  readonly chunkSize: number;
}

export interface AssemblyLimits {
  /** Largest whole file. */
  maxUploadBytes: number;
  /** All assemblies at once, declared sizes summed. */
  maxTotalBytes: number;
  maxAssemblies: number;
  /** An assembly with no piece for this long is dropped. */
  idleMs: number;
}

interface Entry extends Assembly {
  owner: string;
  /** The client's own name for the upload (Dropzone's dzuuid...), found again with the owner. */
  label?: string;
  spool: Spool;
  size: number;
  pieces: number;
  chunkSize: number;
  touched: number;
  busy: boolean;
}

export class ChunkAssemblies {
  private readonly entries = new Map<string, Entry>();
  private sweeper?: ReturnType<typeof setInterval>;

  constructor(
    private readonly spool: SpoolFactory,
    private readonly limits: AssemblyLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get count(): number {
    return this.entries.size;
  }

  /**
   * A new, empty assembly for a file of `total` bytes (undefined: not known until the last piece).
   * A `label` (the client's own id for the upload) replaces an earlier assembly of the same owner and label.
   */
  async start(owner: string, total: number | undefined, label?: string): Promise<Assembly> {
    await this.sweep();
    if (total !== undefined && (!Number.isSafeInteger(total) || total <= 0)) throw new VeilError('BAD_REQUEST', 'The upload did not say how large the whole file is, so Veil cannot put it together.');
    if ((total ?? 0) > this.limits.maxUploadBytes) throw imageTooLarge(this.limits.maxUploadBytes);
    if (label !== undefined) {
      const earlier = this.byLabel(owner, label);
      if (earlier) await this.drop(earlier.id);
    }
    const reserved = [...this.entries.values()].reduce((sum, entry) => sum + (entry.total ?? this.limits.maxUploadBytes), 0);
    if (this.entries.size >= this.limits.maxAssemblies || reserved + (total ?? this.limits.maxUploadBytes) > this.limits.maxTotalBytes) {
      throw new VeilError('QUEUE_UNAVAILABLE', 'Veil is receiving too many large uploads at once. Please try again in a few minutes.');
    }
    const entry: Entry = { id: newAssemblyId(), owner, label, total, size: 0, pieces: 0, chunkSize: 0, spool: await this.spool(), touched: this.now(), busy: false };
    this.entries.set(entry.id, entry);
    this.keepSweeping();
    return entry;
  }

  /** The assembly under `id` if it belongs to `owner` and has not expired. */
  async find(id: string, owner: string): Promise<Assembly | undefined> {
    await this.sweep();
    const entry = this.entries.get(id);
    return entry && entry.owner === owner ? entry : undefined;
  }

  /** The assembly the client calls `label`, if it belongs to `owner` and has not expired. */
  async findByLabel(owner: string, label: string): Promise<Assembly | undefined> {
    await this.sweep();
    return this.byLabel(owner, label);
  }

  private byLabel(owner: string, label: string): Entry | undefined {
    for (const entry of this.entries.values()) if (entry.owner === owner && entry.label === label) return entry;
    return undefined;
  }

  /**
   * Adds one piece at `offset`, which must be exactly where the assembly stands; returns true
   * when the file is complete. One piece at a time per assembly.
   */
  async append(assembly: Assembly, offset: number, bytes: Uint8Array): Promise<boolean> {
    const entry = this.entry(assembly);
    if (entry.busy) throw new ChunkOffsetError(entry.size, 'Another piece of this file is still arriving. Please send the pieces one after another.');
    if (offset !== entry.size) throw new ChunkOffsetError(entry.size, `This piece starts at byte ${offset}, but Veil has ${entry.size} bytes of the file so far. Please continue from byte ${entry.size}.`);
    if (bytes.byteLength === 0 && entry.size < (entry.total ?? Infinity)) throw new ChunkOffsetError(entry.size, 'This piece of the file is empty.');
    if (entry.size + bytes.byteLength > this.limits.maxUploadBytes) throw imageTooLarge(this.limits.maxUploadBytes);
    if (entry.size + bytes.byteLength > (entry.total ?? Infinity)) throw new VeilError('BAD_REQUEST', 'The pieces of this upload add up to more than the size it announced, so Veil stopped it.');
    entry.busy = true;
    try {
      await entry.spool.append(bytes);
      entry.size += bytes.byteLength;
      entry.pieces += 1;
      if (entry.chunkSize === 0) entry.chunkSize = bytes.byteLength;
      entry.touched = this.now();
      return entry.size === entry.total;
    } finally {
      entry.busy = false;
    }
  }

  /** The whole file, once complete; the assembly is gone afterwards. */
  async take(assembly: Assembly): Promise<Buffer> {
    const entry = this.entry(assembly);
    try {
      if (entry.total !== undefined && entry.size !== entry.total) throw new VeilError('BAD_REQUEST', 'The upload is not complete yet.');
      return await entry.spool.read(0, entry.size);
    } finally {
      await this.drop(entry.id);
    }
  }

  async drop(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    await entry.spool.close();
    if (this.entries.size === 0) this.stopSweeping();
  }

  /** Drops every assembly (shutdown, tests). */
  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.drop(id)));
  }

  private entry(assembly: Assembly): Entry {
    const entry = this.entries.get(assembly.id);
    if (!entry) throw new VeilError('BAD_REQUEST', 'This upload has expired or was already finished. Please start it again.');
    return entry;
  }

  private async sweep(): Promise<void> {
    const cutoff = this.now() - this.limits.idleMs;
    const stale = [...this.entries.values()].filter((entry) => !entry.busy && entry.touched < cutoff);
    await Promise.all(stale.map((entry) => this.drop(entry.id)));
  }

  /** Abandoned uploads are dropped even when no further piece arrives to trigger a sweep. */
  private keepSweeping(): void {
    if (this.sweeper || typeof setInterval !== 'function') return;
    this.sweeper = setInterval(() => void this.sweep(), Math.max(1000, Math.min(this.limits.idleMs, 60_000)));
    (this.sweeper as { unref?: () => void }).unref?.();
  }

  private stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

/** A piece that does not start where the assembly stands; `expected` is Veil's own count. */
export class ChunkOffsetError extends VeilError {
  constructor(
    readonly expected: number,
    message: string,
  ) {
    super('BAD_REQUEST', message);
  }
}

/** 128 random bits, hex: never derived from the file or the client. */
function newAssemblyId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const DEFAULT_ASSEMBLY_IDLE_MS = 30 * 60 * 1000;
