import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VeilError, type ErrorCode } from '../src/pipeline/errors.js';
import type { FaceSettings } from '../src/pipeline/face-options.js';
import type { Limits } from '../src/pipeline/limits.js';
import type { SanitiseResult } from '../src/pipeline/sanitise.js';
import type { RedactionPlan } from '../src/pipeline/reviewer-boxes.js';
import type { FacePolicy } from '../src/pipeline/types.js';

/** Everything the pipeline needs, as plain data (it crosses into worker threads). */
export interface PipelineSettings {
  maxEdge: number;
  limits: Limits;
  faces: FaceSettings;
  keepFilenames: boolean;
}

export interface PipelineTask {
  id: number;
  bytes: Uint8Array;
  originalName?: string | undefined;
  holdReason?: string | undefined;
  policyOverride?: FacePolicy | undefined;
  /** A reviewer's boxes and redaction, used instead of the detector's. */
  plan?: RedactionPlan | undefined;
}

export type ThreadReply =
  | { id: number; ok: true; result: SanitiseResult }
  | { id: number; ok: false; error: { code: ErrorCode; message: string } };

interface Pending {
  resolve: (result: SanitiseResult) => void;
  reject: (err: VeilError) => void;
}

/**
 * A fixed set of worker threads, each running the pipeline on one image at a time. A thread
 * that dies (out of memory on a hostile file, say) fails only its own task and is replaced.
 */
export class PipelinePool {
  private readonly idle: Worker[] = [];
  private readonly waiting: { task: PipelineTask; pending: Pending }[] = [];
  private readonly running = new Map<Worker, { task: PipelineTask; pending: Pending }>();
  private nextId = 1;
  private closed = false;

  constructor(size: number, private readonly settings: PipelineSettings) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  run(task: Omit<PipelineTask, 'id'>): Promise<SanitiseResult> {
    if (this.closed) return Promise.reject(new VeilError('INTERNAL', 'The pipeline pool is shut down.'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ task: { ...task, id: this.nextId++ }, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { pending } of this.waiting.splice(0)) pending.reject(new VeilError('INTERNAL', 'Veil is shutting down.'));
    await Promise.all([...this.idle.splice(0), ...this.running.keys()].map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.waiting.shift()!;
      this.running.set(worker, job);
      worker.postMessage(job.task);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(threadEntry(), { workerData: this.settings });
    worker.on('message', (reply: ThreadReply) => {
      const job = this.running.get(worker);
      this.running.delete(worker);
      this.idle.push(worker);
      if (job) {
        if (reply.ok) job.pending.resolve(revive(reply.result));
        else job.pending.reject(new VeilError(reply.error.code, reply.error.message));
      }
      this.dispatch();
    });
    worker.on('error', (err) => this.replace(worker, err));
    worker.on('exit', (code) => {
      if (!this.closed && (this.running.has(worker) || this.idle.includes(worker))) this.replace(worker, new Error(`exit code ${code}`));
    });
    return worker;
  }

  private replace(worker: Worker, err: Error): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    job?.pending.reject(new VeilError('INTERNAL', `The image worker stopped while processing this photo (${err.message}).`));
    void worker.terminate();
    if (!this.closed) {
      this.idle.push(this.spawn());
      this.dispatch();
    }
  }
}

/** Structured cloning turns Buffers into plain Uint8Arrays; the rest of Veil expects Buffers. */
function revive(result: SanitiseResult): SanitiseResult {
  if (result.outcome === 'held') return { ...result, preview: Buffer.from(result.preview.buffer, result.preview.byteOffset, result.preview.byteLength) };
  return { ...result, bytes: Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength) };
}

/** The compiled thread next to this file; from TypeScript sources (tests, tsx), a tsx bootstrap. */
function threadEntry(): URL {
  const compiled = new URL('./pipeline-thread.js', import.meta.url);
  return existsSync(fileURLToPath(compiled)) ? compiled : new URL('./pipeline-thread-dev.mjs', import.meta.url);
}
