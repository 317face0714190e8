import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics served at /_veil/metrics. One registry per app, so tests can run several. */
export function createMetrics() {
  const registry = new Registry();
  const seconds = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
  return {
    registry,
    uploads: new Counter({
      name: 'veil_uploads_total',
      help: 'Intercepted images by outcome (sanitised, held, refused) and error code',
      labelNames: ['outcome', 'code'] as const,
      registers: [registry],
    }),
    faces: new Counter({
      name: 'veil_faces_total',
      help: 'Faces found in uploaded images, by what was done with them',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    pipelineSeconds: new Histogram({
      name: 'veil_pipeline_seconds',
      help: 'Time the worker spent sanitising one image',
      buckets: seconds,
      registers: [registry],
    }),
    uploadSeconds: new Histogram({
      name: 'veil_upload_seconds',
      help: 'End-to-end time from receiving an image to having its result (store, queue, worker)',
      buckets: seconds,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'veil_queue_jobs',
      help: 'Jobs in the upload queue by state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    passThrough: new Counter({
      name: 'veil_passthrough_requests_total',
      help: 'Requests passed to the CMS untouched',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
