/**
 * The Worker bundle as `wrangler deploy` would upload it (built with `--dry-run`, nothing sent):
 * it must be built from the shared proxy code and contain nothing that needs Node: no sharp, ONNX,
 * BullMQ or Redis client, no disk spool, no node:http forwarder.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { quietWranglerEnv } from './helpers/edge.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRANGLER = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const work = mkdtempSync(path.join(tmpdir(), 'veil-edge-bundle-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Metafile {
  inputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
}

interface Bundle {
  /** Input paths relative to the project root. */
  inputs: string[];
  /** Modules left for the runtime to provide (Node built-ins under nodejs_compat). */
  externals: string[];
  code: string;
}

function buildBundle(name: string, args: string[], cwd: string): Bundle {
  const outdir = path.join(work, name);
  const run = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, '--metafile', ...args], {
    cwd,
    env: { ...process.env, ...quietWranglerEnv() },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.status, `wrangler deploy --dry-run failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
  const meta = JSON.parse(readFileSync(path.join(outdir, 'bundle-meta.json'), 'utf8')) as Metafile;
  const inputs = Object.keys(meta.inputs).map((input) => path.relative(ROOT, path.resolve(cwd, input)).split(path.sep).join('/'));
  const externals = [...new Set(Object.values(meta.inputs).flatMap((input) => input.imports.filter((i) => i.external && i.path !== '<runtime>').map((i) => i.path)))];
  // Named after the entry module (worker.js for src/edge/worker.ts).
  const script = readdirSync(outdir).find((file) => file.endsWith('.js'));
  const code = readFileSync(path.join(outdir, script!), 'utf8');
  return { inputs, externals, code };
}

const FORBIDDEN_PACKAGES = ['sharp', 'onnxruntime-node', 'onnxruntime-common', 'bullmq', 'ioredis', '@aws-sdk', 'exiftool-vendored', 'libheif-js', 'prom-client', '@hono/node-server'];
/**
 * Node-only parts of Veil: the disk spool, the node:http forwarder, the Node entry points, the
 * pipeline (but for its plain modules, errors and byte sizes, which the shared proxy uses).
 */
const NODE_ONLY_SOURCES = [/^src\/proxy\/(spool\/spool-disk|forward\/forward|app|index|multipart\/multipart-read)\.ts$/, /^src\/(config|app|server|cli)\.ts$/, /^src\/(pipeline\/(?!(errors|format-bytes)\.ts)|queue\/|storage\/|review\/|ingest\/(?!signature\.ts))/];
/** What workerd provides natively under nodejs_compat and the shared code may use (busboy needs stream). */
const ALLOWED_BUILTINS = new Set(['stream', 'node:stream', 'buffer', 'node:buffer', 'events', 'node:events', 'util', 'node:util', 'string_decoder', 'node:string_decoder', 'crypto', 'node:crypto']);

/** Everything in a bundle that should not run at the edge, in words. */
function nodeOnlyParts(bundle: Bundle): string[] {
  const found: string[] = [];
  for (const input of bundle.inputs) {
    const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
    if (pkg && FORBIDDEN_PACKAGES.some((name) => pkg === name || pkg.startsWith(`${name}/`))) found.push(`package ${pkg}`);
    if (NODE_ONLY_SOURCES.some((pattern) => pattern.test(input))) found.push(`source ${input}`);
  }
  for (const external of bundle.externals) {
    if (!ALLOWED_BUILTINS.has(external)) found.push(`import ${external}`);
  }
  // Belt and braces over the emitted code: a require or import of a forbidden package by name.
  for (const name of FORBIDDEN_PACKAGES) {
    if (new RegExp(`(?:require\\(|from |import\\()\\s*["']${name.replace('/', '\\/')}["'/]`).test(bundle.code)) found.push(`code loads ${name}`);
  }
  return [...new Set(found)];
}

describe('the Worker bundle', () => {
  let bundle: Bundle;

  it('builds from wrangler.toml, from the same proxy and CMS adapter modules as the Node proxy', () => {
    const started = performance.now();
    bundle = buildBundle('worker', [], ROOT);
    console.log(`[edge-bundle] built in ${Math.round(performance.now() - started)} ms: ${(bundle.code.length / 1024).toFixed(0)} KiB, ${bundle.inputs.length} modules`);
    for (const shared of ['src/edge/worker.ts', 'src/proxy/proxy-core.ts', 'src/proxy/intercept.ts', 'src/proxy/multipart/multipart-form.ts', 'src/proxy/cms/wordpress.ts', 'src/proxy/cms/ghost.ts', 'src/proxy/cms/joomla.ts', 'src/proxy/cms/text-body.ts', 'src/proxy/cms/multipart-other.ts', 'src/proxy/inspect/embedded-images.ts', 'src/proxy/forward/headers.ts', 'src/ingest/signature.ts']) {
      expect(bundle.inputs).toContain(shared);
    }
  });

  it('contains no sharp, ONNX runtime, BullMQ, ioredis, disk spool or other Node-only part', () => {
    expect(nodeOnlyParts(bundle)).toEqual([]);
    expect(bundle.inputs.some((input) => input.startsWith('node_modules/busboy/'))).toBe(true);
  });

  it('the check notices Node-only code: a Worker importing the Node proxy index fails it', () => {
    const dir = mkdtempSync(path.join(work, 'probe-'));
    const entry = path.join(dir, 'probe.ts');
    writeFileSync(entry, `export { createProxyApp } from ${JSON.stringify(path.join(ROOT, 'src/proxy/index.ts'))};\nexport default { fetch: () => new Response('probe') };\n`);
    writeFileSync(path.join(dir, 'wrangler.toml'), 'name = "veil-probe"\nmain = "probe.ts"\ncompatibility_date = "2026-04-01"\ncompatibility_flags = ["nodejs_compat"]\n');
    const probe = buildBundle('probe', [], dir);
    const found = nodeOnlyParts(probe);
    expect(found).toEqual(expect.arrayContaining(['source src/proxy/spool/spool-disk.ts', 'source src/proxy/forward/forward.ts']));
    expect(found.some((part) => /^import (node:)?(fs|http)/.test(part))).toBe(true);
  });
});
