// Shared helpers of the browser scripts: launching Debian's Chromium with
// a fresh profile through playwright-core, screenshots, the list of pages,
// and an ffmpeg test pattern published over RTMP.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Every page of the app, one example URL each: [name, path]. */
export const PAGES = [
  ['home', '/'],
  ['browse', '/browse'],
  ['browse-categories', '/browse?tab=categories'],
  ['category', '/category/just-chatting'],
  ['following', '/following'],
  ['search', '/search?q=shroud'],
  ['channel', '/shroud'],
  ['vod', '/videos/1'],
  ['clip', '/clip/abcdefghijkl'],
  ['dashboard', '/dashboard'],
  ['login', '/login'],
  ['signup', '/signup'],
  ['not-found', '/this/does/not/exist'],
];

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // let the player start with sound without a click (the product falls back to muted anyway)
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * A browser with its own fresh user-data-dir, removed on close.
 * Returns { context, close }: one persistent context = one isolated user.
 */
export async function launchUser({ viewport = { width: 1280, height: 800 }, headful = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'twitch-e2e-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: !headful,
    args: headful ? CHROMIUM_FLAGS.filter((f) => f !== '--headless') : CHROMIUM_FLAGS,
    viewport,
    ignoreDefaultArgs: ['--mute-audio'],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshotAll(pages, dir, prefix) {
  ensureDir(dir);
  const out = [];
  for (const [name, page] of Object.entries(pages)) {
    if (!page || page.isClosed()) continue;
    const file = join(dir, `${prefix}-${name}.png`);
    try {
      await page.screenshot({ path: file, fullPage: false, timeout: 10_000 });
      out.push(file);
    } catch {
      /* a crashed page cannot be captured */
    }
  }
  return out;
}

/** Collects page errors and console errors of a page. */
export function watchErrors(page, label) {
  const errors = [];
  const network = [];
  page.on('pageerror', (err) => errors.push(`${label}: uncaught ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // failed HTTP responses are logged by the browser itself, not by our code
    if (/Failed to load resource|WebSocket connection to .* failed/.test(text)) network.push(`${label}: ${text}`);
    else errors.push(`${label}: console.error ${text}`);
  });
  return { errors, network };
}

/** Calls the API from inside the page, with its cookies, as the app does. */
export async function pageApi(page, method, path, body) {
  return page.evaluate(
    async ([m, p, b]) => {
      const init = { method: m, credentials: 'same-origin', headers: { Accept: 'application/json' } };
      if (m !== 'GET') init.headers['Content-Type'] = 'application/json';
      if (b !== undefined) init.body = JSON.stringify(b);
      const r = await fetch(p, init);
      let json = null;
      try {
        json = await r.json();
      } catch {
        /* not JSON */
      }
      return { status: r.status, json };
    },
    [method, path, body],
  );
}

export function baseUrlFromEnv() {
  const raw = process.env.E2E_BASE_URL || process.env.BASE_URL || 'http://127.0.0.1:8080';
  return raw.replace(/\/+$/, '');
}

/** Publishes a 720p30 ffmpeg test pattern with a tone to rtmpBase/streamKey. */
export function startPublisher(rtmpBase, streamKey) {
  const url = `${rtmpBase.replace(/\/+$/, '')}/${streamKey}`;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000',
    '-f', 'flv', url,
  ];
  const p = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => process.stderr.write(`[ffmpeg] ${d}`));
  p.on('error', (err) => process.stderr.write(`[ffmpeg] cannot start: ${err.message}\n`));
  return p;
}
