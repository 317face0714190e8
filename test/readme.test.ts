import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readmeWithSettings } from '../scripts/settings-table.js';

describe('README', () => {
  it('documents exactly the settings Veil reads (regenerate: npx tsx scripts/settings-table.ts --write)', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readmeWithSettings(readme)).toBe(readme);
  });

  it('gives the two quick-start commands that package.json provides', () => {
    const readme = readFileSync('README.md', 'utf8');
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
    expect(scripts.start).toBe('exec node bin/veil.js start'); // exec: a signal to npm reaches Veil itself
    expect(scripts.test).toBeDefined();
  });
});
