import type { Config } from '../config.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore, type S3StoreOptions } from './s3.js';
import type { ObjectStore } from './object-store.js';

export * from './object-store.js';
export { LocalObjectStore } from './local.js';
export { S3ObjectStore, describeS3, type S3StoreOptions, type S3Encryption } from './s3.js';

/** S3 when a bucket is configured (an endpoint alone is refused by loadConfig), else the local folder. */
export function createObjectStore(
  config: Pick<Config, 's3' | 'storageDir'>,
  tuning: Pick<S3StoreOptions, 'pageSize' | 'connectionTimeoutMs' | 'socketTimeoutMs' | 'maxAttempts'> = {},
): ObjectStore {
  if (config.s3) {
    const { endpoint, bucket, region, accessKeyId, secretAccessKey, forcePathStyle, encryption } = config.s3;
    return new S3ObjectStore({ endpoint, bucket, region, accessKeyId, secretAccessKey, forcePathStyle, encryption, ...tuning });
  }
  return new LocalObjectStore(config.storageDir);
}
