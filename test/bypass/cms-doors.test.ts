import { describe } from 'vitest';
import { formBody } from '../helpers/http.js';
import type { AttemptContext } from './harness.js';
import { b64, dataUri, mime76, useBypassStack } from './harness.js';

/** The doors each CMS has, and the ways PHP reads a query string that Veil might not. */
const stack = useBypassStack();
const { attempt } = stack;

function req(ctx: AttemptContext, method: string, path: string, type: string | undefined, bytes: Buffer | string, extra: Array<[string, string]> = []) {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  const headers: Array<[string, string]> = [['Host', 'school.example'], ['Content-Length', String(b.length)], ...extra];
  if (type !== undefined) headers.push(['Content-Type', type]);
  return ctx.send({ method, path, headers, body: b });
}

const BOUNDARY = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
function multipart(ctx: AttemptContext, path: string, parts: Parameters<typeof formBody>[0], method = 'POST') {
  return req(ctx, method, path, `multipart/form-data; boundary=${BOUNDARY}`, formBody(parts, BOUNDARY));
}
const jpegPart = (photo: Buffer, name = 'file', filename = 'jane-smith-year6.jpg', contentType = 'image/jpeg') => ({ name, filename, contentType, data: photo });
const img = (photo: Buffer) => `<p>Sports day</p><p><img src="${dataUri(photo)}" alt="Tom"></p>`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('WordPress admin-ajax.php', () => {
  attempt('heartbeat autosave with a pasted data: image in the content', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-admin/admin-ajax.php', 'application/x-www-form-urlencoded; charset=UTF-8', form({ action: 'heartbeat', 'data[wp_autosave][post_id]': '5', 'data[wp_autosave][content]': img(ctx.photo), interval: '60' })),
  );
  attempt('heartbeat autosave, percent-encoded with encodeURIComponent', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-admin/admin-ajax.php', 'application/x-www-form-urlencoded', `action=heartbeat&data%5Bwp_autosave%5D%5Bcontent%5D=${encodeURIComponent(img(ctx.photo))}`),
  );
  attempt('Elementor save_builder: JSON in a form field with an image url data:', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-admin/admin-ajax.php', 'application/x-www-form-urlencoded', form({ action: 'elementor_ajax', actions: JSON.stringify({ save_builder: { action: 'save_builder', data: { elements: [{ settings: { image: { url: dataUri(ctx.photo) } } }] } } }) })),
  );
  attempt('Divi et_fb_ajax_save: modules JSON with \\/ escapes', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-admin/admin-ajax.php', 'application/x-www-form-urlencoded', form({ action: 'et_fb_ajax_save', modules: JSON.stringify([{ attrs: { src: dataUri(ctx.photo) } }]).replace(/\//g, '\\/') })),
  );
  attempt('page builder posting application/json to admin-ajax.php', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-admin/admin-ajax.php?action=builder_save', 'application/json', JSON.stringify({ action: 'builder_save', content: img(ctx.photo) })),
  );
  attempt('admin-ajax upload-attachment multipart with the photo', 'jpeg', (ctx) =>
    multipart(ctx, '/wp-admin/admin-ajax.php', [{ name: 'action', data: 'upload-attachment' }, { name: '_wpnonce', data: 'abc' }, jpegPart(ctx.photo, 'async-upload')]),
  );
  attempt('admin-ajax with a raw base64 (no data: prefix) field', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-admin/admin-ajax.php', 'application/x-www-form-urlencoded', form({ action: 'crop_image', image: b64(ctx.photo) })),
  );
  attempt('admin-ajax with the image as the query string', 'jpeg', (ctx) =>
    req(ctx, 'POST', `/wp-admin/admin-ajax.php?action=save&img=${encodeURIComponent(dataUri(ctx.photo.subarray(0, 3000)))}`, 'application/x-www-form-urlencoded', 'x=1'),
  );
  attempt('the image as base64url in PATH_INFO (index.php/api/photo/...)', 'jpeg', (ctx) =>
    req(ctx, 'POST', `/index.php/api/photo/${ctx.photo.subarray(0, 3000).toString('base64url')}`, 'application/x-www-form-urlencoded', 'x=1'),
  );
});

