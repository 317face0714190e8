import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * WordPress's own XML-RPC reader (IXR_Message from Debian's WordPress, run by the PHP CLI) as
 * the witness of what WordPress would read from a body: no test relies only on Veil's parser.
 */
const IXR = '/usr/share/wordpress/wp-includes/IXR';
export const HAS_IXR = spawnSync('php', ['-v']).status === 0 && existsSync(`${IXR}/class-IXR-message.php`);

export type IxrValue = Buffer | number | boolean | IxrValue[] | { [key: string]: IxrValue };
export type IxrReading = { ok: false } | { ok: true; methodName: string; params: IxrValue[] };

const SCRIPT = `
function apply_filters($name, $value) { return $value; }
function __($text) { return $text; }
require '${IXR}/class-IXR-date.php';
require '${IXR}/class-IXR-message.php';
$m = new IXR_Message(stream_get_contents(STDIN));
if (!$m->parse()) { echo json_encode(['ok' => false]); exit; }
$wrap = function ($v) use (&$wrap) {
  if (is_array($v)) { $o = []; foreach ($v as $k => $x) { $o[$k] = $wrap($x); } return (object) ['a' => array_is_list($v), 'v' => (object) $o]; }
  if (is_string($v)) return ['s' => base64_encode($v)];
  if (is_object($v)) return ['s' => base64_encode($v->getIso())];
  return $v;
};
echo json_encode(['ok' => true, 'methodName' => base64_encode($m->methodName), 'params' => array_map($wrap, $m->params)]);
`;

function unwrap(value: unknown): IxrValue {
  if (value && typeof value === 'object' && 's' in value) return Buffer.from((value as { s: string }).s, 'base64');
  if (value && typeof value === 'object' && 'a' in value) {
    const { a, v } = value as { a: boolean; v: Record<string, unknown> };
    return a ? Object.values(v).map(unwrap) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  }
  return value as IxrValue;
}

export function ixrRead(body: Uint8Array): IxrReading {
  const out = JSON.parse(execFileSync('php', ['-r', SCRIPT], { input: body, maxBuffer: 256 * 1024 * 1024 }).toString()) as { ok: boolean; methodName: string; params: unknown[] };
  if (!out.ok) return { ok: false };
  return { ok: true, methodName: Buffer.from(out.methodName, 'base64').toString('utf8'), params: out.params.map(unwrap) };
}
