/**
 * WordPress keeps every upload's original next to the copies it makes: `name-300x200.jpg` for
 * each size, and `name-scaled.jpg` for anything over 2560 px, whose original `name.jpg` stays
 * public although no page links it.
 */
const SIZE_SUFFIX = /^(.*)-(\d{1,5})x(\d{1,5})(\.[A-Za-z0-9]+)$/;
const SCALED_SUFFIX = /^(.*)-(scaled|rotated)(\.[A-Za-z0-9]+)$/;

/** For a generated size or a `-scaled` copy, the names its original may have (nearest first). */
export function originalNames(name: string): string[] {
  const size = SIZE_SUFFIX.exec(name);
  if (size) {
    const [, base, , , ext] = size;
    return [`${base}-scaled${ext}`, `${base}${ext}`];
  }
  const scaled = SCALED_SUFFIX.exec(name);
  return scaled ? [`${scaled[1]}${scaled[3]}`] : [];
}

/** `…/name-scaled.jpg` → `…/name.jpg`: where WordPress left the unscaled original. */
export function unscaledName(name: string): string | null {
  const scaled = SCALED_SUFFIX.exec(name);
  return scaled ? `${scaled[1]}${scaled[3]}` : null;
}

export function isGeneratedSize(name: string): boolean {
  return SIZE_SUFFIX.test(name);
}
