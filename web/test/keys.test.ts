import { describe, expect, it } from 'vitest';
import { keyBelongsTo, listKeyTarget } from '../src/lib/keys';

describe('listKeyTarget', () => {
  it('moves down and up, wrapping around', () => {
    expect(listKeyTarget('ArrowDown', 0, 3)).toBe(1);
    expect(listKeyTarget('ArrowDown', 2, 3)).toBe(0);
    expect(listKeyTarget('ArrowUp', 0, 3)).toBe(2);
    expect(listKeyTarget('ArrowUp', 2, 3)).toBe(1);
  });
  it('starts at an end when nothing is current', () => {
    expect(listKeyTarget('ArrowDown', -1, 4)).toBe(0);
    expect(listKeyTarget('ArrowUp', -1, 4)).toBe(3);
  });
  it('Home and End go to the ends', () => {
    expect(listKeyTarget('Home', 2, 5)).toBe(0);
    expect(listKeyTarget('End', 1, 5)).toBe(4);
  });
  it('uses left and right for a horizontal list, and no other key', () => {
    expect(listKeyTarget('ArrowRight', 0, 3, 'horizontal')).toBe(1);
    expect(listKeyTarget('ArrowLeft', 0, 3, 'horizontal')).toBe(2);
    expect(listKeyTarget('ArrowDown', 0, 3, 'horizontal')).toBeNull();
    expect(listKeyTarget('ArrowRight', 0, 3)).toBeNull();
    expect(listKeyTarget('Enter', 0, 3)).toBeNull();
    expect(listKeyTarget('a', 0, 3)).toBeNull();
  });
  it('has nowhere to go in an empty list', () => {
    expect(listKeyTarget('ArrowDown', -1, 0)).toBeNull();
    expect(listKeyTarget('Home', -1, 0)).toBeNull();
  });
});

function el(tagName: string, attrs: Record<string, string> = {}) {
  return { tagName: tagName.toUpperCase(), type: attrs.type, getAttribute: (n: string) => attrs[n] ?? null };
}

describe('keyBelongsTo', () => {
  it('buttons and links take Enter and Space, not the arrows or letters', () => {
    for (const b of [el('button'), el('a', { href: '/x' }), el('div', { role: 'button' }), el('button', { role: 'switch' })]) {
      expect(keyBelongsTo(b, ' ')).toBe(true);
      expect(keyBelongsTo(b, 'Enter')).toBe(true);
      expect(keyBelongsTo(b, 'ArrowUp')).toBe(false);
      expect(keyBelongsTo(b, 'm')).toBe(false);
    }
  });
  it('sliders take the arrows, Home and End, not Space', () => {
    const range = el('input', { type: 'range' });
    expect(keyBelongsTo(range, 'ArrowUp')).toBe(true);
    expect(keyBelongsTo(range, 'ArrowLeft')).toBe(true);
    expect(keyBelongsTo(range, 'End')).toBe(true);
    expect(keyBelongsTo(range, ' ')).toBe(false);
    expect(keyBelongsTo(el('div', { role: 'slider' }), 'ArrowDown')).toBe(true);
  });
  it('text fields take every key', () => {
    for (const t of [el('input'), el('input', { type: 'search' }), el('textarea')]) {
      expect(keyBelongsTo(t, 'k')).toBe(true);
      expect(keyBelongsTo(t, ' ')).toBe(true);
      expect(keyBelongsTo(t, 'ArrowLeft')).toBe(true);
    }
  });
  it('menu items, selects and radios take arrows and Space', () => {
    expect(keyBelongsTo(el('button', { role: 'menuitemradio' }), 'ArrowDown')).toBe(true);
    expect(keyBelongsTo(el('select'), 'ArrowDown')).toBe(true);
    expect(keyBelongsTo(el('input', { type: 'radio' }), 'ArrowRight')).toBe(true);
    expect(keyBelongsTo(el('input', { type: 'radio' }), ' ')).toBe(true);
  });
  it('a plain element (the player itself) takes nothing', () => {
    expect(keyBelongsTo(el('div', { role: 'region', tabindex: '0' }), ' ')).toBe(false);
    expect(keyBelongsTo(el('div'), 'ArrowUp')).toBe(false);
  });
});