describe('WordPress REST (wp-json) raw and multipart', () => {
  attempt('POST /wp-json/wp/v2/media raw JPEG with Content-Disposition', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-json/wp/v2/media', 'image/jpeg', ctx.photo, [['Content-Disposition', 'attachment; filename="jane-smith-year6.jpg"']]),
  );
  attempt('POST /wp-json/wp/v2/media multipart', 'jpeg', (ctx) => multipart(ctx, '/wp-json/wp/v2/media', [jpegPart(ctx.photo)]));
  attempt('POST /wp-json/wp/v2/media raw, declared text/plain', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-json/wp/v2/media', 'text/plain', ctx.photo, [['Content-Disposition', 'attachment; filename="a.jpg"']]),
  );
  attempt('POST /wp-json/wp/v2/posts with a data: image in content (Gutenberg)', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-json/wp/v2/posts/5', 'application/json', JSON.stringify({ content: `<!-- wp:image --><figure class="wp-block-image"><img src="${dataUri(ctx.photo)}"/></figure><!-- /wp:image -->` })),
  );
  attempt('POST /wp-json/wp/v2/posts/5/autosaves with a data: image', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-json/wp/v2/posts/5/autosaves', 'application/json', JSON.stringify({ content: img(ctx.photo) })),
  );
  attempt('POST /?rest_route=/wp/v2/media raw PNG', 'png', (ctx) =>
    req(ctx, 'POST', '/?rest_route=/wp/v2/media', 'image/png', ctx.photo, [['Content-Disposition', 'attachment; filename="a.png"']]),
  );
  attempt('POST /index.php/wp-json/wp/v2/media (PATH_INFO) octet-stream', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/index.php/wp-json/wp/v2/media', 'application/octet-stream', ctx.photo, [['Content-Disposition', 'attachment; filename="a.jpg"']]),
  );
  attempt('POST /wp-json/wp/v2/media with the body a JSON base64', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-json/wp/v2/media', 'application/json', JSON.stringify({ file: b64(ctx.photo), title: 'x' })),
  );
  attempt('POST /wp-json/wp/v2/media?_method=PUT with a text/plain JPEG', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/wp-json/wp/v2/media/7?_method=PUT', 'text/plain', ctx.photo),
  );
});

