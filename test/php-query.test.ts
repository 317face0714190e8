import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PhpArray, parsePhpQuery, phpQueryStrings, type PhpValue } from '../src/proxy/php-query.js';

const HAS_PHP = spawnSync('php', ['-v']).status === 0;

/** Query strings where a naive reader and PHP disagree. */
const TRICKY = [
  'rest_route=/x&rest_route=/wp/v2/media',
  'rest.route=/wp/v2/media',
  'rest route=/wp/v2/media',
  '+rest_route=/wp/v2/media',
  '%20%20rest_route=a',
  'rest%2Eroute=/wp/v2/media',
  'rest_route%00junk=/wp/v2/media',
  'rest_route=/wp/v2/media%00tail',
  'option=com_content&option=com_media&task=api.files',
  'OPTION=com_media&option=x',
  'a[]=1&a[]=2&a[5]=x&a[]=y',
  'a[b][c]=1&a[b][d]=2',
  'a[b]c=1',
  'a[b=1',
  'a[b.c d[e=1',
  'a.b[c.d]=1',
  'a[b][c=1',
  'a[b]]=1',
  'a[]b=1&a[][x]=2',
  'a=1&a[]=2',
  'a[]=2&a=1',
  'a[0]=x&a[00]=y&a[-1]=z&a[-0]=w&a[1.5]=v',
  '[a]=1&=2&%5B=3',
  'a=%zz%4&b=%41%42+c&c=a+b%2Bc',
  'a==b=c&b&c=&&&d',
  'a%5Bb%5D=1&x%5B%5D=2',
  'a[ b]=1&a[b ]=2&a[ ]=3&a[%09]=4&a[  ]=5',
  `d=1&d${'[x]'.repeat(63)}=ok&f=1&f${'[x]'.repeat(64)}=gone`,
  'a[b][][c][]=1',
  `${'a['.repeat(3)}x${']'.repeat(3)}=deep`,
  `d${'[x]'.repeat(70)}=too-deep&e=1`,
  'é=ü&%C3%A9%2E=1',
  'action=upload-attachment&action=heartbeat',
  'a;b=1&c=2',
];

/** The JSON PHP's json_encode would write for this value (lists as arrays, other keys as objects). */
function asJson(value: PhpValue): unknown {
  if (typeof value === 'string') return value;
  const keys = [...value.entries.keys()];
  if (keys.every((k, i) => k === i)) return [...value.entries.values()].map(asJson);
  return Object.fromEntries([...value.entries].map(([k, v]) => [String(k), asJson(v)]));
}

function phpParseStr(query: string): unknown {
  const out = execFileSync('php', ['-r', 'parse_str(stream_get_contents(STDIN), $r); echo json_encode($r, JSON_THROW_ON_ERROR);'], { input: query });
  return JSON.parse(out.toString());
}

describe('PHP query strings', () => {
  it('keeps the last duplicate and turns "." and spaces in names into "_", as WordPress sees rest_route', () => {
    const url = (q: string) => new URL(`http://school.example/?${q}`);
    expect(phpQueryStrings(url('rest_route=/x&rest_route=/wp/v2/media'), 'rest_route')).toEqual(['/wp/v2/media']);
    expect(phpQueryStrings(url('rest.route=/wp/v2/media'), 'rest_route')).toEqual(['/wp/v2/media']);
    expect(phpQueryStrings(url('rest_route[]=/wp/v2/media'), 'rest_route')).toEqual([]);
    expect(parsePhpQuery('a[b][]=1&a[b][]=2').get('a')).toBeInstanceOf(PhpArray);
  });

  it('reads past max_input_vars both ways, so padding cannot hide a door', () => {
    const padding = Array.from({ length: 1000 }, (_, i) => `p${i}=1`).join('&');
    const url = new URL(`http://school.example/?rest_route=/wp/v2/media&${padding}&rest_route=/x`);
    expect(phpQueryStrings(url, 'rest_route').sort()).toEqual(['/wp/v2/media', '/x']);
  });

  it.skipIf(!HAS_PHP).each(TRICKY)('reads %j as PHP parse_str() does', (query) => {
    expect(asJson(parsePhpQuery(query))).toEqual(phpParseStr(query));
  });
});
