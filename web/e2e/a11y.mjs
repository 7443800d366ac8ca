#!/usr/bin/env node
// Keyboard use and labelled controls, in a real browser against a running
// platform. Every page of the smoke list, signed out and signed in (a demo
// streamer, whose channel goes live from an ffmpeg test pattern when
// E2E_RTMP_URL is set), is checked for:
//
//   - axe-core's rules for names, labels, alt text and ARIA (WCAG 2.x A/AA
//     and best practices);
//   - an accessible name, from Chromium's own accessibility tree, on every
//     interactive or focusable element;
//   - a label (not just a placeholder) on every form field, and an alt
//     attribute on every image (alt="" for decorative ones);
//   - the Tab order from the top of the page: the main controls are reached
//     in a sensible order, every stop is visible and not hidden under
//     something else, shows a focus indicator (outline, ring, border or
//     background differs from the unfocused element), and Tab gets out of
//     everything (no keyboard trap).
//
// Then the key flows with the keyboard only: search from the header, log in,
// the user menu, the log-in and subscribe dialogs, the player's play/pause
// and quality menu (Enter/Space, arrows, Escape), the emote picker, sending
// a chat message, follow, the moderator's message actions and chat settings,
// the dashboard's stream key. Open menus and dialogs are scanned too, close
// with Escape and give focus back to their button.
//
// Usage (from web/, after `npm ci`):
//   E2E_BASE_URL=http://127.0.0.1:8080 E2E_RTMP_URL=rtmp://127.0.0.1:1935/live node e2e/a11y.mjs
//
// Environment:
//   E2E_BASE_URL     platform URL (default http://127.0.0.1:8080)
//   E2E_RTMP_URL     RTMP ingest: the streamer goes live for the player checks
//   E2E_STREAMER     demo account that owns a channel (default shroud)
//   E2E_VIEWER       demo account that watches it, with moderator rights (default admin)
//   E2E_PASSWORD     their password (default demo1234)
//   E2E_ARTIFACTS    where the report and screenshots go (default web/e2e/artifacts), under a11y/
//   E2E_PHONE=0      skip the scans at phone width
//   E2E_ONLY=regex   only the checks whose name matches (logging in always runs)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PAGES, baseUrlFromEnv, ensureDir, launchUser, pageApi as api, startPublisher, watchErrors } from './lib.mjs';

const BASE = baseUrlFromEnv();
const RTMP = (process.env.E2E_RTMP_URL || '').replace(/\/+$/, '');
const ART = ensureDir(join(process.env.E2E_ARTIFACTS || fileURLToPath(new URL('./artifacts', import.meta.url)), 'a11y'));
const STREAMER = process.env.E2E_STREAMER || 'shroud';
const VIEWER = process.env.E2E_VIEWER || 'admin';
const PASSWORD = process.env.E2E_PASSWORD || 'demo1234';
const PHONE = process.env.E2E_PHONE !== '0';
const ONLY = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;
const DESKTOP = { width: 1280, height: 800 };
const PHONE_SIZE = { width: 390, height: 844 };
const T = 15_000;

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axe-core: everything WCAG 2.x A/AA and best practice, except
//  - color-contrast: the dark theme is checked by eye; not part of this check
//  - video-caption: live streams and VODs come from the streamer without captions
const AXE_OPTIONS = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
  rules: { 'color-contrast': { enabled: false }, 'video-caption': { enabled: false } },
  resultTypes: ['violations'],
};

// roles whose element must have a name (Chromium's role names)
const NAMED_ROLES = new Set([
  'button', 'link', 'textbox', 'searchbox', 'combobox', 'checkbox', 'radio', 'switch', 'slider', 'spinbutton',
  'menuitem', 'menuitemradio', 'menuitemcheckbox', 'tab', 'option', 'listbox', 'menu', 'menubar', 'tablist',
  'dialog', 'alertdialog', 'PopUpButton', 'ToggleButton', 'MenuListOption', 'ListBoxOption',
  'image', 'img', 'video', 'Video', 'audio', 'Audio',
]);

// a moderator's actions on a chat message
const MOD_ACTIONS = '[data-testid="chat-messages"] li button';

const results = [];
let passed = 0;
let failed = 0;

function log(line) {
  process.stdout.write(`${line}\n`);
}

const slug = (s) => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);

/**
 * One named check. fn gets the list to push problems to (strings) and may
 * return more; a thrown error is one more. No problem means it passed.
 */
async function check(name, page, fn, { always = false } = {}) {
  if (ONLY && !ONLY.test(name) && !always) return;
  const t0 = Date.now();
  const problems = [];
  const detail = [];
  try {
    const more = await fn(problems, detail);
    if (Array.isArray(more)) problems.push(...more);
  } catch (err) {
    problems.push(err.message.split('\n')[0]);
  }
  const ms = Date.now() - t0;
  results.push({ name, problems, detail });
  if (problems.length === 0) {
    passed++;
    log(`ok   ${name} (${ms} ms)`);
    return;
  }
  failed++;
  log(`FAIL ${name} (${ms} ms)`);
  for (const p of problems.slice(0, 25)) log(`     ${p}`);
  if (problems.length > 25) log(`     … and ${problems.length - 25} more (see the report)`);
  if (page && !page.isClosed()) {
    const file = join(ART, `${slug(name)}.png`);
    await page.screenshot({ path: file }).catch(() => undefined);
    log(`     screenshot: ${file}`);
  }
}

// ---------------------------------------------------------------------------
// scans of one page state

async function axeScan(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ content: AXE });
  const res = await page.evaluate((opts) => window.axe.run(document, opts), AXE_OPTIONS);
  return res.violations.map((v) => {
    const where = v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ');
    return `axe ${v.id} (${v.impact}): ${v.help} — ${where}${v.nodes.length > 4 ? ` (+${v.nodes.length - 4})` : ''}`;
  });
}

