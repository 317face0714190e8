/**
 * Values of one XMP property, wherever the writer put them: as an attribute
 * (`dc:creator="..."`), as element text, or as the items of an rdf:Seq/Bag/Alt. XMP is RDF/XML,
 * but the handful of properties that identify people are found reliably this way, and a full RDF
 * parser would be a large dependency for a report.
 */
export function xmpValues(xmp: string, name: string): string[] {
  const values: string[] = [];
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const m of xmp.matchAll(new RegExp(`\\s${escaped}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g'))) {
    values.push(m[1] ?? m[2] ?? '');
  }
  for (const m of xmp.matchAll(new RegExp(`<${escaped}(?:\\s[^>]*)?>([\\s\\S]*?)</${escaped}>`, 'g'))) {
    const inner = m[1] ?? '';
    const items = [...inner.matchAll(/<rdf:li(?:\s[^>]*)?>([\s\S]*?)<\/rdf:li>/g)].map((li) => li[1] ?? '');
    values.push(...(items.length > 0 ? items : [inner]));
  }
  return values
    .map((v) => decodeEntities(v.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim())
    .filter((v) => v.length > 0);
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
