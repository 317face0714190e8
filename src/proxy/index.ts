/**
 * The HTTP side of Veil: pass-through forwarding and upload interception, for src/app.ts to compose.
 * This index is for Node: it pulls in node:http and node:fs. The edge (src/edge/) imports
 * proxy-core.ts, forward-fetch.ts and spool-memory.ts directly.
 */
export { createProxyApp, createProxyHandler, DEFAULT_ADAPTERS, DEFAULT_LIMITS, type ProxyOptions } from './app.js';
export { createProxyCore, createProxyCoreApp, type ProxyCoreOptions } from './proxy-core.js';
export { badGateway, createNodeForwarder, forwardRequest, type ForwardOptions } from './forward/forward.js';
export { createFetchForwarder, type FetchForwarderOptions } from './forward/forward-fetch.js';
export { DiskSpool, diskSpoolFactory } from './spool/spool-disk.js';
export { MemorySpool, memorySpoolFactory } from './spool/spool-memory.js';
export type { Spool, SpoolFactory, SpoolSegment } from './spool/spool.js';
export { clientAddress, hopByHopNames, setForwardedHeaders, withoutHopByHop, type ForwardedFrom } from './forward/headers.js';
export { interceptUpload, type InterceptOptions } from './intercept.js';
export { IMAGE_SNIFF_BYTES, imageKind, looksLikeImage, rasterKind, type ImageKind } from './inspect/looks-like-image.js';
export { ghostAdapter } from './cms/ghost.js';
export { joomlaAdapter } from './cms/joomla.js';
export { multipartAdapter } from './cms/multipart.js';
export { multipartOtherAdapter } from './cms/multipart-other.js';
export { rawBodyAdapter } from './cms/raw-body.js';
export { textBodyAdapter } from './cms/text-body.js';
export { findEmbeddedImages, replaceEmbeddedImages, type EmbeddedImage } from './inspect/embedded-images.js';
export { wordpressAdapter, wordpressUser } from './cms/wordpress.js';
export { genericAnswer, HELD_STATUS } from './cms/answers.js';
export type { CmsAdapter, EmbeddedFiles, ProblemDetails, UploadMatch, UploadProblem } from './cms/types.js';
export type {
  Forwarder,
  ForwardHints,
  ProxyLimits,
  SanitiseUpload,
  UploadContext,
  UploadEvent,
  UploadFile,
  UploadOutcome,
} from './types.js';
