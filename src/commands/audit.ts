import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { auditFolder } from '../audit/site/audit-folder.js';
import { auditSite } from '../audit/site/crawl-site.js';
import { fixFolder } from '../audit/site/fix-folder.js';
import { terminalProgress } from '../audit/site/progress.js';
import { auditCsv } from '../audit/site/report-csv.js';
import { auditHtml } from '../audit/site/report-html.js';
import { summaryLine } from '../audit/site/report-words.js';
import { isVeilError } from '../pipeline/errors.js';
import { DEFAULT_LIMITS } from '../pipeline/limits.js';
import { DEFAULT_MAX_EDGE } from '../pipeline/sanitise.js';
import { EXIT, line, parseNumber, UsageError, type CommandIO } from './io.js';

export const AUDIT_USAGE = `Usage: veil audit TARGET [--out DIR] [--fix | --dry-run] [options]

Finds what the pictures already published give away, and writes a report (report.html and
report.csv) into DIR. TARGET is a site address (https://school.example) or a folder (for example
wp-content/uploads on the web server).

For a site: pages are found from sitemap.xml, robots.txt's sitemaps and links, on the same site
only and as robots.txt allows; the WordPress media list is read where it answers, so originals
no page links (the one beside each "-scaled" copy) are found too.

Options:
  -o, --out DIR            where the report goes (default ./veil-audit-YYYYMMDD-HHMM)
      --fix                folder only: rewrite each flagged picture in place (same name and
                           format), keeping a private backup under DATA_DIR/audit-backups
      --dry-run            folder only: show what --fix would change; nothing is written
      --max-edge N         pictures longer than N px are flagged, and --fix shrinks them (default ${DEFAULT_MAX_EDGE})
      --no-faces           do not look for faces (and make no thumbnails)
      --max-pages N        site: read at most N pages (default 2000)
      --max-images N       check at most N pictures (default 20000)
      --max-bytes N        skip pictures larger than N bytes (default ${DEFAULT_LIMITS.maxBytes})
      --concurrency N      site: requests at once (default 2)
      --timeout S          site: seconds allowed for one download (default 30)
      --data-dir DIR       where backups go (default DATA_DIR, else ./.veil-data)
      --backup-days N      backups are deleted after N days (default 30)
      --json               print the summary as JSON
Exit status: 0 nothing needs action, 1 the audit could not run, 2 usage error,
4 something needs action (GPS, faces, names, size, or a picture that could not be checked).`;

export async function auditCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      fix: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'max-edge': { type: 'string' },
      'no-faces': { type: 'boolean', default: false },
      'max-pages': { type: 'string' },
      'max-images': { type: 'string' },
      'max-bytes': { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'data-dir': { type: 'string' },
      'backup-days': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('name one site address or folder to audit');
  const target = positionals[0]!;
  const isSite = /^https?:\/\//i.test(target);
  if (/^s3:\/\//i.test(target)) throw new UsageError('S3 buckets cannot be audited yet; audit the site that serves them, or a copy of the bucket in a folder');
  if (isSite && (values.fix || values['dry-run'])) throw new UsageError('--fix and --dry-run work on a folder; a site is only reported');
  if (values.fix && values['dry-run']) throw new UsageError('give --fix or --dry-run, not both');

  const maxEdge = parseNumber('--max-edge', values['max-edge'], 16, 20000) ?? DEFAULT_MAX_EDGE;
  const maxBytes = parseNumber('--max-bytes', values['max-bytes'], 1, 2 ** 31) ?? DEFAULT_LIMITS.maxBytes;
  const examine = { maxEdge, limits: { ...DEFAULT_LIMITS, maxBytes }, faces: !values['no-faces'] };
  const maxImages = parseNumber('--max-images', values['max-images'], 1, 1_000_000) ?? 20_000;
  const progress = terminalProgress(io.stderr);
  const now = new Date();
  const out = values.out ?? `veil-audit-${now.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}`;

  let result;
  try {
    if (isSite) {
      result = await auditSite(target, {
        examine,
        maxImages,
        maxPages: parseNumber('--max-pages', values['max-pages'], 1, 1_000_000) ?? 2000,
        concurrency: parseNumber('--concurrency', values.concurrency, 1, 16) ?? 2,
        timeoutMs: (parseNumber('--timeout', values.timeout, 1, 3600) ?? 30) * 1000,
        progress,
      });
    } else {
      result = await auditFolder(target, { examine, maxImages, progress });
      if (values.fix || values['dry-run']) {
        const { backupDir } = await fixFolder(result, {
          root: target,
          examine,
          dryRun: values['dry-run'],
          dataDir: values['data-dir'] ?? process.env.DATA_DIR ?? './.veil-data',
          backupDays: parseNumber('--backup-days', values['backup-days'], 1, 3650) ?? 30,
          progress,
        });
        if (backupDir) result.notes.push(`Originals of the rewritten pictures are kept in ${backupDir} until it expires.`);
        recount(result);
      }
    }
  } catch (err) {
    if (!isVeilError(err)) throw err;
    line(io.stderr, `veil audit: ${err.code}: ${err.message}`);
    return EXIT.failed;
  }

  // The report can name people and shows where pictures are: private to whoever ran the audit.
  await mkdir(out, { recursive: true, mode: 0o700 });
  const html = path.join(out, 'report.html');
  const csv = path.join(out, 'report.csv');
  await writeFile(html, auditHtml(result, now), { mode: 0o600 });
  await writeFile(csv, auditCsv(result, now), { mode: 0o600 });
  await Promise.all([chmod(html, 0o600), chmod(csv, 0o600)]);

  const s = result.summary;
  if (values.json) line(io.stdout, JSON.stringify({ ...s, report: html, csv }));
  else {
    line(io.stdout, summaryLine(s));
    if (values['dry-run']) {
      for (const row of result.images) if (row.fix) line(io.stdout, `  ${row.fix.status === 'would-fix' ? 'would fix' : 'would not fix'} ${row.location}${row.fix.status === 'not-fixed' ? `: ${row.fix.why}` : ''}`);
    }
    line(io.stdout, `Report: ${html}\nCSV:    ${csv}`);
  }
  return s.needsAction > 0 ? EXIT.needsAction : EXIT.ok;
}

function recount(result: Awaited<ReturnType<typeof auditFolder>>): void {
  const s = result.summary;
  const count = (r: string) => result.images.filter((i) => i.reasons.includes(r as never)).length;
  Object.assign(s, {
    gps: count('gps'),
    faces: count('faces'),
    large: count('large'),
    personNames: count('person-name'),
    unchecked: count('unchecked'),
    needsAction: result.images.filter((i) => i.reasons.length > 0).length,
    fixed: result.images.filter((i) => i.fix?.status === 'fixed').length,
    finishedAt: new Date().toISOString(),
  });
}
