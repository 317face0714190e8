import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { VeilError } from '../pipeline/errors.js';
import {
  DEFAULT_CONTENT_TYPE,
  assertSafeKey,
  assertSafePrefix,
  assertValidPutOptions,
  decodeMetadataValue,
  encodeMetadataValue,
  isSafeKey,
  reasonOf,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './object-store.js';

export type S3Encryption = 'AES256' | 'aws:kms';

export interface S3StoreOptions {
  /** Omit for AWS itself; set for MinIO, R2, Ceph, s3rver… */
  endpoint?: string | null;
  region: string;
  bucket: string;
  /** Omit both to use the SDK's usual credential chain (environment, instance role). */
  accessKeyId?: string | null;
  secretAccessKey?: string | null;
  forcePathStyle?: boolean;
  /** Server-side encryption asked for on every object (all of Veil's objects are private). */
  encryption?: S3Encryption | null;
  /** Keys per list request; S3 caps it at 1000. */
  pageSize?: number;
  /** Time to open a connection. */
  connectionTimeoutMs?: number;
  /** Longest silence on an open connection. */
  socketTimeoutMs?: number;
  /** Attempts per operation, the first included. */
  maxAttempts?: number;
}

/*
 * A stopped or unreachable S3 must fail an upload in seconds (the user is waiting in the CMS), not
 * after the SDK's default minutes of retrying, so timeouts are short and retries few.
 */
const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_ATTEMPTS = 2;

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly encryption: S3Encryption | null;
  private readonly pageSize: number;
  private readonly description: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.encryption = options.encryption ?? null;
    this.pageSize = Math.max(1, Math.min(1000, Math.floor(options.pageSize ?? 1000)));
    this.description = describeS3(options);
    const { accessKeyId, secretAccessKey } = options;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? true,
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
      // Non-AWS servers (MinIO versions, R2, s3rver) reject or mangle the newer default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
        socketTimeout: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
      }),
    });
  }

  describe(): string {
    return this.description;
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    assertSafeKey(key);
    assertValidPutOptions(options);
    const metadata = Object.fromEntries(
      Object.entries(options?.metadata ?? {}).map(([name, value]) => [name, encodeMetadataValue(value)]),
    );
    await this.send('store', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options?.contentType ?? DEFAULT_CONTENT_TYPE,
          Metadata: metadata,
          ...(this.encryption ? { ServerSideEncryption: this.encryption as ServerSideEncryption } : {}),
        }),
      ),
    );
  }

  async get(key: string): Promise<StoredObject | null> {
    assertSafeKey(key);
    return this.send('read', key, async () => {
      try {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        const bytes = answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array(0);
        return {
          key,
          bytes,
          size: bytes.byteLength,
          lastModified: answer.LastModified ?? new Date(0),
          contentType: answer.ContentType ?? DEFAULT_CONTENT_TYPE,
          metadata: decodeMetadata(answer.Metadata),
        };
      } catch (err) {
        if (isMissingObject(err)) return null;
        throw err;
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertSafeKey(key);
    return this.send('read', key, async () => {
      try {
        const answer = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return { key, size: answer.ContentLength ?? 0, lastModified: answer.LastModified ?? new Date(0) };
      } catch (err) {
        if (isMissingObject(err)) return null;
        throw err;
      }
    });
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.send('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    return this.listPages(prefix);
  }

  async check(): Promise<void> {
    await this.send('reach the bucket', '', () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  /** Closes pooled connections (tests, shutdown). */
  destroy(): void {
    this.client.destroy();
  }

  private async *listPages(prefix: string): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.send('list', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: this.pageSize,
            ContinuationToken: token,
          }),
        ),
      );
      for (const item of page.Contents ?? []) {
        // Objects put there by other tools under names Veil would refuse are not Veil's.
        if (!item.Key || !isSafeKey(item.Key)) continue;
        yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
      }
      const next = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (next !== undefined && next === token) {
        throw new VeilError('STORAGE_UNAVAILABLE', `Storage unavailable (${this.description}): the listing of "${prefix}" does not advance`);
      }
      token = next;
    } while (token);
  }

  private async send<T>(action: string, key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof VeilError) throw err;
      const what = key ? ` "${key}"` : '';
      throw new VeilError(
        'STORAGE_UNAVAILABLE',
        `Storage unavailable (${this.description}): could not ${action}${what}: ${explainS3Failure(err, this.bucket)}`,
        { cause: err },
      );
    }
  }
}

/** `s3://bucket at http://host:port`, without any user:password an endpoint URL might carry. */
export function describeS3(options: Pick<S3StoreOptions, 'endpoint' | 'bucket' | 'region'>): string {
  if (!options.endpoint) return `s3://${options.bucket} on AWS (${options.region})`;
  let where = '(unparseable endpoint)';
  try {
    const url = new URL(options.endpoint);
    where = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    // keep the placeholder: an unparseable URL might still hold a secret
  }
  return `s3://${options.bucket} at ${where}`;
}

function decodeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([name, value]) => [name, decodeMetadataValue(value)]));
}

interface SdkFailure {
  name?: string;
  code?: string;
  message?: string;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
}

function isMissingObject(err: unknown): boolean {
  const name = (err as SdkFailure | null)?.name;
  return name === 'NoSuchKey' || (name === 'NotFound' && statusOf(err) === 404);
}

function statusOf(err: unknown): number | undefined {
  return (err as SdkFailure | null)?.$metadata?.httpStatusCode;
}

/** The reason a school's IT technician can act on, from whatever the SDK or the socket threw. */
export function explainS3Failure(err: unknown, bucket: string): string {
  const failure = (err ?? {}) as SdkFailure;
  const nested = Array.isArray(failure.errors) ? (failure.errors[0] as SdkFailure | undefined) : undefined;
  const code = failure.code ?? nested?.code ?? '';
  const name = failure.name ?? '';
  const status = statusOf(err);
  if (code === 'ECONNREFUSED') return 'connection refused (is the S3 server running, and is S3_ENDPOINT right?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the S3 host name does not resolve (check S3_ENDPOINT)';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the S3 server closed the connection';
  if (name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ECONNABORTED') return 'the S3 server did not answer in time';
  if (name === 'NoSuchBucket' || (name === 'NotFound' && status === 404)) return `bucket "${bucket}" does not exist`;
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return 'the S3 server refused the credentials (check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY)';
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return 'access denied (check the credentials and the bucket policy)';
  }
  const detail = reasonOf(err) || name || code || 'unknown error';
  return status ? `${detail} (HTTP ${status})` : detail;
}
