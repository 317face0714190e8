/**
 * Query strings and form bodies read exactly as PHP reads them into $_GET, $_POST and parse_str()
 * (php-src main/php_variables.c: php_default_treat_data and php_register_variable_ex), so an
 * adapter claims a request for the door the PHP CMS will really route it to:
 * - pairs split on `&` (empty ones skipped); name and value percent-decoded, `+` as a space;
 * - the name is cut at its first NUL, leading spaces dropped, then `.` and ` ` become `_`;
 * - `a[b][]` builds nested arrays (`[]` and `[ ]` append); a `[` with no closing `]` becomes `_` and so do
 *   any later ` `, `.` and `[`; after a `]`, anything but another `[` is ignored;
 * - the last duplicate wins (a scalar overwrites an array and the other way round);
 * - nesting deeper than max_input_nesting_level (64) drops the whole variable, and past max_input_vars
 *   (1000) PHP stops reading: see `phpReadings` for why adapters look at both.
 */

/** A PHP array: keys in insertion order, integer-like keys stored as integers (as zend_symtable does). */
export type PhpValue = string | PhpArray;
export class PhpArray {
  readonly entries = new Map<string | number, PhpValue>();
  private nextIndex = 0;

  get(key: string | number): PhpValue | undefined {
    return this.entries.get(phpKey(key));
  }

  /** A string value, or undefined when missing or an array (as `is_string($_GET[...])`). */
  string(key: string): string | undefined {
    const value = this.get(key);
    return typeof value === 'string' ? value : undefined;
  }

  set(key: string | number, value: PhpValue): void {
    const k = phpKey(key);
    // PHP keeps a key's original position when it is overwritten.
    this.entries.set(k, value);
    if (typeof k === 'number' && k >= this.nextIndex) this.nextIndex = k + 1;
  }

  delete(key: string | number): void {
    this.entries.delete(phpKey(key));
  }

  append(value: PhpValue): void {
    this.entries.set(this.nextIndex, value);
    this.nextIndex += 1;
  }
}

export const PHP_MAX_INPUT_VARS = 1000;
export const PHP_MAX_INPUT_NESTING = 64;

export interface PhpParseOptions {
  /** Stop after this many variables, as PHP does (default: no limit). */
  maxInputVars?: number;
}

/** The array PHP builds from a query string (no leading `?`) or a form-encoded body. */
export function parsePhpQuery(query: string, options: PhpParseOptions = {}): PhpArray {
  const result = new PhpArray();
  const max = options.maxInputVars ?? Infinity;
  let count = 0;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    if (++count > max) break;
    const eq = pair.indexOf('=');
    const name = phpUrlDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : phpUrlDecode(pair.slice(eq + 1));
    registerVariable(result, name, value);
  }
  return result;
}

/**
 * Every way a PHP site may read this query: with the default max_input_vars and without a limit
 * (a site may raise it). Both readings agree unless there are more than 1000 variables; an adapter
 * claims the request when any reading routes it to an upload door, so padding cannot hide one.
 */
export function phpReadings(query: string): PhpArray[] {
  const all = parsePhpQuery(query);
  const pairs = query.split('&').filter((p) => p !== '').length;
  return pairs > PHP_MAX_INPUT_VARS ? [all, parsePhpQuery(query, { maxInputVars: PHP_MAX_INPUT_VARS })] : [all];
}

/** The query string of a URL as PHP gets it in QUERY_STRING (no `?`). */
export function queryOf(url: URL): string {
  return url.search.startsWith('?') ? url.search.slice(1) : url.search;
}

/** Every string value PHP may see for `name` in the URL's query (see phpReadings). */
export function phpQueryStrings(url: URL, name: string): string[] {
  const values: string[] = [];
  for (const reading of phpReadings(queryOf(url))) {
    const value = reading.string(name);
    if (value !== undefined && !values.includes(value)) values.push(value);
  }
  return values;
}

/** PHP's urldecode(): `+` is a space, `%XX` with two hex digits a byte, anything else as it is; bytes read as UTF-8 where valid. */
export function phpUrlDecode(text: string): string {
  if (!/[%+]/.test(text)) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2b) bytes.push(0x20);
    else if (ch === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x80) bytes.push(ch);
    else for (const b of Buffer.from(text[i]!, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

function registerVariable(target: PhpArray, rawName: string, value: string): void {
  // The name is a C string: PHP sees it only up to its first NUL.
  const nul = rawName.indexOf('\0');
  const name = (nul === -1 ? rawName : rawName.slice(0, nul)).replace(/^ +/, '');
  const bracket = name.indexOf('[');
  const base = (bracket === -1 ? name : name.slice(0, bracket)).replace(/[ .]/g, '_');
  if (base === '') return;
  if (bracket === -1) {
    target.set(base, value);
    return;
  }
  // Walk the `[index]` groups.
  let table = target;
  let index: string | undefined = base;
  let rest = name.slice(bracket);
  let level = 0;
  for (;;) {
    if (++level > PHP_MAX_INPUT_NESTING) {
      // PHP drops the whole variable, even a value it had before.
      target.delete(base);
      return;
    }
    // rest starts with '['; one whitespace after it is skipped when looking for `]`.
    const close = rest.indexOf(']', 1);
    let key: string | undefined;
    if (rest[1] === ']' || (/^\[[ \t\n\v\f\r]\]/.test(rest))) {
      rest = rest.slice(rest[1] === ']' ? 2 : 3);
      key = undefined;
    } else if (close === -1) {
      // Not an index. Right after the name, the '[' and any later ' ', '.', '[' become '_' and it
      // is all one plain name; after an earlier `[key]`, PHP's C string of the key ends at its
      // ']', so the rest is dropped and the key is a plain name.
      if (level === 1) index = `${base}_${rest.slice(1).replace(/[ .[]/g, '_')}`;
      break;
    } else {
      key = rest.slice(1, close);
      rest = rest.slice(close + 1);
    }
    table = childArray(table, index);
    index = key;
    if (!rest.startsWith('[')) break;
  }
  if (index === undefined) table.append(value);
  else table.set(index, value);
}

/** The array at `index` in `table` (created, or replacing a scalar, as PHP does); `undefined` appends. */
function childArray(table: PhpArray, index: string | undefined): PhpArray {
  if (index === undefined) {
    const child = new PhpArray();
    table.append(child);
    return child;
  }
  const existing = table.get(index);
  if (existing instanceof PhpArray) return existing;
  const child = new PhpArray();
  table.set(index, child);
  return child;
}

/** zend_symtable's rule: a decimal integer string without leading zeros (or "-" + one) is an integer key. */
function phpKey(key: string | number): string | number {
  if (typeof key === 'number') return key;
  if (/^(?:0|-?[1-9][0-9]{0,18})$/.test(key)) {
    const n = Number(key);
    if (Number.isSafeInteger(n)) return n;
  }
  return key;
}
