import { randomBytes } from 'node:crypto';
import { formBody, send, type Received } from '../../helpers/http.js';

/**
 * What WordPress's own uploaders send, over plain HTTP to one port (Veil's or PHP's): the REST API
 * with an application password, and the media library's async-upload.php with the logged-in
 * cookies and the `media-form` nonce, as plupload sends them.
 */
export class WordPressClient {
  private readonly cookies = new Map<string, string>();

  constructor(readonly port: number) {}

  /** Browsers always send one; the shared `send` helper sends none when headers are given as pairs. */
  private get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** POST /wp/v2/media with the file as the raw body, as apps and scripts do. */
  restUpload(file: Buffer, filename: string, auth: { login: string; applicationPassword: string }, route: 'wp-json' | 'rest_route' = 'wp-json'): Promise<Received> {
    return send(this.port, {
      method: 'POST',
      path: route === 'wp-json' ? '/wp-json/wp/v2/media' : '/?rest_route=/wp/v2/media',
      headers: [
        ['Host', this.host],
        ['Authorization', `Basic ${Buffer.from(`${auth.login}:${auth.applicationPassword}`).toString('base64')}`],
        ['Content-Type', 'image/jpeg'],
        ['Content-Disposition', `attachment; filename="${filename}"`],
      ],
      body: file,
    });
  }

  /** The login form, as a browser submits it (WordPress first checks its test cookie came back). */
  async logIn(login: string, password: string): Promise<void> {
    this.cookies.set('wordpress_test_cookie', 'WP%20Cookie%20check');
    const answer = await this.request('POST', '/wp-login.php', {
      headers: [['Content-Type', 'application/x-www-form-urlencoded']],
      body: new URLSearchParams({ log: login, pwd: password, 'wp-submit': 'Log In', redirect_to: '/wp-admin/', testcookie: '1' }).toString(),
    });
    if (![...this.cookies.keys()].some((name) => name.startsWith('wordpress_logged_in_'))) {
      throw new Error(`login failed: HTTP ${answer.status}, cookies ${[...this.cookies.keys()].join(', ')}\n${answer.body.toString().slice(0, 500)}`);
    }
  }

  /** The nonce Media > Add New hands its uploader (`media-form`), read from the page as plupload gets it. */
  async mediaFormNonce(): Promise<string> {
    const page = await this.request('GET', '/wp-admin/media-new.php');
    const html = page.body.toString();
    const nonce = /"_wpnonce":"([0-9a-f]+)"/.exec(html)?.[1] ?? /name="_wpnonce" value="([0-9a-f]+)"/.exec(html)?.[1];
    if (page.status !== 200 || !nonce) throw new Error(`no media-form nonce on media-new.php (HTTP ${page.status}):\n${html.slice(0, 500)}`);
    return nonce;
  }

  /**
   * async-upload.php as plupload calls it: by default as the media modal does (`action=upload-attachment`,
   * answered with `{"success":...}`); Media > Add New's uploader sends `short=1` instead and gets
   * the attachment id, or an `error-div`, as text.
   */
  asyncUpload(file: Buffer, filename: string, nonce: string, fields: Record<string, string> = { action: 'upload-attachment' }): Promise<Received> {
    const boundary = `----WebKitFormBoundary${randomBytes(8).toString('hex')}`;
    const body = formBody(
      [
        { name: 'name', data: filename },
        ...Object.entries(fields).map(([name, data]) => ({ name, data })),
        { name: '_wpnonce', data: nonce },
        { name: 'async-upload', filename, contentType: 'image/jpeg', data: file },
      ],
      boundary,
    );
    return this.request('POST', '/wp-admin/async-upload.php', { headers: [['Content-Type', `multipart/form-data; boundary=${boundary}`]], body });
  }

  /** An XML-RPC call to /xmlrpc.php, as blogging apps and desktop clients make it. */
  xmlRpc(method: string, params: XmlRpcValue[]): Promise<Received> {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${xmlRpcValue(p)}</param>`).join('')}</params></methodCall>`;
    return this.request('POST', '/xmlrpc.php', { headers: [['Content-Type', 'text/xml'], ['User-Agent', 'wp-iphone/24.0 (veil e2e)']], body });
  }

