import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AUDIT_TYPES, type AuditType } from '../audit/records.js';
import { toCsv } from '../audit/csv.js';
import { VeilError } from '../pipeline/errors.js';
import { actorOf, apiError, apiGuard, approvedDownload, parseDateParam, secureHeaders, type AdminEnv, type AdminRoutesDeps } from './guards.js';
import type { BoxEditRequest } from './actions.js';
import { currentBoxes, currentRedaction, originalSize, parseRedaction } from './boxes.js';
import { DECISIONS, REASON_KINDS, REVIEW_STATUSES, assertItemId, type Decision, type ReasonKind, type ReviewItem, type ReviewStatus } from './item.js';

const JSON_LIMIT = bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: { code: 'BAD_REQUEST', message: 'Body too large' } }, 413) });
const DAY_MS = 86_400_000;

/**
 * The admin API for scripts (`Authorization: Bearer $VEIL_ADMIN_TOKEN`, admin role) and the
 * pages' own scripts (session cookie + X-CSRF-Token).
 */
export function apiRoutes(deps: AdminRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const { items, actions, audit, auth } = deps;
  const base = auth.basePath;
  const clock = deps.clock ?? (() => new Date());
  const headers = secureHeaders();
  const api = apiGuard(deps);
  const adminApi = apiGuard(deps, { adminOnly: true });
  const linksOf = (item: Pick<ReviewItem, 'id' | 'previewDeletedAt' | 'approved'>) => ({
    page: `${base}/review/${item.id}`,
    preview: item.previewDeletedAt ? null : `${base}/review/${item.id}/preview.jpg`,
    approved: item.approved ? `${base}/review/${item.id}/approved` : null,
    approvedFile: item.approved ? `${base}/api/review/${item.id}/approved` : null,
  });
  const withLinks = <T extends Pick<ReviewItem, 'id' | 'previewDeletedAt' | 'approved'>>(item: T) => ({ ...item, links: linksOf(item) });
  /** The boxes as approve-redacted would hide them, in pixels of the upright original (what the API takes). */
  const withBoxes = (item: ReviewItem) => ({
    ...withLinks(item),
    redactionBoxes: { imageWidth: originalSize(item).width, imageHeight: originalSize(item).height, boxes: currentBoxes(item), redaction: currentRedaction(item) },
  });

  app.get('/api/review', headers, api, async (c) => {
    try {
      const status = c.req.query('status');
      const reason = c.req.query('reason');
      if (status && status !== 'all' && !REVIEW_STATUSES.includes(status as ReviewStatus)) {
        throw new VeilError('BAD_REQUEST', `status must be one of ${REVIEW_STATUSES.join(', ')} or all.`);
      }
      if (reason && !REASON_KINDS.includes(reason as ReasonKind)) throw new VeilError('BAD_REQUEST', `reason must be one of ${REASON_KINDS.join(', ')}.`);
      const list = await items.list({
        status: !status ? 'pending' : status === 'all' ? undefined : (status as ReviewStatus),
        since: parseDateParam(c.req.query('since'), 'since') ?? undefined,
        cms: c.req.query('cms') || undefined,
        reason: (reason as ReasonKind) || undefined,
      });
      return c.json({ items: list.map((item) => withLinks(summary(item))) });
    } catch (err) {
      return apiError(c, err);
    }
  });

  app.get('/api/review/:id', headers, api, async (c) => {
    try {
      return c.json(withBoxes(await items.require(c.req.param('id'))));
    } catch (err) {
      return apiError(c, err);
    }
  });

  // Scripts fetch the approved file here with the bearer token (the page route wants a session).
  app.get('/api/review/:id/approved', headers, api, async (c) => {
    try {
      return await approvedDownload(items, c.req.param('id'));
    } catch (err) {
      return apiError(c, err);
    }
  });

  app.post('/api/review/bulk', headers, JSON_LIMIT, api, async (c) => {
    try {
      const body = await jsonBody(c);
      const action = body.action;
      if (typeof action !== 'string' || !DECISIONS.includes(action as Decision)) throw new VeilError('BAD_REQUEST', `action must be one of ${DECISIONS.join(', ')}.`);
      if (!Array.isArray(body.ids) || !body.ids.every((id) => typeof id === 'string')) throw new VeilError('BAD_REQUEST', 'ids must be a list of references.');
      const result = await actions.bulk(action as Decision, body.ids as string[], actorOf(c.get('principal')), { reason: stringOr(body.reason) });
      return c.json(result);
    } catch (err) {
      return apiError(c, err);
    }
  });

  app.post('/api/review/:id/:action', headers, JSON_LIMIT, api, async (c) => {
    try {
      const id = c.req.param('id');
      assertItemId(id);
      const action = c.req.param('action');
      const body = await jsonBody(c);
      const reason = stringOr(body.reason);
      const actor = actorOf(c.get('principal'));
      let item: ReviewItem;
      const edit = boxEditOf(body);
      if (edit && action !== 'approve-redacted' && action !== 'boxes') {
        throw new VeilError('BAD_REQUEST', 'Boxes and redaction go with approve-redacted or boxes only.');
      }
      if (action === 'boxes') {
        if (!edit) throw new VeilError('INVALID_BOXES', 'Send "boxes" (the whole list), "add" or "remove", and/or "redaction".');
        item = await actions.editBoxes(id, actor, edit);
      } else if (DECISIONS.includes(action as Decision)) item = await actions.decide(id, action as Decision, actor, { reason, edit });
      else if (action === 'undo') item = await actions.undo(id, actor, { reason });
      else if (action === 'delete-now') item = await actions.deleteNow(id, actor);
      else if (action === 'publish') item = await actions.retryPublish(id, actor);
      else throw new VeilError('NOT_FOUND', `Unknown action "${action.slice(0, 40)}": use approve, approve-redacted, boxes, reject, undo, delete-now or publish.`);
      return c.json(withBoxes(item));
    } catch (err) {
      return apiError(c, err);
    }
  });

  app.get('/api/audit', headers, adminApi, async (c) => {
    try {
      const now = clock();
      const since = parseDateParam(c.req.query('since'), 'since') ?? new Date(now.getTime() - 30 * DAY_MS);
      const until = parseDateParam(c.req.query('until'), 'until') ?? undefined;
      const typeList = (c.req.query('type') ?? '').split(',').filter(Boolean);
      if (typeList.some((t) => !AUDIT_TYPES.includes(t as AuditType))) throw new VeilError('BAD_REQUEST', `type must be among ${AUDIT_TYPES.join(', ')}.`);
      const format = c.req.query('format') ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new VeilError('BAD_REQUEST', 'format must be json or csv.');
      const records = await audit.collect({ since, until, types: typeList.length > 0 ? (typeList as AuditType[]) : undefined });
      if (format === 'csv') return c.body(toCsv(records), 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="veil-audit.csv"' });
      return c.json({ since: since.toISOString(), until: until?.toISOString() ?? null, records });
    } catch (err) {
      return apiError(c, err);
    }
  });

  return app;
}

/** A list entry: everything but the full report (the item itself has it). */
function summary(item: ReviewItem) {
  const { report: _report, ...rest } = item;
  return { ...rest, removedMetadata: item.report.removed.map((f) => f.kind) };
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new VeilError('BAD_REQUEST', 'The body must be a JSON object such as {"reason": "..."}.');
}

/** `boxes` (the whole list), `add` (boxes), `remove` (box numbers from 1) and `redaction`, or undefined when none is given. */
function boxEditOf(body: Record<string, unknown>): BoxEditRequest | undefined {
  const { boxes, add, remove, redaction } = body;
  if (boxes === undefined && add === undefined && remove === undefined && redaction === undefined) return undefined;
  if (remove !== undefined && !(Array.isArray(remove) && remove.every((n) => Number.isInteger(n)))) {
    throw new VeilError('INVALID_BOXES', '"remove" must be a list of box numbers, counted from 1 as GET /_veil/api/review/{id} lists them.');
  }
  if (boxes !== undefined && (add !== undefined || remove !== undefined)) throw new VeilError('INVALID_BOXES', 'Send either "boxes" (the whole list) or "add" and "remove", not both.');
  return { boxes, add, remove: remove as number[] | undefined, redaction: parseRedaction(redaction) };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