/** Interactive and focusable nodes of Chromium's accessibility tree without a name. */
async function nameScan(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('Accessibility.enable');
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const problems = [];
    for (const n of nodes) {
      if (n.ignored || n.backendDOMNodeId === undefined) continue;
      const role = n.role?.value ?? '';
      if (role === 'RootWebArea' || role === 'WebArea' || role === 'Iframe') continue;
      const focusable = (n.properties ?? []).some((p) => p.name === 'focusable' && p.value?.value === true);
      if (!NAMED_ROLES.has(role) && !focusable) continue;
      if ((n.name?.value ?? '').trim()) continue;
      // focusable only by script (tabindex="-1", e.g. <main>) and not a widget: no name needed
      let info;
      try {
        const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: n.backendDOMNodeId });
        const r = await cdp.send('Runtime.callFunctionOn', {
          objectId: object.objectId,
          returnByValue: true,
          functionDeclaration: `function () {
            const el = this.nodeType === 1 ? this : this.parentElement;
            const html = el.outerHTML.replace(/\\s+/g, ' ');
            return { tabIndex: el.tabIndex, tag: el.tagName.toLowerCase(), html: html.slice(0, 160) };
          }`,
        });
        info = r.result.value;
        await cdp.send('Runtime.releaseObject', { objectId: object.objectId }).catch(() => undefined);
      } catch {
        continue;
      }
      if (!NAMED_ROLES.has(role) && info.tabIndex < 0) continue;
      problems.push(`no accessible name (role ${role}): ${info.html}`);
    }
    return problems;
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/** Form fields with a real label; images with alt text; icons hidden or named. */
async function domScan(page) {
  return page.evaluate(() => {
    const out = [];
    const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const desc = (el) => el.outerHTML.replace(/\s+/g, ' ').slice(0, 140);
    const text = (el) => (el?.textContent ?? '').trim();
    for (const el of document.querySelectorAll('input:not([type="hidden"]), select, textarea')) {
      if (!shown(el)) continue;
      const byLabel = Array.from(el.labels ?? []).some((l) => text(l));
      const byAria = (el.getAttribute('aria-label') ?? '').trim();
      const byRef = (el.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .some((id) => text(document.getElementById(id)));
      if (!byLabel && !byAria && !byRef) out.push(`form field without a label: ${desc(el)}`);
    }
    for (const el of document.querySelectorAll('img')) {
      if (!el.hasAttribute('alt')) out.push(`image without alt: ${desc(el)}`);
    }
    for (const el of document.querySelectorAll('svg')) {
      if (el.closest('[aria-hidden="true"]') || !shown(el)) continue;
      if (el.parentElement?.closest('svg')) continue;
      const named = (el.getAttribute('aria-label') ?? '').trim() || el.getAttribute('aria-labelledby') || el.querySelector(':scope > title');
      if (!named) out.push(`svg neither hidden nor named: ${desc(el)}`);
    }
    if (document.querySelector('[tabindex]:not([tabindex^="-"]):not([tabindex="0"])')) {
      out.push(`positive tabindex: ${desc(document.querySelector('[tabindex]:not([tabindex^="-"]):not([tabindex="0"])'))}`);
    }
    return out;
  });
}

async function scan(page) {
  const [a, n, d] = [await axeScan(page), await nameScan(page), await domScan(page)];
  return [...a, ...n, ...d];
}

// ---------------------------------------------------------------------------
// keyboard

const NO_MOTION = `*, *::before, *::after { transition: none !important; animation: none !important; }`;

/** What has focus: a description, and whether it can be seen (run in the page). */
function focusInfo() {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  window.__a11ySeq = window.__a11ySeq ?? 0;
  if (!el.dataset.a11yStop) el.dataset.a11yStop = String(++window.__a11ySeq);
  const labelText = Array.from(el.labels ?? [])
    .map((l) => l.textContent.trim())
    .join(' ');
  const name = (
    el.getAttribute('aria-label') ||
    (el.getAttribute('aria-labelledby') ?? '')
      .split(/\s+/)
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' ') ||
    labelText ||
    el.innerText ||
    el.getAttribute('title') ||
    el.getAttribute('placeholder') ||
    ''
  )
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 60);
  return {
    key: el.dataset.a11yStop,
    tag: el.tagName.toLowerCase(),
    role: el.getAttribute('role') ?? '',
    name,
    id: el.id,
    testid: el.dataset.testid ?? '',
    inNav: !!el.closest('nav[aria-label="Main"]'),
    inDialog: !!el.closest('[role="dialog"]'),
    inMenu: !!el.closest('[role="menu"]'),
    tabIndex: el.tabIndex,
  };
}

