import { html, type Html } from './html.js';
import { layout } from './layout.js';

export function loginPage(options: { base: string; formToken: string; next: string; name?: string; error?: string; noUsers?: boolean }): Html {
  const { base } = options;
  const body = html`<div class="login">
  <h1>Sign in</h1>
  ${options.noUsers
    ? html`<p>No admin users are configured. Add one to <code>VEIL_ADMIN_USERS</code> (make the hash with <code>veil hash-password</code>) and restart Veil.</p>`
    : html`<form method="post" action="${base}/login">
    <input type="hidden" name="_csrf" value="${options.formToken}">
    <input type="hidden" name="next" value="${options.next}">
    <div>
      <label for="name">User name</label>
      <input id="name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${options.name ?? ''}" ${options.name ? '' : html`autofocus`}>
    </div>
    <div>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required ${options.name ? html`autofocus` : ''}>
    </div>
    <button class="primary" type="submit">Sign in</button>
  </form>`}
</div>`;
  return layout({ base, principal: null, current: 'login' }, 'Sign in', body, { error: options.error });
}

export function logoutPage(options: { base: string; csrf: string; principal: NonNullable<Parameters<typeof layout>[0]['principal']> }): Html {
  const body = html`<h1>Sign out</h1>
<form method="post" action="${options.base}/logout">
  <input type="hidden" name="_csrf" value="${options.csrf}">
  <p>You are signed in as <strong>${options.principal.name}</strong>.</p>
  <button class="primary" type="submit">Sign out</button>
</form>`;
  return layout({ base: options.base, principal: options.principal, csrf: options.csrf }, 'Sign out', body);
}

export function messagePage(options: { base: string; principal: Parameters<typeof layout>[0]['principal']; title: string; message: string }): Html {
  return layout({ base: options.base, principal: options.principal }, options.title, html`<h1>${options.title}</h1><p>${options.message}</p>
<p><a href="${options.base}/review">Back to the review queue</a></p>`);
}
