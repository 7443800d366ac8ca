// Keyboard helpers shared by the menus, lists and the player.

export type Orientation = 'vertical' | 'horizontal';

/**
 * Where a key moves the focus in a list of `count` items when `current` has
 * it (-1: none): arrows wrap around, Home and End go to the ends. null for
 * any other key.
 */
export function listKeyTarget(key: string, current: number, count: number, orientation: Orientation = 'vertical'): number | null {
  if (count <= 0) return null;
  const next = orientation === 'vertical' ? 'ArrowDown' : 'ArrowRight';
  const prev = orientation === 'vertical' ? 'ArrowUp' : 'ArrowLeft';
  switch (key) {
    case next:
      return current < 0 ? 0 : (current + 1) % count;
    case prev:
      return current < 0 ? count - 1 : (current - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

/**
 * Moves the focus among `items` for an arrow, Home or End key; returns
 * whether it did (the caller then prevents the key's default).
 */
export function focusItemByKey(key: string, items: HTMLElement[], orientation: Orientation = 'vertical'): boolean {
  const current = items.indexOf(document.activeElement as HTMLElement);
  const next = listKeyTarget(key, current, items.length, orientation);
  if (next === null) return false;
  items[next]?.focus();
  return true;
}

interface KeyTarget {
  tagName: string;
  type?: string;
  getAttribute(name: string): string | null;
  isContentEditable?: boolean;
}

const TEXT_INPUTS = new Set(['text', 'search', 'email', 'password', 'url', 'tel', 'number', '']);

/**
 * Whether the focused element does something itself with this key, so that
 * a shortcut on a surrounding element (the player's Space, arrows…) must
 * leave it alone: Enter and Space press buttons and links, arrows move
 * sliders, selects and radio groups, text fields take every key.
 */
export function keyBelongsTo(el: KeyTarget, key: string): boolean {
  const tag = el.tagName.toLowerCase();
  const role = el.getAttribute('role') ?? '';
  const type = (el.type ?? el.getAttribute('type') ?? '').toLowerCase();
  if (el.isContentEditable || tag === 'textarea') return true;
  if (tag === 'input' && TEXT_INPUTS.has(type)) return true;
  const arrows = key.startsWith('Arrow') || key === 'Home' || key === 'End' || key === 'PageUp' || key === 'PageDown';
  if (tag === 'select') return arrows || key === ' ' || key === 'Enter';
  if (tag === 'input' && (type === 'range' || type === 'radio')) return arrows || (type === 'radio' && key === ' ');
  if (role === 'slider' || role === 'radio' || role.startsWith('menuitem') || role === 'option' || role === 'tab') {
    return arrows || key === ' ' || key === 'Enter';
  }
  if (tag === 'button' || tag === 'a' || tag === 'summary' || role === 'button' || role === 'link' || role === 'switch' || role === 'checkbox' || type === 'checkbox') {
    return key === ' ' || key === 'Enter';
  }
  return false;
}