/** Visibility and focus indicator of the focused element (run in the page). */
function focusLooks() {
  const el = document.activeElement;
  const problems = [];
  const r = el.getBoundingClientRect();
  if (r.width < 2 || r.height < 2) problems.push(`is ${Math.round(r.width)}×${Math.round(r.height)} px`);
  let opacity = 1;
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const cs = getComputedStyle(e);
    opacity *= Number(cs.opacity);
    if (cs.visibility === 'hidden') problems.push('is visibility:hidden');
  }
  if (opacity < 0.5) problems.push(`is transparent (opacity ${opacity.toFixed(2)})`);
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  const cx = Math.min(Math.max(r.left + r.width / 2, 0), vw - 1);
  const cy = Math.min(Math.max(r.top + r.height / 2, 0), vh - 1);
  if (r.bottom <= 0 || r.top >= vh || r.right <= 0 || r.left >= vw) problems.push('is outside the viewport');
  else if (getComputedStyle(el).pointerEvents !== 'none') {
    const top = document.elementFromPoint(cx, cy);
    if (top && top !== el && !el.contains(top) && !top.contains(el)) {
      problems.push(`is covered by ${top.tagName.toLowerCase()}${top.className ? `.${String(top.className).split(' ')[0]}` : ''}`);
    }
  }
  const PROPS = [
    'outline-style', 'outline-width', 'outline-color', 'box-shadow', 'border-top-color', 'border-bottom-color',
    'border-left-color', 'border-right-color', 'background-color', 'text-decoration-line',
  ];
  const read = () => {
    const cs = getComputedStyle(el);
    return Object.fromEntries(PROPS.map((p) => [p, cs.getPropertyValue(p)]));
  };
  const focusVisible = el.matches(':focus-visible');
  const on = read();
  el.blur();
  const off = read();
  el.focus({ preventScroll: true });
  const outlineOn = on['outline-style'] !== 'none' && parseFloat(on['outline-width']) > 0;
  const outlineOff = off['outline-style'] !== 'none' && parseFloat(off['outline-width']) > 0;
  const changed = [];
  if (outlineOn && (!outlineOff || on['outline-color'] !== off['outline-color'] || on['outline-width'] !== off['outline-width'])) changed.push('outline');
  if (on['box-shadow'] !== off['box-shadow'] && on['box-shadow'] !== 'none') changed.push('ring');
  if (['top', 'bottom', 'left', 'right'].some((s) => on[`border-${s}-color`] !== off[`border-${s}-color`])) changed.push('border');
  if (on['background-color'] !== off['background-color']) changed.push('background');
  if (on['text-decoration-line'] !== off['text-decoration-line']) changed.push('underline');
  if (!focusVisible) problems.push('does not match :focus-visible after Tab');
  else if (changed.length === 0) problems.push('shows no focus indicator');
  return { problems, indicator: changed.join('+'), refocused: document.activeElement === el };
}

function label(stop) {
  const bits = [stop.role || stop.tag];
  if (stop.name) bits.push(`"${stop.name}"`);
  if (stop.id) bits.push(`#${stop.id}`);
  else if (stop.testid) bits.push(`[${stop.testid}]`);
  return bits.join(' ');
}

/**
 * Presses Tab from the top of a freshly loaded page until focus wraps
 * around. Returns the stops and the problems found on the way.
 */
async function tabWalk(page, { max = 400 } = {}) {
  const style = await page.addStyleTag({ content: NO_MOTION });
  const stops = [];
  const problems = [];
  const seen = new Map();
  let previous = null;
  try {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(focusInfo);
      if (!info) {
        if (stops.length) return { stops, problems }; // past the last stop: focus left the page
        continue;
      }
      if (seen.has(info.key)) {
        if (seen.get(info.key) === 0) return { stops, problems }; // wrapped to the first stop
        if (previous === info.key) problems.push(`keyboard trap: Tab stays on ${label(info)}`);
        else problems.push(`keyboard trap: Tab cycles back to ${label(info)} (stop ${seen.get(info.key) + 1}) without leaving`);
        return { stops, problems };
      }
      seen.set(info.key, stops.length);
      stops.push(info);
      previous = info.key;
      const looks = await page.evaluate(focusLooks);
      info.indicator = looks.indicator;
      for (const p of looks.problems) problems.push(`stop ${stops.length} ${label(info)} ${p}`);
      if (!looks.refocused) {
        problems.push(`stop ${stops.length} ${label(info)} cannot be focused again after blur`);
        return { stops, problems };
      }
    }
    problems.push(`focus did not come back to the top after ${max} Tab presses (a trap, or far too many stops)`);
    return { stops, problems };
  } finally {
    await style.evaluate((el) => el.remove()).catch(() => undefined);
  }
}

async function walkAndOrder(page, wanted, problems, detail) {
  const walk = await tabWalk(page);
  problems.push(...walk.problems, ...orderProblems(walk.stops, wanted));
  detail.push(...walk.stops.map((st, i) => `${String(i + 1).padStart(3)} ${label(st)} [${st.indicator || 'no indicator'}]`));
}

/** Matchers of the controls that must be reached, in this order. */
function orderProblems(stops, wanted) {
  const problems = [];
  let last = -1;
  let lastName = '';
  for (const [name, test] of wanted) {
    const i = stops.findIndex(test);
    if (i < 0) {
      problems.push(`Tab never reaches ${name}`);
      continue;
    }
    if (i < last) problems.push(`Tab reaches ${name} (stop ${i + 1}) before ${lastName} (stop ${last + 1})`);
    last = i;
    lastName = name;
  }
  return problems;
}

const by = {
  skip: ['the skip link', (s) => s.tag === 'a' && /skip to content/i.test(s.name)],
  home: ['the home link', (s) => s.name === 'twitch-nginx home'],
  browse: ['the Browse nav link', (s) => s.inNav && s.name === 'Browse'],
  search: ['the header search box', (s) => s.id === 'site-search'],
  login: ['the Log In button', (s) => s.tag === 'button' && s.name === 'Log In'],
  userMenu: ['the user menu button', (s) => s.name === 'User menu'],
  play: ['the player play/pause button', (s) => s.tag === 'button' && /^(Play|Pause)$/.test(s.name)],
  quality: ['the quality button', (s) => s.testid === 'quality-button'],
  follow: ['the follow button', (s) => s.testid === 'follow-button'],
  subscribe: ['the subscribe button', (s) => s.testid === 'subscribe-button'],
  dashboardLink: ['the Creator Dashboard link', (s) => s.tag === 'a' && s.name === 'Creator Dashboard'],
  chatInput: ['the chat input', (s) => s.id === 'chat-input'],
  chatLogin: ['the log-in-to-chat button', (s) => s.name === 'Log in to chat'],
  emotes: ['the emote picker button', (s) => s.name === 'Emotes'],
  chatSettings: ['the chat settings button', (s) => s.name === 'Chat settings'],
  modAction: ['a moderator action on a message', (s) => /^Delete message from /.test(s.name)],
  username: ['the username field', (s) => s.id === 'auth-username'],
  password: ['the password field', (s) => s.id === 'auth-password'],
  reveal: ['the reveal-stream-key button', (s) => /stream key$/.test(s.name) && /^(Reveal|Hide)/.test(s.name)],
  title: ['the stream title field', (s) => s.id === 'si-title'],
};

