import type { Principal } from '../auth.js';
import { html, type Html, type HtmlValue } from './html.js';

export interface PageContext {
  base: string;
  principal: Principal | null;
  /** The session's CSRF token, for forms and for fetch (meta tag). */
  csrf?: string | undefined;
  /** Which navigation entry is the current page. */
  current?: 'review' | 'audit' | 'login';
}

export function layout(ctx: PageContext, title: string, body: Html, extra: { flash?: HtmlValue; error?: HtmlValue } = {}): Html {
  const { base, principal } = ctx;
  const nav = principal
    ? html`<nav aria-label="Main">
        <ul class="nav">
          <li><a href="${base}/review"${ctx.current === 'review' ? html` aria-current="page"` : ''}>Review queue</a></li>
          <li><a href="${base}/audit"${ctx.current === 'audit' ? html` aria-current="page"` : ''}>Audit log</a></li>
          ${principal.role === 'admin' ? html`<li><a href="${base}/queues">Job queues</a></li>` : ''}
          <li class="who">Signed in as <strong>${principal.name}</strong> (${principal.role})</li>
          <li><a href="${base}/logout">Sign out</a></li>
        </ul>
      </nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${ctx.csrf ? html`<meta name="csrf-token" content="${ctx.csrf}">` : ''}
<title>${title} – Veil</title>
<link rel="stylesheet" href="${base}/assets/admin.css">
<script src="${base}/assets/admin.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="top">
  <p class="brand">Veil <span>photo safeguarding</span></p>
  ${nav}
</header>
<main id="main" tabindex="-1">
${extra.flash ? html`<div class="flash" role="status">${extra.flash}</div>` : ''}
${extra.error ? html`<div class="error" role="alert">${extra.error}</div>` : ''}
${body}
</main>
</body>
</html>`;
}
