/** The HTTP side of Veil: pass-through forwarding and upload interception, for src/app.ts to compose. */
export { createProxyApp, createProxyHandler, DEFAULT_ADAPTERS, DEFAULT_LIMITS, type ProxyOptions } from './app.js';
export { badGateway, createNodeForwarder, forwardRequest, type ForwardOptions } from './forward.js';
export { clientAddress, hopByHopNames, setForwardedHeaders, withoutHopByHop, type ForwardedFrom } from './headers.js';
export { interceptUpload, type InterceptOptions } from './intercept.js';
export { IMAGE_SNIFF_BYTES, imageKind, looksLikeImage, rasterKind, type ImageKind } from './looks-like-image.js';
export { ghostAdapter } from './cms/ghost.js';
export { multipartAdapter } from './cms/multipart.js';
export { rawBodyAdapter } from './cms/raw-body.js';
export { wordpressAdapter, wordpressUser } from './cms/wordpress.js';
export { genericAnswer, HELD_STATUS } from './cms/answers.js';
export type { CmsAdapter, ProblemDetails, UploadMatch, UploadProblem } from './cms/types.js';
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
