/**
 * Prints the README's settings table from the definitions in src/config.ts, so the documentation
 * cannot drift from what Veil reads. Run: npx tsx scripts/settings-table.ts
 */
import { describeSettings } from '../src/config.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const lines = ['| Setting | Default | Meaning |', '| --- | --- | --- |'];
for (const row of describeSettings()) {
  const shownDefault = row.default !== '' ? `\`${cell(row.default)}\`` : cell(row.whenUnset);
  const meaning = row.secret ? `${row.description} Secret: keep it out of logs and version control.` : row.description;
  lines.push(`| \`${row.name}\` | ${shownDefault} | ${cell(meaning)} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
