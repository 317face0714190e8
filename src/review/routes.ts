import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono, type MiddlewareHandler } from 'hono';
import { apiRoutes } from './api-routes.js';
import { pageGuard, secureHeaders, type AdminEnv, type AdminRoutesDeps } from './guards.js';
import { messagePage } from './pages/login.js';
import { pageRoutes } from './page-routes.js';

export type { AdminRoutesDeps } from './guards.js';

/**
 * The admin area, to be mounted by the app at the auth's base path:
 * `app.route('/_veil', createAdminRoutes(deps))`. Only these paths are handled (each guarded on
 * its own), so other `/_veil/*` routes of the app (health, metrics) are unaffected.
 */
export function createAdminRoutes(deps: AdminRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.route('/', pageRoutes(deps));
  app.route('/', apiRoutes(deps));
  mountQueueDashboard(app, deps);
  return app;
}

function mountQueueDashboard(app: Hono<AdminEnv>, deps: AdminRoutesDeps): void {
  const base = deps.auth.basePath;
  const guard = pageGuard(deps, { adminOnly: true });
  // Bull Board's own scripts change jobs with fetch and no CSRF token: the SameSite=Strict
  // cookie and this same-origin check keep other sites out.
  const sameOrigin: MiddlewareHandler<AdminEnv> = async (c, next) => {
    const changes = !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method);
    if (changes && !(deps.auth.sameOrigin(c) && (c.req.header('origin') || c.req.header('referer')))) {
      return c.json({ error: { code: 'FORBIDDEN', message: 'Changes to the queues must come from this site.' } }, 403);
    }
    await next();
  };
  app.use('/queues', guard, sameOrigin);
  app.use('/queues/*', guard, sameOrigin);
  if (!deps.queues || deps.queues.length === 0) {
    app.get('/queues', secureHeaders(), (c) =>
      c.html(messagePage({ base, principal: c.get('principal'), title: 'Job queues', message: 'No job queues are connected to this Veil process.' }).value),
    );
    return;
  }
  app.route('/queues', queueBoard(`${base}/queues`, deps.queues));
}

function queueBoard(basePath: string, queues: readonly Queue[]): Hono {
  const adapter = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: adapter,
    // miscLinks: Bull Board's own menu gets a way back to the review queue.
    options: { uiConfig: { boardTitle: 'Veil queues', hideDocsLink: true, miscLinks: [{ text: 'Back to the review queue', url: `${basePath.replace(/\/queues$/, '')}/review` }] } },
  });
  adapter.setBasePath(basePath);
  return adapter.registerPlugin();
}
