import type { Config } from '../config.js';

export interface BannerFacts {
  url: string;
  config: Config;
  /** Where `veil setup` writes (and `veil start` read) the first admin and secrets. */
  setupFile: string;
  setupFileFound: boolean;
}

/**
 * What a technician needs after `veil start`: where things are, and how to get in the first time.
 * Printed on stdout; the JSON log lines stay on stderr.
 */
export function startBanner({ url, config, setupFile, setupFileFound }: BannerFacts): string {
  const base = (config.publicUrl ?? url).replace(/\/+$/, '');
  const users = config.admin.users;
  const lines = [
    `Veil is running at ${url}${config.upstreamUrl ? ` in front of ${config.upstreamUrl}` : ' (a demo site stands in for your CMS: set UPSTREAM_URL to put Veil in front of it)'}`,
    '',
    `  Review queue   ${base}/_veil/review`,
    `  Audit log      ${base}/_veil/audit`,
    `  Sign in        ${base}/_veil/login`,
    `  Health         ${base}/_veil/health    (open to anyone, for load balancers)`,
    `  Metrics        ${base}/_veil/metrics   (signed-in admins, or Authorization: Bearer $VEIL_ADMIN_TOKEN)`,
    `  Job queues     ${base}/_veil/queues`,
    '',
  ];
  if (users.length > 0) {
    const names = users.map((u) => `${u.name} (${u.role})`).join(', ');
    lines.push(`Sign in as ${names}${setupFileFound ? `; the users and secrets come from ${setupFile}` : ''}.`);
    lines.push('Add a user or change a password with "veil setup".');
  } else {
    lines.push('Nobody can sign in yet: stop Veil, run "veil setup" to choose the first admin and password, then start it again.');
    if (config.admin.token) lines.push('(Scripts can already use the API with the VEIL_ADMIN_TOKEN bearer token.)');
  }
  return lines.join('\n');
}
