#!/usr/bin/env node
// End-to-end flow through the real UI, on a running platform:
//
//   sign up → log out → log in → browse → open a live channel → the video
//   plays and the quality changes → a chat message from one browser reaches
//   a second one (and back) → follow → subscribe → the dashboard reveals and
//   rotates the stream key → log out.
//
// It prints the home page's first contentful paint and the time from
// clicking a live channel to its first video frame. On failure it leaves
// screenshots of every open page in the artifacts directory and exits 1.
//
// Usage (from web/, after `npm ci`):
//   E2E_BASE_URL=http://127.0.0.1:8080 node e2e/flow.mjs
//
// Environment:
//   E2E_BASE_URL   platform URL (default http://127.0.0.1:8080; BASE_URL also works)
//   E2E_RTMP_URL   e.g. rtmp://127.0.0.1:1935/live — a second account is signed up and
//                  streams an ffmpeg test pattern with its own key; the flow watches that
//                  channel. Without it an already-live channel is used:
//   E2E_CHANNEL    name of the live channel to open (default: the first live card on /browse)
//   E2E_ARTIFACTS  where screenshots go (default web/e2e/artifacts)
//   E2E_TIMEOUT    per-wait timeout in ms (default 30000)
//   E2E_HEADFUL=1  show the browsers (needs a display)
//   CHROMIUM_PATH  browser binary (default /usr/bin/chromium)
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseUrlFromEnv, ensureDir, launchUser, pageApi as api, screenshotAll, startPublisher, watchErrors } from './lib.mjs';

const BASE = baseUrlFromEnv();
const ART = ensureDir(process.env.E2E_ARTIFACTS || fileURLToPath(new URL('./artifacts', import.meta.url)));
const T = Number(process.env.E2E_TIMEOUT || 30_000);
const HEADFUL = process.env.E2E_HEADFUL === '1';
const RTMP = (process.env.E2E_RTMP_URL || '').replace(/\/+$/, '');
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');

const rnd = Math.random().toString(36).slice(2, 8);
const viewer = { username: `e2e_v_${rnd}`, email: `e2e_v_${rnd}@example.com`, password: `pw-${rnd}-viewer!` };
const second = { username: `e2e_s_${rnd}`, email: `e2e_s_${rnd}@example.com`, password: `pw-${rnd}-second!` };

const pages = {};
const users = [];
const watches = [];
const metrics = {};
let publisher = null;
let passed = 0;

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    passed++;
    log(`ok   ${name} (${Date.now() - t0} ms)${note ? ` — ${note}` : ''}`);
  } catch (err) {
    err.step = name;
    throw err;
  }
}

/** Polls fn until it returns a truthy value. */
async function until(what, fn, timeout = T, every = 500) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

async function newUser(label) {
  const u = await launchUser({ headful: HEADFUL });
  users.push(u);
  // first-frame timing of any <video>, relative to the page's time origin
  await u.context.addInitScript(() => {
    const w = window;
    w.__e2e = { loadeddata: null, firstFrame: null, playing: null };
    document.addEventListener(
      'loadeddata',
      (e) => {
        const v = e.target;
        if (!(v instanceof HTMLVideoElement)) return;
        if (w.__e2e.loadeddata === null) w.__e2e.loadeddata = performance.now();
        if (w.__e2e.firstFrame === null && typeof v.requestVideoFrameCallback === 'function') {
          v.requestVideoFrameCallback((now) => {
            if (w.__e2e.firstFrame === null) w.__e2e.firstFrame = now;
          });
        }
      },
      true,
    );
    document.addEventListener(
      'playing',
      (e) => {
        if (e.target instanceof HTMLVideoElement && w.__e2e.playing === null) w.__e2e.playing = performance.now();
      },
      true,
    );
  });
  const page = await u.context.newPage();
  page.setDefaultTimeout(T);
  watches.push(watchErrors(page, label));
  pages[label] = page;
  return { user: u, page };
}

