import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie } from 'hono/cookie';
import { AUDIT_TYPES, type AuditType } from '../audit/records.js';
import { toCsv } from '../audit/csv.js';
import { VeilError, toVeilError } from '../pipeline/errors.js';
import { LOGIN_COOKIE, type Principal } from './auth.js';
import type { BoxEditRequest } from './actions.js';
import { parseRedaction } from './boxes.js';
import { REASON_KINDS, REVIEW_STATUSES, assertItemId, type ReasonKind, type ReviewStatus } from './item.js';
import { actorOf, approvedDownload, pageGuard, parseDateParam, secureHeaders, statusOf, type AdminEnv, type AdminRoutesDeps } from './guards.js';
import { ADMIN_CSS, ADMIN_JS } from './pages/assets.js';
import { auditPage } from './pages/audit.js';
import { detailPage } from './pages/detail.js';
import { html, plural, type Html } from './pages/html.js';
import { loginPage, logoutPage, messagePage } from './pages/login.js';
import { queuePage, type QueueFilters } from './pages/queue.js';

const FORM_LIMIT = bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('Form too large', 413) });
const AUDIT_PAGE_ROWS = 1000;
const DAY_MS = 86_400_000;

const DONE_WORDS: Record<string, string> = {
  approve: 'Approved. The photo is published with faces visible (metadata removed, downscaled).',
  'approve-redacted': 'Approved with the boxed faces hidden.',
  boxes: 'The boxes were saved. Check the photo again before approving.',
  reject: 'Rejected. The original will be deleted when the undo window ends.',
  undo: 'The decision was undone; the photo is waiting for a decision again.',
  'delete-now': 'The original and its preview were deleted.',
  publish: 'Publishing was tried again; see the result below.',
};