/** The controls each page must offer to Tab, in order. */
async function expectedOrder(page, name, signedIn, owner) {
  const header = [by.skip, by.home, by.browse, by.search, signedIn ? by.userMenu : by.login];
  const has = async (sel) => (await page.locator(sel).count()) > 0;
  const main = [];
  if (name === 'channel') {
    if (await has('[data-testid="player"]')) main.push(by.play);
    if (await has('[data-testid="quality-button"]')) main.push(by.quality);
    if (owner) main.push(by.dashboardLink);
    else main.push(by.follow, by.subscribe);
    if (signedIn) {
      if (await has(MOD_ACTIONS)) main.push(by.modAction);
      main.push(by.chatInput, by.emotes);
    } else main.push(by.chatLogin);
  } else if (name === 'login' || name === 'signup') {
    if (!signedIn) main.push(by.username, by.password);
  } else if (name === 'dashboard' && signedIn) {
    if (await has('[data-testid="player"]')) main.push(by.play);
    main.push(by.reveal, by.title);
  }
  return [...header, ...main];
}

/** Presses Tab (from wherever focus is) until the focused element passes test. */
async function tabTo(page, [what, test], max = 250) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(focusInfo);
    if (info && test(info)) return info;
  }
  throw new Error(`Tab never reached ${what} in ${max} presses`);
}

async function focused(page) {
  return page.evaluate(focusInfo);
}

async function fresh(page, path) {
  await page.goto(`${BASE}${path}`, { waitUntil: 'load', timeout: 20_000 });
  await page.waitForSelector('header', { timeout: 10_000 });
  await page.waitForTimeout(1200);
}

async function until(what, fn, timeout = T, every = 250) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Escape closes what is open (a locator) and gives focus back to its opener. */
async function escapeCloses(page, open, opener, what) {
  const problems = [];
  await page.keyboard.press('Escape');
  try {
    await open.waitFor({ state: 'hidden', timeout: 3_000 });
  } catch {
    problems.push(`Escape does not close ${what}`);
    return problems;
  }
  const f = await focused(page);
  if (!f || !opener[1](f)) problems.push(`after Escape focus is on ${f ? label(f) : 'nothing'}, not back on ${opener[0]}`);
  return problems;
}

// ---------------------------------------------------------------------------
// the checks

/** Every page: scans, and the Tab walk at desktop width. */
async function pagesChecks(page, who, signedIn, owner) {
  for (const [name, path] of PAGES) {
    await check(`${who} ${name}: names, labels, alt text, ARIA`, page, async () => {
      await fresh(page, path);
      return scan(page);
    });
    await check(`${who} ${name}: Tab order, focus indicators, no trap`, page, async (problems, detail) => {
      await fresh(page, path);
      await walkAndOrder(page, await expectedOrder(page, name, signedIn, owner), problems, detail);
    });
  }
}

async function phoneChecks(page, who) {
  await page.setViewportSize(PHONE_SIZE);
  try {
    for (const [name, path] of PAGES) {
      await check(`${who} phone ${name}: names, labels, alt text, ARIA`, page, async () => {
        await fresh(page, path);
        return scan(page);
      });
    }
  } finally {
    await page.setViewportSize(DESKTOP);
  }
}

async function signedOutFlows(page) {
  await check('signed out: header search with the keyboard', page, async (problems) => {
    await fresh(page, '/');
    await tabTo(page, by.search);
    await page.keyboard.type(STREAMER, { delay: 20 });
    // suggestions: arrows move through them, Escape closes them
    const list = page.getByRole('listbox');
    if (await list.waitFor({ timeout: 4_000 }).then(() => true, () => false)) {
      await page.keyboard.press('ArrowDown');
      const active = await page.locator('#site-search').getAttribute('aria-activedescendant');
      const f = await focused(page);
      if (f?.id !== 'site-search') problems.push(`ArrowDown moves focus out of the search box to ${f ? label(f) : 'nothing'}`);
      else if (!active || !(await page.locator(`[id="${active}"][role="option"]`).count())) {
        problems.push('ArrowDown does not make a suggestion active (aria-activedescendant)');
      } else if ((await page.locator(`[id="${active}"]`).getAttribute('aria-selected')) !== 'true') {
        problems.push('the active suggestion is not aria-selected');
      }
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Escape');
      if (await list.isVisible()) problems.push('Escape does not close the suggestions');
      if ((await page.locator('#site-search').inputValue()) !== STREAMER) problems.push('Escape with the suggestions open clears the search box');
    } else problems.push(`no suggestions for "${STREAMER}"`);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/search' && u.searchParams.get('q') === STREAMER, { timeout: 5_000 });
    await page.getByRole('heading', { name: new RegExp(`Results for .${STREAMER}.`) }).waitFor({ timeout: 5_000 });
  });

  await check('signed out: Browse tabs with the arrow keys', page, async (problems) => {
    await fresh(page, '/browse');
    await tabTo(page, ['the Live channels tab', (s) => s.role === 'tab' && s.name === 'Live channels']);
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((u) => u.searchParams.get('tab') === 'categories', { timeout: 5_000 }).catch(() =>
      problems.push('ArrowRight on the Live channels tab does not switch to Categories'),
    );
    await page.waitForTimeout(300);
    const f = await focused(page);
    if (f?.role !== 'tab' || f.name !== 'Categories') problems.push(`after ArrowRight focus is on ${f ? label(f) : 'nothing'}, not the Categories tab`);
    await page.keyboard.press('Tab');
    const g = await focused(page);
    if (g?.role === 'tab') problems.push('both tabs are Tab stops: Tab should go from the selected tab into the list');
  });

  await check('signed out: log-in dialog opens with Enter, keeps focus, closes with Escape', page, async (problems) => {
    await fresh(page, '/');
    await tabTo(page, by.login);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Log in' });
    await dialog.waitFor({ timeout: 3_000 });
    let f = await focused(page);
    if (!f?.inDialog) problems.push(`focus is not in the dialog when it opens (${f ? label(f) : 'nothing'})`);
    else if (f.id !== 'auth-username') problems.push(`focus starts on ${label(f)}, not the username field`);
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      f = await focused(page);
      if (!f?.inDialog) {
        problems.push(`Tab leaves the modal dialog to ${f ? label(f) : 'nothing'}`);
        break;
      }
    }
    problems.push(...(await scan(page)).map((p) => `log-in dialog: ${p}`));
    problems.push(...(await escapeCloses(page, dialog, by.login, 'the log-in dialog')));
  });
}