async function userMenu(page) {
  await page.getByRole('button', { name: 'User menu' }).click();
  return page.getByRole('menu', { name: 'User menu' });
}

async function logOut(page) {
  const menu = await userMenu(page);
  await menu.getByRole('menuitem', { name: 'Log Out' }).click();
  await page.getByRole('button', { name: 'Log In' }).waitFor();
}

async function fillAuth(scope, { username, email, password }, signup) {
  await scope.locator('#auth-username').fill(username);
  if (signup) await scope.locator('#auth-email').fill(email);
  await scope.locator('#auth-password').fill(password);
  await scope.getByRole('button', { name: signup ? 'Sign Up' : 'Log In', exact: true }).click();
}

async function videoTime(page) {
  return page.evaluate(() => {
    const v = document.querySelector('[data-testid="player"] video');
    return v ? { t: v.currentTime, paused: v.paused, rs: v.readyState } : null;
  });
}

async function assertAdvancing(page, what) {
  const a = await until(`${what}: a video element with data`, async () => {
    const s = await videoTime(page);
    return s && s.rs >= 2 ? s : null;
  });
  const b = await until(`${what}: currentTime to advance`, async () => {
    const s = await videoTime(page);
    return s && s.t > a.t + 1 ? s : null;
  });
  return `currentTime ${a.t.toFixed(1)} → ${b.t.toFixed(1)} s`;
}

