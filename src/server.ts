import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import type { Hono } from 'hono';
import { createApp, type AppDeps, type HealthCheck } from './app.js';
import type { Config } from './config.js';
import { DemoSite } from './demo/site.js';
import { createIngest } from './ingest/ingest.js';
import { answerUnexpectedErrors } from './ops/last-resort.js';
import { createLogger, type Logger } from './ops/log.js';
import { createMetrics } from './ops/metrics.js';
import { loadFaceModel } from './pipeline/faces-onnx.js';
import { createNodeServer, proxyPassThrough } from './proxy/node-server.js';
import type { SanitiseUpload } from './proxy/types.js';
import type { UploadJobData, UploadJobResult } from './queue/jobs.js';
import { ensureRedis, redact } from './queue/redis.js';
import { UploadQueue } from './queue/upload-queue.js';
import { createObjectStore } from './storage/index.js';
import type { ObjectStore } from './storage/object-store.js';
import type { PipelineSettings } from '../workers/pipeline-pool.js';
import { startUploadWorker, type RunningWorker } from '../workers/upload-worker.js';

export type Role = 'all' | 'proxy' | 'worker';

export interface RunningVeil {
  /** The URL the proxy listens on (absent for a worker-only process). */
  url?: string;
  app?: Hono;
  store: ObjectStore;
  queue: UploadQueue;
  stop(): Promise<void>;
}

/** Hooks other parts of Veil attach to (review queue, audit log, edge ingest); all optional. */
export interface ServerExtensions {
  /** Told about every upload the worker finished (held items, audit records). */
  onWorkerResult?: (job: UploadJobData, result: UploadJobResult) => Promise<void>;
  /** Told about uploads the proxy refused before a worker saw them (queue or store down, timeout). */
  onProxyRefusal?: (job: UploadJobData, result: UploadJobResult) => void;
  /** A reviewer's earlier decision for a re-uploaded original. */
  priorDecision?: (sha256: string) => Promise<{ policy: 'allow' | 'blur'; redactionKey?: string | undefined } | null>;
  /** Admin routes for /_veil (review, audit, login); they keep their own Env type. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  admin?: Hono<any>;
  /** More routes under /_veil (the edge's ingest endpoint). */
  veilRoutes?: Hono[];
  /** Lets a signed-in admin read /_veil/metrics. */
  isSignedInAdmin?: AppDeps['isSignedInAdmin'];
  close?: () => Promise<void>;
}

export interface ExtensionDeps {
  config: Config;
  role: Role;
  store: ObjectStore;
  queue: UploadQueue;
  logger: Logger;
  /** The sanitising step, for routes that take uploads from elsewhere (the edge). */
  sanitise: () => SanitiseUpload;
}

export type ExtensionFactory = (deps: ExtensionDeps) => Promise<ServerExtensions>;

export function pipelineSettings(config: Config): PipelineSettings {
  const f = config.faces;
  return {
    maxEdge: config.limits.maxEdge,
    limits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxPixels, maxFrames: config.limits.maxFrames },
    faces: {
      policy: f.policy,
      minFacePx: f.minPx,
      minScore: f.minScore ?? undefined,
      reviewBand: f.reviewBand ?? undefined,
      uncertainScore: f.uncertainScore,
      redaction: f.redaction,
      padding: f.padding,
      modelPath: f.model ?? undefined,
    },
    keepFilenames: config.keepFilenames,
  };
}

/**
 * Starts Veil: `all` is the single-node mode of `veil start` (proxy and worker in one process,
 * a private Redis when none runs), `proxy` and `worker` scale out on a shared Redis.
 */