/** The server-rendered pages: sign-in, queue, detail, downloads, audit log. */
export function pageRoutes(deps: AdminRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const { auth, items, actions, audit } = deps;
  const base = auth.basePath;
  const clock = deps.clock ?? (() => new Date());
  const page = pageGuard(deps);
  const adminPage = pageGuard(deps, { adminOnly: true });
  const headers = secureHeaders();

  const render = (c: Context, body: Html, status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 502 | 503 = 200) => c.html(body.value, status);
  const ctxOf = (principal: Principal) => ({ base, principal, csrf: principal.session?.csrf });
  const fail = (c: Context, principal: Principal | null, err: unknown) => {
    const error = toVeilError(err);
    if (error.code === 'INTERNAL') deps.log?.('error', 'admin page failed', { error: error.message, path: c.req.path });
    const message = error.code === 'INTERNAL' ? 'Something went wrong; the details are in Veil\'s log.' : error.message;
    return c.html(messagePage({ base, principal, title: error.code === 'NOT_FOUND' ? 'Not found' : 'That did not work', message }).value, statusOf(error));
  };

  app.get('/assets/admin.css', (c) => c.body(ADMIN_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }));
  app.get('/assets/admin.js', (c) => c.body(ADMIN_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }));

  app.get('/login', headers, (c) => {
    if (auth.principal(c, { allowToken: false })) return c.redirect(safeNext(base, c.req.query('next')), 302);
    return render(c, loginPage({ base, formToken: auth.loginFormToken(c), next: safeNext(base, c.req.query('next')), noUsers: !auth.hasUsers }));
  });

  app.post('/login', headers, FORM_LIMIT, async (c) => {
    const form = await c.req.parseBody();
    const name = typeof form.name === 'string' ? form.name.trim().slice(0, 64) : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const next = safeNext(base, typeof form.next === 'string' ? form.next : undefined);
    const again = (error: string, status: 401 | 403 | 429) => render(c, loginPage({ base, formToken: auth.loginFormToken(c), next, name, error }), status);
    if (!auth.loginFormOk(c, form._csrf)) return again('The sign-in form had expired or came from another site. Please sign in again.', 403);
    const ip = auth.clientIp(c);
    const result = await auth.login(name, password, ip);
    if (result.ok) {
      await audit.append({ type: 'login', outcome: 'success', user: result.user.name, clientIp: ip });
      auth.startSession(c, result.token);
      deleteCookie(c, LOGIN_COOKIE, { path: `${base}/login` });
      return c.redirect(next, 303);
    }
    if (result.reason === 'locked') {
      // Not audited: the failure that started the wait was, and a flood of refusals would bury the log.
      c.header('Retry-After', String(result.retryAfterSeconds));
      return again(`Too many failed sign-ins. Please wait ${waitWords(result.retryAfterSeconds)} and try again; the right password works after that.`, 429);
    }
    await audit.append({ type: 'login', outcome: result.retryAfterSeconds > 0 ? 'locked' : 'failure', user: auth.auditName(name), clientIp: ip });
    if (result.retryAfterSeconds > 0) {
      c.header('Retry-After', String(result.retryAfterSeconds));
      return again(`Wrong user name or password. Please wait ${waitWords(result.retryAfterSeconds)} before trying again.`, 401);
    }
    return again('Wrong user name or password.', 401);
  });

  app.get('/logout', headers, page, (c) => {
    const principal = c.get('principal');
    return render(c, logoutPage({ base, csrf: principal.session?.csrf ?? '', principal }));
  });

  app.post('/logout', headers, FORM_LIMIT, page, async (c) => {
    const principal = c.get('principal');
    const form = await c.req.parseBody();
    if (!auth.csrfOk(c, principal, form._csrf)) return csrfRefused(c, principal);
    auth.endSession(c, principal);
    await audit.append({ type: 'login', outcome: 'logout', user: principal.name, clientIp: auth.clientIp(c) });
    return c.redirect(`${base}/login`, 303);
  });

  app.get('/review', headers, page, async (c) => {
    const principal = c.get('principal');
    try {
      const filters = queueFilters(c);
      const all = await items.list({ since: parseDateParam(filters.since, 'since') ?? undefined });
      const cmsNames = [...new Set(all.map((i) => i.uploader.cms))].sort();
      const shown = all.filter(
        (i) => (filters.status === 'all' || i.status === filters.status) && (!filters.reason || i.reasonKinds.includes(filters.reason)) && (!filters.cms || i.uploader.cms === filters.cms),
      );
      return render(c, queuePage(ctxOf(principal), shown, filters, cmsNames, bulkFlash(c)));
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  app.post('/review/bulk', headers, FORM_LIMIT, page, async (c) => {
    const principal = c.get('principal');
    const form = await c.req.parseBody({ all: true });
    if (!auth.csrfOk(c, principal, first(form._csrf))) return csrfRefused(c, principal);
    const action = first(form.action);
    if (action !== 'approve' && action !== 'approve-redacted' && action !== 'reject') return fail(c, principal, new VeilError('BAD_REQUEST', 'Choose approve or reject.'));
    const ids = all(form.ids);
    if (ids.length === 0) return fail(c, principal, new VeilError('BAD_REQUEST', 'Tick at least one photo first.'));
    try {
      const result = await actions.bulk(action, ids, actorOf(principal), { reason: first(form.reason) });
      const ok = result.results.filter((r) => r.ok).length;
      return c.redirect(`${base}/review?done=${action}&ok=${ok}&failed=${result.results.length - ok}`, 303);
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  app.get('/review/:id', headers, page, async (c) => {
    const principal = c.get('principal');
    try {
      const item = await items.require(c.req.param('id'));
      const done = c.req.query('done');
      return render(c, detailPage(ctxOf(principal), item, publishInfo(), { flash: done ? DONE_WORDS[done] : undefined }));
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  app.post('/review/:id/decide', headers, FORM_LIMIT, page, async (c) => {
    const principal = c.get('principal');
    const id = c.req.param('id');
    const form = await c.req.parseBody({ all: true });
    if (!auth.csrfOk(c, principal, first(form._csrf))) return csrfRefused(c, principal);
    const action = first(form.action);
    const reason = first(form.reason);
    const actor = actorOf(principal);
    try {
      assertItemId(id);
      switch (action) {
        case 'approve':
        case 'reject':
          await actions.decide(id, action, actor, { reason });
          break;
        case 'approve-redacted': {
          const redaction = parseRedaction(first(form.redaction));
          await actions.decide(id, action, actor, { reason, edit: redaction ? { redaction } : undefined });
          break;
        }
        case 'undo':
          await actions.undo(id, actor, { reason });
          break;
        case 'delete-now':
          await actions.deleteNow(id, actor);
          break;
        case 'publish':
          await actions.retryPublish(id, actor);
          break;
        default:
          throw new VeilError('BAD_REQUEST', 'Choose one of the actions on the page.');
      }
      return c.redirect(`${base}/review/${encodeURIComponent(id)}?done=${action}`, 303);
    } catch (err) {
      const error = toVeilError(err);
      const item = error.code === 'NOT_FOUND' ? null : await items.get(id).catch(() => null);
      if (!item) return fail(c, principal, error);
      return render(c, detailPage(ctxOf(principal), item, publishInfo(), { error: error.code === 'INTERNAL' ? 'Something went wrong; the details are in Veil\'s log.' : error.message }), statusOf(error) as 400);
    }
  });

  // The box editor without JavaScript: one box added, one removed, or the redaction chosen, per post.
  app.post('/review/:id/boxes', headers, FORM_LIMIT, page, async (c) => {
    const principal = c.get('principal');
    const id = c.req.param('id');
    const form = await c.req.parseBody({ all: true });
    if (!auth.csrfOk(c, principal, first(form._csrf))) return csrfRefused(c, principal);
    const op = first(form.op);
    const typed = { x: first(form.x), y: first(form.y), w: first(form.w), h: first(form.h) };
    try {
      assertItemId(id);
      let edit: BoxEditRequest;
      if (op === 'add') edit = { add: [[typed.x, typed.y, typed.w, typed.h]] };
      else if (op === 'remove') edit = { remove: [Number(first(form.box))] };
      else if (op === 'redaction') edit = { redaction: parseRedaction(first(form.redaction)) };
      else throw new VeilError('BAD_REQUEST', 'Choose one of the box actions on the page.');
      await actions.editBoxes(id, actorOf(principal), edit);
      return c.redirect(`${base}/review/${encodeURIComponent(id)}?done=boxes#h-boxes`, 303);
    } catch (err) {
      const error = toVeilError(err);
      const item = error.code === 'NOT_FOUND' ? null : await items.get(id).catch(() => null);
      if (!item) return fail(c, principal, error);
      const message = error.code === 'INTERNAL' ? 'Something went wrong; the details are in Veil\'s log.' : error.message;
      return render(c, detailPage(ctxOf(principal), item, publishInfo(), { error: message, typed: op === 'add' ? typed : undefined }), statusOf(error) as 400);
    }
  });

  app.get('/review/:id/preview.jpg', headers, page, async (c) => {
    const principal = c.get('principal');
    try {
      const preview = await items.preview(c.req.param('id'));
      if (!preview) throw new VeilError('NOT_FOUND', 'This photo has no preview (it may have been deleted).');
      return c.body(new Uint8Array(preview.bytes), 200, { 'Content-Type': 'image/jpeg', 'Cache-Control': 'private, no-store' });
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  app.get('/review/:id/approved', headers, page, async (c) => {
    const principal = c.get('principal');
    try {
      return await approvedDownload(items, c.req.param('id'));
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  // Reviewers see the log (they need to see who decided what); only admins export it.
  app.get('/audit', headers, page, async (c) => {
    const principal = c.get('principal');
    try {
      const query = auditQuery(c, clock());
      const records = await audit.collect(query.range, AUDIT_PAGE_ROWS + 1);
      return render(
        c,
        auditPage(ctxOf(principal), records.slice(0, AUDIT_PAGE_ROWS), query.filters, { canExport: principal.role === 'admin', truncated: records.length > AUDIT_PAGE_ROWS }),
      );
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  app.get('/audit.csv', headers, adminPage, async (c) => {
    const principal = c.get('principal');
    try {
      const query = auditQuery(c, clock());
      const records = await audit.collect(query.range);
      const name = `veil-audit-${query.filters.since}${query.filters.until ? `-to-${query.filters.until}` : ''}.csv`;
      // The byte-order mark makes Excel read the file as UTF-8 (names with accents).
      return c.body(`\ufeff${toCsv(records)}`, 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}"` });
    } catch (err) {
      return fail(c, principal, err);
    }
  });

  function publishInfo() {
    return { now: clock(), publishes: actions.publisher.publishes, publisherName: actions.publisher.description };
  }

  function csrfRefused(c: Context, principal: Principal): Response {
    return c.html(
      messagePage({ base, principal, title: 'Please try again', message: 'The form had expired or was sent from another site, so nothing was changed. Reload the page and try again.' }).value,
      403,
    );
  }

  function bulkFlash(c: Context): Html | undefined {
    const done = c.req.query('done');
    if (!done || !(done in DONE_WORDS)) return undefined;
    const ok = Number.parseInt(c.req.query('ok') ?? '0', 10) || 0;
    const failed = Number.parseInt(c.req.query('failed') ?? '0', 10) || 0;
    const verb = done === 'reject' ? 'rejected' : done === 'approve-redacted' ? 'approved with faces hidden' : 'approved';
    return html`${plural(ok, 'photo')} ${verb}.${failed > 0 ? ` ${plural(failed, 'photo')} could not be: they had been decided already or could not be processed.` : ''}`;
  }

  return app;
}

function queueFilters(c: Context): QueueFilters {
  const status = c.req.query('status');
  const reason = c.req.query('reason');
  const cms = c.req.query('cms');
  const since = c.req.query('since');
  return {
    status: status === 'all' || REVIEW_STATUSES.includes(status as ReviewStatus) ? (status as ReviewStatus | 'all') : 'pending',
    reason: REASON_KINDS.includes(reason as ReasonKind) ? (reason as ReasonKind) : undefined,
    cms: cms ? cms.slice(0, 64) : undefined,
    since: since && /^\d{4}-\d{2}-\d{2}$/.test(since) ? since : undefined,
  };
}

function auditQuery(c: Context, now: Date) {
  const sinceText = c.req.query('since');
  const untilText = c.req.query('until');
  const type = c.req.query('type');
  const since = parseDateParam(sinceText, 'since') ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 6 * DAY_MS);
  const until = parseDateParam(untilText, 'until');
  const types = AUDIT_TYPES.includes(type as AuditType) ? [type as AuditType] : undefined;
  return {
    range: { since, until: until ?? undefined, types },
    filters: { since: since.toISOString().slice(0, 10), until: until?.toISOString().slice(0, 10), type: types?.[0] },
  };
}

/** Only a path inside the admin area: never another site, never `//host` or `/\host`. */
export function safeNext(base: string, next: string | undefined): string {
  if (next && next.startsWith(`${base}/`) && !/[\\\s]|\/\//.test(next) && !next.startsWith(`${base}/login`)) return next;
  return `${base}/review`;
}

function first(value: unknown): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' ? one : undefined;
}

function all(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** "4 seconds", "2 minutes": a wait in words a person reads. */
function waitWords(seconds: number): string {
  return seconds < 90 ? plural(seconds, 'second') : plural(Math.ceil(seconds / 60), 'minute');
}
