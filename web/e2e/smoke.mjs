#!/usr/bin/env node
// Renders every page at desktop and phone width and fails on a crash, an
// uncaught exception or a console.error from the app. Works with or without
// a backend: when the API is missing the pages must show error/empty states.
//
//   E2E_BASE_URL=http://127.0.0.1:4173 node e2e/smoke.mjs
//
// Screenshots go to e2e/artifacts/smoke/ (or $E2E_ARTIFACTS/smoke).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PAGES, baseUrlFromEnv, ensureDir, launchUser, watchErrors } from './lib.mjs';

const BASE = baseUrlFromEnv();
const ART = ensureDir(join(process.env.E2E_ARTIFACTS || fileURLToPath(new URL('./artifacts', import.meta.url)), 'smoke'));

const SIZES = [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
];

let failed = 0;
const problems = [];
for (const [size, viewport] of SIZES) {
  const user = await launchUser({ viewport });
  try {
    const page = await user.context.newPage();
    const watch = watchErrors(page, size);
    for (const [name, path] of PAGES) {
      const before = watch.errors.length;
      try {
        await page.goto(`${BASE}${path}`, { waitUntil: 'load', timeout: 20_000 });
        await page.waitForSelector('header', { timeout: 10_000 });
        await page.waitForTimeout(1200); // let the API answers (or failures) render
        const bodyText = await page.locator('main').innerText({ timeout: 5_000 });
        if (!bodyText.trim()) throw new Error('main is empty');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 1) throw new Error(`page is ${overflow}px wider than the viewport`);
      } catch (err) {
        watch.errors.push(`${size} ${name}: ${err.message}`);
      }
      await page.screenshot({ path: join(ART, `${size}-${name}.png`) }).catch(() => undefined);
      const mine = watch.errors.slice(before);
      console.log(`${mine.length ? 'FAIL' : 'ok  '} ${size.padEnd(7)} ${path}${mine.length ? `\n     ${mine.join('\n     ')}` : ''}`);
      if (mine.length) failed++;
    }
    problems.push(...watch.network);
  } finally {
    await user.close();
  }
}

if (problems.length) {
  console.log(`\n${problems.length} HTTP error responses, expected of these pages (a signed-out visitor's 401s, 404s for the VOD and clip ids that do not exist), e.g.:`);
  for (const p of [...new Set(problems)].slice(0, 8)) console.log(`  ${p}`);
}
console.log(`\n${PAGES.length * SIZES.length - failed} passed, ${failed} failed`);
console.log(`screenshots: ${ART}`);
process.exit(failed ? 1 : 0);
