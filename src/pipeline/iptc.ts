/** The IPTC-NAA (IIM) fields that can identify a person or a place. */
export interface IptcFields {
  objectName: string[];
  keywords: string[];
  byline: string[];
  credit: string[];
  copyright: string[];
  writer: string[];
  contacts: string[];
  caption: string[];
  headline: string[];
  location: string[];
  dateCreated: string[];
}

const DATASETS: Record<number, keyof IptcFields> = {
  5: 'objectName',
  25: 'keywords',
  55: 'dateCreated',
  80: 'byline',
  85: 'byline', // by-line title
  90: 'location', // city
  92: 'location', // sub-location
  95: 'location', // province/state
  101: 'location', // country
  105: 'headline',
  110: 'credit',
  115: 'credit', // source
  116: 'copyright',
  118: 'contacts',
  120: 'caption',
  122: 'writer',
};

/** Reads record-2 datasets: 0x1C, record, dataset, 16-bit length, value. */
export function readIptc(bytes: Uint8Array): IptcFields {
  const fields: IptcFields = {
    objectName: [], keywords: [], byline: [], credit: [], copyright: [], writer: [],
    contacts: [], caption: [], headline: [], location: [], dateCreated: [],
  };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 5 <= buf.length) {
    if (buf[at] !== 0x1c) { at += 1; continue; }
    const record = buf[at + 1]!;
    const dataset = buf[at + 2]!;
    const length = buf.readUInt16BE(at + 3);
    if (length & 0x8000) return fields; // extended length datasets only carry binary previews
    const value = buf.toString('utf8', at + 5, at + 5 + length).replace(/\0+$/, '').trim();
    const field = record === 2 ? DATASETS[dataset] : undefined;
    if (field && value) fields[field].push(value);
    at += 5 + length;
  }
  return fields;
}