async function logInWithKeyboard(page, username) {
  await fresh(page, '/login');
  await tabTo(page, by.username);
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  const f = await focused(page);
  if (f?.id !== 'auth-password') throw new Error(`Tab from the username goes to ${f ? label(f) : 'nothing'}, not the password`);
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: T });
}

async function userMenuFlow(page, who) {
  await check(`${who}: user menu with the keyboard`, page, async (problems) => {
    await fresh(page, '/');
    await tabTo(page, by.userMenu);
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu', { name: 'User menu' });
    await menu.waitFor({ timeout: 3_000 });
    const items = menu.getByRole('menuitem');
    const names = await items.allInnerTexts();
    let f = await focused(page);
    if (!f?.inMenu || f.name !== names[0].trim()) problems.push(`focus is on ${f ? label(f) : 'nothing'}, not the first item, when the menu opens`);
    await page.keyboard.press('ArrowDown');
    f = await focused(page);
    if (f?.name !== names[1]?.trim()) problems.push(`ArrowDown goes to ${f ? label(f) : 'nothing'}, not "${names[1]}"`);
    await page.keyboard.press('End');
    f = await focused(page);
    if (f?.name !== names.at(-1).trim()) problems.push(`End goes to ${f ? label(f) : 'nothing'}, not "${names.at(-1)}"`);
    await page.keyboard.press('Home');
    f = await focused(page);
    if (f?.name !== names[0].trim()) problems.push(`Home goes to ${f ? label(f) : 'nothing'}, not "${names[0]}"`);
    problems.push(...(await scan(page)).map((p) => `user menu open: ${p}`));
    problems.push(...(await escapeCloses(page, menu, by.userMenu, 'the user menu')));
    // Tab out of an open menu closes it
    await page.keyboard.press('Enter');
    await menu.waitFor({ timeout: 3_000 });
    await page.keyboard.press('Tab');
    if (await menu.isVisible()) problems.push('the user menu stays open after Tab moves focus out of it');
  });
}

