/** A file part of a multipart body Veil writes itself. */
export interface FilePart {
  name: string;
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

/**
 * A multipart/form-data body: text fields in order, then the file. Names and values come from
 * the client's own request, so quotes and line breaks are escaped as browsers do (WHATWG).
 */
export function formData(fields: Record<string, string> | Array<[string, string]>, file: FilePart): { body: Uint8Array; contentType: string } {
  const random = new Uint8Array(12);
  crypto.getRandomValues(random);
  const boundary = `----VeilChunk${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const encoder = new TextEncoder();
  const pieces: Uint8Array[] = [];
  for (const [name, value] of Array.isArray(fields) ? fields : Object.entries(fields)) {
    pieces.push(encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value}\r\n`));
  }
  pieces.push(
    encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(file.name)}"; filename="${escapeName(file.filename)}"\r\nContent-Type: ${file.contentType.replace(/[\r\n]/g, '')}\r\n\r\n`,
    ),
    file.bytes,
    encoder.encode(`\r\n--${boundary}--\r\n`),
  );
  const body = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.byteLength, 0));
  let at = 0;
  for (const piece of pieces) {
    body.set(piece, at);
    at += piece.byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

function escapeName(name: string): string {
  return name.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}