async function main() {
  log(`e2e flow against ${BASE}${RTMP ? ` (publishing to ${RTMP})` : ''}`);
  const A = await newUser('viewer');
  const pa = A.page;
  let channelName = process.env.E2E_CHANNEL || '';

  await step('home page renders (first contentful paint)', async () => {
    await pa.goto(`${BASE}/`, { waitUntil: 'load' });
    await pa.locator('header').waitFor();
    const fcp = await until('first-contentful-paint entry', () =>
      pa.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null),
    5_000, 100);
    metrics.fcp = fcp;
    return `${Math.round(fcp)} ms`;
  });

  await step('sign up', async () => {
    await pa.goto(`${BASE}/signup`);
    await fillAuth(pa.locator('form[aria-label="Sign up"]'), viewer, true);
    await pa.getByRole('button', { name: 'User menu' }).waitFor();
    const me = await api(pa, 'GET', '/api/auth/me');
    if (me.status !== 200 || me.json?.user?.username !== viewer.username) throw new Error(`/api/auth/me after sign-up: ${me.status}`);
    return viewer.username;
  });

  await step('log out, then log in from the header dialog', async () => {
    await logOut(pa);
    await pa.getByRole('button', { name: 'Log In' }).click();
    const dialog = pa.getByRole('dialog');
    await fillAuth(dialog, viewer, false);
    await pa.getByRole('button', { name: 'User menu' }).waitFor();
    await dialog.waitFor({ state: 'detached' });
  });

  // the second person: streamer (with E2E_RTMP_URL) and second chatter
  const B = await newUser('second');
  const pb = B.page;
  await step('second account signs up', async () => {
    await pb.goto(`${BASE}/`);
    const r = await api(pb, 'POST', '/api/auth/register', second);
    if (r.status !== 201 && r.status !== 200) throw new Error(`register: ${r.status} ${JSON.stringify(r.json)}`);
    await pb.reload();
    await pb.getByRole('button', { name: 'User menu' }).waitFor();
  });

  if (RTMP) {
    await step('second account goes live from ffmpeg', async () => {
      const me = await api(pb, 'GET', '/api/auth/me');
      const key = me.json?.user?.channel?.streamKey;
      if (!key) throw new Error('no stream key in /api/auth/me');
      channelName = me.json.user.channel.name || second.username;
      publisher = startPublisher(RTMP, key);
      await until('the channel to be live', async () => {
        const r = await api(pb, 'GET', `/api/channels/${channelName}`);
        return r.json?.channel?.isLive === true;
      }, Math.max(T, 60_000), 1000);
      return channelName;
    });
  }

  await step('browse live channels', async () => {
    await pa.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Browse' }).click();
    await pa.waitForURL(/\/browse/);
    const cards = pa.getByTestId('stream-card');
    if (channelName) {
      await until(`${channelName} in the live list`, async () => {
        if (await pa.locator(`a[data-testid="stream-card"][href="/${channelName}"]`).count()) return true;
        await pa.reload();
        await pa.waitForTimeout(1000);
        return false;
      }, Math.max(T, 60_000), 2000);
    } else {
      await cards.first().waitFor().catch(() => {
        throw new Error('no live channel on /browse: start a stream, or set E2E_RTMP_URL or E2E_CHANNEL');
      });
      const href = await cards.first().getAttribute('href');
      channelName = decodeURIComponent((href || '').replace(/^\//, ''));
    }
    return `${await cards.count()} live`;
  });

  await step('open the live channel: video plays', async () => {
    const mark = await pa.evaluate(() => performance.now());
    await pa.locator(`a[data-testid="stream-card"][href="/${channelName}"]`).first().click();
    await pa.waitForURL(new RegExp(`/${channelName}$`, 'i'));
    await pa.locator('[data-testid="player"][data-live="true"]').waitFor();
    const adv = await assertAdvancing(pa, 'live video');
    const t = await pa.evaluate(() => window.__e2e);
    const frame = t.firstFrame ?? t.loadeddata ?? t.playing;
    if (frame !== null && frame !== undefined) metrics.ttff = frame - mark;
    return adv;
  });

  await step('quality menu switches rendition', async () => {
    const player = pa.getByTestId('player');
    await player.hover();
    await pa.getByTestId('quality-button').click();
    const menu = pa.getByRole('menu', { name: 'Video quality' });
    await menu.waitFor();
    const options = menu.locator('[data-level-index]');
    const n = await options.count();
    if (n < 2) {
      await pa.keyboard.press('Escape');
      return `only ${n} rendition: nothing to switch`;
    }
    const current = Number(await player.getAttribute('data-level'));
    let target = null;
    for (let i = 0; i < n; i++) {
      const idx = Number(await options.nth(i).getAttribute('data-level-index'));
      if (idx !== current) {
        target = { idx, el: options.nth(i), label: (await options.nth(i).innerText()).trim() };
        break;
      }
    }
    await target.el.click();
    await until(`level ${target.idx} to play`, async () => Number(await player.getAttribute('data-level')) === target.idx);
    if ((await player.getAttribute('data-auto-level')) !== 'false') throw new Error('still on Auto');
    await assertAdvancing(pa, 'video after the switch');
    return `level ${current} → ${target.idx} (${target.label})`;
  });

  await step('chat: a message from one browser appears in the other', async () => {
    await pb.goto(`${BASE}/${channelName}`);
    const inputs = [pa, pb].map((p) => p.locator('#chat-input'));
    for (const input of inputs) await until('chat to connect', () => input.isEnabled());
    const text = `hello from the viewer ${rnd} Kappa`;
    await inputs[0].fill(text);
    await inputs[0].press('Enter');
    await pb.getByTestId('chat-messages').getByText(`hello from the viewer ${rnd}`, { exact: false }).waitFor({ timeout: 15_000 });
    const reply = `hi back ${rnd}`;
    await pb.waitForTimeout(1100); // 1 message per second per user
    await inputs[1].fill(reply);
    await inputs[1].press('Enter');
    await pa.getByTestId('chat-messages').getByText(reply).waitFor({ timeout: 15_000 });
    const emote = await pb
      .getByTestId('chat-messages')
      .locator('li', { hasText: `hello from the viewer ${rnd}` })
      .locator('img[alt="Kappa"]')
      .count();
    return emote ? 'both ways, Kappa shown as an image' : 'both ways (Kappa was not rendered as an image)';
  });

  await step('follow the channel', async () => {
    const follow = pa.getByTestId('follow-button');
    if ((await follow.getAttribute('aria-pressed')) === 'true') throw new Error('a new account already follows?');
    await follow.click();
    await until('Following', async () => (await follow.getAttribute('aria-pressed')) === 'true');
    // the button turns as soon as it is clicked; the POST may still be on its way
    let following = false;
    for (let i = 0; i < 25 && !following; i++) {
      const r = await api(pa, 'GET', `/api/channels/${channelName}`);
      following = r.json?.channel?.isFollowing === true;
      if (!following) await new Promise((res) => setTimeout(res, 200));
    }
    if (!following) throw new Error('the server does not report isFollowing');
  });

  await step('subscribe at Tier 2', async () => {
    await pa.getByTestId('subscribe-button').click();
    const dialog = pa.getByRole('dialog');
    await dialog.getByRole('radio', { name: /Tier 2/ }).check();
    await dialog.getByTestId('confirm-subscribe').click();
    await dialog.waitFor({ state: 'detached' });
    await until('Subscribed', async () => /Subscribed/.test(await pa.getByTestId('subscribe-button').innerText()));
    const r = await api(pa, 'GET', `/api/channels/${channelName}`);
    if (r.json?.channel?.isSubscribed !== true) throw new Error('the server does not report isSubscribed');
  });

  await step('dashboard: reveal and rotate the stream key', async () => {
    const menu = await userMenu(pa);
    await menu.getByRole('menuitem', { name: 'Creator Dashboard' }).click();
    await pa.waitForURL(/\/dashboard$/);
    const key = pa.getByTestId('stream-key');
    await key.waitFor();
    if ((await key.getAttribute('type')) !== 'password') throw new Error('the key is not hidden by default');
    await pa.getByRole('button', { name: 'Reveal stream key' }).click();
    if ((await key.getAttribute('type')) !== 'text') throw new Error('reveal did not show the key');
    const before = await key.inputValue();
    if (!before) throw new Error('empty stream key');
    await pa.getByTestId('rotate-key').click();
    await pa.getByTestId('confirm-rotate').click();
    const after = await until('a new key', async () => {
      const v = await key.inputValue();
      return v && v !== before ? v : null;
    });
    const me = await api(pa, 'GET', '/api/auth/me');
    if (me.json?.user?.channel?.streamKey !== after) throw new Error('/api/auth/me does not have the new key');
    return `${before.slice(0, 9)}… → ${after.slice(0, 9)}…`;
  });

  await step('log out', async () => {
    await logOut(pa);
    const me = await api(pa, 'GET', '/api/auth/me');
    if (me.status !== 401) throw new Error(`/api/auth/me after log-out: ${me.status}`);
  });

  const jsErrors = watches.flatMap((w) => w.errors);
  if (jsErrors.length) {
    const err = new Error(`errors in the page:\n  ${jsErrors.join('\n  ')}`);
    err.step = 'no page errors';
    throw err;
  }
}

let failed = 0;
try {
  await main();
} catch (err) {
  failed = 1;
  log(`FAIL ${err.step ?? 'setup'}: ${err.message}`);
  const shots = await screenshotAll(pages, ART, `flow-${STAMP}`);
  if (shots.length) log(`screenshots:\n  ${shots.join('\n  ')}`);
  const jsErrors = watches.flatMap((w) => w.errors);
  if (jsErrors.length) log(`page errors:\n  ${jsErrors.join('\n  ')}`);
} finally {
  if (publisher) publisher.kill('SIGINT');
  for (const u of users) await u.close();
}

log('');
log(`home page first contentful paint: ${metrics.fcp !== undefined ? `${Math.round(metrics.fcp)} ms` : 'n/a'}`);
log(`time to first video frame (click → frame): ${metrics.ttff !== undefined ? `${Math.round(metrics.ttff)} ms` : 'n/a'}`);
log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