async function viewerChannelFlows(page, live, canModerate) {
  const path = `/${STREAMER}`;
  const player = page.getByTestId('player');

  if (live) {
    await check('viewer channel: play/pause with the keyboard', page, async (problems) => {
      await fresh(page, path);
      await until('the video to play', async () => (await player.getAttribute('data-state')) === 'playing', 30_000);
      await tabTo(page, by.play);
      await page.keyboard.press('Enter');
      await until('pause', async () => (await player.getAttribute('data-state')) === 'paused', 5_000).catch(() =>
        problems.push('Enter on Pause does not pause'),
      );
      let f = await focused(page);
      if (f?.name !== 'Play') problems.push(`focus is on ${f ? label(f) : 'nothing'} after pausing, not the Play button`);
      await page.keyboard.press(' ');
      await until('play', async () => (await player.getAttribute('data-state')) === 'playing', 10_000).catch(() =>
        problems.push('Space on Play does not play'),
      );
      // Space on another control does that control's job, not play/pause
      await tabTo(page, ['the mute button', (s) => /^(Mute|Unmute)$/.test(s.name)]);
      const before = (await focused(page)).name;
      await page.keyboard.press(' ');
      await page.waitForTimeout(300);
      f = await focused(page);
      if (f?.name === before) problems.push(`Space on "${before}" does not toggle it`);
      if ((await player.getAttribute('data-state')) !== 'playing') problems.push('Space on the mute button pauses the video');
      await page.keyboard.press(' '); // back as it was
    });

    await check('viewer channel: quality menu with Enter, Space, arrows and Escape', page, async (problems) => {
      await fresh(page, path);
      const btn = page.getByTestId('quality-button');
      await btn.waitFor({ state: 'attached', timeout: 30_000 });
      await tabTo(page, by.quality);
      const menu = page.getByRole('menu', { name: 'Video quality' });
      await page.keyboard.press('Enter');
      await menu.waitFor({ timeout: 3_000 });
      const onChecked = () => page.evaluate(() => document.activeElement?.getAttribute('aria-checked') === 'true');
      let f = await focused(page);
      if (!f?.inMenu || !(await onChecked())) problems.push(`focus is on ${f ? label(f) : 'nothing'}, not the checked rung, when the menu opens`);
      problems.push(...(await scan(page)).map((p) => `quality menu open: ${p}`));
      await page.keyboard.press('ArrowDown');
      f = await focused(page);
      if (!f?.inMenu || (await onChecked())) problems.push(`ArrowDown goes to ${f ? label(f) : 'nothing'}, not another rung`);
      const target = await page.evaluate(() => document.activeElement?.getAttribute('data-level-index'));
      await page.keyboard.press('Enter');
      if (await menu.isVisible()) problems.push('Enter on a rung does not close the menu');
      f = await focused(page);
      if (f?.testid !== 'quality-button') problems.push(`after choosing, focus is on ${f ? label(f) : 'nothing'}, not the quality button`);
      if (target !== null) {
        await until(`level ${target}`, async () => (await player.getAttribute('data-level')) === target, 30_000).catch(() =>
          problems.push(`choosing rung ${target} with Enter does not switch to it`),
        );
        if ((await player.getAttribute('data-auto-level')) !== 'false') problems.push('still on Auto after choosing a rung');
      } else problems.push('ArrowDown from the checked rung did not reach a rendition');
      await page.keyboard.press(' ');
      if (!(await menu.waitFor({ timeout: 3_000 }).then(() => true, () => false))) {
        problems.push('Space does not open the quality menu');
        return;
      }
      await page.keyboard.press('Home');
      f = await focused(page);
      if (!f?.inMenu || !/^Auto/.test(f.name)) problems.push(`Home goes to ${f ? label(f) : 'nothing'}, not Auto`);
      problems.push(...(await escapeCloses(page, menu, by.quality, 'the quality menu')));
      await page.keyboard.press('Enter');
      await menu.waitFor({ timeout: 3_000 });
      await page.keyboard.press('Home');
      await page.keyboard.press('Enter'); // back to Auto
    });
  }

  await check('viewer channel: section tabs with the arrow keys', page, async (problems) => {
    await fresh(page, path);
    await tabTo(page, ['the About tab', (s) => s.role === 'tab' && s.name === 'About']);
    await page.keyboard.press('ArrowRight');
    let f = await focused(page);
    if (f?.role !== 'tab' || f.name !== 'Videos') problems.push(`ArrowRight from About goes to ${f ? label(f) : 'nothing'}, not Videos`);
    else if ((await page.locator(`#${f.id}`).getAttribute('aria-selected')) !== 'true') problems.push('ArrowRight does not select the Videos tab');
    await page.keyboard.press('End');
    f = await focused(page);
    if (f?.name !== 'Clips') problems.push(`End goes to ${f ? label(f) : 'nothing'}, not Clips`);
    await page.keyboard.press('Home');
    f = await focused(page);
    if (f?.name !== 'About') problems.push(`Home goes to ${f ? label(f) : 'nothing'}, not About`);
  });

  await check('viewer channel: follow with the keyboard', page, async (problems) => {
    await fresh(page, path);
    const follow = page.getByTestId('follow-button');
    await tabTo(page, by.follow);
    const was = await follow.getAttribute('aria-pressed');
    await page.keyboard.press(' ');
    await until('aria-pressed to change', async () => (await follow.getAttribute('aria-pressed')) !== was, 5_000);
    await page.waitForTimeout(800);
    let f = await focused(page);
    if (f?.testid !== 'follow-button') problems.push(`focus is on ${f ? label(f) : 'nothing'} after following, not the follow button`);
    await page.keyboard.press('Enter');
    await until('aria-pressed back', async () => (await follow.getAttribute('aria-pressed')) === was, 5_000);
    await page.waitForTimeout(800);
    f = await focused(page);
    if (f?.testid !== 'follow-button') problems.push(`focus is on ${f ? label(f) : 'nothing'} after unfollowing, not the follow button`);
  });

  await check('viewer channel: subscribe dialog with the keyboard', page, async (problems) => {
    await fresh(page, path);
    await tabTo(page, by.subscribe);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: /^Subscribe to / });
    await dialog.waitFor({ timeout: 3_000 });
    let f = await focused(page);
    if (!f?.inDialog) problems.push(`focus is not in the dialog when it opens (${f ? label(f) : 'nothing'})`);
    const checkedBefore = await dialog.locator('input[type="radio"]:checked').getAttribute('value');
    await page.keyboard.press('ArrowRight');
    const checkedAfter = await dialog.locator('input[type="radio"]:checked').getAttribute('value');
    if (checkedAfter === checkedBefore) problems.push('the arrow keys do not change the tier');
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      f = await focused(page);
      if (!f?.inDialog) {
        problems.push(`Tab leaves the modal dialog to ${f ? label(f) : 'nothing'}`);
        break;
      }
    }
    problems.push(...(await scan(page)).map((p) => `subscribe dialog: ${p}`));
    problems.push(...(await escapeCloses(page, dialog, by.subscribe, 'the subscribe dialog')));
  });

  await check('viewer channel: emote picker and a chat message with the keyboard', page, async (problems) => {
    await fresh(page, path);
    const input = page.locator('#chat-input');
    await until('chat to connect', () => input.isEnabled(), T);
    await tabTo(page, by.chatInput);
    await page.keyboard.press('Tab');
    let f = await focused(page);
    if (f?.name !== 'Emotes') problems.push(`Tab from the chat input goes to ${f ? label(f) : 'nothing'}, not the emote button`);
    await page.keyboard.press('Enter');
    const picker = page.getByRole('dialog', { name: 'Emotes' });
    await picker.waitFor({ timeout: 3_000 });
    f = await focused(page);
    if (!f?.inDialog) problems.push(`focus is not in the emote picker when it opens (${f ? label(f) : 'nothing'})`);
    problems.push(...(await scan(page)).map((p) => `emote picker open: ${p}`));
    problems.push(...(await escapeCloses(page, picker, by.emotes, 'the emote picker')));
    // pick one with Enter: its code goes into the message, focus back in the input
    await page.keyboard.press('Enter');
    await picker.waitFor({ timeout: 3_000 });
    const code = await page.evaluate(() => document.activeElement?.getAttribute('data-emote'));
    await page.keyboard.press('Enter');
    await page.waitForTimeout(200);
    f = await focused(page);
    if (f?.id !== 'chat-input') problems.push(`after picking an emote focus is on ${f ? label(f) : 'nothing'}, not the chat input`);
    if (!code || !(await input.inputValue()).includes(code)) problems.push(`Enter on an emote does not put ${code} in the message`);
    await page.keyboard.press('Escape');
    if (await picker.isVisible()) problems.push('Escape in the chat input does not close the emote picker');
    const text = ` keyboard a11y ${Math.random().toString(36).slice(2, 7)}`;
    await input.focus();
    await page.keyboard.press('End');
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
    await page
      .getByTestId('chat-messages')
      .getByText(text.trim(), { exact: false })
      .waitFor({ timeout: 10_000 })
      .catch(() => problems.push('Enter in the chat input does not send the message'));
    if ((await input.inputValue()) !== '') problems.push('the chat input is not cleared after sending');
    f = await focused(page);
    if (f?.id !== 'chat-input') problems.push(`focus leaves the chat input after sending (${f ? label(f) : 'nothing'})`);
    // a second one (one message a second), so that the moderators have two to move between
    await page.waitForTimeout(1100);
    const again = `keyboard a11y again ${Math.random().toString(36).slice(2, 7)}`;
    await page.keyboard.type(again);
    await page.keyboard.press('Enter');
    await page
      .getByTestId('chat-messages')
      .getByText(again, { exact: false })
      .waitFor({ timeout: 10_000 })
      .catch(() => problems.push('a second message with Enter is not sent'));
  });

  if (canModerate) await modActionsFlow(page, 'viewer (moderator)');
}

