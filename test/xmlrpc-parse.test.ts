import { describe, expect, it } from 'vitest';
import { parseXml, XmlError } from '../src/proxy/xml/xml-document.js';

/** The small XML reader behind the XML-RPC adapter: what it reads, what it refuses, what it writes back. */
const DOC = '<?xml version="1.0"?>\n<methodCall><methodName>wp&#46;get<!-- c -->Posts<?pi x?><![CDATA[!]]>&#x263A;&amp;</methodName><params><param><value><string/></value></param></params></methodCall>';

describe('XML reader', () => {
  it('resolves references and CDATA, skips comments and PIs inside text', () => {
    const doc = parseXml(Buffer.from(DOC));
    expect(doc.elements.find((e) => e.name === 'methodName')!.text).toBe('wp.getPosts!☺&');
  });

  it.each([
    ['UTF-8 with a BOM', (s: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)])],
    ['UTF-16LE with a BOM', (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')])],
    ['UTF-16BE with a BOM', (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()])],
    ['UTF-16LE without a BOM', (s: string) => Buffer.from(s.replace('<?xml version="1.0"?>\n', ''), 'utf16le')],
    ['ISO-8859-1', (s: string) => Buffer.from(s.replace('?>', ' encoding="ISO-8859-1"?>').replace('<string/>', '<string>café</string>'), 'latin1')],
  ])('%s: read, and rebuilt in the same encoding with only the replaced content changed', (_label, encode) => {
    const body = encode(DOC);
    const doc = parseXml(body);
    const name = doc.elements.find((e) => e.name === 'methodName')!;
    expect(name.text).toBe('wp.getPosts!☺&');
    const rebuilt = doc.rebuild(new Map([[name, 'wp.newPost & ü']]));
    const again = parseXml(rebuilt);
    expect(again.encoding).toBe(doc.encoding);
    expect(again.elements.find((e) => e.name === 'methodName')!.text).toBe('wp.newPost & ü');
    expect(again.elements.map((e) => e.text)).toEqual(doc.elements.map((e) => (e.name === 'methodName' ? 'wp.newPost & ü' : e.text)));
    expect(Buffer.from(rebuilt.subarray(0, 2)).equals(body.subarray(0, 2))).toBe(true);
  });

  it('fills a self-closing element', () => {
    const doc = parseXml(Buffer.from(DOC));
    const string = doc.elements.find((e) => e.name === 'string')!;
    const rebuilt = Buffer.from(doc.rebuild(new Map([[string, 'x<y']]))).toString();
    expect(rebuilt).toContain('<value><string>x&lt;y</string></value>');
  });

  it.each([
    ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'],
    ['an undefined entity', '<a>&nbsp;</a>'],
    ['a bare "&"', '<a>fish & chips</a>'],
    ['a NUL character reference', '<a>&#0;</a>'],
    ['a raw control character', '<a>\u0001</a>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['two roots', '<a/><b/>'],
    ['an unterminated CDATA', '<a><![CDATA[x</a>'],
    ['"--" in a comment', '<a><!-- a -- b --></a>'],
    ['a declaration in the middle', '<a><?xml version="1.0"?></a>'],
    ['an unknown encoding', '<?xml version="1.0" encoding="windows-1251"?><a/>'],
    ['UTF-32', '\u0000\u0000\u0000<\u0000\u0000\u0000a'],
    ['invalid UTF-8', Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e])],
    ['elements nested too deeply', `${'<a>'.repeat(300)}${'</a>'.repeat(300)}`],
  ])('refuses %s', (_label, body) => {
    expect(() => parseXml(Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'))).toThrow(XmlError);
  });
});
