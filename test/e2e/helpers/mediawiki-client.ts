/**
 * A MediaWiki API client as mw.Api and UploadWizard behave: a cookie session, a CSRF token, and
 * chunked stash uploads that follow the offsets the server returns (mw.Api.chunkedUploadToStash).
 */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  json: Record<string, any>;
}

export class MediaWikiClient {
  private readonly cookies = new Map<string, string>();
  csrfToken = '';

  constructor(readonly base: string) {}

  async login(name: string, password: string): Promise<void> {
    const tokens = await this.get({ action: 'query', meta: 'tokens', type: 'login' });
    const loginToken = tokens.json.query?.tokens?.logintoken as string;
    const login = await this.post({ action: 'login', lgname: name, lgpassword: password, lgtoken: loginToken });
    if (login.json.login?.result !== 'Success') throw new Error(`login failed: ${JSON.stringify(login.json)}`);
    const csrf = await this.get({ action: 'query', meta: 'tokens' });
    this.csrfToken = csrf.json.query.tokens.csrftoken as string;
  }

  get(params: Record<string, string>): Promise<ApiAnswer> {
    const query = new URLSearchParams({ format: 'json', ...params });
    return this.send(`${this.base}/api.php?${query}`, { method: 'GET' });
  }

  post(params: Record<string, string>, file?: { field: string; name: string; type: string; bytes: Uint8Array }): Promise<ApiAnswer> {
    const form = new FormData();
    for (const [key, value] of Object.entries({ format: 'json', ...params })) form.append(key, value);
    if (file) form.append(file.field, new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }), file.name);
    return this.send(`${this.base}/api.php`, { method: 'POST', body: form });
  }

  /** `action=upload` with the whole file, published at once. */
  uploadWhole(filename: string, bytes: Uint8Array, extra: Record<string, string> = {}): Promise<ApiAnswer> {
    return this.post({ action: 'upload', filename, ignorewarnings: '1', comment: 'Veil e2e', token: this.csrfToken, ...extra }, { field: 'file', name: filename, type: 'image/jpeg', bytes });
  }

  /**
   * As mw.Api's chunkedUploadToStash: pieces of `chunkSize` to the stash, each at the offset the
   * last answer gave; returns every answer (the last has the file key) or stops at an error.
   */
  async uploadChunksToStash(filename: string, bytes: Uint8Array, chunkSize: number, extra: Record<string, string> = {}): Promise<ApiAnswer[]> {
    const answers: ApiAnswer[] = [];
    let offset = 0;
    let filekey: string | undefined;
    for (;;) {
      const piece = bytes.subarray(offset, offset + chunkSize);
      const params: Record<string, string> = { action: 'upload', stash: '1', ignorewarnings: '1', filename, filesize: String(bytes.byteLength), offset: String(offset), token: this.csrfToken, ...extra };
      if (filekey) params.filekey = filekey;
      const answer = await this.post(params, { field: 'chunk', name: 'blob', type: 'application/octet-stream', bytes: piece });
      answers.push(answer);
      const upload = answer.json.upload;
      if (!upload || upload.result !== 'Continue') return answers;
      filekey = upload.filekey as string;
      if (typeof upload.offset !== 'number' || upload.offset <= offset) throw new Error(`the server did not move on: ${JSON.stringify(answer.json)}`);
      offset = upload.offset;
    }
  }

  /** Special:Upload's form, as a browser posts it; MediaWiki answers a success with a redirect to the file page. */
  async specialUpload(filename: string, bytes: Uint8Array): Promise<{ status: number; location: string | null; html: string }> {
    const form = new FormData();
    // The form's own action (Special:Upload's <form action>), with the title in the query string.
    const fields = { wpSourceType: 'file', wpDestFile: filename, wpUploadDescription: 'Veil e2e (form)', wpIgnoreWarning: '1', wpEditToken: this.csrfToken, wpUpload: 'Upload file' };
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    form.append('wpUploadFile', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), filename);
    const res = await fetch(`${this.base}/index.php?title=Special:Upload`, { method: 'POST', body: form, headers: this.cookieHeader(), redirect: 'manual' });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  }

  /** The final step of a stash upload: publish the stashed file under its name. */
  commit(filekey: string, filename: string): Promise<ApiAnswer> {
    return this.post({ action: 'upload', filekey, filename, ignorewarnings: '1', comment: 'Veil e2e (chunked)', text: 'Uploaded in chunks', token: this.csrfToken });
  }

  async imageUrl(title: string): Promise<string | undefined> {
    const answer = await this.get({ action: 'query', titles: `File:${title}`, prop: 'imageinfo', iiprop: 'url|size', formatversion: '2' });
    return answer.json.query?.pages?.[0]?.imageinfo?.[0]?.url as string | undefined;
  }

  async fetchBytes(url: string): Promise<Buffer> {
    const res = await fetch(new URL(url, this.base), { headers: this.cookieHeader() });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  private async send(url: string, init: RequestInit): Promise<ApiAnswer> {
    const res = await fetch(url, { ...init, headers: { ...this.cookieHeader(), ...(init.headers as Record<string, string>) }, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';', 1);
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === 'deleted' || /expires=Thu, 01[ -]Jan[ -]1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let json: Record<string, any>;
    try {
      json = JSON.parse(text) as Record<string, any>;
    } catch {
      json = { notJson: text.slice(0, 2000) };
    }
    return { status: res.status, headers: res.headers, json };
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}