/**
 * Message actions: Tab reaches them, arrows move between messages, they show
 * when focused; with remove, Enter deletes the message and the focus goes
 * to the actions of the one that took its place.
 */
async function modActionsFlow(page, who, remove = false) {
  await check(`${who} channel: message actions with the keyboard${remove ? ', deleting one' : ''}`, page, async (problems) => {
    await until('a message with actions', async () => (await page.locator(MOD_ACTIONS).count()) > 0, 10_000);
    await page.locator('#site-search').focus();
    const first = await tabTo(page, by.modAction);
    // the actions of one message are in the Tab order, not those of every message
    const { tabbable, perLine, msgs } = await page.evaluate((sel) => {
      const all = Array.from(document.querySelectorAll(sel));
      const li = document.activeElement?.closest('li');
      return {
        tabbable: all.filter((b) => b.tabIndex >= 0).length,
        perLine: li ? li.querySelectorAll('button').length : 0,
        msgs: new Set(all.map((b) => b.closest('li'))).size,
      };
    }, MOD_ACTIONS);
    if (tabbable > perLine) problems.push(`${tabbable} message actions are Tab stops; only the current message's ${perLine} should be`);
    if (msgs > 1) {
      await page.keyboard.press('ArrowUp');
      const f = await focused(page);
      if (!f || f.key === first.key || !/^Delete message from /.test(f.name)) {
        problems.push(`ArrowUp from ${label(first)} goes to ${f ? label(f) : 'nothing'}, not the previous message's action`);
      }
      await page.keyboard.press('ArrowDown');
      if (remove) {
        await page.keyboard.press('ArrowUp');
        const target = await focused(page);
        if (!/^Delete message from /.test(target?.name ?? '')) return;
        const id = await page.evaluate(() => document.activeElement?.closest('li')?.dataset.messageId);
        await page.keyboard.press('Enter');
        await until(
          'the message to be deleted',
          () => page.evaluate((mid) => !document.querySelector(`li[data-message-id="${mid}"] [data-mod-action]`), id),
          10_000,
        ).catch(() => problems.push('Enter on Delete does not delete the message'));
        const f = await focused(page);
        if (!f || !/^Delete message from /.test(f.name)) {
          problems.push(`after deleting a message focus is on ${f ? label(f) : 'nothing'}, not the next message's actions`);
        }
      }
    }
  });
}

async function streamerFlows(page, live) {
  await check('streamer channel: chat settings with the keyboard', page, async (problems) => {
    await fresh(page, `/${STREAMER}`);
    await tabTo(page, by.chatSettings);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Chat settings' });
    await dialog.waitFor({ timeout: 3_000 });
    const f = await focused(page);
    if (!f?.inDialog) problems.push(`focus is not in chat settings when they open (${f ? label(f) : 'nothing'})`);
    problems.push(...(await scan(page)).map((p) => `chat settings open: ${p}`));
    problems.push(...(await escapeCloses(page, dialog, by.chatSettings, 'the chat settings')));
  });

  await check('streamer dashboard: reveal the stream key, and rotate then cancel, with the keyboard', page, async (problems) => {
    await fresh(page, '/dashboard');
    const key = page.getByTestId('stream-key');
    await key.waitFor({ timeout: T });
    await tabTo(page, by.reveal);
    await page.keyboard.press('Enter');
    if ((await key.getAttribute('type')) !== 'text') problems.push('Enter on Reveal does not show the key');
    await page.keyboard.press(' ');
    if ((await key.getAttribute('type')) !== 'password') problems.push('Space on Hide does not hide the key');
    let f = await focused(page);
    if (!f || !by.reveal[1](f)) problems.push(`focus moved to ${f ? label(f) : 'nothing'}`);
    // Rotate asks first: focus goes to Cancel, and back to Rotate after it
    await tabTo(page, ['the Rotate key button', (s) => s.testid === 'rotate-key'], 10);
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-rotate').waitFor({ timeout: 3_000 });
    f = await focused(page);
    if (f?.name !== 'Cancel') problems.push(`after Rotate key focus is on ${f ? label(f) : 'nothing'}, not Cancel`);
    else {
      await page.keyboard.press('Enter');
      await page.getByTestId('rotate-key').waitFor({ timeout: 3_000 });
      f = await focused(page);
      if (f?.testid !== 'rotate-key') problems.push(`after Cancel focus is on ${f ? label(f) : 'nothing'}, not Rotate key`);
    }
  });

  await check('streamer dashboard: a chat mode switch with the keyboard', page, async (problems) => {
    await fresh(page, '/dashboard');
    const sw = page.getByRole('switch', { name: 'Emote-only' });
    await sw.waitFor({ timeout: T });
    await tabTo(page, ['the Emote-only switch', (s) => s.role === 'switch' && s.name === 'Emote-only']);
    const was = await sw.getAttribute('aria-checked');
    for (const key of [' ', 'Enter']) {
      const before = await sw.getAttribute('aria-checked');
      await page.keyboard.press(key);
      await until(`${key === ' ' ? 'Space' : key} to toggle the switch`, async () => (await sw.getAttribute('aria-checked')) !== before, 5_000).catch(
        (err) => problems.push(err.message),
      );
      await page.waitForTimeout(800);
      const f = await focused(page);
      if (f?.role !== 'switch' || f.name !== 'Emote-only') problems.push(`focus is on ${f ? label(f) : 'nothing'} after the switch, not the switch`);
    }
    if ((await sw.getAttribute('aria-checked')) !== was) {
      problems.push('the switch is not back as it was');
      const me = await api(page, 'GET', '/api/auth/me');
      const id = me.json?.user?.channel?.id;
      if (id) await api(page, 'POST', `/api/moderation/${id}/filters/emote-only`, { enabled: was === 'true' });
    }
  });
}

