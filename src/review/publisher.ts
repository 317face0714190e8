import type { ReviewItem } from './item.js';

/** An approved photo, ready to hand to the CMS. */
export interface ApprovedFile {
  bytes: Uint8Array;
  filename: string;
  contentType: string;
}

export interface PublishedMedia {
  mediaId: string;
  url: string;
}

/**
 * Delivers approved photos to the CMS on Veil's own account. `publish` returns null when this
 * publisher does not publish (the approved file is then only downloadable); failures throw
 * `VeilError('PUBLISH_FAILED')` with a message a school's IT technician can act on.
 */
export interface Publisher {
  /** For the item's history and the UI: "WordPress at https://school.example/". */
  readonly description: string;
  readonly publishes: boolean;
  publish(file: ApprovedFile, item: ReviewItem): Promise<PublishedMedia | null>;
  /** Removes media this publisher created (undo of an approval). */
  withdraw(mediaId: string): Promise<void>;
}

/** When no CMS publishing is configured: approved photos are downloaded from the review page. */
export const noPublisher: Publisher = {
  description: 'no CMS publishing configured (download the approved file)',
  publishes: false,
  async publish() {
    return null;
  },
  async withdraw() {},
};