  /** The editor page's nonces: heartbeat's, and `update-post_<id>` that an autosave carries. */
  async editorNonces(postId: number): Promise<{ heartbeat: string; updatePost: string }> {
    const page = await this.request('GET', `/wp-admin/post.php?post=${postId}&action=edit`);
    const html = page.body.toString();
    const heartbeat = /heartbeatSettings\s*=\s*\{[^}]*"nonce":"([0-9a-f]+)"/.exec(html)?.[1];
    const updatePost = /name="_wpnonce" value="([0-9a-f]+)"/.exec(html)?.[1];
    if (page.status !== 200 || !heartbeat || !updatePost) throw new Error(`no editor nonces on post.php (HTTP ${page.status}):\n${html.slice(0, 500)}`);
    return { heartbeat, updatePost };
  }

  /** admin-ajax.php `heartbeat` with an autosave, as autosave.js sends it (jQuery's form encoding). */
  heartbeatAutosave(postId: number, title: string, content: string, nonces: { heartbeat: string; updatePost: string }): Promise<Received> {
    const fields: Array<[string, string]> = [
      ['data[wp_autosave][post_id]', String(postId)],
      ['data[wp_autosave][post_type]', 'post'],
      ['data[wp_autosave][post_title]', title],
      ['data[wp_autosave][content]', content],
      ['data[wp_autosave][_wpnonce]', nonces.updatePost],
      ['interval', '60'],
      ['_nonce', nonces.heartbeat],
      ['action', 'heartbeat'],
      ['screen_id', 'post'],
      ['has_focus', 'true'],
    ];
    const body = fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`.replace(/%20/g, '+')).join('&');
    return this.request('POST', '/wp-admin/admin-ajax.php', { headers: [['Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8'], ['X-Requested-With', 'XMLHttpRequest']], body });
  }

  /** A request with this client's cookies; cookies set by the answer are kept (path and expiry ignored: one site, one session). */
  async request(method: string, path: string, options: { headers?: Array<[string, string]>; body?: Buffer | string } = {}): Promise<Received> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const answer = await send(this.port, {
      method,
      path,
      headers: [['Host', this.host], ...(options.headers ?? []), ...(cookie ? [['Cookie', cookie] as [string, string]] : [])],
      body: options.body,
    });
    for (const line of answer.headers['set-cookie'] ?? []) {
      const [pair = ''] = line.split(';', 1);
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === 'deleted' || expired(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return answer;
  }
}

export type XmlRpcValue = string | number | boolean | Buffer | XmlRpcValue[] | { [name: string]: XmlRpcValue };

function xmlRpcValue(value: XmlRpcValue): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (Buffer.isBuffer(value)) return `<value><base64>${value.toString('base64').replace(/.{76}/g, '$&\n')}</base64></value>`;
  if (typeof value === 'string') return `<value><string>${escape(value)}</string></value>`;
  if (typeof value === 'number') return `<value><int>${value}</int></value>`;
  if (typeof value === 'boolean') return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (Array.isArray(value)) return `<value><array><data>${value.map(xmlRpcValue).join('')}</data></array></value>`;
  return `<value><struct>${Object.entries(value).map(([k, v]) => `<member><name>${escape(k)}</name>${xmlRpcValue(v)}</member>`).join('')}</struct></value>`;
}

/** A struct member's text in an XML-RPC answer (WordPress writes plain, unnested answers for these calls). */
export function xmlRpcMember(answer: string, name: string): string | undefined {
  return new RegExp(`<name>${name}</name>\\s*<value>\\s*(?:<(?:string|int|i4)>)?([^<]*)`).exec(answer)?.[1]?.trim();
}

/** WordPress clears a cookie by sending it again with an expiry in the past (a year back). */
function expired(setCookie: string): boolean {
  const maxAge = /;\s*max-age=(-?\d+)/i.exec(setCookie)?.[1];
  if (maxAge !== undefined) return Number(maxAge) <= 0;
  const expires = /;\s*expires=([^;]+)/i.exec(setCookie)?.[1];
  return expires !== undefined && Date.parse(expires) < Date.now();
}