describe('PHP query-string parsing: duplicated rest_route, rest.route, arrays, Joomla option', () => {
  for (const [label, query] of [
    ['?rest_route=/x&rest_route=/wp/v2/media', '/?rest_route=/x&rest_route=/wp/v2/media'],
    ['?rest.route=/wp/v2/media', '/?rest.route=/wp/v2/media'],
    ['?rest%20route=/wp/v2/media', '/?rest%20route=/wp/v2/media'],
    ['?rest+route=/wp/v2/media', '/?rest+route=/wp/v2/media'],
    ['?rest_route=%2Fwp%2Fv2%2Fmedia (encoded)', '/?rest_route=%2Fwp%2Fv2%2Fmedia'],
    ['?rest_route=/WP/V2/MEDIA (case)', '/?rest_route=/WP/V2/MEDIA'],
    ['?rest_route=/wp/v2//media (double slash)', '/?rest_route=/wp/v2//media'],
    ['?rest_route[]=/wp/v2/media (array)', '/?rest_route[]=/wp/v2/media'],
    ['?x=1;rest_route=/wp/v2/media (semicolon)', '/?x=1&rest_route=/wp/v2/media;'],
  ] as const) {
    attempt(`${label} with a text/plain JPEG`, 'jpeg', (ctx) => req(ctx, 'POST', query, 'text/plain', ctx.photo, [['Content-Disposition', 'attachment; filename="a.jpg"']]));
  }
  attempt('?rest_route=/x&rest_route=/wp/v2/media multipart with a text/plain file part', 'jpeg', (ctx) =>
    multipart(ctx, '/?rest_route=/x&rest_route=/wp/v2/media', [jpegPart(ctx.photo, 'file', 'a.txt', 'text/plain')]),
  );
  const joomla = (photo: Buffer) => JSON.stringify({ name: 'jane-smith-year6.jpg', content: b64(photo) });
  attempt('Joomla ?option=com_content&option=com_media&task=api.files JSON base64', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/administrator/index.php?option=com_content&option=com_media&task=api.files&path=local-images:/', 'application/json', joomla(ctx.photo)),
  );
  attempt('Joomla ?task=x&task=api.files&option=com_media', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/administrator/index.php?option=com_media&task=x&task=api.files', 'application/json', joomla(ctx.photo)),
  );
  attempt('Joomla option[]=com_media (array)', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/administrator/index.php?option[]=com_media&task=api.files', 'application/json', joomla(ctx.photo)),
  );
  attempt('Joomla OPTION=COM_MEDIA (case)', 'jpeg', (ctx) => req(ctx, 'POST', '/administrator/index.php?option=COM_MEDIA&task=API.FILES', 'application/json', joomla(ctx.photo)));
  attempt('Joomla com_media PUT with JSON base64', 'jpeg', (ctx) => req(ctx, 'PUT', '/administrator/index.php?option=com_media&task=api.files&path=local-images:/a.jpg', 'application/json', joomla(ctx.photo)));
  attempt('Joomla web services api/index.php/v1/media/files', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/api/index.php/v1/media/files', 'application/json', JSON.stringify({ path: 'local-images:/a.jpg', content: b64(ctx.photo) })),
  );
  attempt('Joomla web services, content as a data: URI with MIME line breaks', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/api/index.php/v1/media/files', 'application/vnd.api+json', JSON.stringify({ path: 'local-images:/a.jpg', content: mime76(b64(ctx.photo)) })),
  );
});

