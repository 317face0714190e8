/** Escapes text for HTML element content and quoted attributes. Filenames and reports are hostile input. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