export async function startVeil(config: Config, role: Role, makeExtensions?: ExtensionFactory, logger: Logger = createLogger(config.logLevel)): Promise<RunningVeil> {
  // The spool holds request bodies being parsed, which may contain unsanitised photos: private.
  mkdirSync(`${config.dataDir}/spool`, { recursive: true, mode: 0o700 });
  const redis = role === 'all'
    ? await ensureRedis(config.redis.url, config.dataDir, (m) => logger.info(m))
    : { url: config.redis.url, started: false };
  const store = createObjectStore(config);
  await store.check().catch((err: Error) => logger.warn('storage is not available yet; uploads will be refused until it is', { store: store.describe(), error: err.message }));
  const queue = UploadQueue.create(redis.url, config.redis.prefix);
  const modelPath = config.faces.model ?? undefined;
  const metrics = createMetrics();
  const demo = role !== 'worker' && !config.upstreamUrl ? new DemoSite() : undefined;
  let ingest: SanitiseUpload | undefined;
  const extensions = (await makeExtensions?.({ config, role, store, queue, logger, sanitise: () => ingest! })) ?? {};

  let worker: RunningWorker | undefined;
  if (role !== 'proxy') {
    // Load the model now, so a broken FACE_MODEL stops the start with its reason, not the first upload.
    await loadFaceModel(modelPath);
    worker = startUploadWorker({
      redisUrl: redis.url,
      prefix: config.redis.prefix,
      store,
      settings: pipelineSettings(config),
      concurrency: config.workerConcurrency,
      onResult: extensions.onWorkerResult,
      log: (level, message, fields) => logger[level](message, fields),
    });
    logger.info('worker started', { concurrency: config.workerConcurrency, redis: redact(redis.url), store: store.describe() });
  }

  let server: http.Server | undefined;
  let url: string | undefined;
  let app: Hono | undefined;
  if (role !== 'worker') {
    const sanitise = (ingest = createIngest({
      store,
      queue,
      timeoutMs: config.limits.uploadTimeoutMs,
      alwaysReviewPaths: config.alwaysReviewPaths,
      priorDecision: extensions.priorDecision,
      readReports: Boolean(demo),
      onResult: (result, data, ms, by, report) => {
        if (by === 'proxy' && result.outcome === 'refused') extensions.onProxyRefusal?.(data, result);
        metrics.uploadSeconds.observe(ms / 1000);
        if (result.outcome !== 'refused') {
          metrics.pipelineSeconds.observe(result.summary.totalMs / 1000);
          for (const [action, n] of Object.entries(result.summary.faces)) metrics.faces.inc({ action }, n);
        }
        demo?.recordResult(result, report);
      },
    }));
    const health: HealthCheck[] = [
      { name: 'redis', check: () => queue.ping() },
      { name: 'storage', check: () => store.check() },
    ];
    // The model lives where the worker runs; a proxy-only process would load onnxruntime just to report on it.
    if (worker) health.push({ name: 'model', check: async () => void (await loadFaceModel(modelPath)) });
    app = createApp({
      config,
      store,
      sanitise,
      metrics,
      logger,
      health,
      queueCounts: () => queue.counts(),
      ...(demo ? { demo } : {}),
      ...(extensions.admin ? { admin: extensions.admin } : {}),
      veilRoutes: extensions.veilRoutes ?? [],
      ...(extensions.isSignedInAdmin ? { isSignedInAdmin: extensions.isSignedInAdmin } : {}),
    });
    answerUnexpectedErrors(app, logger);
    // Page views without a body skip Hono (and its Web objects) when a real CMS is behind Veil.
    const passThrough = demo || !config.upstreamUrl ? undefined : proxyPassThrough({ upstream: config.upstreamUrl, trustProxy: config.trustProxy });
    server = await listen(createNodeServer(app.fetch, passThrough), config.port, config.host);
    const port = (server.address() as AddressInfo).port;
    url = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host}:${port}`;
    logger.info(config.upstreamUrl ? 'proxy listening' : 'listening with the demo site (set UPSTREAM_URL to put Veil in front of your CMS)', {
      url,
      upstream: config.upstreamUrl ?? 'demo site',
      store: store.describe(),
      facePolicy: config.faces.policy,
    });
  }

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    logger.info('shutting down');
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await worker?.close();
    await extensions.close?.();
    await queue.close();
    if (redis.child) redis.child.kill('SIGTERM');
  })());
  return { url, app, store, queue, stop };
}

function listen(server: http.Server, port: number, hostname: string): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}