describe('WordPress XML-RPC', () => {
  const upload = (method: string, bits: string, type = 'image/jpeg') =>
    `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params><param><value><int>1</int></value></param><param><value><string>admin</string></value></param><param><value><string>pw</string></value></param><param><value><struct><member><name>name</name><value><string>jane-smith-year6.jpg</string></value></member><member><name>type</name><value><string>${type}</string></value></member><member><name>bits</name><value><base64>${bits}</base64></value></member></struct></value></param></params></methodCall>`;
  const post = (method: string, content: string) =>
    `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params><param><value><int>1</int></value></param><param><value><string>admin</string></value></param><param><value><string>pw</string></value></param><param><value><struct><member><name>post_content</name><value><string>${content}</string></value></member><member><name>description</name><value><string>${content}</string></value></member></struct></value></param></params></methodCall>`;
  const xml = (ctx: AttemptContext, body: string | Buffer, type: string | undefined = 'text/xml') => req(ctx, 'POST', '/xmlrpc.php', type, body);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

  attempt('wp.uploadFile with <base64>', 'jpeg', (ctx) => xml(ctx, upload('wp.uploadFile', b64(ctx.photo))));
  attempt('metaWeblog.newMediaObject with <base64>', 'jpeg', (ctx) => xml(ctx, upload('metaWeblog.newMediaObject', b64(ctx.photo))));
  attempt('wp.uploadFile with 76-column MIME base64', 'jpeg', (ctx) => xml(ctx, upload('wp.uploadFile', mime76(b64(ctx.photo)))));
  attempt('method name wp&#46;uploadFile', 'jpeg', (ctx) => xml(ctx, upload('wp&#46;uploadFile', b64(ctx.photo))));
  attempt('method name in CDATA', 'jpeg', (ctx) => xml(ctx, upload('<![CDATA[wp.uploadFile]]>', b64(ctx.photo))));
  attempt('method name with a comment inside', 'jpeg', (ctx) => xml(ctx, upload('wp.<!-- x -->uploadFile', b64(ctx.photo))));
  attempt('method name with whitespace around it', 'jpeg', (ctx) => xml(ctx, upload('\n  metaWeblog.newMediaObject\n', b64(ctx.photo))));
  attempt('body in UTF-16LE with a BOM', 'jpeg', (ctx) =>
    xml(ctx, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(upload('wp.uploadFile', b64(ctx.photo)).replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'), 'utf16le')])),
  );
  attempt('body in UTF-16BE without a BOM', 'jpeg', (ctx) => xml(ctx, Buffer.from(upload('wp.uploadFile', b64(ctx.photo)), 'utf16le').swap16()));
  attempt('base64 with entities &#43; and &#47; for + and /', 'jpeg', (ctx) => xml(ctx, upload('wp.uploadFile', b64(ctx.photo).replace(/\+/g, '&#43;').replace(/\//g, '&#47;'))));
  attempt('bits in CDATA split in two', 'jpeg', (ctx) => {
    const s = b64(ctx.photo);
    return xml(ctx, upload('wp.uploadFile', `<![CDATA[${s.slice(0, 4001)}]]><![CDATA[${s.slice(4001)}]]>`));
  });
  attempt('bits as a <string>, not <base64>', 'jpeg', (ctx) => xml(ctx, upload('wp.uploadFile', b64(ctx.photo)).replace('<base64>', '<string>').replace('</base64>', '</string>')));
  attempt('system.multicall wrapping wp.uploadFile', 'jpeg', (ctx) =>
    xml(ctx, `<?xml version="1.0"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data><value><struct><member><name>methodName</name><value><string>wp.uploadFile</string></value></member><member><name>params</name><value><array><data><value><int>1</int></value><value><struct><member><name>bits</name><value><base64>${b64(ctx.photo)}</base64></value></member></struct></value></data></array></value></member></struct></value></data></array></value></param></params></methodCall>`),
  );
  attempt('wp.uploadFile sent as application/xml', 'jpeg', (ctx) => xml(ctx, upload('wp.uploadFile', b64(ctx.photo)), 'application/xml'));
  attempt('wp.uploadFile with no Content-Type', 'jpeg', (ctx) => xml(ctx, upload('wp.uploadFile', b64(ctx.photo)), undefined));
  attempt('wp.uploadFile to /XMLRPC.PHP?rsd (case, query)', 'jpeg', (ctx) => req(ctx, 'POST', '/XMLRPC.PHP?rsd', 'text/xml', upload('wp.uploadFile', b64(ctx.photo))));
  attempt('wp.newPost with a data: image in the content (escaped HTML)', 'jpeg', (ctx) => xml(ctx, post('wp.newPost', esc(img(ctx.photo)))));
  attempt('metaWeblog.newPost with a data: image in the description', 'jpeg', (ctx) => xml(ctx, post('metaWeblog.newPost', esc(img(ctx.photo)))));
  attempt('wp.editPost with the data: image in CDATA', 'jpeg', (ctx) => xml(ctx, post('wp.editPost', `<![CDATA[${img(ctx.photo)}]]>`)));
  attempt('wp.newPost with the data: URI written with &#x2F; entities', 'jpeg', (ctx) => xml(ctx, post('wp.newPost', esc(img(ctx.photo)).replace(/\//g, '&#x2F;'))));
});

describe('Drupal, Moodle, Ghost and Joomla 3 doors', () => {
  attempt('Drupal JSON:API file upload, Content-Disposition: file; filename=', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/jsonapi/node/article/field_image', 'application/octet-stream', ctx.photo, [['Content-Disposition', 'file; filename="jane-smith-year6.jpg"'], ['Accept', 'application/vnd.api+json']]),
  );
  attempt('Drupal JSON:API file upload declared text/plain', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/jsonapi/media/image/field_media_image', 'text/plain', ctx.photo, [['Content-Disposition', 'file; filename="a.jpg"']]),
  );
  attempt('Drupal REST /file/upload/node/article/field_image?_format=json', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/file/upload/node/article/field_image?_format=json', 'application/octet-stream', ctx.photo, [['Content-Disposition', 'file; filename="a.jpg"']]),
  );
  attempt('Drupal node form: body[0][value] with a pasted data: image (multipart)', 'jpeg', (ctx) =>
    multipart(ctx, '/node/add/article', [{ name: 'title[0][value]', data: 'Sports day' }, { name: 'body[0][value]', data: img(ctx.photo) }, { name: 'form_id', data: 'node_article_form' }]),
  );
  attempt('Drupal JSON:API node with a data: image in body.value', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/jsonapi/node/article', 'application/vnd.api+json', JSON.stringify({ data: { type: 'node--article', attributes: { body: { value: img(ctx.photo), format: 'full_html' } } } })),
  );
  attempt('Moodle repository_ajax.php?action=upload multipart', 'jpeg', (ctx) =>
    multipart(ctx, '/repository/repository_ajax.php?action=upload', [{ name: 'repo_id', data: '5' }, { name: 'sesskey', data: 'k' }, jpegPart(ctx.photo, 'repo_upload_file')]),
  );
  attempt('Moodle repository_ajax.php with the file part as text/plain .txt', 'jpeg', (ctx) =>
    multipart(ctx, '/repository/repository_ajax.php?action=upload', [{ name: 'repo_id', data: '5' }, jpegPart(ctx.photo, 'repo_upload_file', 'notes.txt', 'text/plain')]),
  );
  attempt('Moodle webservice core_files_upload with base64 filecontent', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/webservice/rest/server.php', 'application/x-www-form-urlencoded', form({ wstoken: 't', wsfunction: 'core_files_upload', filename: 'a.jpg', filecontent: b64(ctx.photo) })),
  );
  attempt('Moodle webservice/upload.php multipart', 'jpeg', (ctx) => multipart(ctx, '/webservice/upload.php?token=t', [jpegPart(ctx.photo, 'file_1')]));
  attempt('Moodle forum post with a data: image in message[text]', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/mod/forum/post.php', 'application/x-www-form-urlencoded', form({ 'message[text]': img(ctx.photo), 'message[format]': '1' })),
  );
  attempt('Ghost admin images/upload multipart', 'jpeg', (ctx) => multipart(ctx, '/ghost/api/admin/images/upload/', [jpegPart(ctx.photo), { name: 'purpose', data: 'image' }]));
  attempt('Ghost v3 admin images/upload with the part as application/octet-stream', 'jpeg', (ctx) =>
    multipart(ctx, '/ghost/api/v3/admin/images/upload/', [jpegPart(ctx.photo, 'file', 'a.jpg', 'application/octet-stream')]),
  );
  attempt('Ghost admin posts with a data: image in lexical JSON', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/ghost/api/admin/posts/?source=html', 'application/json', JSON.stringify({ posts: [{ title: 'x', lexical: JSON.stringify({ root: { children: [{ type: 'image', src: dataUri(ctx.photo) }] } }) }] })),
  );
  attempt('Ghost admin media/upload with a HEIC', 'heic', (ctx) => multipart(ctx, '/ghost/api/admin/media/upload/', [{ name: 'file', filename: 'a.heic', contentType: 'image/heic', data: ctx.photo }]));
  attempt('Joomla 3 media manager multipart Filedata[]', 'jpeg', (ctx) =>
    multipart(ctx, '/administrator/index.php?option=com_media&task=file.upload&tmpl=component', [{ name: 'Filedata[]', filename: 'a.jpg', contentType: 'image/jpeg', data: ctx.photo }]),
  );
  attempt('Joomla article save with a data: image in jform[articletext]', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/administrator/index.php?option=com_content&task=article.save', 'application/x-www-form-urlencoded', form({ 'jform[articletext]': img(ctx.photo), 'jform[title]': 'x' })),
  );
});