// ---------------------------------------------------------------------------

const users = [];
let publisher = null;
const errors = [];

async function newPage(label, viewport = DESKTOP) {
  const u = await launchUser({ viewport });
  users.push(u);
  const page = await u.context.newPage();
  page.setDefaultTimeout(T);
  errors.push(watchErrors(page, label));
  return page;
}

async function main() {
  log(`keyboard and label checks against ${BASE}${RTMP ? ` (${STREAMER} goes live at ${RTMP})` : ''}`);

  // signed out
  const anon = await newPage('signed out');
  await pagesChecks(anon, 'signed out', false, false);
  if (PHONE) await phoneChecks(anon, 'signed out');
  await signedOutFlows(anon);
  await users.shift().close();

  // the streamer: logged in through the API, live from ffmpeg
  const streamer = await newPage('streamer');
  await fresh(streamer, '/');
  const r = await api(streamer, 'POST', '/api/auth/login', { username: STREAMER, password: PASSWORD });
  if (r.status !== 200) throw new Error(`log in as ${STREAMER}: ${r.status} ${JSON.stringify(r.json)}`);
  let live = false;
  if (RTMP) {
    const me = await api(streamer, 'GET', '/api/auth/me');
    const key = me.json?.user?.channel?.streamKey;
    if (!key) throw new Error(`${STREAMER} has no stream key`);
    publisher = startPublisher(RTMP, key);
    await until(
      `${STREAMER} to be live with more than one rendition`,
      async () => {
        const c = await api(streamer, 'GET', `/api/channels/${STREAMER}`);
        if (c.json?.channel?.isLive !== true) return false;
        const m = await streamer.evaluate(async (n) => (await fetch(`/hls/${n}/master.m3u8`)).text(), STREAMER);
        return (m.match(/#EXT-X-STREAM-INF/g) ?? []).length > 1;
      },
      90_000,
      1000,
    );
    live = true;
    log(`     ${STREAMER} is live`);
  }
  await pagesChecks(streamer, 'signed in', true, true);
  if (PHONE) await phoneChecks(streamer, 'signed in');
  await userMenuFlow(streamer, 'signed in');

  // the viewer: logs in with the keyboard alone, on the streamer's channel
  const viewer = await newPage('viewer');
  await check(`viewer: log in with the keyboard (${VIEWER})`, viewer, async () => {
    await logInWithKeyboard(viewer, VIEWER);
  }, { always: true });
  await fresh(streamer, `/${STREAMER}`); // in the room when the viewer chats
  const me = await api(viewer, 'GET', '/api/auth/me');
  const viewerCanModerate = me.json?.user?.role === 'admin' || me.json?.user?.role === 'moderator';
  await check('viewer channel: names, labels, alt text, ARIA', viewer, async () => {
    await fresh(viewer, `/${STREAMER}`);
    return scan(viewer);
  });
  await viewerChannelFlows(viewer, live, viewerCanModerate);
  await check('viewer channel: Tab order, focus indicators, no trap', viewer, async (problems, detail) => {
    await fresh(viewer, `/${STREAMER}`);
    await walkAndOrder(viewer, await expectedOrder(viewer, 'channel', true, false), problems, detail);
  });

  // back to the streamer: the viewer's message is in the room, with actions
  await check('streamer channel with messages: Tab order, focus indicators, no trap', streamer, async (problems, detail) => {
    await fresh(streamer, `/${STREAMER}`);
    await until('a message with actions', async () => (await streamer.locator(MOD_ACTIONS).count()) > 0, 10_000);
    await walkAndOrder(streamer, await expectedOrder(streamer, 'channel', true, true), problems, detail);
  });
  await modActionsFlow(streamer, 'streamer', true);
  await streamerFlows(streamer, live);

  for (const w of errors) {
    for (const e of w.errors) log(`page error: ${e}`);
  }
  const pageErrors = errors.flatMap((w) => w.errors);
  await check('no page errors during the checks', null, async () => pageErrors);
}

try {
  await main();
} catch (err) {
  failed++;
  results.push({ name: 'setup', problems: [err.message], detail: [] });
  log(`FAIL setup: ${err.message}`);
} finally {
  if (publisher) publisher.kill('SIGINT');
  for (const u of users) await u.close();
}

const report = join(ART, 'report.txt');
writeFileSync(
  report,
  results
    .map(
      (r) =>
        `${r.problems.length ? 'FAIL' : 'ok  '} ${r.name}${r.problems.map((p) => `\n     ${p}`).join('')}` +
        `${(r.detail ?? []).map((d) => `\n       ${d}`).join('')}`,
    )
    .join('\n') + '\n',
);
writeFileSync(join(ART, 'report.json'), `${JSON.stringify(results, null, 2)}\n`);
log('');
log(`report: ${report}`);
log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
